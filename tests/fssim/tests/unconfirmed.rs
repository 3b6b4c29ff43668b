//! The switches for behaviours `docs/freshservice.md` leaves unconfirmed
//! (`fssim::accounts::Unconfirmed`), each played both ways, and the counted
//! commit-then-drop fault.

mod common;

use common::{body, T};
use serde_json::{json, Value};

fn user(email: &str) -> Value {
    json!({"first_name": "Ann", "primary_email": email})
}

fn search(email: &str) -> String {
    let q = format!("\"primary_email:'{email}'\"");
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("/requesters?query={q}")
}

async fn count(t: &T, path: &str) -> usize {
    let r = t.get(path).await;
    assert_eq!(r.status(), 200);
    body(r).await["requesters"].as_array().unwrap().len()
}

#[tokio::test]
async fn email_unique_is_switchable() {
    let t = T::new().await;
    t.create(user("ann@x.test")).await;
    let r = t.post("/requesters", user("ann@x.test")).await;
    assert_eq!(r.status(), 409);
    assert_eq!(body(r).await["errors"][0]["code"], "duplicate_value");
    let r = t
        .admin_put("/settings", json!({"email_unique": false}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["email_unique"], false);
    t.create(user("ann@x.test")).await;
    assert_eq!(count(&t, "/requesters?email=ann%40x.test").await, 2);
}

#[tokio::test]
async fn external_id_refused_answers_invalid_field() {
    let mut spec = common::acme_spec();
    spec["external_id"] = json!("refused");
    let t = T::with_spec(spec).await;
    let mut b = user("bo@x.test");
    b["external_id"] = json!("okta-1");
    let r = t.post("/requesters", b.clone()).await;
    assert_eq!(r.status(), 400);
    let e = body(r).await;
    assert_eq!(e["errors"][0]["field"], "external_id");
    assert_eq!(e["errors"][0]["code"], "invalid_field");
    let id = t.create(user("bo@x.test")).await["id"].as_u64().unwrap();
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"external_id": "okta-1"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    t.admin_put("/settings", json!({"external_id": "writable"}))
        .await;
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"external_id": "okta-1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["requester"]["external_id"], "okta-1");
}

#[tokio::test]
async fn email_lookup_may_leave_deactivated_requesters_out() {
    let t = T::new().await;
    let id = t.create(user("cy@x.test")).await["id"].as_u64().unwrap();
    assert_eq!(t.delete(&format!("/requesters/{id}")).await.status(), 204);
    let by_email = "/requesters?email=cy%40x.test";
    assert_eq!(count(&t, by_email).await, 1);
    t.admin_put(
        "/settings",
        json!({"email_lookup_includes_deactivated": false}),
    )
    .await;
    assert_eq!(count(&t, by_email).await, 0);
    // Still there by id and in the search.
    assert_eq!(t.get(&format!("/requesters/{id}")).await.status(), 200);
    assert_eq!(count(&t, &search("cy@x.test")).await, 1);
}

#[tokio::test]
async fn search_and_email_lookup_lag_when_told() {
    let t = T::new().await;
    t.admin_put("/settings", json!({"search_lag_ms": 60_000}))
        .await;
    t.create(user("di@x.test")).await;
    assert_eq!(count(&t, &search("di@x.test")).await, 0, "not indexed yet");
    assert_eq!(count(&t, "/requesters?email=di%40x.test").await, 1);
    t.admin_put(
        "/settings",
        json!({"search_lag_ms": 0, "email_lookup_lag_ms": 60_000}),
    )
    .await;
    assert_eq!(count(&t, &search("di@x.test")).await, 1);
    assert_eq!(count(&t, "/requesters?email=di%40x.test").await, 0);
}

#[tokio::test]
async fn drop_after_commit_next_counts_down() {
    let t = T::new().await;
    let r = t
        .admin_put("/faults", json!({"drop_after_commit_next": 1}))
        .await;
    assert_eq!(r.status(), 200);
    let sent = t
        .req(reqwest::Method::POST, "/requesters")
        .json(&user("ed@x.test"))
        .send()
        .await;
    assert!(sent.is_err(), "the answer is dropped");
    let state = t.state().await;
    assert_eq!(
        state["requesters"].as_array().unwrap().len(),
        1,
        "committed"
    );
    assert_eq!(t.admin_get("/faults").await["drop_after_commit_next"], 0);
    t.create(user("fay@x.test")).await;
    let calls = t.calls().await;
    let faults: Vec<&Value> = calls.iter().map(|c| &c["fault"]).collect();
    assert_eq!(faults, vec![&json!("drop_after_commit"), &Value::Null]);
}
