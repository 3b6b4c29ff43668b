//! Trace export end to end: `telemetry::init` with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a stand-in collector on
//! 127.0.0.1 sends a recorded span over OTLP HTTP/protobuf when its guard
//! shuts down. Its own test binary with one test, because `init` installs
//! the process-wide subscriber (`otel_off.rs` covers the unset case).

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::mpsc;

/// One request the stand-in collector received.
struct Received {
    content_type: String,
    body: Bytes,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// Multi-threaded: the guard's shutdown blocks this thread while the SDK's
// batch thread posts to the collector, which must keep being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_reaches_the_collector_as_otlp_protobuf_with_the_service_name() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Received>();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(Received { content_type, body });
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The only test in this binary: nothing else reads the environment.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"));
    std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    std::env::remove_var("OTEL_SERVICE_NAME");
    std::env::remove_var("OTEL_TRACES_SAMPLER");
    std::env::set_var("RUST_LOG", "info");

    let traces = shared::telemetry::init("otel-probe-service").unwrap();
    assert!(traces.is_on());
    tracing::info_span!("otel-probe-span", tenant = "t-otel").in_scope(|| {
        tracing::info!("inside the probe span");
    });
    // Nothing is sent before the batch is due (5 s) or flushed.
    assert!(rx.try_recv().is_err());
    tokio::task::spawn_blocking(move || traces.shutdown())
        .await
        .unwrap();

    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no OTLP request within 10 s")
        .expect("collector gone");
    assert_eq!(got.content_type, "application/x-protobuf");
    assert!(
        contains(&got.body, b"otel-probe-service"),
        "service.name missing from {} bytes",
        got.body.len()
    );
    assert!(contains(&got.body, b"otel-probe-span"), "span name missing");
    assert!(contains(&got.body, b"t-otel"), "span attribute missing");
}
