//! `worker resync <tenant> [--apply]`: rebuilds a tenant's SCIM id ↔
//! requester id mapping from Freshservice by email, and reports what exists
//! on one side only.
//!
//! It lists every user of the account (`GET /requesters?per_page=100&page=N
//! &include_agents=true`, `docs/freshservice.md` §2.3) inside the tenant's
//! budget (`converge/api.rs`, with no user lease), reads every SCIM user the
//! ingress stores (`Keys::users`, `shared::records::user`) and the mapping
//! (`Keys::map_requester`), and matches each user's primary email — the one
//! the worker sends, `shared::mapping::requester::primary_email` — folded by
//! `shared::identity::fold`. A mapped requester the listing lacks is asked
//! for by id before it is called gone, since whether the list shows
//! deactivated requesters is open (§8).
//!
//! With `apply`, under each user's lease (`lease.rs`), it links the
//! linkable users and drops the mappings to vanished requesters with the
//! worker's own fenced scripts (`converge/record.rs`: `link`, `unlink`,
//! `reopen`), then publishes a change event for each so the workers converge
//! it. Without `apply` it writes nothing.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use redis::{aio::ConnectionManager, AsyncCommands};
use serde::Serialize;
use shared::{
    cli::{Column, CHECK_AMQP, CHECK_REDIS},
    event::ChangeEvent,
    freshservice::{client, Budget, Call, FsClient, FsError, Requester},
    identity,
    keys::Keys,
    mapping::requester::primary_email,
    queue::{PublishError, Publisher, Topology},
    records::user::UserRecord,
    tenant::{Tenant, TenantError, TenantState, TenantStore},
};

use crate::{
    config::WorkerConfig,
    converge::{
        api::{Halt, TenantApi},
        record::{SyncStore, Written},
    },
    lease::Leases,
    metrics::Metrics,
};

/// How often a listing call waits out a 429 or an empty budget before
/// giving up.
const MAX_WAITS: usize = 20;
/// Users read from Redis per round trip.
const CHUNK: isize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    #[error("no tenant {0:?}: give a tenant id or its Freshservice domain; `ingress tenant list` lists them")]
    UnknownTenant(String),
    #[error("Redis did not answer: {0}; {CHECK_REDIS}")]
    Redis(#[from] redis::RedisError),
    #[error("the message broker did not answer: {0}; {CHECK_AMQP}")]
    Broker(#[from] PublishError),
    #[error("Freshservice rejected tenant {tenant}'s API key ({reason}); replace the API key (settings page, or re-install) before a resync")]
    CredentialsRejected { tenant: String, reason: String },
    #[error("Freshservice ({domain}) failed while resyncing: {detail}")]
    Freshservice { domain: String, detail: String },
    #[error("{0}")]
    Tenant(TenantError),
}

impl From<TenantError> for ResyncError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Redis(e) => Self::Redis(e),
            other => Self::Tenant(other),
        }
    }
}

/// Where a SCIM user or a requester stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Mapped to a requester that exists.
    Linked,
    /// Mapped to a requester that no longer exists (404).
    Vanished,
    /// Not mapped, and a requester with its primary email exists.
    Linkable,
    /// Not mapped, and no requester has its primary email (or it has none).
    ScimOnly,
    /// A requester (not an agent) that no SCIM user is mapped to or names.
    FreshserviceOnly,
    /// Not mapped, and the requester with its email cannot be linked: an
    /// agent's, or already mapped to another SCIM user.
    Conflict,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linked => "linked",
            Self::Vanished => "vanished",
            Self::Linkable => "linkable",
            Self::ScimOnly => "scim_only",
            Self::FreshserviceOnly => "freshservice_only",
            Self::Conflict => "conflict",
        }
    }
}

/// What `apply` did to one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// Mapped to the requester found by email; an event was published.
    Linked,
    /// The mapping to the vanished requester was dropped; an event was
    /// published (the worker makes or finds its requester again).
    Unlinked,
    /// A worker held the user, or its mapping changed since the listing:
    /// left as it is; run resync again.
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub category: Category,
    pub scim_id: Option<String>,
    pub user_name: Option<String>,
    /// The primary email the match used.
    pub email: Option<String>,
    pub requester_id: Option<u64>,
    /// Why a conflict is one, or why `apply` skipped the entry.
    pub note: Option<String>,
    /// What `apply` did (`None` on a dry run, or nothing to do).
    pub done: Option<Done>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub tenant: String,
    pub domain: String,
    /// True without `--apply`: nothing was written.
    pub dry_run: bool,
    /// Users the account listed (agents included).
    pub listed: usize,
    /// Entries per category (every category, zeros included).
    pub counts: BTreeMap<Category, usize>,
    pub entries: Vec<Entry>,
    /// Change events published for the users `apply` touched.
    pub published: usize,
}

