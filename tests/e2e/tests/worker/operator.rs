//! The operator's commands that act on the workers: a paused tenant's
//! changes are accepted and kept, and reach Freshservice only once it is
//! resumed (`ingress tenant pause|resume`); `worker resync` reports each
//! category of mismatch between the SCIM users and the account's
//! requesters, `--apply` links them, and a second resync finds nothing to
//! do.

use std::{collections::HashSet, time::Duration};

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use ingress::cli::ops::Ops;
use redis::AsyncCommands;
use serde_json::{json, Value};
use shared::{
    keys::Keys,
    queue::{QueueCounts, QueueDepth},
};
use worker::resync::{self, Category, Done};

const WORKER_BIN: &str = env!("CARGO_BIN_EXE_e2e-worker");

async fn ops(stack: &Stack) -> anyhow::Result<Ops> {
    let cfg = ingress::config::IngressConfig::from_source(stack.env())?;
    Ok(Ops::connect(&cfg.common).await?)
}

/// The broker's counts of the stack tenant's change queue.
async fn queue(stack: &Stack) -> anyhow::Result<QueueCounts> {
    let depth = QueueDepth::new(e2e::amqp_url(), Duration::from_secs(5));
    Ok(depth
        .counts(&topology(stack).tenant_queue(&stack.tenant_id))
        .await?
        .unwrap_or_default())
}

/// Where in the call log each requester create is (the log keeps no
/// bodies; its order is the order of the calls).
fn creates(calls: &[Value]) -> Vec<usize> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c["method"] == "POST" && c["path"] == "/api/v2/requesters")
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_tenant_keeps_its_changes_until_resumed() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    // A first user proves the worker consumes the tenant's queue.
    let first = scim_create(&stack, okta_user("before@example.com", "Be", "Fore")).await?;
    wait_converged(&stack, &first).await?;
    let ops = ops(&stack).await?;
    let paused = ops.pause(&stack.tenant_id, Some("moving accounts")).await?;
    assert!(paused.changed);
    // The worker lets go of the queue within a tenant scan.
    wait_for("the worker to stop consuming", CONVERGE, || async {
        Ok((queue(&stack).await?.consumers == 0).then_some(()))
    })
    .await?;

    // Okta sees no error: the write is accepted and stored.
    let id = scim_create(&stack, okta_user("held@example.com", "Held", "Back")).await?;
    let (status, got) = stack.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(
        (status, got["userName"].clone()),
        (200, json!("held@example.com"))
    );
    // Its change waits on the queue, unconsumed.
    wait_for("the change queued", CONVERGE, || async {
        Ok((queue(&stack).await?.ready >= 1).then_some(()))
    })
    .await?;
    let before = stack.sim_calls().await?;
    assert_eq!(creates(&before).len(), 1, "only the first user was created");
    assert!(stack
        .sim_requesters_with_email("held@example.com")
        .await?
        .is_empty());
    assert!(!sync_status(&stack, &id)
        .await?
        .contains_key("applied_version"));
    // `tenant list` says who paused it and why, and that nothing consumes.
    let rows = ops.tenant_rows().await?;
    let row = rows
        .iter()
        .find(|r| r.id == stack.tenant_id)
        .expect("listed");
    assert_eq!(row.state, "paused");
    assert_eq!(row.state_reason.as_deref(), Some("moving accounts"));
    assert_eq!(row.queue_consumers, Some(0));
    assert!(row.queue_ready >= Some(1), "{row:?}");

    // A second pause changes nothing but the reason; resume delivers.
    assert!(
        !ops.pause(&stack.tenant_id, Some("still moving"))
            .await?
            .changed
    );
    let resumed = ops.resume(&stack.domain).await?;
    assert!(resumed.changed);
    assert_eq!(resumed.state, "active");
    wait_converged(&stack, &id).await?;
    let after = stack.sim_calls().await?;
    let all = creates(&after);
    assert_eq!(
        all.len(),
        2,
        "exactly one more create: {:?}",
        call_ops(&after)
    );
    assert!(all[1] >= before.len(), "the create came after the resume");
    assert_eq!(
        stack
            .sim_requesters_with_email("held@example.com")
            .await?
            .len(),
        1
    );
    // Resuming an active tenant is a no-op, said so.
    let again = ops.resume(&stack.tenant_id).await?;
    assert!(!again.changed);
    assert!(again.message.contains("not paused"), "{}", again.message);
    stack.stop().await;
    Ok(())
}

