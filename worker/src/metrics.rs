//! The worker's Prometheus metrics, exposed on `METRICS_ADDR/metrics` in
//! the OpenMetrics text format by the `prometheus-client` crate: events by
//! outcome, Freshservice calls by operation and status, dead letters, budget
//! waits and 429 pauses per tenant, deliveries held unacknowledged per
//! tenant, and the consumer's own life (broker connections, tenant
//! consumers started and ended, tenant scans), which shows whether one
//! tenant's trouble restarted the others' consumers.
//!
//! The names are the contract with the dashboard and the alert rules
//! (`bridge_worker_*`, README "Metrics"). Each worker owns its [`Registry`]
//! (no global recorder), so several workers in one test process never mix
//! numbers. A tenant's series go when its consumer ends because it was
//! uninstalled ([`Metrics::forget_tenant`]).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::{Family, MetricConstructor},
        gauge::Gauge,
        histogram::Histogram,
    },
    registry::Registry,
};

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

/// Makes the per-operation latency histograms.
#[derive(Clone, Copy)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        latency_histogram()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    op: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabel {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantHow {
    tenant: String,
    how: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// How a call waited for the tenant's budget (`bridge_worker_budget_waits_total{how}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetWait {
    /// Slept in the task (a wait up to `BUDGET_INLINE_WAIT_MS`).
    Inline,
    /// The event went to a wait queue.
    Parked,
}

impl BudgetWait {
    fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Parked => "parked",
        }
    }
}

/// Why a tenant's consumer ended (`bridge_worker_consumers_ended_total{reason}`).
pub const ENDED_REASONS: [&str; 3] = ["uninstalled", "held", "cancelled"];

/// The consumer's counters at one moment (for tests and operators).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Connections opened to the broker; more than one means a reconnect.
    pub broker_connections: u64,
    /// Tenant queue consumers started, first ones and restarts alike.
    pub consumers_started: u64,
    /// Tenant queue consumers ended, by reason (`uninstalled`: the tenant
    /// left the registry; `held`: it was paused or its credentials were
    /// rejected; `cancelled`: the broker ended it, e.g. its queue was
    /// deleted). Reasons that never happened are left out.
    pub consumers_ended: BTreeMap<&'static str, u64>,
    /// Tenant queues consumed now.
    pub tenants_followed: u64,
    /// Completed scans of the tenant registry.
    pub tenant_scans: u64,
}

