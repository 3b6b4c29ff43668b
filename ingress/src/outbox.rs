//! Publishing change events for stored writes, and the sweeper that
//! re-publishes any write whose event was not confirmed (invariant 1: a
//! change that reached Redis but whose event was lost is found again).

use std::{sync::Arc, time::Duration};

use shared::{event::ChangeEvent, queue::Publisher, tenant::TenantStore};
use tokio_util::sync::CancellationToken;

use crate::store::UserStore;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Publish(#[from] shared::queue::PublishError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Publishes the event for a user write and clears its outbox entry.
#[derive(Clone)]
pub struct Outbox {
    publisher: Arc<Publisher>,
    users: UserStore,
}

impl Outbox {
    pub fn new(publisher: Arc<Publisher>, users: UserStore) -> Self {
        Self { publisher, users }
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Publishes with a broker confirm. The outbox entry is cleared only
    /// after the confirm; failing to clear it just means a harmless
    /// duplicate from the sweeper later.
    pub async fn publish_user(
        &self,
        tenant: &str,
        id: &str,
        version: u64,
        request_id: &str,
    ) -> Result<(), OutboxError> {
        let ev = ChangeEvent::user(tenant, id, version, request_id);
        self.publisher.publish_change(&ev).await?;
        if let Err(e) = self.users.confirm_published(tenant, id, version).await {
            tracing::warn!(tenant, user = id, error = %e, "could not clear outbox entry; the sweeper will re-publish");
        }
        Ok(())
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
                self.publish_user(&tenant, &id, version, "sweeper").await?;
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