impl Report {
    pub fn count(&self, c: Category) -> usize {
        self.counts.get(&c).copied().unwrap_or(0)
    }

    /// The entries of one category.
    pub fn of(&self, c: Category) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.category == c)
    }
}

/// The columns of the report's table.
pub const COLUMNS: &[Column<Entry>] = &[
    Column {
        header: "CATEGORY",
        cell: |e| e.category.as_str().to_string(),
    },
    Column {
        header: "SCIM ID",
        cell: |e| e.scim_id.clone().unwrap_or_default(),
    },
    Column {
        header: "USERNAME",
        cell: |e| e.user_name.clone().unwrap_or_default(),
    },
    Column {
        header: "EMAIL",
        cell: |e| e.email.clone().unwrap_or_default(),
    },
    Column {
        header: "REQUESTER",
        cell: |e| e.requester_id.map(|r| r.to_string()).unwrap_or_default(),
    },
    Column {
        header: "DONE",
        cell: |e| match e.done {
            Some(Done::Linked) => "linked".into(),
            Some(Done::Unlinked) => "unlinked".into(),
            Some(Done::Skipped) => "skipped".into(),
            None => String::new(),
        },
    },
    Column {
        header: "NOTE",
        cell: |e| e.note.clone().unwrap_or_default(),
    },
];

/// A SCIM user as the match reads it.
#[derive(Clone, Debug)]
struct ScimUser {
    id: String,
    user_name: Option<String>,
    email: Option<String>,
    version: u64,
    deleted: bool,
}

/// Runs a resync of the tenant named by `id_or_domain` (its id or
/// Freshservice domain); see the module doc.
pub async fn resync(
    config: &WorkerConfig,
    id_or_domain: &str,
    apply: bool,
) -> Result<Report, ResyncError> {
    let redis = shared::redis_conn::connect(&config.common.redis_url).await?;
    let keys = Keys::new(config.common.key_prefix.clone());
    let tenants = TenantStore::new(
        redis.clone(),
        keys.clone(),
        config.common.master_key.clone(),
    );
    let tenant = tenants
        .find(id_or_domain)
        .await?
        .ok_or_else(|| ResyncError::UnknownTenant(id_or_domain.to_string()))?;
    if tenant.state == TenantState::CredentialsRejected {
        return Err(ResyncError::CredentialsRejected {
            tenant: tenant.id.clone(),
            reason: tenant.state_reason.clone().unwrap_or_default(),
        });
    }
    let metrics = Metrics::default();
    let budget = Budget::new(redis.clone(), keys.clone(), config.rate_window);
    let api = TenantApi {
        client: FsClient::for_domain(
            client::http_client(config.request_timeout),
            &config.common.freshservice_url_template,
            &tenant.domain,
            tenants.api_key(&tenant)?,
        ),
        budget: &budget,
        metrics: &metrics,
        tenant: &tenant.id,
        limit: tenant
            .rate_limit_per_min
            .unwrap_or(config.default_rate_limit),
        lease: None,
        // An operator's command waits for the budget in place.
        inline_wait: Duration::from_secs(600),
    };
    let listing = Listing {
        api: &api,
        tenant: &tenant,
    };
    let mut requesters = listing.all().await?;
    let listed = requesters.len();
    let users = scim_users(&redis, &keys, &tenant.id).await?;
    let mut r = redis.clone();
    let map: HashMap<String, u64> = r.hgetall(keys.map_requester(&tenant.id)).await?;
    // Mapped requesters the listing lacks: asked for one by one.
    let present: HashSet<u64> = requesters.iter().map(|q| q.id).collect();
    let mut gone = HashSet::new();
    for rid in map.values().filter(|rid| !present.contains(rid)) {
        match listing.get(*rid).await? {
            Some(q) => requesters.push(q),
            None => {
                gone.insert(*rid);
            }
        }
    }
    let mut entries = classify(&users, &map, &requesters, &gone);
    let mut published = 0;
    if apply {
        published = Apply {
            redis: redis.clone(),
            keys: keys.clone(),
            sync: SyncStore::new(redis.clone(), keys.clone()),
            leases: Leases::new(redis.clone(), keys.clone(), config.lease_ttl),
            publisher: Arc::new(Publisher::new(
                config.common.amqp_url.clone(),
                Topology::new(config.common.queue_prefix.clone()),
                Duration::from_secs(10),
            )),
            tenant: &tenant.id,
        }
        .run(&users, &mut entries)
        .await?;
    }
    let mut counts: BTreeMap<Category, usize> = [
        Category::Linked,
        Category::Vanished,
        Category::Linkable,
        Category::ScimOnly,
        Category::FreshserviceOnly,
        Category::Conflict,
    ]
    .into_iter()
    .map(|c| (c, 0))
    .collect();
    for e in &entries {
        *counts.entry(e.category).or_default() += 1;
    }
    Ok(Report {
        tenant: tenant.id.clone(),
        domain: tenant.domain.clone(),
        dry_run: !apply,
        listed,
        counts,
        entries,
        published,
    })
}