/// One worker's metrics and the registry that exposes them.
pub struct Metrics {
    registry: Registry,
    events: Family<OutcomeLabel, Counter>,
    event_duration: Histogram,
    calls: Family<CallLabels, Counter>,
    call_duration: Family<OpLabel, Histogram, LatencyBuckets>,
    retries: Counter,
    dead_letters: Family<ClassLabel, Counter>,
    budget_waits: Family<TenantHow, Counter>,
    rate_limit_pauses: Family<TenantLabel, Counter>,
    unacked: Family<TenantLabel, Gauge>,
    broker_connections: Counter,
    redis_errors: Counter,
    consumers_started: Counter,
    consumers_ended: Family<ReasonLabel, Counter>,
    tenants_followed: Gauge,
    tenant_scans: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let events = Family::<OutcomeLabel, Counter>::default();
        let event_duration = latency_histogram();
        let calls = Family::<CallLabels, Counter>::default();
        let call_duration = Family::new_with_constructor(LatencyBuckets);
        let retries = Counter::default();
        let dead_letters = Family::<ClassLabel, Counter>::default();
        let budget_waits = Family::<TenantHow, Counter>::default();
        let rate_limit_pauses = Family::<TenantLabel, Counter>::default();
        let unacked = Family::<TenantLabel, Gauge>::default();
        let broker_connections = Counter::default();
        let redis_errors = Counter::default();
        let consumers_started = Counter::default();
        let consumers_ended = Family::<ReasonLabel, Counter>::default();
        let tenants_followed = Gauge::default();
        let tenant_scans = Counter::default();
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "bridge_worker_events",
            "Change events handled, by outcome (applied, coalesced, skipped, retried, parked, dead_lettered)",
            events.clone(),
        );
        registry.register(
            "bridge_worker_event_duration_seconds",
            "Time to handle one change event",
            event_duration.clone(),
        );
        registry.register(
            "bridge_worker_freshservice_calls",
            "Freshservice API calls, by operation and HTTP status (0: no answer)",
            calls.clone(),
        );
        registry.register(
            "bridge_worker_freshservice_call_duration_seconds",
            "Latency of Freshservice calls, by operation",
            call_duration.clone(),
        );
        registry.register(
            "bridge_worker_freshservice_retries",
            "Quick in-call retries of transient Freshservice failures",
            retries.clone(),
        );
        registry.register(
            "bridge_worker_dead_letters",
            "Changes sent to the dead-letter queue, by class",
            dead_letters.clone(),
        );
        registry.register(
            "bridge_worker_budget_waits",
            "Calls held back by the tenant's API budget or pause: slept inline, or parked on a wait queue",
            budget_waits.clone(),
        );
        registry.register(
            "bridge_worker_rate_limit_pauses",
            "429 answers from Freshservice that paused the tenant",
            rate_limit_pauses.clone(),
        );
        registry.register(
            "bridge_worker_unacked_messages",
            "Deliveries this worker holds unacknowledged, per tenant (sum over workers)",
            unacked.clone(),
        );
        registry.register(
            "bridge_worker_broker_connections",
            "Connections opened to the broker (more than one: the consumer reconnected)",
            broker_connections.clone(),
        );
        registry.register(
            "bridge_worker_redis_errors",
            "Redis commands that failed",
            redis_errors.clone(),
        );
        registry.register(
            "bridge_worker_consumers_started",
            "Tenant queue consumers started",
            consumers_started.clone(),
        );
        registry.register(
            "bridge_worker_consumers_ended",
            "Tenant queue consumers ended, by reason (uninstalled; held: paused or credentials rejected; cancelled by the broker)",
            consumers_ended.clone(),
        );
        registry.register(
            "bridge_worker_tenants_followed",
            "Tenant queues this worker consumes",
            tenants_followed.clone(),
        );
        registry.register(
            "bridge_worker_tenant_scans",
            "Completed scans of the tenant registry",
            tenant_scans.clone(),
        );
        Self {
            registry,
            events,
            event_duration,
            calls,
            call_duration,
            retries,
            dead_letters,
            budget_waits,
            rate_limit_pauses,
            unacked,
            broker_connections,
            redis_errors,
            consumers_started,
            consumers_ended,
            tenants_followed,
            tenant_scans,
        }
    }

    /// An event finished with `outcome` after `took`.
    pub fn event(&self, outcome: &'static str, took: Duration) {
        self.events.get_or_create(&OutcomeLabel { outcome }).inc();
        self.event_duration.observe(took.as_secs_f64());
    }

    /// One Freshservice call answered with `status` (0: no answer).
    pub fn call(&self, op: &'static str, status: u16, took: Duration) {
        self.calls.get_or_create(&CallLabels { op, status }).inc();
        self.call_duration
            .get_or_create(&OpLabel { op })
            .observe(took.as_secs_f64());
    }

    pub fn retry(&self) {
        self.retries.inc();
    }

    pub fn dead_letter(&self, class: &str) {
        self.dead_letters
            .get_or_create(&ClassLabel {
                class: class.to_string(),
            })
            .inc();
    }

    /// A call of `tenant` waited for its budget.
    pub fn budget_wait(&self, tenant: &str, how: BudgetWait) {
        self.budget_waits
            .get_or_create(&TenantHow {
                tenant: tenant.to_string(),
                how: how.as_str(),
            })
            .inc();
    }

    /// Freshservice answered 429 and `tenant` was paused.
    pub fn rate_limit_pause(&self, tenant: &str) {
        self.rate_limit_pauses
            .get_or_create(&tenant_label(tenant))
            .inc();
    }

    /// A delivery of `tenant` arrived; it counts as unacknowledged until
    /// the returned guard is dropped (after its ack, nack or requeue).
    pub fn delivery(self: &Arc<Self>, tenant: &str) -> Unacked {
        let label = tenant_label(tenant);
        self.unacked.get_or_create(&label).inc();
        Unacked {
            metrics: self.clone(),
            label,
        }
    }

    /// A Redis command failed.
    pub fn redis_error(&self) {
        self.redis_errors.inc();
    }

    /// Drops every series of an uninstalled tenant.
    pub fn forget_tenant(&self, tenant: &str) {
        let label = tenant_label(tenant);
        self.unacked.remove(&label);
        self.rate_limit_pauses.remove(&label);
        for how in [BudgetWait::Inline, BudgetWait::Parked] {
            self.budget_waits.remove(&TenantHow {
                tenant: tenant.to_string(),
                how: how.as_str(),
            });
        }
    }

    /// A connection to the broker was opened.
    pub fn broker_connected(&self) {
        self.broker_connections.inc();
    }

    /// A tenant queue's consumer started.
    pub fn consumer_started(&self) {
        self.consumers_started.inc();
    }

    /// A tenant queue's consumer ended, for `why` (one of [`ENDED_REASONS`]).
    pub fn consumer_ended(&self, why: &'static str) {
        self.consumers_ended
            .get_or_create(&ReasonLabel { reason: why })
            .inc();
    }

    /// A scan of the tenant registry finished with `followed` queues consumed.
    pub fn tenant_scan(&self, followed: usize) {
        self.tenant_scans.inc();
        self.tenants_followed.set(followed as i64);
    }

    pub fn consumer_stats(&self) -> ConsumerStats {
        let consumers_ended = ENDED_REASONS
            .iter()
            .filter_map(|r| {
                let n = self
                    .consumers_ended
                    .get(&ReasonLabel { reason: r })
                    .map(|c| c.get())?;
                Some((*r, n))
            })
            .collect();
        ConsumerStats {
            broker_connections: self.broker_connections.get(),
            consumers_started: self.consumers_started.get(),
            consumers_ended,
            tenants_followed: self.tenants_followed.get().max(0) as u64,
            tenant_scans: self.tenant_scans.get(),
        }
    }

    /// The OpenMetrics text exposition (ends with `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        out
    }
}

