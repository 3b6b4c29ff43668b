//! Sign-in for the settings and status pages: the tenant's bearer token,
//! or its Freshservice domain + API key, opens a session.
//!
//! The cookie holds `<tenant id>.<256 random bits>`; Redis keeps only the
//! SHA-256 of the random part, under the tenant's hash tag (so uninstall
//! removes every session), with the session's CSRF token and a TTL. The
//! cookie is HttpOnly, SameSite=Strict, and Secure (with the `__Host-`
//! prefix) when `PUBLIC_BASE_URL` is https. Every form that changes
//! something carries the CSRF token, compared in constant time; the
//! sign-in form itself, which has no session yet, must come from our own
//! origin (`web/origin.rs`). The key is `Keys::web_session`, the hash
//! `shared::records::session::Session`.

use std::collections::HashMap;

use axum::{
    extract::{FromRequestParts, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use redis::AsyncCommands;
use serde::Deserialize;
use shared::{crypto, keys::Keys, records::session::Session, tenant::Tenant};
use subtle::ConstantTimeEq;

use super::{error::WebError, origin::SameOrigin, views, Web};
use crate::{
    guard::{ClientIp, Guard},
    state::{AppState, Backend},
};

const COOKIE_PLAIN: &str = "fsb_session";
const COOKIE_SECURE: &str = "__Host-fsb_session";

/// Whether the admin pages are served over TLS (as Okta and admins see them).
pub fn is_tls(state: &Backend) -> bool {
    state.config.public_base_url.starts_with("https://")
}

fn cookie_name(state: &Backend) -> &'static str {
    if is_tls(state) {
        COOKIE_SECURE
    } else {
        COOKIE_PLAIN
    }
}

/// Redis key of one session (under the tenant's `{tag}`).
pub fn session_key(state: &Backend, tenant: &str, sid_hash: &str) -> String {
    state.tenants.keys().web_session(tenant, sid_hash)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(state: &Backend, value: &str, max_age: u64) -> HeaderValue {
    let secure = if is_tls(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        cookie_name(state)
    ))
    // Our values are ASCII (tenant id, base64url token); should one ever not
    // be, the browser gets a cookie that signs it out, never a panic.
    .unwrap_or_else(|_| HeaderValue::from_static("fsb_session=; Path=/; Max-Age=0"))
}

/// A signed-in admin: the tenant the session belongs to, and the CSRF
/// token its forms must carry.
pub struct SignedIn {
    pub tenant: Tenant,
    pub csrf: String,
    key: String,
}

impl SignedIn {
    /// Checks a submitted CSRF token (constant time).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), CsrfRejected> {
        if bool::from(self.csrf.as_bytes().ct_eq(submitted.as_bytes())) && !submitted.is_empty() {
            Ok(())
        } else {
            Err(CsrfRejected)
        }
    }

    /// Ends the session (sign-out, uninstall).
    pub async fn end(&self, state: &Backend) {
        let _: Result<(), _> = state.redis.clone().del(&self.key).await;
    }
}

/// A form without the session's CSRF token: 403, nothing changed.
pub struct CsrfRejected;

impl IntoResponse for CsrfRejected {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            views::message::page(
                "Form expired",
                "This form was not sent from the current page (or your session changed). Go back, reload the page and submit again. Nothing was changed.",
            ),
        )
            .into_response()
    }
}

/// Where to send a visitor who is not signed in.
pub struct SignInRedirect(String);

impl IntoResponse for SignInRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/signin?next={}", self.0)).into_response()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = SignInRedirect;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, SignInRedirect> {
        let state = &app.backend;
        let next = safe_next(parts.uri.path()).to_string();
        let reject = || SignInRedirect(next.clone());
        let raw = cookie_value(&parts.headers, cookie_name(state)).ok_or_else(reject)?;
        let (tenant_id, sid) = raw.split_once('.').ok_or_else(reject)?;
        if tenant_id.is_empty() || !tenant_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(reject());
        }
        let key = session_key(state, tenant_id, &crypto::token_hash(sid));
        let stored: Option<HashMap<String, String>> = state.redis.clone().hgetall(&key).await.ok();
        let session = stored
            .and_then(|h| Session::decode(&h).ok().flatten())
            .ok_or_else(reject)?;
        let csrf = session.csrf;
        let tenant = match state.tenants.get(tenant_id).await {
            Ok(Some(t)) => t,
            _ => return Err(reject()),
        };
        Ok(SignedIn { tenant, csrf, key })
    }
}

/// Only our own pages are valid `next` targets (no open redirect).
fn safe_next(path: &str) -> &'static str {
    match path {
        "/status" | "/status/replay" => "/status",
        _ => "/settings",
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn signin_page(Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or("/settings"));
    views::signin::page(next, None).into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    next: String,
}

