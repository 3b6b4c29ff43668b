//! While Redis or the broker is down, every SCIM request answers a SCIM
//! 503 with `Retry-After` within `SCIM_BACKEND_TIMEOUT_MS` instead of
//! hanging, and writes succeed again once the backend is back. Redis here
//! is a private `redis-server` the test stops (SIGSTOP: sockets stay open,
//! nothing answers) or kills; the broker is a socket that accepts and
//! never answers, so the shared services are never touched.

use std::time::Duration;

use e2e::{okta_user, wait_for, PrivateRedis, Stack, StackOptions};
use serde_json::{json, Value};
use tokio::time::Instant;

/// The configured bound, and the generous one the test holds it to.
const BACKEND_TIMEOUT_MS: u64 = 1_000;
const BOUND: Duration = Duration::from_secs(4);

fn env(pairs: &[(&str, String)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Sends one SCIM request (the client gives up at 30 s, as the probe's
/// did) and checks it got a SCIM 503 with `Retry-After` within [`BOUND`].
async fn assert_fast_503(
    s: &Stack,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Duration> {
    let mut req = s
        .http
        .request(method.parse()?, format!("{}{}", s.scim_base, path))
        .bearer_auth(token)
        .timeout(Duration::from_secs(30));
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(b.to_string());
    }
    let started = Instant::now();
    let resp = req.send().await?;
    let took = started.elapsed();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.text().await?;
    assert_eq!(status, 503, "{method} {path}: {text}");
    assert!(
        retry_after.is_some_and(|r| r.parse::<u64>().is_ok()),
        "{method} {path}: no Retry-After"
    );
    let body: Value = serde_json::from_str(&text)?;
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{method} {path}: {text}"
    );
    assert!(
        took < BOUND,
        "{method} {path} took {took:?}, over {BOUND:?} (SCIM_BACKEND_TIMEOUT_MS={BACKEND_TIMEOUT_MS})"
    );
    Ok(took)
}

/// Every kind of SCIM request while the backend is down.
async fn every_request_answers_503_fast(
    s: &Stack,
    id: &str,
    user_name: &str,
) -> anyhow::Result<Duration> {
    let patch = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","path":"title","value":"Outage"}]});
    let filter = format!("/Users?filter=userName%20eq%20%22{user_name}%22");
    let requests: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/Users/{id}"), None),
        ("GET", filter, None),
        ("GET", "/Users?startIndex=1&count=10".into(), None),
        (
            "POST",
            "/Users".into(),
            Some(okta_user("during-outage@okta.local", "During", "Outage")),
        ),
        (
            "PUT",
            format!("/Users/{id}"),
            Some(okta_user(user_name, "Put", "During")),
        ),
        ("PATCH", format!("/Users/{id}"), Some(patch)),
        ("DELETE", format!("/Users/{id}"), None),
    ];
    let mut slowest = Duration::ZERO;
    // `/Groups` lists nothing and reads no store: with the token still in
    // the ingress's 2-second cache it answers 200, after that its token
    // lookup needs Redis and it answers 503. Either is honest; it must
    // answer fast (which one depends on timing, so the test allows both).
    let started = Instant::now();
    let (status, _) = s
        .scim("GET", "/Groups?startIndex=1&count=100", None)
        .await?;
    let took = started.elapsed();
    assert!(
        status == 200 || status == 503,
        "GET /Groups during the outage: {status}"
    );
    assert!(took < BOUND, "GET /Groups took {took:?}, over {BOUND:?}");
    slowest = slowest.max(took);
    for (method, path, body) in requests {
        slowest = slowest.max(assert_fast_503(s, &s.token, method, &path, body).await?);
    }
    // A token not in the ingress's cache needs Redis to be looked up: that
    // is bounded too (503, not a hang and not a 401).
    slowest = slowest.max(assert_fast_503(s, "not-a-known-token", "GET", "/Users", None).await?);
    Ok(slowest)
}

/// Once the backend is back, a new create and an update of `id` succeed.
async fn writes_succeed_again(s: &Stack, id: &str, user_name: &str) -> anyhow::Result<()> {
    let back = Instant::now();
    let created = wait_for(
        "a create to succeed after the outage",
        Duration::from_secs(30),
        || async {
            let (status, body) = s
                .scim(
                    "POST",
                    "/Users",
                    Some(okta_user("after-outage@okta.local", "After", "Outage")),
                )
                .await?;
            anyhow::ensure!(matches!(status, 201 | 409 | 503), "{status}: {body}");
            if status == 409 {
                // An earlier try was cut by the deadline after its write
                // reached Redis (`ingress/src/http/deadline.rs`): it landed.
                // Okta does what this does: look the user up by filter.
                let (_, list) = s
                    .scim(
                        "GET",
                        "/Users?filter=userName%20eq%20%22after-outage%40okta.local%22",
                        None,
                    )
                    .await?;
                return Ok(list["Resources"].get(0).cloned());
            }
            Ok((status == 201).then_some(body))
        },
    )
    .await?;
    assert_eq!(created["userName"], "after-outage@okta.local");
    eprintln!(
        "first create succeeded {:?} after the backend was back",
        back.elapsed()
    );
    let (status, body) = s
        .scim(
            "PUT",
            &format!("/Users/{id}"),
            Some(okta_user(user_name, "Back", "Again")),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(status, 200);
    assert_eq!(body["name"]["givenName"], "Back");
    Ok(())
}

async fn stack_on(redis: &PrivateRedis) -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        redis_url: Some(redis.url()),
        ingress_env: env(&[("SCIM_BACKEND_TIMEOUT_MS", BACKEND_TIMEOUT_MS.to_string())]),
        ..Default::default()
    })
    .await
}

