//! The whole ingress router: the SCIM routes (`http`), the admin pages
//! (`web`) and `/metrics` side by side over one [`AppState`], under the
//! layers every request passes (request id, tracing, metrics).

use std::sync::Arc;

use axum::{extract::State, routing::get, Router};
use tower_http::{request_id::PropagateRequestIdLayer, trace::TraceLayer};

use crate::{
    metrics::{self, IngressMetrics},
    request_id,
    state::AppState,
};

pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    crate::http::routes(&state)
        .merge(crate::web::routes())
        .route("/metrics", get(serve_metrics))
        .with_state(state)
        // Innermost, so the matched route is known; it sees every answer.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::http::track,
        ))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let rid = req
                .headers()
                .get(&request_id::HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // Only method and path: query strings may carry emails, and
            // headers carry the bearer token.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        }))
        .layer(axum::middleware::from_fn(request_id::assign))
}

/// `GET /metrics`: no auth (it names tenant ids, never user data or
/// secrets), the last collection's gauges and the live counters.
async fn serve_metrics(
    State(m): State<Arc<IngressMetrics>>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        m.render(),
    )
}