/// The account's users, through the tenant's budget.
struct Listing<'a> {
    api: &'a TenantApi<'a>,
    tenant: &'a Tenant,
}

impl Listing<'_> {
    /// Every page of `GET /requesters` (agents included).
    async fn all(&self) -> Result<Vec<Requester>, ResyncError> {
        let mut out = Vec::new();
        for page in 1.. {
            let a = self.call(Call::requesters_page(page)).await?;
            out.extend(client::parse_requesters(&a.text).map_err(|e| self.fs(e))?);
            if !a.more {
                break;
            }
        }
        Ok(out)
    }

    /// One requester by id; `None` when Freshservice answers 404.
    async fn get(&self, rid: u64) -> Result<Option<Requester>, ResyncError> {
        match self.try_call(Call::get(rid)).await {
            Ok(a) => Ok(Some(
                client::parse_requester(&a.text).map_err(|e| self.fs(e))?,
            )),
            Err(Halt::Fs(FsError::NotFound)) => Ok(None),
            Err(h) => Err(self.halt(h)),
        }
    }

    async fn call(&self, call: Call) -> Result<client::Answer, ResyncError> {
        self.try_call(call).await.map_err(|h| self.halt(h))
    }

    /// The call, waiting out a 429 or an empty budget up to [`MAX_WAITS`]
    /// times.
    async fn try_call(&self, call: Call) -> Result<client::Answer, Halt> {
        let mut waits = 0;
        loop {
            match self.api.call(call.clone()).await {
                Err(Halt::Park { after, reason }) if waits < MAX_WAITS => {
                    waits += 1;
                    eprintln!("waiting {after:?}: {reason}");
                    tokio::time::sleep(after).await;
                }
                other => return other,
            }
        }
    }

    fn fs(&self, e: FsError) -> ResyncError {
        ResyncError::Freshservice {
            domain: self.tenant.domain.clone(),
            detail: e.to_string(),
        }
    }

    fn halt(&self, h: Halt) -> ResyncError {
        match h {
            Halt::Fs(FsError::Credentials { status, body }) => ResyncError::CredentialsRejected {
                tenant: self.tenant.id.clone(),
                reason: format!("Freshservice answered {status}: {body}"),
            },
            Halt::Fs(e) => self.fs(e),
            Halt::Redis(e) => ResyncError::Redis(e),
            other => ResyncError::Freshservice {
                domain: self.tenant.domain.clone(),
                detail: other.to_string(),
            },
        }
    }
}

/// Every SCIM user the ingress stores for the tenant, in creation order.
async fn scim_users(
    redis: &ConnectionManager,
    keys: &Keys,
    tenant: &str,
) -> Result<Vec<ScimUser>, ResyncError> {
    let mut r = redis.clone();
    let mut out = Vec::new();
    let mut offset = 0isize;
    loop {
        let ids: Vec<String> = r
            .zrange(keys.users(tenant), offset, offset + CHUNK - 1)
            .await?;
        let mut p = redis::pipe();
        for id in &ids {
            p.hgetall(keys.user(tenant, id));
        }
        let hashes: Vec<HashMap<String, String>> = if ids.is_empty() {
            Vec::new()
        } else {
            shared::redis_conn::query_pipe(&p, &mut r).await?
        };
        for (id, h) in ids.iter().zip(hashes) {
            match UserRecord::decode(&h) {
                Ok(Some(u)) => out.push(ScimUser {
                    id: id.clone(),
                    user_name: u.doc["userName"].as_str().map(str::to_string),
                    email: primary_email(&u.doc),
                    version: u.version,
                    deleted: u.deleted,
                }),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(tenant, user = %id, error = %e, "unreadable SCIM user; left out of the resync");
                }
            }
        }
        if (ids.len() as isize) < CHUNK {
            return Ok(out);
        }
        offset += CHUNK;
    }
}

