//! A group's sync record (`Keys::group_sync`) and the set of requester ids
//! the worker knows to be members of its Freshservice requester group
//! (`Keys::group_fs_members`), written with fenced Lua scripts like the
//! users' (`worker/src/converge/record.rs`): a worker that lost the group's
//! lease writes nothing, and the applied version never moves backwards.
//!
//! The hash's format is `shared::records::group_sync::GroupSyncRecord`'s;
//! the scripts open with the field table rendered from its constants
//! (`shared/src/records/mod.rs`), and the tests below check they name no
//! field any other way.
//!
//! The mapping to a requester group is written the moment Freshservice
//! names it (after a create or a match by name), and each member call is
//! recorded as soon as it is answered, so a crash, a lost lease or a spent
//! budget never makes a create twice and the next run carries on from the
//! calls already made.

use std::collections::{BTreeSet, HashMap};

use redis::{aio::ConnectionManager, AsyncCommands, Script};
use shared::{
    event::ResourceKind,
    keys::Keys,
    pending,
    records::{
        group_sync::{field, GroupSyncRecord},
        lua_fields,
    },
};

use crate::lease::Lease;

/// Maps the SCIM group to a requester group. KEYS: lease, sync,
/// fs_members. ARGV: token, group id, name, trusted ('1' for a group just
/// made, so known empty; '0' for one found by name, whose members are read
/// back next). The old member set belongs to the old mapping: dropped.
const LINK: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('HSET', KEYS[2], F.GROUP_ID, ARGV[2], F.NAME, ARGV[3], F.TRUSTED, ARGV[4])
redis.call('DEL', KEYS[3])
return 'ok'
"#;

/// Forgets a requester group Freshservice says is gone (404).
/// KEYS: lease, sync, fs_members. ARGV: token.
const UNLINK: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('HDEL', KEYS[2], F.GROUP_ID, F.NAME)
redis.call('HSET', KEYS[2], F.TRUSTED, '0')
redis.call('DEL', KEYS[3])
return 'ok'
"#;

/// The requester group was renamed. KEYS: lease, sync. ARGV: token, name.
const NAMED: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('HSET', KEYS[2], F.NAME, ARGV[2])
return 'ok'
"#;

/// The members as read back from Freshservice replace the set, which is
/// trusted from now on. KEYS: lease, sync, fs_members. ARGV: token, ids…
const TRUST: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
redis.call('DEL', KEYS[3])
for i = 2, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('HSET', KEYS[2], F.TRUSTED, '1')
return 'ok'
"#;

/// One member call answered (or a member Freshservice dropped by itself).
/// KEYS: lease, fs_members. ARGV: token, 'add' | 'rem', ids…
const MEMBERS: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
for i = 3, #ARGV do
  if ARGV[2] == 'add' then redis.call('SADD', KEYS[2], ARGV[i]) else redis.call('SREM', KEYS[2], ARGV[i]) end
end
return 'ok'
"#;

/// A converged group. KEYS: lease, sync, group hash, pending. ARGV: token,
/// version ('0': a recheck, keep the applied one), name, waiting JSON, now,
/// the group hash's version field, the group's pending member. The group
/// stops being pending (`shared/src/pending.rs`) only when the applied
/// version is its current one.
const RECORD: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local cur = tonumber(redis.call('HGET', KEYS[2], F.APPLIED_VERSION) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[2], F.APPLIED_VERSION, ARGV[2]) cur = tonumber(ARGV[2]) end
redis.call('HSET', KEYS[2], F.NAME, ARGV[3], F.WAITING, ARGV[4], F.UPDATED_AT, ARGV[5], F.ATTEMPTS, 0)
redis.call('HDEL', KEYS[2], F.LAST_ERROR, F.DEAD)
if cur >= tonumber(redis.call('HGET', KEYS[3], ARGV[6]) or '0') then redis.call('ZREM', KEYS[4], ARGV[7]) end
return 'ok'
"#;

