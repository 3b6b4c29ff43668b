//! `GroupStore`: reads and atomic writes of SCIM groups for one tenant
//! (the scripts are in `group_lua.rs`; the hash's format is
//! `shared::records::group::GroupRecord`'s).
//!
//! Members are read from their own hash and, on every read, filtered to
//! the tenant's live users: a user SCIM deleted leaves every group at that
//! moment (RFC 7644 §3.6), without the user's delete having to touch each
//! group.

use std::collections::HashMap;

use redis::{aio::ConnectionManager, AsyncCommands, Script, Value as RValue};
use shared::{
    keys::Keys,
    records::group::{field, GroupRecord},
};

use super::{group_lua, users::outcome, StoreError, WriteOutcome};
use crate::scim::group::{GroupDoc, MemberDelta, Members};

/// Ids per ZMSCORE when filtering members to live users.
const LIVE_CHUNK: usize = 1000;

/// A group as read from Redis.
#[derive(Clone, Debug)]
pub struct StoredGroup {
    pub id: String,
    pub doc: GroupDoc,
    pub version: u64,
    pub created: String,
    pub modified: String,
}

#[derive(Clone)]
pub struct GroupStore {
    redis: ConnectionManager,
    keys: Keys,
    write: std::sync::Arc<Script>,
    delete: std::sync::Arc<Script>,
    rollback: std::sync::Arc<Script>,
    confirm: std::sync::Arc<Script>,
}

/// How a write is conditioned.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    Create,
    Version(u64),
}

