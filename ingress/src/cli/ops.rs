//! The operator commands of `ingress` as library functions (the binary's
//! `tenant list|pause|resume|rotate-token` and `queues` call these; tests
//! call them directly): typed results that print as a table or as JSON
//! (`shared::cli`), and errors that name the tenant or the setting to check.

use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::Serialize;
use shared::{
    cli::{Column, CHECK_AMQP, CHECK_REDIS},
    config::CommonConfig,
    keys::Keys,
    queue::{topology::WAIT_TIERS, DepthError, QueueCounts, QueueDepth, Topology},
    tenant::{Paused, Resumed, Tenant, TenantError, TenantState, TenantStore},
};

/// How long one queue-depth read waits for the broker.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("no tenant {0:?}: give a tenant id or its Freshservice domain; `ingress tenant list` lists them")]
    UnknownTenant(String),
    #[error("Redis did not answer: {0}; {CHECK_REDIS}")]
    Redis(#[from] redis::RedisError),
    #[error("the message broker did not answer: {0}; {CHECK_AMQP}")]
    Broker(#[from] DepthError),
    #[error("{0}")]
    Tenant(TenantError),
    /// The command was understood and refused; the text says why and what
    /// to do instead.
    #[error("{0}")]
    Refused(String),
}

impl From<TenantError> for OpsError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Redis(e) => Self::Redis(e),
            other => Self::Tenant(other),
        }
    }
}

/// Connections for one operator command: Redis (the registry and the
/// tenants' counts) and, opened on first use, one broker connection for
/// every queue depth.
pub struct Ops {
    tenants: TenantStore,
    redis: ConnectionManager,
    keys: Keys,
    topology: Topology,
    depth: QueueDepth,
}

impl Ops {
    /// Connects to Redis now (so a wrong `REDIS_URL` fails here, named);
    /// the broker is reached when a command first needs a depth.
    pub async fn connect(config: &CommonConfig) -> Result<Ops, OpsError> {
        let redis = shared::redis_conn::connect(&config.redis_url).await?;
        let keys = Keys::new(config.key_prefix.clone());
        Ok(Ops {
            tenants: TenantStore::new(redis.clone(), keys.clone(), config.master_key.clone()),
            redis,
            keys,
            topology: Topology::new(config.queue_prefix.clone()),
            depth: QueueDepth::new(config.amqp_url.clone(), BROKER_TIMEOUT),
        })
    }

    pub fn tenants(&self) -> &TenantStore {
        &self.tenants
    }

    /// The tenant named by an id or a domain, or [`OpsError::UnknownTenant`].
    pub async fn tenant(&self, id_or_domain: &str) -> Result<Tenant, OpsError> {
        self.tenants
            .find(id_or_domain)
            .await?
            .ok_or_else(|| OpsError::UnknownTenant(id_or_domain.to_string()))
    }

    /// `ingress tenant list`: every tenant with its state, queue and counts.
    pub async fn tenant_rows(&self) -> Result<Vec<TenantRow>, OpsError> {
        let tenants = self.tenants.list().await?;
        let ids: Vec<String> = tenants.iter().map(|t| t.id.clone()).collect();
        let mut r = self.redis.clone();
        let mut p = redis::pipe();
        for t in &ids {
            p.zcard(self.keys.users(t));
        }
        let users: Vec<u64> = if ids.is_empty() {
            Vec::new()
        } else {
            shared::redis_conn::query_pipe(&p, &mut r).await?
        };
        let now = chrono::Utc::now().timestamp_millis();
        let pending = shared::pending::read_many(&mut r, &self.keys, &ids, now).await?;
        let mut rows = Vec::with_capacity(tenants.len());
        for ((t, users), pending) in tenants.into_iter().zip(users).zip(pending) {
            let queue = self
                .depth
                .counts(&self.topology.tenant_queue(&t.id))
                .await?;
            rows.push(TenantRow {
                queue_ready: queue.map(|q| q.ready),
                queue_consumers: queue.map(|q| q.consumers),
                users,
                pending: pending.pending,
                oldest_pending_secs: pending.oldest.map(|d| d.as_secs()),
                failed: pending.failed,
                id: t.id,
                domain: t.domain,
                state: t.state.as_str(),
                state_reason: t.state_reason,
                created_at: t.created_at,
            });
        }
        Ok(rows)
    }

