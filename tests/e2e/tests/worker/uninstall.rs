//! Uninstalling tenants while a worker runs (real RabbitMQ and Redis):
//! uninstalling one tenant leaves every other tenant's consumer alone; no
//! queue of an uninstalled tenant survives, not even one the worker was
//! declaring while the uninstall ran; and an uninstall against a broker
//! that never answers ends within its bound with a clear error, the queue
//! it left behind being deleted by a worker later.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use e2e::{okta_user, wait_for, Stack, StackOptions};
use serde_json::{json, Value};
use shared::{queue::Topology, tenant::TenantStore};
use worker::{metrics::ConsumerStats, server::Started};

async fn store(s: &Stack) -> anyhow::Result<TenantStore> {
    Ok(TenantStore::new(
        shared::redis_conn::connect(&e2e::redis_url()).await?,
        shared::keys::Keys::new(s.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    ))
}

/// A worker in this process whose consumer counters the test can read.
async fn start_worker(s: &Stack) -> anyhow::Result<Started> {
    let cfg = worker::config::WorkerConfig::from_source(s.env())?;
    worker::server::start_full(cfg).await
}

async fn stop_worker(w: Started) {
    w.running.stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), w.running.handle).await;
}

/// `DELETE /api/install` with a tenant's bearer token.
async fn uninstall(s: &Stack, token: &str) -> anyhow::Result<(u16, Value)> {
    let r = s
        .http
        .delete(format!("http://{}/api/install", s.ingress.addr))
        .bearer_auth(token)
        .send()
        .await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Whether the tenant's queue exists, by a passive declare (which fails
/// with NOT_FOUND, closing its channel, when it does not).
async fn queue_exists(conn: &lapin::Connection, queue: &str) -> anyhow::Result<bool> {
    let ch = conn.create_channel().await?;
    let passive = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    match ch
        .queue_declare(queue, passive, lapin::types::FieldTable::default())
        .await
    {
        Ok(_) => {
            let _ = ch.close(200, "checked").await;
            Ok(true)
        }
        Err(lapin::Error::ProtocolError(e)) if e.get_id() == 404 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn broker() -> anyhow::Result<lapin::Connection> {
    Ok(
        lapin::Connection::connect(&e2e::amqp_url(), lapin::ConnectionProperties::default())
            .await?,
    )
}

/// Deletes the queues of tenants a test uninstalled (the stack's cleanup
/// only knows installed ones), so a failed run leaves nothing behind.
struct ForgetQueues {
    queues: Vec<String>,
}

impl Drop for ForgetQueues {
    fn drop(&mut self) {
        let queues = std::mem::take(&mut self.queues);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(conn) = broker().await {
                    if let Ok(ch) = conn.create_channel().await {
                        for q in queues {
                            let _ = ch
                                .queue_delete(&q, lapin::options::QueueDeleteOptions::default())
                                .await;
                        }
                    }
                    let _ = conn.close(200, "test cleanup").await;
                }
            });
        })
        .join();
    }
}

/// Waits until the worker has finished `n` more scans of the tenant
/// registry than `since` (so at least `n - 1` whole scans began after it).
async fn scans_after(w: &Started, since: &ConsumerStats, n: u64) -> anyhow::Result<ConsumerStats> {
    wait_for(
        "the worker's tenant scans",
        Duration::from_secs(30),
        || async {
            let now = w.metrics.consumer_stats();
            Ok((now.tenant_scans >= since.tenant_scans + n).then_some(now))
        },
    )
    .await
}

/// Found by a security probe: deleting one tenant's queue ended the
/// worker's consumer stream and restarted every tenant's consumers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstalling_one_tenant_leaves_the_others_consumers_alone() -> anyhow::Result<()> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    // Tenant B is the stack's own; tenant A a second one, uninstalled (it
    // never calls Freshservice, so it needs no simulator account).
    let store = store(&s).await?;
    let a = store.install(&format!("{}a", s.domain), "ka").await?;
    e2e::logscan::remember_secret(&a.bearer_token);
    let topology = Topology::new(s.prefix.clone());
    let a_queue = topology.tenant_queue(&a.tenant.id);
    let _forget = ForgetQueues {
        queues: vec![a_queue.clone()],
    };
    let w = start_worker(&s).await?;
    wait_for(
        "the worker to follow both tenants",
        Duration::from_secs(30),
        || async { Ok((w.metrics.consumer_stats().tenants_followed == 2).then_some(())) },
    )
    .await?;
    let before = w.metrics.consumer_stats();

    let (status, body) = uninstall(&s, &a.bearer_token).await?;
    assert_eq!(status, 204, "{body}");
    // B's changes still flow…
    let (st, _) = s
        .scim("POST", "/Users", Some(okta_user("b@b.example", "B", "B")))
        .await?;
    assert_eq!(st, 201);
    wait_for("tenant B's requester", Duration::from_secs(30), || async {
        Ok((!s.sim_requesters_with_email("b@b.example").await?.is_empty()).then_some(()))
    })
    .await?;
    // …and after two whole scans since the uninstall, on the same
    // connection and the same consumer as before.
    let after = scans_after(&w, &before, 3).await?;
    assert_eq!(
        (after.broker_connections, after.consumers_started),
        (before.broker_connections, before.consumers_started),
        "uninstalling A reconnected or restarted consumers: before {before:?}, after {after:?}"
    );
    assert_eq!(after.tenants_followed, 1, "{after:?}");
    let conn = broker().await?;
    assert!(!queue_exists(&conn, &a_queue).await?, "A's queue is gone");
    assert!(
        queue_exists(&conn, &topology.tenant_queue(&s.tenant_id)).await?,
        "B's queue is untouched"
    );
    let _ = conn.close(200, "done").await;
    stop_worker(w).await;
    Ok(())
}

