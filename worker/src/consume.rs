//! The consumer loop: follows every tenant's queue (one consumer each, so
//! one tenant's backlog never holds up another's), pulls change events with
//! manual acks and bounded per-queue prefetch, converges up to `WORKER_CONCURRENCY` users at once, and acks
//! only once the outcome is durable (applied, parked on a wait queue, or
//! dead-lettered). A crash before the ack returns the event to the queue.
//!
//! On stop it cancels the consumer first (no new deliveries), lets in-flight
//! events finish within the grace period, and only then closes the
//! connection, so their acks still reach the broker.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::FieldTable,
    Connection, ConnectionProperties,
};
use shared::{
    config::WorkerConfig,
    event::{ChangeEvent, DeadLetter},
    queue::{Publisher, Topology},
    tenant::TenantStore,
};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    converge::{Converger, Outcome},
    metrics::Metrics,
};

pub struct Consumer {
    pub config: Arc<WorkerConfig>,
    pub converger: Converger,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub metrics: Arc<Metrics>,
    /// True while a consumer is attached to the broker (readiness).
    pub consuming: Arc<AtomicBool>,
    /// Where the tenants to consume for are listed.
    pub tenants: TenantStore,
}

/// How often the worker looks for newly installed tenants. A new tenant's
/// first change waits at most this long; later ones flow at once.
const TENANT_SCAN: Duration = Duration::from_secs(1);

