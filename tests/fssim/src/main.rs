//! `freshservice-sim`: runs the Freshservice API v2 simulator as a process
//! (`--addr 127.0.0.1:9090 [--seed FILE]`), for the local quick start and manual trials.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use fssim::{Seed, SimOptions, SimState};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Freshservice API v2 simulator.
#[derive(Debug, Parser)]
#[command(name = "freshservice-sim", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FSSIM_ADDR", default_value = "127.0.0.1:9090")]
    addr: SocketAddr,
    /// JSON file with accounts to load: {"accounts":[{"domain":…,"api_keys":[…],…}]}.
    #[arg(long, env = "FSSIM_SEED")]
    seed: Option<PathBuf>,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Plain-text logs as before; spans go to a collector too when
    // OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/src/telemetry.rs). The
    // guard flushes them as `main` returns.
    let traces =
        shared::cli::config_or_exit(shared::telemetry::TraceExport::from_env("freshservice-sim"));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .finish()
        .with(traces.layer())
        .init();
    let args = Args::parse();
    let state = SimState::new(SimOptions::default());
    if let Some(path) = &args.seed {
        let seed = Seed::from_file(path)
            .map_err(|e| anyhow::anyhow!("reading seed {}: {e}", path.display()))?;
        state.load_seed(&seed).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        "freshservice-sim listening on http://{addr} (accounts: {:?})",
        state.domains().await
    );
    fssim::serve(listener, fssim::router(state), shutdown_signal()).await;
    traces.shutdown();
    Ok(())
}
