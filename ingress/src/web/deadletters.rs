//! Reading and replaying the dead-letter queue (`<prefix>.dead`) for the
//! status page and uninstall, over [`shared::queue::deadletters`] (which
//! walks the queue and explains why it re-publishes rather than requeues).
//! Walks are serialised in this process and a listing is reused for a few
//! seconds, since the page refreshes itself; a missing queue means no dead
//! letters, and a walk reads at most [`MAX_WALK`] messages.

use std::time::{Duration, Instant};

use shared::{
    event::DeadLetter,
    queue::deadletters::{DeadLetterQueue, Entry, Selector},
};
use tokio::sync::Mutex;

use crate::state::Backend;

pub use shared::queue::DeadLetterError;

/// Longest walk: a larger queue is read in turns (each walk moves what it
/// read to the tail).
const MAX_WALK: u32 = 2_000;

/// One dead letter of a tenant.
#[derive(Clone, Debug)]
pub struct Letter {
    pub message_id: String,
    pub letter: DeadLetter,
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
        state: &Backend,
        tenant: &str,
    ) -> Result<Vec<Letter>, DeadLetterError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.ttl);
        if !fresh {
            let all = queue(state)
                .list(&Selector::All)
                .await?
                .into_iter()
                .filter_map(readable)
                .collect();
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
        state: &Backend,
        tenant: &str,
        message_id: &str,
    ) -> Result<bool, DeadLetterError> {
        let mut cache = self.cache.lock().await;
        let sel = Selector::TenantId {
            tenant: tenant.to_string(),
            message_id: message_id.to_string(),
        };
        let done: Vec<Letter> = queue(state)
            .replay(&sel)
            .await?
            .into_iter()
            .filter_map(readable)
            .collect();
        *cache = None;
        for l in &done {
            let ev = &l.letter.event;
            tracing::info!(tenant = %ev.tenant, user = %ev.id, version = ev.version, "dead letter replayed from the status page");
        }
        if !done.is_empty() {
            // A replay usually follows a fix in Freshservice (a field, a
            // choice): the worker re-reads the account's fields.
            let key = state.tenants.keys().requester_fields(tenant);
            let _: Result<(), _> = redis::AsyncCommands::del(&mut state.redis.clone(), key).await;
        }
        Ok(!done.is_empty())
    }

    /// Drops every dead letter of an uninstalled tenant; returns how many.
    pub async fn purge_tenant(&self, state: &Backend, tenant: &str) -> usize {
        let mut cache = self.cache.lock().await;
        *cache = None;
        match queue(state)
            .purge(&Selector::Tenant(tenant.to_string()))
            .await
        {
            Ok(v) => v.len(),
            Err(e) => {
                tracing::warn!(tenant, error = %e, "could not remove the tenant's dead letters");
                0
            }
        }
    }
}

fn queue(state: &Backend) -> DeadLetterQueue<'_> {
    DeadLetterQueue::new(&state.config.common.amqp_url, state.outbox.publisher()).max_walk(MAX_WALK)
}

/// Only readable dead letters are shown (and replayed or purged).
fn readable(e: Entry) -> Option<Letter> {
    e.letter.map(|letter| Letter {
        message_id: e.message_id,
        letter,
    })
}
