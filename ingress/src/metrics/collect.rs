//! The collector: every `METRICS_COLLECT_INTERVAL_MS` a background task
//! reads, for every installed tenant, its change queue's ready and
//! consumer counts (AMQP passive declares over one long-lived connection,
//! `shared/src/queue/depth.rs`), the shared wait queues and the
//! dead-letter queue, its pending and failed changes (`shared/src/pending.rs`)
//! and its state, then rebuilds the gauge families from scratch, so an
//! uninstalled tenant's series disappear at the next collection.
//!
//! Scrapes never wait for it: `/metrics` serves the last collection.
//! Redis reads are pipelined ([`CHUNK`] tenants a round trip); the passive
//! declares are one round trip each, on one channel. A failed read counts
//! `bridge_metrics_collect_errors_total{source}` and its series are left
//! out of this collection rather than kept stale; after the broker's first
//! failure in a collection, the rest of its reads are skipped (a broker
//! that is down would make every one wait for the timeout).

use std::{
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use redis::aio::ConnectionManager;
use shared::{
    keys::Keys,
    pending::{self, TenantPending},
    queue::{QueueCounts, QueueDepth, Topology},
    tenant::{TenantState, TenantStore},
};
use tokio_util::sync::CancellationToken;

use super::IngressMetrics;

/// Tenants per pipelined Redis round trip.
pub const CHUNK: usize = 500;

/// The `state` label values of `bridge_tenant_state`.
pub const STATES: [&str; 4] = ["active", "rate_limited", "paused", "credentials_rejected"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantQueue {
    tenant: String,
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabel {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantStateLabel {
    tenant: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

/// The collected families, registered in the ingress's registry.
pub struct Collected {
    ready: Family<TenantQueue, Gauge>,
    consumers: Family<TenantQueue, Gauge>,
    ready_all: Family<QueueLabel, Gauge>,
    oldest: Family<TenantLabel, Gauge<f64, AtomicU64>>,
    pending: Family<TenantLabel, Gauge>,
    failed: Family<TenantLabel, Gauge>,
    state: Family<TenantStateLabel, Gauge>,
    tenants: Gauge,
    errors: Family<SourceLabel, Counter>,
}

impl Collected {
    pub(super) fn register(r: &mut Registry) -> Self {
        let c = Self {
            ready: Default::default(),
            consumers: Default::default(),
            ready_all: Default::default(),
            oldest: Default::default(),
            pending: Default::default(),
            failed: Default::default(),
            state: Default::default(),
            tenants: Default::default(),
            errors: Default::default(),
        };
        r.register(
            "bridge_queue_ready_messages",
            "Messages ready on the tenant's change queue (as of the last collection; every ingress replica reports the same: aggregate with max)",
            c.ready.clone(),
        );
        r.register(
            "bridge_queue_consumers",
            "Consumers on the tenant's change queue",
            c.consumers.clone(),
        );
        r.register(
            "bridge_queue_ready_messages_all",
            "Messages ready: summed over the tenants' change queues (changes), on the shared wait queues (wait), on the dead-letter queue (dead)",
            c.ready_all.clone(),
        );
        r.register(
            "bridge_tenant_oldest_pending_seconds",
            "Age of the oldest change the ingress accepted and no worker has applied or dead-lettered yet; 0 when none",
            c.oldest.clone(),
        );
        r.register(
            "bridge_tenant_users_pending",
            "Users (and groups) with an accepted change not yet applied",
            c.pending.clone(),
        );
        r.register(
            "bridge_tenant_users_failed",
            "Users whose last change was dead-lettered",
            c.failed.clone(),
        );
        r.register(
            "bridge_tenant_state",
            "1 for the tenant's current state (active; rate_limited: paused for a 429's Retry-After; paused by an operator; credentials_rejected), 0 for the others",
            c.state.clone(),
        );
        r.register("bridge_tenants", "Installed tenants", c.tenants.clone());
        r.register(
            "bridge_metrics_collect_errors",
            "Collections that failed to read, by source (broker, redis)",
            c.errors.clone(),
        );
        c
    }
}

/// What one collection read about one tenant; `None` where the read failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantRow {
    pub id: String,
    /// One of [`STATES`].
    pub state: Option<&'static str>,
    pub pending: Option<TenantPending>,
    /// Ready and consumers of its change queue (a queue that does not
    /// exist has neither).
    pub queue: Option<QueueCounts>,
}

/// One collection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Installed tenants; `None` when the registry could not be read.
    pub installed: Option<usize>,
    pub tenants: Vec<TenantRow>,
    /// Ready on the wait queues (all tiers), on the dead-letter queue.
    pub wait: Option<u64>,
    pub dead: Option<u64>,
}

/// The label of a tenant's state; `rate_limited` is an active tenant
/// inside a 429's pause (`Keys::pause`).
pub fn state_label(state: &TenantState, rate_limited: bool) -> &'static str {
    match (state, rate_limited) {
        (TenantState::CredentialsRejected, _) => "credentials_rejected",
        (TenantState::Paused, _) => "paused",
        (TenantState::Active, true) => "rate_limited",
        (TenantState::Active, false) => "active",
    }
}

impl IngressMetrics {
    /// Replaces every collected series with `snap`'s (scrapes see the old
    /// set or the new one, never a mix).
    pub fn apply(&self, snap: &Snapshot) {
        let c = &self.collected;
        self.swapping(|| {
            c.ready.clear();
            c.consumers.clear();
            c.ready_all.clear();
            c.oldest.clear();
            c.pending.clear();
            c.failed.clear();
            c.state.clear();
            if let Some(n) = snap.installed {
                c.tenants.set(n as i64);
            }
            let mut changes = Some(0u64);
            for t in &snap.tenants {
                let tenant = || TenantLabel {
                    tenant: t.id.clone(),
                };
                match t.queue {
                    Some(q) => {
                        let label = TenantQueue {
                            tenant: t.id.clone(),
                            queue: "changes",
                        };
                        c.ready.get_or_create(&label).set(q.ready.into());
                        c.consumers.get_or_create(&label).set(q.consumers.into());
                        changes = changes.map(|n| n + u64::from(q.ready));
                    }
                    None => changes = None,
                }
                if let Some(p) = &t.pending {
                    c.oldest
                        .get_or_create(&tenant())
                        .set(p.oldest.unwrap_or_default().as_secs_f64());
                    c.pending.get_or_create(&tenant()).set(p.pending as i64);
                    c.failed.get_or_create(&tenant()).set(p.failed as i64);
                }
                if let Some(state) = t.state {
                    for s in STATES {
                        c.state
                            .get_or_create(&TenantStateLabel {
                                tenant: t.id.clone(),
                                state: s,
                            })
                            .set(i64::from(s == state));
                    }
                }
            }
            for (queue, n) in [
                ("changes", changes),
                ("wait", snap.wait),
                ("dead", snap.dead),
            ] {
                if let Some(n) = n {
                    c.ready_all
                        .get_or_create(&QueueLabel { queue })
                        .set(n as i64);
                }
            }
        });
    }

    fn collect_error(&self, source: &'static str) {
        self.collected
            .errors
            .get_or_create(&SourceLabel { source })
            .inc();
        if source == "redis" {
            self.redis_error();
        }
    }
}

/// What the collector reads from.
pub struct Collector {
    pub metrics: Arc<IngressMetrics>,
    pub tenants: TenantStore,
    pub redis: ConnectionManager,
    pub keys: Keys,
    pub topology: Topology,
    /// Its own broker connection, kept open between collections.
    pub depth: QueueDepth,
    pub interval: Duration,
}

impl Collector {
    /// Collects every `interval` until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let snap = tokio::select! {
                _ = stop.cancelled() => return,
                s = self.collect() => s,
            };
            self.metrics.apply(&snap);
        }
    }

    /// One collection.
    pub async fn collect(&self) -> Snapshot {
        let ids = match self.tenants.ids().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: could not list tenants");
                self.metrics.collect_error("redis");
                return Snapshot::default();
            }
        };
        let mut rows: Vec<TenantRow> = ids
            .iter()
            .map(|id| TenantRow {
                id: id.clone(),
                ..Default::default()
            })
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        let mut redis_failed = false;
        for chunk in rows.chunks_mut(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
            let mut r = self.redis.clone();
            let read = async {
                let states = self.tenants.states(&ids).await.map_err(|e| e.to_string())?;
                let pending = pending::read_many(&mut r, &self.keys, &ids, now)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((states, pending))
            };
            match read.await {
                Ok((states, pending)) => {
                    for ((row, (state, paused)), p) in chunk.iter_mut().zip(states).zip(pending) {
                        row.state = Some(state_label(&state, paused));
                        row.pending = Some(p);
                    }
                }
                Err(e) => {
                    if !redis_failed {
                        tracing::warn!(error = %e, "metrics: could not read tenants' pending changes and states");
                        self.metrics.collect_error("redis");
                        redis_failed = true;
                    }
                }
            }
        }
        let mut snap = Snapshot {
            installed: Some(ids.len()),
            ..Default::default()
        };
        let mut broker_up = true;
        for row in rows.iter_mut() {
            match self.queue(&self.topology.tenant_queue(&row.id)).await {
                Some(q) => row.queue = Some(q),
                None => {
                    broker_up = false;
                    break;
                }
            }
        }
        if broker_up {
            let mut wait = 0u64;
            for tier in shared::queue::topology::WAIT_TIERS.iter() {
                match self.queue(&self.topology.wait(*tier)).await {
                    Some(q) => wait += u64::from(q.ready),
                    None => {
                        broker_up = false;
                        break;
                    }
                }
            }
            if broker_up {
                snap.wait = Some(wait);
                snap.dead = self
                    .queue(&self.topology.dead())
                    .await
                    .map(|q| u64::from(q.ready));
            }
        }
        snap.tenants = rows;
        snap
    }

    /// A queue's stats (zero for a queue that does not exist); `None`, with
    /// the error counted, when the broker did not answer.
    async fn queue(&self, name: &str) -> Option<QueueCounts> {
        match self.depth.counts(name).await {
            Ok(q) => Some(q.unwrap_or_default()),
            Err(e) => {
                tracing::warn!(queue = name, error = %e, "metrics: could not read a queue's depth");
                self.metrics.collect_error("broker");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, ready: u32, pending: u64) -> TenantRow {
        TenantRow {
            id: id.into(),
            state: Some("active"),
            pending: Some(TenantPending {
                oldest: Some(Duration::from_millis(1_500)),
                pending,
                failed: 1,
            }),
            queue: Some(QueueCounts {
                ready,
                consumers: 2,
            }),
        }
    }

    #[test]
    fn a_collection_replaces_the_last_one() {
        let m = IngressMetrics::new();
        m.apply(&Snapshot {
            installed: Some(2),
            tenants: vec![row("t_a", 3, 4), row("t_b", 5, 0)],
            wait: Some(7),
            dead: Some(1),
        });
        let text = m.render();
        for want in [
            "bridge_queue_ready_messages{tenant=\"t_a\",queue=\"changes\"} 3\n",
            "bridge_queue_consumers{tenant=\"t_b\",queue=\"changes\"} 2\n",
            "bridge_queue_ready_messages_all{queue=\"changes\"} 8\n",
            "bridge_queue_ready_messages_all{queue=\"wait\"} 7\n",
            "bridge_queue_ready_messages_all{queue=\"dead\"} 1\n",
            "bridge_tenant_oldest_pending_seconds{tenant=\"t_a\"} 1.5\n",
            "bridge_tenant_users_pending{tenant=\"t_a\"} 4\n",
            "bridge_tenant_users_failed{tenant=\"t_b\"} 1\n",
            "bridge_tenant_state{tenant=\"t_a\",state=\"active\"} 1\n",
            "bridge_tenant_state{tenant=\"t_a\",state=\"paused\"} 0\n",
            "bridge_tenants 2\n",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        // t_b uninstalled, the broker unreadable for t_a.
        let mut a = row("t_a", 0, 0);
        a.queue = None;
        a.state = Some("credentials_rejected");
        m.apply(&Snapshot {
            installed: Some(1),
            tenants: vec![a],
            wait: None,
            dead: None,
        });
        let text = m.render();
        assert!(!text.contains("t_b"), "{text}");
        assert!(!text.contains("bridge_queue_ready_messages{"), "{text}");
        assert!(!text.contains("bridge_queue_ready_messages_all{"), "{text}");
        assert!(
            text.contains("bridge_tenant_state{tenant=\"t_a\",state=\"credentials_rejected\"} 1\n")
        );
        assert!(text.contains("bridge_tenants 1\n"));
    }

    #[test]
    fn states_take_the_pause_into_account() {
        assert_eq!(state_label(&TenantState::Active, false), "active");
        assert_eq!(state_label(&TenantState::Active, true), "rate_limited");
        assert_eq!(state_label(&TenantState::Paused, false), "paused");
        assert_eq!(state_label(&TenantState::Paused, true), "paused");
        assert_eq!(
            state_label(&TenantState::CredentialsRejected, true),
            "credentials_rejected"
        );
    }
}
