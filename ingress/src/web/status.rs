//! The status page: what reached Freshservice and what did not, for the
//! signed-in tenant only. Counts come from Redis (the SCIM state and the
//! worker's per-user sync status), the queue depth from `shared::queue::depth`
//! (one long-lived broker connection, not one per view),
//! dead letters from the dead-letter queue (see `deadletters`).

use std::collections::{HashMap, HashSet};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use redis::AsyncCommands;
use serde::Deserialize;
use serde_json::Value;
use shared::{
    event::ResourceKind,
    records::{
        group_sync::{GroupState, GroupSyncRecord},
        sync::{self, SyncRecord},
        user,
    },
    tenant::{Tenant, TenantState},
};

use super::{deadletters::Letter, error::WebError, session::SignedIn, views, Web};
use crate::state::Backend;

/// Counts of the tenant's users by sync outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub known: usize,
    pub in_sync: usize,
    pub pending: usize,
    pub failed: usize,
}

/// Whether the bridge is calling Freshservice for the tenant.
#[derive(Clone, Debug)]
pub enum Health {
    Active,
    /// Paused after a 429 until this time (RFC 3339).
    Paused {
        until: String,
    },
    CredentialsRejected {
        reason: String,
    },
    /// Paused by an operator (`ingress tenant pause`), with their reason.
    OperatorPaused {
        reason: Option<String>,
    },
}

/// One user's SCIM state and sync status.
#[derive(Clone, Debug, Default)]
pub struct UserStatus {
    pub id: String,
    pub user_name: String,
    pub email: String,
    pub active: bool,
    pub version: u64,
    pub applied_version: Option<u64>,
    pub requester_id: Option<String>,
    pub last_error: Option<String>,
    pub attempts: Option<String>,
    pub updated_at: Option<String>,
    pub warnings: Vec<String>,
    pub failed: bool,
}

impl UserStatus {
    pub fn label(&self) -> &'static str {
        if self.failed {
            "failed"
        } else if self.applied_version.is_some_and(|a| a >= self.version) {
            "in sync"
        } else {
            "pending"
        }
    }
}

/// One pushed group and how far it reached Freshservice.
#[derive(Clone, Debug)]
pub struct GroupStatus {
    pub id: String,
    pub name: String,
    pub members: usize,
    pub state: GroupState,
    /// The Freshservice requester group it is mapped to.
    pub requester_group_id: Option<u64>,
    /// Members without an active requester yet.
    pub waiting: usize,
    pub last_error: Option<String>,
    pub updated_at: Option<String>,
}

impl GroupStatus {
    pub fn label(&self) -> &'static str {
        match self.state {
            GroupState::InSync => "in sync",
            GroupState::Waiting => "waiting",
            GroupState::Pending => "pending",
            GroupState::Failed => "failed",
        }
    }
}

/// Groups the status page lists at most (the first in creation order).
const MAX_GROUPS_SHOWN: usize = 100;

/// Everything the page shows.
pub struct StatusView {
    pub tenant: Tenant,
    pub counts: Counts,
    pub health: Health,
    /// Change events waiting on this tenant's queue.
    pub queue_depth: Option<u32>,
    pub dead: Result<Vec<Letter>, String>,
    pub failed_users: Vec<UserStatus>,
    pub search: Option<(String, Vec<UserStatus>)>,
    pub notice: Option<String>,
    /// SCIM id → userName (or a group's displayName), for the dead letters.
    pub user_names: HashMap<String, String>,
    /// The first [`MAX_GROUPS_SHOWN`] pushed groups, and how many there are.
    pub groups: Vec<GroupStatus>,
    pub groups_total: usize,
}

