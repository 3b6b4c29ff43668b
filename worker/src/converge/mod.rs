//! Converging one user: an event is only a trigger; the worker takes the
//! user's lease, reads the latest desired state from Redis and makes
//! Freshservice match it with the fewest calls (`docs/architecture.md` §3,
//! invariants 3 and 4), then records the applied version, snapshot and
//! requester id (fenced).
//!
//! This file is the entry point: the checks before the lease, loading the
//! desired state, and settling the outcome. The rest:
//! - `machine.rs`: the create / adopt / link decisions (pure), and
//!   `run.rs`, which makes their calls;
//! - `failure.rs`: what the consumer must do with each failure (pure);
//! - `plan.rs`, `desired.rs`: the desired body and the fields to send;
//! - `resolve.rs`: the department and manager a user names, and waking the
//!   users who wait for a manager;
//! - `api.rs`: every Freshservice call, inside the tenant's budget;
//! - `record.rs`: the fenced sync-status writes;
//! - `group.rs` (and `group/`): converging a SCIM group onto a requester
//!   group, and waking a user's groups when its requester changes.

pub(crate) mod api;
mod desired;
mod failure;
mod group;
mod machine;
mod plan;
pub mod record;
mod resolve;
mod run;

use std::{collections::HashMap, sync::Arc};

use crate::config::{DeleteMode, WorkerConfig};
use redis::{aio::ConnectionManager, AsyncCommands};
use serde_json::Value;
use shared::{
    event::{ChangeEvent, DeadClass, ResourceKind},
    freshservice::{client, Budget, Call, FsClient},
    keys::Keys,
    queue::Publisher,
    records::settings::TenantSettings,
    tenant::{Tenant, TenantState, TenantStore},
};

use crate::{
    lease::{Lease, Leases},
    metrics::Metrics,
};
use api::{Halt, TenantApi};
pub use failure::Outcome;
use failure::{tenant_err, BUSY_WAIT};
use group::GroupSyncStore;
use record::SyncStore;
use run::Run;

#[derive(Clone)]
pub struct Converger {
    inner: Arc<Inner>,
}

struct Inner {
    redis: ConnectionManager,
    keys: Keys,
    tenants: TenantStore,
    http: reqwest::Client,
    config: Arc<WorkerConfig>,
    budget: Budget,
    leases: Leases,
    sync: SyncStore,
    group_sync: GroupSyncStore,
    metrics: Arc<Metrics>,
    /// For waking the users who wait for a manager (`resolve.rs`) and the
    /// groups of a user whose requester changed (`group/wake.rs`).
    publisher: Arc<Publisher>,
    /// One requester-fields fetch at a time per tenant and process, so a
    /// burst of events for a cold tenant costs one call, not one per task.
    /// Per tenant: with one lock for the process, ten cold tenants fetched
    /// one after the other and the others' events held their slots
    /// meanwhile (a worker starting on a backlog ran at a quarter of its
    /// slots for ten call latencies, `deploy/bench/scale`), and a tenant
    /// whose Freshservice hung held up every other cold tenant.
    fields_fetch: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Converger {
    pub fn new(
        redis: ConnectionManager,
        tenants: TenantStore,
        config: Arc<WorkerConfig>,
        metrics: Arc<Metrics>,
        publisher: Arc<Publisher>,
    ) -> Self {
        let keys = Keys::new(config.common.key_prefix.clone());
        Self {
            inner: Arc::new(Inner {
                http: client::http_client(config.request_timeout),
                budget: Budget::new(redis.clone(), keys.clone(), config.rate_window),
                leases: Leases::new(redis.clone(), keys.clone(), config.lease_ttl),
                sync: SyncStore::new(redis.clone(), keys.clone()),
                group_sync: GroupSyncStore::new(redis.clone(), keys.clone()),
                keys,
                redis,
                tenants,
                config,
                metrics,
                publisher,
                fields_fetch: Default::default(),
            }),
        }
    }

    /// Handles one event; never panics, every failure becomes an outcome.
    pub async fn handle(&self, ev: &ChangeEvent) -> Outcome {
        let outcome = match self.inner.try_handle(ev).await {
            Ok(o) => o,
            Err(halt) => self.inner.settle_halt(ev, halt).await,
        };
        self.inner.note(ev, &outcome).await;
        outcome
    }

    /// The consumer put `ev` on the dead-letter queue: the resource is
    /// failed (`class`) and no longer pending (`shared/src/pending.rs`),
    /// unless a newer write was accepted meanwhile.
    pub async fn dead_lettered(&self, ev: &ChangeEvent, class: &str) {
        let (t, id, v) = (&ev.tenant, &ev.id, ev.version);
        let res = match ev.kind {
            ResourceKind::User => self.inner.sync.dead_lettered(t, id, v, class).await,
            ResourceKind::Group => self.inner.group_sync.dead_lettered(t, id, v, class).await,
        };
        if let Err(e) = res {
            self.inner.metrics.redis_error();
            tracing::warn!(error = %e, "could not mark the dead-lettered change as failed");
        }
    }
}

impl Inner {
    async fn try_handle(&self, ev: &ChangeEvent) -> Result<Outcome, Halt> {
        if ev.kind == ResourceKind::Group {
            return group::handle(self, ev).await;
        }
        // Cheap check first: a duplicate or old event costs one Redis read.
        // A user waiting for a manager is worth another look at any version.
        let (applied, waiting) = self.sync.applied_version(&ev.tenant, &ev.id).await?;
        if applied.is_some_and(|a| a >= ev.version) && !waiting {
            return Ok(Outcome::Skipped("already applied"));
        }
        let tenant = match self.admit(ev).await? {
            Ok(t) => t,
            Err(outcome) => return Ok(outcome),
        };
        let Some(lease) = self.leases.acquire(&ev.tenant, &ev.id).await? else {
            return Ok(Outcome::Park {
                after: BUSY_WAIT,
                reason: "another worker is converging this user".into(),
            });
        };
        let result = self.converge(ev, &tenant, &lease).await;
        self.leases.release(&lease).await;
        result
    }

