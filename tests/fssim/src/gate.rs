//! The gate every Freshservice API call passes before its handler: account lookup by
//! path prefix, fault injection (latency, redirects, drops, 5xx, storms, revoked keys), the rate
//! limit and its headers, HTTP Basic auth with API keys, admin rights, the `Accept`
//! header, and the call log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::Mutex;

use crate::accounts::{Account, CallRecord, SimState};
use crate::errors::{json_response, ApiError};
use crate::ratelimit::Decision;
use crate::server::ConnCtl;

/// What a handler gets from the gate.
#[derive(Clone)]
pub struct Ctx {
    pub account: Arc<Mutex<Account>>,
    /// `http://HOST/DOMAIN`: the account's base URL as the client reached it (used for
    /// `Location` and `link` headers).
    pub base: String,
}

/// Credits a call costs (`docs/freshservice.md` §6): 1, `include=` on a show +1, on a list +3;
/// `requester_fields?include=user_field_groups` costs 3.
pub fn credits(rest: &str, query: &str) -> u32 {
    let has_include = query
        .split('&')
        .any(|p| p.starts_with("include=") || p == "include");
    if !has_include {
        return 1;
    }
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    if segs.get(2) == Some(&"requester_fields") {
        return 3;
    }
    match segs.last() {
        Some(s) if s.parse::<u64>().is_ok() => 2,
        _ => 4,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Closes the client's connection without an answer. Needs the [`ConnCtl`] the
/// simulator's own server puts on each request; without it (the router served by
/// something else) the best available is a response whose body fails mid-stream.
async fn drop_connection(ctl: Option<ConnCtl>) -> Response {
    match ctl {
        Some(ctl) => {
            ctl.drop_now();
            std::future::pending::<Response>().await
        }
        None => {
            let stream = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("dropped"))
            });
            Response::new(Body::from_stream(stream))
        }
    }
}

fn api_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::invalid_credentials)?;
    let (scheme, b64) = value
        .split_once(' ')
        .ok_or_else(ApiError::invalid_credentials)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::invalid_credentials());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(ApiError::invalid_credentials)?;
    let (user, _password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    if user.contains('@') {
        return Err(ApiError::unsupported_auth());
    }
    Ok(user.to_string())
}

fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return true;
    };
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "application/json" | "*/*" | "application/*" | ""
        )
    })
}

/// Endpoints that need an admin key ("Manage requesters/agents"); a key without admin
/// rights gets 403 there.
fn needs_admin(rest: &str) -> bool {
    let seg = rest
        .trim_start_matches("/api/v2/")
        .split('/')
        .next()
        .unwrap_or("");
    matches!(seg, "requesters" | "agents" | "requester_groups")
}

fn add_headers(resp: &mut Response, total: u32, remaining: u32, used: u32) {
    let h = resp.headers_mut();
    h.insert("x-ratelimit-total", HeaderValue::from(total));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-used-currentrequest", HeaderValue::from(used));
    h.insert(
        "x-freshservice-api-version",
        HeaderValue::from_static("latest=v2; requested=v2"),
    );
}

fn fault_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        json_response(
            status,
            &serde_json::json!({"code": "internal_error", "message": "We're sorry, but something went wrong."}),
        )
    } else {
        let mut r = (
            status,
            format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
            ),
        )
            .into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }
}

/// Records a call whose client went away before it was answered (the
/// server dropped the call's future: a killed worker's connection closing
/// mid-call), as status 0 with the fault `client_gone`.
/// A call the gate already recorded (a fault that drops the connection
/// after its own record, e.g. `drop_after_commit`) is not recorded again.
struct GoneGuard {
    account: Arc<Mutex<Account>>,
    record: Option<CallRecord>,
    recorded: Arc<AtomicBool>,
}

