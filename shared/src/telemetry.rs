//! Structured logging for every binary: JSON lines on stderr, filtered by
//! `RUST_LOG` (default `info`). Secrets never reach a log field; see
//! `crypto` and the tenant registry for how they are kept out.
//!
//! Optional OpenTelemetry trace export, off by default: with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://collector:4318`), the
//! spans `tracing` records (the ingress's `request`, the worker's `event`)
//! are also sent to that collector over OTLP HTTP/protobuf, to
//! `ENDPOINT/v1/traces`. Unset, nothing is built: no exporter, no thread.
//! The resource's `service.name` is the name the binary passes to [`init`]
//! unless `OTEL_SERVICE_NAME` is set. The SDK's own standard variables
//! apply as usual: the sampler is parent-based always-on unless
//! `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` say otherwise, and
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS` and
//! `OTEL_EXPORTER_OTLP_TIMEOUT` are read by the exporter.
//!
//! Spans go out in batches from the SDK's own batch thread with the
//! blocking reqwest client, so export never waits on the tokio runtime
//! (the runtime-driven batch processor is still an `experimental_` feature
//! of `opentelemetry_sdk` 0.31). [`TraceExport`] is the guard: dropping it,
//! or [`TraceExport::shutdown`], flushes what is pending, waiting at most
//! [`FLUSH_DEADLINE`]. Trace context does not yet cross the queue: the
//! worker's `event` spans start their own traces.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, EnvFilter};

/// The variable that turns trace export on: the collector's base URL.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The per-signal variable the exporter prefers when it is set (used as is,
/// without `/v1/traces` appended).
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// Overrides the service name a binary passes to [`init`].
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
/// The longest a shutdown waits for pending spans to reach the collector.
/// A healthy collector answers in milliseconds; this bounds an exit (the
/// worker's SIGTERM deadline) when it does not.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(2);

/// Why trace export could not be set up; a configuration error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{var} is not an http:// or https:// URL ({reason}); expected e.g. http://collector:4318, or leave it unset to export no traces")]
    Endpoint { var: &'static str, reason: String },
    #[error("cannot build the OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Trace export as configured: off (nothing built), or an SDK tracer
/// provider whose batch thread sends spans to the collector. The guard of
/// [`init`]: keep it until the binary's work is done; dropping it flushes.
#[derive(Debug)]
pub struct TraceExport {
    provider: Option<SdkTracerProvider>,
}

impl TraceExport {
    /// Reads the `OTEL_*` variables and builds the exporter if
    /// [`ENDPOINT_VAR`] is set; `service` is the default `service.name`.
    /// For binaries that install their own subscriber (the simulator) and
    /// add [`TraceExport::layer`] to it; the services use [`init`].
    pub fn from_env(service: &str) -> Result<Self, TelemetryError> {
        let Some(_endpoint) = endpoint_from_env(ENDPOINT_VAR)? else {
            return Ok(Self { provider: None });
        };
        // Checked here because the exporter quietly falls back to
        // localhost when it cannot parse the per-signal URL.
        endpoint_from_env(TRACES_ENDPOINT_VAR)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()?;
        let name = service_name(service, std::env::var(SERVICE_NAME_VAR).ok());
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(name).build())
            .build();
        Ok(Self {
            provider: Some(provider),
        })
    }

    /// Whether spans are exported (the endpoint was set).
    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }

    /// The layer that hands `tracing`'s spans to the exporter; `None` when
    /// export is off (an absent layer does nothing).
    pub fn layer<S>(&self) -> Option<OpenTelemetryLayer<S, SdkTracer>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(env!("CARGO_PKG_NAME"))))
    }

    /// Sends what is pending and stops the exporter, waiting at most
    /// [`FLUSH_DEADLINE`]. Spans recorded afterwards are dropped.
    pub fn shutdown(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if let Some(p) = self.provider.take() {
            if let Err(e) = p.shutdown_with_timeout(FLUSH_DEADLINE) {
                tracing::warn!(error = %e, "pending trace spans may not have reached the collector");
            }
        }
    }
}

impl Drop for TraceExport {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Installs the global subscriber: JSON lines on stderr (`LOG_FORMAT=text`
/// for plain text), `RUST_LOG` filtering, and trace export when
/// configured. Keep the returned guard until the binary's work is done.
/// An unusable `OTEL_*` setting is an error and nothing is installed.
pub fn init(service: &'static str) -> Result<TraceExport, TelemetryError> {
    let traces = TraceExport::from_env(service)?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,lapin=warn"));
    let json = std::env::var("LOG_FORMAT")
        .map(|v| v != "text")
        .unwrap_or(true);
    // The filter sits on the fmt subscriber, under the trace layer, so a
    // span `RUST_LOG` filters out is neither logged nor exported.
    if json {
        let subscriber = fmt()
            .with_env_filter(filter)
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .finish();
        let _ = subscriber.with(traces.layer()).try_init();
    } else {
        let subscriber = fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .finish();
        let _ = subscriber.with(traces.layer()).try_init();
    }
    tracing::debug!(service, traces = traces.is_on(), "logging initialised");
    Ok(traces)
}

/// The endpoint in `var`, if set and not empty; an error if it is not an
/// http(s) URL with a host.
fn endpoint_from_env(var: &'static str) -> Result<Option<url::Url>, TelemetryError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => parse_endpoint(var, v.trim()).map(Some),
        _ => Ok(None),
    }
}

fn parse_endpoint(var: &'static str, value: &str) -> Result<url::Url, TelemetryError> {
    let bad = |reason: String| TelemetryError::Endpoint { var, reason };
    let url = url::Url::parse(value).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("it starts with `{}:`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    Ok(url)
}

/// `OTEL_SERVICE_NAME` when set and not empty, else the binary's own name.
fn service_name(default: &str, env: Option<String>) -> String {
    env.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        for ok in [
            "http://collector:4318",
            "https://otel.example.com",
            "http://127.0.0.1:4318/",
        ] {
            assert!(parse_endpoint(ENDPOINT_VAR, ok).is_ok(), "{ok}");
        }
        for bad in [
            "collector:4318",
            "localhost",
            "grpc://collector:4317",
            "http://",
            "not a url",
        ] {
            let e = parse_endpoint(ENDPOINT_VAR, bad)
                .expect_err(bad)
                .to_string();
            assert!(e.starts_with(ENDPOINT_VAR), "{e}");
            assert!(e.contains("http://collector:4318"), "{e}");
        }
    }

    #[test]
    fn otel_service_name_overrides_the_binarys_name() {
        assert_eq!(service_name("worker", None), "worker");
        assert_eq!(service_name("worker", Some(" ".into())), "worker");
        assert_eq!(
            service_name("worker", Some("bridge-worker-eu".into())),
            "bridge-worker-eu"
        );
    }
}