/// A deleted group whose requester group is gone (or never was): only the
/// applied version stays, so old events of it are skipped cheaply.
/// KEYS: lease, sync, fs_members, group hash, pending. ARGV: token,
/// version, now, the group hash's version field, the pending member.
const CLEAR: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local cur = tonumber(redis.call('HGET', KEYS[2], F.APPLIED_VERSION) or '0')
local v = math.max(cur, tonumber(ARGV[2]))
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[2], F.APPLIED_VERSION, v, F.UPDATED_AT, ARGV[3])
if v >= tonumber(redis.call('HGET', KEYS[4], ARGV[4]) or '0') then redis.call('ZREM', KEYS[5], ARGV[5]) end
return 'ok'
"#;

/// Our lease on the group is gone: another worker owns it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fenced;

fn written(s: &str) -> Result<(), Fenced> {
    if s == "ok" {
        Ok(())
    } else {
        Err(Fenced)
    }
}

/// What a fenced write came to.
pub type Write = Result<Result<(), Fenced>, redis::RedisError>;

fn script(body: &str) -> Script {
    Script::new(&format!("{}{body}", lua_fields(field::ALL)))
}

#[derive(Clone)]
pub struct GroupSyncStore {
    redis: ConnectionManager,
    keys: Keys,
    link: Script,
    unlink: Script,
    named: Script,
    trust: Script,
    members: Script,
    record: Script,
    clear: Script,
}

