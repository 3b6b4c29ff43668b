//! Publishing change events for stored writes, and the sweeper that
//! re-publishes any write whose event was not confirmed
//! (`docs/architecture.md` §3, invariant 1: a change that reached Redis but
//! whose event was lost is found again).

use std::{future::Future, sync::Arc, time::Duration};

use shared::{
    event::{ChangeEvent, ResourceKind},
    queue::Publisher,
    tenant::TenantStore,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::store::{GroupStore, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Publish(#[from] shared::queue::PublishError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the publish task failed: {0}")]
    Task(String),
}

/// Publishes the event for a user or group write and clears its outbox
/// entry (each kind has its own outbox zset, kept by its store).
#[derive(Clone)]
pub struct Outbox {
    publisher: Arc<Publisher>,
    users: UserStore,
    groups: GroupStore,
    /// The publish tasks of [`Outbox::publish_or_undo`], which outlive
    /// their request; [`Outbox::finish`] waits for them at shutdown.
    tasks: TaskTracker,
}

impl Outbox {
    pub fn new(publisher: Arc<Publisher>, users: UserStore, groups: GroupStore) -> Self {
        Self {
            publisher,
            users,
            groups,
            tasks: TaskTracker::new(),
        }
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Publishes with a broker confirm. The outbox entry is cleared only
    /// after the confirm; failing to clear it just means a harmless
    /// duplicate from the sweeper later.
    pub async fn publish(
        &self,
        kind: ResourceKind,
        tenant: &str,
        id: &str,
        version: u64,
        request_id: &str,
    ) -> Result<(), OutboxError> {
        let ev = ChangeEvent::of(kind, tenant, id, version, request_id);
        self.publisher.publish_change(&ev).await?;
        self.clear(&ev).await;
        Ok(())
    }

    /// Publishes the event of a write a SCIM request just stored, waiting
    /// for the broker until shortly before `deadline` (and at most
    /// `PUBLISH_CONFIRM_TIMEOUT_MS`), and runs `undo` if that fails, before
    /// answering. Both run in a task
    /// of their own: the request's deadline (`http/deadline.rs`) or a
    /// client hanging up drops the handler, and a drop between the publish
    /// and the undo would leave a 503'd change behind. Clearing the outbox
    /// entry happens after the answer: it is a Redis call, and a failure
    /// there only means a harmless duplicate from the sweeper.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_or_undo<U>(
        &self,
        kind: ResourceKind,
        tenant: &str,
        id: &str,
        version: u64,
        request_id: &str,
        deadline: tokio::time::Instant,
        undo: Option<U>,
    ) -> Result<(), OutboxError>
    where
        U: Future<Output = ()> + Send + 'static,
    {
        let ev = ChangeEvent::of(kind, tenant, id, version, request_id);
        let this = self.clone();
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.tasks.spawn(async move {
            // Three quarters of what is left; the rest is for the undo, so
            // the 503 normally comes after it, not before.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let limit = left * 3 / 4;
            match this.publisher.publish_change_within(&ev, limit).await {
                Ok(()) => {
                    let _ = answer.send(Ok(()));
                    this.clear(&ev).await;
                }
                Err(e) => {
                    if let Some(undo) = undo {
                        undo.await;
                    }
                    let _ = answer.send(Err(OutboxError::from(e)));
                }
            }
        });
        answered
            .await
            .unwrap_or_else(|e| Err(OutboxError::Task(e.to_string())))
    }

    /// At shutdown, once the HTTP server has drained: waits until
    /// `deadline` for the publish tasks still running (a confirm, an undo,
    /// the clearing of an outbox entry after its answer). Returns how many
    /// were left at the deadline; a write whose entry was not cleared is
    /// re-published by the next ingress's sweeper, a harmless duplicate.
    pub async fn finish(&self, deadline: tokio::time::Instant) -> usize {
        self.tasks.close();
        if tokio::time::timeout_at(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            return self.tasks.len();
        }
        0
    }

    async fn clear(&self, ev: &ChangeEvent) {
        let (tenant, id, version) = (ev.tenant.as_str(), ev.id.as_str(), ev.version);
        let done = match ev.kind {
            ResourceKind::User => self.users.confirm_published(tenant, id, version).await,
            ResourceKind::Group => self.groups.confirm_published(tenant, id, version).await,
        };
        if let Err(e) = done {
            tracing::warn!(tenant, id, kind = ?ev.kind, error = %e, "could not clear outbox entry; the sweeper will re-publish");
        }
    }

    /// One sweep over every tenant: re-publish writes older than `grace`
    /// that were never confirmed. Returns how many were re-published.
    pub async fn sweep_once(
        &self,
        tenants: &TenantStore,
        grace: Duration,
    ) -> Result<usize, OutboxError> {
        let cutoff = chrono::Utc::now().timestamp_millis() - grace.as_millis() as i64;
        let ids = tenants.ids().await.map_err(|e| match e {
            shared::tenant::TenantError::Redis(r) => OutboxError::Store(r.into()),
            other => OutboxError::Store(crate::store::StoreError::Corrupt(other.to_string())),
        })?;
        let mut n = 0;
        for tenant in ids {
            for (id, version) in self.users.unpublished(&tenant, cutoff, 500).await? {
                self.publish(ResourceKind::User, &tenant, &id, version, "sweeper")
                    .await?;
                n += 1;
            }
            for (id, version) in self.groups.unpublished(&tenant, cutoff, 500).await? {
                self.publish(ResourceKind::Group, &tenant, &id, version, "sweeper")
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Runs sweeps every `interval` until cancelled.
    pub async fn run_sweeper(
        self,
        tenants: TenantStore,
        interval: Duration,
        grace: Duration,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            match self.sweep_once(&tenants, grace).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(republished = n, "sweeper re-published unconfirmed changes")
                }
                Err(e) => tracing::warn!(error = %e, "sweep failed; will try again"),
            }
        }
    }
}
