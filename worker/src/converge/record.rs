//! The user's sync status in Redis (`Keys::sync`) and the id mappings,
//! written with fenced Lua scripts: a worker that lost its lease writes
//! nothing, and the applied version never moves backwards.
//!
//! The hash's format is `shared::records::sync::SyncRecord`'s. The scripts
//! open with the field table rendered from its constants (why a table:
//! `shared/src/records/mod.rs`); the tests below check they name no field
//! any other way.

use std::collections::HashMap;

use redis::{aio::ConnectionManager, AsyncCommands, Script};
use serde_json::{Map, Value};
use shared::{
    event::ResourceKind,
    keys::Keys,
    pending,
    records::{
        lua_fields,
        sync::{encode_warnings, field, SyncRecord},
    },
};

use crate::lease::Lease;

/// Script bodies run behind the field table: `script(RECORD)`.
///
/// KEYS: lease, sync, map_requester, map_scim, failed, user hash, pending.
/// ARGV: token, version, requester id ('' = unlink), snapshot ('' = none),
/// active ('1'/'0'), now, warnings JSON, scim id, waiting for ('' = none),
/// the user hash's version field, the user's pending member.
///
/// The user stops being pending (`shared/src/pending.rs`) only when the
/// version recorded is its current one: a write accepted meanwhile keeps it.
const RECORD: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local cur = tonumber(redis.call('HGET', KEYS[2], F.APPLIED_VERSION) or '0')
local v = tonumber(ARGV[2])
-- The same version again only for a user that waited for its manager.
if cur > v or (cur == v and not redis.call('HGET', KEYS[2], F.WAITING_FOR)) then return 'stale' end
local old = redis.call('HGET', KEYS[3], ARGV[8])
if ARGV[3] == '' then
  if old then redis.call('HDEL', KEYS[4], old) end
  redis.call('HDEL', KEYS[3], ARGV[8])
  redis.call('HDEL', KEYS[2], F.REQUESTER_ID)
else
  if old and old ~= ARGV[3] then redis.call('HDEL', KEYS[4], old) end
  redis.call('HSET', KEYS[3], ARGV[8], ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[8])
  redis.call('HSET', KEYS[2], F.REQUESTER_ID, ARGV[3])
end
if ARGV[4] == '' then redis.call('HDEL', KEYS[2], F.SNAPSHOT) else redis.call('HSET', KEYS[2], F.SNAPSHOT, ARGV[4]) end
redis.call('HSET', KEYS[2], F.APPLIED_VERSION, ARGV[2], F.ACTIVE, ARGV[5], F.UPDATED_AT, ARGV[6],
  F.WARNINGS, ARGV[7], F.ATTEMPTS, 0)
redis.call('HDEL', KEYS[2], F.LAST_ERROR, F.DEAD, F.CREATE_SENT)
if ARGV[9] == '' then redis.call('HDEL', KEYS[2], F.WAITING_FOR) else redis.call('HSET', KEYS[2], F.WAITING_FOR, ARGV[9]) end
redis.call('SREM', KEYS[5], ARGV[8])
if v >= tonumber(redis.call('HGET', KEYS[6], ARGV[10]) or '0') then redis.call('ZREM', KEYS[7], ARGV[11]) end
return 'ok'
"#;

/// Links SCIM id ↔ requester id as soon as it is known, so a crash between
/// a create and its record cannot lead to a second create.
/// KEYS: lease, sync, map_requester, map_scim. ARGV: token, requester id, scim id.
const LINK: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local old = redis.call('HGET', KEYS[3], ARGV[3])
if old and old ~= ARGV[2] then redis.call('HDEL', KEYS[4], old) end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], F.REQUESTER_ID, ARGV[2])
redis.call('HDEL', KEYS[2], F.CREATE_SENT)
return 'ok'
"#;

/// Notes that a create is about to be sent (`field::CREATE_SENT`), so a
/// later try knows its answer may have been lost. KEYS: lease, sync.
/// ARGV: token, now.
const CREATE_SENT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('HSET', KEYS[2], F.CREATE_SENT, ARGV[2])
return 'ok'
"#;

/// Forgets which version was applied, so the user's next event converges
/// it whatever its version: `worker resync` relinked or unlinked it by
/// hand (`worker/src/resync.rs`). KEYS: lease, sync. ARGV: token.
const REOPEN: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('HDEL', KEYS[2], F.APPLIED_VERSION)
return 'ok'
"#;

