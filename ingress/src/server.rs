//! Starting the ingress: load the TLS certificate if any (`tls`), connect
//! to Redis and RabbitMQ, build the state, serve HTTP or HTTPS (`serve`),
//! run the sweeper and the metrics collector, and shut down gracefully on
//! a signal ([`run`]): stop accepting, finish the requests in flight, the
//! publishes they started and the sweeper's pass, all within
//! `SHUTDOWN_GRACE_MS`, then exit.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use shared::{
    keys::Keys,
    queue::{Publisher, QueueDepth, Topology},
    tenant::TenantStore,
};
use tokio_util::sync::CancellationToken;

use crate::{
    app::router,
    config::IngressConfig,
    metrics::{collect::Collector, IngressMetrics, PublishWatch},
    outbox::Outbox,
    serve::ConnectionStats,
    state::{AppState, Backend},
    store::{GroupStore, UserStore},
};

/// Builds the shared state. Fails only if Redis is unreachable at start;
/// later outages are answered with 503 and heal on their own.
pub async fn state(config: IngressConfig) -> anyhow::Result<AppState> {
    let redis = shared::redis_conn::connect(&config.common.redis_url)
        .await
        .with_context(|| "connecting to Redis (REDIS_URL)")?;
    let keys = Keys::new(config.common.key_prefix.clone());
    let tenants = TenantStore::new(
        redis.clone(),
        keys.clone(),
        config.common.master_key.clone(),
    );
    let users = UserStore::new(redis.clone(), keys.clone());
    let groups = GroupStore::new(redis.clone(), keys);
    let metrics = Arc::new(IngressMetrics::new());
    let publisher = Arc::new(
        Publisher::new(
            config.common.amqp_url.clone(),
            Topology::new(config.common.queue_prefix.clone()),
            config.publish_timeout,
        )
        .with_observer(Arc::new(PublishWatch(metrics.clone()))),
    );
    // Connect eagerly so a bad AMQP_URL shows at start, but do not fail:
    // the publisher reconnects and requests answer 503 meanwhile.
    if !publisher.is_connected().await {
        tracing::warn!("message broker not reachable yet; SCIM writes answer 503 until it is");
    }
    let outbox = Outbox::new(publisher, users.clone(), groups.clone());
    Ok(AppState::new(
        Backend {
            config: Arc::new(config),
            tenants,
            users,
            groups,
            outbox,
            redis,
            tokens: Default::default(),
        },
        metrics,
    ))
}

/// A running ingress (for tests and `main`).
pub struct Running {
    pub addr: SocketAddr,
    pub stop: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Connections being served (see `serve`).
    pub connections: ConnectionStats,
}

/// `ingress serve`: serves until Ctrl-C or SIGTERM, then shuts down
/// gracefully within `SHUTDOWN_GRACE_MS` (see [`start`]). The shipped
/// binary and the test shim `e2e-ingress` both call this.
pub async fn run(config: IngressConfig) -> anyhow::Result<()> {
    let running = start(config).await?;
    let stop = running.stop.clone();
    tokio::spawn(async move {
        shared::shutdown::signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    running.handle.await??;
    Ok(())
}

/// Binds `config.addr` (port 0 picks a free one) and serves until `stop`;
/// `handle` ends once the shutdown is done (at most `SHUTDOWN_GRACE_MS`
/// after `stop`).
///
/// With TLS configured the certificate and key are loaded first: a
/// [`crate::tls::TlsError`] is returned as is (no context), so `main` can
/// tell it from other failures and exit 2 as for any configuration error.
pub async fn start(config: IngressConfig) -> anyhow::Result<Running> {
    let tls = config
        .http
        .tls
        .as_ref()
        .map(crate::tls::acceptor)
        .transpose()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding INGRESS_ADDR {}", config.addr))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    if config.public_base_url.ends_with(":0") {
        config.public_base_url = format!("{}://{addr}", config.http.scheme());
    }
    let (interval, grace) = (config.sweep_interval, config.sweep_grace);
    let limits = config.http.clone();
    let scheme = limits.scheme();
    let shutdown_grace = limits.shutdown_grace;
    let state = state(config).await?;
    let stop = CancellationToken::new();
    let outbox = state.backend.outbox.clone();
    let mut sweeper = tokio::spawn(outbox.clone().run_sweeper(
        state.backend.tenants.clone(),
        interval,
        grace,
        stop.clone(),
    ));
    let backend = &state.backend;
    let collector = Collector {
        metrics: state.metrics.clone(),
        tenants: backend.tenants.clone(),
        redis: backend.redis.clone(),
        keys: backend.tenants.keys().clone(),
        topology: backend.outbox.publisher().topology().clone(),
        depth: QueueDepth::new(
            backend.config.common.amqp_url.clone(),
            backend.config.backend_timeout,
        ),
        interval: backend.config.metrics_collect_interval,
    };
    tokio::spawn(collector.run(stop.clone()));
    let app = router(state);
    let connections = ConnectionStats::default();
    let (stats, shutdown) = (connections.clone(), stop.clone());
    let handle = tokio::spawn(async move {
        let mut serving = tokio::spawn(crate::serve::serve(
            listener,
            app,
            limits,
            tls,
            stats,
            shutdown.clone(),
        ));
        // The one deadline of the whole shutdown starts at `stop`; the
        // HTTP drain bounds itself by the same grace.
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = &mut serving => {}
        }
        let deadline = tokio::time::Instant::now() + shutdown_grace;
        let _ = serving.await;
        // Requests are answered; what they started (a confirm to clear
        // from the outbox, an undo) and the sweeper's pass finish too.
        let left = outbox.finish(deadline).await;
        if left > 0 {
            tracing::warn!(
                left,
                "SHUTDOWN_GRACE_MS over with publishes unfinished; the sweeper re-publishes them"
            );
        }
        if tokio::time::timeout_at(deadline, &mut sweeper)
            .await
            .is_err()
        {
            tracing::warn!("SHUTDOWN_GRACE_MS over mid-sweep; the next sweep takes it up");
            sweeper.abort();
        }
        tracing::info!("ingress stopped");
        Ok(())
    });
    tracing::info!(%addr, scheme = scheme, "ingress listening");
    Ok(Running {
        addr,
        stop,
        handle,
        connections,
    })
}
