//! The tenant registry: one tenant per Freshservice account, reached by the
//! bearer token Okta presents.
//!
//! The token is stored only as its SHA-256 hash and the API key only encrypted
//! under the master key (`docs/architecture.md` §3, invariant 7). The
//! registry's global keys (token → tenant, domain → tenant) are single-key
//! lookups; everything else about a tenant lives under its `{tenant}` hash
//! tag.

use redis::{aio::ConnectionManager, AsyncCommands};
use serde::{Deserialize, Serialize};

use crate::{
    crypto::{self, CryptoError, MasterKey},
    keys::Keys,
};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("state store unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("invalid Freshservice domain {0:?}: give the account's subdomain (`acme`), `acme.freshservice.com` or its https URL")]
    BadDomain(String),
    #[error("the API key is empty")]
    EmptyApiKey,
    #[error("tenant record {0} is incomplete")]
    Corrupt(String),
}

/// Whether the bridge may call Freshservice for this tenant. Any state but
/// `Active` holds the tenant's changes: the ingress keeps accepting and
/// storing SCIM writes, the workers stop consuming the tenant's queue
/// (`worker/src/consume.rs`) so its changes wait there, and none is lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantState {
    Active,
    /// Freshservice answered 401/403; messages are kept until the tenant's
    /// API key is updated.
    CredentialsRejected,
    /// An operator paused it (`ingress tenant pause`); messages are kept
    /// until `ingress tenant resume`.
    Paused,
}

impl TenantState {
    /// The stored (and printed) name: `active`, `credentials_rejected`, `paused`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::CredentialsRejected => "credentials_rejected",
            Self::Paused => "paused",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "credentials_rejected" => Self::CredentialsRejected,
            "paused" => Self::Paused,
            _ => Self::Active,
        }
    }
}

/// What [`TenantStore::pause`] found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paused {
    /// It was active and is paused now.
    Done,
    /// It was paused already (the reason is replaced).
    Already,
    /// Its credentials were rejected: it is held already, and pausing would
    /// hide that the API key must be replaced. Nothing changed.
    CredentialsRejected,
}

/// What [`TenantStore::resume`] found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resumed {
    /// It was paused and is active now.
    Done,
    /// It was not paused; nothing changed.
    NotPaused,
    /// Its credentials were rejected: only a new API key resumes it (the
    /// settings page, or a re-install). Nothing changed.
    CredentialsRejected,
}

/// Sets `state` = `paused` (and `state_reason`) unless the credentials
/// were rejected. KEYS: tenant record. ARGV: reason ('' = none).
/// Returns the state before; `''` when there is no such tenant.
const PAUSE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local st = redis.call('HGET', KEYS[1], 'state') or 'active'
if st == 'credentials_rejected' then return st end
redis.call('HSET', KEYS[1], 'state', 'paused')
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'state_reason')
else redis.call('HSET', KEYS[1], 'state_reason', ARGV[1]) end
return st
"#;

/// Sets `state` = `active` only if it is `paused`. KEYS: tenant record.
/// Returns the state before; `''` when there is no such tenant.
const RESUME: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local st = redis.call('HGET', KEYS[1], 'state') or 'active'
if st ~= 'paused' then return st end
redis.call('HSET', KEYS[1], 'state', 'active')
redis.call('HDEL', KEYS[1], 'state_reason')
return st
"#;

/// A new (or re-checked) API key: stored, and a tenant held for rejected
/// credentials is active again. An operator's pause stays: only `resume`
/// ends it. KEYS: tenant record. ARGV: sealed key.
const SET_API_KEY: &str = r#"
redis.call('HSET', KEYS[1], 'api_key', ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'paused' then
  redis.call('HSET', KEYS[1], 'state', 'active')
  redis.call('HDEL', KEYS[1], 'state_reason')
end
return 1
"#;

/// Marks the credentials rejected unless an operator paused the tenant
/// meanwhile (the pause, and its reason, win). KEYS: tenant record.
/// ARGV: reason.
const REJECT_CREDENTIALS: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'state') == 'paused' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'credentials_rejected', 'state_reason', ARGV[1])
return 1
"#;

