//! The ingress's HTTP surface: state shared by handlers, the router, and
//! the layers every request passes (request id, body limit, tracing).

pub mod auth;
pub mod body;
pub mod deadline;
pub mod discovery;
pub mod groups;
pub mod token_cache;
pub mod users;

use std::sync::Arc;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use shared::{config::IngressConfig, tenant::TenantStore};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{outbox::Outbox, scim::error::ScimError, store::UserStore};

/// Largest request body accepted; larger ones get a SCIM 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a handler needs, cloned per request (all fields are handles).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<IngressConfig>,
    pub tenants: TenantStore,
    pub users: UserStore,
    pub outbox: Outbox,
    /// Direct Redis handle for small reads (caches) outside the stores.
    pub redis: redis::aio::ConnectionManager,
    /// Recently validated bearer tokens (see `token_cache`).
    pub tokens: Arc<token_cache::TokenCache>,
}

impl AppState {
    /// Base of SCIM resource locations, e.g. `https://bridge.example/scim/v2`.
    pub fn scim_base(&self) -> String {
        format!("{}/scim/v2", self.config.public_base_url)
    }
}

pub fn router(state: AppState) -> Router {
    // One admin-web state per router: its brute-force limiter also counts
    // failed SCIM bearer tokens (see `auth`).
    let web = crate::web::Web::new(state.config.web.clone());
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    // Users and Groups answer from Redis and the broker alone: bounded by
    // the backend deadline. Discovery may wait on Freshservice for the
    // custom fields; it bounds its Redis calls itself.
    let bounded =
        users::routes()
            .merge(groups::routes())
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
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
        .merge(crate::web::routes(web.clone()))
        .with_state(state)
        .layer(axum::Extension(web))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let rid = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // Only method and path: query strings may carry emails, and
            // headers carry the bearer token.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
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
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
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
