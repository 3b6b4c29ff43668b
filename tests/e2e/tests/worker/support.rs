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
