//! SCIM discovery endpoints (`/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`). Okta does not call them, but other clients and compliance
//! checkers do. With a valid token, the User schema lists the tenant's
//! Freshservice custom fields under `custom_fields`.

use axum::{
    extract::{FromRequestParts, Path, State},
    http::{request::Parts, StatusCode},
    response::Response,
    routing::get,
    Router,
};
use redis::AsyncCommands;
use serde_json::Value;

use super::{auth::ScimTenant, scim_response, users::MAX_PAGE};
use crate::{
    account::Accounts,
    scim::{discovery, error::ScimError},
    state::{AppState, Backend},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
}

/// A tenant if the request carries a valid token; discovery works without.
pub struct MaybeTenant(Option<shared::tenant::Tenant>);

impl FromRequestParts<AppState> for MaybeTenant {
    type Rejection = ScimError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        if parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .is_none()
        {
            return Ok(MaybeTenant(None));
        }
        ScimTenant::from_request_parts(parts, state)
            .await
            .map(|t| MaybeTenant(Some(t.0)))
    }
}

async fn service_provider_config(State(state): State<Backend>) -> Response {
    scim_response(
        StatusCode::OK,
        discovery::service_provider_config(&state.scim_base(), MAX_PAGE),
    )
}

async fn resource_types(State(state): State<Backend>) -> Response {
    scim_response(
        StatusCode::OK,
        discovery::resource_types(&state.scim_base()),
    )
}

async fn resource_type(
    State(state): State<Backend>,
    Path(name): Path<String>,
) -> Result<Response, ScimError> {
    let all = discovery::resource_types(&state.scim_base());
    all["Resources"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["id"].as_str() == Some(name.as_str()))
                .cloned()
        })
        .map(|r| scim_response(StatusCode::OK, r))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))
}

/// How long the ingress keeps requester fields it fetched itself.
const FIELDS_TTL_MS: u64 = 600_000;

/// The tenant's custom requester fields: from the cache the workers keep of
/// Freshservice's `/requester_fields`, else fetched once and cached.
async fn custom_fields(
    state: &Backend,
    accounts: &Accounts,
    tenant: &Option<shared::tenant::Tenant>,
) -> Vec<discovery::CustomFieldSchema> {
    let Some(t) = tenant else { return vec![] };
    let key = state.tenants.keys().requester_fields(&t.id);
    // The cache is optional: a hung Redis counts as a miss (`deadline.rs`).
    let deadline = super::deadline::Deadline::after(state.config.backend_timeout);
    let mut redis = state.redis.clone();
    let cached: Option<String> = deadline
        .run(redis.get(&key))
        .await
        .and_then(Result::ok)
        .flatten();
    let json = match cached.and_then(|c| serde_json::from_str::<Value>(&c).ok()) {
        Some(v) => v,
        None => {
            let Ok(api_key) = state.tenants.api_key(t) else {
                return vec![];
            };
            match accounts.requester_fields_raw(t, &api_key).await {
                Ok(v) => {
                    let stored = redis.set_options::<_, _, ()>(
                        &key,
                        v.to_string(),
                        redis::SetOptions::default()
                            .with_expiration(redis::SetExpiry::PX(FIELDS_TTL_MS)),
                    );
                    let cache_for = super::deadline::Deadline::after(state.config.backend_timeout);
                    let _ = cache_for.run(stored).await;
                    v
                }
                Err(e) => {
                    tracing::warn!(tenant = %t.id, error = %e, "could not read requester fields for /Schemas");
                    return vec![];
                }
            }
        }
    };
    let fields = shared::mapping::AccountFields::from_requester_fields(&json);
    fields
        .custom
        .iter()
        .map(|f| {
            use shared::mapping::CustomKind as K;
            discovery::CustomFieldSchema {
                name: f.name.clone(),
                label: f.label.clone(),
                scim_type: match f.kind {
                    K::Number => "integer",
                    K::Decimal => "decimal",
                    K::Checkbox => "boolean",
                    K::Date => "dateTime",
                    _ => "string",
                },
                canonical_values: f.choices.clone(),
            }
        })
        .collect()
}

async fn schemas(
    State(state): State<Backend>,
    State(accounts): State<std::sync::Arc<Accounts>>,
    MaybeTenant(t): MaybeTenant,
) -> Response {
    let custom = custom_fields(&state, &accounts, &t).await;
    scim_response(StatusCode::OK, discovery::schemas(&custom))
}

async fn schema(
    State(state): State<Backend>,
    State(accounts): State<std::sync::Arc<Accounts>>,
    MaybeTenant(t): MaybeTenant,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let custom = custom_fields(&state, &accounts, &t).await;
    discovery::schema_by_id(&custom, &id)
        .map(|s| scim_response(StatusCode::OK, s))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))
}
