//! The bridge under each answer to what `docs/freshservice.md` leaves
//! unconfirmed, played by the simulator's switches
//! (`tests/fssim/src/accounts.rs`, `Unconfirmed`): email uniqueness,
//! `external_id` writable or refused, whether `?email=` lists deactivated
//! requesters, and search-index lag. Each test checks the bridge's own
//! calls in the simulator's log, not only the final state the simulator
//! might have enforced on the bridge's behalf.

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use serde_json::{json, Value};

async fn settings(stack: &Stack, body: Value) -> anyhow::Result<()> {
    sim_admin(stack, "PUT", "/settings", body).await.map(|_| ())
}

/// Calls with exactly this method and path, and a query containing `q`.
fn exact(calls: &[Value], method: &str, path: &str, q: &str) -> Vec<Value> {
    calls
        .iter()
        .filter(|c| {
            c["method"] == method
                && c["path"] == format!("/api/v2{path}")
                && c["query"].as_str().unwrap_or("").contains(q)
        })
        .cloned()
        .collect()
}

/// A lost create answer where Freshservice does not refuse a second
/// requester with the same email: only the bridge's lookup before the
/// retry keeps it to one.
async fn lost_create_answer(stack: &Stack, email: &str) -> anyhow::Result<()> {
    settings(stack, json!({"email_unique": false})).await?;
    set_faults(stack, json!({"drop_after_commit_next": 1})).await?;
    let id = scim_create(stack, okta_user(email, "Dennis", "Ritchie")).await?;
    let s = wait_converged(stack, &id).await?;
    let all = stack.sim_requesters_with_email(email).await?;
    assert_eq!(all.len(), 1, "exactly one requester: {all:?}");
    assert_eq!(
        s["requester_id"],
        all[0]["id"].as_u64().unwrap().to_string()
    );
    assert_eq!(all[0]["first_name"], "Dennis");
    let calls = stack.sim_calls().await?;
    let posts = exact(&calls, "POST", "/requesters", "");
    assert_eq!(posts.len(), 1, "one POST: {:?}", call_ops(&calls));
    assert_eq!(posts[0]["fault"], "drop_after_commit");
    // One retry, so one lookup.
    let lookups = exact(&calls, "GET", "/requesters", "email=");
    assert_eq!(lookups.len(), 1, "one lookup: {:?}", call_ops(&calls));
    assert!(lookups[0]["at_ms"].as_u64() >= posts[0]["at_ms"].as_u64());
    assert!(dead_letters(stack).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_answer_without_email_uniqueness_makes_one_requester() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    lost_create_answer(&stack, "dmr@example.com").await?;
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_create_costs_no_lookup() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    settings(&stack, json!({"email_unique": false})).await?;
    let id = scim_create(&stack, okta_user("bwk@example.com", "Brian", "Kernighan")).await?;
    wait_converged(&stack, &id).await?;
    let calls = stack.sim_calls().await?;
    assert_eq!(exact(&calls, "POST", "/requesters", "").len(), 1);
    assert!(
        exact(&calls, "GET", "/requesters", "").is_empty(),
        "{:?}",
        call_ops(&calls)
    );
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_external_id_is_left_out_and_the_user_still_syncs() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    settings(&stack, json!({"external_id": "refused"})).await?;
    let email = "lovelace@example.com";
    let id = scim_create(&stack, okta_user(email, "Ada", "Lovelace")).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.expect("created");
    assert_eq!(r["external_id"], Value::Null);
    let calls = stack.sim_calls().await?;
    let posts = exact(&calls, "POST", "/requesters", "");
    let statuses: Vec<u64> = posts.iter().filter_map(|c| c["status"].as_u64()).collect();
    // Refused with external_id, then sent again without it.
    assert_eq!(statuses, vec![400, 201], "{:?}", call_ops(&calls));
    // An update: the account is known to refuse it, so it is not sent.
    let mut u = okta_user(email, "Ada", "Lovelace");
    u["title"] = json!("Analyst");
    scim_put(&stack, &id, u).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.expect("kept");
    assert_eq!(r["job_title"], "Analyst");
    let calls = stack.sim_calls().await?;
    let refused = calls.iter().filter(|c| c["status"] == 400).count();
    assert_eq!(refused, 1, "only the first create: {:?}", call_ops(&calls));
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writable_external_id_is_sent() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "hopper@example.com";
    let id = scim_create(&stack, okta_user(email, "Grace", "Hopper")).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.expect("created");
    assert_eq!(r["external_id"], json!(id));
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_requester_hidden_from_email_lookup_is_found_by_search() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    settings(&stack, json!({"email_lookup_includes_deactivated": false})).await?;
    let email = "ken@example.com";
    let seeded = sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "K", "primary_email": email, "active": false}),
    )
    .await?;
    let rid = seeded["requester"]["id"].as_u64().expect("id");
    let id = scim_create(&stack, okta_user(email, "Ken", "Thompson")).await?;
    let s = wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.expect("one requester");
    assert_eq!(r["id"], rid, "the deactivated one, reactivated");
    assert_eq!(r["active"], true);
    assert_eq!(r["first_name"], "Ken");
    assert_eq!(s["requester_id"], rid.to_string());
    let calls = stack.sim_calls().await?;
    assert_eq!(
        exact(&calls, "GET", "/requesters", "query=").len(),
        1,
        "{:?}",
        call_ops(&calls)
    );
    assert_eq!(calls_matching(&stack, "PUT", "/reactivate").await?.len(), 1);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_taken_but_found_nowhere_is_retried_not_duplicated() -> anyhow::Result<()> {
    // Deactivated, hidden from `?email=` and not yet in the lagging search
    // index: nothing finds it, so the bridge neither links nor creates.
    let stack = Stack::start().await?;
    settings(
        &stack,
        json!({"email_lookup_includes_deactivated": false, "search_lag_ms": 600_000}),
    )
    .await?;
    let email = "rob@example.com";
    sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "R", "primary_email": email, "active": false}),
    )
    .await?;
    let id = scim_create(&stack, okta_user(email, "Rob", "Pike")).await?;
    let s = wait_for("the taken email reported", CONVERGE, || async {
        let s = sync_status(&stack, &id).await?;
        Ok(s.get("last_error")
            .is_some_and(|e| e.contains("email is taken"))
            .then_some(s))
    })
    .await?;
    assert!(!s.contains_key("requester_id"), "{s:?}");
    let all = stack.sim_requesters_with_email(email).await?;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["active"], false);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_lag_makes_no_duplicate_and_no_wrong_link() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    settings(&stack, json!({"search_lag_ms": 600_000})).await?;
    // Someone else, changed just now and so missing from the search index.
    sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "Other", "primary_email": "other@example.com"}),
    )
    .await?;
    lost_create_answer(&stack, "lagged@example.com").await?;
    let other = only_requester(&stack, "other@example.com")
        .await?
        .expect("untouched");
    assert_eq!(other["first_name"], "Other");
    stack.stop().await;
    Ok(())
}