/// A tenant as stored. The API key stays sealed until [`TenantStore::api_key`].
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    /// Freshservice subdomain, e.g. `acme`.
    pub domain: String,
    /// Calls per minute the tenant's plan allows; `None` means the default.
    pub rate_limit_per_min: Option<u32>,
    pub state: TenantState,
    /// Why the state is what it is (e.g. Freshservice's 401 text).
    pub state_reason: Option<String>,
    pub created_at: String,
    sealed_api_key: String,
    token_hash: String,
}

/// Normalises what an admin types as the domain (`acme`,
/// `acme.freshservice.com`, `https://acme.freshservice.com/`) to the bare
/// subdomain, and refuses anything else (this is the SSRF guard: the bridge
/// only ever calls `FRESHSERVICE_URL_TEMPLATE` filled with `[a-z0-9-]+`).
pub fn normalize_domain(input: &str) -> Result<String, TenantError> {
    let mut d = input.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(scheme) {
            d = rest.to_string();
        }
    }
    let d = d.trim_end_matches('/');
    let d = d.strip_suffix(".freshservice.com").unwrap_or(d);
    let ok = !d.is_empty()
        && d.len() <= 63
        && d.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !d.starts_with('-')
        && !d.ends_with('-');
    if ok {
        Ok(d.to_string())
    } else {
        Err(TenantError::BadDomain(input.to_string()))
    }
}

/// What [`TenantStore::install`] hands back: the tenant and its new token,
/// which is shown once and never stored in the clear.
pub struct Installed {
    pub tenant: Tenant,
    pub bearer_token: String,
    /// True when an earlier install of this domain was replaced (its token
    /// no longer works).
    pub replaced: bool,
}

#[derive(Clone)]
pub struct TenantStore {
    redis: ConnectionManager,
    keys: Keys,
    master: MasterKey,
}

