//! SIGTERM to the ingress under load, as a real OS process (`e2e-ingress`,
//! the shipped `serve` code in `ingress/src/server.rs`): eight clients
//! create users in a loop, each request on a new connection, while six
//! requests are held in flight by their clients (head sent with
//! `Expect: 100-continue`, the ingress's `100 Continue` proving its handler
//! is reading the body, half the body sent) and a seventh will never
//! finish its body. After SIGTERM:
//!
//! - new connections are refused (the listener is closed) while the held
//!   requests are still in flight;
//! - the held requests, completed after that, get their normal `201`;
//! - the one that never finishes is cut at `SHUTDOWN_GRACE_MS` and the
//!   process exits 0 within the grace plus a small slack;
//! - every user answered `201` is stored (read through a second ingress,
//!   the stack's in-process one), nothing else is, its event is on the
//!   tenant's queue exactly once, and the outbox is empty: every publish
//!   the answered requests started was confirmed and cleared before exit.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use e2e::{okta_user, wait_for, IngressProcess, Stack, StackOptions};
use lapin::options::{BasicGetOptions, BasicNackOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

const INGRESS_BIN: &str = env!("CARGO_BIN_EXE_e2e-ingress");
const GRACE: Duration = Duration::from_millis(3_000);
/// Past the grace: closing the last connections, the outbox wait and the
/// process exiting.
const SLACK: Duration = Duration::from_millis(2_000);
const LOADERS: usize = 8;
const HELD: usize = 6;

/// A request whose client holds it in flight: head and half the body sent,
/// the ingress's `100 Continue` received.
struct Held {
    conn: TcpStream,
    user_name: String,
    rest: Vec<u8>,
}

async fn hold(ing: &IngressProcess, token: &str, user_name: &str) -> anyhow::Result<Held> {
    let body = okta_user(user_name, "Held", "Request")
        .to_string()
        .into_bytes();
    let half = body.len() / 2;
    let mut conn = TcpStream::connect(ing.addr).await?;
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nAccept: application/scim+json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        ing.addr,
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    // hyper sends `100 Continue` when the handler first reads the body:
    // from then on the request is in flight in the ingress.
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await??;
        anyhow::ensure!(n > 0, "closed before 100 Continue: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    anyhow::ensure!(
        text.starts_with("HTTP/1.1 100"),
        "expected 100 Continue, got {text}"
    );
    conn.write_all(&body[..half]).await?;
    conn.flush().await?;
    Ok(Held {
        conn,
        user_name: user_name.to_string(),
        rest: body[half..].to_vec(),
    })
}

/// Reads until the server closes the connection (or `deadline`).
async fn read_to_close(conn: &mut TcpStream, deadline: Duration) -> anyhow::Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let until = Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(until, conn.read(&mut buf)).await {
            Err(_) => anyhow::bail!(
                "still open after {deadline:?}: {}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The SCIM id in a create's answer (the body is small: one chunk at most).
fn id_in(answer: &str) -> Option<String> {
    let at = answer.find("\"id\":\"")? + 6;
    let len = answer[at..].find('"')?;
    Some(answer[at..at + len].to_string())
}

/// What one loader request got.
enum Outcome {
    Created {
        user_name: String,
        id: String,
    },
    Answered {
        status: u16,
        body: String,
    },
    /// No HTTP answer (connect refused, connection reset or closed).
    Transport {
        error: String,
        after_signal: bool,
    },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_refuses_new_connections_finishes_in_flight_and_exits_0() -> anyhow::Result<()> {
    let settings = |pairs: &[(&str, String)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        // No sweeper re-publishes during the test (in either ingress), so
        // the queue and the outbox show exactly what the requests did.
        ingress_env: settings(&[("SWEEP_GRACE_MS", "600000".into())]),
        ..Default::default()
    })
    .await?;
    let mut ing = stack
        .spawn_ingress_process(
            std::path::Path::new(INGRESS_BIN),
            &settings(&[("SHUTDOWN_GRACE_MS", GRACE.as_millis().to_string())]),
        )
        .await?;
    let base = ing.scim_base();

    // The loaders: each request on a new connection.
    let signalled = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut loaders = tokio::task::JoinSet::new();
    for k in 0..LOADERS {
        let (client, base, token) = (client.clone(), base.clone(), stack.token.clone());
        let (signalled, stop, outcomes) = (signalled.clone(), stop.clone(), outcomes.clone());
        loaders.spawn(async move {
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let user_name = format!("load{k}-{i}@example.com");
                let sent = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/scim+json")
                    .body(okta_user(&user_name, "Load", "User").to_string())
                    .send()
                    .await;
                let outcome = match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.text().await.unwrap_or_default();
                        match (status, id_in(&body)) {
                            (201, Some(id)) => Outcome::Created { user_name, id },
                            _ => Outcome::Answered { status, body },
                        }
                    }
                    Err(e) => Outcome::Transport {
                        error: format!("{e:?}"),
                        after_signal: signalled.load(Ordering::SeqCst),
                    },
                };
                let transport = matches!(outcome, Outcome::Transport { .. });
                outcomes.lock().unwrap().push(outcome);
                // Once the ingress stops accepting, every try fails alike.
                if transport {
                    break;
                }
            }
        });
    }
    let created = |o: &Mutex<Vec<Outcome>>| {
        o.lock()
            .unwrap()
            .iter()
            .filter(|o| matches!(o, Outcome::Created { .. }))
            .count()
    };
    wait_for(
        "the loaders to create 100 users",
        Duration::from_secs(30),
        || {
            let n = created(&outcomes);
            async move { Ok((n >= 100).then_some(())) }
        },
    )
    .await?;

    let mut held = Vec::new();
    for i in 0..HELD {
        held.push(hold(&ing, &stack.token, &format!("held{i}@example.com")).await?);
    }
    let mut stuck = hold(&ing, &stack.token, "stuck@example.com").await?;

    let sent = Instant::now();
    signalled.store(true, Ordering::SeqCst);
    ing.process.term()?;
    // New connections are refused once the listener is closed.
    let addr = ing.addr;
    wait_for(
        "a new connection to be refused",
        Duration::from_secs(2),
        || async move {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(Some(())),
                _ => Ok(None),
            }
        },
    )
    .await?;
    let refused_after = sent.elapsed();
    let late = client.get(format!("{base}/Users")).send().await;
    assert!(
        late.as_ref().is_err_and(|e| e.is_connect()),
        "a request after the signal must not connect: {late:?}"
    );
    assert!(
        ing.process.try_wait()?.is_none(),
        "the ingress must still be finishing the held requests"
    );

    // The held requests, finished after new connections were refused,
    // get their normal answers.
    let mut answered = Vec::new();
    for h in &mut held {
        h.conn.write_all(&h.rest).await?;
        let answer = read_to_close(&mut h.conn, GRACE).await?;
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "{}: {answer}",
            h.user_name
        );
        assert!(
            answer.to_lowercase().contains("connection: close"),
            "a draining server closes after the answer: {answer}"
        );
        let id = id_in(&answer).ok_or_else(|| anyhow::anyhow!("no id in {answer}"))?;
        answered.push((h.user_name.clone(), id));
    }
    let held_done = sent.elapsed();

    let status = ing.process.wait(GRACE + SLACK).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no exit within the grace + {SLACK:?}: {}",
            ing.process.log_tail(20)
        )
    })?;
    let exited = sent.elapsed();
    stop.store(true, Ordering::SeqCst);
    while let Some(r) = loaders.join_next().await {
        r?;
    }
    assert!(
        status.success(),
        "exit status {status}: {}",
        ing.process.log_tail(20)
    );
    // The stuck request held the drain until the grace was over.
    assert!(
        exited >= GRACE,
        "exited after {exited:?}, before the grace {GRACE:?} though a request was in flight"
    );
    let cut = read_to_close(&mut stuck.conn, Duration::from_secs(1)).await?;
    assert!(
        cut.is_empty(),
        "the request cut at the grace gets no answer: {cut}"
    );
    let log = std::fs::read_to_string(&ing.process.log)?;
    assert!(
        log.contains("SHUTDOWN_GRACE_MS over; closing the connections still open"),
        "{}",
        ing.process.log_tail(20)
    );

    // What the loaders got: 201s, and after the signal only failures to
    // connect or to get an answer (connections the listener never served).
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let (mut refused, mut closed) = (0, 0);
    for o in &outcomes {
        match o {
            Outcome::Created { user_name, id } => answered.push((user_name.clone(), id.clone())),
            Outcome::Answered { status, body } => {
                panic!("a request was answered {status}, not 201: {body}")
            }
            Outcome::Transport {
                error,
                after_signal,
            } => {
                assert!(after_signal, "a request failed before the signal: {error}");
                if error.contains("ConnectionRefused") {
                    refused += 1;
                } else {
                    closed += 1;
                }
            }
        }
    }
    println!(
        "ingress SIGTERM: {} users answered 201 ({HELD} held in flight), new connections refused \
         {refused_after:?} after the signal, held requests answered by {held_done:?}, exit 0 after \
         {exited:?} (grace {GRACE:?}); loaders' last tries: {refused} refused, {closed} closed \
         without an answer",
        answered.len()
    );

    // Nothing lost, nothing extra: each 201 is stored (read through the
    // in-process ingress) and nothing else is.
    let want: BTreeMap<String, String> = answered.iter().cloned().collect();
    for (user_name, id) in &answered {
        let (status, body) = stack.scim("GET", &format!("/Users/{id}"), None).await?;
        assert_eq!(
            status, 200,
            "{user_name} ({id}) answered 201 but is not stored"
        );
        assert_eq!(body["userName"], user_name.as_str());
    }
    let (status, list) = stack.scim("GET", "/Users?count=1", None).await?;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["totalResults"].as_u64(),
        Some(want.len() as u64),
        "stored users besides the ones answered 201"
    );

    // Each one's event is on the tenant's queue, once; the outbox is empty.
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let mut redis = redis::Client::open(e2e::redis_url())?
        .get_multiplexed_async_connection()
        .await?;
    let unpublished: usize = redis::cmd("ZCARD")
        .arg(keys.unpublished(&stack.tenant_id))
        .query_async(&mut redis)
        .await?;
    assert_eq!(unpublished, 0, "outbox entries left behind");
    let queue = shared::queue::Topology::new(stack.prefix.clone()).tenant_queue(&stack.tenant_id);
    let conn = lapin::Connection::connect(&e2e::amqp_url(), lapin::ConnectionProperties::default())
        .await?;
    let ch = conn.create_channel().await?;
    let mut events: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(msg) = ch
        .basic_get(&queue, BasicGetOptions { no_ack: false })
        .await?
    {
        let ev = shared::event::ChangeEvent::from_json(&msg.delivery.data)?;
        *events.entry(ev.id).or_default() += 1;
    }
    // Unacknowledged: they go back to the queue, which the cleanup deletes.
    let _ = ch
        .basic_nack(
            0,
            BasicNackOptions {
                multiple: true,
                requeue: true,
            },
        )
        .await;
    let _ = conn.close(200, "test done").await;
    let ids: BTreeMap<&str, usize> = want.values().map(|id| (id.as_str(), 1)).collect();
    let got: BTreeMap<&str, usize> = events.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, ids, "events on the queue, by user id");
    Ok(())
}
