//! The one layer that counts HTTP requests (`app::router` puts it around
//! every route): `bridge_ingress_http_requests_total{method, route,
//! status}` and `bridge_ingress_http_request_duration_seconds{method,
//! route}`. `route` is axum's matched path template
//! (`/scim/v2/Users/{id}`), never the path itself, so ids and query
//! strings never become labels; a request no route matched is
//! `unmatched`. Methods outside the standard ones are `other`. A response
//! marked [`StateStoreFailed`] also counts a Redis error.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};

use super::{IngressMetrics, RequestLabels, RouteLabels};
use crate::scim::error::StateStoreFailed;

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn track(
    State(metrics): State<Arc<IngressMetrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = method_label(req.method());
    let route = route_label(req.extensions().get::<MatchedPath>().map(|p| p.as_str()));
    let started = Instant::now();
    let resp = next.run(req).await;
    if resp.extensions().get::<StateStoreFailed>().is_some() {
        metrics.redis_error();
    }
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: resp.status().as_u16(),
        })
        .inc();
    metrics
        .request_duration
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// A bounded method label.
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route label of a matched path template; `unmatched` for none, and
/// for the catch-all axum gives a nested router's fallback.
pub fn route_label(matched: Option<&str>) -> String {
    match matched {
        Some(p) if !p.contains("__private__") => p.to_string(),
        _ => "unmatched".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, routing::get, Router};
    use tower::ServiceExt;

    #[test]
    fn labels_stay_bounded() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(
            route_label(Some("/scim/v2/Users/{id}")),
            "/scim/v2/Users/{id}"
        );
        assert_eq!(route_label(None), "unmatched");
        assert_eq!(
            route_label(Some("/scim/v2/{*__private__axum_fallback}")),
            "unmatched"
        );
    }

    /// Through a real router: the template, not the path, is the label;
    /// an unknown path is `unmatched`.
    #[tokio::test]
    async fn requests_are_counted_by_route_template() {
        let m = Arc::new(IngressMetrics::new());
        let app = Router::new()
            .route("/things/{id}", get(|| async { "thing" }))
            .layer(axum::middleware::from_fn_with_state(m.clone(), track));
        for uri in ["/things/a1", "/things/b2", "/nowhere"] {
            let _ = app
                .clone()
                .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
        }
        let text = m.render();
        for want in [
            "bridge_ingress_http_requests_total{method=\"GET\",route=\"/things/{id}\",status=\"200\"} 2\n",
            "bridge_ingress_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
            "bridge_ingress_http_request_duration_seconds_count{method=\"GET\",route=\"/things/{id}\"} 2\n",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(!text.contains("a1"), "{text}");
    }
}