impl Drop for GoneGuard {
    fn drop(&mut self) {
        if self.recorded.load(Ordering::SeqCst) {
            return;
        }
        let (Some(mut record), Ok(rt)) =
            (self.record.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        record.at_ms = now_ms();
        let account = self.account.clone();
        rt.spawn(async move { account.lock().await.calls.push(record) });
    }
}

/// The middleware itself (see the module doc for the order of checks).
pub async fn gate(State(state): State<SimState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let trimmed = path.trim_start_matches('/');
    let (domain, rest) = match trimmed.split_once('/') {
        Some((d, r)) => (d.to_string(), format!("/{r}")),
        None => (trimmed.to_string(), "/".to_string()),
    };
    let Some(account) = state.account(&domain).await else {
        let mut r = StatusCode::NOT_FOUND.into_response();
        r.headers_mut().insert(
            "x-freshservice-api-version",
            HeaderValue::from_static("latest=v2; requested=v2"),
        );
        return r;
    };
    let received_ms = now_ms();
    let recorded = Arc::new(AtomicBool::new(false));
    let mut gone = GoneGuard {
        recorded: recorded.clone(),
        account: account.clone(),
        record: Some(CallRecord {
            method: method.to_string(),
            path: rest.clone(),
            query: query.clone(),
            status: 0,
            at_ms: received_ms,
            received_ms,
            fault: Some("client_gone"),
            credits: 0,
        }),
    };
    let resp = gate_account(
        state,
        req,
        next,
        account,
        domain,
        rest,
        query,
        method,
        received_ms,
        recorded,
    )
    .await;
    gone.record = None;
    resp
}

/// [`gate`] once the account is known.
#[allow(clippy::too_many_arguments)]
async fn gate_account(
    state: SimState,
    mut req: Request,
    next: Next,
    account: Arc<Mutex<Account>>,
    domain: String,
    rest: String,
    query: String,
    method: Method,
    received_ms: u64,
    recorded: Arc<AtomicBool>,
) -> Response {
    let ctl = req.extensions().get::<ConnCtl>().cloned();
    let cost = credits(&rest, &query);
    let record = |acct: &mut Account, status: u16, fault: Option<&'static str>, credits: u32| {
        recorded.store(true, Ordering::SeqCst);
        acct.calls.push(CallRecord {
            method: method.to_string(),
            path: rest.clone(),
            query: query.clone(),
            status,
            at_ms: now_ms(),
            received_ms,
            fault,
            credits,
        });
    };

    let faults = account.lock().await.faults.clone();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if let Some(to) = &faults.redirect_to {
        record(&mut *account.lock().await, 302, Some("redirect"), 0);
        let target = match query.as_str() {
            "" => format!("{to}{rest}"),
            q => format!("{to}{rest}?{q}"),
        };
        let mut r = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    if faults.drop_rate > 0.0 && state.roll() < faults.drop_rate {
        record(&mut *account.lock().await, 0, Some("drop"), 0);
        return drop_connection(ctl).await;
    }

    // Budget: every answered call is charged, failed ones included; 429s are not.
    let (total, remaining) = {
        let mut acct = account.lock().await;
        let total = acct.rate.per_minute;
        let now = Instant::now();
        let storm = acct.rate.storm_remaining(now).is_some();
        match acct.rate.try_charge(cost, now) {
            Decision::Allowed { remaining } => (total, remaining),
            Decision::Limited { retry_after_secs } => {
                record(&mut acct, 429, storm.then_some("storm"), 0);
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &serde_json::json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"}),
                );
                add_headers(&mut r, total, 0, 0);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                return r;
            }
        }
    };
    let finish = |mut r: Response| {
        add_headers(&mut r, total, remaining, cost);
        r
    };

    if faults.error_rate > 0.0 && state.roll() < faults.error_rate {
        let status = faults.error_statuses[state.pick(faults.error_statuses.len())];
        record(&mut *account.lock().await, status, Some("error"), cost);
        return finish(fault_response(status));
    }

    let early: Option<(ApiError, Option<&'static str>)> = if faults.revoke_keys {
        Some((ApiError::invalid_credentials(), Some("revoked")))
    } else {
        match api_key(req.headers()) {
            Err(e) => Some((e, None)),
            Ok(key) => {
                let acct = account.lock().await;
                if acct.api_keys.contains(&key) {
                    None
                } else if acct.non_admin_keys.contains(&key) {
                    needs_admin(&rest).then(|| (ApiError::access_denied(), None))
                } else {
                    Some((ApiError::invalid_credentials(), None))
                }
            }
        }
    };
    let early = early
        .or_else(|| (!accepts_json(req.headers())).then(|| (ApiError::not_acceptable(), None)));
    if let Some((err, fault)) = early {
        let r = err.into_response();
        record(&mut *account.lock().await, r.status().as_u16(), fault, cost);
        return finish(r);
    }

    let write = method != Method::GET && method != Method::HEAD;
    let commit_then_drop = write && {
        let mut acct = account.lock().await;
        if acct.faults.drop_after_commit_next > 0 {
            acct.faults.drop_after_commit_next -= 1;
            true
        } else {
            faults.drop_after_commit_rate > 0.0 && state.roll() < faults.drop_after_commit_rate
        }
    };

    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    req.extensions_mut().insert(Ctx {
        account: account.clone(),
        base: format!("http://{host}/{domain}"),
    });
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    if commit_then_drop {
        record(
            &mut *account.lock().await,
            status,
            Some("drop_after_commit"),
            cost,
        );
        return drop_connection(ctl).await;
    }
    record(&mut *account.lock().await, status, None, cost);
    finish(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_costs() {
        assert_eq!(credits("/api/v2/requesters", ""), 1);
        assert_eq!(credits("/api/v2/requesters/5", "include=x"), 2);
        assert_eq!(credits("/api/v2/requesters", "include=x"), 4);
        assert_eq!(
            credits("/api/v2/requester_fields", "include=user_field_groups"),
            3
        );
    }
}
