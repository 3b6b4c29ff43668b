//! Who should be in a group's requester group, and which calls get it
//! there. The decisions are pure ([`desired`], [`diff`]) so they are
//! tested without Redis or Freshservice; [`read`] and [`deactivated`] fetch
//! their inputs from Redis in pipelined round trips (a 1,000-member group
//! costs two or three, not thousands).
//!
//! A SCIM member counts once its user has an *active* requester: the user's
//! sync record (`Keys::sync`) says `active` and the id mapping
//! (`Keys::map_requester`) names the requester. A member whose user should
//! be active but has no active requester yet (its create is queued, or it
//! is being reactivated) *waits*: no call is made for it, and the user's
//! own convergence wakes the group when that changes (`wake.rs`). Members
//! whose users are deactivated or deleted are left out: Freshservice drops
//! a deactivated requester from every group by itself, and the bridge
//! re-adds it after a reactivation (`docs/freshservice.md` §4).

use std::collections::{BTreeSet, HashMap};

use redis::aio::ConnectionManager;
use serde_json::Value;
use shared::{
    keys::Keys,
    records::{sync::field as sync_field, user::field as user_field},
};

/// One SCIM member of a group, as the worker found its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The user's SCIM id.
    pub user: String,
    /// The requester the user is linked to.
    pub requester: Option<u64>,
    /// `active` in the user's sync record: what the bridge last left the
    /// requester as (`None`: nothing recorded yet).
    pub requester_active: Option<bool>,
    /// The user as SCIM holds it exists, is not deleted and is not
    /// `active: false` (`shared::mapping::desired_active`).
    pub wants_active: bool,
}

/// The requester group's desired members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    pub requesters: BTreeSet<u64>,
    /// SCIM ids of members waiting for an active requester, sorted.
    pub waiting: Vec<String>,
}

/// What should be in the requester group (see the module doc).
pub fn desired(members: &[Member]) -> Desired {
    let mut out = Desired::default();
    for m in members {
        match (m.requester, m.requester_active) {
            (Some(rid), Some(true)) => {
                out.requesters.insert(rid);
            }
            _ if m.wants_active => out.waiting.push(m.user.clone()),
            _ => {}
        }
    }
    out.waiting.sort();
    out.waiting.dedup();
    out
}

/// The calls that make `held` (the member set as the worker knows it)
/// match `desired`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// One add call each.
    pub add: Vec<u64>,
    /// One remove call each.
    pub remove: Vec<u64>,
    /// Out of the set with no call: their requesters were deactivated,
    /// which took them out of every group already.
    pub drop: Vec<u64>,
}

impl Diff {
    pub fn calls(&self) -> usize {
        self.add.len() + self.remove.len()
    }
}

/// Held but not desired: the members whose fate [`diff`] needs to know
/// (see [`deactivated`]).
pub fn extras(desired: &BTreeSet<u64>, held: &BTreeSet<u64>) -> Vec<u64> {
    held.difference(desired).copied().collect()
}

/// `deactivated`: of the [`extras`], those whose user's sync record says
/// the requester was deactivated.
pub fn diff(desired: &BTreeSet<u64>, held: &BTreeSet<u64>, deactivated: &BTreeSet<u64>) -> Diff {
    let (drop, remove) = extras(desired, held)
        .into_iter()
        .partition(|r| deactivated.contains(r));
    Diff {
        add: desired.difference(held).copied().collect(),
        remove,
        drop,
    }
}

/// The group's SCIM members and what each one's user is now: the member
/// ids (`Keys::group_members`), their requester mappings and sync records
/// in one pipeline, then the stored users of those without an active
/// requester in another.
pub async fn read(
    redis: &ConnectionManager,
    keys: &Keys,
    tenant: &str,
    group: &str,
) -> Result<Vec<Member>, redis::RedisError> {
    let mut r = redis.clone();
    let ids: Vec<String> = redis::cmd("HKEYS")
        .arg(keys.group_members(tenant, group))
        .query_async(&mut r)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = redis::pipe();
    p.cmd("HMGET").arg(keys.map_requester(tenant)).arg(&ids);
    for id in &ids {
        p.hget(keys.sync(tenant, id), sync_field::ACTIVE);
    }
    let replies: Vec<redis::Value> = shared::redis_conn::query_pipe(&p, &mut r).await?;
    let mut replies = replies.into_iter();
    let rids: Vec<Option<String>> =
        redis::from_redis_value(replies.next().unwrap_or(redis::Value::Nil))
            .map_err(redis::RedisError::from)?;
    let actives: Vec<Option<String>> = replies
        .map(redis::from_redis_value)
        .collect::<Result<_, redis::ParsingError>>()
        .map_err(redis::RedisError::from)?;
    let mut members: Vec<Member> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Member {
            user: id.clone(),
            requester: rids.get(i).cloned().flatten().and_then(|r| r.parse().ok()),
            requester_active: actives.get(i).cloned().flatten().map(|a| a == "1"),
            wants_active: false,
        })
        .collect();
    let unsure: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| !(m.requester.is_some() && m.requester_active == Some(true)))
        .map(|(i, _)| i)
        .collect();
    if unsure.is_empty() {
        return Ok(members);
    }
    let mut p = redis::pipe();
    for &i in &unsure {
        p.cmd("HMGET")
            .arg(keys.user(tenant, &members[i].user))
            .arg(&[user_field::DOC, user_field::DELETED]);
    }
    let users: Vec<(Option<String>, Option<String>)> =
        shared::redis_conn::query_pipe(&p, &mut r).await?;
    for (&i, (doc, deleted)) in unsure.iter().zip(users) {
        members[i].wants_active = wants_active(doc.as_deref(), deleted.as_deref());
    }
    Ok(members)
}

