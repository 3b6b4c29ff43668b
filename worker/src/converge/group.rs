//! Converging one SCIM group onto a Freshservice requester group (Okta's
//! Push Groups, Entra's group provisioning), lease held. As for users the
//! event is a trigger: the group's latest record (`Keys::group`, written
//! by the ingress) and its members (`Keys::group_members`) are read, and
//! Freshservice is made to match with the fewest calls
//! (`docs/freshservice.md` §4):
//!
//! - **Deleted** group: its requester group is deleted, if the bridge made
//!   or linked one (a group it did not never is); then its record is
//!   cleared.
//! - **Not mapped**: the account's requester groups are listed and the
//!   name matched without case. A `manual` one is linked (its members are
//!   read back before anything is changed); a `rule_based` one takes no
//!   members through the API, so the change is refused with a reason an
//!   admin can act on. No match: the group is created, and the mapping is
//!   written from the create's answer at once, so a crash cannot create a
//!   second one. A create refused as a duplicate (a lost answer, or a race)
//!   lists again and links what is there.
//! - **Mapped**: renamed when the displayName changed; a requester group
//!   deleted by hand in Freshservice is found again by name, or made.
//! - **Members**: the desired requesters (`group/members.rs`) against the
//!   set the worker knows Freshservice holds (`Keys::group_fs_members`): one
//!   call per member added or removed, each recorded as soon as it is
//!   answered, so a spent budget parks the event with the progress kept.
//!
//! A recheck (version 0, sent when a member's requester appears, is
//! deactivated or reactivated: `group/wake.rs`) converges at whatever
//! version is applied; it costs Redis reads, and calls only for members
//! that changed.

mod members;
mod record;
mod wake;

use std::collections::HashMap;

use redis::AsyncCommands;
use shared::{
    event::{ChangeEvent, DeadClass},
    freshservice::{client, Call, FsError, GroupKind, RequesterGroup},
    identity,
    keys::Keys,
    records::{group::GroupRecord, group_sync::GroupSyncRecord},
    tenant::Tenant,
};

pub(super) use record::GroupSyncStore;
pub(super) use wake::{membership_changed, wake_groups};

use super::{
    api::{Halt, TenantApi},
    failure::{self, Outcome, BUSY_WAIT},
    Inner,
};
use crate::lease::Lease;
use record::Fenced;

/// Listing stops here (10,000 requester groups), so a misbehaving account
/// cannot keep a worker paging forever.
const MAX_GROUP_PAGES: u32 = 100;
/// A group's member listing stops here (100,000 members).
const MAX_MEMBER_PAGES: u32 = 1_000;
/// How many times one convergence finds its requester group gone before it
/// gives up for now (each time it links or makes another).
const MAX_RELINKS: usize = 3;

/// Handles one group event: the cheap checks, then the group's lease.
pub(super) async fn handle(inner: &Inner, ev: &ChangeEvent) -> Result<Outcome, Halt> {
    // A duplicate or old event costs one Redis read; a recheck always looks.
    let applied = inner.group_sync.applied_version(&ev.tenant, &ev.id).await?;
    if !ev.is_recheck() && applied.is_some_and(|a| a >= ev.version) {
        return Ok(Outcome::Skipped("already applied"));
    }
    let tenant = match inner.admit(ev).await? {
        Ok(t) => t,
        Err(outcome) => return Ok(outcome),
    };
    let Some(lease) = inner
        .leases
        .acquire(&ev.tenant, &Keys::group_lease_id(&ev.id))
        .await?
    else {
        return Ok(Outcome::Park {
            after: BUSY_WAIT,
            reason: "another worker is converging this group".into(),
        });
    };
    let result = converge(inner, ev, &tenant, &lease).await;
    inner.leases.release(&lease).await;
    result
}

