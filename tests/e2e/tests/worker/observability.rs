//! Observability end to end (issue 12): the pending-change set
//! (`shared/src/pending.rs`) rises with an accepted write and falls when a
//! worker applied the current version (not before: a write accepted while
//! a worker converges keeps it pending), a dead letter moves a user from
//! pending to failed; the ingress's and the worker's `/metrics` name the
//! key series after some traffic and drop an uninstalled tenant's; every
//! name of `deploy/prometheus/metric-names.txt` is exported; the request
//! id travels in the AMQP header of the change event.

use std::{collections::BTreeSet, time::Duration};

use super::support::*;
use e2e::{okta_user, wait_for, Stack, StackOptions};
use lapin::options::BasicGetOptions;
use serde_json::json;
use shared::{event::ResourceKind, keys::Keys, pending};

/// A collection interval short enough for the tests to wait on.
fn fast_collector() -> StackOptions {
    StackOptions {
        ingress_env: [("METRICS_COLLECT_INTERVAL_MS".to_string(), "200".to_string())].into(),
        ..Default::default()
    }
}

async fn scrape(stack: &Stack, addr: impl std::fmt::Display) -> anyhow::Result<String> {
    let r = stack
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "/metrics answered {}", r.status());
    Ok(r.text().await?)
}

/// The value of the series written exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

/// Every sample name a text exposition can hold: the sample lines' names,
/// and for each declared family the names its type gives its samples (so
/// a family with no series yet still counts as exported).
fn exported_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            let (Some(name), Some(kind)) = (it.next(), it.next()) else {
                continue;
            };
            out.insert(name.to_string());
            match kind {
                "counter" => {
                    out.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for s in ["_bucket", "_sum", "_count"] {
                        out.insert(format!("{name}{s}"));
                    }
                }
                _ => {}
            }
        } else if !l.starts_with('#') {
            if let Some(name) = l.split(['{', ' ']).next().filter(|n| !n.is_empty()) {
                out.insert(name.to_string());
            }
        }
    }
    out
}

async fn pending_count(stack: &Stack) -> anyhow::Result<u64> {
    let mut r = redis().await?;
    Ok(pending::count(&mut r, &Keys::new(stack.prefix.clone()), &stack.tenant_id).await?)
}

async fn pending_score(stack: &Stack, id: &str) -> anyhow::Result<Option<f64>> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    Ok(redis::cmd("ZSCORE")
        .arg(keys.pending(&stack.tenant_id))
        .arg(pending::member(ResourceKind::User, id))
        .query_async(&mut r)
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_rises_with_workers_stopped_and_falls_when_applied() -> anyhow::Result<()> {
    let mut stack = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    assert_eq!(pending_count(&stack).await?, 0);
    let id = scim_create(&stack, okta_user("pend@example.com", "Pen", "Ding")).await?;
    let first = pending_score(&stack, &id)
        .await?
        .expect("pending after create");
    let (status, _) = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Chief"}]
            })),
        )
        .await?;
    assert_eq!(status, 200);
    // Still one entry, with the time it first went out of step.
    assert_eq!(pending_count(&stack).await?, 1);
    assert_eq!(pending_score(&stack, &id).await?, Some(first));
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let age = pending::oldest_age(&mut r, &keys, &stack.tenant_id, now_ms)
        .await?
        .expect("an oldest change");
    assert!(age < Duration::from_secs(60), "{age:?}");

    stack.add_worker().await?;
    wait_converged(&stack, &id).await?;
    wait_for("nothing pending", CONVERGE, || async {
        Ok((pending_count(&stack).await? == 0).then_some(()))
    })
    .await?;
    assert_eq!(
        pending::oldest_age(&mut r, &keys, &stack.tenant_id, 0).await?,
        None
    );
    stack.stop().await;
    Ok(())
}