impl TenantStore {
    pub fn new(redis: ConnectionManager, keys: Keys, master: MasterKey) -> Self {
        Self {
            redis,
            keys,
            master,
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Creates the tenant for `domain`, or re-issues its token (revoking the
    /// old one) if the domain is already installed.
    pub async fn install(&self, domain: &str, api_key: &str) -> Result<Installed, TenantError> {
        let domain = normalize_domain(domain)?;
        let api_key = api_key.trim();
        if api_key.is_empty() {
            return Err(TenantError::EmptyApiKey);
        }
        let mut r = self.redis.clone();
        let existing: Option<String> = r.get(self.keys.domain(&domain)).await?;
        let (id, replaced) = match existing {
            Some(id) => (id, true),
            None => (uuid::Uuid::new_v4().simple().to_string(), false),
        };
        let token = crypto::new_bearer_token();
        let hash = crypto::token_hash(&token);
        let tkey = self.keys.tenant(&id);
        let old_hash: Option<String> = r.hget(&tkey, "token_hash").await?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // Order matters for crash safety: the record first, then the token
        // that points at it, then the old token's removal.
        let _: () = redis::pipe()
            .atomic()
            .hset(&tkey, "id", &id)
            .hset(&tkey, "domain", &domain)
            .hset(&tkey, "token_hash", &hash)
            .cmd("HSETNX")
            .arg(&tkey)
            .arg("created_at")
            .arg(&now)
            .query_async(&mut r)
            .await?;
        // The key, and the state it mends (an operator's pause survives a
        // re-install: only `resume` ends it).
        let _: i64 = redis::Script::new(SET_API_KEY)
            .key(&tkey)
            .arg(self.master.encrypt(api_key))
            .invoke_async(&mut r)
            .await?;
        let _: () = r.set(self.keys.token(&hash), &id).await?;
        let _: () = r.set(self.keys.domain(&domain), &id).await?;
        let _: () = r.sadd(self.keys.tenants(), &id).await?;
        if let Some(old) = old_hash.filter(|o| o != &hash) {
            let _: () = r.del(self.keys.token(&old)).await?;
        }
        let tenant = self
            .get(&id)
            .await?
            .ok_or_else(|| TenantError::Corrupt(id.clone()))?;
        Ok(Installed {
            tenant,
            bearer_token: token,
            replaced,
        })
    }

    /// The tenant a bearer token belongs to, if any.
    pub async fn by_token(&self, token: &str) -> Result<Option<Tenant>, TenantError> {
        let hash = crypto::token_hash(token);
        let mut r = self.redis.clone();
        let id: Option<String> = r.get(self.keys.token(&hash)).await?;
        let Some(id) = id else { return Ok(None) };
        let Some(t) = self.get(&id).await? else {
            return Ok(None);
        };
        // The lookup above already matched; this constant-time check guards
        // against a stale token key left by an interrupted re-install.
        Ok(crypto::hashes_equal(&t.token_hash, &hash).then_some(t))
    }

    pub async fn by_domain(&self, domain: &str) -> Result<Option<Tenant>, TenantError> {
        let domain = normalize_domain(domain)?;
        let mut r = self.redis.clone();
        let id: Option<String> = r.get(self.keys.domain(&domain)).await?;
        match id {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<Tenant>, TenantError> {
        let mut r = self.redis.clone();
        let h: std::collections::HashMap<String, String> = r.hgetall(self.keys.tenant(id)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        let field = |k: &str| {
            h.get(k)
                .cloned()
                .ok_or_else(|| TenantError::Corrupt(id.to_string()))
        };
        Ok(Some(Tenant {
            id: id.to_string(),
            domain: field("domain")?,
            rate_limit_per_min: h.get("rate_limit_per_min").and_then(|v| v.parse().ok()),
            state: TenantState::parse(h.get("state").map(String::as_str).unwrap_or("active")),
            state_reason: h.get("state_reason").cloned(),
            created_at: h.get("created_at").cloned().unwrap_or_default(),
            sealed_api_key: field("api_key")?,
            token_hash: field("token_hash")?,
        }))
    }

    /// Decrypts the tenant's Freshservice API key. Never log the result.
    pub fn api_key(&self, t: &Tenant) -> Result<String, TenantError> {
        Ok(self.master.decrypt(&t.sealed_api_key)?)
    }

    pub async fn set_state(
        &self,
        id: &str,
        state: TenantState,
        reason: Option<&str>,
    ) -> Result<(), TenantError> {
        let mut r = self.redis.clone();
        let tkey = self.keys.tenant(id);
        let mut p = redis::pipe();
        p.hset(&tkey, "state", state.as_str());
        match reason {
            Some(reason) => p.hset(&tkey, "state_reason", reason),
            None => p.hdel(&tkey, "state_reason"),
        };
        let _: () = crate::redis_conn::query_pipe(&p, &mut r).await?;
        Ok(())
    }

    pub async fn set_rate_limit(&self, id: &str, per_min: u32) -> Result<(), TenantError> {
        let mut r = self.redis.clone();
        let _: () = r
            .hset(self.keys.tenant(id), "rate_limit_per_min", per_min)
            .await?;
        Ok(())
    }

    pub async fn ids(&self) -> Result<Vec<String>, TenantError> {
        let mut r = self.redis.clone();
        Ok(r.smembers(self.keys.tenants()).await?)
    }

    /// Whether the tenant is in the registry right now (a single-key read:
    /// what a worker checks just before and just after declaring a queue).
    pub async fn is_installed(&self, id: &str) -> Result<bool, TenantError> {
        let mut r = self.redis.clone();
        Ok(r.sismember(self.keys.tenants(), id).await?)
    }

    /// Uninstalled tenants whose queue may still exist (the uninstall could
    /// not delete it, or a declare or publish racing the uninstall brought
    /// it back), each with the time of its uninstall (ms since the epoch).
    /// Tenant ids are never reused, so deleting these queues is always safe.
    pub async fn retired(&self) -> Result<Vec<(String, i64)>, TenantError> {
        let mut r = self.redis.clone();
        let all: Vec<(String, f64)> = r.zrange_withscores(self.keys.retired(), 0, -1).await?;
        Ok(all.into_iter().map(|(id, at)| (id, at as i64)).collect())
    }

    /// Forgets an uninstalled tenant once its queue is known to be gone for
    /// good.
    pub async fn forget_retired(&self, id: &str) -> Result<(), TenantError> {
        let mut r = self.redis.clone();
        let _: () = r.zrem(self.keys.retired(), id).await?;
        Ok(())
    }

    /// The state of each of `ids`, in order, and whether it is paused after
    /// a 429 (`Keys::pause`), in one pipeline; a tenant gone meanwhile
    /// reads as active and not paused. For the metrics collector.
    pub async fn states(&self, ids: &[String]) -> Result<Vec<(TenantState, bool)>, TenantError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut p = redis::pipe();
        for id in ids {
            p.hget(self.keys.tenant(id), "state")
                .exists(self.keys.pause(id));
        }
        let flat: Vec<redis::Value> =
            crate::redis_conn::query_pipe(&p, &mut self.redis.clone()).await?;
        flat.chunks(2)
            .map(|c| {
                let state: Option<String> = match c.first() {
                    Some(v) => redis::FromRedisValue::from_redis_value(v.clone())
                        .map_err(redis::RedisError::from)?,
                    None => None,
                };
                let paused: bool = match c.get(1) {
                    Some(v) => redis::FromRedisValue::from_redis_value(v.clone())
                        .map_err(redis::RedisError::from)?,
                    None => false,
                };
                Ok((
                    TenantState::parse(state.as_deref().unwrap_or("active")),
                    paused,
                ))
            })
            .collect()
    }

    /// Every installed tenant, ordered by domain.
    pub async fn list(&self) -> Result<Vec<Tenant>, TenantError> {
        let mut out = Vec::new();
        for id in self.ids().await? {
            if let Some(t) = self.get(&id).await? {
                out.push(t);
            }
        }
        out.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(out)
    }

    /// Whether `candidate` is the tenant's API key. Both sides are hashed
    /// and compared in constant time; the key itself is never returned.
    pub fn api_key_matches(&self, t: &Tenant, candidate: &str) -> Result<bool, TenantError> {
        let stored = self.api_key(t)?;
        Ok(crypto::hashes_equal(
            &crypto::token_hash(stored.trim()),
            &crypto::token_hash(candidate.trim()),
        ))
    }

    /// Replaces the tenant's API key (after the caller checked it against
    /// Freshservice) and makes a tenant whose credentials were rejected
    /// active again; an operator's pause stays. The bearer token stays
    /// valid.
    pub async fn set_api_key(&self, id: &str, api_key: &str) -> Result<(), TenantError> {
        let api_key = api_key.trim();
        if api_key.is_empty() {
            return Err(TenantError::EmptyApiKey);
        }
        let mut r = self.redis.clone();
        let _: i64 = redis::Script::new(SET_API_KEY)
            .key(self.keys.tenant(id))
            .arg(self.master.encrypt(api_key))
            .invoke_async(&mut r)
            .await?;
        Ok(())
    }

    /// The tenant named by `id_or_domain`: its id, else a domain in any
    /// form [`normalize_domain`] takes.
    pub async fn find(&self, id_or_domain: &str) -> Result<Option<Tenant>, TenantError> {
        if let Some(t) = self.get(id_or_domain.trim()).await? {
            return Ok(Some(t));
        }
        match normalize_domain(id_or_domain) {
            Ok(_) => self.by_domain(id_or_domain).await,
            Err(_) => Ok(None),
        }
    }

    /// An operator's pause: the workers stop calling Freshservice for the
    /// tenant and keep its changes until [`Self::resume`]. `None`: no such
    /// tenant.
    pub async fn pause(
        &self,
        id: &str,
        reason: Option<&str>,
    ) -> Result<Option<Paused>, TenantError> {
        let mut r = self.redis.clone();
        let before: String = redis::Script::new(PAUSE)
            .key(self.keys.tenant(id))
            .arg(reason.map(str::trim).unwrap_or_default())
            .invoke_async(&mut r)
            .await?;
        Ok(match before.as_str() {
            "" => None,
            "paused" => Some(Paused::Already),
            "credentials_rejected" => Some(Paused::CredentialsRejected),
            _ => Some(Paused::Done),
        })
    }

    /// Ends an operator's pause; never ends a hold for rejected
    /// credentials (that takes a new API key). `None`: no such tenant.
    pub async fn resume(&self, id: &str) -> Result<Option<Resumed>, TenantError> {
        let mut r = self.redis.clone();
        let before: String = redis::Script::new(RESUME)
            .key(self.keys.tenant(id))
            .invoke_async(&mut r)
            .await?;
        Ok(match before.as_str() {
            "" => None,
            "paused" => Some(Resumed::Done),
            "credentials_rejected" => Some(Resumed::CredentialsRejected),
            _ => Some(Resumed::NotPaused),
        })
    }

    /// Freshservice refused the tenant's API key: hold its changes until
    /// the key is replaced, unless an operator paused it meanwhile (that
    /// pause stays, with its reason).
    pub async fn reject_credentials(&self, id: &str, reason: &str) -> Result<(), TenantError> {
        let mut r = self.redis.clone();
        let _: i64 = redis::Script::new(REJECT_CREDENTIALS)
            .key(self.keys.tenant(id))
            .arg(reason)
            .invoke_async(&mut r)
            .await?;
        Ok(())
    }

    /// The ids among `ids` whose changes are held (any state but active),
    /// in one round trip: what a worker checks on every tenant scan.
    pub async fn held(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>, TenantError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut r = self.redis.clone();
        let mut p = redis::pipe();
        for id in ids {
            p.hget(self.keys.tenant(id), "state");
        }
        let states: Vec<Option<String>> = crate::redis_conn::query_pipe(&p, &mut r).await?;
        Ok(ids
            .iter()
            .zip(states)
            .filter(|(_, s)| {
                s.as_deref()
                    .is_some_and(|s| TenantState::parse(s) != TenantState::Active)
            })
            .map(|(id, _)| id.clone())
            .collect())
    }

    /// Issues the tenant a new bearer token and revokes the old one at
    /// once in Redis (the ingress's short token cache aside:
    /// `ingress/src/token_cache.rs`). Returns the new token, shown once;
    /// `None`: no such tenant.
    pub async fn rotate_token(&self, id: &str) -> Result<Option<String>, TenantError> {
        let mut r = self.redis.clone();
        let tkey = self.keys.tenant(id);
        let old_hash: Option<String> = r.hget(&tkey, "token_hash").await?;
        let Some(old_hash) = old_hash else {
            return Ok(None);
        };
        let token = crypto::new_bearer_token();
        let hash = crypto::token_hash(&token);
        // The new token's key first, then the record (from here on the old
        // token fails `by_token`'s check), then the old key's removal.
        let _: () = r.set(self.keys.token(&hash), id).await?;
        let _: () = r.hset(&tkey, "token_hash", &hash).await?;
        let _: () = r.del(self.keys.token(&old_hash)).await?;
        Ok(Some(token))
    }

    /// Removes a tenant: first what lets anyone reach it (its token and
    /// domain keys, its registry entry), then every key under its
    /// `{tenant}` hash tag (record, SCIM users, indexes, sync status, id
    /// mappings, budget, sessions). Events still queued for it are skipped
    /// by the workers, which find no tenant. Returns false if there was no
    /// such tenant.
    ///
    /// The tenant is recorded as retired before it leaves the registry, so
    /// at every moment it is either installed or known to need its queue
    /// deleted (by the caller, and by the workers if the caller cannot).
    ///
    /// On Redis Cluster, run it against the node holding the tenant's slot
    /// (the tag keeps all of them together); SCAN is per node.
    pub async fn uninstall(&self, id: &str) -> Result<bool, TenantError> {
        let mut r = self.redis.clone();
        let tkey = self.keys.tenant(id);
        let (domain, token_hash): (Option<String>, Option<String>) = redis::pipe()
            .hget(&tkey, "domain")
            .hget(&tkey, "token_hash")
            .query_async(&mut r)
            .await?;
        let known: bool = r.sismember(self.keys.tenants(), id).await?;
        if domain.is_none() && token_hash.is_none() && !known {
            return Ok(false);
        }
        if let Some(h) = &token_hash {
            let _: () = r.del(self.keys.token(h)).await?;
        }
        if let Some(d) = &domain {
            // Only if it still points here (a concurrent re-install of the
            // same domain keeps its own mapping).
            let dkey = self.keys.domain(d);
            let owner: Option<String> = r.get(&dkey).await?;
            if owner.as_deref() == Some(id) {
                let _: () = r.del(&dkey).await?;
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        let _: () = r.zadd(self.keys.retired(), id, now).await?;
        let _: () = r.srem(self.keys.tenants(), id).await?;
        self.delete_tagged(id, "*").await?;
        Ok(true)
    }

    /// Deletes the tenant's keys matching `{prefix}:{id}:<pattern>` (glob);
    /// returns how many were deleted.
    pub async fn delete_tagged(&self, id: &str, pattern: &str) -> Result<usize, TenantError> {
        let mut r = self.redis.clone();
        let glob = format!(
            "{}:{{{}}}:{}",
            glob_escape(self.keys.prefix()),
            glob_escape(id),
            pattern
        );
        let mut cursor: u64 = 0;
        let mut n = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&glob)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut r)
                .await?;
            if !batch.is_empty() {
                n += batch.len();
                let _: () = redis::cmd("UNLINK").arg(&batch).query_async(&mut r).await?;
            }
            if next == 0 {
                return Ok(n);
            }
            cursor = next;
        }
    }

    /// Re-encrypts every tenant's API key under `new`. Safe to run again
    /// after an interruption: a key already sealed under `new` is counted as
    /// done, and each write only lands if the stored value is still the one
    /// that was read (a concurrent install wins).
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<RotationReport, TenantError> {
        const CAS: &str = r#"
if redis.call('HGET', KEYS[1], 'api_key') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'api_key', ARGV[2]) return 1
end
return 0
"#;
        let script = redis::Script::new(CAS);
        let mut report = RotationReport::default();
        let mut r = self.redis.clone();
        for id in self.ids().await? {
            let tkey = self.keys.tenant(&id);
            let sealed: Option<String> = r.hget(&tkey, "api_key").await?;
            let Some(sealed) = sealed else {
                report.failed.push(id);
                continue;
            };
            let plain = match self.master.decrypt(&sealed) {
                Ok(p) => p,
                Err(_) if new.decrypt(&sealed).is_ok() => {
                    report.already += 1;
                    continue;
                }
                Err(_) => {
                    report.failed.push(id);
                    continue;
                }
            };
            let done: i32 = script
                .key(&tkey)
                .arg(&sealed)
                .arg(new.encrypt(&plain))
                .invoke_async(&mut r)
                .await?;
            if done == 1 {
                report.rotated += 1;
            } else {
                report.failed.push(id);
            }
        }
        Ok(report)
    }
}

/// What [`TenantStore::rotate_master_key`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Re-encrypted under the new key.
    pub rotated: usize,
    /// Already under the new key (an earlier, interrupted run).
    pub already: usize,
    /// Tenant ids whose key could be read under neither master key, or that
    /// changed while rotating: run again, or re-install them.
    pub failed: Vec<String>,
}

/// Escapes Redis glob metacharacters.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_normalise_or_refuse() {
        for ok in [
            "acme",
            "ACME",
            "acme.freshservice.com",
            "https://acme.freshservice.com/",
            " acme-it ",
        ] {
            assert!(normalize_domain(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            normalize_domain("https://Acme.freshservice.com/").unwrap(),
            "acme"
        );
        for bad in [
            "",
            "acme.evil.com",
            "127.0.0.1",
            "a/b",
            "acme.freshservice.com.evil",
            "-x",
            "a b",
            "a@b",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