impl Consumer {
    /// Consumes until `stop`; reconnects after broker failures.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency));
        let mut backoff = Duration::from_millis(200);
        while !stop.is_cancelled() {
            match self.clone().consume(&permits, &stop).await {
                Ok(()) => break,
                Err(e) => {
                    self.consuming.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "consumer lost the broker; reconnecting");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        self.consuming.store(false, Ordering::Relaxed);
    }

    async fn consume(
        self: Arc<Self>,
        permits: &Arc<Semaphore>,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        let conn = Connection::connect(
            &self.config.common.amqp_url,
            ConnectionProperties::default(),
        )
        .await?;
        let ch = conn.create_channel().await?;
        self.topology.declare(&ch).await?;
        // Per-consumer prefetch (global: false): each tenant's queue gets its
        // own allowance, so a tenant with a backlog cannot take them all.
        ch.basic_qos(self.config.prefetch, BasicQosOptions { global: false })
            .await?;
        self.consuming.store(true, Ordering::Relaxed);
        // tenant id → (consumer tag, token that marks our own cancel)
        let mut consumers: HashMap<String, (String, CancellationToken)> = HashMap::new();
        let (err_tx, mut err_rx) = mpsc::channel::<anyhow::Error>(1);
        let mut scan = tokio::time::interval(TENANT_SCAN);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                _ = stop.cancelled() => break Ok(()),
                Some(e) = err_rx.recv() => break Err(e),
                _ = scan.tick() => {
                    if let Err(e) = self.follow_tenants(&ch, &mut consumers, permits, &err_tx).await {
                        break Err(e);
                    }
                }
            }
        };
        // Stop: no new deliveries, in-flight work finishes (or the grace
        // period runs out and the broker redelivers it).
        self.consuming.store(false, Ordering::Relaxed);
        for (tag, mine) in consumers.values() {
            mine.cancel();
            let _ = ch.basic_cancel(tag, BasicCancelOptions::default()).await;
        }
        if result.is_ok() {
            let all = self.config.concurrency as u32;
            if tokio::time::timeout(self.config.shutdown_grace, permits.acquire_many(all))
                .await
                .is_err()
            {
                tracing::warn!("grace period over; unfinished events return to the queue");
            }
        }
        // Prefetched but unstarted deliveries are requeued by the close.
        let _ = conn.close(200, "worker shutting down").await;
        result
    }

    /// Starts a consumer on the queue of every tenant not yet followed, and
    /// stops following tenants that were uninstalled.
    async fn follow_tenants(
        self: &Arc<Self>,
        ch: &lapin::Channel,
        consumers: &mut HashMap<String, (String, CancellationToken)>,
        permits: &Arc<Semaphore>,
        err_tx: &mpsc::Sender<anyhow::Error>,
    ) -> anyhow::Result<()> {
        let ids = match self.tenants.ids().await {
            Ok(ids) => ids,
            Err(e) => {
                // Redis briefly away: keep serving the tenants we follow.
                tracing::warn!(error = %e, "could not list tenants; keeping current consumers");
                return Ok(());
            }
        };
        for id in &ids {
            if consumers.contains_key(id) {
                continue;
            }
            self.topology.declare_tenant(ch, id).await?;
            let queue = self.topology.tenant_queue(id);
            let stream = ch
                .basic_consume(
                    &queue,
                    "",
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let mine = CancellationToken::new();
            consumers.insert(id.clone(), (stream.tag().to_string(), mine.clone()));
            tracing::info!(%queue, "consuming");
            tokio::spawn(
                self.clone()
                    .forward(stream, permits.clone(), err_tx.clone(), mine),
            );
        }
        let gone: Vec<String> = consumers
            .keys()
            .filter(|k| !ids.contains(k))
            .cloned()
            .collect();
        for id in gone {
            if let Some((tag, mine)) = consumers.remove(&id) {
                tracing::info!(tenant = %id, "tenant uninstalled; no longer consuming its queue");
                mine.cancel();
                let _ = ch.basic_cancel(&tag, BasicCancelOptions::default()).await;
            }
        }
        Ok(())
    }

    /// Hands one tenant queue's deliveries to the shared pool of
    /// `WORKER_CONCURRENCY` tasks. A stream that ends without our cancel
    /// means the connection broke: report it so everything reconnects.
    async fn forward(
        self: Arc<Self>,
        mut stream: lapin::Consumer,
        permits: Arc<Semaphore>,
        err_tx: mpsc::Sender<anyhow::Error>,
        mine: CancellationToken,
    ) {
        // This tenant's share of the process's slots: taken before a shared
        // slot, so a tenant that is busy (or sleeping on its API budget)
        // holds at most `tenant_concurrency` of them and never queues ahead
        // of other tenants for the rest.
        let mine_slots = Arc::new(Semaphore::new(
            self.config.tenant_concurrency.min(self.config.concurrency),
        ));
        while let Some(delivery) = stream.next().await {
            match delivery {
                Ok(d) => {
                    let Ok(own) = mine_slots.clone().acquire_owned().await else {
                        return;
                    };
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.process(d).await;
                        drop(permit);
                        drop(own);
                    });
                }
                Err(e) => {
                    let _ = err_tx.try_send(e.into());
                    return;
                }
            }
        }
        if !mine.is_cancelled() {
            let _ = err_tx.try_send(anyhow::anyhow!("consumer stream ended"));
        }
    }

    async fn process(&self, delivery: Delivery) {
        let started = Instant::now();
        let ev = match ChangeEvent::from_json(&delivery.data) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::error!(error = %e, "dropping unreadable event to the dead-letter queue");
                let raw = String::from_utf8_lossy(&delivery.data).into_owned();
                let id = uuid::Uuid::new_v4().to_string();
                let ok = self
                    .publisher
                    .publish(&self.topology.dead(), raw.as_bytes(), &id)
                    .await
                    .is_ok();
                self.metrics.dead_letter("unreadable");
                settle(&delivery, ok).await;
                return;
            }
        };
        // Every log line of this event carries the SCIM request's id, so a
        // change can be followed from ingress to worker.
        let span = tracing::info_span!("event", tenant = %ev.tenant, user = %ev.id, request_id = %ev.request_id, version = ev.version);
        let outcome = self.converger.handle(&ev).instrument(span).await;
        self.metrics.event(outcome.label(), started.elapsed());
        let settled = match outcome {
            Outcome::Applied | Outcome::Skipped(_) => true,
            Outcome::Park { after, reason } => {
                tracing::debug!(tenant = %ev.tenant, user = %ev.id, ?after, %reason, "parking event");
                self.park(&ev, after).await
            }
            Outcome::Retry { after, reason } if ev.attempt + 1 < self.config.max_attempts => {
                let mut next = ev.clone();
                next.attempt += 1;
                let delay = backoff_delay(next.attempt, after);
                tracing::warn!(tenant = %ev.tenant, user = %ev.id, attempt = next.attempt, ?delay, %reason, "retrying later");
                self.park(&next, delay).await
            }
            Outcome::Retry { reason, .. } => {
                self.dead_letter(
                    &ev,
                    "retries_exhausted",
                    format!("gave up after {} attempts: {reason}", ev.attempt + 1),
                )
                .await
            }
            Outcome::Dead { class, reason } => self.dead_letter(&ev, class, reason).await,
        };
        settle(&delivery, settled).await;
    }

    /// Puts the event on the smallest wait tier at least `after` long; it
    /// comes back to its tenant's queue when the tier's TTL expires.
    async fn park(&self, ev: &ChangeEvent, after: Duration) -> bool {
        self.publisher.publish_wait(after, ev).await.is_ok()
    }

    async fn dead_letter(&self, ev: &ChangeEvent, class: &str, reason: String) -> bool {
        tracing::error!(tenant = %ev.tenant, user = %ev.id, class, %reason, "dead-lettering change");
        self.metrics.dead_letter(class);
        let dl = DeadLetter {
            event: ev.clone(),
            class: class.to_string(),
            reason,
            at: chrono::Utc::now().to_rfc3339(),
        };
        let body = serde_json::to_vec(&dl).expect("dead letter serialises");
        // Each dead letter gets its own message id so one can be replayed.
        let id = uuid::Uuid::new_v4().to_string();
        self.publisher
            .publish(&self.topology.dead(), &body, &id)
            .await
            .is_ok()
    }
}

/// Ack when the outcome is durable; otherwise return the event to the queue.
async fn settle(delivery: &Delivery, ok: bool) {
    let r = if ok {
        delivery.ack(BasicAckOptions::default()).await
    } else {
        delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not settle delivery; the broker will redeliver it");
    }
}

/// Exponential backoff with full jitter, never shorter than `floor`
/// (e.g. Freshservice's Retry-After).
pub fn backoff_delay(attempt: u32, floor: Duration) -> Duration {
    let base = Duration::from_millis(500) * 2u32.saturating_pow(attempt.min(10));
    let jittered = base.mul_f64(rand::random::<f64>());
    jittered.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_the_floor() {
        for attempt in 0..12 {
            let d = backoff_delay(attempt, Duration::ZERO);
            assert!(
                d <= Duration::from_millis(500) * 2u32.pow(attempt.min(10)),
                "{attempt}: {d:?}"
            );
        }
        assert!(backoff_delay(1, Duration::from_secs(7)) >= Duration::from_secs(7));
    }
}