/// The worker records version 1 while version 2 was accepted meanwhile:
/// the user stays pending until version 2 is recorded. Driven through the
/// worker's own record script (`worker/src/converge/record.rs`) so the
/// interleaving is certain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_accepted_during_convergence_keeps_the_user_pending() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let id = scim_create(&stack, okta_user("race@example.com", "Ra", "Ce")).await?;
    // The worker has read version 1 and is calling Freshservice…
    let r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let leases = worker::lease::Leases::new(r.clone(), keys.clone(), Duration::from_secs(30));
    let lease = leases
        .acquire(&stack.tenant_id, &id)
        .await?
        .expect("the lease");
    // …when Okta's next change is accepted.
    let (status, _) = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Later"}]
            })),
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(desired_version(&stack, &id).await?, 2);
    let sync = worker::converge::record::SyncStore::new(r.clone(), keys.clone());
    let record = |v: u64| {
        let (sync, lease, tenant, id) = (&sync, &lease, stack.tenant_id.clone(), id.clone());
        async move {
            sync.record(lease, &tenant, &id, v, Some(7), None, true, &[], None)
                .await
        }
    };
    assert_eq!(
        record(1).await?,
        worker::converge::record::Written::Ok,
        "version 1 recorded"
    );
    assert_eq!(
        pending_count(&stack).await?,
        1,
        "version 2 is not applied yet"
    );
    assert_eq!(record(2).await?, worker::converge::record::Written::Ok);
    assert_eq!(pending_count(&stack).await?, 0);
    leases.release(&lease).await;
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_moves_the_user_from_pending_to_failed() -> anyhow::Result<()> {
    let stack = Stack::start_with(fast_collector()).await?;
    let email = "agent.pending@example.com";
    sim_admin(
        &stack,
        "POST",
        "/agents",
        json!({"first_name": "Agent", "last_name": "Pending", "email": email}),
    )
    .await?;
    let id = scim_create(&stack, okta_user(email, "Agent", "Pending")).await?;
    wait_for("the dead letter", CONVERGE, || async {
        Ok(dead_letters(&stack).await?.into_iter().next())
    })
    .await?;
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    wait_for("the user failed, not pending", CONVERGE, || async {
        let pending = pending_count(&stack).await?;
        let failed = pending::failed_count(&mut r.clone(), &keys, &stack.tenant_id).await?;
        Ok((pending == 0 && failed == 1).then_some(()))
    })
    .await?;
    assert_eq!(pending_score(&stack, &id).await?, None);
    let failed = format!(
        "bridge_tenant_users_failed{{tenant=\"{}\"}}",
        stack.tenant_id
    );
    let dead = "bridge_queue_ready_messages_all{queue=\"dead\"}";
    wait_for(
        "the collector's failed and dead counts",
        CONVERGE,
        || async {
            let text = scrape(&stack, stack.ingress.addr).await?;
            Ok(
                (sample(&text, &failed) == Some(1.0) && sample(&text, dead) == Some(1.0))
                    .then_some(()),
            )
        },
    )
    .await?;
    let _ = pending::oldest_age(&mut r, &keys, &stack.tenant_id, 0).await?;
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_export_the_key_series_and_drop_an_uninstalled_tenant() -> anyhow::Result<()>
{
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..fast_collector()
    })
    .await?;
    let wcfg = worker::config::WorkerConfig::from_source(stack.env())?;
    let w = worker::server::start_full(wcfg).await?;
    let id = scim_create(&stack, okta_user("metrics@example.com", "Met", "Rics")).await?;
    wait_converged(&stack, &id).await?;
    let t = &stack.tenant_id;

    // The ingress: requests by route template, publishes, the collected
    // per-tenant gauges once the change is applied.
    let ingress_series = [
        "bridge_ingress_http_requests_total{method=\"POST\",route=\"/scim/v2/Users\",status=\"201\"}".to_string(),
        "bridge_ingress_publishes_total{outcome=\"confirmed\"}".to_string(),
        format!("bridge_queue_ready_messages{{tenant=\"{t}\",queue=\"changes\"}}"),
        format!("bridge_queue_consumers{{tenant=\"{t}\",queue=\"changes\"}}"),
        format!("bridge_tenant_users_pending{{tenant=\"{t}\"}}"),
        format!("bridge_tenant_users_failed{{tenant=\"{t}\"}}"),
        format!("bridge_tenant_state{{tenant=\"{t}\",state=\"active\"}}"),
    ];
    let oldest = format!("bridge_tenant_oldest_pending_seconds{{tenant=\"{t}\"}}");
    let consumers = format!("bridge_queue_consumers{{tenant=\"{t}\",queue=\"changes\"}}");
    let ingress = wait_for("the ingress's series", CONVERGE, || async {
        let text = scrape(&stack, stack.ingress.addr).await?;
        let all = ingress_series.iter().all(|s| sample(&text, s).is_some());
        let settled = sample(&text, &oldest) == Some(0.0)
            && sample(&text, &consumers).is_some_and(|c| c >= 1.0);
        Ok((all && settled).then_some(text))
    })
    .await?;
    assert!(
        sample(&ingress, &ingress_series[0]).is_some_and(|n| n >= 1.0),
        "{ingress}"
    );
    assert_eq!(
        sample(
            &ingress,
            &format!("bridge_tenant_state{{tenant=\"{t}\",state=\"paused\"}}")
        ),
        Some(0.0)
    );
    assert!(ingress.ends_with("# EOF\n"));
    assert!(
        !ingress.contains(&id),
        "a user id became a label: {ingress}"
    );

    // The worker: events applied, Freshservice calls by op and status,
    // its per-tenant gauge.
    let worker_text = scrape(&stack, w.metrics_addr).await?;
    for s in [
        "bridge_worker_events_total{outcome=\"applied\"}".to_string(),
        "bridge_worker_freshservice_calls_total{op=\"create\",status=\"201\"}".to_string(),
        format!("bridge_worker_unacked_messages{{tenant=\"{t}\"}}"),
        "bridge_worker_broker_connections_total".to_string(),
    ] {
        assert!(
            sample(&worker_text, &s).is_some(),
            "{s} missing:\n{worker_text}"
        );
    }

    // Every name the dashboard and the alert rules use
    // (`deploy/prometheus/metric-names.txt`, kept in step with them by
    // `deploy/check`) is exported by one of the two services.
    let names = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/prometheus/metric-names.txt");
    let list =
        std::fs::read_to_string(&names).map_err(|e| anyhow::anyhow!("{}: {e}", names.display()))?;
    let mut exported = exported_names(&ingress);
    exported.extend(exported_names(&worker_text));
    let wanted: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        wanted.len() >= 20,
        "{} lists too few names",
        names.display()
    );
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|n| !exported.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "named in {} but exported by neither service: {missing:?}",
        names.display()
    );

    // Uninstalled: its series are gone from both at the next collection.
    let r = stack
        .http
        .delete(format!("http://{}/api/install", stack.ingress.addr))
        .bearer_auth(&stack.token)
        .send()
        .await?;
    assert_eq!(r.status(), 204, "{}", r.text().await?);
    let label = format!("tenant=\"{t}\"");
    wait_for("the tenant's series gone", CONVERGE, || async {
        let i = scrape(&stack, stack.ingress.addr).await?;
        let w = scrape(&stack, w.metrics_addr).await?;
        Ok((!i.contains(&label) && !w.contains(&label)).then_some(()))
    })
    .await?;
    w.running.stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), w.running.handle).await;
    stack.stop().await;
    Ok(())
}