    /// `ingress tenant pause`: the workers stop calling Freshservice for
    /// the tenant and keep its changes; the ingress keeps accepting them.
    pub async fn pause(
        &self,
        id_or_domain: &str,
        reason: Option<&str>,
    ) -> Result<StateChange, OpsError> {
        let t = self.tenant(id_or_domain).await?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let done = self
            .tenants
            .pause(&t.id, reason)
            .await?
            .ok_or_else(|| OpsError::UnknownTenant(id_or_domain.to_string()))?;
        let message = match done {
            Paused::Done => format!(
                "tenant {} ({}) paused: the ingress keeps accepting SCIM changes, the workers keep them and make no Freshservice call until `ingress tenant resume {}`",
                t.id, t.domain, t.id
            ),
            Paused::Already => format!(
                "tenant {} ({}) was already paused; the reason is updated",
                t.id, t.domain
            ),
            Paused::CredentialsRejected => {
                return Err(OpsError::Refused(format!(
                    "tenant {} ({}) is already held because Freshservice rejected its API key ({}); replace the API key (settings page, or re-install) before pausing it",
                    t.id,
                    t.domain,
                    t.state_reason.as_deref().unwrap_or("no reason recorded")
                )))
            }
        };
        Ok(StateChange {
            tenant: t.id,
            domain: t.domain,
            state: TenantState::Paused.as_str(),
            changed: done == Paused::Done,
            reason: reason.map(str::to_string),
            message,
        })
    }

    /// `ingress tenant resume`: ends an operator's pause; the workers
    /// consume the tenant's queue again within a second. Refuses to end a
    /// hold for rejected credentials, which only a new API key ends.
    pub async fn resume(&self, id_or_domain: &str) -> Result<StateChange, OpsError> {
        let t = self.tenant(id_or_domain).await?;
        let done = self
            .tenants
            .resume(&t.id)
            .await?
            .ok_or_else(|| OpsError::UnknownTenant(id_or_domain.to_string()))?;
        let (state, message) = match done {
            Resumed::Done => (
                TenantState::Active,
                format!(
                    "tenant {} ({}) resumed: the workers deliver its kept changes now",
                    t.id, t.domain
                ),
            ),
            Resumed::NotPaused => (
                t.state.clone(),
                format!(
                    "tenant {} ({}) is not paused (state {}); nothing to do",
                    t.id,
                    t.domain,
                    t.state.as_str()
                ),
            ),
            Resumed::CredentialsRejected => {
                return Err(OpsError::Refused(format!(
                    "tenant {} ({}) is not paused by an operator: Freshservice rejected its API key ({}). Resume does not clear that: replace the API key on the settings page (/settings) or re-install the tenant",
                    t.id,
                    t.domain,
                    t.state_reason.as_deref().unwrap_or("no reason recorded")
                )))
            }
        };
        Ok(StateChange {
            tenant: t.id,
            domain: t.domain,
            state: state.as_str(),
            changed: done == Resumed::Done,
            reason: None,
            message,
        })
    }

    /// `ingress tenant rotate-token`: a new bearer token; the old one is
    /// refused from now on (by every running ingress within
    /// `token_cache::TTL`, 2 s: the longest a process trusts a token it
    /// validated without asking Redis again).
    pub async fn rotate_token(&self, id_or_domain: &str) -> Result<RotatedToken, OpsError> {
        let t = self.tenant(id_or_domain).await?;
        let token = self
            .tenants
            .rotate_token(&t.id)
            .await?
            .ok_or_else(|| OpsError::UnknownTenant(id_or_domain.to_string()))?;
        Ok(RotatedToken {
            tenant: t.id,
            domain: t.domain,
            token,
        })
    }