/// The match (pure): each SCIM user against the mapping and the account's
/// users, then the account's requesters nobody accounts for. `gone`: mapped
/// requester ids Freshservice answered 404 for.
fn classify(
    users: &[ScimUser],
    map: &HashMap<String, u64>,
    requesters: &[Requester],
    gone: &HashSet<u64>,
) -> Vec<Entry> {
    let by_id: HashMap<u64, &Requester> = requesters.iter().map(|q| (q.id, q)).collect();
    let mut by_email: HashMap<String, &Requester> = HashMap::new();
    for q in requesters {
        if let Some(e) = &q.primary_email {
            by_email.entry(identity::fold(e)).or_insert(q);
        }
    }
    let known: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    // Requester → the (existing) SCIM user mapped to it.
    let owner: HashMap<u64, &str> = map
        .iter()
        .filter(|(id, _)| known.contains(id.as_str()))
        .map(|(id, rid)| (*rid, id.as_str()))
        .collect();
    let mut named: HashSet<u64> = owner.keys().copied().collect();
    let mut out = Vec::new();
    for u in users {
        let entry = |category, requester_id, note: Option<String>| Entry {
            category,
            scim_id: Some(u.id.clone()),
            user_name: u.user_name.clone(),
            email: u.email.clone(),
            requester_id,
            note,
            done: None,
        };
        if let Some(rid) = map.get(&u.id) {
            if gone.contains(rid) || !by_id.contains_key(rid) {
                out.push(entry(Category::Vanished, Some(*rid), None));
            } else {
                out.push(entry(Category::Linked, Some(*rid), None));
            }
            continue;
        }
        // A deleted user with no mapping has nothing left in Freshservice
        // to account for.
        if u.deleted {
            continue;
        }
        let found = u
            .email
            .as_deref()
            .and_then(|e| by_email.get(&identity::fold(e)).copied());
        match found {
            None => out.push(entry(Category::ScimOnly, None, None)),
            Some(q) => {
                named.insert(q.id);
                if q.is_agent == Some(true) {
                    out.push(entry(
                        Category::Conflict,
                        Some(q.id),
                        Some("the email is an agent's; the bridge never touches agents".into()),
                    ));
                } else if let Some(other) = owner.get(&q.id) {
                    out.push(entry(
                        Category::Conflict,
                        Some(q.id),
                        Some(format!("the requester is linked to SCIM user {other}")),
                    ));
                } else {
                    out.push(entry(Category::Linkable, Some(q.id), None));
                }
            }
        }
    }
    for q in requesters {
        if q.is_agent == Some(true) || named.contains(&q.id) {
            continue;
        }
        out.push(Entry {
            category: Category::FreshserviceOnly,
            scim_id: None,
            user_name: None,
            email: q.primary_email.clone(),
            requester_id: Some(q.id),
            note: (q.active == Some(false)).then(|| "deactivated".to_string()),
            done: None,
        });
    }
    out
}

/// What `--apply` writes, under each user's lease.
struct Apply<'a> {
    redis: ConnectionManager,
    keys: Keys,
    sync: SyncStore,
    leases: Leases,
    publisher: Arc<Publisher>,
    tenant: &'a str,
}