/// `POST /signin`: with the bearer token, or the domain + API key, from
/// one of our own pages ([`SameOrigin`]: no login CSRF).
///
/// A right bearer token is never refused by the brute-force limiter (it is
/// checked first; only failures count, as for SCIM in `http/auth.rs`). The
/// domain + API key form is throttled before it is checked: an API key is
/// Freshservice's secret, shorter than our tokens, and worth guarding.
pub async fn signin(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(guard): State<Guard>,
    ClientIp(ip): ClientIp,
    _same_origin: SameOrigin,
    Form(f): Form<SignInForm>,
) -> Response {
    let next = safe_next(&f.next);
    let too_many = |wait| {
        let e = WebError::TooManyAttempts(wait);
        (e.status(), views::signin::page(next, Some(&e.to_string()))).into_response()
    };
    let by_token = !f.token.trim().is_empty();
    if !by_token {
        if let Err(wait) = guard.limiter().check(ip) {
            return too_many(wait);
        }
    }
    match authenticate(&state, &f).await {
        Ok(Some(tenant)) => match start(&state, &web, &tenant).await {
            Ok(cookie) => {
                tracing::info!(tenant = %tenant.id, "admin signed in");
                let mut r = Redirect::to(next).into_response();
                r.headers_mut().insert(header::SET_COOKIE, cookie);
                r
            }
            Err(e) => (e.status(), views::signin::page(next, Some(&e.to_string()))).into_response(),
        },
        Ok(None) => {
            if by_token {
                if let Some(wait) = guard.limiter().refused(ip) {
                    return too_many(wait);
                }
            } else {
                guard.limiter().failed(ip);
            }
            tracing::info!(client = %ip, "admin sign-in refused");
            let msg = if by_token {
                "That bearer token is unknown or was replaced by a newer install. Use the current token (the one pasted in Okta), or sign in with the domain and API key."
            } else {
                "That domain and API key do not match an installed account. Check the domain, or sign in with the bearer token shown at install."
            };
            (
                StatusCode::UNAUTHORIZED,
                views::signin::page(next, Some(msg)),
            )
                .into_response()
        }
        Err(e) => (e.status(), views::signin::page(next, Some(&e.to_string()))).into_response(),
    }
}

async fn authenticate(state: &Backend, f: &SignInForm) -> Result<Option<Tenant>, WebError> {
    let token = f.token.trim();
    if !token.is_empty() {
        return Ok(state.tenants.by_token(token).await?);
    }
    if f.domain.trim().is_empty() || f.api_key.trim().is_empty() {
        return Err(WebError::BadRequest(
            "Enter the bearer token, or both the Freshservice domain and the API key.".into(),
        ));
    }
    let Some(t) = state.tenants.by_domain(&f.domain).await? else {
        return Ok(None);
    };
    Ok(state.tenants.api_key_matches(&t, &f.api_key)?.then_some(t))
}

/// Creates a session; returns its `Set-Cookie`.
async fn start(state: &Backend, web: &Web, tenant: &Tenant) -> Result<HeaderValue, WebError> {
    let sid = crypto::new_bearer_token();
    let key = session_key(state, &tenant.id, &crypto::token_hash(&sid));
    let ttl = web.config().session_ttl;
    let session = Session {
        csrf: crypto::new_bearer_token(),
        created_at: chrono::Utc::now().to_rfc3339(),
    };
    let _: () = redis::pipe()
        .hset_multiple(&key, &session.encode())
        .pexpire(&key, ttl.as_millis() as i64)
        .query_async(&mut state.redis.clone())
        .await?;
    Ok(set_cookie(
        state,
        &format!("{}.{sid}", tenant.id),
        ttl.as_secs(),
    ))
}

/// A `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(state: &Backend) -> HeaderValue {
    set_cookie(state, "", 0)
}

/// `POST /signout`.
pub async fn signout(
    axum::extract::State(state): axum::extract::State<Backend>,
    signed: Result<SignedIn, SignInRedirect>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Ok(s) = signed {
        if let Err(r) = s.check_csrf(f.get("csrf").map(String::as_str).unwrap_or("")) {
            return r.into_response();
        }
        s.end(&state).await;
    }
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&state));
    r
}

/// Ends every session of a tenant (after a re-install replaced its token).
pub async fn end_all(state: &Backend, tenant: &str) {
    if let Err(e) = state
        .tenants
        .delete_tagged(tenant, &Keys::web_sessions_glob())
        .await
    {
        tracing::warn!(error = %e, tenant, "could not end the tenant's sessions");
    }
}
