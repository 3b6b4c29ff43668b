//! The worker's convergence paths end to end (ingress → RabbitMQ → worker →
//! simulator over HTTP): the full lifecycle, linking an existing or a
//! deactivated requester, duplicate and out-of-order events, and a create
//! whose answer was lost.

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use serde_json::json;
use shared::event::ChangeEvent;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_create_update_deactivate_reactivate() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "grace@example.com";
    let id = scim_create(&stack, full_user(email, "Grace", "Hopper", "Rear Admiral")).await?;
    let s = wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.expect("created");
    assert_eq!(r["first_name"], "Grace");
    assert_eq!(r["job_title"], "Rear Admiral");
    assert_eq!(r["work_phone_number"], "+1 555 0100");
    assert_eq!(r["mobile_phone_number"], "+1 555 0199");
    assert_eq!(r["time_zone"], "Pacific Time (US & Canada)");
    assert_eq!(r["active"], true);
    assert_eq!(
        r["external_id"],
        id.as_str(),
        "the SCIM id travels as external_id"
    );
    assert_eq!(
        s.get("requester_id").map(String::as_str),
        r["id"].as_u64().map(|i| i.to_string()).as_deref()
    );
    let rid = r["id"].as_u64().unwrap();

    // Update fields: one PUT carrying only what changed.
    let mut u = full_user(email, "Grace", "Hopper", "Commodore");
    u["phoneNumbers"] = json!([{"value": "+1 555 0111", "type": "work"}, {"value": "+1 555 0199", "type": "mobile"}]);
    scim_put(&stack, &id, u.clone()).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.unwrap();
    assert_eq!(r["job_title"], "Commodore");
    assert_eq!(r["work_phone_number"], "+1 555 0111");
    let puts = calls_matching(&stack, "PUT", &format!("/requesters/{rid}")).await?;
    assert_eq!(puts.len(), 1, "{puts:?}");

    // Deactivate: DELETE /requesters/{id}, never /forget.
    u["active"] = json!(false);
    scim_put(&stack, &id, u.clone()).await?;
    wait_converged(&stack, &id).await?;
    assert_eq!(
        only_requester(&stack, email).await?.unwrap()["active"],
        false
    );
    let deletes = calls_matching(&stack, "DELETE", "/requesters/").await?;
    assert_eq!(deletes.len(), 1);
    assert!(!deletes[0]["path"].as_str().unwrap().ends_with("/forget"));

    // Reactivate, with a change made while inactive.
    u["active"] = json!(true);
    u["title"] = json!("Admiral");
    scim_put(&stack, &id, u.clone()).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.unwrap();
    assert_eq!(r["active"], true);
    assert_eq!(r["job_title"], "Admiral");
    assert_eq!(calls_matching(&stack, "PUT", "/reactivate").await?.len(), 1);

    // SCIM DELETE deactivates (the default delete mode).
    let (status, _) = stack.scim("DELETE", &format!("/Users/{id}"), None).await?;
    assert_eq!(status, 204);
    wait_for(
        "the requester deactivated after SCIM DELETE",
        CONVERGE,
        || async {
            let r = only_requester(&stack, email).await?;
            Ok(r.filter(|r| r["active"] == false))
        },
    )
    .await?;
    assert!(calls_matching(&stack, "DELETE", "/forget")
        .await?
        .is_empty());
    assert_eq!(
        calls_matching(&stack, "POST", "/requesters").await?.len(),
        1,
        "one create in the whole life"
    );
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_requester_is_linked_not_duplicated() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "linus@example.com";
    let made = sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "L", "primary_email": email}),
    )
    .await?;
    let rid = made["requester"]["id"].as_u64().expect("seeded id");
    let id = scim_create(&stack, okta_user(email, "Linus", "Torvalds")).await?;
    let s = wait_converged(&stack, &id).await?;
    assert_eq!(s["requester_id"], rid.to_string());
    let r = only_requester(&stack, email).await?.unwrap();
    assert_eq!(r["first_name"], "Linus");
    assert_eq!(r["last_name"], "Torvalds");
    // POST (duplicate) → lookup with include_agents → PUT.
    let lookups = calls_matching(&stack, "GET", "/requesters").await?;
    assert!(
        lookups.iter().any(|c| c["query"]
            .as_str()
            .unwrap_or("")
            .contains("include_agents=true")),
        "{lookups:?}"
    );
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_requester_is_reactivated() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "ken@example.com";
    sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "K", "primary_email": email, "active": false}),
    )
    .await?;
    assert_eq!(
        only_requester(&stack, email).await?.unwrap()["active"],
        false
    );
    let id = scim_create(&stack, okta_user(email, "Ken", "Thompson")).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.unwrap();
    assert_eq!(r["active"], true);
    assert_eq!(r["first_name"], "Ken");
    assert_eq!(calls_matching(&stack, "PUT", "/reactivate").await?.len(), 1);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_out_of_order_events_converge_to_the_latest() -> anyhow::Result<()> {
    // No worker yet: the create and ten quick updates pile up as eleven
    // events. The worker reads the latest state, so they cost one call.
    let mut stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let email = "barbara@example.com";
    let id = scim_create(&stack, okta_user(email, "Barbara", "Liskov")).await?;
    for i in 0..10 {
        let mut u = okta_user(email, "Barbara", "Liskov");
        u["title"] = json!(format!("Professor {i}"));
        scim_put(&stack, &id, u).await?;
    }
    stack.add_worker().await?;
    wait_converged(&stack, &id).await?;
    assert_eq!(
        only_requester(&stack, email).await?.unwrap()["job_title"],
        "Professor 9"
    );
    let writes = stack.sim_calls().await?;
    assert_eq!(
        calls_matching(&stack, "POST", "/requesters").await?.len(),
        1
    );
    assert_eq!(
        calls_matching(&stack, "PUT", "/requesters").await?.len(),
        0,
        "{writes:?}"
    );

    // Replayed old and duplicate events (as RabbitMQ may deliver them) make
    // no call and do not move Freshservice backwards.
    let before = stack.sim_calls().await?.len();
    for v in [1, 2, 5, 11, 11] {
        publish(
            &stack,
            &ChangeEvent::user(&stack.tenant_id, &id, v, "replayed"),
        )
        .await?;
    }
    // A fresh change after them proves the queue drained past them.
    let mut u = okta_user(email, "Barbara", "Liskov");
    u["title"] = json!("Institute Professor");
    scim_put(&stack, &id, u).await?;
    wait_converged(&stack, &id).await?;
    assert_eq!(
        only_requester(&stack, email).await?.unwrap()["job_title"],
        "Institute Professor"
    );
    // The fresh change costs its update: a GET for the departments flag
    // Freshservice holds (a PUT without it would clear an admin's tick),
    // then the PUT. The replayed events cost nothing.
    let calls = stack.sim_calls().await?;
    let fresh = call_ops(&calls[before..]);
    assert_eq!(
        fresh.len(),
        2,
        "only the fresh change costs calls: {fresh:?}"
    );
    assert!(
        fresh[0].starts_with("GET ") && fresh[1].starts_with("PUT "),
        "{fresh:?}"
    );
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_answer_leaves_exactly_one_requester() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "dennis@example.com";
    set_faults(&stack, json!({"drop_after_commit_rate": 1.0})).await?;
    let id = scim_create(&stack, okta_user(email, "Dennis", "Ritchie")).await?;
    // The create was committed but its answer lost.
    wait_for("the committed create", CONVERGE, || async {
        only_requester(&stack, email).await
    })
    .await?;
    wait_for("a retried write", CONVERGE, || async {
        let n = calls_matching(&stack, "POST", "/requesters").await?.len()
            + calls_matching(&stack, "PUT", "/requesters/").await?.len();
        Ok((n >= 2).then_some(()))
    })
    .await?;
    set_faults(&stack, json!({"drop_after_commit_rate": 0.0})).await?;
    let s = wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email)
        .await?
        .expect("exactly one requester");
    assert_eq!(s["requester_id"], r["id"].as_u64().unwrap().to_string());
    assert_eq!(r["first_name"], "Dennis");
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_mapping_is_healed_by_email_not_by_a_second_create() -> anyhow::Result<()> {
    use redis::AsyncCommands;
    let stack = Stack::start().await?;
    let email = "margaret@example.com";
    let id = scim_create(&stack, okta_user(email, "Margaret", "Hamilton")).await?;
    let s = wait_converged(&stack, &id).await?;
    // Redis restored from an older snapshot: the id mapping is gone, the
    // applied snapshot is still there.
    let mut r = redis().await?;
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let _: () = r.hdel(keys.map_requester(&stack.tenant_id), &id).await?;
    let mut u = okta_user(email, "Margaret", "Hamilton");
    u["title"] = json!("Director of Software Engineering");
    scim_put(&stack, &id, u).await?;
    let healed = wait_converged(&stack, &id).await?;
    assert_eq!(healed["requester_id"], s["requester_id"]);
    let req = only_requester(&stack, email).await?.expect("one requester");
    assert_eq!(req["job_title"], "Director of Software Engineering");
    assert_eq!(
        calls_matching(&stack, "POST", "/requesters").await?.len(),
        1,
        "no second create"
    );
    let lookups = calls_matching(&stack, "GET", "/requesters").await?;
    assert!(lookups
        .iter()
        .any(|c| c["query"].as_str().unwrap_or("").contains("email=")));
    stack.stop().await;
    Ok(())
}

