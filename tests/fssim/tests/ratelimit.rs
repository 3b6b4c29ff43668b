//! The per-account budget (`docs/freshservice.md` §6): headers on every answer, 429 + Retry-After past
//! the budget, failed calls charged, `include=` credits.

mod common;

use std::time::Duration;

use common::{body, T};
use serde_json::json;

fn hdr(r: &reqwest::Response, name: &str) -> u64 {
    r.headers()[name].to_str().unwrap().parse().unwrap()
}

async fn with_budget(n: u32) -> T {
    let mut spec = common::acme_spec();
    spec["rate_limit_per_min"] = json!(n);
    T::with_spec(spec).await
}

// §6: X-Ratelimit-Total / -Remaining / -Used-CurrentRequest on every response; default 500.
#[tokio::test]
async fn headers_count_down() {
    let t = T::new().await;
    let r = t.get("/requesters").await;
    assert_eq!(hdr(&r, "x-ratelimit-total"), 500);
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 499);
    assert_eq!(hdr(&r, "x-ratelimit-used-currentrequest"), 1);
    let r = t.get("/requesters").await;
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 498);
}

// §6 "On breach": 429, JSON content type, Retry-After in whole seconds (≤ 60 per minute window).
#[tokio::test]
async fn over_budget_is_429_with_retry_after() {
    let t = with_budget(3).await;
    for _ in 0..3 {
        assert_eq!(t.get("/requesters").await.status(), 200);
    }
    let r = t.get("/requesters").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let retry = hdr(&r, "retry-after");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 0);
    assert_eq!(hdr(&r, "x-ratelimit-total"), 3);
    // Writes are refused too, and nothing is created.
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "a@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
    // 429s are logged but not charged.
    let calls = t.calls().await;
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[3]["status"], 429);
    assert_eq!(calls[3]["credits"], 0);
}

// §6 "Invalid requests also count": 401, 400 and 404 answers use the budget.
#[tokio::test]
async fn failed_calls_are_charged() {
    let t = with_budget(4).await;
    assert_eq!(
        t.c.get(t.url("/requesters")).send().await.unwrap().status(),
        401
    );
    assert_eq!(t.post("/requesters", json!({})).await.status(), 400);
    let r = t.get("/requesters/1").await;
    assert_eq!(r.status(), 404);
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 1);
    assert_eq!(t.get("/requesters").await.status(), 200);
    assert_eq!(t.get("/requesters").await.status(), 429);
}

// §6: include= costs +1 on a show and +3 on a list.
#[tokio::test]
async fn include_costs_extra_credits() {
    let t = T::new().await;
    let r = t.get("/requesters?include=department").await;
    assert_eq!(r.status(), 400, "include is not a requester list parameter");
    assert_eq!(hdr(&r, "x-ratelimit-used-currentrequest"), 4);
    let r = t.get("/requesters/5?include=department").await;
    assert_eq!(hdr(&r, "x-ratelimit-used-currentrequest"), 2);
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 494);
}

// The budget is per account: one tenant's exhaustion does not affect another.
#[tokio::test]
async fn budgets_are_per_account() {
    let t = with_budget(1).await;
    let r =
        t.c.post(format!("{}/_sim/accounts", t.sim.base_url))
            .json(&json!({"domain": "other", "api_keys": ["k2"]}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 201);
    t.get("/requesters").await;
    assert_eq!(t.get("/requesters").await.status(), 429);
    let r =
        t.c.get(format!("{}/other/api/v2/requesters", t.sim.base_url))
            .basic_auth("k2", Some("X"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
}

// The window frees again: with a 300 ms window (configurable for tests), a call after the
// window has passed is accepted. The wait is the behaviour under test, not synchronisation.
#[tokio::test]
async fn window_frees_up() {
    let t = with_budget(1).await;
    let r = t.admin_put("/rate_limit", json!({"window_ms": 300})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(t.get("/requesters").await.status(), 200);
    let r = t.get("/requesters").await;
    assert_eq!(r.status(), 429);
    assert_eq!(hdr(&r, "retry-after"), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(t.get("/requesters").await.status(), 200);
}

// Admin: the budget can be changed and reset at run time.
#[tokio::test]
async fn budget_settable_at_run_time() {
    let t = with_budget(1).await;
    t.get("/requesters").await;
    assert_eq!(t.get("/requesters").await.status(), 429);
    let r = t.admin_put("/rate_limit", json!({"per_minute": 120})).await;
    assert_eq!(body(r).await["per_minute"], 120);
    let r = t.get("/requesters").await;
    assert_eq!(r.status(), 200);
    assert_eq!(hdr(&r, "x-ratelimit-total"), 120);
    assert_eq!(hdr(&r, "x-ratelimit-remaining"), 118);
    t.admin_put("/rate_limit", json!({"reset": true})).await;
    assert_eq!(
        hdr(&t.get("/requesters").await, "x-ratelimit-remaining"),
        119
    );
}
