//! The consumer loop: follows every tenant's queue (one consumer each, so
//! one tenant's backlog never holds up another's), pulls change events with
//! manual acks and bounded per-queue prefetch, converges up to `WORKER_CONCURRENCY` users at once, and acks
//! only once the outcome is durable (applied, parked on a wait queue, or
//! dead-lettered). A crash before the ack returns the event to the queue.
//!
//! A tenant that is held (its credentials were rejected, or an operator
//! paused it) is not consumed: its changes stay on its queue, and its
//! consumer starts again on the first scan that finds it active.
//!
//! Each tenant's consumer is independent: it has its own channel, and its
//! end (queue deleted at uninstall, consumer cancelled by the broker,
//! channel error) ends that consumer only; only a lost connection makes
//! every tenant reconnect. The queue of a tenant that is no longer in the
//! registry is never declared again, and the queues of uninstalled tenants
//! are deleted (again) by the follow loop.
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

use crate::config::WorkerConfig;
use futures_util::StreamExt;
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
        BasicQosOptions, QueueDeleteOptions,
    },
    types::FieldTable,
    Channel, Connection, ConnectionProperties,
};
use shared::{
    event::{ChangeEvent, DeadClass, DeadLetter},
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

/// How long after its uninstall a tenant's queue is still deleted on every
/// scan: long enough for any SCIM write authenticated before the uninstall
/// (bounded by the publish timeout) to have re-declared it.
const RETIRED_LINGER: Duration = Duration::from_secs(60);

/// One tenant queue being consumed, on a channel of its own.
struct Followed {
    tag: String,
    channel: Channel,
    /// Cancelled by us before we cancel the consumer, so its end is not
    /// reported as the broker's doing.
    mine: CancellationToken,
}

/// A tenant's consumer stream ended without our cancel.
struct Ended {
    tenant: String,
    tag: String,
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
        self.metrics.broker_connected();
        // Only a broken connection ends every consumer at once, so only it
        // makes everything reconnect.
        let (err_tx, mut err_rx) = mpsc::channel::<anyhow::Error>(1);
        {
            let err_tx = err_tx.clone();
            conn.on_error(move |e| {
                let _ = err_tx.try_send(e.into());
            });
        }
        // The control channel: topology and queue deletes. Each tenant's
        // consumer has a channel of its own (see `follow`).
        let mut ctl = conn.create_channel().await?;
        self.topology.declare(&ctl).await?;
        self.consuming.store(true, Ordering::Relaxed);
        let mut consumers: HashMap<String, Followed> = HashMap::new();
        let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Ended>();
        let mut scan = tokio::time::interval(TENANT_SCAN);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                _ = stop.cancelled() => break Ok(()),
                Some(e) = err_rx.recv() => break Err(e),
                Some(ended) = ended_rx.recv() => {
                    if !conn.status().connected() {
                        break Err(anyhow::anyhow!("broker connection lost"));
                    }
                    // Only this tenant's consumer ended (its queue was
                    // deleted, or the broker cancelled it): forget it; the
                    // next scan follows it again if it is still installed.
                    if consumers.get(&ended.tenant).is_some_and(|f| f.tag == ended.tag) {
                        consumers.remove(&ended.tenant);
                        self.metrics.consumer_ended("cancelled");
                        tracing::info!(tenant = %ended.tenant, "the broker ended the tenant's consumer; following it again on the next scan if it is still installed");
                    }
                }
                _ = scan.tick() => {
                    if !conn.status().connected() {
                        break Err(anyhow::anyhow!("broker connection lost"));
                    }
                    if let Err(e) = self.follow_tenants(&conn, &mut ctl, &mut consumers, permits, &ended_tx).await {
                        break Err(e);
                    }
                }
            }
        };
        // Stop: no new deliveries, in-flight work finishes (or the grace
        // period runs out and the broker redelivers it).
        self.consuming.store(false, Ordering::Relaxed);
        for f in consumers.values() {
            f.mine.cancel();
            let _ = f
                .channel
                .basic_cancel(&f.tag, BasicCancelOptions::default())
                .await;
        }
        if result.is_ok() {
            let all = self.config.concurrency as u32;
            let drained =
                tokio::time::timeout(self.config.shutdown_grace, permits.acquire_many(all)).await;
            // No slot for anything new from here on. Without this, the
            // slots taken back just above were free again at once, and the
            // tenants' forward loops started prefetched deliveries in the
            // moment before the process exited: leases left held for
            // `USER_LEASE_MS` and calls abandoned mid-way.
            permits.close();
            if drained.is_err() {
                tracing::warn!("grace period over; unfinished events return to the queue");
            }
        }
        // Prefetched but unstarted deliveries are requeued by the close.
        let _ = conn.close(200, "worker shutting down").await;
        result
    }

    /// Starts a consumer on the queue of every tenant not yet followed,
    /// stops following tenants that were uninstalled, and deletes the
    /// queues of uninstalled tenants. Fails only when the connection is
    /// gone; one tenant's trouble is logged and retried on the next scan.
    async fn follow_tenants(
        self: &Arc<Self>,
        conn: &Connection,
        ctl: &mut Channel,
        consumers: &mut HashMap<String, Followed>,
        permits: &Arc<Semaphore>,
        ended_tx: &mpsc::UnboundedSender<Ended>,
    ) -> anyhow::Result<()> {
        let ids = match self.tenants.ids().await {
            Ok(ids) => ids,
            Err(e) => {
                // Redis briefly away: keep serving the tenants we follow.
                self.metrics.redis_error();
                tracing::warn!(error = %e, "could not list tenants; keeping current consumers");
                return Ok(());
            }
        };
        // Held tenants (credentials rejected, paused by an operator) are not
        // consumed: their changes wait on their queue, and flow again within
        // a scan of the tenant becoming active.
        let held = match self.tenants.held(&ids).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the tenants' states; keeping current consumers");
                return Ok(());
            }
        };
        for id in &held {
            if let Some(f) = consumers.remove(id) {
                tracing::info!(tenant = %id, "tenant held (paused or credentials rejected); no longer consuming its queue until it is active");
                f.mine.cancel();
                let _ = f
                    .channel
                    .basic_cancel(&f.tag, BasicCancelOptions::default())
                    .await;
                self.metrics.consumer_ended("held");
            }
        }
        for id in &ids {
            if consumers.contains_key(id) || held.contains(id) {
                continue;
            }
            match self.follow(conn, id, permits, ended_tx).await {
                Ok(Some(f)) => {
                    consumers.insert(id.clone(), f);
                }
                Ok(None) => {}
                Err(e) if !conn.status().connected() => return Err(e),
                Err(e) => {
                    tracing::warn!(tenant = %id, error = %e, "could not consume the tenant's queue; trying again on the next scan");
                }
            }
        }
        if !ctl.status().connected() {
            // A channel error (not the connection) closed it: open another.
            *ctl = conn.create_channel().await?;
        }
        let gone: Vec<String> = consumers
            .keys()
            .filter(|k| !ids.contains(k))
            .cloned()
            .collect();
        for id in gone {
            if let Some(f) = consumers.remove(&id) {
                tracing::info!(tenant = %id, "tenant uninstalled; no longer consuming its queue");
                f.mine.cancel();
                let _ = f
                    .channel
                    .basic_cancel(&f.tag, BasicCancelOptions::default())
                    .await;
                self.metrics.consumer_ended("uninstalled");
                // Its series go now; in-flight deliveries settled later
                // do not bring them back (`metrics.rs`).
                self.metrics.forget_tenant(&id);
                // Its uninstall deletes the queue too; this catches a delete
                // that did not reach the broker.
                if let Err(e) = self.delete_queue(ctl, &id).await {
                    return self.tolerate(conn, e);
                }
            }
        }
        if let Err(e) = self.delete_retired(ctl).await {
            return self.tolerate(conn, e);
        }
        self.metrics.tenant_scan(consumers.len());
        Ok(())
    }

    /// A failed control-channel call ends the scan; it ends the connection
    /// (and so every consumer) only if the connection itself is gone. A
    /// closed control channel is reopened on the next scan.
    fn tolerate(&self, conn: &Connection, e: anyhow::Error) -> anyhow::Result<()> {
        if !conn.status().connected() {
            return Err(e);
        }
        tracing::warn!(error = %e, "could not delete an uninstalled tenant's queue; trying again on the next scan");
        Ok(())
    }

    /// Declares the tenant's queue and starts its consumer on a channel of
    /// its own, so that the queue's deletion, the broker cancelling the
    /// consumer or a channel error ends this tenant's consumer only.
    /// Returns `None` when the tenant is (or became) uninstalled: its
    /// queue is never declared again, or is deleted again at once.
    async fn follow(
        self: &Arc<Self>,
        conn: &Connection,
        id: &str,
        permits: &Arc<Semaphore>,
        ended_tx: &mpsc::UnboundedSender<Ended>,
    ) -> anyhow::Result<Option<Followed>> {
        // The tenant list is a scan old: an uninstall since then must not
        // get its queue back.
        if !self.tenants.is_installed(id).await? {
            return Ok(None);
        }
        let queue = self.topology.tenant_queue(id);
        let channel = conn.create_channel().await?;
        let started = async {
            // Per-consumer prefetch: each tenant's queue gets its own
            // allowance, so a tenant with a backlog cannot take them all.
            channel
                .basic_qos(self.config.prefetch, BasicQosOptions { global: false })
                .await?;
            self.topology.declare_tenant(&channel, id).await?;
            // An uninstall takes the tenant out of the registry, then deletes
            // its queue. Still listed now: that delete, if it comes, comes
            // after this declare. Not listed: the delete may have run before
            // the declare re-created the queue, so delete it here.
            if !self.tenants.is_installed(id).await? {
                channel
                    .queue_delete(&queue, QueueDeleteOptions::default())
                    .await?;
                tracing::info!(tenant = %id, "tenant uninstalled while its queue was declared; deleted the queue again");
                return Ok(None);
            }
            let stream = channel
                .basic_consume(
                    &queue,
                    "",
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, anyhow::Error>(Some(stream))
        }
        .await;
        let stream = match started {
            Ok(Some(stream)) => stream,
            other => {
                let _ = channel.close(200, "not consuming").await;
                return other.map(|_| None);
            }
        };
        let mine = CancellationToken::new();
        let tag = stream.tag().to_string();
        tracing::info!(%queue, "consuming");
        self.metrics.consumer_started();
        tokio::spawn(self.clone().forward(
            id.to_string(),
            stream,
            channel.clone(),
            permits.clone(),
            ended_tx.clone(),
            mine.clone(),
        ));
        Ok(Some(Followed { tag, channel, mine }))
    }

    /// Deletes an uninstalled tenant's queue (and the events in it).
    /// Deleting a queue that is not there succeeds.
    async fn delete_queue(&self, ctl: &Channel, id: &str) -> anyhow::Result<()> {
        ctl.queue_delete(
            &self.topology.tenant_queue(id),
            QueueDeleteOptions::default(),
        )
        .await?;
        Ok(())
    }

    /// Deletes the queues of the tenants the registry lists as retired
    /// (uninstalled): one the uninstall could not delete (the broker did not
    /// answer), or one a declare or publish racing the uninstall brought
    /// back. Each stays listed for `RETIRED_LINGER` after its uninstall,
    /// then is forgotten once its queue is deleted.
    async fn delete_retired(&self, ctl: &Channel) -> anyhow::Result<()> {
        let retired = match self.tenants.retired().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "could not list uninstalled tenants; deleting their queues later");
                return Ok(());
            }
        };
        let now = chrono::Utc::now().timestamp_millis();
        for (id, at) in retired {
            self.delete_queue(ctl, &id).await?;
            if now.saturating_sub(at) > RETIRED_LINGER.as_millis() as i64 {
                if let Err(e) = self.tenants.forget_retired(&id).await {
                    tracing::warn!(tenant = %id, error = %e, "could not forget an uninstalled tenant");
                }
            }
        }
        Ok(())
    }

    /// Hands one tenant queue's deliveries to the shared pool of
    /// `WORKER_CONCURRENCY` tasks. A stream that ends without our cancel
    /// (queue deleted, consumer cancelled by the broker, channel error) is
    /// reported as this tenant's alone; the connection's own failure is
    /// seen by `consume`. The channel is closed once this tenant's
    /// in-flight events are settled.
    async fn forward(
        self: Arc<Self>,
        tenant: String,
        mut stream: lapin::Consumer,
        channel: Channel,
        permits: Arc<Semaphore>,
        ended_tx: mpsc::UnboundedSender<Ended>,
        mine: CancellationToken,
    ) {
        // This tenant's share of the process's slots: taken before a shared
        // slot, so a tenant that is busy (or sleeping on its API budget)
        // holds at most `tenant_concurrency` of them and never queues ahead
        // of other tenants for the rest.
        let slots = self.config.tenant_concurrency.min(self.config.concurrency);
        let mine_slots = Arc::new(Semaphore::new(slots));
        let tag = stream.tag().to_string();
        while let Some(delivery) = stream.next().await {
            match delivery {
                Ok(d) => {
                    // Unacknowledged from now until settled (or returned
                    // to the queue when the channel closes).
                    let held = self.metrics.delivery(&tenant);
                    let Ok(own) = mine_slots.clone().acquire_owned().await else {
                        break;
                    };
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        break;
                    };
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.process(d).await;
                        drop(held);
                        drop(permit);
                        drop(own);
                    });
                }
                Err(e) => {
                    tracing::warn!(%tenant, error = %e, "the tenant's consumer failed");
                    break;
                }
            }
        }
        if !mine.is_cancelled() {
            let _ = ended_tx.send(Ended {
                tenant: tenant.clone(),
                tag,
            });
        }
        let _ = mine_slots.acquire_many(slots as u32).await;
        let _ = channel.close(200, "consumer ended").await;
        // Every delivery of this consumer is settled: a tenant uninstalled
        // meanwhile loses the series its last events brought back.
        if matches!(self.tenants.is_installed(&tenant).await, Ok(false)) {
            self.metrics.forget_tenant(&tenant);
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
                self.metrics.event("dead_lettered", started.elapsed());
                settle(&delivery, ok).await;
                return;
            }
        };
        // The SCIM request's id, from the message's `x-request-id` header
        // (the event's own field for events published before it existed):
        // every log line of this event carries it, the Freshservice calls'
        // included, so a change can be followed from ingress to worker.
        let request_id = shared::queue::request_id_of(&delivery.properties)
            .unwrap_or_else(|| ev.request_id.clone());
        let span = tracing::info_span!("event", tenant = %ev.tenant, kind = ev.kind.as_str(), user = %ev.id, request_id = %request_id, version = ev.version);
        let outcome = self.converger.handle(&ev).instrument(span.clone()).await;
        let exhausted =
            matches!(outcome, Outcome::Retry { .. }) && ev.attempt + 1 >= self.config.max_attempts;
        let label = if exhausted {
            "dead_lettered"
        } else {
            outcome.label()
        };
        self.metrics.event(label, started.elapsed());
        let settled = self.settle_outcome(&ev, outcome).instrument(span).await;
        settle(&delivery, settled).await;
    }

    /// Makes the outcome durable: parked, re-queued for a retry, or
    /// dead-lettered. False when that failed (the event goes back to the
    /// queue).
    async fn settle_outcome(&self, ev: &ChangeEvent, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Applied | Outcome::Skipped(_) => true,
            Outcome::Park { after, reason } => {
                tracing::debug!(tenant = %ev.tenant, user = %ev.id, ?after, %reason, "parking event");
                self.park(ev, after).await
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
                    ev,
                    DeadClass::RetriesExhausted,
                    format!("gave up after {} attempts: {reason}", ev.attempt + 1),
                )
                .await
            }
            Outcome::Dead { class, reason } => self.dead_letter(ev, class, reason).await,
        }
    }

    /// Puts the event on the smallest wait tier at least `after` long; it
    /// comes back to its tenant's queue when the tier's TTL expires.
    async fn park(&self, ev: &ChangeEvent, after: Duration) -> bool {
        self.publisher.publish_wait(after, ev).await.is_ok()
    }

    async fn dead_letter(&self, ev: &ChangeEvent, class: DeadClass, reason: String) -> bool {
        tracing::error!(tenant = %ev.tenant, kind = ev.kind.as_str(), user = %ev.id, class = %class, %reason, "dead-lettering change");
        self.metrics.dead_letter(class.as_str());
        let dl = DeadLetter {
            event: ev.clone(),
            class,
            reason,
            at: chrono::Utc::now().to_rfc3339(),
        };
        let Ok(body) = serde_json::to_vec(&dl) else {
            return false;
        };
        // Each dead letter gets its own message id so one can be replayed.
        let id = uuid::Uuid::new_v4().to_string();
        let published = self
            .publisher
            .publish(&self.topology.dead(), &body, &id)
            .await
            .is_ok();
        if published {
            // Failed now, no longer pending (`shared/src/pending.rs`).
            self.converger.dead_lettered(ev, dl.class.as_str()).await;
        }
        published
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
