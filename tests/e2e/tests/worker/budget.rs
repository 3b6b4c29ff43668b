//! Three workers share one tenant's API budget through Redis: against an
//! account limited to 30 calls per 10-s window (the simulator's and the
//! bridge's window both shortened so the test takes seconds, not minutes),
//! the simulator's call log never holds more than 30 calls in any window,
//! no call is refused with 429, and every user arrives.

use std::{collections::HashMap, time::Instant};

use super::support::*;
use e2e::{okta_user, Stack};
use serde_json::json;

const LIMIT: u64 = 30;
const WINDOW_MS: u64 = 10_000;
const USERS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_stay_inside_the_shared_budget() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 3,
        sim_rate_limit: LIMIT as u32,
        tenant_rate_limit: Some(LIMIT as u32),
        worker_env: HashMap::from([("RATE_LIMIT_WINDOW_MS".to_string(), WINDOW_MS.to_string())]),
        ..Default::default()
    })
    .await?;
    sim_admin(
        &stack,
        "PUT",
        "/rate_limit",
        json!({"per_minute": LIMIT, "window_ms": WINDOW_MS, "reset": true}),
    )
    .await?;
    let started = Instant::now();
    let mut users = Vec::new();
    for i in 0..USERS {
        let email = format!("budget{i}@example.com");
        users.push((
            scim_create(&stack, okta_user(&email, "Budget", "User")).await?,
            email,
        ));
    }
    for (id, email) in &users {
        wait_converged(&stack, id).await?;
        assert!(only_requester(&stack, email).await?.is_some());
    }
    let took = started.elapsed();
    let calls = stack.sim_calls().await?;
    let charged: Vec<u64> = calls
        .iter()
        .filter(|c| c["credits"].as_u64().unwrap_or(0) > 0)
        .map(|c| c["at_ms"].as_u64().unwrap())
        .collect();
    let mut worst = 0;
    for (i, start) in charged.iter().enumerate() {
        let n = charged[i..]
            .iter()
            .filter(|t| **t < start + WINDOW_MS)
            .count();
        worst = worst.max(n);
    }
    let throttled = calls.iter().filter(|c| c["status"] == 429).count();
    println!(
        "budget: {} calls for {USERS} users in {took:?}; worst {WINDOW_MS} ms window {worst} (limit {LIMIT}); 429s {throttled}",
        charged.len()
    );
    assert!(worst as u64 <= LIMIT, "a window held {worst} calls");
    assert_eq!(throttled, 0);
    stack.stop().await;
    Ok(())
}
