//! The whole ingress router: the SCIM routes (`http`) and the admin pages
//! (`web`) side by side over one [`AppState`], under the layers every
//! request passes (request id, tracing).

use axum::Router;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    crate::http::routes(&state)
        .merge(crate::web::routes())
        .with_state(state)
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
