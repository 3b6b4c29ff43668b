//! The consumer loop: pulls change events with manual acks and bounded
//! prefetch, converges up to `WORKER_CONCURRENCY` users at once, and acks
//! only once the outcome is durable (applied, parked on a wait queue, or
//! dead-lettered). A crash before the ack returns the event to the queue.
//!
//! On stop it cancels the consumer first (no new deliveries), lets in-flight
//! events finish within the grace period, and only then closes the
//! connection, so their acks still reach the broker.

use std::{
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
};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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
}

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
        ch.basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = ch
            .basic_consume(
                &self.topology.changes(),
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let tag = deliveries.tag().to_string();
        self.consuming.store(true, Ordering::Relaxed);
        tracing::info!(queue = %self.topology.changes(), "consuming");
        loop {
            let delivery = tokio::select! {
                _ = stop.cancelled() => break,
                d = deliveries.next() => d,
            };
            let delivery = match delivery {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Err(e.into()),
                None => anyhow::bail!("consumer stream ended"),
            };
            let permit = permits.clone().acquire_owned().await?;
            let me = self.clone();
            tokio::spawn(async move {
                me.process(delivery).await;
                drop(permit);
            });
        }
        // Graceful stop: no new deliveries, in-flight work finishes (or the
        // grace period runs out and the broker redelivers it).
        self.consuming.store(false, Ordering::Relaxed);
        let _ = ch.basic_cancel(&tag, BasicCancelOptions::default()).await;
        let all = self.config.concurrency as u32;
        if tokio::time::timeout(self.config.shutdown_grace, permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("grace period over; unfinished events return to the queue");
        }
        // Prefetched but unstarted deliveries are requeued by the close.
        let _ = conn.close(200, "worker shutting down").await;
        Ok(())
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
        let outcome = self.converger.handle(&ev).await;
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
    /// comes back to `changes` when the tier's TTL expires.
    async fn park(&self, ev: &ChangeEvent, after: Duration) -> bool {
        let q = self.topology.wait(Topology::tier_for(after));
        self.publisher
            .publish(&q, &ev.to_json(), &ev.request_id)
            .await
            .is_ok()
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
