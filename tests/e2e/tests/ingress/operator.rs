//! The ingress's operator commands as an operator runs them: the real
//! binary (`e2e-ingress`, the same code as `ingress`) with the stack's
//! environment. `tenant list` and `queues` show the depth of the tenant's
//! queue and its pending changes while no worker consumes it; `tenant rotate-token` revokes the old
//! token (401) and the new one works (200); an unknown tenant is an exit 1
//! that names it and says how to list tenants.

use std::time::Duration;

use e2e::{okta_user, wait_for, Stack};
use serde_json::Value;

const INGRESS_BIN: &str = env!("CARGO_BIN_EXE_e2e-ingress");

fn no_workers() -> e2e::StackOptions {
    e2e::StackOptions {
        workers: 0,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_list_and_queues_show_the_backlog() -> anyhow::Result<()> {
    let stack = Stack::start_with(no_workers()).await?;
    for name in ["q1@example.com", "q2@example.com"] {
        let (status, _) = stack
            .scim("POST", "/Users", Some(okta_user(name, "Q", "User")))
            .await?;
        assert_eq!(status, 201);
    }
    // The broker counts a confirmed message a moment after confirming it.
    let row = wait_for("both changes counted", Duration::from_secs(20), || async {
        let v = stack
            .run_command(INGRESS_BIN, &["tenant", "list", "--json"])
            .await?
            .json()?;
        let row = v["tenants"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["id"] == stack.tenant_id.as_str()))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("tenant not listed: {v}"))?;
        Ok((row["queue_ready"] == 2).then_some(row))
    })
    .await?;
    assert_eq!(row["domain"], stack.domain.as_str());
    assert_eq!(row["state"], "active");
    assert_eq!(row["queue_consumers"], 0);
    assert_eq!(row["users"], 2);
    assert_eq!(row["failed"], 0);
    // Both users wait for a worker: pending, the oldest for some time.
    assert_eq!(row["pending"], 2);
    assert!(row["oldest_pending_secs"].is_u64(), "{row}");
    assert!(row.get("token_hash").is_none() && row.get("api_key").is_none());

    let table = stack.run_command(INGRESS_BIN, &["tenant", "list"]).await?;
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("TENANT"), "{}", table.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&stack.tenant_id) && l.contains("active")),
        "{}",
        table.stdout
    );

    let q = stack
        .run_command(INGRESS_BIN, &["queues", "--json"])
        .await?
        .json()?;
    let queues = q["queues"].as_array().cloned().unwrap_or_default();
    let named = |name: String| queues.iter().find(|x| x["queue"] == name.as_str()).cloned();
    let topo = shared::queue::Topology::new(stack.prefix.clone());
    let mine = named(topo.tenant_queue(&stack.tenant_id)).expect("the tenant's queue");
    assert_eq!(
        (mine["kind"].clone(), mine["ready"].clone()),
        ("tenant".into(), 2.into())
    );
    let dead = named(topo.dead()).expect("the dead-letter queue");
    assert_eq!(dead["ready"], 0);
    for tier in shared::queue::topology::WAIT_TIERS {
        let w = named(topo.wait(*tier)).expect("every wait tier");
        assert_eq!(w["kind"], "wait");
    }
    assert_eq!(q["totals"]["changes"], 2);
    assert_eq!(q["totals"]["dead"], 0);
    stack.stop().await;
    Ok(())
}

async fn status_with(stack: &Stack, token: &str) -> anyhow::Result<u16> {
    Ok(stack.scim_as(token, "GET", "/Users?count=1", None).await?.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_token_revokes_the_old_one() -> anyhow::Result<()> {
    let stack = Stack::start_with(no_workers()).await?;
    let old = stack.token.clone();
    assert_eq!(status_with(&stack, &old).await?, 200);
    let v = stack
        .run_command(
            INGRESS_BIN,
            &["tenant", "rotate-token", &stack.tenant_id, "--json"],
        )
        .await?
        .json()?;
    assert_eq!(v["tenant"], stack.tenant_id.as_str());
    let new = v["token"].as_str().expect("token").to_string();
    e2e::logscan::remember_secret(&new);
    assert_ne!(new, old);
    assert_eq!(status_with(&stack, &new).await?, 200);
    // The ingress that validated the old token may trust it for its token
    // cache's life (2 s, `ingress/src/token_cache.rs`), no longer.
    wait_for("the old token refused", Duration::from_secs(5), || async {
        Ok((status_with(&stack, &old).await? == 401).then_some(()))
    })
    .await?;
    assert_eq!(
        status_with(&stack, &old).await?,
        401,
        "and it stays refused"
    );

    // Without --json the token is alone on the last line, as `tenant add`'s.
    let out = stack
        .run_command(INGRESS_BIN, &["tenant", "rotate-token", &stack.domain])
        .await?;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let third = out
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    e2e::logscan::remember_secret(&third);
    assert_eq!(status_with(&stack, &third).await?, 200);
    assert!(out.stderr.contains("old one is refused"), "{}", out.stderr);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_through_the_binary() -> anyhow::Result<()> {
    let stack = Stack::start_with(no_workers()).await?;
    let v = stack
        .run_command(
            INGRESS_BIN,
            &[
                "tenant",
                "pause",
                &stack.domain,
                "--reason",
                "audit",
                "--json",
            ],
        )
        .await?
        .json()?;
    assert_eq!(
        (
            v["state"].clone(),
            v["changed"].clone(),
            v["reason"].clone()
        ),
        ("paused".into(), true.into(), "audit".into())
    );
    // Okta sees no error while it is paused.
    let (status, _) = stack
        .scim(
            "POST",
            "/Users",
            Some(okta_user("p@example.com", "P", "Aused")),
        )
        .await?;
    assert_eq!(status, 201);
    let out = stack
        .run_command(INGRESS_BIN, &["tenant", "resume", &stack.tenant_id])
        .await?;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("resumed"), "{}", out.stdout);
    let v: Value = stack
        .run_command(
            INGRESS_BIN,
            &["tenant", "resume", &stack.tenant_id, "--json"],
        )
        .await?
        .json()?;
    assert_eq!(v["changed"], false);
    assert!(
        v["message"].as_str().unwrap_or("").contains("not paused"),
        "{v}"
    );
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tenant_is_named_with_how_to_list_tenants() -> anyhow::Result<()> {
    let stack = Stack::start_with(no_workers()).await?;
    for args in [
        vec!["tenant", "pause", "ghost-tenant"],
        vec!["tenant", "resume", "ghost-tenant", "--json"],
        vec!["tenant", "rotate-token", "ghost-tenant"],
    ] {
        let out = stack.run_command(INGRESS_BIN, &args).await?;
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("\"ghost-tenant\""),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("ingress tenant list"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // The real token still works: nothing was rotated.
    assert_eq!(status_with(&stack, &stack.token).await?, 200);
    stack.stop().await;
    Ok(())
}
