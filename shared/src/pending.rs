//! Changes accepted and not yet applied: the tenant's `pending` sorted set
//! ([`Keys::pending`]), read for `bridge_tenant_oldest_pending_seconds`,
//! `bridge_tenant_users_pending` and `bridge_tenant_users_failed` (the
//! ingress's collector, `ingress/src/metrics/collect.rs`) and by operator
//! commands.
//!
//! Who writes it:
//! - the ingress's write scripts (`ingress/src/store/lua.rs`,
//!   `group_lua.rs`) add the resource with `ZADD … NX` of the write's time
//!   in the same atomic step as the version bump, so an entry keeps the
//!   time the resource first went out of step;
//! - the worker's record scripts (`worker/src/converge/record.rs`,
//!   `group/record.rs`) remove it in the step that records the applied
//!   version, only when that version is the resource's current one (read
//!   in the same script), so a write accepted meanwhile keeps it pending;
//! - the worker removes it when the change is dead-lettered (then the user
//!   is in the tenant's `failed` set instead) or the resource is gone for
//!   good ([`settle`], [`forget`]);
//! - uninstalling the tenant deletes it with the tenant's other keys.

use std::{sync::OnceLock, time::Duration};

use redis::{aio::ConnectionLike, Script};

use crate::{event::ResourceKind, keys::Keys, records};

/// Member prefix of a user (`u:<scim id>`).
pub const USER: &str = "u:";
/// Member prefix of a group (`g:<scim id>`).
pub const GROUP: &str = "g:";

/// The member of the resource `id` of `kind`.
pub fn member(kind: ResourceKind, id: &str) -> String {
    match kind {
        ResourceKind::User => format!("{USER}{id}"),
        ResourceKind::Group => format!("{GROUP}{id}"),
    }
}

/// What the pending set says about one tenant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantPending {
    /// Age of the oldest entry; `None` when nothing is pending.
    pub oldest: Option<Duration>,
    /// Users and groups pending.
    pub pending: u64,
    /// Users whose last change was dead-lettered (`Keys::failed`).
    pub failed: u64,
}

/// Age of the tenant's oldest pending change at `now_ms` (epoch ms).
pub async fn oldest_age<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    tenant: &str,
    now_ms: i64,
) -> redis::RedisResult<Option<Duration>> {
    let first: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(keys.pending(tenant))
        .arg(0)
        .arg(0)
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    Ok(first.first().map(|(_, at)| age(*at, now_ms)))
}

/// Users and groups of the tenant with a change not yet applied.
pub async fn count<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    tenant: &str,
) -> redis::RedisResult<u64> {
    redis::cmd("ZCARD")
        .arg(keys.pending(tenant))
        .query_async(conn)
        .await
}

/// Users of the tenant whose last change was dead-lettered.
pub async fn failed_count<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    tenant: &str,
) -> redis::RedisResult<u64> {
    redis::cmd("SCARD")
        .arg(keys.failed(tenant))
        .query_async(conn)
        .await
}

/// [`oldest_age`], [`count`] and [`failed_count`] of many tenants in one
/// pipeline (one round trip), in the order of `tenants`.
pub async fn read_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    tenants: &[String],
    now_ms: i64,
) -> redis::RedisResult<Vec<TenantPending>> {
    if tenants.is_empty() {
        return Ok(vec![]);
    }
    let mut p = redis::pipe();
    for t in tenants {
        p.cmd("ZRANGE")
            .arg(keys.pending(t))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .cmd("ZCARD")
            .arg(keys.pending(t))
            .cmd("SCARD")
            .arg(keys.failed(t));
    }
    type Row = (Vec<(String, f64)>, u64, u64);
    let rows: Vec<Row> = {
        // A pipeline answers one flat list; read it three at a time.
        let flat: Vec<redis::Value> = crate::redis_conn::query_pipe(&p, conn).await?;
        flat.chunks(3)
            .map(|c| redis::FromRedisValue::from_redis_value(redis::Value::Array(c.to_vec())))
            .collect::<Result<_, redis::ParsingError>>()
            .map_err(redis::RedisError::from)?
    };
    Ok(rows
        .into_iter()
        .map(|(first, pending, failed)| TenantPending {
            oldest: first.first().map(|(_, at)| age(*at, now_ms)),
            pending,
            failed,
        })
        .collect())
}

fn age(at_ms: f64, now_ms: i64) -> Duration {
    Duration::from_millis((now_ms as f64 - at_ms).max(0.0) as u64)
}

