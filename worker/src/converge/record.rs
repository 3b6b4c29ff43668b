//! The user's sync status in Redis (`Keys::sync`) and the id mappings,
//! written with fenced Lua scripts: a worker that lost its lease writes
//! nothing, and the applied version never moves backwards.

use std::collections::HashMap;

use redis::{aio::ConnectionManager, AsyncCommands, Script};
use serde_json::{Map, Value};
use shared::keys::Keys;

use crate::lease::Lease;

/// KEYS: lease, sync, map_requester, map_scim, failed.
/// ARGV: token, version, requester id ('' = unlink), snapshot ('' = none),
/// active ('1'/'0'), now, warnings JSON, scim id.
const RECORD: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local cur = tonumber(redis.call('HGET', KEYS[2], 'applied_version') or '0')
if cur >= tonumber(ARGV[2]) then return 'stale' end
local old = redis.call('HGET', KEYS[3], ARGV[8])
if ARGV[3] == '' then
  if old then redis.call('HDEL', KEYS[4], old) end
  redis.call('HDEL', KEYS[3], ARGV[8])
  redis.call('HDEL', KEYS[2], 'requester_id')
else
  if old and old ~= ARGV[3] then redis.call('HDEL', KEYS[4], old) end
  redis.call('HSET', KEYS[3], ARGV[8], ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[8])
  redis.call('HSET', KEYS[2], 'requester_id', ARGV[3])
end
if ARGV[4] == '' then redis.call('HDEL', KEYS[2], 'snapshot') else redis.call('HSET', KEYS[2], 'snapshot', ARGV[4]) end
redis.call('HSET', KEYS[2], 'applied_version', ARGV[2], 'active', ARGV[5], 'updated_at', ARGV[6],
  'warnings', ARGV[7], 'attempts', 0)
redis.call('HDEL', KEYS[2], 'last_error', 'dead')
redis.call('SREM', KEYS[5], ARGV[8])
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
redis.call('HSET', KEYS[2], 'requester_id', ARGV[2])
return 'ok'
"#;

/// What the bridge last applied for one user.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub version: Option<u64>,
    pub requester_id: Option<u64>,
    pub snapshot: Option<Map<String, Value>>,
    pub active: Option<bool>,
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

#[derive(Clone)]
pub struct SyncStore {
    redis: ConnectionManager,
    keys: Keys,
    record: Script,
    link: Script,
}

impl SyncStore {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            record: Script::new(RECORD),
            link: Script::new(LINK),
        }
    }

    pub async fn applied_version(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<u64>, redis::RedisError> {
        self.redis
            .clone()
            .hget(self.keys.sync(tenant, id), "applied_version")
            .await
    }

    pub async fn applied(&self, tenant: &str, id: &str) -> Result<Applied, redis::RedisError> {
        let mut r = self.redis.clone();
        let h: HashMap<String, String> = r.hgetall(self.keys.sync(tenant, id)).await?;
        let mapped: Option<u64> = r.hget(self.keys.map_requester(tenant), id).await?;
        Ok(Applied {
            version: h.get("applied_version").and_then(|v| v.parse().ok()),
            requester_id: mapped,
            snapshot: h
                .get("snapshot")
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|v| v.as_object().cloned()),
            active: h.get("active").map(|a| a == "1"),
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
            .arg(lease.token)
            .arg(version)
            .arg(requester_id.map(|r| r.to_string()).unwrap_or_default())
            .arg(snapshot)
            .arg(if active { "1" } else { "0" })
            .arg(chrono::Utc::now().to_rfc3339())
            .arg(serde_json::to_string(warnings).unwrap_or_default())
            .arg(id)
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
            .hdel(self.keys.sync(tenant, id), "requester_id")
            .query_async(&mut r)
            .await?;
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
        p.hset(&key, "last_error", error)
            .hset(&key, "attempts", attempts)
            .hset(&key, "updated_at", chrono::Utc::now().to_rfc3339());
        if let Some(class) = dead {
            p.hset(&key, "dead", class)
                .sadd(self.keys.failed(tenant), id);
        }
        let _: () = p.query_async(&mut r).await?;
        Ok(())
    }
}
