//! Converging one user: an event is only a trigger; the worker takes the
//! user's lease, reads the latest desired state from Redis and makes
//! Freshservice match it with the fewest calls (invariants 3 and 4), then
//! records the applied version, snapshot and requester id (fenced).

pub mod api;
pub mod desired;
pub mod plan;
pub mod record;

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::config::{DeleteMode, WorkerConfig};
use redis::{aio::ConnectionManager, AsyncCommands};
use serde_json::{Map, Value};
use shared::{
    event::{ChangeEvent, DeadClass, ResourceKind},
    freshservice::{client, Budget, Call, FsClient, FsError, Requester},
    keys::Keys,
    queue::topology::WAIT_TIERS,
    tenant::{Tenant, TenantState, TenantStore},
};

use crate::{
    lease::{Lease, Leases},
    metrics::Metrics,
};
use api::{Halt, TenantApi};
use plan::{Desired, Known};
use record::{Applied, SyncStore, Written};

/// What the consumer should do with the event after handling it.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Freshservice now matches the desired version.
    Applied,
    /// Nothing to do (older than what was applied, or user gone).
    Skipped(&'static str),
    /// Not a failure: wait at least `after` (budget, pause, busy user,
    /// rejected credentials), then handle the same event again.
    Park { after: Duration, reason: String },
    /// A failure worth another try (after at least `after`).
    Retry { after: Duration, reason: String },
    /// Give up: dead-letter with the reason.
    Dead { class: DeadClass, reason: String },
}

impl Outcome {
    /// Label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Skipped(_) => "skipped",
            Outcome::Park { .. } => "parked",
            Outcome::Retry { .. } => "retry",
            Outcome::Dead { .. } => "dead",
        }
    }
}

/// How long a busy user's event waits before it looks again.
const BUSY_WAIT: Duration = Duration::from_secs(1);

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
    metrics: Arc<Metrics>,
    /// One requester-fields fetch at a time per process, so a burst of
    /// events for a cold tenant costs one call, not one per task.
    fields_fetch: tokio::sync::Mutex<()>,
}

