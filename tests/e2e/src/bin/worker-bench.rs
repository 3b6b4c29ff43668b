//! `worker-bench`: the measuring half of `deploy/bench/worker`. The script
//! starts the release simulator, ingress and worker processes and installs
//! tenants; this binary drives SCIM load through the ingress and reads the
//! simulator's call log (`at_ms`, the moment Freshservice answered) to time
//! what reached Freshservice. Each phase prints one `key=value` line.
//!
//! ```text
//! worker-bench throughput --sim URL --scim URL --domain D --token T --users 10000
//! worker-bench latency    --sim URL --scim URL --domain D --token T --samples 200
//! worker-bench fairness   --sim URL --scim URL --domain D --token T \
//!                         --domain-b D2 --token-b T2 --backlog 5000
//! worker-bench cleanup    --queues Q… --exchanges E…
//! ```

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context};
use serde_json::{json, Value};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// `--key value` pairs; a key given several times (or followed by several
/// values) collects them all.
fn parse_args(args: &[String]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut key = None;
    for a in args {
        if let Some(k) = a.strip_prefix("--") {
            out.entry(k.to_string()).or_default();
            key = Some(k.to_string());
        } else if let Some(k) = &key {
            out.entry(k.clone()).or_default().push(a.clone());
        }
    }
    out
}

struct Opts(HashMap<String, Vec<String>>);

impl Opts {
    fn get(&self, k: &str) -> anyhow::Result<String> {
        self.0
            .get(k)
            .and_then(|v| v.first())
            .cloned()
            .with_context(|| format!("--{k} is required"))
    }
    fn num(&self, k: &str, default: usize) -> anyhow::Result<usize> {
        match self.0.get(k).and_then(|v| v.first()) {
            Some(v) => v.parse().with_context(|| format!("--{k} {v}")),
            None => Ok(default),
        }
    }
    fn list(&self, k: &str) -> Vec<String> {
        self.0.get(k).cloned().unwrap_or_default()
    }
}

/// One simulator account and the bridge tenant that points at it.
#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    sim: String,
    scim: String,
    domain: String,
    token: String,
}