/// A requester that an earlier, lost try created (the worker died between
/// the POST and recording the link — found by the kill -9 test) and a user
/// whose latest state is inactive: that requester must end deactivated,
/// not stay active because "nothing was ever applied". The lost create is
/// stood in for by a requester put into the simulator directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlinked_requester_of_an_inactive_user_is_deactivated() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let email = "lost.then.gone@example.com";
    sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "Lost", "last_name": "Answer", "primary_email": email}),
    )
    .await?;
    let mut u = okta_user(email, "Lost", "Answer");
    u["active"] = json!(false);
    let id = scim_create(&stack, u).await?;
    let mut stack = stack;
    stack.add_worker().await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email)
        .await?
        .expect("exactly one requester");
    assert_eq!(
        r["active"], false,
        "the unlinked requester is deactivated: {r}"
    );
    assert!(
        calls_matching(&stack, "POST", "/requesters")
            .await?
            .is_empty(),
        "nothing created"
    );
    stack.stop().await;
    Ok(())
}

/// Reactivating a requester that is already active (reactivated by hand in
/// Freshservice, or a retry whose first reactivate was applied but not
/// recorded) may be refused by Freshservice — its answer is undocumented.
/// The simulator is set to refuse with 400; the worker must see the
/// requester is active and carry on, not dead-letter the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactivating_an_already_active_requester_is_not_a_failure() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    sim_admin(
        &stack,
        "PUT",
        "/settings",
        json!({"reactivate_active_status": 400}),
    )
    .await?;
    let email = "back.again@example.com";
    let mut u = okta_user(email, "Back", "Again");
    let id = scim_create(&stack, u.clone()).await?;
    wait_converged(&stack, &id).await?;
    u["active"] = json!(false);
    scim_put(&stack, &id, u.clone()).await?;
    wait_converged(&stack, &id).await?;
    let rid = only_requester(&stack, email).await?.unwrap()["id"]
        .as_u64()
        .unwrap();
    // An agent reactivates the requester by hand in Freshservice.
    let resp = stack
        .http
        .put(format!(
            "{}/api/v2/requesters/{rid}/reactivate",
            stack.sim.account_url(&stack.domain)
        ))
        .basic_auth(&stack.api_key, Some("X"))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    // Okta reactivates too, with a new title.
    u["active"] = json!(true);
    u["title"] = json!("Returned");
    scim_put(&stack, &id, u).await?;
    wait_converged(&stack, &id).await?;
    let r = only_requester(&stack, email).await?.unwrap();
    assert_eq!(r["active"], true);
    assert_eq!(r["job_title"], "Returned");
    assert!(dead_letters(&stack).await?.is_empty());
    let refused = stack
        .sim_calls()
        .await?
        .into_iter()
        .filter(|c| c["path"].as_str().unwrap_or("").ends_with("/reactivate") && c["status"] == 400)
        .count();
    assert_eq!(refused, 1, "the worker did meet the refusal");
    stack.stop().await;
    Ok(())
}