impl Converger {
    pub fn new(
        redis: ConnectionManager,
        tenants: TenantStore,
        config: Arc<WorkerConfig>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let keys = Keys::new(config.common.key_prefix.clone());
        Self {
            inner: Arc::new(Inner {
                http: client::http_client(config.request_timeout),
                budget: Budget::new(redis.clone(), keys.clone(), config.rate_window),
                leases: Leases::new(redis.clone(), keys.clone(), config.lease_ttl),
                sync: SyncStore::new(redis.clone(), keys.clone()),
                keys,
                redis,
                tenants,
                config,
                metrics,
                fields_fetch: tokio::sync::Mutex::new(()),
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
}

impl Inner {
    async fn try_handle(&self, ev: &ChangeEvent) -> Result<Outcome, Halt> {
        if ev.kind != ResourceKind::User {
            return Ok(Outcome::Skipped("groups are not pushed yet"));
        }
        // Cheap check first: a duplicate or old event costs one Redis read.
        if self
            .sync
            .applied_version(&ev.tenant, &ev.id)
            .await?
            .is_some_and(|a| a >= ev.version)
        {
            return Ok(Outcome::Skipped("already applied"));
        }
        let Some(tenant) = self.tenants.get(&ev.tenant).await.map_err(tenant_err)? else {
            return Ok(Outcome::Skipped("tenant uninstalled"));
        };
        if tenant.state == TenantState::CredentialsRejected {
            return Ok(Outcome::Park {
                after: longest_tier(),
                reason: format!(
                    "tenant paused: Freshservice rejected its API key ({}); re-install to resume",
                    tenant
                        .state_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ),
            });
        }
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
            Ok(None) => return Ok(Outcome::Skipped("user no longer exists")),
            Err(e) => {
                return Err(Halt::Dead {
                    class: DeadClass::CorruptState,
                    reason: format!("stored SCIM user is unreadable: {e}"),
                })
            }
        };
        let applied = self.sync.applied(&ev.tenant, &ev.id).await?;
        if applied.version.is_some_and(|a| a >= stored.version) {
            return Ok(Outcome::Skipped("already applied"));
        }
        let api = TenantApi {
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
            lease,
            inline_wait: self.config.budget_inline_wait,
        };
        let fields = self.requester_fields(&api).await?;
        let desired = desired::desired(&stored, &fields).map_err(|e| Halt::Dead {
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
        };
        run.apply().await
    }

    /// The account's requester fields, cached per tenant in Redis.
    async fn requester_fields(&self, api: &TenantApi<'_>) -> Result<Value, Halt> {
        let key = self.keys.requester_fields(api.tenant);
        let mut r = self.redis.clone();
        if let Some(cached) = r.get::<_, Option<String>>(&key).await? {
            return Ok(serde_json::from_str(&cached).unwrap_or(Value::Null));
        }
        let _one = self.fields_fetch.lock().await;
        if let Some(cached) = r.get::<_, Option<String>>(&key).await? {
            return Ok(serde_json::from_str(&cached).unwrap_or(Value::Null));
        }
        let value = match api.call(Call::requester_fields()).await {
            Ok(a) => serde_json::from_str(&a.text).unwrap_or(Value::Null),
            // An account whose fields cannot be read still gets its users:
            // the mapping falls back to the documented defaults.
            Err(Halt::Fs(e @ (FsError::NotFound | FsError::Permanent { .. }))) => {
                tracing::warn!(tenant = api.tenant, error = %e, "requester fields unreadable; using defaults");
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
        match halt {
            Halt::Park { after, reason } => Outcome::Park { after, reason },
            Halt::LeaseLost => Outcome::Park {
                after: BUSY_WAIT,
                reason: "lost the user's lease to another worker".into(),
            },
            Halt::Redis(e) => Outcome::Retry {
                after: Duration::ZERO,
                reason: format!("state store unavailable: {e}"),
            },
            Halt::Dead { class, reason } => Outcome::Dead { class, reason },
            Halt::Fs(FsError::Credentials { status, body }) => {
                let reason = format!("Freshservice answered {status}: {body}");
                if let Err(e) = self
                    .tenants
                    .set_state(&ev.tenant, TenantState::CredentialsRejected, Some(&reason))
                    .await
                {
                    tracing::error!(tenant = %ev.tenant, error = %e, "could not mark the tenant's credentials as rejected");
                }
                tracing::error!(tenant = %ev.tenant, %reason, "Freshservice rejected the API key; tenant paused until re-installed");
                Outcome::Park {
                    after: longest_tier(),
                    reason: format!("tenant paused: {reason}"),
                }
            }
            Halt::Fs(FsError::RateLimited { retry_after }) => Outcome::Park {
                after: retry_after,
                reason: "Freshservice answered 429".into(),
            },
            Halt::Fs(e @ FsError::Retryable { .. }) => Outcome::Retry {
                after: Duration::ZERO,
                reason: e.to_string(),
            },
            Halt::Fs(FsError::Permanent { status, body }) => Outcome::Dead {
                class: DeadClass::Permanent,
                reason: format!("Freshservice refused the change ({status}): {body}"),
            },
            Halt::Fs(e @ FsError::Redirected { .. }) => Outcome::Dead {
                class: DeadClass::Permanent,
                reason: e.to_string(),
            },
            Halt::Fs(FsError::DuplicateEmail { body }) => Outcome::Dead {
                class: DeadClass::Permanent,
                reason: format!("the email is already used by another Freshservice user: {body}"),
            },
            Halt::Fs(FsError::NotFound) => Outcome::Retry {
                after: Duration::ZERO,
                reason: "Freshservice answered 404 for the requester".into(),
            },
        }
    }

    /// Keeps the user's sync status in step with what happened.
    async fn note(&self, ev: &ChangeEvent, outcome: &Outcome) {
        let res = match outcome {
            Outcome::Retry { reason, .. } => {
                self.sync
                    .failure(&ev.tenant, &ev.id, reason, ev.attempt + 1, None)
                    .await
            }
            Outcome::Dead { class, reason } => {
                self.sync
                    .failure(
                        &ev.tenant,
                        &ev.id,
                        reason,
                        ev.attempt + 1,
                        Some(class.as_str()),
                    )
                    .await
            }
            _ => Ok(()),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not update the user's sync status");
        }
    }
}

fn tenant_err(e: shared::tenant::TenantError) -> Halt {
    match e {
        shared::tenant::TenantError::Redis(e) => Halt::Redis(e),
        other => Halt::Dead {
            class: DeadClass::Tenant,
            reason: other.to_string(),
        },
    }
}

fn longest_tier() -> Duration {
    WAIT_TIERS[WAIT_TIERS.len() - 1]
}

/// One convergence in progress (lease held).
struct Run<'a> {
    inner: &'a Inner,
    api: TenantApi<'a>,
    ev: &'a ChangeEvent,
    lease: &'a Lease,
    desired: Desired,
    applied: Applied,
}

impl Run<'_> {
    fn tenant(&self) -> &str {
        &self.ev.tenant
    }

    async fn apply(mut self) -> Result<Outcome, Halt> {
        if let Some(rid) = self.applied.requester_id {
            match self.apply_known(rid).await {
                Err(Halt::Fs(FsError::NotFound)) => {
                    // Deleted in Freshservice by hand: forget the link and
                    // find (or make) the requester again by email.
                    tracing::warn!(tenant = self.tenant(), user = %self.ev.id, rid, "mapped requester is gone; relinking by email");
                    self.inner
                        .sync
                        .unlink(self.tenant(), &self.ev.id, rid)
                        .await?;
                    self.applied.requester_id = None;
                    self.applied.snapshot = None;
                    self.applied.active = None;
                }
                other => return other,
            }
        }
        self.apply_unmapped().await
    }

    async fn apply_known(&self, rid: u64) -> Result<Outcome, Halt> {
        let forget = self.inner.config.delete_mode == DeleteMode::Forget;
        match plan::plan_known(
            &self.desired,
            self.applied.snapshot.as_ref(),
            self.applied.active,
            forget,
        ) {
            Known::Forget => {
                match self.api.call(Call::forget(rid)).await {
                    Ok(_) | Err(Halt::Fs(FsError::NotFound)) => {}
                    Err(h) => return Err(h),
                }
                self.finish(None, None, false).await
            }
            Known::Deactivate { call } => {
                if call {
                    match self.api.call(Call::deactivate(rid)).await {
                        Ok(_) | Err(Halt::Fs(FsError::NotFound)) => {}
                        Err(h) => return Err(h),
                    }
                }
                self.finish(Some(rid), self.applied.snapshot.as_ref(), false)
                    .await
            }
            Known::Update {
                reactivate,
                changes,
            } => {
                if reactivate {
                    match self.api.call(Call::reactivate(rid)).await {
                        Ok(_) => {}
                        // What Freshservice answers for reactivating an
                        // active requester is undocumented (a retry after a
                        // reactivate whose record was lost does it): if the
                        // requester is active, the goal is met.
                        Err(Halt::Fs(
                            e @ (FsError::Permanent { .. } | FsError::DuplicateEmail { .. }),
                        )) => {
                            let now = self.api.call(Call::get(rid)).await?;
                            let req = client::parse_requester(&now.text).map_err(Halt::Fs)?;
                            if req.active != Some(true) {
                                return Err(Halt::Fs(e));
                            }
                        }
                        Err(h) => return Err(h),
                    }
                }
                if !changes.is_empty() {
                    self.api.call(Call::update(rid, changes)).await?;
                }
                self.finish(Some(rid), Some(&self.desired.body), true).await
            }
        }
    }

    /// No requester linked: heal by email when something was applied
    /// before (Redis restored), otherwise create directly.
    async fn apply_unmapped(&self) -> Result<Outcome, Halt> {
        let healing = self.applied.version.is_some();
        if !self.desired.active {
            // Nothing to deactivate unless a requester exists already. Look
            // even when nothing was applied: an earlier try may have created
            // one and died before linking it (kill -9 between the POST and
            // the record), and that requester must not stay active.
            if let Some(found) = self.lookup().await? {
                self.refuse_agent(&found)?;
                self.link(found.id).await?;
                if found.active != Some(false) {
                    self.api.call(Call::deactivate(found.id)).await?;
                }
                return self.finish(Some(found.id), None, false).await;
            }
            return self.finish(None, None, false).await;
        }
        if healing {
            if let Some(found) = self.lookup().await? {
                return self.adopt(found).await;
            }
        }
        self.create().await
    }

    /// POST; on `duplicate_value` (someone has the email, possibly our own
    /// earlier create whose answer was lost) adopt the existing user.
    async fn create(&self) -> Result<Outcome, Halt> {
        // A new requester has nothing to clear: no nulls on create.
        let mut body = plan::diff(None, &self.desired.body);
        let with_external = self.external_id_allowed().await?;
        if with_external {
            body.insert("external_id".into(), Value::String(self.ev.id.clone()));
        }
        let created = match self.api.call(Call::create(body.clone())).await {
            Err(Halt::Fs(e)) if with_external && e.is_invalid_field("external_id") => {
                self.reject_external_id().await?;
                body.remove("external_id");
                self.api.call(Call::create(body)).await
            }
            other => other,
        };
        match created {
            Ok(a) => {
                let req = client::parse_requester(&a.text).map_err(Halt::Fs)?;
                self.link(req.id).await?;
                self.finish(Some(req.id), Some(&self.desired.body), true).await
            }
            Err(Halt::Fs(FsError::DuplicateEmail { body })) => match self.lookup().await? {
                Some(found) => self.adopt(found).await,
                None => Err(Halt::Fs(FsError::unreadable(format!(
                    "Freshservice says the email is taken but no user with it was found (it may be another user's secondary email, or the lookup lags): {body}"
                )))),
            },
            Err(h) => Err(h),
        }
    }

    /// Links an existing Freshservice user found by email: reactivate if
    /// needed, then PUT the whole desired body.
    async fn adopt(&self, found: Requester) -> Result<Outcome, Halt> {
        self.refuse_agent(&found)?;
        self.link(found.id).await?;
        if found.active == Some(false) {
            self.api.call(Call::reactivate(found.id)).await?;
        }
        let mut body = self.desired.body.clone();
        let with_external = self.external_id_allowed().await?;
        if with_external {
            body.insert("external_id".into(), Value::String(self.ev.id.clone()));
        }
        match self.api.call(Call::update(found.id, body.clone())).await {
            Err(Halt::Fs(e)) if with_external && e.is_invalid_field("external_id") => {
                self.reject_external_id().await?;
                body.remove("external_id");
                self.api.call(Call::update(found.id, body)).await?;
            }
            other => {
                other?;
            }
        }
        tracing::info!(tenant = self.tenant(), user = %self.ev.id, requester_id = found.id, "linked an existing requester");
        self.finish(Some(found.id), Some(&self.desired.body), true)
            .await
    }

    fn refuse_agent(&self, found: &Requester) -> Result<(), Halt> {
        if found.is_agent == Some(true) {
            return Err(Halt::Dead {
                class: DeadClass::AgentEmail,
                reason: format!(
                    "email belongs to an agent: {} is Freshservice agent {}; the bridge only manages requesters",
                    found.primary_email.as_deref().or(self.desired.email.as_deref()).unwrap_or("?"),
                    found.id
                ),
            });
        }
        Ok(())
    }

    /// `GET /requesters?email=…&include_agents=true`, preferring the user
    /// whose primary email matches.
    async fn lookup(&self) -> Result<Option<Requester>, Halt> {
        let Some(email) = self.desired.email.as_deref() else {
            return Ok(None);
        };
        let a = self.api.call(Call::find_by_email(email)).await?;
        let list = client::parse_requesters(&a.text).map_err(Halt::Fs)?;
        let exact = list.iter().position(|r| {
            r.primary_email
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(email))
        });
        Ok(match exact {
            Some(i) => list.into_iter().nth(i),
            None => list.into_iter().next(),
        })
    }

    async fn link(&self, rid: u64) -> Result<(), Halt> {
        match self
            .inner
            .sync
            .link(self.lease, self.tenant(), &self.ev.id, rid)
            .await?
        {
            Written::Fenced => Err(Halt::LeaseLost),
            _ => Ok(()),
        }
    }

    async fn finish(
        &self,
        rid: Option<u64>,
        snapshot: Option<&Map<String, Value>>,
        active: bool,
    ) -> Result<Outcome, Halt> {
        let w = self
            .inner
            .sync
            .record(
                self.lease,
                self.tenant(),
                &self.ev.id,
                self.desired.version,
                rid,
                snapshot,
                active,
                &self.desired.warnings,
            )
            .await?;
        match w {
            Written::Fenced => Err(Halt::LeaseLost),
            Written::Stale => Ok(Outcome::Skipped("a newer version was recorded meanwhile")),
            Written::Ok => {
                tracing::info!(
                    tenant = self.tenant(),
                    user = %self.ev.id,
                    requester_id = ?rid,
                    version = self.desired.version,
                    active,
                    request_id = %self.ev.request_id,
                    "user converged"
                );
                Ok(Outcome::Applied)
            }
        }
    }

    async fn external_id_allowed(&self) -> Result<bool, Halt> {
        let mut r = self.inner.redis.clone();
        let flag: Option<String> = r
            .hget(self.inner.keys.account_flags(self.tenant()), "external_id")
            .await?;
        Ok(flag.as_deref() != Some("rejected"))
    }

    async fn reject_external_id(&self) -> Result<(), Halt> {
        tracing::warn!(
            tenant = self.tenant(),
            "the account refuses external_id; no longer sending it"
        );
        let mut r = self.inner.redis.clone();
        let _: () = r
            .hset(
                self.inner.keys.account_flags(self.tenant()),
                "external_id",
                "rejected",
            )
            .await?;
        Ok(())
    }
}