fn tenant_label(tenant: &str) -> TenantLabel {
    TenantLabel {
        tenant: tenant.to_string(),
    }
}

/// One delivery held unacknowledged; see [`Metrics::delivery`].
pub struct Unacked {
    metrics: Arc<Metrics>,
    label: TenantLabel,
}

impl Drop for Unacked {
    fn drop(&mut self) {
        // `get`, not `get_or_create`: a tenant forgotten meanwhile
        // (uninstalled) must not come back as a negative series.
        if let Some(g) = self.metrics.unacked.get(&self.label) {
            g.dec();
        }
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_labels() {
        let m = Metrics::default();
        m.event("applied", Duration::from_millis(20));
        m.call("create", 201, Duration::from_millis(3));
        m.dead_letter("permanent");
        m.budget_wait("t_1", BudgetWait::Parked);
        m.rate_limit_pause("t_1");
        let text = m.render();
        for want in [
            "bridge_worker_events_total{outcome=\"applied\"} 1",
            "bridge_worker_freshservice_calls_total{op=\"create\",status=\"201\"} 1",
            "bridge_worker_freshservice_call_duration_seconds_bucket{le=\"0.005\",op=\"create\"} 1",
            "bridge_worker_event_duration_seconds_count 1",
            "bridge_worker_dead_letters_total{class=\"permanent\"} 1",
            "bridge_worker_budget_waits_total{tenant=\"t_1\",how=\"parked\"} 1",
            "bridge_worker_rate_limit_pauses_total{tenant=\"t_1\"} 1",
            "# TYPE bridge_worker_unacked_messages gauge",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        m.consumer_started();
        m.consumer_ended("cancelled");
        m.tenant_scan(3);
        let text = m.render();
        assert!(
            text.contains("bridge_worker_consumers_started_total 1"),
            "{text}"
        );
        assert!(text.contains("bridge_worker_consumers_ended_total{reason=\"cancelled\"} 1"));
        assert!(text.contains("bridge_worker_tenants_followed 3"));
        let stats = m.consumer_stats();
        assert_eq!(stats.tenant_scans, 1);
        assert_eq!(stats.consumers_ended.get("cancelled"), Some(&1));
        assert_eq!(stats.consumers_ended.get("uninstalled"), None);
    }

    #[test]
    fn a_tenants_series_go_when_it_is_forgotten() {
        let m = Arc::new(Metrics::default());
        let held = m.delivery("t_gone");
        let other = m.delivery("t_stays");
        m.budget_wait("t_gone", BudgetWait::Inline);
        m.rate_limit_pause("t_gone");
        assert!(m
            .render()
            .contains("bridge_worker_unacked_messages{tenant=\"t_gone\"} 1"));
        m.forget_tenant("t_gone");
        // Settled after the uninstall: no series comes back.
        drop(held);
        let text = m.render();
        assert!(!text.contains("t_gone"), "{text}");
        assert!(
            text.contains("bridge_worker_unacked_messages{tenant=\"t_stays\"} 1"),
            "{text}"
        );
        drop(other);
        assert!(m
            .render()
            .contains("bridge_worker_unacked_messages{tenant=\"t_stays\"} 0"));
    }
}
