//! Structured logging for every binary: JSON lines on stderr, filtered by
//! `RUST_LOG` (default `info`). Secrets never reach a log field; see
//! `crypto` and the tenant registry for how they are kept out.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(service: &'static str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,lapin=warn"));
    let json = std::env::var("LOG_FORMAT")
        .map(|v| v != "text")
        .unwrap_or(true);
    if json {
        let _ = fmt()
            .with_env_filter(filter)
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .try_init();
    } else {
        let _ = fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    tracing::debug!(service, "logging initialised");
}