/// Resume never clears a hold for rejected credentials, and pause does not
/// hide one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_a_tenant_whose_key_was_rejected() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let ops = ops(&stack).await?;
    ops.tenants()
        .reject_credentials(&stack.tenant_id, "Freshservice answered 401: revoked")
        .await?;
    for e in [
        ops.resume(&stack.tenant_id).await.map(|_| ()),
        ops.pause(&stack.tenant_id, None).await.map(|_| ()),
    ] {
        let text = e.expect_err("refused").to_string();
        assert!(text.contains("replace the API key"), "{text}");
    }
    let t = ops.tenant(&stack.tenant_id).await?;
    assert_eq!(t.state, shared::tenant::TenantState::CredentialsRejected);
    // A pause survives an API-key replacement; only resume ends it.
    ops.tenants()
        .set_api_key(&stack.tenant_id, &stack.api_key)
        .await?;
    ops.pause(&stack.tenant_id, Some("audit")).await?;
    ops.tenants()
        .set_api_key(&stack.tenant_id, &stack.api_key)
        .await?;
    let t = ops.tenant(&stack.tenant_id).await?;
    assert_eq!(t.state, shared::tenant::TenantState::Paused);
    stack.stop().await;
    Ok(())
}

fn ids(report: &resync::Report, c: Category) -> HashSet<String> {
    report.of(c).filter_map(|e| e.scim_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_reports_every_category_and_apply_links_them() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let keys = Keys::new(stack.prefix.clone());
    let t = stack.tenant_id.clone();
    let mut linked = Vec::new();
    for name in ["kept", "unmapped", "vanished"] {
        let id = scim_create(
            &stack,
            okta_user(&format!("{name}@example.com"), name, "User"),
        )
        .await?;
        wait_converged(&stack, &id).await?;
        linked.push(id);
    }
    let (kept, unmapped, vanished) = (&linked[0], &linked[1], &linked[2]);
    // Hold the tenant so the next users stay SCIM-only.
    let ops = ops(&stack).await?;
    ops.pause(&t, Some("resync")).await?;
    wait_for("the worker to stop consuming", CONVERGE, || async {
        Ok((queue(&stack).await?.consumers == 0).then_some(()))
    })
    .await?;
    let scim_only = scim_create(&stack, okta_user("lonely@example.com", "Lo", "Nely")).await?;
    let hand_made = scim_create(&stack, okta_user("Hand@Example.com", "Hand", "Made")).await?;
    // A requester made by hand with that user's email (another case), and
    // one nobody in Okta names.
    let hand_rid = sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "Hand", "primary_email": "hand@example.com"}),
    )
    .await?["requester"]["id"]
        .as_u64()
        .expect("id");
    let stranger = sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "Stranger", "primary_email": "stranger@example.com"}),
    )
    .await?["requester"]["id"]
        .as_u64()
        .expect("id");
    // A mapping deleted from Redis by hand.
    let mut r = redis().await?;
    let unmapped_rid: u64 = r.hget(keys.map_requester(&t), unmapped).await?;
    let _: () = r.hdel(keys.map_requester(&t), unmapped).await?;
    let _: () = r.hdel(keys.map_scim(&t), unmapped_rid).await?;
    // A requester deleted by hand in Freshservice.
    let vanished_rid: u64 = r.hget(keys.map_requester(&t), vanished).await?;
    let gone = stack
        .http
        .delete(format!(
            "{}/api/v2/requesters/{vanished_rid}/forget",
            stack.sim.account_url(&stack.domain)
        ))
        .basic_auth(&stack.api_key, Some("X"))
        .send()
        .await?;
    assert_eq!(gone.status().as_u16(), 204);

    // The dry run, through the real binary.
    let out = stack
        .run_command(WORKER_BIN, &["resync", &stack.domain, "--json"])
        .await?;
    let dry = out.json()?;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["published"], 0);
    let cat = |c: &str| -> HashSet<String> {
        dry["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["category"] == c)
            .map(|e| {
                e["scim_id"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e["requester_id"].to_string())
            })
            .collect()
    };
    assert_eq!(cat("linked"), HashSet::from([kept.clone()]));
    assert_eq!(cat("vanished"), HashSet::from([vanished.clone()]));
    assert_eq!(
        cat("linkable"),
        HashSet::from([unmapped.clone(), hand_made.clone()])
    );
    assert_eq!(cat("scim_only"), HashSet::from([scim_only.clone()]));
    assert_eq!(
        cat("freshservice_only"),
        HashSet::from([stranger.to_string()])
    );
    assert_eq!(dry["counts"]["conflict"], 0);
    // Nothing was written.
    let still: Option<u64> = r.hget(keys.map_requester(&t), unmapped).await?;
    assert_eq!(still, None);
    let still: Option<u64> = r.hget(keys.map_requester(&t), vanished).await?;
    assert_eq!(still, Some(vanished_rid));
    // The table says it was a dry run.
    let out = stack.run_command(WORKER_BIN, &["resync", &t]).await?;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("dry run: nothing was written"),
        "{}",
        out.stdout
    );

    // Apply, as a library call: linked and unlinked under the leases, and
    // an event for each.
    let cfg = worker::config::WorkerConfig::from_source(stack.env())?;
    let applied = resync::resync(&cfg, &t, true).await?;
    assert!(!applied.dry_run);
    assert_eq!(applied.published, 3);
    let done = |id: &str| {
        applied
            .entries
            .iter()
            .find(|e| e.scim_id.as_deref() == Some(id))
            .and_then(|e| e.done)
    };
    assert_eq!(done(unmapped), Some(Done::Linked));
    assert_eq!(done(&hand_made), Some(Done::Linked));
    assert_eq!(done(vanished), Some(Done::Unlinked));
    let relinked: Option<u64> = r.hget(keys.map_requester(&t), unmapped).await?;
    assert_eq!(relinked, Some(unmapped_rid));
    let linked_by_hand: Option<u64> = r.hget(keys.map_requester(&t), &hand_made).await?;
    assert_eq!(linked_by_hand, Some(hand_rid));
    let dropped: Option<u64> = r.hget(keys.map_requester(&t), vanished).await?;
    assert_eq!(dropped, None);

    // The workers converge them once the tenant is resumed.
    ops.resume(&t).await?;
    for id in [unmapped, &hand_made, vanished, &scim_only] {
        wait_converged(&stack, id).await?;
    }
    assert_eq!(
        only_requester(&stack, "hand@example.com")
            .await?
            .expect("kept")["id"],
        hand_rid
    );
    assert_eq!(
        only_requester(&stack, "unmapped@example.com")
            .await?
            .expect("kept")["id"],
        unmapped_rid
    );
    let remade = only_requester(&stack, "vanished@example.com")
        .await?
        .expect("made again");
    assert_ne!(remade["id"], vanished_rid);

    let second = resync::resync(&cfg, &t, false).await?;
    assert_eq!(
        ids(&second, Category::Linked),
        HashSet::from([
            kept.clone(),
            unmapped.clone(),
            vanished.clone(),
            scim_only.clone(),
            hand_made.clone()
        ])
    );
    for c in [
        Category::Vanished,
        Category::Linkable,
        Category::ScimOnly,
        Category::Conflict,
    ] {
        assert_eq!(second.count(c), 0, "{c:?}: {:?}", second.entries);
    }
    assert_eq!(second.count(Category::FreshserviceOnly), 1);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_of_an_unknown_tenant_says_which_and_how_to_list() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let out = stack
        .run_command(WORKER_BIN, &["resync", "no-such-tenant"])
        .await?;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("\"no-such-tenant\""), "{}", out.stderr);
    assert!(out.stderr.contains("ingress tenant list"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    stack.stop().await;
    Ok(())
}
