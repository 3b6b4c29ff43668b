//! Per-user lease (`docs/architecture.md` §3, invariant 3): at most one worker
//! writes a user at a time. `SET NX PX` with a fencing token taken from a
//! per-user counter, so a worker whose lease expired (a long GC pause, a
//! partition) cannot record over the newer holder: every write it makes is
//! checked against the token.

use std::time::Duration;

use redis::{aio::ConnectionManager, AsyncCommands, Script};
use shared::keys::Keys;

/// Deletes the lease only if it is still ours. KEYS: lease. ARGV: token.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// A held lease.
#[derive(Clone, Debug)]
pub struct Lease {
    pub key: String,
    pub token: u64,
    pub ttl: Duration,
}

#[derive(Clone)]
pub struct Leases {
    redis: ConnectionManager,
    keys: Keys,
    ttl: Duration,
}

impl Leases {
    pub fn new(redis: ConnectionManager, keys: Keys, ttl: Duration) -> Self {
        Self { redis, keys, ttl }
    }

    /// Takes the user's lease, or `None` when another worker holds it.
    pub async fn acquire(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Lease>, redis::RedisError> {
        let mut r = self.redis.clone();
        let token: u64 = r.incr(self.keys.lease_fence(tenant, id), 1).await?;
        let key = self.keys.lease(tenant, id);
        let ok: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl.as_millis() as u64)
            .query_async(&mut r)
            .await?;
        Ok(ok.map(|_| Lease {
            key,
            token,
            ttl: self.ttl,
        }))
    }

    /// Gives the lease back (no-op if it already expired or moved on).
    pub async fn release(&self, lease: &Lease) {
        let mut r = self.redis.clone();
        let res: Result<i64, _> = Script::new(RELEASE)
            .key(&lease.key)
            .arg(lease.token)
            .invoke_async(&mut r)
            .await;
        if let Err(e) = res {
            // It expires by itself; only the next holder waits a little.
            tracing::warn!(error = %e, "could not release a user lease");
        }
    }
}
