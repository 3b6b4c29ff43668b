//! `UserStore`: reads and atomic writes of SCIM users for one tenant.
//!
//! The document stored is the normalised SCIM User without `id` and `meta`;
//! those come from the hash's own fields when the resource is rendered.
//! The hash's format is `shared::records::user::UserRecord`'s.

use std::collections::HashMap;

use redis::{aio::ConnectionManager, AsyncCommands, Script, Value as RValue};
use serde_json::Value;
use shared::{
    keys::Keys,
    records::user::{field, UserRecord},
};

use super::lua;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored user {0} is corrupt")]
    Corrupt(String),
    #[error("stored user {id} is unreadable: {source}")]
    Unreadable {
        id: String,
        #[source]
        source: shared::records::RecordError,
    },
}

/// A user as read from Redis.
#[derive(Clone, Debug)]
pub struct StoredUser {
    pub id: String,
    pub doc: Value,
    pub version: u64,
    pub created: String,
    pub modified: String,
}

/// The result of a write the store could refuse.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// `at`: the time the write stored as `modified` (and `created` for a
    /// create), so callers can answer without reading the user back.
    Written {
        version: u64,
        at: String,
    },
    /// userName (or a group's displayName) already belongs to another
    /// resource (its id).
    UserNameTaken(String),
    /// A group write named a member that is no live user of the tenant.
    UnknownMember(String),
    Missing,
    /// If-Match did not match; the current version.
    VersionMismatch(u64),
}

/// The index fields a write maintains, computed by the caller from the doc.
pub struct IndexFields<'a> {
    pub user_name_lower: &'a str,
    pub external_id: Option<&'a str>,
    pub email_keys: &'a [String],
}

#[derive(Clone)]
pub struct UserStore {
    redis: ConnectionManager,
    keys: Keys,
    create: std::sync::Arc<Script>,
    replace: std::sync::Arc<Script>,
    delete: std::sync::Arc<Script>,
    rollback: std::sync::Arc<Script>,
    confirm: std::sync::Arc<Script>,
}

pub(super) fn now() -> (String, i64) {
    let t = chrono::Utc::now();
    (
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        t.timestamp_millis(),
    )
}

pub(super) fn outcome(reply: Vec<RValue>, at: String) -> Result<WriteOutcome, StoreError> {
    let text = |v: &RValue| -> String {
        match v {
            RValue::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            RValue::SimpleString(s) => s.clone(),
            RValue::Int(i) => i.to_string(),
            _ => String::new(),
        }
    };
    let num = |v: Option<&RValue>| v.map(text).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    match reply.first().map(text).as_deref() {
        Some("ok") => Ok(WriteOutcome::Written {
            version: num(reply.get(1)),
            at,
        }),
        Some("exists") => Ok(WriteOutcome::UserNameTaken(
            reply.get(1).map(text).unwrap_or_default(),
        )),
        Some("unknown") => Ok(WriteOutcome::UnknownMember(
            reply.get(1).map(text).unwrap_or_default(),
        )),
        Some("missing") => Ok(WriteOutcome::Missing),
        Some("precondition") => Ok(WriteOutcome::VersionMismatch(num(reply.get(1)))),
        _ => Err(StoreError::Corrupt("unexpected script reply".into())),
    }
}