pub async fn counts(state: &Backend, tenant: &str) -> Result<Counts, WebError> {
    let keys = state.tenants.keys();
    let mut r = state.redis.clone();
    let failed: HashSet<String> = r.smembers(keys.failed(tenant)).await?;
    let mut c = Counts::default();
    let mut offset = 0isize;
    const CHUNK: isize = 500;
    loop {
        let ids: Vec<String> = r
            .zrange(keys.users(tenant), offset, offset + CHUNK - 1)
            .await?;
        if ids.is_empty() {
            break;
        }
        let mut p = redis::pipe();
        for id in &ids {
            p.hget(keys.user(tenant, id), user::field::VERSION);
            p.hget(keys.sync(tenant, id), sync::field::APPLIED_VERSION);
        }
        let v: Vec<Option<u64>> = shared::redis_conn::query_pipe(&p, &mut r).await?;
        for (i, id) in ids.iter().enumerate() {
            c.known += 1;
            let (version, applied) = (v[2 * i].unwrap_or(0), v[2 * i + 1]);
            if failed.contains(id) {
                c.failed += 1;
            } else if applied.is_some_and(|a| a >= version) {
                c.in_sync += 1;
            } else {
                c.pending += 1;
            }
        }
        if (ids.len() as isize) < CHUNK {
            break;
        }
        offset += CHUNK;
    }
    Ok(c)
}

