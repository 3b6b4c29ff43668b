//! Switchable faults (`PUT /_sim/accounts/{domain}/faults`): latency, 5xx, dropped
//! connections before and after the work, 429 storms, revoked keys, redirects.

mod common;

use std::time::Instant;

use common::{body, T};
use serde_json::json;

fn ron() -> serde_json::Value {
    json!({"first_name": "Ron", "primary_email": "ron@hogwarts.edu"})
}

// Added latency delays every answer by at least the configured time.
#[tokio::test]
async fn latency() {
    let t = T::new().await;
    t.admin_put("/faults", json!({"latency_ms": 150})).await;
    let start = Instant::now();
    assert_eq!(t.get("/requesters").await.status(), 200);
    assert!(start.elapsed().as_millis() >= 150);
}

// A share of 5xx answers (`docs/freshservice.md` §5: 500, and 502–504 retried
// by S6); no work is done.
#[tokio::test]
async fn error_statuses() {
    let t = T::new().await;
    t.admin_put(
        "/faults",
        json!({"error_rate": 1.0, "error_statuses": [503]}),
    )
    .await;
    let r = t.post("/requesters", ron()).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    t.admin_put("/faults", json!({"error_statuses": [500]}))
        .await;
    let r = t.post("/requesters", ron()).await;
    assert_eq!(r.status(), 500);
    assert!(body(r).await.get("code").is_some());
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
    let calls = t.calls().await;
    assert_eq!(calls[0]["status"], 503);
    assert_eq!(calls[0]["fault"], "error");
    // A mixed set only ever yields its members.
    t.admin_put("/faults", json!({"error_statuses": [500, 502, 503]}))
        .await;
    for _ in 0..10 {
        let s = t.get("/requesters").await.status().as_u16();
        assert!([500, 502, 503].contains(&s));
    }
    // DELETE resets every fault.
    t.c.delete(t.admin_url("/faults")).send().await.unwrap();
    assert_eq!(t.get("/requesters").await.status(), 200);
}

// A dropped connection: the client gets a connection error, nothing is created, the
// call is logged with status 0; the next connection works.
#[tokio::test]
async fn dropped_connection_before_work() {
    let t = T::new().await;
    t.admin_put("/faults", json!({"drop_rate": 1.0})).await;
    let err = t
        .req(reqwest::Method::POST, "/requesters")
        .json(&ron())
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(err.status().is_none());
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
    let calls = t.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["status"], 0);
    assert_eq!(calls[0]["fault"], "drop");
    t.admin_put("/faults", json!({"drop_rate": 0.0})).await;
    assert_eq!(t.post("/requesters", ron()).await.status(), 201);
}

// Commit then drop: the requester is created but the answer is lost.
#[tokio::test]
async fn commit_then_drop_leaves_the_requester_created() {
    let t = T::new().await;
    t.admin_put("/faults", json!({"drop_after_commit_rate": 1.0}))
        .await;
    let res = t
        .req(reqwest::Method::POST, "/requesters")
        .json(&ron())
        .send()
        .await;
    assert!(res.is_err(), "no answer reaches the client");
    let st = t.state().await;
    assert_eq!(st["requesters"].as_array().unwrap().len(), 1);
    assert_eq!(st["requesters"][0]["primary_email"], "ron@hogwarts.edu");
    let calls = t.calls().await;
    assert_eq!(calls[0]["status"], 201);
    assert_eq!(calls[0]["fault"], "drop_after_commit");
    // GETs are answered normally; a retried create meets the duplicate.
    assert_eq!(t.get("/requesters").await.status(), 200);
    t.c.delete(t.admin_url("/faults")).send().await.unwrap();
    assert_eq!(t.post("/requesters", ron()).await.status(), 409);
}

// A forced 429 storm for N seconds, with Retry-After counting down from N.
#[tokio::test]
async fn rate_limit_storm() {
    let t = T::new().await;
    let r = t
        .admin_put("/faults", json!({"rate_limit_storm_secs": 30}))
        .await;
    assert_eq!(body(r).await["rate_limit_storm_secs"], 30);
    let r = t.get("/requesters").await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert_eq!(t.calls().await[0]["fault"], "storm");
    t.admin_put("/faults", json!({"rate_limit_storm_secs": 0}))
        .await;
    assert_eq!(t.get("/requesters").await.status(), 200);
}

// Revoked keys: every key answers 401 invalid_credentials until restored.
#[tokio::test]
async fn revoked_keys() {
    let t = T::new().await;
    t.admin_put("/faults", json!({"revoke_keys": true})).await;
    let r = t.get("/requesters").await;
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["code"], "invalid_credentials");
    t.admin_put("/faults", json!({"revoke_keys": false})).await;
    assert_eq!(t.get("/requesters").await.status(), 200);
}

// A redirect: every call answers 302 to the target plus the call's path and query, does
// no work and costs no budget; "" stops it.
#[tokio::test]
async fn redirect_to_another_address() {
    let t = T::new().await;
    t.admin_put(
        "/faults",
        json!({"redirect_to": "http://127.0.0.1:9/elsewhere/"}),
    )
    .await;
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_follow
        .post(t.url("/requesters?x=1"))
        .basic_auth(common::KEY, Some("X"))
        .json(&ron())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "http://127.0.0.1:9/elsewhere/api/v2/requesters?x=1"
    );
    assert!(!r.headers().contains_key("x-ratelimit-remaining"));
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
    let calls = t.calls().await;
    assert_eq!(calls[0]["status"], 302);
    assert_eq!(calls[0]["fault"], "redirect");
    assert_eq!(
        t.admin_get("/faults").await["redirect_to"],
        "http://127.0.0.1:9/elsewhere"
    );
    let r = t
        .admin_put("/faults", json!({"redirect_to": "ftp://x"}))
        .await;
    assert_eq!(r.status(), 400);
    t.admin_put("/faults", json!({"redirect_to": ""})).await;
    assert_eq!(t.get("/requesters").await.status(), 200);
}

// Invalid fault settings are refused and change nothing.
#[tokio::test]
async fn invalid_fault_settings() {
    let t = T::new().await;
    let r = t.admin_put("/faults", json!({"error_rate": 2.0})).await;
    assert_eq!(r.status(), 400);
    let r = t
        .admin_put("/faults", json!({"error_statuses": [404]}))
        .await;
    assert_eq!(r.status(), 400);
    let f = t.admin_get("/faults").await;
    assert_eq!(f["error_rate"], 0.0);
}
