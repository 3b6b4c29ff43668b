//! The worker under Freshservice failures: a 30 % 5xx fault rate and a 429
//! storm both converge with no duplicate requester and no dead letter, and
//! a revoked API key pauses the tenant instead of dead-lettering, until the
//! new key is saved and the parked changes arrive.

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use serde_json::json;

async fn create_many(
    stack: &Stack,
    n: usize,
    label: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("{label}{i}@example.com");
        let id = scim_create(stack, okta_user(&email, &format!("{label}{i}"), "Tester")).await?;
        out.push((id, email));
    }
    Ok(out)
}

async fn assert_all_converged_once(
    stack: &Stack,
    users: &[(String, String)],
) -> anyhow::Result<()> {
    for (id, email) in users {
        let s = wait_converged(stack, id).await?;
        let r = only_requester(stack, email)
            .await?
            .expect("requester exists");
        assert_eq!(
            s["requester_id"],
            r["id"].as_u64().unwrap().to_string(),
            "{email}"
        );
    }
    Ok(())
}

/// 5xx before the simulator does any work, and connections dropped after a
/// write committed (the answer lost, the requester created or updated):
/// a bridge that simply retried a create whose answer it never saw would
/// make a second requester. Every user ends with exactly one requester,
/// holding its last change, and no dead letter. (The simulator refuses a
/// second requester with the same email today; its switch to stop doing so,
/// issue 13's first bullet, makes this test stricter still.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_xx_fault_rate_converges_without_duplicates() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 2,
        ..Default::default()
    })
    .await?;
    set_faults(
        &stack,
        json!({"error_rate": 0.2, "drop_after_commit_rate": 0.5}),
    )
    .await?;
    let users = create_many(&stack, 20, "flaky").await?;
    for (i, (id, email)) in users.iter().enumerate() {
        scim_put(
            &stack,
            id,
            okta_user(email, &format!("flaky{i}"), "Renamed"),
        )
        .await?;
    }
    assert_all_converged_once(&stack, &users).await?;
    for (_, email) in &users {
        let r = only_requester(&stack, email).await?.expect("requester");
        assert_eq!(r["last_name"], "Renamed", "{email}: the last change won");
    }
    let state = stack.sim_state().await?;
    let all = state["requesters"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(all, users.len(), "one requester per user, none extra");
    let calls = stack.sim_calls().await?;
    let failed = calls
        .iter()
        .filter(|c| c["status"].as_u64().unwrap_or(0) >= 500)
        .count();
    assert!(failed > 0, "the fault rate produced failures");
    let lost_creates = calls
        .iter()
        .filter(|c| {
            c["fault"] == "drop_after_commit"
                && c["method"] == "POST"
                && c["path"] == "/api/v2/requesters"
        })
        .count();
    assert!(
        lost_creates > 0,
        "some create committed and lost its answer (else no duplicate could arise)"
    );
    println!("5xx: {failed} failed calls, {lost_creates} creates committed with the answer lost");
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_storm_converges() -> anyhow::Result<()> {
    const WORKERS: usize = 2;
    const TENANT_SLOTS: usize = 2;
    let stack = Stack::start_with(e2e::StackOptions {
        workers: WORKERS,
        worker_env: [(
            "WORKER_TENANT_CONCURRENCY".to_string(),
            TENANT_SLOTS.to_string(),
        )]
        .into(),
        ..Default::default()
    })
    .await?;
    // Long enough that a bridge retrying on its own backoff (not waiting
    // out the shared pause) would meet the storm again and again.
    set_faults(&stack, json!({"rate_limit_storm_secs": 4})).await?;
    let users = create_many(&stack, 10, "storm").await?;
    assert_all_converged_once(&stack, &users).await?;
    let calls = stack.sim_calls().await?;
    let throttled: Vec<_> = calls.iter().filter(|c| c["status"] == 429).collect();
    assert!(!throttled.is_empty(), "the storm answered 429");
    // The pause is shared and lasts the storm's Retry-After: a slot meets
    // the storm at most once, with the call it had in flight when the first
    // 429 came back; after that no slot of any worker calls until the storm
    // is over. So however fast or slow the machine, at most one 429 per
    // slot (a count from the configuration, not from timing).
    let slots = WORKERS * TENANT_SLOTS;
    assert!(
        throttled.len() <= slots,
        "{} calls hit the storm; {WORKERS} workers x {TENANT_SLOTS} tenant slots allow at most {slots}",
        throttled.len()
    );
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}

/// The account's API key is revoked in Freshservice (the account now
/// accepts only a new key) while changes are queued: the tenant is marked
/// `credentials_rejected` and its changes wait, none dead-lettered. Then
/// the admin pastes the new key, as the settings page does
/// (`TenantStore::set_api_key`, `ingress/src/web/settings.rs`): the tenant
/// is active again and every parked change arrives, the last one winning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_pauses_the_tenant_and_keeps_the_change() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let new_key = format!("new-key-{}", uuid::Uuid::new_v4().simple());
    e2e::logscan::remember_secret(&new_key);
    sim_admin(&stack, "PUT", "/settings", json!({"api_keys": [new_key]})).await?;
    let r = redis().await?;
    let tenants = shared::tenant::TenantStore::new(
        r,
        shared::keys::Keys::new(stack.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    );
    let mut users = Vec::new();
    for i in 0..3 {
        let email = format!("revoked{i}@example.com");
        let id = scim_create(&stack, okta_user(&email, "Rev", "Oked")).await?;
        users.push((id, email));
    }
    let t = wait_for(
        "the tenant marked credentials_rejected",
        CONVERGE,
        || async {
            let t = tenants.get(&stack.tenant_id).await?.expect("tenant");
            Ok((t.state == shared::tenant::TenantState::CredentialsRejected).then_some(t))
        },
    )
    .await?;
    assert!(t.state_reason.unwrap_or_default().contains("401"));
    // More changes while the tenant waits: each user renamed.
    for (i, (id, email)) in users.iter().enumerate() {
        scim_put(&stack, id, okta_user(email, &format!("Fixed{i}"), "Oked")).await?;
    }
    // Not dead-lettered: the changes wait for the tenant to be fixed.
    assert!(dead_letters(&stack).await?.is_empty());
    for (id, email) in &users {
        let s = sync_status(&stack, id).await?;
        assert!(!s.contains_key("applied_version"), "{email} applied: {s:?}");
        assert!(
            only_requester(&stack, email).await?.is_none(),
            "{email} arrived"
        );
    }

    // The fix: the new key, as the settings form saves it.
    tenants.set_api_key(&stack.tenant_id, &new_key).await?;
    let t = tenants.get(&stack.tenant_id).await?.expect("tenant");
    assert_eq!(t.state, shared::tenant::TenantState::Active);
    for (i, (id, email)) in users.iter().enumerate() {
        let s = wait_converged(&stack, id).await?;
        let r = only_requester(&stack, email)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{email} never arrived after the key was fixed"))?;
        assert_eq!(s["requester_id"], r["id"].as_u64().unwrap_or(0).to_string());
        assert_eq!(
            r["first_name"],
            format!("Fixed{i}"),
            "{email}: the last change won"
        );
    }
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}
