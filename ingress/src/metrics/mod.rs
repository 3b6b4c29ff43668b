//! The ingress's Prometheus metrics, served on `GET /metrics` (no auth, on
//! the same listener as everything else) in the OpenMetrics text format by
//! the `prometheus-client` crate. The names are the contract with the
//! dashboard and the alert rules (`bridge_ingress_*`, `bridge_queue_*`,
//! `bridge_tenant_*`; README "Metrics").
//!
//! - `http.rs`: the layer that counts every request by method, matched
//!   route template and status, with a latency histogram;
//! - [`PublishWatch`] here: the confirmed publisher's outcomes, confirm
//!   latency and connections (`shared::queue::PublishObserver`);
//! - `collect.rs`: the background collection of queue depths, consumers,
//!   pending and failed changes and tenant states for every tenant.
//!
//! One [`IngressMetrics`] (and one `Registry`) per ingress, never a global
//! one, so several ingresses in one test process keep their own numbers.

pub mod collect;
pub mod http;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::{Family, MetricConstructor},
        histogram::Histogram,
    },
    registry::Registry,
};
use shared::queue::{PublishObserver, PublishOutcome};

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

#[derive(Clone, Copy)]
pub(crate) struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        latency_histogram()
    }
}

/// The content type of [`IngressMetrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The ingress's metrics and the registry that exposes them.
pub struct IngressMetrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) request_duration: Family<RouteLabels, Histogram, LatencyBuckets>,
    publishes: Family<OutcomeLabel, Counter>,
    publish_confirm: Histogram,
    broker_connections: Counter,
    redis_errors: Counter,
    pub(crate) collected: collect::Collected,
    /// Held while a collection swaps in its values and while a scrape
    /// encodes, so a scrape never sees a collection half applied.
    swap: Mutex<()>,
}

impl Default for IngressMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IngressMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let request_duration = Family::new_with_constructor(LatencyBuckets);
        let publishes = Family::<OutcomeLabel, Counter>::default();
        let publish_confirm = latency_histogram();
        let broker_connections = Counter::default();
        let redis_errors = Counter::default();
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "bridge_ingress_http_requests",
            "HTTP requests, by method, matched route template (or unmatched) and status",
            requests.clone(),
        );
        registry.register(
            "bridge_ingress_http_request_duration_seconds",
            "HTTP request latency, by method and matched route template",
            request_duration.clone(),
        );
        registry.register(
            "bridge_ingress_publishes",
            "Change events published with a publisher confirm, by outcome (confirmed, nacked, timeout, error)",
            publishes.clone(),
        );
        registry.register(
            "bridge_ingress_publish_confirm_seconds",
            "Time from publishing a change event to the broker's answer",
            publish_confirm.clone(),
        );
        registry.register(
            "bridge_ingress_broker_connections",
            "AMQP connections the publisher opened (more than one: it reconnected)",
            broker_connections.clone(),
        );
        registry.register(
            "bridge_ingress_redis_errors",
            "Redis commands that failed (connection lost, timeout)",
            redis_errors.clone(),
        );
        let collected = collect::Collected::register(&mut registry);
        Self {
            registry,
            requests,
            request_duration,
            publishes,
            publish_confirm,
            broker_connections,
            redis_errors,
            collected,
            swap: Mutex::new(()),
        }
    }

    /// A Redis command failed.
    pub fn redis_error(&self) {
        self.redis_errors.inc();
    }

    /// The OpenMetrics text exposition (ends with `# EOF`): the counters
    /// as they are, the collected gauges as of the last collection.
    pub fn render(&self) -> String {
        let _whole = self.swap.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        out
    }

    /// Runs `apply` with scrapes held off (see `swap`).
    fn swapping(&self, apply: impl FnOnce()) {
        let _whole = self.swap.lock().unwrap_or_else(|e| e.into_inner());
        apply();
    }
}

/// Reports the publisher's work to the metrics (`Publisher::with_observer`).
pub struct PublishWatch(pub Arc<IngressMetrics>);

impl PublishObserver for PublishWatch {
    fn published(&self, outcome: PublishOutcome, took: Duration) {
        self.0
            .publishes
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc();
        // The broker answered: that is the confirm latency. A timeout or a
        // lost connection measures nothing about the broker's confirms.
        if matches!(outcome, PublishOutcome::Confirmed | PublishOutcome::Nacked) {
            self.0.publish_confirm.observe(took.as_secs_f64());
        }
    }

    fn connected(&self) {
        self.0.broker_connections.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_render_by_outcome_with_their_latency() {
        let m = Arc::new(IngressMetrics::new());
        let watch = PublishWatch(m.clone());
        watch.connected();
        watch.published(PublishOutcome::Confirmed, Duration::from_millis(3));
        watch.published(PublishOutcome::Timeout, Duration::from_secs(5));
        m.redis_error();
        let text = m.render();
        for want in [
            "bridge_ingress_publishes_total{outcome=\"confirmed\"} 1\n",
            "bridge_ingress_publishes_total{outcome=\"timeout\"} 1\n",
            "bridge_ingress_publish_confirm_seconds_count 1\n",
            "bridge_ingress_publish_confirm_seconds_bucket{le=\"0.005\"} 1\n",
            "bridge_ingress_broker_connections_total 1\n",
            "bridge_ingress_redis_errors_total 1\n",
            "# TYPE bridge_tenants gauge\n",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