async fn converge(
    inner: &Inner,
    ev: &ChangeEvent,
    tenant: &Tenant,
    lease: &Lease,
) -> Result<Outcome, Halt> {
    let mut r = inner.redis.clone();
    // Whatever is read from here on is newer than what woke a pending
    // recheck: the next wake-up must publish again (`group/wake.rs`).
    wake::reading(inner, &ev.tenant, &ev.id).await?;
    let h: HashMap<String, String> = r.hgetall(inner.keys.group(&ev.tenant, &ev.id)).await?;
    let group = match GroupRecord::decode(&h) {
        Ok(Some(g)) => g,
        Ok(None) => {
            // Gone for good (a create undone): nothing of it is pending.
            shared::pending::forget(
                &mut r,
                &inner.keys,
                shared::event::ResourceKind::Group,
                &ev.tenant,
                &ev.id,
            )
            .await?;
            return Ok(Outcome::Skipped("group no longer exists"));
        }
        Err(e) => {
            return Err(Halt::Dead {
                class: DeadClass::CorruptState,
                reason: format!("stored SCIM group is unreadable: {e}"),
            })
        }
    };
    let sync = inner.group_sync.load(&ev.tenant, &ev.id).await?;
    if !ev.is_recheck() && sync.applied_version.is_some_and(|a| a >= group.version) {
        return Ok(Outcome::Skipped("already applied"));
    }
    // A group that could not be made or linked (a rule-based clash) is not
    // helped by a member's change: only a replay of its change is.
    if ev.is_recheck() && sync.dead.is_some() && sync.group_id.is_none() {
        return Ok(Outcome::Skipped(
            "the group's last change was dead-lettered; replaying it converges the group",
        ));
    }
    let mut run = GroupRun {
        inner,
        api: inner.tenant_api(tenant, lease)?,
        ev,
        lease,
        sync,
    };
    if group.deleted {
        run.delete(group.version).await
    } else {
        run.apply(&group).await
    }
}

/// What the member step came to.
enum Members {
    /// Freshservice holds the desired members; these SCIM users wait for
    /// an active requester.
    Done { waiting: Vec<String> },
    /// The requester group is gone (deleted by hand): link or make another.
    GroupGone,
}

struct GroupRun<'a> {
    inner: &'a Inner,
    api: TenantApi<'a>,
    ev: &'a ChangeEvent,
    lease: &'a Lease,
    /// The group's sync record, kept in step with our writes.
    sync: GroupSyncRecord,
}

