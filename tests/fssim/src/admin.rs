//! The simulator's own control API under `/_sim/` (no auth, JSON): create and inspect
//! accounts, seed users and fields, switch faults and budgets, read the call log.

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::accounts::{AccountError, AccountSpec, GroupSpec, SimState};
use crate::errors::ApiError;
use crate::faults::{Faults, FaultsPatch};
use crate::fields::CustomFieldSpec;

/// Errors of the admin API: `{"error": "..."}` with a status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account {0}")]
    NoAccount(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("{0}")]
    Bad(String),
    /// A Freshservice-shaped error (validation of seeded users etc.).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            AdminError::Api(e) | AdminError::Account(AccountError::Spec(e)) => {
                return e.into_response()
            }
            AdminError::NoAccount(_) | AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Account(AccountError::Exists(_)) => StatusCode::CONFLICT,
            AdminError::Account(_) | AdminError::Bad(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

type AdminResult = Result<Response, AdminError>;

async fn account(
    state: &SimState,
    domain: &str,
) -> Result<std::sync::Arc<tokio::sync::Mutex<crate::accounts::Account>>, AdminError> {
    state
        .account(domain)
        .await
        .ok_or_else(|| AdminError::NoAccount(domain.to_string()))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn create_account(
    State(state): State<SimState>,
    Json(spec): Json<AccountSpec>,
) -> AdminResult {
    state.create_account(&spec).await?;
    Ok((StatusCode::CREATED, Json(json!({"domain": spec.domain}))).into_response())
}

async fn list_accounts(State(state): State<SimState>) -> Json<Value> {
    Json(json!({"accounts": state.domains().await}))
}

async fn delete_account(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    if state.remove_account(&domain).await {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::NoAccount(domain))
    }
}

async fn get_state(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.state_json();
    Ok(Json(v).into_response())
}

async fn add_agent(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(body): Json<Value>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.admin_create_user(&body, true)?;
    Ok((StatusCode::CREATED, Json(json!({"agent": v}))).into_response())
}

async fn add_requester(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(body): Json<Value>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.admin_create_user(&body, false)?;
    Ok((StatusCode::CREATED, Json(json!({"requester": v}))).into_response())
}

async fn add_field(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(spec): Json<CustomFieldSpec>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.add_custom_field(&spec)?;
    Ok((StatusCode::CREATED, Json(json!({"requester_field": v}))).into_response())
}

async fn remove_field(
    State(state): State<SimState>,
    Path((domain, name)): Path<(String, String)>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    if acct.lock().await.remove_custom_field(&name) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::NotFound)
    }
}

async fn add_group(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(spec): Json<GroupSpec>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.admin_create_group(&spec)?;
    Ok((StatusCode::CREATED, Json(json!({"requester_group": v}))).into_response())
}

async fn add_department(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(body): Json<Value>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.add_department(&body)?;
    Ok((StatusCode::CREATED, Json(json!({"department": v}))).into_response())
}

async fn add_location(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(body): Json<Value>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let v = acct.lock().await.add_location(&body)?;
    Ok((StatusCode::CREATED, Json(json!({"location": v}))).into_response())
}

fn faults_json(f: &Faults, storm: Option<u64>) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
    v["rate_limit_storm_secs"] = json!(storm.unwrap_or(0));
    v
}

async fn get_faults(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let a = acct.lock().await;
    let storm = a.rate.storm_remaining(Instant::now());
    Ok(Json(faults_json(&a.faults, storm)).into_response())
}

async fn put_faults(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(patch): Json<FaultsPatch>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let mut a = acct.lock().await;
    a.faults
        .apply(&patch)
        .map_err(|e| AdminError::Bad(e.to_string()))?;
    let now = Instant::now();
    if let Some(secs) = patch.rate_limit_storm_secs {
        a.rate.storm(secs, now);
    }
    let storm = a.rate.storm_remaining(now);
    Ok(Json(faults_json(&a.faults, storm)).into_response())
}

async fn reset_faults(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let mut a = acct.lock().await;
    a.faults = Faults::default();
    a.rate.storm(0, Instant::now());
    Ok(Json(faults_json(&a.faults, None)).into_response())
}

/// `PUT /_sim/accounts/{domain}/rate_limit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitPatch {
    per_minute: Option<u32>,
    /// Window length in ms (tests shorten it).
    window_ms: Option<u64>,
    /// Forget what was already charged.
    #[serde(default)]
    reset: bool,
}