impl GroupSyncStore {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            link: script(LINK),
            unlink: script(UNLINK),
            named: script(NAMED),
            trust: script(TRUST),
            members: script(MEMBERS),
            record: script(RECORD),
            clear: script(CLEAR),
        }
    }

    /// The version applied (the cheap check before the lease).
    pub async fn applied_version(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<u64>, redis::RedisError> {
        self.redis
            .clone()
            .hget(self.keys.group_sync(tenant, id), field::APPLIED_VERSION)
            .await
    }

    pub async fn load(&self, tenant: &str, id: &str) -> Result<GroupSyncRecord, redis::RedisError> {
        let h: HashMap<String, String> = self
            .redis
            .clone()
            .hgetall(self.keys.group_sync(tenant, id))
            .await?;
        Ok(GroupSyncRecord::decode(&h))
    }

    /// The requester ids known to be members of the requester group.
    /// A value that is no id was not written by us: ignored.
    pub async fn fs_members(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<BTreeSet<u64>, redis::RedisError> {
        let ids: Vec<String> = self
            .redis
            .clone()
            .smembers(self.keys.group_fs_members(tenant, id))
            .await?;
        Ok(ids.iter().filter_map(|i| i.parse().ok()).collect())
    }

    pub async fn link(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        group_id: u64,
        name: &str,
        trusted: bool,
    ) -> Write {
        let s: String = self
            .link
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .key(self.keys.group_fs_members(tenant, id))
            .arg(lease.token)
            .arg(group_id)
            .arg(name)
            .arg(if trusted { "1" } else { "0" })
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    pub async fn unlink(&self, lease: &Lease, tenant: &str, id: &str) -> Write {
        let s: String = self
            .unlink
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .key(self.keys.group_fs_members(tenant, id))
            .arg(lease.token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    pub async fn named(&self, lease: &Lease, tenant: &str, id: &str, name: &str) -> Write {
        let s: String = self
            .named
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .arg(lease.token)
            .arg(name)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    pub async fn trust(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        members: &BTreeSet<u64>,
    ) -> Write {
        let s: String = self
            .trust
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .key(self.keys.group_fs_members(tenant, id))
            .arg(lease.token)
            .arg(members.iter().collect::<Vec<_>>())
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    /// Adds (`add`) or removes requester ids from the member set.
    pub async fn members(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        add: bool,
        ids: &[u64],
    ) -> Write {
        if ids.is_empty() {
            return Ok(Ok(()));
        }
        let s: String = self
            .members
            .key(&lease.key)
            .key(self.keys.group_fs_members(tenant, id))
            .arg(lease.token)
            .arg(if add { "add" } else { "rem" })
            .arg(ids)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    /// Records a converged group; `version` `None` keeps the applied one (a
    /// recheck).
    pub async fn record(
        &self,
        lease: &Lease,
        tenant: &str,
        id: &str,
        version: Option<u64>,
        name: &str,
        waiting: &[String],
    ) -> Write {
        let s: String = self
            .record
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .key(self.keys.group(tenant, id))
            .key(self.keys.pending(tenant))
            .arg(lease.token)
            .arg(version.unwrap_or(0))
            .arg(name)
            .arg(serde_json::Value::from(waiting.to_vec()).to_string())
            .arg(chrono::Utc::now().to_rfc3339())
            .arg(shared::records::group::field::VERSION)
            .arg(pending::member(ResourceKind::Group, id))
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    /// Clears a deleted group's record and member set.
    pub async fn clear(&self, lease: &Lease, tenant: &str, id: &str, version: u64) -> Write {
        let s: String = self
            .clear
            .key(&lease.key)
            .key(self.keys.group_sync(tenant, id))
            .key(self.keys.group_fs_members(tenant, id))
            .key(self.keys.group(tenant, id))
            .key(self.keys.pending(tenant))
            .arg(lease.token)
            .arg(version)
            .arg(chrono::Utc::now().to_rfc3339())
            .arg(shared::records::group::field::VERSION)
            .arg(pending::member(ResourceKind::Group, id))
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written(&s))
    }

    /// The group's change was dead-lettered: no longer pending unless a
    /// newer write came meanwhile (groups have no failed set; their
    /// status shows the dead class).
    pub async fn dead_lettered(
        &self,
        tenant: &str,
        id: &str,
        version: u64,
        class: &str,
    ) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let _: () = r
            .hset(self.keys.group_sync(tenant, id), field::DEAD, class)
            .await?;
        pending::settle(&mut r, &self.keys, ResourceKind::Group, tenant, id, version).await?;
        Ok(())
    }

    /// Notes a failure on the group's status, like a user's
    /// (`SyncStore::failure`); `dead` names the dead-letter class.
    pub async fn failure(
        &self,
        tenant: &str,
        id: &str,
        error: &str,
        attempts: u32,
        dead: Option<&str>,
    ) -> Result<(), redis::RedisError> {
        let key = self.keys.group_sync(tenant, id);
        let mut p = redis::pipe();
        p.hset(&key, field::LAST_ERROR, error)
            .hset(&key, field::ATTEMPTS, attempts)
            .hset(&key, field::UPDATED_AT, chrono::Utc::now().to_rfc3339());
        if let Some(class) = dead {
            p.hset(&key, field::DEAD, class);
        }
        let _: () = shared::redis_conn::query_pipe(&p, &mut self.redis.clone()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shared::records::{lua_field_refs, quoted_fields};

    use super::*;

    const WITH_FIELDS: [(&str, &str); 6] = [
        ("LINK", LINK),
        ("UNLINK", UNLINK),
        ("NAMED", NAMED),
        ("TRUST", TRUST),
        ("RECORD", RECORD),
        ("CLEAR", CLEAR),
    ];

    /// Lua yields nil for an unknown `F.X`: catch a renamed constant here.
    #[test]
    fn every_field_the_scripts_use_is_a_group_sync_field() {
        for (name, s) in WITH_FIELDS {
            let refs = lua_field_refs(s);
            assert!(!refs.is_empty(), "{name} names no field");
            for r in refs {
                assert!(
                    field::ALL.iter().any(|(c, _)| *c == r),
                    "{name} uses F.{r}, not a field of shared::records::group_sync"
                );
            }
        }
        assert!(
            lua_field_refs(MEMBERS).is_empty(),
            "MEMBERS writes the set only"
        );
    }

    #[test]
    fn no_script_spells_a_field_by_hand() {
        for (name, s) in WITH_FIELDS.into_iter().chain([("MEMBERS", MEMBERS)]) {
            assert_eq!(quoted_fields(s, field::ALL), Vec::<&str>::new(), "{name}");
        }
    }
}