/// What the bridge last applied for one user.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub version: Option<u64>,
    pub requester_id: Option<u64>,
    pub snapshot: Option<Map<String, Value>>,
    pub active: Option<bool>,
    /// The applied version left a manager unnamed, waiting for them.
    pub waiting_for: Option<String>,
    /// An earlier create was sent and its answer never arrived (or could
    /// not be read): it may have committed.
    pub create_sent: bool,
}

/// Did a fenced write land?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Ok,
    /// Our lease is gone; another worker owns the user now.
    Fenced,
    /// A newer version is already recorded.
    Stale,
}

fn written(s: &str) -> Written {
    match s {
        "ok" => Written::Ok,
        "stale" => Written::Stale,
        _ => Written::Fenced,
    }
}

/// `F`, then `body`.
fn script(body: &str) -> String {
    format!("{}{body}", lua_fields(field::ALL))
}

#[derive(Clone)]
pub struct SyncStore {
    redis: ConnectionManager,
    keys: Keys,
    record: Script,
    link: Script,
    reopen: Script,
    create_sent: Script,
}

impl SyncStore {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            record: Script::new(&script(RECORD)),
            link: Script::new(&script(LINK)),
            reopen: Script::new(&script(REOPEN)),
            create_sent: Script::new(&script(CREATE_SENT)),
        }
    }

    /// The version applied, and whether it waits for a manager (then the
    /// same version is worth converging again).
    pub async fn applied_version(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<(Option<u64>, bool), redis::RedisError> {
        let (version, waiting): (Option<u64>, Option<String>) = self
            .redis
            .clone()
            .hmget(
                self.keys.sync(tenant, id),
                &[field::APPLIED_VERSION, field::WAITING_FOR],
            )
            .await?;
        Ok((version, waiting.is_some()))
    }

    pub async fn applied(&self, tenant: &str, id: &str) -> Result<Applied, redis::RedisError> {
        let mut r = self.redis.clone();
        let h: HashMap<String, String> = r.hgetall(self.keys.sync(tenant, id)).await?;
        let mapped: Option<u64> = r.hget(self.keys.map_requester(tenant), id).await?;
        let sync = SyncRecord::decode(&h);
        Ok(Applied {
            version: sync.applied_version,
            // The mapping hash is the authority (see `Keys::map_requester`).
            requester_id: mapped,
            snapshot: sync.snapshot,
            active: sync.active,
            waiting_for: sync.waiting_for,
            create_sent: sync.create_sent.is_some(),
        })
    }

    /// Records a converged user (fenced, never lowering the version).
    #[allow(clippy::too_many_arguments)]
    pub async fn record(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        version: u64,
        requester_id: Option<u64>,
        snapshot: Option<&Map<String, Value>>,
        active: bool,
        warnings: &[String],
        waiting_for: Option<&str>,
    ) -> Result<Written, redis::RedisError> {
        let mut r = self.redis.clone();
        let snapshot = snapshot
            .map(|s| Value::Object(s.clone()).to_string())
            .unwrap_or_default();
        let s: String = self
            .record
            .key(&lease.key)
            .key(self.keys.sync(tenant, id))
            .key(self.keys.map_requester(tenant))
            .key(self.keys.map_scim(tenant))
            .key(self.keys.failed(tenant))
            .key(self.keys.user(tenant, id))
            .key(self.keys.pending(tenant))
            .arg(lease.token)
            .arg(version)
            .arg(requester_id.map(|r| r.to_string()).unwrap_or_default())
            .arg(snapshot)
            .arg(if active { "1" } else { "0" })
            .arg(chrono::Utc::now().to_rfc3339())
            .arg(encode_warnings(warnings))
            .arg(id)
            .arg(waiting_for.unwrap_or_default())
            .arg(shared::records::user::field::VERSION)
            .arg(pending::member(ResourceKind::User, id))
            .invoke_async(&mut r)
            .await?;
        Ok(written(&s))
    }

    /// Links the user to a requester the moment its id is known.
    pub async fn link(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        requester_id: u64,
    ) -> Result<Written, redis::RedisError> {
        let mut r = self.redis.clone();
        let s: String = self
            .link
            .key(&lease.key)
            .key(self.keys.sync(tenant, id))
            .key(self.keys.map_requester(tenant))
            .key(self.keys.map_scim(tenant))
            .arg(lease.token)
            .arg(requester_id)
            .arg(id)
            .invoke_async(&mut r)
            .await?;
        Ok(written(&s))
    }

    /// Notes a create about to be sent (see `CREATE_SENT`).
    pub async fn create_sent(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
    ) -> Result<Written, redis::RedisError> {
        let mut r = self.redis.clone();
        let s: String = self
            .create_sent
            .key(&lease.key)
            .key(self.keys.sync(tenant, id))
            .arg(lease.token)
            .arg(chrono::Utc::now().to_rfc3339())
            .invoke_async(&mut r)
            .await?;
        Ok(written(&s))
    }

    /// The create was answered (refused, or failed with a status): it made
    /// nothing, so the next try need not look for it.
    pub async fn create_answered(&self, tenant: &str, id: &str) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let _: () = r
            .hdel(self.keys.sync(tenant, id), field::CREATE_SENT)
            .await?;
        Ok(())
    }

    /// Makes the user's next event converge it again, whatever version
    /// was applied (see `REOPEN`).
    pub async fn reopen(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
    ) -> Result<Written, redis::RedisError> {
        let mut r = self.redis.clone();
        let s: String = self
            .reopen
            .key(&lease.key)
            .key(self.keys.sync(tenant, id))
            .arg(lease.token)
            .invoke_async(&mut r)
            .await?;
        Ok(written(&s))
    }

    /// Forgets a mapping Freshservice says is gone (404).
    pub async fn unlink(
        &self,
        tenant: &str,
        id: &str,
        requester_id: u64,
    ) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let _: () = redis::pipe()
            .hdel(self.keys.map_requester(tenant), id)
            .hdel(self.keys.map_scim(tenant), requester_id)
            .hdel(self.keys.sync(tenant, id), field::REQUESTER_ID)
            .query_async(&mut r)
            .await?;
        Ok(())
    }

    /// The user's change was dead-lettered (the event is on the
    /// dead-letter queue): it is failed, and no longer pending unless a
    /// newer write came meanwhile.
    pub async fn dead_lettered(
        &self,
        tenant: &str,
        id: &str,
        version: u64,
        class: &str,
    ) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let _: () = redis::pipe()
            .hset(self.keys.sync(tenant, id), field::DEAD, class)
            .sadd(self.keys.failed(tenant), id)
            .query_async(&mut r)
            .await?;
        pending::settle(&mut r, &self.keys, ResourceKind::User, tenant, id, version).await?;
        Ok(())
    }

    /// Notes a failure on the user's status; `dead` also puts the user in
    /// the tenant's failed set.
    pub async fn failure(
        &self,
        tenant: &str,
        id: &str,
        error: &str,
        attempts: u32,
        dead: Option<&str>,
    ) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let key = self.keys.sync(tenant, id);
        let mut p = redis::pipe();
        p.hset(&key, field::LAST_ERROR, error)
            .hset(&key, field::ATTEMPTS, attempts)
            .hset(&key, field::UPDATED_AT, chrono::Utc::now().to_rfc3339());
        if let Some(class) = dead {
            p.hset(&key, field::DEAD, class)
                .sadd(self.keys.failed(tenant), id);
        }
        let _: () = shared::redis_conn::query_pipe(&p, &mut r).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shared::records::{lua_field_refs, quoted_fields};

    use super::*;

    /// Lua yields nil for an unknown `F.X`: catch a renamed constant here,
    /// not when a worker first records.
    #[test]
    fn every_field_the_scripts_use_is_a_sync_field() {
        for (name, s) in [
            ("RECORD", RECORD),
            ("LINK", LINK),
            ("REOPEN", REOPEN),
            ("CREATE_SENT", CREATE_SENT),
        ] {
            let refs = lua_field_refs(s);
            assert!(!refs.is_empty(), "{name} names no field");
            for r in refs {
                assert!(
                    field::ALL.iter().any(|(c, _)| *c == r),
                    "{name} uses F.{r}, not a field of shared::records::sync"
                );
            }
        }
    }

    #[test]
    fn no_script_spells_a_field_by_hand() {
        for (name, s) in [
            ("RECORD", RECORD),
            ("LINK", LINK),
            ("REOPEN", REOPEN),
            ("CREATE_SENT", CREATE_SENT),
        ] {
            assert_eq!(quoted_fields(s, field::ALL), Vec::<&str>::new(), "{name}");
        }
    }
}