impl Target {
    fn user(email: &str, i: usize) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "name": {"givenName": "Bench", "familyName": format!("User{i}")},
            "emails": [{"primary": true, "value": email, "type": "work"}],
            "title": "Benchmark",
            "active": true
        })
    }

    async fn create(&self, email: &str, i: usize) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/Users", self.scim))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/scim+json")
            .body(Self::user(email, i).to_string())
            .send()
            .await?;
        let status = resp.status();
        if status.as_u16() != 201 {
            bail!("POST /Users {email}: {status} {}", resp.text().await?);
        }
        Ok(())
    }

    /// Creates `n` users named `label-<i>@bench.local` on `parallel` connections.
    async fn create_many(&self, label: &str, n: usize, parallel: usize) -> anyhow::Result<()> {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..parallel {
            let t = self.clone();
            let label = label.to_string();
            set.spawn(async move {
                for i in (k..n).step_by(parallel) {
                    t.create(&format!("{label}-{i}@bench.local"), i).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    fn admin(&self, path: &str) -> String {
        format!("{}/_sim/accounts/{}{path}", self.sim, self.domain)
    }

    async fn calls(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .http
            .get(self.admin("/calls"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn clear_calls(&self) -> anyhow::Result<()> {
        self.http
            .delete(self.admin("/calls"))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn requesters(&self) -> anyhow::Result<Vec<Value>> {
        let state: Value = self
            .http
            .get(self.admin("/state"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(state["requesters"].as_array().cloned().unwrap_or_default())
    }
}

fn is_create(c: &Value) -> bool {
    c["method"] == "POST" && c["path"] == "/api/v2/requesters" && c["status"] == 201
}

/// Polls the call log every `every` until a successful create shows; its
/// `at_ms`.
async fn first_create_at(t: &Target, every: Duration, deadline: Duration) -> anyhow::Result<u64> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(c) = t.calls().await?.iter().find(|c| is_create(c)) {
            return Ok(c["at_ms"].as_u64().unwrap_or(0));
        }
        if Instant::now() > until {
            bail!("no create reached {} within {deadline:?}", t.domain);
        }
        tokio::time::sleep(every).await;
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// (a) `users` creates as fast as the ingress takes them; wall time from
/// the first POST to the last requester Freshservice created.
async fn throughput(t: &Target, users: usize) -> anyhow::Result<()> {
    t.clear_calls().await?;
    let t0 = now_ms();
    let started = Instant::now();
    t.create_many("tp", users, 32).await?;
    let posted = started.elapsed();
    let deadline = Duration::from_secs(600);
    let calls = loop {
        let calls = t.calls().await?;
        if calls.iter().filter(|c| is_create(c)).count() >= users {
            break calls;
        }
        if started.elapsed() > deadline {
            bail!("not every user reached Freshservice within {deadline:?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let last = calls
        .iter()
        .filter(|c| is_create(c))
        .filter_map(|c| c["at_ms"].as_u64())
        .max()
        .unwrap_or(t0);
    let throttled = calls.iter().filter(|c| c["status"] == 429).count();
    let errors = calls
        .iter()
        .filter(|c| c["status"].as_u64().unwrap_or(0) >= 400 && c["status"] != 429)
        .count();
    let mut at: Vec<u64> = calls.iter().filter_map(|c| c["at_ms"].as_u64()).collect();
    at.sort_unstable();
    let (mut worst, mut j) = (0, 0);
    for i in 0..at.len() {
        while j < at.len() && at[j] < at[i] + 60_000 {
            j += 1;
        }
        worst = worst.max(j - i);
    }
    let requesters = t.requesters().await?;
    let mut emails: Vec<&str> = requesters
        .iter()
        .filter_map(|r| r["primary_email"].as_str())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    println!(
        "throughput users={users} posted_s={:.1} wall_s={:.1} calls={} calls_per_user={:.4} status_429={throttled} other_errors={errors} worst_60s_window={worst} requesters={} distinct_emails={}",
        posted.as_secs_f64(),
        (last - t0) as f64 / 1000.0,
        calls.len(),
        calls.len() as f64 / users as f64,
        requesters.len(),
        emails.len()
    );
    Ok(())
}

/// (b) One user at a time, no backlog: POST sent → Freshservice answered
/// the create (the simulator's `at_ms`).
async fn latency(t: &Target, samples: usize) -> anyhow::Result<()> {
    // Warm up: the first user of a tenant also reads its requester fields.
    for i in 0..5 {
        t.clear_calls().await?;
        t.create(&format!("warm-{i}@bench.local"), i).await?;
        first_create_at(t, Duration::from_millis(2), Duration::from_secs(30)).await?;
    }
    let mut lat = Vec::with_capacity(samples);
    for i in 0..samples {
        t.clear_calls().await?;
        let sent = now_ms();
        t.create(&format!("lat-{i}@bench.local"), i).await?;
        let at = first_create_at(t, Duration::from_millis(2), Duration::from_secs(30)).await?;
        lat.push(at.saturating_sub(sent));
    }
    lat.sort_unstable();
    println!(
        "latency samples={samples} p50_ms={} p90_ms={} p99_ms={} max_ms={}",
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(0)
    );
    Ok(())
}

/// (c) Tenant A gets `backlog` creates; then tenant B one create: how long
/// B waits for Freshservice, and how much of A's backlog was still queued.
async fn fairness(a: &Target, b: &Target, backlog: usize) -> anyhow::Result<()> {
    a.clear_calls().await?;
    b.clear_calls().await?;
    let started = Instant::now();
    a.create_many("fa", backlog, 32).await?;
    let posted = started.elapsed();
    let a_done = a.calls().await?.iter().filter(|c| is_create(c)).count();
    let sent = now_ms();
    b.create("fair-b@bench.local", 0).await?;
    let at = first_create_at(b, Duration::from_millis(5), Duration::from_secs(600)).await?;
    let a_done_after = a.calls().await?.iter().filter(|c| is_create(c)).count();
    println!(
        "fairness backlog={backlog} a_posted_s={:.1} a_created_before_b={a_done} a_queued_when_b_sent={} b_wait_ms={} a_created_while_b_waited={}",
        posted.as_secs_f64(),
        backlog - a_done.min(backlog),
        at.saturating_sub(sent),
        a_done_after.saturating_sub(a_done)
    );
    Ok(())
}

/// Deletes the named queues and exchanges (the script lists them).
async fn cleanup(queues: &[String], exchanges: &[String]) -> anyhow::Result<()> {
    let conn = lapin::Connection::connect(&e2e::amqp_url(), lapin::ConnectionProperties::default())
        .await?;
    let ch = conn.create_channel().await?;
    for q in queues {
        ch.queue_delete(q, lapin::options::QueueDeleteOptions::default())
            .await?;
    }
    for e in exchanges {
        ch.exchange_delete(e, lapin::options::ExchangeDeleteOptions::default())
            .await?;
    }
    conn.close(200, "bench cleanup").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().cloned() else {
        bail!("usage: worker-bench throughput|latency|fairness|cleanup --…");
    };
    let o = Opts(parse_args(&args[1..]));
    if cmd == "cleanup" {
        return cleanup(&o.list("queues"), &o.list("exchanges")).await;
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let target = Target {
        http: http.clone(),
        sim: o.get("sim")?,
        scim: o.get("scim")?,
        domain: o.get("domain")?,
        token: o.get("token")?,
    };
    match cmd.as_str() {
        "throughput" => throughput(&target, o.num("users", 10_000)?).await,
        "latency" => latency(&target, o.num("samples", 200)?).await,
        "fairness" => {
            let b = Target {
                domain: o.get("domain-b")?,
                token: o.get("token-b")?,
                ..target.clone()
            };
            fairness(&target, &b, o.num("backlog", 5_000)?).await
        }
        other => bail!("unknown phase {other}"),
    }
}
