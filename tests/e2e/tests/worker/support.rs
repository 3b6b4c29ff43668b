//! Helpers the worker tests share (`mod support` of the `worker` test
//! binary; `worker_processes.rs` includes it with `#[path]`): reading the worker's sync
//! status, driving the simulator's admin API, the dead-letter queue, and
//! publishing raw change events. Compiled on its own it holds no tests.
#![allow(dead_code)]

use std::{collections::HashMap, time::Duration};

use e2e::{wait_for, Stack};
use redis::AsyncCommands;
use serde_json::{json, Value};
use shared::{event::ChangeEvent, keys::Keys, queue::Topology};
use worker::deadletter::{self, Entry, Selector};

/// Generous deadline for a convergence (the tests wait on conditions).
pub const CONVERGE: Duration = Duration::from_secs(30);

pub async fn redis() -> anyhow::Result<redis::aio::ConnectionManager> {
    Ok(shared::redis_conn::connect(&e2e::redis_url()).await?)
}

/// The worker's sync status hash of one user.
pub async fn sync_status(stack: &Stack, id: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    Ok(r.hgetall(keys.sync(&stack.tenant_id, id)).await?)
}

/// The user's desired version as the ingress stored it.
pub async fn desired_version(stack: &Stack, id: &str) -> anyhow::Result<u64> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let v: Option<u64> = r.hget(keys.user(&stack.tenant_id, id), "version").await?;
    Ok(v.unwrap_or(0))
}

/// Waits until the worker recorded the user's latest desired version.
pub async fn wait_converged(stack: &Stack, id: &str) -> anyhow::Result<HashMap<String, String>> {
    let want = desired_version(stack, id).await?;
    wait_for(
        &format!("user {id} converged to version {want}"),
        CONVERGE,
        || async {
            let s = sync_status(stack, id).await?;
            let applied: u64 = s
                .get("applied_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok((applied >= want).then_some(s))
        },
    )
    .await
}

/// The worker's sync status hash of one group (`Keys::group_sync`).
pub async fn group_sync_status(stack: &Stack, id: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    Ok(r.hgetall(keys.group_sync(&stack.tenant_id, id)).await?)
}

/// The group's version as the ingress stored it.
pub async fn group_version(stack: &Stack, id: &str) -> anyhow::Result<u64> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let v: Option<u64> = r
        .hget(
            keys.group(&stack.tenant_id, id),
            shared::records::group::field::VERSION,
        )
        .await?;
    Ok(v.unwrap_or(0))
}

/// The requester ids the worker knows to be in the group's requester group.
pub async fn group_fs_members(stack: &Stack, id: &str) -> anyhow::Result<Vec<u64>> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let ids: Vec<String> = r
        .smembers(keys.group_fs_members(&stack.tenant_id, id))
        .await?;
    let mut ids: Vec<u64> = ids.iter().filter_map(|i| i.parse().ok()).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Waits until the worker recorded the group's latest version with no
