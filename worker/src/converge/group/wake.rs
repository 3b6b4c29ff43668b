//! Waking a user's groups from the user's side: a group's members count
//! only once their requesters are active (`members.rs`), so when a user's
//! convergence changes that — its first requester, another requester, or
//! its requester deactivated or reactivated — every group the user belongs
//! to (`Keys::user_groups`, kept by the ingress) gets a recheck event
//! (version 0, `ChangeEvent::is_recheck`). An ordinary profile update
//! changes none of it and costs nothing here. Nothing polls.

use redis::AsyncCommands;
use shared::event::ChangeEvent;

use super::super::{api::Halt, Inner};

/// A failed wake-up parks the user's event this long (the user's record is
/// already written, so the retry only wakes).
const WAKE_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a user's recorded outcome changes whether its requester can be
/// a group member: `before` is what its sync record held (requester id,
/// `active`), `after` what was just recorded.
pub fn membership_changed(before: (Option<u64>, Option<bool>), after: (Option<u64>, bool)) -> bool {
    let (rid_before, active_before) = before;
    let (rid_after, active_after) = after;
    rid_before != rid_after || (rid_after.is_some() && active_before != Some(active_after))
}

/// Publishes a recheck for every group `user_id` is a member of; returns
/// how many. The events are confirmed by the broker before this returns.
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
    for g in &groups {
        let ev = ChangeEvent::group(tenant, g, 0, request_id);
        inner
            .publisher
            .publish_change(&ev)
            .await
            .map_err(|e| Halt::Park {
                after: WAKE_RETRY,
                reason: format!("could not wake the user's groups: {e}"),
            })?;
    }
    if !groups.is_empty() {
        tracing::info!(
            tenant,
            user = user_id,
            groups = groups.len(),
            "the user's requester changed; rechecking its groups"
        );
    }
    Ok(groups.len())
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
