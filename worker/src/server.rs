//! Starting a worker: connect, build the converger and consumer, serve
//! `/healthz`, `/readyz` and `/metrics` on `METRICS_ADDR`, run until
//! stopped, then let in-flight work finish within the grace period.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use crate::config::WorkerConfig;
use anyhow::Context;
use axum::{extract::State, http::StatusCode, routing::get, Router};
use redis::aio::ConnectionManager;
use shared::{
    keys::Keys,
    queue::{Publisher, Topology},
    tenant::TenantStore,
};
use tokio_util::sync::CancellationToken;

use crate::{consume::Consumer, converge::Converger, metrics::Metrics};

pub struct Running {
    pub stop: CancellationToken,
    pub handle: tokio::task::JoinHandle<()>,
}

/// A started worker with what tests and operators may look at.
pub struct Started {
    pub running: Running,
    /// Where `/healthz`, `/readyz` and `/metrics` answer.
    pub metrics_addr: SocketAddr,
    pub metrics: Arc<Metrics>,
}

#[derive(Clone)]
struct Health {
    redis: ConnectionManager,
    consuming: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

pub async fn start(config: WorkerConfig) -> anyhow::Result<Running> {
    Ok(start_full(config).await?.running)
}

/// Like [`start`], also returning the metrics address and counters.
pub async fn start_full(config: WorkerConfig) -> anyhow::Result<Started> {
    let config = Arc::new(config);
    let redis = shared::redis_conn::connect(&config.common.redis_url)
        .await
        .context("connecting to Redis (REDIS_URL)")?;
    let keys = Keys::new(config.common.key_prefix.clone());
    let tenants = TenantStore::new(redis.clone(), keys, config.common.master_key.clone());
    let topology = Topology::new(config.common.queue_prefix.clone());
    let publisher = Arc::new(Publisher::new(
        config.common.amqp_url.clone(),
        topology.clone(),
        std::time::Duration::from_secs(10),
    ));
    let metrics = Arc::new(Metrics::default());
    let consuming = Arc::new(AtomicBool::new(false));
    let consumer = Arc::new(Consumer {
        converger: Converger::new(
            redis.clone(),
            tenants.clone(),
            config.clone(),
            metrics.clone(),
            publisher.clone(),
        ),
        tenants,
        config: config.clone(),
        publisher,
        topology,
        metrics: metrics.clone(),
        consuming: consuming.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding METRICS_ADDR {}", config.metrics_addr))?;
    let metrics_addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(Health {
            redis,
            consuming,
            metrics: metrics.clone(),
        });
    let stop = CancellationToken::new();
    let http_stop = stop.clone();
    let http = tokio::spawn(async move {
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { http_stop.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    let consume = tokio::spawn(consumer.run(stop.clone()));
    let handle = tokio::spawn(async move {
        let _ = consume.await;
        let _ = http.await;
    });
    tracing::info!(%metrics_addr, "worker started");
    Ok(Started {
        running: Running { stop, handle },
        metrics_addr,
        metrics,
    })
}

async fn ready(State(h): State<Health>) -> (StatusCode, &'static str) {
    let mut r = h.redis.clone();
    let redis_ok = redis::cmd("PING")
        .query_async::<String>(&mut r)
        .await
        .is_ok();
    match (redis_ok, h.consuming.load(Ordering::Relaxed)) {
        (true, true) => (StatusCode::OK, "ready"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "redis unreachable"),
        (_, false) => (StatusCode::SERVICE_UNAVAILABLE, "not consuming"),
    }
}

async fn render_metrics(
    State(h): State<Health>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        h.metrics.render(),
    )
}