impl GroupStore {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            write: Script::new(&group_lua::write()).into(),
            delete: Script::new(&group_lua::delete()).into(),
            rollback: Script::new(&group_lua::rollback_create()).into(),
            confirm: Script::new(&group_lua::confirm()).into(),
        }
    }

    fn write_keys(&self, tenant: &str, id: &str) -> [String; 10] {
        let k = &self.keys;
        [
            k.group(tenant, id),
            k.groups(tenant),
            k.idx_group_name(tenant),
            k.idx_group_external_id(tenant),
            k.group_members(tenant, id),
            k.user_groups(tenant),
            k.unpublished_groups(tenant),
            k.group_seq(tenant),
            k.users(tenant),
            k.pending(tenant),
        ]
    }

    /// Writes `doc` and the member delta. `joining`: the ids of
    /// `delta.put` that are not members yet (checked to be live users).
    pub async fn write(
        &self,
        tenant: &str,
        id: &str,
        doc: &GroupDoc,
        delta: &MemberDelta,
        joining: &[&String],
        expect: Expect,
    ) -> Result<WriteOutcome, StoreError> {
        let (now, now_ms) = super::users::now();
        let mut inv = self.write.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        let put: Vec<(&String, &String)> = delta.put.iter().collect();
        inv.arg(id)
            .arg(doc.to_json().to_string())
            .arg(doc.name_key())
            .arg(doc.external_id.as_deref().unwrap_or(""))
            .arg(&now)
            .arg(now_ms)
            .arg(match expect {
                Expect::Create => "create".to_string(),
                Expect::Version(v) => v.to_string(),
            })
            .arg(serde_json::to_string(&put).unwrap_or_else(|_| "[]".into()))
            .arg(serde_json::to_string(&delta.remove).unwrap_or_else(|_| "[]".into()))
            .arg(serde_json::to_string(joining).unwrap_or_else(|_| "[]".into()));
        let reply: Vec<RValue> = inv.invoke_async(&mut self.redis.clone()).await?;
        outcome(reply, now)
    }

    pub async fn delete(
        &self,
        tenant: &str,
        id: &str,
        expected_version: u64,
    ) -> Result<WriteOutcome, StoreError> {
        let (now, now_ms) = super::users::now();
        let mut inv = self.delete.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id)
            .arg(&now)
            .arg(now_ms)
            .arg(expected_version.to_string());
        let reply: Vec<RValue> = inv.invoke_async(&mut self.redis.clone()).await?;
        outcome(reply, now)
    }

    /// Removes a just-created group whose event could not be published.
    pub async fn rollback_create(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let mut inv = self.rollback.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id);
        let removed: i64 = inv.invoke_async(&mut self.redis.clone()).await?;
        Ok(removed == 1)
    }

    /// Marks `version` of the group as confirmed by the broker.
    pub async fn confirm_published(
        &self,
        tenant: &str,
        id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let _: i64 = self
            .confirm
            .key(self.keys.group(tenant, id))
            .key(self.keys.unpublished_groups(tenant))
            .arg(id)
            .arg(version)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// A live (not deleted) group, without its members.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<StoredGroup>, StoreError> {
        let h: HashMap<String, String> = self
            .redis
            .clone()
            .hgetall(self.keys.group(tenant, id))
            .await?;
        Self::live(id, &h)
    }

    fn live(id: &str, h: &HashMap<String, String>) -> Result<Option<StoredGroup>, StoreError> {
        let record = GroupRecord::decode(h).map_err(|source| StoreError::Unreadable {
            id: id.to_string(),
            source,
        })?;
        Ok(record.filter(|r| !r.deleted).map(|r| StoredGroup {
            id: id.to_string(),
            doc: GroupDoc::from_json(&r.doc),
            version: r.version,
            created: r.created,
            modified: r.modified,
        }))
    }

    /// Many groups by id, in the given order, skipping any that vanished.
    pub async fn get_many(
        &self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<StoredGroup>, StoreError> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.keys.group(tenant, id));
        }
        let rows: Vec<HashMap<String, String>> =
            shared::redis_conn::query_pipe(&pipe, &mut self.redis.clone()).await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, h) in ids.iter().zip(rows) {
            out.extend(Self::live(id, &h)?);
        }
        Ok(out)
    }

    /// A group's members that are live users.
    pub async fn members(&self, tenant: &str, id: &str) -> Result<Members, StoreError> {
        let all: HashMap<String, String> = self
            .redis
            .clone()
            .hgetall(self.keys.group_members(tenant, id))
            .await?;
        let ids: Vec<&String> = all.keys().collect();
        let mut live = Members::new();
        for part in ids.chunks(LIVE_CHUNK) {
            let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
                .arg(self.keys.users(tenant))
                .arg(part)
                .query_async(&mut self.redis.clone())
                .await?;
            for (uid, score) in part.iter().zip(scores) {
                if score.is_some() {
                    live.insert((*uid).clone(), all[*uid].clone());
                }
            }
        }
        Ok(live)
    }

    /// Group id by folded displayName.
    pub async fn id_by_name(&self, tenant: &str, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .redis
            .clone()
            .hget(self.keys.idx_group_name(tenant), key)
            .await?)
    }

    pub async fn id_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .redis
            .clone()
            .hget(self.keys.idx_group_external_id(tenant), external_id)
            .await?)
    }

    /// Number of live groups.
    pub async fn count(&self, tenant: &str) -> Result<usize, StoreError> {
        Ok(self.redis.clone().zcard(self.keys.groups(tenant)).await?)
    }

    /// Ids in creation order, `offset`-based (stable across pages).
    pub async fn page_ids(
        &self,
        tenant: &str,
        offset: usize,
        count: usize,
    ) -> Result<Vec<String>, StoreError> {
        super::ordered::page(&self.redis, self.keys.groups(tenant), offset, count).await
    }

    /// The groups of each user (`groups` attribute): user id → (group id,
    /// displayName), read in two round trips for a whole page of users.
    pub async fn groups_of(
        &self,
        tenant: &str,
        users: &[&str],
    ) -> Result<HashMap<String, Vec<(String, String)>>, StoreError> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.keys.user_groups(tenant))
            .arg(users)
            .query_async(&mut self.redis.clone())
            .await?;
        let lists: Vec<(String, Vec<String>)> = users
            .iter()
            .zip(raw)
            .filter_map(|(u, r)| {
                let ids: Vec<String> = serde_json::from_str(&r?).ok()?;
                Some((u.to_string(), ids))
            })
            .collect();
        let mut gids: Vec<&String> = lists.iter().flat_map(|(_, g)| g).collect();
        gids.sort();
        gids.dedup();
        let mut pipe = redis::pipe();
        for g in &gids {
            pipe.hget(self.keys.group(tenant, g), field::DOC);
        }
        let docs: Vec<Option<String>> =
            shared::redis_conn::query_pipe(&pipe, &mut self.redis.clone()).await?;
        let names: HashMap<String, String> = gids
            .iter()
            .zip(docs)
            .filter_map(|(g, d)| {
                let doc: serde_json::Value = serde_json::from_str(&d?).ok()?;
                Some(((*g).clone(), GroupDoc::from_json(&doc).display_name))
            })
            .collect();
        Ok(lists
            .into_iter()
            .map(|(u, ids)| {
                let named = ids
                    .into_iter()
                    .filter_map(|g| names.get(&g).map(|n| (g.clone(), n.clone())))
                    .collect();
                (u, named)
            })
            .collect())
    }

    /// Groups whose event was not confirmed before `older_than_ms`.
    pub async fn unpublished(
        &self,
        tenant: &str,
        older_than_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        super::ordered::unpublished(
            &self.redis,
            self.keys.unpublished_groups(tenant),
            |id| self.keys.group(tenant, id),
            field::VERSION,
            older_than_ms,
            limit,
        )
        .await
    }
}
