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
//! worker-bench scale      --sim URL --scim URL --domain D… --token T… \
//!                         --per-tenant 300 --first 1000 --later 2 \
//!                         --worker-bin PATH --logs DIR --watch NAME=PID…
//! worker-bench cleanup    --queues Q… --exchanges E…
//! ```
//!
//! `scale` (the measuring half of `deploy/bench/scale`) starts the worker
//! processes itself, so it knows when each one started and can read its
//! CPU time from `/proc`.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    process::Stdio,
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

/// A worker process started by `scale`, with the port of its `/metrics`.
struct Worker {
    child: tokio::process::Child,
    pid: u32,
    metrics: String,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `bin run` with the environment of this process (the script
/// exports the stack's settings) and its own `METRICS_ADDR`.
fn spawn_worker(bin: &str, logs: &Path, n: usize) -> anyhow::Result<Worker> {
    let port = free_port()?;
    let log = std::fs::File::create(logs.join(format!("scale-worker-{n}.log")))?;
    let child = tokio::process::Command::new(bin)
        .arg("run")
        .env("METRICS_ADDR", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {bin}"))?;
    let pid = child.id().context("the worker has no pid")?;
    Ok(Worker {
        child,
        pid,
        metrics: format!("http://127.0.0.1:{port}/metrics"),
    })
}

/// Sum of the samples of `name` (with `label` in their labels, if given)
/// in a Prometheus text page.
fn metric(page: &str, name: &str, label: Option<&str>) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter(|l| label.is_none_or(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

impl Worker {
    async fn page(&self, http: &reqwest::Client) -> String {
        match http.get(&self.metrics).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// (tenant queues followed, events applied); zeros while it starts.
    async fn stats(&self, http: &reqwest::Client) -> (f64, f64) {
        let page = self.page(http).await;
        (
            metric(&page, "worker_tenants_followed", None),
            metric(&page, "worker_events_total", Some("outcome=\"applied\"")),
        )
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_secs(pid: u32, clk_tck: f64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the `(comm)`, which may hold spaces: state is the
    // first, utime the 12th, stime the 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / clk_tck
}

/// The whole machine's (busy, total) CPU seconds from `/proc/stat`.
fn machine_secs(clk_tck: f64) -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0.0, 0.0);
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    ((total - idle) / clk_tck, total / clk_tck)
}

/// CPU seconds of each watched process (workers by their pid's name).
struct CpuSnapshot {
    procs: BTreeMap<String, f64>,
    machine: (f64, f64),
}

fn snapshot(watch: &[(String, u32)], workers: &[Worker], clk: f64) -> CpuSnapshot {
    let mut procs: BTreeMap<String, f64> = watch
        .iter()
        .map(|(n, p)| (n.clone(), cpu_secs(*p, clk)))
        .collect();
    for (i, w) in workers.iter().enumerate() {
        procs.insert(format!("worker{}", i + 1), cpu_secs(w.pid, clk));
    }
    CpuSnapshot {
        procs,
        machine: machine_secs(clk),
    }
}

/// Per-process CPU use between two snapshots, as `name=cores` pairs (1.00
/// = one core busy the whole time), and the machine's busy share.
fn cpu_report(a: &CpuSnapshot, b: &CpuSnapshot, wall_s: f64, phase: &str) -> String {
    let mut out = Vec::new();
    let mut ours = 0.0;
    for (name, after) in &b.procs {
        let before = a.procs.get(name).copied().unwrap_or(0.0);
        ours += after - before;
        out.push(format!(
            "{phase}_cpu_{name}={:.2}",
            (after - before) / wall_s
        ));
    }
    let busy = b.machine.0 - a.machine.0;
    let total = b.machine.1 - a.machine.1;
    // Everything else on the machine (the cores are shared).
    out.push(format!(
        "{phase}_cpu_others={:.2}",
        (busy - ours).max(0.0) / wall_s
    ));
    out.push(format!(
        "{phase}_cpu_machine_busy={:.0}%",
        if total > 0.0 {
            100.0 * busy / total
        } else {
            0.0
        }
    ));
    out.join(" ")
}

/// Applied events summed over the workers.
async fn applied(http: &reqwest::Client, workers: &[Worker]) -> f64 {
    let mut n = 0.0;
    for w in workers {
        n += w.stats(http).await.1;
    }
    n
}

/// Polls the workers' `/metrics` every 100 ms until `done` holds.
async fn wait_workers<F>(
    http: &reqwest::Client,
    workers: &[Worker],
    what: &str,
    deadline: Duration,
    done: F,
) -> anyhow::Result<()>
where
    F: Fn(&[(f64, f64)]) -> bool,
{
    let until = Instant::now() + deadline;
    loop {
        let mut stats = Vec::new();
        for w in workers {
            stats.push(w.stats(http).await);
        }
        if done(&stats) {
            return Ok(());
        }
        if Instant::now() > until {
            bail!("timed out after {deadline:?} waiting for {what} ({stats:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (e) Scaling: `per` creates for each tenant queued with no worker
/// running; one worker drains until `first` are done, two more (`later`)
/// join; drain rates from the simulator's call log (`at_ms`), every
/// worker's share from its `/metrics`, CPU per process from `/proc`, and
/// every user exactly once in the simulator (fails otherwise).
#[allow(clippy::too_many_arguments)]
async fn scale(
    targets: &[Target],
    per: usize,
    first: usize,
    later: usize,
    worker_bin: &str,
    logs: &Path,
    watch: &[(String, u32)],
    clk: f64,
) -> anyhow::Result<()> {
    let http = &targets[0].http;
    let total = per * targets.len();
    anyhow::ensure!(first < total, "--first {first} must be below {total}");
    for t in targets {
        t.clear_calls().await?;
    }
    let posting = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (k, t) in targets.iter().enumerate() {
        let t = t.clone();
        set.spawn(async move { t.create_many(&format!("sc{k}"), per, 4).await });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    let posted_s = posting.elapsed().as_secs_f64();
    for t in targets {
        let early = t.calls().await?.iter().filter(|c| is_create(c)).count();
        anyhow::ensure!(
            early == 0,
            "{early} creates reached {} with no worker running",
            t.domain
        );
    }

    // This process polls the workers' metrics: its CPU counts too.
    let mut watch = watch.to_vec();
    watch.push(("bench".into(), std::process::id()));
    let watch = &watch[..];
    // Phase 1: one worker.
    let cpu_a = snapshot(watch, &[], clk);
    let t1 = now_ms();
    let mut workers = vec![spawn_worker(worker_bin, logs, 1)?];
    let n = targets.len() as f64;
    wait_workers(
        http,
        &workers,
        "the first worker",
        Duration::from_secs(60),
        |s| s[0].0 >= n,
    )
    .await?;
    let ready1 = now_ms();
    wait_workers(
        http,
        &workers,
        &format!("{first} changes applied by one worker"),
        Duration::from_secs(600),
        |s| s[0].1 >= first as f64,
    )
    .await?;
    let t2 = now_ms();
    let cpu_b = snapshot(watch, &workers, clk);
    let w1_at_t2 = applied(http, &workers).await;

    // Phase 2: two more join.
    for i in 0..later {
        workers.push(spawn_worker(worker_bin, logs, i + 2)?);
    }
    wait_workers(
        http,
        &workers,
        "the later workers",
        Duration::from_secs(60),
        |s| s.iter().all(|(followed, _)| *followed >= n),
    )
    .await?;
    let t3 = now_ms();
    let cpu_c = snapshot(watch, &workers, clk);
    wait_workers(
        http,
        &workers,
        &format!("all {total} changes applied"),
        Duration::from_secs(600),
        |s| s.iter().map(|(_, a)| a).sum::<f64>() >= total as f64,
    )
    .await?;
    let t4 = now_ms();
    let cpu_d = snapshot(watch, &workers, clk);
    let (mut shares, mut budget_waits) = (Vec::new(), 0.0);
    for w in &workers {
        shares.push(w.stats(http).await.1);
        // Calls held back by a tenant's budget or a 429 pause.
        budget_waits += metric(&w.page(http).await, "worker_rate_limit_waits_total", None);
    }

    // The simulator's view: when each create was answered, and the state.
    let mut at: Vec<u64> = Vec::new();
    let (mut calls, mut throttled, mut errors) = (0, 0, 0);
    let (mut missing, mut duplicated, mut unexpected) = (0, 0, 0);
    for (k, t) in targets.iter().enumerate() {
        let log = t.calls().await?;
        calls += log.len();
        throttled += log.iter().filter(|c| c["status"] == 429).count();
        errors += log
            .iter()
            .filter(|c| c["status"].as_u64().unwrap_or(0) >= 400 && c["status"] != 429)
            .count();
        at.extend(
            log.iter()
                .filter(|c| is_create(c))
                .filter_map(|c| c["at_ms"].as_u64()),
        );
        let mut by_email: HashMap<String, usize> = HashMap::new();
        for r in t.requesters().await? {
            let e = r["primary_email"].as_str().unwrap_or("").to_lowercase();
            *by_email.entry(e).or_default() += 1;
        }
        for i in 0..per {
            match by_email.remove(&format!("sc{k}-{i}@bench.local")) {
                None => missing += 1,
                Some(1) => {}
                Some(_) => duplicated += 1,
            }
        }
        unexpected += by_email.len();
    }
    at.sort_unstable();
    let in_window = |from: u64, to: u64| at.iter().filter(|&&a| a > from && a <= to).count();
    let rate =
        |n: usize, from: u64, to: u64| n as f64 * 1000.0 / (to.saturating_sub(from).max(1)) as f64;
    let a0 = at.first().copied().unwrap_or(t1);
    let last = at.last().copied().unwrap_or(t4);
    // One worker: from its first create to the moment the others started.
    let n1 = in_window(a0.saturating_sub(1), t2);
    let rate1 = rate(n1, a0, t2);
    // Three: from the moment the later ones consumed every queue to the last.
    let n3 = in_window(t3, last);
    let rate3 = rate(n3, t3, last);
    // Three, counting their start-up.
    let rate3_start = rate(in_window(t2, last), t2, last);
    // Creates answered per second from the first one (the step shows).
    let mut per_sec = vec![0usize; ((last - a0) / 1000 + 1) as usize];
    for a in &at {
        per_sec[((a - a0) / 1000) as usize] += 1;
    }
    let w1_phase2 = shares[0] - w1_at_t2;
    let share: Vec<String> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| format!("worker{}={s:.0}", i + 1))
        .collect();
    println!(
        "scale tenants={} users={total} posted_s={posted_s:.1} worker1_start_ms={} one_worker_creates={n1} one_worker_per_s={rate1:.1} later_start_ms={} three_worker_creates={n3} three_workers_per_s={rate3:.1} three_workers_with_start_per_s={rate3_start:.1} ratio={:.2} drain_s={:.1} total_s={:.1} applied_{} worker1_in_phase2={w1_phase2:.0} budget_waits={budget_waits:.0} calls={calls} status_429={throttled} other_errors={errors} creates={} missing={missing} duplicated={duplicated} unexpected={unexpected}",
        targets.len(),
        ready1.saturating_sub(t1),
        t3.saturating_sub(t2),
        rate3 / rate1.max(f64::MIN_POSITIVE),
        (last - a0) as f64 / 1000.0,
        (last.saturating_sub(t1)) as f64 / 1000.0,
        share.join(" applied_"),
        at.len(),
    );
    println!(
        "cpu {} {} {}",
        cpu_report(&cpu_a, &cpu_b, (t2 - t1) as f64 / 1000.0, "one"),
        cpu_report(&cpu_b, &cpu_c, (t3 - t2).max(1) as f64 / 1000.0, "start"),
        cpu_report(&cpu_c, &cpu_d, (t4 - t3).max(1) as f64 / 1000.0, "three"),
    );
    println!(
        "timeline creates_per_second_from_the_first={}",
        per_sec
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    for w in &mut workers {
        let _ = w.child.start_kill();
        let _ = w.child.wait().await;
    }
    if missing + duplicated + unexpected > 0 || at.len() != total {
        bail!(
            "the simulator does not hold every user exactly once: {missing} missing, {duplicated} duplicated, {unexpected} unexpected, {} creates for {total} users",
            at.len()
        );
    }
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
        bail!("usage: worker-bench throughput|latency|fairness|scale|cleanup --…");
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
    if cmd == "scale" {
        let (domains, tokens) = (o.list("domain"), o.list("token"));
        anyhow::ensure!(
            domains.len() == tokens.len(),
            "--domain and --token must list as many values"
        );
        let targets: Vec<Target> = domains
            .into_iter()
            .zip(tokens)
            .map(|(domain, token)| Target {
                domain,
                token,
                ..target.clone()
            })
            .collect();
        let mut watch = Vec::new();
        for w in o.list("watch") {
            let (name, pid) = w
                .split_once('=')
                .with_context(|| format!("--watch {w}: NAME=PID"))?;
            watch.push((
                name.to_string(),
                pid.parse().with_context(|| format!("--watch {w}"))?,
            ));
        }
        return scale(
            &targets,
            o.num("per-tenant", 300)?,
            o.num("first", 1_000)?,
            o.num("later", 2)?,
            &o.get("worker-bin")?,
            &PathBuf::from(o.get("logs")?),
            &watch,
            o.num("clk-tck", 100)? as f64,
        )
        .await;
    }
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
