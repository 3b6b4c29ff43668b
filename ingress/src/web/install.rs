//! Install and uninstall. `POST /api/install` (JSON) checks the domain +
//! API key against Freshservice, then creates the tenant (or, confirmed,
//! re-issues its token and revokes the old one) and answers 201 with the
//! token, shown once. `POST /install` is the same for the page without
//! JavaScript. `DELETE /api/install` with the bearer token uninstalls.
//! Nothing is stored unless Freshservice accepted the pair.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::{Deserialize, Serialize};
use shared::{queue::PublishError, tenant::normalize_domain};

use std::sync::Arc;

use super::{error::WebError, session, views, Web};
use crate::{
    account::Accounts,
    guard::{ClientIp, Guard},
    state::Backend,
};

#[derive(Deserialize)]
pub struct InstallRequest {
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub api_key: String,
    /// Must be true to re-install a domain that is already connected.
    #[serde(default)]
    pub replace: bool,
}

/// The install answer; the only place the token is ever shown.
#[derive(Serialize)]
pub struct InstallResponse {
    pub tenant_id: String,
    pub bearer_token: String,
    pub scim_base_url: String,
    pub domain: String,
    /// True when an earlier install was replaced (its token is revoked).
    pub replaced: bool,
}

/// Validates, then installs. Failures that look like guessing count
/// against the client's brute-force allowance.
pub async fn install(
    state: &Backend,
    guard: &Guard,
    accounts: &Accounts,
    ip: std::net::IpAddr,
    req: &InstallRequest,
) -> Result<InstallResponse, WebError> {
    guard
        .limiter()
        .check(ip)
        .map_err(WebError::TooManyAttempts)?;
    let result = install_inner(state, accounts, req).await;
    if let Err(e) = &result {
        if e.counts_as_failed_attempt() {
            guard.limiter().failed(ip);
        }
        tracing::info!(client = %ip, error = e.code(), "install refused");
    }
    result
}

async fn install_inner(
    state: &Backend,
    accounts: &Accounts,
    req: &InstallRequest,
) -> Result<InstallResponse, WebError> {
    let domain = normalize_domain(&req.domain)
        .map_err(|_| WebError::BadDomain(req.domain.trim().chars().take(100).collect()))?;
    let api_key = req.api_key.trim();
    if api_key.is_empty() {
        return Err(WebError::EmptyApiKey);
    }
    accounts.validate(&domain, api_key).await?;
    // Only after the key proved itself do we say whether the domain is
    // connected (no enumeration of installed accounts).
    if !req.replace && state.tenants.by_domain(&domain).await?.is_some() {
        return Err(WebError::AlreadyInstalled);
    }
    let installed = state.tenants.install(&domain, api_key).await?;
    // A re-install revokes the old token: forget it here at once.
    state.tokens.forget_tenant(&installed.tenant.id);
    if installed.replaced {
        session::end_all(state, &installed.tenant.id).await;
    }
    tracing::info!(tenant = %installed.tenant.id, domain = %domain, replaced = installed.replaced, "tenant installed");
    Ok(InstallResponse {
        tenant_id: installed.tenant.id,
        bearer_token: installed.bearer_token,
        scim_base_url: state.scim_base(),
        domain,
        replaced: installed.replaced,
    })
}

/// `POST /api/install`.
pub async fn create(
    State(state): State<Backend>,
    State(guard): State<Guard>,
    State(accounts): State<Arc<Accounts>>,
    ClientIp(ip): ClientIp,
    body: Result<Json<InstallRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<InstallResponse>), WebError> {
    let Json(req) = body.map_err(|e| {
        WebError::BadRequest(format!(
            "Send JSON like {{\"domain\": \"acme\", \"api_key\": \"…\"}} with Content-Type: application/json ({}).",
            e.body_text()
        ))
    })?;
    let out = install(&state, &guard, &accounts, ip, &req).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /install`: the install form without JavaScript.
pub async fn form(
    State(state): State<Backend>,
    State(guard): State<Guard>,
    State(accounts): State<Arc<Accounts>>,
    ClientIp(ip): ClientIp,
    Form(req): Form<InstallForm>,
) -> Response {
    let req = InstallRequest {
        domain: req.domain,
        api_key: req.api_key,
        replace: req.replace.is_some(),
    };
    match install(&state, &guard, &accounts, ip, &req).await {
        Ok(out) => (
            StatusCode::CREATED,
            views::install::page(&state.scim_base(), Some(&out), None, &req.domain),
        )
            .into_response(),
        Err(e) => (
            e.status(),
            views::install::page(
                &state.scim_base(),
                None,
                Some((&e.to_string(), e.code())),
                &req.domain,
            ),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct InstallForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    api_key: String,
    replace: Option<String>,
}

/// `GET /`: the install page.
pub async fn page(State(state): State<Backend>) -> Response {
    views::install::page(&state.scim_base(), None, None, "").into_response()
}

/// `DELETE /api/install` with `Authorization: Bearer <token>`: removes the
/// tenant, its keys and SCIM state, and its dead letters.
pub async fn remove(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(guard): State<Guard>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, WebError> {
    // The token is checked first: a right one is never throttled, only
    // failures count (as for SCIM, `http/auth.rs`).
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default();
    let found = if token.is_empty() {
        None
    } else {
        state.tenants.by_token(&token).await?
    };
    let Some(tenant) = found else {
        return Err(match guard.limiter().refused(ip) {
            Some(wait) => WebError::TooManyAttempts(wait),
            None => WebError::BadToken,
        });
    };
    uninstall(&state, &web, &tenant.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Uninstalls a tenant (API and settings page). Redis first: from then on
/// its token no longer works and no worker declares its queue again. Then
/// the broker drops its queue and dead letters, within
/// `UNINSTALL_BROKER_TIMEOUT_MS`: a broker that does not answer must not
/// hang the admin (one uninstall once waited 575 s). If it fails, the admin
/// is told what is left; the tenant stays uninstalled, and the workers
/// delete its queue once the broker answers (the registry lists it as
/// retired).
pub async fn uninstall(state: &Backend, web: &Web, tenant: &str) -> Result<(), WebError> {
    state.tenants.uninstall(tenant).await?;
    state.tokens.forget_tenant(tenant);
    let bound = state.config.uninstall_broker_timeout;
    let broker = async {
        // Its queued changes go with it (workers stop following the queue).
        let dropped = state.outbox.publisher().delete_tenant_queue(tenant).await?;
        let removed = web.dead().purge_tenant(state, tenant).await;
        Ok::<_, PublishError>((dropped, removed))
    };
    let why = match tokio::time::timeout(bound, broker).await {
        Ok(Ok((dropped, removed))) => {
            tracing::info!(
                tenant,
                dead_letters_removed = removed,
                queued_changes_dropped = dropped,
                "tenant uninstalled"
            );
            return Ok(());
        }
        Ok(Err(PublishError::Timeout(d))) => (format!("did not answer within {d:?}"), true),
        Ok(Err(e)) => (format!("failed ({e})"), false),
        Err(_) => (format!("did not answer within {bound:?}"), true),
    };
    tracing::warn!(
        tenant,
        broker = %why.0,
        "tenant uninstalled, but its queue and dead letters are not removed yet; the workers delete the queue later"
    );
    Err(WebError::UninstalledBrokerPending {
        why: why.0,
        timed_out: why.1,
    })
}
