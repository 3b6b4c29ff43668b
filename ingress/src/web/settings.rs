//! The settings page: the account's requester fields fetched live from
//! Freshservice (with the Okta External Name and Namespace of each custom
//! field), the default mapping, the API budget, replacing the API key and
//! uninstalling. Every form is CSRF-checked.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;

use super::error::FsCheckError;
use std::sync::Arc;

use super::{error::WebError, install, session, session::SignedIn, views, Web};
use crate::{
    account::Accounts,
    guard::{ClientIp, Guard},
    state::Backend,
};

/// Largest budget accepted (Freshservice's biggest plans are far below).
const MAX_BUDGET: u32 = 100_000;

/// `GET /settings`.
pub async fn page(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
) -> Response {
    render(&state, &web, &accounts, &signed, None, StatusCode::OK).await
}

async fn render(
    state: &Backend,
    web: &Web,
    accounts: &Accounts,
    signed: &SignedIn,
    notice: Option<(&str, bool)>,
    status: StatusCode,
) -> Response {
    let t = &signed.tenant;
    let fields = match state.tenants.api_key(t) {
        Ok(key) => accounts.requester_fields(t, &key).await.map_err(|e| e.to_string()),
        Err(_) => Err("The stored API key cannot be read (the master key changed?). Enter the API key again below.".to_string()),
    };
    let budget = t
        .rate_limit_per_min
        .unwrap_or(web.config().default_rate_limit);
    (
        status,
        views::settings::page(
            t,
            &fields,
            budget,
            t.rate_limit_per_min.is_none(),
            &signed.csrf,
            notice,
            &state.scim_base(),
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rate_limit_per_min: String,
}

/// `POST /settings/budget`.
pub async fn budget(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Form(f): Form<BudgetForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    let n = match f.rate_limit_per_min.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_BUDGET).contains(&n) => n,
        _ => {
            let msg = format!("Enter the calls per minute your Freshservice plan allows, a whole number from 1 to {MAX_BUDGET} (see Admin → API limits in Freshservice).");
            return render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&msg, false)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if let Err(e) = state.tenants.set_rate_limit(&signed.tenant.id, n).await {
        let e = WebError::from(e);
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&e.to_string(), false)),
            e.status(),
        )
        .await;
    }
    tracing::info!(tenant = %signed.tenant.id, per_min = n, "API budget changed");
    Redirect::to("/settings?saved=budget").into_response()
}

#[derive(Deserialize)]
pub struct ApiKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
}

/// `POST /settings/api-key`: replaces the API key (checked first); the
/// bearer token stays the same, a paused tenant resumes.
pub async fn api_key(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    State(guard): State<Guard>,
    ClientIp(ip): ClientIp,
    signed: SignedIn,
    Form(f): Form<ApiKeyForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    if let Err(wait) = guard.limiter().check(ip) {
        let e = WebError::TooManyAttempts(wait);
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&e.to_string(), false)),
            e.status(),
        )
        .await;
    }
    let key = f.api_key.trim();
    let result = if key.is_empty() {
        Err(WebError::EmptyApiKey)
    } else {
        match accounts.validate(&signed.tenant.domain, key).await {
            Ok(_) => state
                .tenants
                .set_api_key(&signed.tenant.id, key)
                .await
                .map_err(WebError::from),
            Err(e) => Err(WebError::from(e)),
        }
    };
    match result {
        Ok(()) => {
            tracing::info!(tenant = %signed.tenant.id, "API key replaced");
            Redirect::to("/settings?saved=api_key").into_response()
        }
        Err(e) => {
            if matches!(
                e,
                WebError::Freshservice(
                    FsCheckError::WrongKey { .. } | FsCheckError::NotAdmin { .. }
                )
            ) {
                guard.limiter().failed(ip);
            }
            render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&e.to_string(), false)),
                e.status(),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct UninstallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_domain: String,
}

/// `POST /settings/uninstall`: the admin types the domain to confirm.
pub async fn uninstall(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Form(f): Form<UninstallForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    let typed = shared::tenant::normalize_domain(&f.confirm_domain).ok();
    if typed.as_deref() != Some(signed.tenant.domain.as_str()) {
        let msg = format!(
            "To uninstall, type the domain \"{}\" exactly. Nothing was removed.",
            signed.tenant.domain
        );
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&msg, false)),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let mut r = match install::uninstall(&state, &web, &signed.tenant.id).await {
        Ok(()) => (
            StatusCode::OK,
            views::message::page(
                "Uninstalled",
                "The bridge forgot this Freshservice account: its token no longer works, and its users' SCIM state and queued changes are gone. Requesters already in Freshservice stay as they are. Turn off provisioning in Okta's app too.",
            ),
        )
            .into_response(),
        // Uninstalled all the same: there is no settings page to go back to.
        Err(e @ WebError::UninstalledBrokerPending { .. }) => {
            (e.status(), views::message::page("Uninstalled", &e.to_string())).into_response()
        }
        Err(e) => {
            return render(
                &state,
                &web,
                &accounts, &signed,
                Some((&e.to_string(), false)),
                e.status(),
            )
            .await;
        }
    };
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state));
    r
}