    /// `ingress queues`: every tenant's change queue, the wait tiers and
    /// the dead-letter queue, with totals.
    pub async fn queues(&self) -> Result<QueuesReport, OpsError> {
        let mut queues = Vec::new();
        for t in self.tenants.list().await? {
            let name = self.topology.tenant_queue(&t.id);
            queues.push(self.queue_row(name, QueueKind::Tenant, Some(t.id)).await?);
        }
        for tier in WAIT_TIERS {
            let name = self.topology.wait(*tier);
            queues.push(self.queue_row(name, QueueKind::Wait, None).await?);
        }
        let dead = self.topology.dead();
        queues.push(self.queue_row(dead, QueueKind::Dead, None).await?);
        let sum = |k: QueueKind| {
            queues
                .iter()
                .filter(|q| q.kind == k)
                .map(|q| u64::from(q.ready.unwrap_or(0)))
                .sum::<u64>()
        };
        let totals = Totals {
            changes: sum(QueueKind::Tenant),
            waiting: sum(QueueKind::Wait),
            dead: sum(QueueKind::Dead),
            consumers: queues
                .iter()
                .filter(|q| q.kind == QueueKind::Tenant)
                .map(|q| u64::from(q.consumers.unwrap_or(0)))
                .sum(),
        };
        Ok(QueuesReport { queues, totals })
    }

    async fn queue_row(
        &self,
        queue: String,
        kind: QueueKind,
        tenant: Option<String>,
    ) -> Result<QueueRow, OpsError> {
        let c: Option<QueueCounts> = self.depth.counts(&queue).await?;
        Ok(QueueRow {
            ready: c.map(|c| c.ready),
            consumers: c.map(|c| c.consumers),
            queue,
            kind,
            tenant,
        })
    }
}

/// One line of `ingress tenant list`. A new column is a field here and an
/// entry in [`TENANT_COLUMNS`]; `--json` prints the fields as they are.
#[derive(Clone, Debug, Serialize)]
pub struct TenantRow {
    pub id: String,
    pub domain: String,
    /// `active`, `credentials_rejected` or `paused`.
    pub state: &'static str,
    /// Why it is held (the operator's reason, Freshservice's 401 text).
    pub state_reason: Option<String>,
    pub created_at: String,
    /// Change events ready on the tenant's queue; `None` when the queue does
    /// not exist (yet).
    pub queue_ready: Option<u32>,
    /// Workers consuming the tenant's queue (0 while it is held).
    pub queue_consumers: Option<u32>,
    /// SCIM users the ingress stores for it (`Keys::users`).
    pub users: u64,
    /// Users and groups with an accepted change no worker has applied yet
    /// (`Keys::pending`).
    pub pending: u64,
    /// Age in seconds of the oldest of them; `None` when nothing is pending.
    pub oldest_pending_secs: Option<u64>,
    /// Users whose last change failed for good (`Keys::failed`).
    pub failed: u64,
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// The columns of `ingress tenant list`.
pub const TENANT_COLUMNS: &[Column<TenantRow>] = &[
    Column {
        header: "TENANT",
        cell: |r| r.id.clone(),
    },
    Column {
        header: "DOMAIN",
        cell: |r| r.domain.clone(),
    },
    Column {
        header: "STATE",
        cell: |r| r.state.to_string(),
    },
    Column {
        header: "QUEUED",
        cell: |r| opt(&r.queue_ready),
    },
    Column {
        header: "CONSUMERS",
        cell: |r| opt(&r.queue_consumers),
    },
    Column {
        header: "USERS",
        cell: |r| r.users.to_string(),
    },
    Column {
        header: "PENDING",
        cell: |r| r.pending.to_string(),
    },
    Column {
        header: "OLDEST",
        cell: |r| {
            r.oldest_pending_secs
                .map(|s| format!("{s}s"))
                .unwrap_or_default()
        },
    },
    Column {
        header: "FAILED",
        cell: |r| r.failed.to_string(),
    },
    Column {
        header: "REASON",
        cell: |r| opt(&r.state_reason),
    },
];

/// What `pause` or `resume` did.
#[derive(Clone, Debug, Serialize)]
pub struct StateChange {
    pub tenant: String,
    pub domain: String,
    /// The state now.
    pub state: &'static str,
    /// False when nothing changed (already paused, not paused).
    pub changed: bool,
    pub reason: Option<String>,
    pub message: String,
}

/// A new bearer token (`--json`: `{"tenant", "domain", "token"}`).
#[derive(Clone, Debug, Serialize)]
pub struct RotatedToken {
    pub tenant: String,
    pub domain: String,
    pub token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// A tenant's change queue.
    Tenant,
    /// A delay tier (parked events).
    Wait,
    /// The dead-letter queue.
    Dead,
}

impl QueueKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Wait => "wait",
            Self::Dead => "dead",
        }
    }
}