impl GroupRun<'_> {
    fn tenant(&self) -> &str {
        &self.ev.tenant
    }

    fn id(&self) -> &str {
        &self.ev.id
    }

    /// A fenced write's result: a lost lease stops the convergence.
    fn fenced(w: Result<(), Fenced>) -> Result<(), Halt> {
        w.map_err(|Fenced| Halt::LeaseLost)
    }

    async fn delete(&mut self, version: u64) -> Result<Outcome, Halt> {
        if let Some(gid) = self.sync.group_id {
            match self.api.call(Call::delete_requester_group(gid)).await {
                Ok(_) => {}
                Err(h) if failure::is_gone(&h) => {}
                Err(h) => return Err(h),
            }
            tracing::info!(
                tenant = self.tenant(),
                group = self.id(),
                requester_group = gid,
                "deleted the requester group of a deleted SCIM group"
            );
        }
        let w = self
            .inner
            .group_sync
            .clear(self.lease, self.tenant(), self.id(), version)
            .await?;
        Self::fenced(w)?;
        Ok(Outcome::Applied)
    }

    async fn apply(&mut self, group: &GroupRecord) -> Result<Outcome, Halt> {
        let name = group.display_name();
        for _ in 0..MAX_RELINKS {
            let gid = self.ensure_group(name).await?;
            match self.members(gid).await? {
                Members::GroupGone => {
                    tracing::warn!(
                        tenant = self.tenant(),
                        group = self.id(),
                        requester_group = gid,
                        "the requester group is gone from Freshservice; linking or making it again"
                    );
                    self.unlink().await?;
                }
                Members::Done { waiting } => {
                    let version = (!self.ev.is_recheck()).then_some(group.version);
                    let w = self
                        .inner
                        .group_sync
                        .record(
                            self.lease,
                            self.tenant(),
                            self.id(),
                            version,
                            name,
                            &waiting,
                        )
                        .await?;
                    Self::fenced(w)?;
                    tracing::info!(
                        tenant = self.tenant(),
                        group = self.id(),
                        requester_group = gid,
                        version = group.version,
                        recheck = self.ev.is_recheck(),
                        waiting = waiting.len(),
                        request_id = %self.ev.request_id,
                        "group converged"
                    );
                    return Ok(Outcome::Applied);
                }
            }
        }
        Err(Halt::Fs(FsError::unreadable(format!(
            "the requester group for {name:?} disappeared {MAX_RELINKS} times while the bridge converged it"
        ))))
    }

    /// The requester group this SCIM group is mapped to, named `name`:
    /// linked, made or renamed as needed (see the module doc).
    async fn ensure_group(&mut self, name: &str) -> Result<u64, Halt> {
        // Each relink takes two turns: link (or make), then check the name.
        for _ in 0..2 * MAX_RELINKS {
            if let Some(gid) = self.sync.group_id {
                if self.sync.name.as_deref() == Some(name) {
                    return Ok(gid);
                }
                match self.api.call(Call::rename_requester_group(gid, name)).await {
                    Ok(_) => {
                        let w = self
                            .inner
                            .group_sync
                            .named(self.lease, self.tenant(), self.id(), name)
                            .await?;
                        Self::fenced(w)?;
                        self.sync.name = Some(name.to_string());
                        return Ok(gid);
                    }
                    Err(h) if failure::is_gone(&h) => {
                        tracing::warn!(
                            tenant = self.tenant(),
                            group = self.id(),
                            requester_group = gid,
                            "the mapped requester group is gone; finding it by name"
                        );
                        self.unlink().await?;
                        continue;
                    }
                    Err(Halt::Fs(e)) if e.is_duplicate_value("name") => {
                        return Err(name_taken_on_rename(
                            self.sync.name.as_deref().unwrap_or("?"),
                            name,
                            &e,
                        ))
                    }
                    Err(h) => return Err(h),
                }
            }
            match self.find(name).await? {
                Some(g) => self.link_found(name, g).await?,
                None => self.create(name).await?,
            }
        }
        Err(Halt::Fs(FsError::unreadable(format!(
            "the requester group for {name:?} kept disappearing while the bridge linked it"
        ))))
    }

    /// POST, and the mapping recorded from its answer. A duplicate name is
    /// a group made meanwhile, or our own create whose answer was lost:
    /// found by name and linked.
    async fn create(&mut self, name: &str) -> Result<(), Halt> {
        match self.api.call(Call::create_requester_group(name)).await {
            Ok(a) => {
                let g = client::parse_requester_group(&a.text).map_err(Halt::Fs)?;
                tracing::info!(tenant = self.tenant(), group = self.id(), requester_group = g.id, "created a requester group");
                // Just made, so empty: the member set is known.
                self.link(g.id, &g.name, true).await
            }
            Err(Halt::Fs(e)) if e.is_duplicate_value("name") => match self.find(name).await? {
                Some(g) => self.link_found(name, g).await,
                None => Err(Halt::Fs(FsError::unreadable(format!(
                    "Freshservice says a requester group named {name:?} exists but does not list it: {e}"
                )))),
            },
            Err(h) => Err(h),
        }
    }

    /// Links a group found by name; a rule-based one is refused.
    async fn link_found(&mut self, name: &str, g: RequesterGroup) -> Result<(), Halt> {
        if g.kind == GroupKind::RuleBased {
            return Err(rule_based(name, &g.name));
        }
        tracing::info!(
            tenant = self.tenant(),
            group = self.id(),
            requester_group = g.id,
            "linked an existing requester group of that name"
        );
        // Someone else's members may be in it: read them back first.
        self.link(g.id, &g.name, false).await
    }

    async fn link(&mut self, gid: u64, name: &str, trusted: bool) -> Result<(), Halt> {
        let w = self
            .inner
            .group_sync
            .link(self.lease, self.tenant(), self.id(), gid, name, trusted)
            .await?;
        Self::fenced(w)?;
        self.sync.group_id = Some(gid);
        self.sync.name = Some(name.to_string());
        self.sync.trusted = trusted;
        Ok(())
    }

    async fn unlink(&mut self) -> Result<(), Halt> {
        let w = self
            .inner
            .group_sync
            .unlink(self.lease, self.tenant(), self.id())
            .await?;
        Self::fenced(w)?;
        self.sync.group_id = None;
        self.sync.name = None;
        self.sync.trusted = false;
        Ok(())
    }

    /// The account's requester group named `name` (without case), listed
    /// page by page; a manual one first should there be two.
    async fn find(&self, name: &str) -> Result<Option<RequesterGroup>, Halt> {
        let want = identity::fold(name);
        let mut found: Option<RequesterGroup> = None;
        for page in 1..=MAX_GROUP_PAGES {
            let a = self.api.call(Call::requester_groups_page(page)).await?;
            for g in client::parse_requester_groups(&a.text).map_err(Halt::Fs)? {
                if identity::fold(&g.name) != want {
                    continue;
                }
                if g.kind != GroupKind::RuleBased {
                    return Ok(Some(g));
                }
                found.get_or_insert(g);
            }
            if !a.more {
                break;
            }
        }
        Ok(found)
    }

    /// Reads the requester group's members back into the member set.
    /// `false`: the group is gone.
    async fn read_back(&mut self, gid: u64) -> Result<bool, Halt> {
        let mut ids = std::collections::BTreeSet::new();
        for page in 1..=MAX_MEMBER_PAGES {
            let a = match self.api.call(Call::group_members_page(gid, page)).await {
                Ok(a) => a,
                Err(h) if failure::is_gone(&h) => return Ok(false),
                Err(h) => return Err(h),
            };
            ids.extend(
                client::parse_group_members(&a.text)
                    .map_err(Halt::Fs)?
                    .into_iter()
                    .map(|m| m.id),
            );
            if !a.more {
                break;
            }
        }
        let w = self
            .inner
            .group_sync
            .trust(self.lease, self.tenant(), self.id(), &ids)
            .await?;
        Self::fenced(w)?;
        self.sync.trusted = true;
        Ok(true)
    }

    /// Makes the requester group's members the desired ones.
    async fn members(&mut self, gid: u64) -> Result<Members, Halt> {
        if !self.sync.trusted && !self.read_back(gid).await? {
            return Ok(Members::GroupGone);
        }
        let (inner, t, id) = (self.inner, self.tenant(), self.id());
        let scim = members::read(&inner.redis, &inner.keys, t, id).await?;
        let desired = members::desired(&scim);
        let held = inner.group_sync.fs_members(t, id).await?;
        let extras = members::extras(&desired.requesters, &held);
        let deactivated = members::deactivated(&inner.redis, &inner.keys, t, &extras).await?;
        let diff = members::diff(&desired.requesters, &held, &deactivated);
        let mut waiting = desired.waiting;
        let w = inner
            .group_sync
            .members(self.lease, t, id, false, &diff.drop)
            .await?;
        Self::fenced(w)?;
        if diff.calls() > 0 {
            tracing::debug!(
                tenant = t,
                group = id,
                add = diff.add.len(),
                remove = diff.remove.len(),
                "changing the requester group's members"
            );
        }
        for &rid in &diff.add {
            match self.api.call(Call::add_group_member(gid, rid)).await {
                Ok(_) => {}
                // Already a member (`docs/freshservice.md` §4: the answer is
                // open; a duplicate at 400 or 409).
                Err(Halt::Fs(e)) if e.is_any_duplicate_value() => {}
                Err(h) if failure::is_gone(&h) => {
                    if !self.group_exists(gid).await? {
                        return Ok(Members::GroupGone);
                    }
                    // The requester was deleted in Freshservice: the user's
                    // next convergence relinks it (and wakes this group).
                    let user = scim
                        .iter()
                        .find(|m| m.requester == Some(rid))
                        .map(|m| m.user.clone());
                    tracing::warn!(tenant = t, group = id, requester_id = rid, user = ?user, "a member's requester is gone from Freshservice; the member waits for it");
                    waiting.extend(user);
                    continue;
                }
                // Refused: if its user was deactivated meanwhile (the recheck
                // that deactivation sent takes it out), this is why.
                Err(Halt::Fs(e @ FsError::Permanent { .. })) => {
                    let now = members::deactivated(&inner.redis, &inner.keys, t, &[rid]).await?;
                    if now.contains(&rid) {
                        tracing::info!(
                            tenant = t,
                            group = id,
                            requester_id = rid,
                            "a member's requester was deactivated meanwhile; not added"
                        );
                        continue;
                    }
                    return Err(Halt::Fs(e));
                }
                Err(h) => return Err(h),
            }
            let w = inner
                .group_sync
                .members(self.lease, t, id, true, &[rid])
                .await?;
            Self::fenced(w)?;
        }
        for &rid in &diff.remove {
            match self.api.call(Call::remove_group_member(gid, rid)).await {
                Ok(_) => {}
                // Not a member (any more), or the group is gone: either way
                // the requester is not in it.
                Err(h) if failure::is_gone(&h) => {}
                Err(h) => return Err(h),
            }
            let w = inner
                .group_sync
                .members(self.lease, t, id, false, &[rid])
                .await?;
            Self::fenced(w)?;
        }
        waiting.sort();
        waiting.dedup();
        Ok(Members::Done { waiting })
    }

    /// Whether the requester group is still there (after a 404 that may
    /// have been about the member instead).
    async fn group_exists(&self, gid: u64) -> Result<bool, Halt> {
        match self.api.call(Call::requester_group(gid)).await {
            Ok(_) => Ok(true),
            Err(h) if failure::is_gone(&h) => Ok(false),
            Err(h) => Err(h),
        }
    }
}

