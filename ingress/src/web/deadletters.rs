//! Reading and replaying the dead-letter queue (`<prefix>.dead`) for the
//! status page.
//!
//! AMQP cannot read a queue without taking messages off it, and a nack
//! with requeue counts against a quorum queue's delivery limit. So, like
//! the worker's `dlq` commands, one walk takes each message that was on the
//! queue when it started exactly once and either keeps it (re-publishes it
//! to the tail with a confirm, then acks), replays it (publishes its event
//! to `changes` with attempt 0, then acks) or drops it (acks). A crash
//! midway can duplicate a dead letter, never lose one. Walks are
//! serialised in this process and a listing is reused for a few seconds,
//! since the page refreshes itself.

use std::time::{Duration, Instant};

use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::FieldTable,
    Connection, ConnectionProperties,
};
use shared::event::DeadLetter;
use tokio::sync::Mutex;

use crate::http::AppState;

/// Longest walk: a larger queue is read in turns (each walk moves what it
/// read to the tail).
const MAX_WALK: u32 = 2_000;

/// One dead letter of a tenant.
#[derive(Clone, Debug)]
pub struct Letter {
    pub message_id: String,
    pub letter: DeadLetter,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action<'a> {
    List,
    Replay {
        tenant: &'a str,
        message_id: &'a str,
    },
    PurgeTenant(&'a str),
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("message broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("could not re-publish: {0}")]
    Publish(#[from] shared::queue::PublishError),
}

/// Serialised access to the dead-letter queue, with a short-lived listing.
pub struct DeadLetters {
    ttl: Duration,
    cache: Mutex<Option<(Instant, Vec<Letter>)>>,
}

impl DeadLetters {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// The tenant's dead letters, newest first.
    pub async fn list(
        &self,
        state: &AppState,
        tenant: &str,
    ) -> Result<Vec<Letter>, DeadLetterError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.ttl);
        if !fresh {
            let all = walk(state, Action::List).await?;
            *cache = Some((Instant::now(), all));
        }
        let mut mine: Vec<Letter> = cache
            .as_ref()
            .map(|(_, all)| {
                all.iter()
                    .filter(|l| l.letter.event.tenant == tenant)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        mine.sort_by(|a, b| b.letter.at.cmp(&a.letter.at));
        Ok(mine)
    }

    /// Replays one dead letter of `tenant` (attempt 0 on `changes`) and
    /// removes it. Returns false if it is gone (or not the tenant's).
    pub async fn replay(
        &self,
        state: &AppState,
        tenant: &str,
        message_id: &str,
    ) -> Result<bool, DeadLetterError> {
        let mut cache = self.cache.lock().await;
        let done = walk(state, Action::Replay { tenant, message_id }).await?;
        *cache = None;
        if !done.is_empty() {
            // A replay usually follows a fix in Freshservice (a field, a
            // choice): the worker re-reads the account's fields.
            let key = state.tenants.keys().requester_fields(tenant);
            let _: Result<(), _> = redis::AsyncCommands::del(&mut state.redis.clone(), key).await;
        }
        Ok(!done.is_empty())
    }

    /// Drops every dead letter of an uninstalled tenant; returns how many.
    pub async fn purge_tenant(&self, state: &AppState, tenant: &str) -> usize {
        let mut cache = self.cache.lock().await;
        *cache = None;
        match walk(state, Action::PurgeTenant(tenant)).await {
            Ok(v) => v.len(),
            Err(e) => {
                tracing::warn!(tenant, error = %e, "could not remove the tenant's dead letters");
                0
            }
        }
    }
}

/// One pass over the queue. Returns the letters listed (List) or acted on.
async fn walk(state: &AppState, action: Action<'_>) -> Result<Vec<Letter>, DeadLetterError> {
    let publisher = state.outbox.publisher();
    let topology = publisher.topology().clone();
    let conn = Connection::connect(
        &state.config.common.amqp_url,
        ConnectionProperties::default(),
    )
    .await?;
    let result = async {
        let ch = conn.create_channel().await?;
        let q = match ch
            .queue_declare(
                &topology.dead(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
        {
            Ok(q) => q,
            // No dead-letter queue yet: nothing ever died.
            Err(_) => return Ok(vec![]),
        };
        let mut out = Vec::new();
        for _ in 0..q.message_count().min(MAX_WALK) {
            let Some(msg) = ch.basic_get(&topology.dead(), BasicGetOptions { no_ack: false }).await? else {
                break;
            };
            let message_id = msg
                .delivery
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default();
            let letter = serde_json::from_slice::<DeadLetter>(&msg.delivery.data).ok();
            let chosen = match (&letter, action) {
                (Some(l), Action::Replay { tenant, message_id: id }) => l.event.tenant == tenant && message_id == id,
                (Some(l), Action::PurgeTenant(tenant)) => l.event.tenant == tenant,
                _ => false,
            };
            match (chosen, action, &letter) {
                (true, Action::Replay { .. }, Some(l)) => {
                    let mut ev = l.event.clone();
                    ev.attempt = 0;
                    publisher.publish_change(&ev).await?;
                    tracing::info!(tenant = %ev.tenant, user = %ev.id, version = ev.version, "dead letter replayed from the status page");
                }
                (true, Action::PurgeTenant(_), _) => {}
                _ => {
                    publisher
                        .publish(&topology.dead(), &msg.delivery.data, &message_id)
                        .await?
                }
            }
            msg.delivery.ack(BasicAckOptions::default()).await?;
            if let Some(l) = letter {
                if chosen || action == Action::List {
                    out.push(Letter { message_id, letter: l });
                }
            }
        }
        Ok::<_, DeadLetterError>(out)
    }
    .await;
    let _ = conn.close(200, "dead-letter walk done").await;
    result
}