impl UserStore {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            create: Script::new(&lua::create()).into(),
            replace: Script::new(&lua::replace()).into(),
            delete: Script::new(&lua::delete()).into(),
            rollback: Script::new(&lua::rollback_create()).into(),
            confirm: Script::new(&lua::confirm()).into(),
        }
    }

    fn write_keys(&self, tenant: &str, id: &str) -> [String; 8] {
        let k = &self.keys;
        [
            k.user(tenant, id),
            k.users(tenant),
            k.idx_username(tenant),
            k.idx_external_id(tenant),
            k.idx_email(tenant),
            k.unpublished(tenant),
            k.user_seq(tenant),
            k.pending(tenant),
        ]
    }

    pub async fn create(
        &self,
        tenant: &str,
        id: &str,
        doc: &Value,
        ix: &IndexFields<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        let (now, now_ms) = now();
        let mut inv = self.create.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id)
            .arg(doc.to_string())
            .arg(ix.user_name_lower)
            .arg(ix.external_id.unwrap_or(""))
            .arg(serde_json::Value::from(ix.email_keys.to_vec()).to_string())
            .arg(&now)
            .arg(now_ms);
        let reply: Vec<RValue> = inv.invoke_async(&mut self.redis.clone()).await?;
        outcome(reply, now)
    }

    pub async fn replace(
        &self,
        tenant: &str,
        id: &str,
        doc: &Value,
        ix: &IndexFields<'_>,
        expected_version: Option<u64>,
    ) -> Result<WriteOutcome, StoreError> {
        let (now, now_ms) = now();
        let mut inv = self.replace.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id)
            .arg(doc.to_string())
            .arg(ix.user_name_lower)
            .arg(ix.external_id.unwrap_or(""))
            .arg(serde_json::Value::from(ix.email_keys.to_vec()).to_string())
            .arg(&now)
            .arg(now_ms)
            .arg(expected_version.map(|v| v.to_string()).unwrap_or_default());
        let reply: Vec<RValue> = inv.invoke_async(&mut self.redis.clone()).await?;
        outcome(reply, now)
    }

    pub async fn delete(
        &self,
        tenant: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<WriteOutcome, StoreError> {
        let (now, now_ms) = now();
        let mut inv = self.delete.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id)
            .arg(&now)
            .arg(now_ms)
            .arg(expected_version.map(|v| v.to_string()).unwrap_or_default());
        let reply: Vec<RValue> = inv.invoke_async(&mut self.redis.clone()).await?;
        outcome(reply, now)
    }

    /// Removes a just-created user whose event could not be published.
    pub async fn rollback_create(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let mut inv = self.rollback.prepare_invoke();
        for k in self.write_keys(tenant, id) {
            inv.key(k);
        }
        inv.arg(id);
        let removed: i64 = inv.invoke_async(&mut self.redis.clone()).await?;
        Ok(removed == 1)
    }

    /// Marks `version` of the user as confirmed by the broker.
    pub async fn confirm_published(
        &self,
        tenant: &str,
        id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let _: i64 = self
            .confirm
            .key(self.keys.user(tenant, id))
            .key(self.keys.unpublished(tenant))
            .arg(id)
            .arg(version)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// A live (not deleted) user.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<StoredUser>, StoreError> {
        let h: HashMap<String, String> = self
            .redis
            .clone()
            .hgetall(self.keys.user(tenant, id))
            .await?;
        Self::live(id, &h)
    }

    /// The user in `h` unless it is absent or deleted.
    fn live(id: &str, h: &HashMap<String, String>) -> Result<Option<StoredUser>, StoreError> {
        let record = UserRecord::decode(h).map_err(|source| StoreError::Unreadable {
            id: id.to_string(),
            source,
        })?;
        Ok(record.filter(|r| !r.deleted).map(|r| StoredUser {
            id: id.to_string(),
            doc: r.doc,
            version: r.version,
            created: r.created,
            modified: r.modified,
        }))
    }

    /// Many users by id, in the given order, skipping any that vanished.
    pub async fn get_many(
        &self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<StoredUser>, StoreError> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.keys.user(tenant, id));
        }
        let rows: Vec<HashMap<String, String>> =
            shared::redis_conn::query_pipe(&pipe, &mut self.redis.clone()).await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, h) in ids.iter().zip(rows) {
            out.extend(Self::live(id, &h)?);
        }
        Ok(out)
    }

    /// Id by lower-cased userName.
    pub async fn id_by_user_name(
        &self,
        tenant: &str,
        user_name_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .redis
            .clone()
            .hget(self.keys.idx_username(tenant), user_name_lower)
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
            .hget(self.keys.idx_external_id(tenant), external_id)
            .await?)
    }

    pub async fn ids_by_email(
        &self,
        tenant: &str,
        email_lower: &str,
    ) -> Result<Vec<String>, StoreError> {
        let raw: Option<String> = self
            .redis
            .clone()
            .hget(self.keys.idx_email(tenant), email_lower)
            .await?;
        Ok(raw
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default())
    }

    /// Number of live users.
    pub async fn count(&self, tenant: &str) -> Result<usize, StoreError> {
        Ok(self.redis.clone().zcard(self.keys.users(tenant)).await?)
    }

    /// Ids in creation order, `offset`-based (stable across pages).
    pub async fn page_ids(
        &self,
        tenant: &str,
        offset: usize,
        count: usize,
    ) -> Result<Vec<String>, StoreError> {
        super::ordered::page(&self.redis, self.keys.users(tenant), offset, count).await
    }

    /// Users whose event was not confirmed before `older_than_ms`.
    pub async fn unpublished(
        &self,
        tenant: &str,
        older_than_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        super::ordered::unpublished(
            &self.redis,
            self.keys.unpublished(tenant),
            |id| self.keys.user(tenant, id),
            field::VERSION,
            older_than_ms,
            limit,
        )
        .await
    }
}