    async fn converge(
        &self,
        ev: &ChangeEvent,
        tenant: &Tenant,
        lease: &Lease,
    ) -> Result<Outcome, Halt> {
        let mut r = self.redis.clone();
        let h: HashMap<String, String> = r.hgetall(self.keys.user(&ev.tenant, &ev.id)).await?;
        let stored = match desired::Stored::from_hash(&h) {
            Ok(Some(s)) => s,
            Ok(None) => {
                // Gone for good (a create undone): nothing of it is pending.
                shared::pending::forget(&mut r, &self.keys, ResourceKind::User, &ev.tenant, &ev.id)
                    .await?;
                return Ok(Outcome::Skipped("user no longer exists"));
            }
            Err(e) => {
                return Err(Halt::Dead {
                    class: DeadClass::CorruptState,
                    reason: format!("stored SCIM user is unreadable: {e}"),
                })
            }
        };
        let applied = self.sync.applied(&ev.tenant, &ev.id).await?;
        if applied.version.is_some_and(|a| a >= stored.version) && applied.waiting_for.is_none() {
            return Ok(Outcome::Skipped("already applied"));
        }
        let mut r = self.redis.clone();
        let settings = match TenantSettings::load(&mut r, &self.keys, &ev.tenant).await? {
            Ok(s) => s,
            Err(e) => {
                return Err(Halt::Dead {
                    class: DeadClass::CorruptState,
                    reason: format!("the tenant's settings are unreadable: {e}"),
                })
            }
        };
        let api = self.tenant_api(tenant, lease)?;
        let fields = self.requester_fields(&api).await?;
        // Fields are not pushed onto a requester being deactivated
        // (`plan.rs`), so what its department and manager name is moot.
        let refs = if stored.deleted || !shared::mapping::desired_active(&stored.doc) {
            shared::mapping::Refs::default()
        } else {
            shared::mapping::Refs::of(&stored.doc)
        };
        let lookup = resolve::Resolver {
            inner: self,
            api: &api,
            settings: &settings.mapping,
        }
        .resolve(&ev.id, &refs)
        .await?;
        let desired = desired::desired(&stored, &ev.id, &fields, &settings.mapping, lookup)
            .map_err(|e| Halt::Dead {
                class: DeadClass::Mapping,
                reason: e.to_string(),
            })?;
        let run = Run {
            inner: self,
            api,
            ev,
            lease,
            desired,
            applied,
            forget_on_delete: settings.on_delete.unwrap_or(self.config.delete_mode)
                == DeleteMode::Forget,
        };
        run.apply().await
    }