/// A stored user (its `doc` and `deleted` fields) that should have an
/// active requester. No document: no user (never written, or purged).
fn wants_active(doc: Option<&str>, deleted: Option<&str>) -> bool {
    let Some(doc) = doc else {
        return false;
    };
    if deleted == Some("1") {
        return false;
    }
    serde_json::from_str::<Value>(doc).is_ok_and(|d| shared::mapping::desired_active(&d))
}

/// Of `rids`, those whose user (`Keys::map_scim`) has a sync record that
/// says its requester was deactivated.
pub async fn deactivated(
    redis: &ConnectionManager,
    keys: &Keys,
    tenant: &str,
    rids: &[u64],
) -> Result<BTreeSet<u64>, redis::RedisError> {
    if rids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let mut r = redis.clone();
    let users: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(keys.map_scim(tenant))
        .arg(rids)
        .query_async(&mut r)
        .await?;
    let known: HashMap<u64, String> = rids
        .iter()
        .zip(users)
        .filter_map(|(rid, u)| u.map(|u| (*rid, u)))
        .collect();
    if known.is_empty() {
        return Ok(BTreeSet::new());
    }
    let order: Vec<(&u64, &String)> = known.iter().collect();
    let mut p = redis::pipe();
    for (_, user) in &order {
        p.hget(keys.sync(tenant, user), sync_field::ACTIVE);
    }
    let actives: Vec<Option<String>> = shared::redis_conn::query_pipe(&p, &mut r).await?;
    Ok(order
        .into_iter()
        .zip(actives)
        .filter(|(_, a)| a.as_deref() == Some("0"))
        .map(|((rid, _), _)| *rid)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: &str, requester: Option<u64>, active: Option<bool>, wants: bool) -> Member {
        Member {
            user: user.into(),
            requester,
            requester_active: active,
            wants_active: wants,
        }
    }

    fn set(ids: &[u64]) -> BTreeSet<u64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn members_count_once_their_requester_is_active_and_wait_until_then() {
        let d = desired(&[
            member("u1", Some(11), Some(true), true),
            // Deactivation still queued: the record says active, so it stays
            // until the deactivation wakes the group.
            member("u2", Some(12), Some(true), false),
            // Create queued: no requester yet.
            member("u4", None, None, true),
            // Linked a moment ago, not yet recorded.
            member("u3", Some(13), None, true),
            // Reactivation queued.
            member("u5", Some(15), Some(false), true),
            // Deactivated, and meant to be.
            member("u6", Some(16), Some(false), false),
            // Deleted, or never existed.
            member("u7", None, None, false),
        ]);
        assert_eq!(d.requesters, set(&[11, 12]));
        assert_eq!(d.waiting, ["u3", "u4", "u5"]);
    }

    #[test]
    fn the_diff_adds_the_missing_removes_the_extra_and_drops_the_deactivated() {
        let want = set(&[1, 2, 3]);
        let held = set(&[2, 3, 4, 5, 6]);
        assert_eq!(extras(&want, &held), [4, 5, 6]);
        let d = diff(&want, &held, &set(&[5]));
        assert_eq!(
            d,
            Diff {
                add: vec![1],
                remove: vec![4, 6],
                drop: vec![5],
            }
        );
        assert_eq!(d.calls(), 3);
    }

    #[test]
    fn nothing_to_do_costs_no_call() {
        let s = set(&[7, 8]);
        let d = diff(&s, &s, &BTreeSet::new());
        assert_eq!(d, Diff::default());
        assert_eq!(d.calls(), 0);
        assert_eq!(
            diff(&BTreeSet::new(), &BTreeSet::new(), &BTreeSet::new()),
            Diff::default()
        );
    }

    #[test]
    fn an_emptied_group_removes_everyone_not_deactivated() {
        let d = diff(&BTreeSet::new(), &set(&[1, 2, 3]), &set(&[2]));
        assert_eq!(d.add, Vec::<u64>::new());
        assert_eq!(d.remove, [1, 3]);
        assert_eq!(d.drop, [2]);
    }

    #[test]
    fn a_stored_user_wants_an_active_requester_unless_inactive_or_deleted() {
        assert!(wants_active(Some(r#"{"userName":"a"}"#), Some("0")));
        assert!(wants_active(Some(r#"{"active":true}"#), None));
        assert!(wants_active(Some(r#"{"active":"True"}"#), None));
        assert!(!wants_active(Some(r#"{"active":false}"#), Some("0")));
        assert!(!wants_active(Some(r#"{"active":"False"}"#), None));
        assert!(!wants_active(Some(r#"{"active":true}"#), Some("1")));
        assert!(!wants_active(None, None));
        assert!(!wants_active(Some("{"), None));
    }
}