async fn health(state: &Backend, t: &Tenant) -> Result<Health, WebError> {
    if t.state == TenantState::CredentialsRejected {
        return Ok(Health::CredentialsRejected {
            reason: t
                .state_reason
                .clone()
                .unwrap_or_else(|| "Freshservice refused the API key".into()),
        });
    }
    if t.state == TenantState::Paused {
        return Ok(Health::OperatorPaused {
            reason: t.state_reason.clone(),
        });
    }
    let ms: i64 = state
        .redis
        .clone()
        .pttl(state.tenants.keys().pause(&t.id))
        .await?;
    if ms > 0 {
        let until = chrono::Utc::now() + chrono::Duration::milliseconds(ms);
        return Ok(Health::Paused {
            until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    Ok(Health::Active)
}

/// Change events waiting on the tenant's queue (`None`: unknown right now).
async fn queue_depth(state: &Backend, web: &Web, tenant: &str) -> Option<u32> {
    let queue = state.outbox.publisher().topology().tenant_queue(tenant);
    match web.queue_depth().ready(&queue).await {
        Ok(n) => Some(n.unwrap_or(0)),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the queue depth");
            None
        }
    }
}

/// Users by id with their sync status, in the given order.
pub async fn users(
    state: &Backend,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<UserStatus>, WebError> {
    let keys = state.tenants.keys();
    let mut r = state.redis.clone();
    let failed: HashSet<String> = r.smembers(keys.failed(tenant)).await?;
    let stored = state.users.get_many(tenant, ids).await?;
    let mut out = Vec::new();
    for u in stored {
        let sync = SyncRecord::decode(&r.hgetall(keys.sync(tenant, &u.id)).await?);
        let mapped: Option<String> = r.hget(keys.map_requester(tenant), &u.id).await?;
        let email = u.doc["emails"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|e| e["primary"] == Value::Bool(true))
                    .or_else(|| a.first())
            })
            .and_then(|e| e["value"].as_str())
            .unwrap_or("")
            .to_string();
        out.push(UserStatus {
            user_name: u.doc["userName"].as_str().unwrap_or("").to_string(),
            email,
            active: u.doc["active"].as_bool().unwrap_or(true),
            version: u.version,
            applied_version: sync.applied_version,
            requester_id: mapped.or_else(|| sync.requester_id.map(|r| r.to_string())),
            last_error: sync.last_error,
            attempts: sync.attempts.map(|a| a.to_string()),
            updated_at: sync.updated_at,
            warnings: sync.warnings,
            failed: failed.contains(&u.id),
            id: u.id,
        });
    }
    Ok(out)
}

/// The first pushed groups with their sync status.
pub async fn groups(state: &Backend, tenant: &str) -> Result<Vec<GroupStatus>, WebError> {
    let keys = state.tenants.keys();
    let mut r = state.redis.clone();
    let ids = state.groups.page_ids(tenant, 0, MAX_GROUPS_SHOWN).await?;
    let mut out = Vec::new();
    for g in state.groups.get_many(tenant, &ids).await? {
        let sync = GroupSyncRecord::decode(&r.hgetall(keys.group_sync(tenant, &g.id)).await?);
        let members: usize = r.hlen(keys.group_members(tenant, &g.id)).await?;
        out.push(GroupStatus {
            name: g.doc.display_name.clone(),
            members,
            state: sync.state(g.version),
            requester_group_id: sync.group_id,
            waiting: sync.waiting.len(),
            last_error: sync.last_error,
            updated_at: sync.updated_at,
            id: g.id,
        });
    }
    Ok(out)
}

/// Users whose userName or an email equals `q` (case-insensitive).
pub async fn search(state: &Backend, tenant: &str, q: &str) -> Result<Vec<UserStatus>, WebError> {
    let q = q.trim().to_lowercase();
    let mut ids: Vec<String> = Vec::new();
    if let Some(id) = state.users.id_by_user_name(tenant, &q).await? {
        ids.push(id);
    }
    for id in state.users.ids_by_email(tenant, &q).await? {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    users(state, tenant, &ids).await
}

#[derive(Deserialize)]
pub struct StatusQuery {
    q: Option<String>,
    replayed: Option<String>,
}

/// `GET /status`.
pub async fn page(
    State(state): State<Backend>,
    State(web): State<Web>,
    signed: SignedIn,
    Query(query): Query<StatusQuery>,
) -> Response {
    match view(&state, &web, signed.tenant.clone(), query).await {
        Ok(v) => views::status::page(&v, &signed.csrf, web.config().status_refresh).into_response(),
        Err(e) => (
            e.status(),
            views::message::page("Status unavailable", &e.to_string()),
        )
            .into_response(),
    }
}

async fn view(
    state: &Backend,
    web: &Web,
    tenant: Tenant,
    query: StatusQuery,
) -> Result<StatusView, WebError> {
    let id = tenant.id.clone();
    let failed_ids: Vec<String> = {
        let mut v: Vec<String> = state
            .redis
            .clone()
            .smembers(state.tenants.keys().failed(&id))
            .await?;
        v.sort();
        v.truncate(50);
        v
    };
    let search = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => Some((q.to_string(), search(state, &id, q).await?)),
        None => None,
    };
    let notice = match query.replayed.as_deref() {
        Some("1") => Some("Replayed: the change is queued again and will show as in sync once Freshservice accepts it.".to_string()),
        Some("0") => Some("That dead letter was already replayed or removed.".to_string()),
        _ => None,
    };
    let dead = web.dead().list(state, &id).await.map_err(|e| {
        tracing::warn!(error = %e, "could not read dead letters");
        "The dead-letter queue could not be read right now (message broker unreachable). The page retries on its next refresh.".to_string()
    });
    let mut user_names = HashMap::new();
    if let Ok(letters) = &dead {
        let mut ids: Vec<String> = letters.iter().map(|l| l.letter.event.id.clone()).collect();
        ids.dedup();
        ids.truncate(200);
        for u in state.users.get_many(&id, &ids).await? {
            if let Some(name) = u.doc["userName"].as_str() {
                user_names.insert(u.id.clone(), name.to_string());
            }
        }
        let group_ids: Vec<String> = letters
            .iter()
            .filter(|l| l.letter.event.kind == ResourceKind::Group)
            .map(|l| l.letter.event.id.clone())
            .collect();
        for g in state.groups.get_many(&id, &group_ids).await? {
            user_names.insert(g.id.clone(), g.doc.display_name.clone());
        }
    }
    Ok(StatusView {
        counts: counts(state, &id).await?,
        health: health(state, &tenant).await?,
        queue_depth: queue_depth(state, web, &id).await,
        dead,
        user_names,
        failed_users: users(state, &id, &failed_ids).await?,
        groups: groups(state, &id).await?,
        groups_total: state.groups.count(&id).await?,
        search,
        notice,
        tenant,
    })
}

#[derive(Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    message_id: String,
}

/// `POST /status/replay`: replays one of the tenant's dead letters.
pub async fn replay(
    State(state): State<Backend>,
    State(web): State<Web>,
    signed: SignedIn,
    Form(f): Form<ReplayForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    match web
        .dead()
        .replay(&state, &signed.tenant.id, &f.message_id)
        .await
    {
        Ok(true) => Redirect::to("/status?replayed=1").into_response(),
        Ok(false) => Redirect::to("/status?replayed=0").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "replay failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                views::message::page(
                    "Replay failed",
                    "The message broker could not take the change right now; nothing was lost. Go back and press Replay again in a minute.",
                ),
            )
                .into_response()
        }
    }
}