    /// The event's tenant, or what to do with an event it cannot have: the
    /// tenant was uninstalled, or is held (credentials rejected, or paused
    /// by an operator): no Freshservice call, the event is kept.
    async fn admit(&self, ev: &ChangeEvent) -> Result<Result<Tenant, Outcome>, Halt> {
        let Some(tenant) = self.tenants.get(&ev.tenant).await.map_err(tenant_err)? else {
            return Ok(Err(Outcome::Skipped("tenant uninstalled")));
        };
        if tenant.state != TenantState::Active {
            return Ok(Err(failure::tenant_held(
                &tenant.state,
                tenant.state_reason.as_deref(),
            )));
        }
        Ok(Ok(tenant))
    }

    /// The tenant's account inside its shared budget, for the holder of
    /// `lease` (each call renews it).
    fn tenant_api<'a>(
        &'a self,
        tenant: &'a Tenant,
        lease: &'a Lease,
    ) -> Result<TenantApi<'a>, Halt> {
        Ok(TenantApi {
            client: FsClient::for_domain(
                self.http.clone(),
                &self.config.common.freshservice_url_template,
                &tenant.domain,
                self.tenants.api_key(tenant).map_err(tenant_err)?,
            ),
            budget: &self.budget,
            metrics: &self.metrics,
            tenant: &tenant.id,
            limit: tenant
                .rate_limit_per_min
                .unwrap_or(self.config.default_rate_limit),
            lease: Some(lease),
            inline_wait: self.config.budget_inline_wait,
        })
    }

    /// The account's requester fields, cached per tenant in Redis.
    async fn requester_fields(&self, api: &TenantApi<'_>) -> Result<Value, Halt> {
        let key = self.keys.requester_fields(api.tenant);
        let mut r = self.redis.clone();
        if let Some(cached) = r.get::<_, Option<String>>(&key).await? {
            return Ok(serde_json::from_str(&cached).unwrap_or(Value::Null));
        }
        let lock = {
            let mut locks = self
                .fields_fetch
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            locks.entry(api.tenant.to_string()).or_default().clone()
        };
        let _one = lock.lock().await;
        if let Some(cached) = r.get::<_, Option<String>>(&key).await? {
            return Ok(serde_json::from_str(&cached).unwrap_or(Value::Null));
        }
        let value = match api.call(Call::requester_fields()).await {
            Ok(a) => serde_json::from_str(&a.text).unwrap_or(Value::Null),
            // An account whose fields cannot be read still gets its users:
            // the mapping falls back to the documented defaults.
            Err(h) if failure::fields_unreadable(&h) => {
                tracing::warn!(tenant = api.tenant, error = %h, "requester fields unreadable; using defaults");
                Value::Null
            }
            Err(h) => return Err(h),
        };
        let ttl = self.config.requester_fields_ttl.as_millis().max(1) as u64;
        let _: () = r
            .set_options(
                &key,
                value.to_string(),
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(ttl)),
            )
            .await?;
        Ok(value)
    }

    /// Turns a halt into an outcome, with the side effects it calls for.
    async fn settle_halt(&self, ev: &ChangeEvent, halt: Halt) -> Outcome {
        if matches!(halt, Halt::Redis(_)) {
            self.metrics.redis_error();
        }
        let settled = failure::settle(halt);
        if let Some(reason) = settled.pause_tenant {
            if let Err(e) = self.tenants.reject_credentials(&ev.tenant, &reason).await {
                tracing::error!(tenant = %ev.tenant, error = %e, "could not mark the tenant's credentials as rejected");
            }
            tracing::error!(tenant = %ev.tenant, %reason, "Freshservice rejected the API key; tenant held until its API key is replaced");
        }
        settled.outcome
    }

    /// Keeps the user's (or group's) sync status in step with what happened.
    async fn note(&self, ev: &ChangeEvent, outcome: &Outcome) {
        let (reason, dead) = match outcome {
            Outcome::Retry { reason, .. } => (reason, None),
            Outcome::Dead { class, reason } => (reason, Some(class.as_str())),
            _ => return,
        };
        let (t, id, attempts) = (&ev.tenant, &ev.id, ev.attempt + 1);
        let res = match ev.kind {
            ResourceKind::User => self.sync.failure(t, id, reason, attempts, dead).await,
            ResourceKind::Group => self.group_sync.failure(t, id, reason, attempts, dead).await,
        };
        if let Err(e) = res {
            self.metrics.redis_error();
            tracing::warn!(error = %e, "could not update the sync status");
        }
    }
}
