//! The worker's operational surface: `/healthz`, `/readyz` and Prometheus
//! `/metrics` on `METRICS_ADDR`, and a graceful stop that finishes in-flight
//! work and ends the worker task.

use std::time::Duration;

use super::support::*;
use e2e::{okta_user, wait_for, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_graceful_stop() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let cfg = worker::config::WorkerConfig::from_source(stack.env())?;
    let started = worker::server::start_full(cfg).await?;
    let base = format!("http://{}", started.metrics_addr);
    let health = stack.http.get(format!("{base}/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    wait_for("the worker ready", CONVERGE, || async {
        let s = stack
            .http
            .get(format!("{base}/readyz"))
            .send()
            .await?
            .status();
        Ok((s == 200).then_some(()))
    })
    .await?;

    let id = scim_create(&stack, okta_user("ops@example.com", "Op", "Erator")).await?;
    wait_converged(&stack, &id).await?;
    let text = stack
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        text.contains("\nbridge_worker_events_total{outcome=\"applied\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("\nbridge_worker_freshservice_calls_total{op=\"create\",status=\"201\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("\nbridge_worker_freshservice_call_duration_seconds_bucket{"),
        "{text}"
    );

    started.running.stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), started.running.handle).await??;
    stack.stop().await;
    Ok(())
}
