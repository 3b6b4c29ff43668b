//! `docs/architecture.md` §3, invariant 5: one tenant's backlog never holds up another tenant's
//! changes. Tenant A has a few hundred changes queued against a Freshservice
//! account that stops answering (every call hangs for a minute) while they
//! are being worked off; tenant B's single change must reach Freshservice
//! before any of A's backlog does. (Asserted as an ordering that holds on a
//! machine of any speed, not as a time: the benchmark in BENCHMARKS.md
//! gives the delay.)

use std::time::Duration;

use e2e::{okta_user, wait_for, Stack, StackOptions};
use serde_json::json;

/// Requesters in the simulated account at `url` (its `/state`).
async fn requesters(s: &Stack, url: &str) -> anyhow::Result<usize> {
    let state: serde_json::Value = s.http.get(url).send().await?.json().await?;
    Ok(state["requesters"].as_array().map(Vec::len).unwrap_or(0))
}

/// Waits until a worker holds a lease on one of tenant A's users: A's
/// work is in flight.
async fn wait_a_in_flight(s: &Stack, what: &str, within: Duration) -> anyhow::Result<()> {
    let r = redis::Client::open(e2e::redis_url())?
        .get_multiplexed_async_connection()
        .await?;
    let lease = shared::keys::Keys::new(s.prefix.clone()).lease(&s.tenant_id, "*");
    wait_for(what, within, || {
        let (mut r, lease) = (r.clone(), lease.clone());
        async move {
            let held: Vec<String> = redis::cmd("KEYS").arg(&lease).query_async(&mut r).await?;
            Ok((!held.is_empty()).then_some(()))
        }
    })
    .await
}

/// Tenant B: a second Freshservice account (a budget nothing reaches)
/// and tenant on the same stack, and one user created in it. Returns the
/// URL of B's account state in the simulator.
async fn tenant_b_creates_one(s: &Stack) -> anyhow::Result<String> {
    let b_domain = format!("{}b", s.domain);
    s.http
        .post(format!("{}/_sim/accounts", s.sim.base_url))
        .json(&json!({"domain": b_domain, "api_keys": ["kb"], "rate_limit_per_min": 100000}))
        .send()
        .await?
        .error_for_status()?;
    let store = shared::tenant::TenantStore::new(
        shared::redis_conn::connect(&e2e::redis_url()).await?,
        shared::keys::Keys::new(s.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    );
    let b = store.install(&b_domain, "kb").await?;
    e2e::logscan::remember_secret(&b.bearer_token);
    store.set_rate_limit(&b.tenant.id, 100_000).await?;
    let (st, _) = s
        .scim_as(
            &b.bearer_token,
            "POST",
            "/Users",
            Some(okta_user("b@b.example", "B", "B")),
        )
        .await?;
    assert_eq!(st, 201);
    Ok(format!(
        "{}/_sim/accounts/{}/state",
        s.sim.base_url, b_domain
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_backlog_does_not_hold_up_another() -> anyhow::Result<()> {
    let mut worker_env = std::collections::HashMap::new();
    worker_env.insert("WORKER_CONCURRENCY".to_string(), "4".to_string());
    worker_env.insert("WORKER_PREFETCH".to_string(), "4".to_string());
    let mut s = Stack::start_with(StackOptions {
        workers: 0,
        worker_env,
        ..Default::default()
    })
    .await?;
    let a_state_url = format!("{}/_sim/accounts/{}/state", s.sim.base_url, s.domain);

    // Tenant A, the stack's own: one change converged first, so the
    // worker holds A's requester fields and A's consumer is running.
    let (st, _) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("a-first@a.example", "A", "A")),
        )
        .await?;
    assert_eq!(st, 201);
    s.add_worker().await?;
    wait_for(
        "tenant A's first requester",
        Duration::from_secs(30),
        || async { Ok((requesters(&s, &a_state_url).await? == 1).then_some(())) },
    )
    .await?;

    // Then A's account hangs (each call answers after a minute, longer
    // than this test) and a backlog is queued behind it.
    s.http
        .put(format!(
            "{}/_sim/accounts/{}/faults",
            s.sim.base_url, s.domain
        ))
        .json(&json!({"latency_ms": 60_000}))
        .send()
        .await?
        .error_for_status()?;
    let backlog = 200;
    for i in 0..backlog {
        let (st, _) = s
            .scim(
                "POST",
                "/Users",
                Some(okta_user(&format!("a{i}@a.example"), "A", "A")),
            )
            .await?;
        assert_eq!(st, 201);
    }
    // A's backlog is being worked: some of its changes hold a lease, their
    // calls hanging in the simulator.
    wait_a_in_flight(
        &s,
        "tenant A's backlog to be in flight",
        Duration::from_secs(30),
    )
    .await?;

    // Tenant B: a second Freshservice account and tenant on the same stack.
    let b_state_url = tenant_b_creates_one(&s).await?;
    wait_for("tenant B's requester", Duration::from_secs(45), || async {
        Ok((requesters(&s, &b_state_url).await? == 1).then_some(()))
    })
    .await?;
    // None of A's backlog can have arrived (its calls hang for a minute):
    // B did not wait behind it, whatever the machine's speed.
    let a_done = requesters(&s, &a_state_url).await?;
    assert_eq!(
        a_done,
        1,
        "B waited behind A's backlog: {} of A's {backlog} were done first",
        a_done.saturating_sub(1)
    );
    Ok(())
}

/// A tenant's first change reads the account's requester fields; one
/// process once made those reads one at a time for all tenants, so a
/// tenant whose Freshservice hung held up every other cold tenant (and a
/// worker starting on a backlog of ten tenants ran at a quarter of its
/// slots, `deploy/bench/scale`). Tenant A's account answers after 30 s;
/// tenant B's change, queued while A's read is in flight, must arrive long
/// before that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_tenants_field_read_does_not_hold_up_another_cold_tenant() -> anyhow::Result<()> {
    let mut s = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    s.http
        .put(format!(
            "{}/_sim/accounts/{}/faults",
            s.sim.base_url, s.domain
        ))
        .json(&json!({"latency_ms": 30_000}))
        .send()
        .await?
        .error_for_status()?;
    let (st, _) = s
        .scim("POST", "/Users", Some(okta_user("a@a.example", "A", "A")))
        .await?;
    assert_eq!(st, 201);
    s.add_worker().await?;
    // A's change is being converged (its lease is taken just before the
    // field read, which then hangs for 30 s).
    wait_a_in_flight(
        &s,
        "tenant A's change to be in flight",
        Duration::from_secs(10),
    )
    .await?;

    let b_state_url = tenant_b_creates_one(&s).await?;
    // The worker finds the new tenant on its next scan (each second); well
    // under A's 30 s.
    wait_for("tenant B's requester", Duration::from_secs(10), || async {
        let state: serde_json::Value = s.http.get(&b_state_url).send().await?.json().await?;
        Ok(state["requesters"]
            .as_array()
            .filter(|r| !r.is_empty())
            .map(|_| ()))
    })
    .await?;
    let a_done = s.sim_state().await?["requesters"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(a_done, 0, "A's account was still hanging");
    Ok(())
}