impl Apply<'_> {
    /// Links the linkable, unlinks the vanished, publishes an event for
    /// each; returns how many events were published.
    async fn run(&self, users: &[ScimUser], entries: &mut [Entry]) -> Result<usize, ResyncError> {
        let versions: HashMap<&str, u64> =
            users.iter().map(|u| (u.id.as_str(), u.version)).collect();
        let request_id = format!("resync-{}", uuid::Uuid::new_v4().simple());
        let mut published = 0;
        for e in entries.iter_mut() {
            let (Some(id), Some(rid)) = (e.scim_id.clone(), e.requester_id) else {
                continue;
            };
            let linking = match e.category {
                Category::Linkable => true,
                Category::Vanished => false,
                _ => continue,
            };
            match self.touch(&id, rid, linking).await? {
                Ok(done) => {
                    let version = versions.get(id.as_str()).copied().unwrap_or(0);
                    self.publisher
                        .publish_change(&ChangeEvent::user(self.tenant, &id, version, &request_id))
                        .await?;
                    published += 1;
                    e.done = Some(done);
                }
                Err(why) => {
                    e.done = Some(Done::Skipped);
                    e.note = Some(why.into());
                }
            }
        }
        Ok(published)
    }

    /// One user, lease held: link it to `rid` (`linking`) or drop its
    /// mapping to `rid`, then make its next event converge it. `Err`: why
    /// it was left alone.
    async fn touch(
        &self,
        id: &str,
        rid: u64,
        linking: bool,
    ) -> Result<Result<Done, &'static str>, ResyncError> {
        let Some(lease) = self.leases.acquire(self.tenant, id).await? else {
            return Ok(Err("a worker is converging this user; run resync again"));
        };
        let result = async {
            // The listing is a moment old: only the mapping it saw is changed.
            let now: Option<u64> = self
                .redis
                .clone()
                .hget(self.keys.map_requester(self.tenant), id)
                .await?;
            let expected = if linking { None } else { Some(rid) };
            if now != expected {
                return Ok(Err(
                    "its mapping changed since the listing; run resync again",
                ));
            }
            if linking {
                if self.sync.link(&lease, self.tenant, id, rid).await? == Written::Fenced {
                    return Ok(Err("lost the user's lease; run resync again"));
                }
            } else {
                self.sync.unlink(self.tenant, id, rid).await?;
            }
            if self.sync.reopen(&lease, self.tenant, id).await? == Written::Fenced {
                return Ok(Err("lost the user's lease; run resync again"));
            }
            Ok(Ok(if linking {
                Done::Linked
            } else {
                Done::Unlinked
            }))
        }
        .await;
        self.leases.release(&lease).await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: Option<&str>) -> ScimUser {
        ScimUser {
            id: id.into(),
            user_name: email.map(str::to_string),
            email: email.map(str::to_string),
            version: 1,
            deleted: false,
        }
    }

    fn req(id: u64, email: &str, agent: bool) -> Requester {
        serde_json::from_value(serde_json::json!({
            "id": id, "primary_email": email, "active": true, "is_agent": agent
        }))
        .unwrap()
    }

    fn of(entries: &[Entry], id: &str) -> (Category, Option<u64>) {
        let e = entries
            .iter()
            .find(|e| e.scim_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{id} not reported"));
        (e.category, e.requester_id)
    }

    #[test]
    fn every_category() {
        let users = vec![
            user("linked", Some("a@x.test")),
            user("vanished", Some("b@x.test")),
            user("linkable", Some("C@X.test")),
            user("scim-only", Some("d@x.test")),
            user("no-email", None),
            user("agent", Some("agent@x.test")),
            user("taken", Some("a@x.test")),
            ScimUser {
                deleted: true,
                ..user("deleted", Some("gone@x.test"))
            },
        ];
        let map: HashMap<String, u64> = [("linked".to_string(), 1), ("vanished".to_string(), 2)]
            .into_iter()
            .collect();
        let requesters = vec![
            req(1, "a@x.test", false),
            req(3, "c@x.test", false),
            req(4, "stranger@x.test", false),
            req(5, "agent@x.test", true),
            req(6, "other-agent@x.test", true),
        ];
        let gone: HashSet<u64> = [2].into_iter().collect();
        let e = classify(&users, &map, &requesters, &gone);
        assert_eq!(of(&e, "linked"), (Category::Linked, Some(1)));
        assert_eq!(of(&e, "vanished"), (Category::Vanished, Some(2)));
        assert_eq!(of(&e, "linkable"), (Category::Linkable, Some(3)));
        assert_eq!(of(&e, "scim-only"), (Category::ScimOnly, None));
        assert_eq!(of(&e, "no-email"), (Category::ScimOnly, None));
        assert_eq!(of(&e, "agent"), (Category::Conflict, Some(5)));
        assert_eq!(of(&e, "taken"), (Category::Conflict, Some(1)));
        assert!(e.iter().all(|x| x.scim_id.as_deref() != Some("deleted")));
        let fs_only: Vec<u64> = e
            .iter()
            .filter(|x| x.category == Category::FreshserviceOnly)
            .filter_map(|x| x.requester_id)
            .collect();
        // Agents are never "Freshservice-only": the bridge leaves them be.
        assert_eq!(fs_only, vec![4]);
    }

    #[test]
    fn errors_name_the_tenant_and_the_setting() {
        let e = ResyncError::UnknownTenant("nope".into()).to_string();
        assert!(
            e.contains("\"nope\"") && e.contains("ingress tenant list"),
            "{e}"
        );
        let e = ResyncError::Broker(PublishError::Timeout(Duration::from_secs(1))).to_string();
        assert!(e.contains("AMQP_URL"), "{e}");
    }
}
