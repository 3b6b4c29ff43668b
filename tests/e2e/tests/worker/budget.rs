//! Three workers share one tenant's API budget through Redis (the
//! simulator's and the bridge's window both shortened to 10 s so the tests
//! take seconds, not minutes):
//! - against an account limited to the tenant's own budget of 30 calls per
//!   window, no call is refused with 429 and every user arrives;
//! - against an account whose limit is far above the tenant's budget (so
//!   the simulator never refuses anything), the bridge still paces itself:
//!   the arrival times in the simulator's call log show no window holding
//!   more than the budget's GCRA allows (`support::assert_paced`).

use std::{collections::HashMap, time::Duration, time::Instant};

use super::support::*;
use e2e::{okta_user, Stack};
use serde_json::json;

const LIMIT: u32 = 30;
const WINDOW_MS: u64 = 10_000;

/// Creates `users` users on a stack whose tenant budget is [`LIMIT`] per
/// window and whose simulated account allows `sim_limit`, then checks the
/// pace, that the load spanned several windows, and that nothing got 429.
async fn run(label: &str, users: usize, sim_limit: u32) -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 3,
        sim_rate_limit: sim_limit,
        tenant_rate_limit: Some(LIMIT),
        worker_env: HashMap::from([("RATE_LIMIT_WINDOW_MS".to_string(), WINDOW_MS.to_string())]),
        ..Default::default()
    })
    .await?;
    sim_admin(
        &stack,
        "PUT",
        "/rate_limit",
        json!({"per_minute": sim_limit, "window_ms": WINDOW_MS, "reset": true}),
    )
    .await?;
    let since = now_ms();
    let started = Instant::now();
    let mut made = Vec::new();
    for i in 0..users {
        let email = format!("{label}{i}@example.com");
        made.push((
            scim_create(&stack, okta_user(&email, "Budget", "User")).await?,
            email,
        ));
    }
    for (id, email) in &made {
        wait_converged(&stack, id).await?;
        assert!(only_requester(&stack, email).await?.is_some());
    }
    let took = started.elapsed();
    let calls = stack.sim_calls().await?;
    let (sent, worst, bound) = assert_paced(&calls, since, LIMIT, Duration::from_millis(WINDOW_MS));
    let throttled = calls.iter().filter(|c| c["status"] == 429).count();
    println!(
        "budget ({label}, account limit {sim_limit}): {sent} calls for {users} users in {took:?}; \
         worst {WINDOW_MS} ms window {worst} (pace bound {bound}, budget {LIMIT}); 429s {throttled}"
    );
    assert!(
        sent as u32 > LIMIT,
        "the load spans more than one window ({sent} calls)"
    );
    assert_eq!(throttled, 0, "no call was refused with 429");
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_stay_inside_the_shared_budget() -> anyhow::Result<()> {
    run("budget", 40, LIMIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_pace_themselves_when_freshservice_would_let_them_run() -> anyhow::Result<()> {
    run("pace", 45, 100_000).await
}