/// A rule-based group has the name: it takes no members through the API
/// (`docs/freshservice.md` §4), so linking it would be a lie.
fn rule_based(name: &str, theirs: &str) -> Halt {
    Halt::Dead {
        class: DeadClass::Permanent,
        reason: format!(
            "Freshservice already has a rule-based requester group named {theirs:?} (for {name:?}); rule-based groups take no members through the API. Rename the group in Okta or in Freshservice."
        ),
    }
}

/// The new displayName is another requester group's name.
fn name_taken_on_rename(from: &str, to: &str, e: &FsError) -> Halt {
    Halt::Dead {
        class: DeadClass::Permanent,
        reason: format!(
            "cannot rename the requester group {from:?} to {to:?}: Freshservice already has a requester group of that name ({e}). Rename one of them."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_clash_and_what_to_do() {
        match rule_based("Paris", "paris") {
            Halt::Dead { class, reason } => {
                assert_eq!(class, DeadClass::Permanent);
                assert!(
                    reason.contains("rule-based requester group named \"paris\""),
                    "{reason}"
                );
                assert!(
                    reason.contains("Rename the group in Okta or in Freshservice."),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let e = FsError::Permanent {
            status: 409,
            body: "dup".into(),
        };
        match name_taken_on_rename("Old", "New", &e) {
            Halt::Dead { class, reason } => {
                assert_eq!(class, DeadClass::Permanent);
                assert!(reason.contains("\"Old\" to \"New\""), "{reason}");
                assert!(reason.contains("dup"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
