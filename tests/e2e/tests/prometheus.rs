//! A real Prometheus (Debian's package) scraping the ingress and two worker
//! processes every second, asked through its HTTP API what an SRE would
//! ask (issue 12, "Proof"): with the workers stopped the tenant's queue
//! depth rises to the changes posted; once two workers run it drains to 0
//! and the oldest pending change is 0 s old; a change Freshservice refuses
//! shows in the dead-letter counter.
//!
//! The binary comes from `PROMETHEUS_BIN`, else
//! `<repo>/target/tools/prometheus/usr/bin/prometheus`, where
//! `deploy/local/lib.sh` (`ensure_prometheus_tools`) unpacks Debian's
//! package. Without it the test fails and says how to get it: it never
//! passes without having run Prometheus.

#[path = "worker/support.rs"]
mod support;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use e2e::{okta_user, wait_for, Stack, StackOptions, WorkerProcess};
use serde_json::{json, Value};
use support::*;

const WORKER_BIN: &str = env!("CARGO_BIN_EXE_e2e-worker");

/// Changes posted while the workers are stopped.
const N: usize = 20;

/// Long enough for a few 1 s scrapes and a 300 ms collection behind them.
const SCRAPED: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prometheus_bin() -> PathBuf {
    match std::env::var_os("PROMETHEUS_BIN") {
        Some(p) => PathBuf::from(p),
        None => repo().join("target/tools/prometheus/usr/bin/prometheus"),
    }
}

/// A port nothing listens on right now (bound, then released).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A Prometheus process with its own data directory; dropping it kills the
/// process and removes the directory.
struct Prometheus {
    child: tokio::process::Child,
    dir: PathBuf,
    url: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    async fn start(label: &str, ingress: &str, workers: &[String]) -> anyhow::Result<Self> {
        let bin = prometheus_bin();
        anyhow::ensure!(
            bin.is_file(),
            "no Prometheus at {}: run `apt-get download prometheus && dpkg-deb -x prometheus_*.deb {}/target/tools/prometheus` \
             (or `deploy/local/lib.sh`'s ensure_prometheus_tools), or point PROMETHEUS_BIN at a prometheus binary",
            bin.display(),
            repo().display()
        );
        let dir = std::env::temp_dir().join(format!("{label}-prometheus"));
        std::fs::create_dir_all(dir.join("data"))?;
        let quoted = |v: &[String]| {
            v.iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: ingress\n    static_configs:\n      - targets: [{}]\n\
             \x20 - job_name: worker\n    static_configs:\n      - targets: [{}]\n",
            quoted(&[ingress.to_string()]),
            quoted(workers)
        );
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let port = free_port()?;
        let log_dir = e2e::log_dir();
        std::fs::create_dir_all(&log_dir)?;
        let log = log_dir.join(format!("{label}-prometheus.log"));
        let child = tokio::process::Command::new(&bin)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .kill_on_drop(true)
            .spawn()?;
        let p = Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            log,
            http: reqwest::Client::new(),
        };
        wait_for("Prometheus ready", Duration::from_secs(30), || async {
            let r = p.http.get(format!("{}/-/ready", p.url)).send().await;
            Ok(r.ok().filter(|r| r.status() == 200).map(|_| ()))
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}; its log:\n{}", p.log_tail()))?;
        Ok(p)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The value of an instant query's single result; `None` when it has
    /// no result (no series yet).
    async fn value(&self, query: &str) -> anyhow::Result<Option<f64>> {
        let body: Value = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(body["status"] == "success", "{query}: {body}");
        let result = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        anyhow::ensure!(result.len() <= 1, "{query}: more than one series: {body}");
        Ok(result
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse().ok()))
    }

    /// Waits until `query`'s value satisfies `ok`.
    async fn until(&self, query: &str, ok: impl Fn(f64) -> bool) -> anyhow::Result<f64> {
        let last = std::sync::Mutex::new(None);
        let got = wait_for(query, SCRAPED, || async {
            let v = self.value(query).await?;
            *last.lock().unwrap_or_else(|e| e.into_inner()) = v;
            Ok(v.filter(|v| ok(*v)))
        })
        .await;
        got.map_err(|e| {
            let last = *last.lock().unwrap_or_else(|e| e.into_inner());
            anyhow::anyhow!(
                "{e} (last value {last:?}); Prometheus log:\n{}",
                self.log_tail()
            )
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_depth_rise_drain_and_a_dead_letter() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ingress_env: [("METRICS_COLLECT_INTERVAL_MS".to_string(), "300".to_string())].into(),
        ..Default::default()
    })
    .await?;
    let worker_addrs: Vec<String> = (0..2)
        .map(|_| Ok(format!("127.0.0.1:{}", free_port()?)))
        .collect::<anyhow::Result<_>>()?;
    let prom = Prometheus::start(
        &stack.prefix,
        &stack.ingress.addr.to_string(),
        &worker_addrs,
    )
    .await?;
    let t = &stack.tenant_id;

    for i in 0..N {
        scim_create(
            &stack,
            okta_user(&format!("prom{i}@example.com"), "Prom", &format!("User{i}")),
        )
        .await?;
    }
    let depth = format!("max by (tenant) (bridge_queue_ready_messages{{tenant=\"{t}\"}})");
    prom.until(&depth, |v| v >= N as f64).await?;
    let oldest =
        format!("max by (tenant) (bridge_tenant_oldest_pending_seconds{{tenant=\"{t}\"}})");
    assert!(
        prom.value(&oldest).await?.is_some_and(|v| v > 0.0),
        "changes wait: the oldest is older than 0 s"
    );

    let mut workers: Vec<WorkerProcess> = Vec::new();
    for addr in &worker_addrs {
        let env: HashMap<String, String> = [("METRICS_ADDR".to_string(), addr.clone())].into();
        workers.push(
            stack
                .spawn_worker_process_with(Path::new(WORKER_BIN), &env)
                .await?,
        );
    }
    // Both workers scraped, the backlog drained, nothing pending.
    prom.until("sum(up{job=\"worker\"})", |v| v == 2.0).await?;
    prom.until(&depth, |v| v == 0.0).await?;
    prom.until(&oldest, |v| v == 0.0).await?;
    let applied = "sum(bridge_worker_events_total{outcome=\"applied\"})";
    prom.until(applied, |v| v >= N as f64).await?;

    // A change Freshservice refuses for good: dead-lettered, counted.
    let email = "agent.prometheus@example.com";
    sim_admin(
        &stack,
        "POST",
        "/agents",
        json!({"first_name": "Agent", "last_name": "Prom", "email": email}),
    )
    .await?;
    scim_create(&stack, okta_user(email, "Agent", "Prom")).await?;
    prom.until("sum(bridge_worker_dead_letters_total)", |v| v >= 1.0)
        .await?;
    prom.until(
        "max(bridge_queue_ready_messages_all{queue=\"dead\"})",
        |v| v >= 1.0,
    )
    .await?;

    for w in &mut workers {
        let _ = w.kill().await;
    }
    drop(prom);
    stack.stop().await;
    Ok(())
}