/// One queue of `ingress queues`.
#[derive(Clone, Debug, Serialize)]
pub struct QueueRow {
    pub queue: String,
    pub kind: QueueKind,
    pub tenant: Option<String>,
    /// Events ready; `None`: the queue does not exist.
    pub ready: Option<u32>,
    pub consumers: Option<u32>,
}

/// Ready events summed by kind, and the consumers of the tenant queues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub changes: u64,
    pub waiting: u64,
    pub dead: u64,
    pub consumers: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct QueuesReport {
    pub queues: Vec<QueueRow>,
    pub totals: Totals,
}

/// The columns of `ingress queues`.
pub const QUEUE_COLUMNS: &[Column<QueueRow>] = &[
    Column {
        header: "QUEUE",
        cell: |r| r.queue.clone(),
    },
    Column {
        header: "KIND",
        cell: |r| r.kind.as_str().to_string(),
    },
    Column {
        header: "READY",
        cell: |r| {
            r.ready
                .map(|n| n.to_string())
                .unwrap_or_else(|| "absent".into())
        },
    },
    Column {
        header: "CONSUMERS",
        cell: |r| opt(&r.consumers),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TenantRow {
        TenantRow {
            id: "t1".into(),
            domain: "acme".into(),
            state: "paused",
            state_reason: Some("migration".into()),
            created_at: "2025-01-01T00:00:00Z".into(),
            queue_ready: Some(3),
            queue_consumers: Some(0),
            users: 10,
            pending: 2,
            oldest_pending_secs: Some(42),
            failed: 1,
        }
    }

    #[test]
    fn tenant_rows_print_as_a_table_and_as_json() {
        let t = shared::cli::table(TENANT_COLUMNS, &[row()]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2, "{t}");
        assert!(lines[0].starts_with("TENANT  DOMAIN  STATE"), "{t}");
        assert!(
            lines[1].contains("paused") && lines[1].contains("migration"),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&shared::cli::json(&vec![row()])).unwrap();
        assert_eq!(v[0]["queue_ready"], 3);
        assert_eq!(v[0]["state"], "paused");
        assert_eq!(v[0]["failed"], 1);
        assert_eq!(v[0]["oldest_pending_secs"], 42);
        assert!(t.contains("42s"), "{t}");
    }

    #[test]
    fn errors_name_the_tenant_and_the_setting() {
        let e = OpsError::UnknownTenant("nope".into()).to_string();
        assert!(
            e.contains("\"nope\"") && e.contains("ingress tenant list"),
            "{e}"
        );
        let e = OpsError::Broker(DepthError::Timeout(Duration::from_secs(5))).to_string();
        assert!(e.contains("AMQP_URL"), "{e}");
    }
}