/// Found by a security probe: the worker re-created the queues of 3 of 50
/// tenants uninstalled while it scanned the registry (quorum queues with
/// no consumer, never deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_queue_of_an_uninstalled_tenant_survives() -> anyhow::Result<()> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let store = store(&s).await?;
    let topology = Topology::new(s.prefix.clone());
    let w = start_worker(&s).await?;
    wait_for(
        "the worker to follow the stack's tenant",
        Duration::from_secs(30),
        || async { Ok((w.metrics.consumer_stats().tenants_followed == 1).then_some(())) },
    )
    .await?;

    // Tenants come and go one after another, a few installed at any time,
    // so the worker's scans keep finding tenants that are uninstalled while
    // it declares their queues.
    let (count, alive) = (36, 6);
    let mut tenants = Vec::new();
    let mut forget = ForgetQueues { queues: Vec::new() };
    for i in 0..count + alive {
        if i < count {
            let t = store.install(&format!("{}u{i}", s.domain), "k").await?;
            e2e::logscan::remember_secret(&t.bearer_token);
            forget.queues.push(topology.tenant_queue(&t.tenant.id));
            tenants.push(t);
        }
        if i >= alive {
            let (status, body) = uninstall(&s, &tenants[i - alive].bearer_token).await?;
            assert_eq!(status, 204, "{body}");
        }
    }
    let uninstalled = w.metrics.consumer_stats();
    let settled = scans_after(&w, &uninstalled, 3).await?;
    assert_eq!(settled.tenants_followed, 1, "{settled:?}");

    let conn = broker().await?;
    let mut left = Vec::new();
    for t in &tenants {
        if queue_exists(&conn, &topology.tenant_queue(&t.tenant.id)).await? {
            left.push(t.tenant.id.clone());
        }
    }
    let _ = conn.close(200, "done").await;
    stop_worker(w).await;
    assert!(
        left.is_empty(),
        "{} of {} uninstalled tenants still have a queue: {left:?}",
        left.len(),
        tenants.len()
    );
    Ok(())
}

/// Found by a security probe: an uninstall hung 575 s on a broker that did
/// not answer. It must end within `UNINSTALL_BROKER_TIMEOUT_MS` with an
/// error saying what happened, the tenant uninstalled all the same, and the
/// queue it could not delete must be deleted by a worker later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_against_a_silent_broker_ends_in_time_with_a_clear_error() -> anyhow::Result<()> {
    // A "broker" that accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let silent_url = format!("amqp://guest:guest@{}/%2f", silent.local_addr()?);
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            open.push(sock);
        }
    });
    let bound = Duration::from_millis(1500);
    let ingress_env: HashMap<String, String> = [
        ("AMQP_URL", silent_url),
        ("UNINSTALL_BROKER_TIMEOUT_MS", bound.as_millis().to_string()),
        ("PUBLISH_CONFIRM_TIMEOUT_MS", "3000".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Without bounds even starting the ingress hangs (its first broker
    // check waits for the silent broker): fail instead of hanging.
    let s = tokio::time::timeout(
        Duration::from_secs(30),
        Stack::start_with(StackOptions {
            workers: 0,
            ingress_env,
            ..Default::default()
        }),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the ingress did not start against a silent broker"))??;
    // The tenant's queue exists on the real broker (as after its first
    // change), where the ingress cannot reach it.
    let topology = Topology::new(s.prefix.clone());
    let queue = topology.tenant_queue(&s.tenant_id);
    let _forget = ForgetQueues {
        queues: vec![queue.clone()],
    };
    let conn = broker().await?;
    let ch = conn.create_channel().await?;
    topology.declare(&ch).await?;
    topology.declare_tenant(&ch, &s.tenant_id).await?;

    let t0 = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(30), uninstall(&s, &s.token))
        .await
        .map_err(|_| anyhow::anyhow!("the uninstall hung on the silent broker"))??;
    let took = t0.elapsed();
    let (status, body) = answer;
    assert!(
        took < bound + Duration::from_secs(2),
        "the uninstall took {took:?} (bound {bound:?})"
    );
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], json!("uninstalled_broker_timeout"), "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("was uninstalled") && msg.contains("did not answer within"),
        "{msg}"
    );
    // Uninstalled all the same.
    assert_eq!(s.scim("GET", "/Users", None).await?.0, 401);
    assert!(
        queue_exists(&conn, &queue).await?,
        "the silent broker kept it"
    );

    // A worker on the real broker deletes the queue left behind.
    let w = start_worker(&s).await?;
    wait_for(
        "the worker to delete the queue left behind",
        Duration::from_secs(30),
        || async { Ok((!queue_exists(&conn, &queue).await?).then_some(())) },
    )
    .await?;
    stop_worker(w).await;
    let _ = conn.close(200, "done").await;
    held.abort();
    Ok(())
}
