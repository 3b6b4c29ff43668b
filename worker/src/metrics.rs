//! The worker's Prometheus metrics, rendered by hand in the text format:
//! events by outcome, Freshservice calls by operation and status, retries,
//! dead letters, rate-limit waits, latency histograms, and the consumer's
//! own life (broker connections, tenant consumers started and ended, tenant
//! scans), which shows whether one tenant's trouble restarted the others'
//! consumers. A handful of
//! counters does not justify a global recorder, and keeping them per worker
//! lets several workers run in one test process without mixing numbers.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Duration};

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += s;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

#[derive(Default)]
struct Inner {
    events: BTreeMap<&'static str, u64>,
    calls: BTreeMap<(&'static str, u16), u64>,
    retries: u64,
    dead_letters: BTreeMap<String, u64>,
    rate_waits: BTreeMap<&'static str, u64>,
    call_latency: Histogram,
    event_latency: Histogram,
    broker_connections: u64,
    consumers_started: u64,
    consumers_ended: BTreeMap<&'static str, u64>,
    tenants_followed: u64,
    tenant_scans: u64,
}

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
    /// deleted).
    pub consumers_ended: BTreeMap<&'static str, u64>,
    /// Tenant queues consumed now.
    pub tenants_followed: u64,
    /// Completed scans of the tenant registry.
    pub tenant_scans: u64,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// An event finished with `outcome` after `took`.
    pub fn event(&self, outcome: &'static str, took: Duration) {
        self.with(|m| {
            *m.events.entry(outcome).or_default() += 1;
            m.event_latency.observe(took);
        });
    }

    /// One Freshservice call answered with `status` (0: no answer).
    pub fn call(&self, op: &'static str, status: u16, took: Duration) {
        self.with(|m| {
            *m.calls.entry((op, status)).or_default() += 1;
            m.call_latency.observe(took);
        });
    }

    pub fn retry(&self) {
        self.with(|m| m.retries += 1);
    }

    pub fn dead_letter(&self, class: &str) {
        self.with(|m| *m.dead_letters.entry(class.to_string()).or_default() += 1);
    }

    /// A call waited for budget: `inline` (slept in the task) or `parked`
    /// (the event went to a wait queue).
    pub fn rate_wait(&self, how: &'static str) {
        self.with(|m| *m.rate_waits.entry(how).or_default() += 1);
    }

    /// A connection to the broker was opened.
    pub fn broker_connected(&self) {
        self.with(|m| m.broker_connections += 1);
    }

    /// A tenant queue's consumer started.
    pub fn consumer_started(&self) {
        self.with(|m| m.consumers_started += 1);
    }

    /// A tenant queue's consumer ended, for `why` (see [`ConsumerStats`]).
    pub fn consumer_ended(&self, why: &'static str) {
        self.with(|m| *m.consumers_ended.entry(why).or_default() += 1);
    }

    /// A scan of the tenant registry finished with `followed` queues consumed.
    pub fn tenant_scan(&self, followed: usize) {
        self.with(|m| {
            m.tenant_scans += 1;
            m.tenants_followed = followed as u64;
        });
    }

    pub fn consumer_stats(&self) -> ConsumerStats {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        ConsumerStats {
            broker_connections: m.broker_connections,
            consumers_started: m.consumers_started,
            consumers_ended: m.consumers_ended.clone(),
            tenants_followed: m.tenants_followed,
            tenant_scans: m.tenant_scans,
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(out, "# HELP worker_events_total Change events handled, by outcome.\n# TYPE worker_events_total counter");
        for (k, v) in &m.events {
            let _ = writeln!(out, "worker_events_total{{outcome=\"{k}\"}} {v}");
        }
        let _ = writeln!(out, "# HELP worker_freshservice_calls_total Freshservice API calls, by operation and HTTP status (0: no answer).\n# TYPE worker_freshservice_calls_total counter");
        for ((op, status), v) in &m.calls {
            let _ = writeln!(
                out,
                "worker_freshservice_calls_total{{op=\"{op}\",status=\"{status}\"}} {v}"
            );
        }
        let _ = writeln!(out, "# HELP worker_retries_total Quick in-call retries of transient Freshservice failures.\n# TYPE worker_retries_total counter\nworker_retries_total {}", m.retries);
        let _ = writeln!(out, "# HELP worker_dead_letters_total Changes sent to the dead-letter queue, by class.\n# TYPE worker_dead_letters_total counter");
        for (k, v) in &m.dead_letters {
            let _ = writeln!(out, "worker_dead_letters_total{{class=\"{k}\"}} {v}");
        }
        let _ = writeln!(out, "# HELP worker_rate_limit_waits_total Calls held back by the tenant budget or a 429 pause.\n# TYPE worker_rate_limit_waits_total counter");
        for (k, v) in &m.rate_waits {
            let _ = writeln!(out, "worker_rate_limit_waits_total{{how=\"{k}\"}} {v}");
        }
        let _ = writeln!(out, "# HELP worker_broker_connections_total Connections opened to the broker (more than one: the consumer reconnected).\n# TYPE worker_broker_connections_total counter\nworker_broker_connections_total {}", m.broker_connections);
        let _ = writeln!(out, "# HELP worker_consumers_started_total Tenant queue consumers started.\n# TYPE worker_consumers_started_total counter\nworker_consumers_started_total {}", m.consumers_started);
        let _ = writeln!(out, "# HELP worker_consumers_ended_total Tenant queue consumers ended, by reason (uninstalled, held: paused or credentials rejected, cancelled by the broker).\n# TYPE worker_consumers_ended_total counter");
        for (k, v) in &m.consumers_ended {
            let _ = writeln!(out, "worker_consumers_ended_total{{reason=\"{k}\"}} {v}");
        }
        let _ = writeln!(out, "# HELP worker_tenants_followed Tenant queues this worker consumes.\n# TYPE worker_tenants_followed gauge\nworker_tenants_followed {}", m.tenants_followed);
        let _ = writeln!(out, "# HELP worker_tenant_scans_total Completed scans of the tenant registry.\n# TYPE worker_tenant_scans_total counter\nworker_tenant_scans_total {}", m.tenant_scans);
        m.call_latency.render(
            &mut out,
            "worker_freshservice_call_seconds",
            "Latency of Freshservice calls.",
        );
        m.event_latency.render(
            &mut out,
            "worker_event_seconds",
            "Time to handle one change event.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.event("applied", Duration::from_millis(20));
        m.call("create", 201, Duration::from_millis(3));
        m.dead_letter("permanent");
        let text = m.render();
        assert!(
            text.contains("worker_events_total{outcome=\"applied\"} 1"),
            "{text}"
        );
        assert!(text.contains("worker_freshservice_calls_total{op=\"create\",status=\"201\"} 1"));
        assert!(text.contains("worker_freshservice_call_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("worker_event_seconds_count 1"));
        m.consumer_started();
        m.consumer_ended("cancelled");
        m.tenant_scan(3);
        let text = m.render();
        assert!(text.contains("worker_consumers_started_total 1"), "{text}");
        assert!(text.contains("worker_consumers_ended_total{reason=\"cancelled\"} 1"));
        assert!(text.contains("worker_tenants_followed 3"));
        assert_eq!(m.consumer_stats().tenant_scans, 1);
    }
}
