//! The SCIM side of the ingress: the routes Okta calls (`/scim/v2`), their
//! extractors (bearer token, body, deadline) and the health checks. The
//! state comes from `crate::state`; the router with the admin pages from
//! `crate::app`.

pub mod auth;
pub mod body;
pub mod deadline;
pub mod discovery;
pub mod groups;
pub mod search;
pub mod users;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

use crate::{
    scim::error::ScimError,
    state::{AppState, Backend},
};

/// Largest request body accepted; larger ones get a SCIM 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The SCIM routes (`/scim/v2`) and the health checks; merged with the
/// admin pages by `app::router`.
pub fn routes(state: &AppState) -> Router<AppState> {
    // Users and Groups answer from Redis and the broker alone: bounded by
    // the backend deadline. Discovery may wait on Freshservice for the
    // custom fields; it bounds its Redis calls itself.
    let bounded = users::routes()
        .merge(groups::routes())
        .merge(search::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.backend.clone(),
            deadline::bound,
        ));
    Router::new()
        .nest(
            "/scim/v2",
            bounded
                .merge(discovery::routes())
                .fallback(scim_not_found)
                .method_not_allowed_fallback(scim_method_not_allowed),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// The request id set by the layer above (for events and logs).
pub fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// A SCIM JSON answer with the SCIM media type.
pub fn scim_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/scim+json"),
    );
    resp
}

async fn scim_not_found(uri: axum::http::Uri) -> ScimError {
    ScimError::not_found(format!(
        "no SCIM endpoint at {}: the bridge serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas",
        uri.path()
    ))
}

async fn scim_method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ScimError {
    ScimError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Ready when both dependencies answer: Redis (PING) and the broker (a
/// connected publisher). Load balancers should send Okta elsewhere while
/// this is 503, since writes would answer 503 anyway.
async fn readyz(axum::extract::State(state): axum::extract::State<Backend>) -> Response {
    // Within the backend deadline: a hung dependency means not ready, now.
    let deadline = deadline::Deadline::after(state.config.backend_timeout);
    let mut redis = state.redis.clone();
    let redis_ok = deadline
        .run(redis::cmd("PING").query_async::<String>(&mut redis))
        .await
        .is_some_and(|r| r.is_ok());
    let broker_ok = deadline
        .run(state.outbox.publisher().is_connected())
        .await
        .unwrap_or(false);
    let body = serde_json::json!({"redis": redis_ok, "broker": broker_ok});
    let status = if redis_ok && broker_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