/// Removes the entry unless the resource moved past `version` (a newer
/// write is still pending). KEYS: resource hash, pending. ARGV: member,
/// version, name of the hash's version field.
const SETTLE: &str = r#"
local cur = redis.call('HGET', KEYS[1], ARGV[3])
if (not cur) or tonumber(cur) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[2], ARGV[1]) end
return 0
"#;

fn settle_script() -> &'static Script {
    static S: OnceLock<Script> = OnceLock::new();
    S.get_or_init(|| Script::new(SETTLE))
}

/// The change of `version` left the worker's hands for good (e.g. it was
/// dead-lettered): the resource is no longer pending, unless a newer write
/// was accepted meanwhile. Returns whether an entry was removed.
pub async fn settle<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    kind: ResourceKind,
    tenant: &str,
    id: &str,
    version: u64,
) -> redis::RedisResult<bool> {
    let (hash, field) = match kind {
        ResourceKind::User => (keys.user(tenant, id), records::user::field::VERSION),
        ResourceKind::Group => (keys.group(tenant, id), records::group::field::VERSION),
    };
    let removed: i64 = settle_script()
        .key(hash)
        .key(keys.pending(tenant))
        .arg(member(kind, id))
        .arg(version)
        .arg(field)
        .invoke_async(conn)
        .await?;
    Ok(removed == 1)
}

/// The resource is gone for good (its hash no longer exists): nothing of
/// it can be pending.
pub async fn forget<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    kind: ResourceKind,
    tenant: &str,
    id: &str,
) -> redis::RedisResult<()> {
    redis::cmd("ZREM")
        .arg(keys.pending(tenant))
        .arg(member(kind, id))
        .query_async(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_name_the_kind() {
        assert_eq!(member(ResourceKind::User, "abc"), "u:abc");
        assert_eq!(member(ResourceKind::Group, "abc"), "g:abc");
    }

    #[test]
    fn ages_never_go_negative() {
        assert_eq!(age(1_000.0, 3_500), Duration::from_millis(2_500));
        assert_eq!(age(5_000.0, 3_500), Duration::ZERO);
    }

    fn redis_url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// Against the real Redis: the readers, and `settle` keeping an entry
    /// whose resource moved past the settled version.
    #[tokio::test]
    async fn reads_and_settles() {
        let prefix = format!("pending-test-{}", uuid::Uuid::new_v4().simple());
        let keys = Keys::new(prefix.clone());
        let mut r = crate::redis_conn::connect(&redis_url()).await.unwrap();
        let t = "t1";
        let now = 100_000i64;
        let _: () = redis::pipe()
            .zadd(keys.pending(t), member(ResourceKind::User, "a"), 90_000)
            .zadd(keys.pending(t), member(ResourceKind::Group, "g"), 95_000)
            .hset(keys.user(t, "a"), records::user::field::VERSION, 3)
            .sadd(keys.failed(t), "z")
            .query_async(&mut r)
            .await
            .unwrap();
        assert_eq!(
            oldest_age(&mut r, &keys, t, now).await.unwrap(),
            Some(Duration::from_secs(10))
        );
        assert_eq!(count(&mut r, &keys, t).await.unwrap(), 2);
        assert_eq!(failed_count(&mut r, &keys, t).await.unwrap(), 1);
        let many = read_many(&mut r, &keys, &[t.to_string(), "t2".into()], now)
            .await
            .unwrap();
        assert_eq!(
            many,
            vec![
                TenantPending {
                    oldest: Some(Duration::from_secs(10)),
                    pending: 2,
                    failed: 1
                },
                TenantPending::default()
            ]
        );
        // Version 2 settled while 3 is current: still pending.
        assert!(!settle(&mut r, &keys, ResourceKind::User, t, "a", 2)
            .await
            .unwrap());
        assert!(settle(&mut r, &keys, ResourceKind::User, t, "a", 3)
            .await
            .unwrap());
        // A group whose hash is gone: settled whatever the version.
        assert!(settle(&mut r, &keys, ResourceKind::Group, t, "g", 0)
            .await
            .unwrap());
        assert_eq!(oldest_age(&mut r, &keys, t, now).await.unwrap(), None);
        let _: () = redis::cmd("DEL")
            .arg(keys.pending(t))
            .arg(keys.user(t, "a"))
            .arg(keys.failed(t))
            .query_async(&mut r)
            .await
            .unwrap();
    }
}