async fn put_rate_limit(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(p): Json<RateLimitPatch>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let mut a = acct.lock().await;
    if let Some(n) = p.per_minute {
        a.rate.per_minute = n;
    }
    if let Some(ms) = p.window_ms {
        a.rate.window = Duration::from_millis(ms.max(1));
    }
    if p.reset {
        a.rate.reset();
    }
    let remaining = a.rate.remaining(Instant::now());
    Ok(Json(json!({
        "per_minute": a.rate.per_minute,
        "window_ms": a.rate.window.as_millis() as u64,
        "remaining": remaining,
    }))
    .into_response())
}

/// `PUT /_sim/accounts/{domain}/settings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsPatch {
    duplicate_status: Option<u16>,
    /// 0 turns it off (reactivating an active requester answers 200).
    reactivate_active_status: Option<u16>,
    dropdown_choices_shape: Option<crate::accounts::ChoicesShape>,
    api_keys: Option<Vec<String>>,
    non_admin_keys: Option<Vec<String>>,
    /// The unconfirmed behaviours (`crate::accounts::Unconfirmed`).
    email_unique: Option<bool>,
    external_id: Option<crate::accounts::ExternalIdMode>,
    email_lookup_includes_deactivated: Option<bool>,
    search_lag_ms: Option<u64>,
    email_lookup_lag_ms: Option<u64>,
}

async fn put_settings(
    State(state): State<SimState>,
    Path(domain): Path<String>,
    Json(p): Json<SettingsPatch>,
) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let mut a = acct.lock().await;
    if let Some(s) = p.duplicate_status {
        a.duplicate_status =
            StatusCode::from_u16(s).map_err(|_| AdminError::Bad("duplicate_status".into()))?;
    }
    if let Some(s) = p.reactivate_active_status {
        a.reactivate_active_status = match s {
            0 => None,
            s => Some(
                StatusCode::from_u16(s)
                    .map_err(|_| AdminError::Bad("reactivate_active_status".into()))?,
            ),
        };
    }
    if let Some(s) = p.dropdown_choices_shape {
        a.choices_shape = s;
    }
    if let Some(k) = p.api_keys {
        a.api_keys = k.into_iter().collect();
    }
    if let Some(k) = p.non_admin_keys {
        a.non_admin_keys = k.into_iter().collect();
    }
    a.unconfirmed.apply(&crate::accounts::UnconfirmedPatch {
        email_unique: p.email_unique,
        external_id: p.external_id,
        email_lookup_includes_deactivated: p.email_lookup_includes_deactivated,
        search_lag_ms: p.search_lag_ms,
        email_lookup_lag_ms: p.email_lookup_lag_ms,
    });
    let mut out = serde_json::to_value(a.unconfirmed).unwrap_or(Value::Null);
    out["duplicate_status"] = json!(a.duplicate_status.as_u16());
    Ok(Json(out).into_response())
}

async fn get_calls(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    let acct = account(&state, &domain).await?;
    let calls = acct.lock().await.calls.clone();
    Ok(Json(calls).into_response())
}

async fn clear_calls(State(state): State<SimState>, Path(domain): Path<String>) -> AdminResult {
    let acct = account(&state, &domain).await?;
    acct.lock().await.calls.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The admin router (`/_sim/…`).
pub fn router(state: SimState) -> Router {
    const A: &str = "/_sim/accounts/{domain}";
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/accounts", post(create_account).get(list_accounts))
        .route(A, delete(delete_account))
        .route(&format!("{A}/state"), get(get_state))
        .route(&format!("{A}/agents"), post(add_agent))
        .route(&format!("{A}/requesters"), post(add_requester))
        .route(&format!("{A}/requester_fields"), post(add_field))
        .route(
            &format!("{A}/requester_fields/{{name}}"),
            delete(remove_field),
        )
        .route(&format!("{A}/requester_groups"), post(add_group))
        .route(&format!("{A}/departments"), post(add_department))
        .route(&format!("{A}/locations"), post(add_location))
        .route(
            &format!("{A}/faults"),
            get(get_faults).put(put_faults).delete(reset_faults),
        )
        .route(&format!("{A}/rate_limit"), put(put_rate_limit))
        .route(&format!("{A}/settings"), put(put_settings))
        .route(&format!("{A}/calls"), get(get_calls).delete(clear_calls))
        .with_state(state)
}
