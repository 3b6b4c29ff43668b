//! A short-lived in-process cache of bearer token → tenant, so a SCIM
//! request costs no Redis round trips for authentication while Okta is busy.
//!
//! Only tokens that were valid are cached, for `TTL`; a wrong token always
//! goes to Redis (and the brute-force limiter). A re-install or uninstall
//! through this process forgets the tenant at once; through another replica,
//! or from the command line (`ingress tenant rotate-token`, `tenant add`,
//! which run as processes of their own), the old token stops working within
//! `TTL` on every running ingress. Nothing else caches a token.
//!
//! Beside `http` and `web` because both use it: the SCIM bearer check
//! fills it, the admin pages' install and uninstall forget a tenant.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use shared::tenant::Tenant;

/// How long a validated token is trusted without asking Redis again.
pub const TTL: Duration = Duration::from_secs(2);

/// Entries kept at most; past this the cache is cleared (cheap and rare).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, (Tenant, Instant)>>,
}

impl TokenCache {
    /// The cached tenant for a token hash, if still fresh.
    pub fn get(&self, token_hash: &str) -> Option<Tenant> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token_hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(t, _)| t.clone())
    }

    pub fn put(&self, token_hash: String, tenant: Tenant) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(token_hash, (tenant, Instant::now()));
    }

    /// Drops every cached token of a tenant (re-install, uninstall).
    pub fn forget_tenant(&self, tenant_id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (t, _)| t.id != tenant_id);
    }
}
