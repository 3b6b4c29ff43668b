//! The Redis key scheme. Every key that belongs to a tenant carries the tenant
//! id as a hash tag (`{tenant}`), so all of one tenant's keys live in one
//! Redis Cluster slot and multi-key scripts work unchanged
//! (`docs/architecture.md` §3, invariant 10).
//!
//! Only a handful of registry keys (token → tenant, domain → tenant, the
//! tenant set, the uninstalled set) are global; they are always used one key at a time.

/// The part of a session key after the tenant's tag.
const WEB_SESSION: &str = "web_session";

/// Builds key names under a configurable prefix (`BRIDGE_KEY_PREFIX`).
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn t(&self, tenant: &str, rest: &str) -> String {
        format!("{}:{{{}}}:{}", self.prefix, tenant, rest)
    }

    // --- global registry -------------------------------------------------

    /// Set of all tenant ids (the sweeper walks it).
    pub fn tenants(&self) -> String {
        format!("{}:tenants", self.prefix)
    }
    /// Sorted set: uninstalled tenant id → time (ms) of the uninstall. The
    /// workers delete these tenants' queues (again) until they are sure no
    /// racing declare or publish brought one back; see
    /// [`crate::tenant::TenantStore::retired`].
    pub fn retired(&self) -> String {
        format!("{}:tenants:retired", self.prefix)
    }
    /// sha256(bearer token) → tenant id.
    pub fn token(&self, token_hash: &str) -> String {
        format!("{}:token:{}", self.prefix, token_hash)
    }
    /// Freshservice domain → tenant id (one tenant per account).
    pub fn domain(&self, domain: &str) -> String {
        format!("{}:domain:{}", self.prefix, domain)
    }

    // --- per tenant ------------------------------------------------------

    /// Hash: the tenant's record (domain, encrypted key, budget, state).
    pub fn tenant(&self, tenant: &str) -> String {
        self.t(tenant, "tenant")
    }
    /// Hash: one SCIM user ([`crate::records::user::UserRecord`]).
    pub fn user(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("user:{id}"))
    }
    /// Sorted set of user ids by creation sequence: stable list order.
    pub fn users(&self, tenant: &str) -> String {
        self.t(tenant, "users")
    }
    /// Counter that gives each new user its creation sequence.
    pub fn user_seq(&self, tenant: &str) -> String {
        self.t(tenant, "user_seq")
    }
    /// Hash: userName folded by `identity::fold` → id.
    pub fn idx_username(&self, tenant: &str) -> String {
        self.t(tenant, "idx:userName")
    }
    /// Hash: externalId → id.
    pub fn idx_external_id(&self, tenant: &str) -> String {
        self.t(tenant, "idx:externalId")
    }
    /// Hash: email folded by `identity::fold` → JSON array of the ids carrying it.
    pub fn idx_email(&self, tenant: &str) -> String {
        self.t(tenant, "idx:email")
    }
    /// Sorted set: user id → time (ms) of a write whose event is not yet
    /// confirmed by the broker. The sweeper re-publishes old entries.
    pub fn unpublished(&self, tenant: &str) -> String {
        self.t(tenant, "unpublished")
    }
    /// Hash: the worker's sync status of one user
    /// ([`crate::records::sync::SyncRecord`]).
    pub fn sync(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("sync:{id}"))
    }
    /// Hash: SCIM id → Freshservice requester id.
    pub fn map_requester(&self, tenant: &str) -> String {
        self.t(tenant, "map:requester")
    }
    /// Hash: Freshservice requester id → SCIM id.
    pub fn map_scim(&self, tenant: &str) -> String {
        self.t(tenant, "map:scim")
    }
    /// String with PX: the worker holding a user, with its fencing version.
    pub fn lease(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("lease:{id}"))
    }
    /// The tenant's shared API budget (GCRA state).
    pub fn rate(&self, tenant: &str) -> String {
        self.t(tenant, "rate")
    }
    /// String with PX: set while the tenant is paused after a 429.
    pub fn pause(&self, tenant: &str) -> String {
        self.t(tenant, "pause")
    }
    /// Set of the ids of users whose last change was dead-lettered (the
    /// status page's and `bridge_tenant_users_failed`'s count).
    pub fn failed(&self, tenant: &str) -> String {
        self.t(tenant, "failed")
    }
    /// Sorted set: `u:<id>` (a user) or `g:<id>` (a group) → time (ms) of
    /// the oldest change the ingress accepted that no worker has applied
    /// or dead-lettered yet ([`crate::pending`]).
    pub fn pending(&self, tenant: &str) -> String {
        self.t(tenant, "pending")
    }
    /// Cached Freshservice requester fields (JSON) for this tenant.
    pub fn requester_fields(&self, tenant: &str) -> String {
        self.t(tenant, "requester_fields")
    }
    /// Counter handing out fencing tokens for one user's lease: each lease
    /// holder gets a larger number than the one before.
    pub fn lease_fence(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("fence:{id}"))
    }
    /// Hash with a TTL: one admin session ([`crate::records::session::Session`]),
    /// by the SHA-256 of the cookie's random part. Under the tenant's tag,
    /// so uninstall removes every session.
    pub fn web_session(&self, tenant: &str, sid_hash: &str) -> String {
        self.t(tenant, &format!("{WEB_SESSION}:{sid_hash}"))
    }
    /// The glob, after the tenant's tag, of all its sessions (for
    /// `TenantStore::delete_tagged`).
    pub fn web_sessions_glob() -> String {
        format!("{WEB_SESSION}:*")
    }
    /// String (JSON): the tenant's settings
    /// ([`crate::records::settings::TenantSettings`]).
    pub fn settings(&self, tenant: &str) -> String {
        self.t(tenant, "settings")
    }
    /// String (JSON) with a TTL: the account's departments as the worker
    /// matches names to them (`worker/src/converge/resolve.rs`).
    pub fn departments(&self, tenant: &str) -> String {
        self.t(tenant, "departments")
    }
    /// Set: users waiting for the requester of the user `reference` names
    /// (a SCIM id, or a folded userName, email or externalId) to exist, so
    /// their `reporting_manager_id` can be filled in.
    pub fn manager_waiters(&self, tenant: &str, reference: &str) -> String {
        self.t(tenant, &format!("waiting_for:{reference}"))
    }
    /// String with a TTL: the Freshservice user id with this (folded) email,
    /// or `-` for none, as a manager reference was last looked up.
    pub fn email_lookup(&self, tenant: &str, email: &str) -> String {
        self.t(tenant, &format!("fs_email:{email}"))
    }
    // --- groups (`docs/architecture.md` §4) ------------------------------

    /// Hash: one SCIM group ([`crate::records::group::GroupRecord`]).
    pub fn group(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("group:{id}"))
    }
    /// Hash: a group's members, user id → the `display` the client sent
    /// (`''` when none).
    pub fn group_members(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("group_members:{id}"))
    }
    /// Sorted set of group ids by creation sequence: stable list order.
    pub fn groups(&self, tenant: &str) -> String {
        self.t(tenant, "groups")
    }
    /// Counter that gives each new group its creation sequence.
    pub fn group_seq(&self, tenant: &str) -> String {
        self.t(tenant, "group_seq")
    }
    /// Hash: displayName folded by `identity::fold` → group id.
    pub fn idx_group_name(&self, tenant: &str) -> String {
        self.t(tenant, "idx:groupName")
    }
    /// Hash: a group's externalId → group id.
    pub fn idx_group_external_id(&self, tenant: &str) -> String {
        self.t(tenant, "idx:groupExternalId")
    }
    /// Hash: user id → JSON array of the ids of the groups it is a member
    /// of (a user's `groups` attribute, and the groups its activation wakes).
    pub fn user_groups(&self, tenant: &str) -> String {
        self.t(tenant, "user_groups")
    }
    /// Sorted set: group id → time (ms) of a group write whose event is not
    /// yet confirmed by the broker (the sweeper's, like [`Self::unpublished`]).
    pub fn unpublished_groups(&self, tenant: &str) -> String {
        self.t(tenant, "unpublished_groups")
    }
    /// Hash: the worker's sync status of one group
    /// ([`crate::records::group_sync::GroupSyncRecord`]), with the
    /// Freshservice requester group it is mapped to.
    pub fn group_sync(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("group_sync:{id}"))
    }
    /// Set: the requester ids the worker knows to be members of the group's
    /// Freshservice requester group (kept after every member call).
    pub fn group_fs_members(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("group_fs_members:{id}"))
    }
    /// Hash with a TTL: `gen`, bumped by each convergence of the group
    /// before it reads its members, and `sent`, the `gen` in which a recheck
    /// (version 0) was last published. A user's convergence publishes one
    /// only while `sent` is not `gen`, so a burst of users waking one group
    /// costs one event, not one each (`worker/src/converge/group/wake.rs`).
    pub fn group_recheck(&self, tenant: &str, id: &str) -> String {
        self.t(tenant, &format!("group_recheck:{id}"))
    }
    /// The lease resource of a group (its leases and fences never meet a
    /// user's: `lease:group:<id>`).
    pub fn group_lease_id(id: &str) -> String {
        format!("group:{id}")
    }

    /// Hash: what the worker learned about the tenant's Freshservice account
    /// (e.g. `external_id` = `rejected` when the account refuses that field).
    pub fn account_flags(&self, tenant: &str) -> String {
        self.t(tenant, "account_flags")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_share_one_hash_tag() {
        let k = Keys::new("fsb");
        let tag = |s: String| {
            let a = s.find('{').unwrap();
            let b = s[a..].find('}').unwrap() + a;
            s[a + 1..b].to_string()
        };
        for key in [
            k.tenant("t1"),
            k.user("t1", "u"),
            k.users("t1"),
            k.idx_username("t1"),
            k.idx_email("t1"),
            k.unpublished("t1"),
            k.sync("t1", "u"),
            k.map_requester("t1"),
            k.lease("t1", "u"),
            k.rate("t1"),
            k.lease_fence("t1", "u"),
            k.account_flags("t1"),
            k.email_lookup("t1", "a@x"),
            k.settings("t1"),
            k.departments("t1"),
            k.manager_waiters("t1", "m"),
            k.failed("t1"),
            k.pending("t1"),
            k.pause("t1"),
            k.requester_fields("t1"),
            k.web_session("t1", "abc"),
            k.group("t1", "g"),
            k.group_members("t1", "g"),
            k.user_groups("t1"),
            k.group_sync("t1", "g"),
            k.group_fs_members("t1", "g"),
            k.group_recheck("t1", "g"),
        ] {
            assert_eq!(tag(key.clone()), "t1", "{key}");
            assert!(key.starts_with("fsb:"));
        }
    }

    /// Sessions already in Redis keep their keys; ending them all matches
    /// exactly those keys.
    #[test]
    fn session_keys_keep_their_format() {
        let k = Keys::new("fsb");
        assert_eq!(k.web_session("t1", "abc"), "fsb:{t1}:web_session:abc");
        assert_eq!(Keys::web_sessions_glob(), "web_session:*");
    }
}