/// member waiting; returns its sync status.
pub async fn wait_group_converged(
    stack: &Stack,
    id: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let want = group_version(stack, id).await?;
    wait_for(
        &format!("group {id} converged to version {want}"),
        CONVERGE,
        || async {
            let s = group_sync_status(stack, id).await?;
            let applied: u64 = s
                .get("applied_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let waiting = s.get("waiting").map(String::as_str).unwrap_or("[]");
            Ok((applied >= want && waiting == "[]").then_some(s))
        },
    )
    .await
}

/// The requester group the worker mapped the SCIM group to.
pub fn mapped_group_id(status: &HashMap<String, String>) -> anyhow::Result<u64> {
    status
        .get("group_id")
        .and_then(|g| g.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the group is not mapped: {status:?}"))
}

/// The requester id of the one requester with this email.
pub async fn requester_id(stack: &Stack, email: &str) -> anyhow::Result<u64> {
    only_requester(stack, email)
        .await?
        .and_then(|r| r["id"].as_u64())
        .ok_or_else(|| anyhow::anyhow!("no requester with {email}"))
}

/// Waits until the simulator's requester group `gid` is named `name` and
/// holds exactly the requesters of `emails`, and the worker's member set
/// agrees; returns the group.
pub async fn wait_requester_group(
    stack: &Stack,
    scim_id: &str,
    gid: u64,
    name: &str,
    emails: &[&str],
) -> anyhow::Result<Value> {
    let mut want = Vec::new();
    for e in emails {
        want.push(requester_id(stack, e).await?);
    }
    want.sort_unstable();
    let found = wait_for(
        &format!("requester group {gid} named {name:?} with {emails:?} ({want:?})"),
        CONVERGE,
        || {
            let want = want.clone();
            async move {
                let Some(g) = stack.sim_requester_group(gid).await? else {
                    return Ok(None);
                };
                let known = group_fs_members(stack, scim_id).await?;
                Ok((g["name"] == name && member_ids(&g) == want && known == want).then_some(g))
            }
        },
    )
    .await;
    if found.is_err() {
        let seen = stack.sim_requester_group(gid).await?;
        let known = group_fs_members(stack, scim_id).await?;
        let status = group_sync_status(stack, scim_id).await?;
        anyhow::bail!(
            "{}; Freshservice holds {seen:?}, the worker knows {known:?}, status {status:?}",
            found.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
    found
}

/// A simulator requester group's member ids, sorted.
pub fn member_ids(group: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort_unstable();
    ids
}

/// Creates a SCIM user; returns its id.
pub async fn scim_create(stack: &Stack, body: Value) -> anyhow::Result<String> {
    let (status, b) = stack.scim("POST", "/Users", Some(body)).await?;
    anyhow::ensure!(status == 201, "SCIM create answered {status}: {b}");
    Ok(b["id"].as_str().expect("id").to_string())
}

/// Replaces a SCIM user (Okta's PUT).
pub async fn scim_put(stack: &Stack, id: &str, body: Value) -> anyhow::Result<()> {
    let (status, b) = stack
        .scim("PUT", &format!("/Users/{id}"), Some(body))
        .await?;
    anyhow::ensure!(status == 200, "SCIM replace answered {status}: {b}");
    Ok(())
}

/// Calls the simulator's admin API for this stack's account.
pub async fn sim_admin(
    stack: &Stack,
    method: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let url = format!(
        "{}/_sim/accounts/{}{}",
        stack.sim.base_url, stack.domain, path
    );
    let resp = stack
        .http
        .request(method.parse()?, url)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    anyhow::ensure!(
        status.is_success(),
        "simulator admin {method} {path}: {status} {text}"
    );
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn set_faults(stack: &Stack, faults: Value) -> anyhow::Result<()> {
    sim_admin(stack, "PUT", "/faults", faults).await.map(|_| ())
}

/// The one requester with this email; fails when there are several.
pub async fn only_requester(stack: &Stack, email: &str) -> anyhow::Result<Option<Value>> {
    let mut found = stack.sim_requesters_with_email(email).await?;
    anyhow::ensure!(
        found.len() <= 1,
        "{} requesters with {email}: {found:?}",
        found.len()
    );
    Ok(found.pop())
}

/// `"METHOD /path"` of each call in a slice of the simulator's log.
pub fn call_ops(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["method"].as_str().unwrap_or("?"),
                c["path"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Calls in the simulator's log matching `method` and a path suffix.
pub async fn calls_matching(
    stack: &Stack,
    method: &str,
    path_contains: &str,
) -> anyhow::Result<Vec<Value>> {
    Ok(stack
        .sim_calls()
        .await?
        .into_iter()
        .filter(|c| {
            c["method"] == method && c["path"].as_str().unwrap_or("").contains(path_contains)
        })
        .collect())
}

pub fn topology(stack: &Stack) -> Topology {
    Topology::new(stack.prefix.clone())
}

pub async fn dead_letters(stack: &Stack) -> anyhow::Result<Vec<Entry>> {
    Ok(deadletter::list(&e2e::amqp_url(), &topology(stack), &Selector::All).await?)
}

/// Publishes a raw change event to its tenant's queue, confirmed.
pub async fn publish(stack: &Stack, ev: &ChangeEvent) -> anyhow::Result<()> {
    let p =
        shared::queue::Publisher::new(e2e::amqp_url(), topology(stack), Duration::from_secs(10));
    p.publish_change(ev).await?;
    Ok(())
}

/// A full Okta user with every mapped core attribute.
pub fn full_user(email: &str, given: &str, family: &str, title: &str) -> Value {
    let mut u = e2e::okta_user(email, given, family);
    u["title"] = json!(title);
    u["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0199", "type": "mobile"}]);
    u["timezone"] = json!("America/Los_Angeles");
    u
}

/// How late a call the bridge's budget granted may reach the simulator
/// (building the request, the loopback hop, a loaded machine's scheduling)
/// and still count as on time in [`assert_paced`]. Calls granted up to this
/// long before a window may arrive inside it.
pub const ARRIVAL_SLACK: Duration = Duration::from_millis(500);

/// Milliseconds since the Unix epoch (the simulator's call-log clock).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Checks the bridge's own pace in the simulator's call log, counting every
/// call that arrived at or after `since_ms` (refused ones too, so the
/// simulator's own limit cannot keep the count down on the bridge's
/// behalf). The tenant's budget of `limit` per `window` is a GCRA in
/// `shared/src/freshservice/budget.rs` ([`shared::freshservice::Sizing`]):
/// any span of `L` holds at most `L / interval + burst` grants, plus one a
/// span's two edges can both catch. Calls arriving in a window `[t, t +
/// window)` were granted in `[t - ARRIVAL_SLACK, t + window)`, so no window
/// may hold more than `(window + ARRIVAL_SLACK) / interval + burst + 1`.
/// Returns (calls counted, the worst window, that bound).
pub fn assert_paced(
    calls: &[Value],
    since_ms: u64,
    limit: u32,
    window: Duration,
) -> (usize, usize, usize) {
    let s = shared::freshservice::Sizing::new(limit, window);
    let bound = ((window + ARRIVAL_SLACK).as_micros() / s.interval.as_micros().max(1)) as usize
        + s.burst as usize
        + 1;
    let mut at: Vec<u64> = calls
        .iter()
        .filter_map(|c| c["received_ms"].as_u64())
        .filter(|t| *t >= since_ms)
        .collect();
    at.sort_unstable();
    let window_ms = window.as_millis() as u64;
    let (mut worst, mut j) = (0, 0);
    for i in 0..at.len() {
        while j < at.len() && at[j] < at[i] + window_ms {
            j += 1;
        }
        worst = worst.max(j - i);
    }
    assert!(
        worst <= bound,
        "the bridge sent {worst} calls in one {window_ms} ms window; its budget of {limit} \
         (GCRA interval {:?}, burst {}) allows at most {bound}",
        s.interval,
        s.burst
    );
    (at.len(), worst, bound)
}