/// The request id: a client's is echoed and rides in the change event's
/// AMQP header (read off the queue with no worker running); an unusable
/// one is replaced by a fresh UUID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_is_echoed_and_travels_in_the_amqp_header() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let rid = format!("test-{}", uuid::Uuid::new_v4());
    let post = |rid: String, user: &'static str| {
        let stack = &stack;
        async move {
            stack
                .http
                .post(format!("{}/Users", stack.scim_base))
                .bearer_auth(&stack.token)
                .header("content-type", "application/scim+json")
                .header("x-request-id", rid)
                .body(okta_user(user, "Re", "Quest").to_string())
                .send()
                .await
        }
    };
    let r = post(rid.clone(), "rid1@example.com").await?;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-request-id"], rid.as_str());
    let r = post("has a space".into(), "rid2@example.com").await?;
    assert_eq!(r.status(), 201);
    let made = r.headers()["x-request-id"].to_str()?.to_string();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    let conn = lapin::Connection::connect(&e2e::amqp_url(), lapin::ConnectionProperties::default())
        .await?;
    let ch = conn.create_channel().await?;
    let queue = topology(&stack).tenant_queue(&stack.tenant_id);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let got = wait_for("a change event on the queue", CONVERGE, || async {
            Ok(ch
                .basic_get(&queue, BasicGetOptions { no_ack: true })
                .await?)
        })
        .await?;
        seen.push(shared::queue::request_id_of(&got.delivery.properties));
    }
    let _ = conn.close(200, "done").await;
    assert_eq!(seen, vec![Some(rid), Some(made)]);
    stack.stop().await;
    Ok(())
}
