//! Waking a user's groups from the user's side: a group's members count
//! only once their requesters are active (`members.rs`), so when a user's
//! convergence changes that — its first requester, another requester, or
//! its requester deactivated or reactivated — every group the user belongs
//! to (`Keys::user_groups`, kept by the ingress) gets a recheck event
//! (version 0, `ChangeEvent::is_recheck`). An ordinary profile update
//! changes none of it and costs nothing here. Nothing polls.
//!
//! A thousand users created at once wake their group a thousand times, so
//! rechecks are coalesced (`Keys::group_recheck`): every convergence of the
//! group bumps a generation before it reads its members ([`reading`]), and
//! a user publishes a recheck only if none was published in the current
//! generation, noting the generation once the broker confirmed it. A user
//! that publishes nothing has seen a confirmed recheck whose convergence
//! has not started reading yet, so that convergence sees the user's
//! record. A worker that dies between its publish and its note only costs
//! a duplicate later; none is lost. The hash's lifetime only bounds how
//! long a recheck that never ran could hold the next ones back.

use std::time::Duration;

use redis::AsyncCommands;
use shared::event::ChangeEvent;

use super::super::{api::Halt, Inner};

/// A failed wake-up parks the user's event this long (the user's record is
/// already written, so the retry only wakes).
const WAKE_RETRY: Duration = Duration::from_secs(5);
/// How long the generation hash lives untouched (every use renews it).
const GENERATION_TTL: Duration = Duration::from_secs(600);
/// The hash's fields (see `Keys::group_recheck`).
const GEN: &str = "gen";
const SENT: &str = "sent";

/// The current generation, or nil when a recheck was already published in
/// it. KEYS: the group's recheck hash.
const SHOULD_SEND: &str = r#"
local h = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2])
local gen = h[1] or '0'
if h[2] == gen then return false end
return gen
"#;

/// Called by the group's convergence before it reads its members: a user
/// recorded from now on must wake the group again.
pub async fn reading(inner: &Inner, tenant: &str, group: &str) -> Result<(), redis::RedisError> {
    let key = inner.keys.group_recheck(tenant, group);
    let _: () = redis::pipe()
        .hincr(&key, GEN, 1)
        .ignore()
        .pexpire(&key, GENERATION_TTL.as_millis() as i64)
        .ignore()
        .query_async(&mut inner.redis.clone())
        .await?;
    Ok(())
}

/// Whether a user's recorded outcome changes whether its requester can be
/// a group member: `before` is what its sync record held (requester id,
/// `active`), `after` what was just recorded.
pub fn membership_changed(before: (Option<u64>, Option<bool>), after: (Option<u64>, bool)) -> bool {
    let (rid_before, active_before) = before;
    let (rid_after, active_after) = after;
    rid_before != rid_after || (rid_after.is_some() && active_before != Some(active_after))
}

/// Publishes a recheck for every group `user_id` is a member of that has
/// none on its way; returns how many. The events are confirmed by the
/// broker before this returns.
pub async fn wake_groups(
    inner: &Inner,
    tenant: &str,
    user_id: &str,
    request_id: &str,
) -> Result<usize, Halt> {
    let mut r = inner.redis.clone();
    let listed: Option<String> = r.hget(inner.keys.user_groups(tenant), user_id).await?;
    let Some(listed) = listed else {
        return Ok(0);
    };
    let groups: Vec<String> = match serde_json::from_str(&listed) {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(tenant, user = user_id, error = %e, "the user's group list is unreadable; no group woken");
            return Ok(0);
        }
    };
    let should_send = redis::Script::new(SHOULD_SEND);
    let mut woken = 0;
    for g in &groups {
        let key = inner.keys.group_recheck(tenant, g);
        let gen: Option<String> = should_send
            .key(&key)
            .arg(GEN)
            .arg(SENT)
            .invoke_async(&mut r)
            .await?;
        let Some(gen) = gen else {
            // A recheck is on its way and has not read the members yet.
            continue;
        };
        let ev = ChangeEvent::group(tenant, g, 0, request_id);
        inner
            .publisher
            .publish_change(&ev)
            .await
            .map_err(|e| Halt::Park {
                after: WAKE_RETRY,
                reason: format!("could not wake the user's groups: {e}"),
            })?;
        let _: () = redis::pipe()
            .hset(&key, SENT, gen)
            .ignore()
            .pexpire(&key, GENERATION_TTL.as_millis() as i64)
            .ignore()
            .query_async(&mut r)
            .await?;
        woken += 1;
    }
    if woken > 0 {
        tracing::info!(
            tenant,
            user = user_id,
            groups = woken,
            "the user's requester changed; rechecking its groups"
        );
    }
    Ok(woken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_requester_or_a_changed_active_state_wakes_groups() {
        let rows = [
            ("first requester", (None, None), (Some(1), true), true),
            ("created inactive", (None, None), (Some(1), false), true),
            (
                "profile update",
                (Some(1), Some(true)),
                (Some(1), true),
                false,
            ),
            ("deactivated", (Some(1), Some(true)), (Some(1), false), true),
            ("reactivated", (Some(1), Some(false)), (Some(1), true), true),
            (
                "still inactive",
                (Some(1), Some(false)),
                (Some(1), false),
                false,
            ),
            ("relinked", (Some(1), Some(true)), (Some(2), true), true),
            ("forgotten", (Some(1), Some(false)), (None, false), true),
            ("never had one", (None, None), (None, false), false),
            (
                "recorded without active",
                (Some(1), None),
                (Some(1), true),
                true,
            ),
        ];
        for (name, before, after, want) in rows {
            assert_eq!(membership_changed(before, after), want, "{name}");
        }
    }
}