async fn create(s: &Stack, user_name: &str) -> anyhow::Result<String> {
    let (status, body) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user(user_name, "Before", "Outage")),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    Ok(body["id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_redis_answers_503_fast_and_heals() -> anyhow::Result<()> {
    let redis = PrivateRedis::start().await?;
    let s = stack_on(&redis).await?;
    let user_name = "stopped@okta.local";
    let id = create(&s, user_name).await?;

    redis.pause()?;
    let slowest = every_request_answers_503_fast(&s, &id, user_name).await;
    // Resume before asserting, so a failure leaves no stopped process.
    redis.resume()?;
    eprintln!("Redis stopped: slowest 503 took {:?}", slowest?);
    writes_succeed_again(&s, &id, user_name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_redis_answers_503_fast_and_heals_after_restart() -> anyhow::Result<()> {
    let mut redis = PrivateRedis::start().await?;
    let s = stack_on(&redis).await?;
    let user_name = "killed@okta.local";
    let id = create(&s, user_name).await?;

    redis.kill().await?;
    let slowest = every_request_answers_503_fast(&s, &id, user_name).await?;
    eprintln!("Redis killed: slowest 503 took {slowest:?}");
    redis.restart().await?;
    writes_succeed_again(&s, &id, user_name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_that_never_answers_means_503_fast_and_nothing_stored() -> anyhow::Result<()> {
    // Accepts every connection and never says a word, like a stopped
    // broker: the AMQP handshake would wait forever.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hole_addr = hole.local_addr()?;
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hole.accept().await {
            held.push(conn);
        }
    });
    let s = tokio::time::timeout(
        Duration::from_secs(30),
        Stack::start_with(StackOptions {
            workers: 0,
            ingress_env: env(&[
                ("AMQP_URL", format!("amqp://guest:guest@{hole_addr}/%2f")),
                ("PUBLISH_CONFIRM_TIMEOUT_MS", "2000".into()),
                ("SCIM_BACKEND_TIMEOUT_MS", BACKEND_TIMEOUT_MS.to_string()),
            ]),
            ..Default::default()
        }),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!("the ingress did not start within 30 s against a silent broker")
    })??;

    let took = assert_fast_503(
        &s,
        &s.token,
        "POST",
        "/Users",
        Some(okta_user("silent-broker@okta.local", "Silent", "Broker")),
    )
    .await?;
    eprintln!("silent broker: the create's 503 took {took:?}");
    // The create was undone before the 503: nothing stays behind.
    let (_, list) = s
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22silent-broker%40okta.local%22",
            None,
        )
        .await?;
    assert_eq!(list["totalResults"], 0, "a 503 leaves nothing behind");

    let started = Instant::now();
    let ready = s
        .http
        .get(format!("http://{}/readyz", s.ingress.addr))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    assert_eq!(ready.status().as_u16(), 503);
    assert!(
        started.elapsed() < BOUND,
        "/readyz took {:?}",
        started.elapsed()
    );
    holder.abort();
    Ok(())
}
