//! Test harness for end-to-end tests: starts a Freshservice simulator, an
//! ingress and workers in this process (real HTTP, real Redis, real
//! RabbitMQ), each test with its own key prefix, queue prefix, simulator
//! account and tenant, so tests run in parallel without crossing. Workers
//! can also run as real OS processes ([`Stack::spawn_worker_process`]) for
//! the kill -9 / SIGTERM / multi-process tests, and so can an ingress
//! ([`Stack::spawn_ingress_process`], for its SIGTERM test).

use std::{
    collections::HashMap,
    future::Future,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::{bail, Context};
use serde_json::{json, Value};

pub mod logscan;
pub mod tls;

/// The password Okta's create sends in the tests (it must never be stored
/// or logged).
pub const OKTA_TEST_PASSWORD: &str = "1mz050nq";

/// A 32-byte master key for tests (never used outside them).
pub const TEST_MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// What a test wants of its stack.
#[derive(Clone, Debug)]
pub struct StackOptions {
    pub workers: usize,
    /// The simulator account's calls per minute.
    pub sim_rate_limit: u32,
    /// The tenant's budget as the bridge knows it (None: the default).
    pub tenant_rate_limit: Option<u32>,
    /// Custom requester fields of the simulator account.
    pub custom_fields: Vec<Value>,
    /// Extra environment for the worker config (e.g. WORKER_MAX_ATTEMPTS).
    pub worker_env: HashMap<String, String>,
    /// Extra settings for the ingress config, over the common ones (read
    /// by `IngressConfig::from_source`; the process environment never is).
    pub ingress_env: HashMap<String, String>,
    /// The simulator account's rate-limit window in ms (None: its 60 s).
    /// Tests shorten it, with the workers' `RATE_LIMIT_WINDOW_MS`, to check
    /// a per-minute property in seconds.
    pub sim_window_ms: Option<u64>,
    /// A Redis of the test's own (e.g. a [`PrivateRedis`] it will stop or
    /// kill) instead of the shared one, for the services and the tenant.
    pub redis_url: Option<String>,
    /// Serve HTTPS: the ingress gets a self-made certificate
    /// ([`tls::TestTls`], in [`Stack::tls`]) and the stack's client trusts
    /// its CA; `scim_base` is `https://127.0.0.1:PORT/scim/v2`.
    pub tls: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            sim_rate_limit: 100_000,
            tenant_rate_limit: Some(100_000),
            custom_fields: vec![],
            worker_env: HashMap::new(),
            ingress_env: HashMap::new(),
            sim_window_ms: None,
            redis_url: None,
            tls: false,
        }
    }
}

/// One isolated stack.
pub struct Stack {
    pub sim: fssim::Sim,
    pub ingress: ingress::server::Running,
    pub workers: Vec<worker::server::Running>,
    /// e.g. `http://127.0.0.1:PORT` (`https` with [`StackOptions::tls`]).
    pub ingress_url: String,
    /// e.g. `http://127.0.0.1:PORT/scim/v2`
    pub scim_base: String,
    pub token: String,
    pub tenant_id: String,
    /// The simulator account (Freshservice subdomain) of this stack.
    pub domain: String,
    pub api_key: String,
    pub prefix: String,
    /// The stack's client; with TLS it trusts the stack's CA alone.
    pub http: reqwest::Client,
    /// The ingress's certificate files and CA, with [`StackOptions::tls`].
    pub tls: Option<tls::TestTls>,
    env: HashMap<String, String>,
    /// The in-process ingress's settings, for ingress processes.
    ingress_env: HashMap<String, String>,
    /// Worker processes started so far (numbers their log files).
    processes: std::sync::atomic::AtomicUsize,
    _cleanup: Cleanup,
}

/// Deletes a stack's queues and Redis keys when the test ends, passed or
/// panicked, so repeated runs leave nothing behind in the shared services.
struct Cleanup {
    prefix: String,
    redis_url: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let redis_url = self.redis_url.clone();
        // Drop cannot be async and may run inside a runtime: use a thread
        // with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(cleanup(&prefix, &redis_url));
            }
        })
        .join();
    }
}

async fn cleanup(prefix: &str, redis_url: &str) {
    let topology = shared::queue::Topology::new(prefix);
    let mut tenants: Vec<String> = Vec::new();
    // Bounded: a test's private Redis may be stopped or gone by now.
    let redis = match redis::Client::open(redis_url) {
        Ok(c) => tokio::time::timeout(Duration::from_secs(2), c.get_multiplexed_async_connection())
            .await
            .ok()
            .and_then(Result::ok),
        Err(_) => None,
    };
    if let Some(mut con) = redis.clone() {
        tenants = redis::cmd("SMEMBERS")
            .arg(format!("{prefix}:tenants"))
            .query_async(&mut con)
            .await
            .unwrap_or_default();
    }
    let mut queues = topology.shared_queues();
    queues.extend(tenants.iter().map(|t| topology.tenant_queue(t)));
    let mut exchanges = vec![topology.changes_exchange()];
    exchanges.extend(
        shared::queue::topology::WAIT_TIERS
            .iter()
            .map(|t| topology.wait(*t)),
    );
    if let Ok(conn) =
        lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
    {
        if let Ok(ch) = conn.create_channel().await {
            for q in queues {
                let _ = ch
                    .queue_delete(&q, lapin::options::QueueDeleteOptions::default())
                    .await;
            }
            for x in exchanges {
                let _ = ch
                    .exchange_delete(&x, lapin::options::ExchangeDeleteOptions::default())
                    .await;
            }
        }
        let _ = conn.close(200, "test cleanup").await;
    }
    if let Some(mut con) = redis {
        let pattern = format!("{prefix}:*");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut con)
            .await
            .unwrap_or_default();
        for chunk in keys.chunks(500) {
            let _: Result<(), _> = redis::cmd("DEL").arg(chunk).query_async(&mut con).await;
        }
    }
}

fn unique(label: &str) -> String {
    format!(
        "{label}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

impl Stack {
    pub async fn start() -> anyhow::Result<Stack> {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_with(opts: StackOptions) -> anyhow::Result<Stack> {
        logscan::init();
        logscan::remember_secret(TEST_MASTER_KEY);
        logscan::remember_secret(OKTA_TEST_PASSWORD);
        let sim = fssim::Sim::start().await?;
        let domain = unique("acme");
        let api_key = unique("key");
        let prefix = unique("t");
        let tls = opts.tls.then(|| tls::TestTls::new(&prefix)).transpose()?;
        let http = match &tls {
            Some(tls) => tls.client()?,
            None => reqwest::Client::new(),
        };
        let resp = http
            .post(format!("{}/_sim/accounts", sim.base_url))
            .json(&json!({
                "domain": domain,
                "api_keys": [api_key],
                "rate_limit_per_min": opts.sim_rate_limit,
                "rate_window_ms": opts.sim_window_ms,
                "custom_fields": opts.custom_fields,
            }))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("simulator refused the account: {}", resp.text().await?);
        }
        let redis_url = opts.redis_url.clone().unwrap_or_else(redis_url);
        let mut env: HashMap<String, String> = [
            ("REDIS_URL", redis_url.clone()),
            ("AMQP_URL", amqp_url()),
            ("BRIDGE_KEY_PREFIX", prefix.clone()),
            ("BRIDGE_QUEUE_PREFIX", prefix.clone()),
            ("BRIDGE_MASTER_KEY", TEST_MASTER_KEY.to_string()),
            ("FRESHSERVICE_URL_TEMPLATE", sim.url_template()),
            ("INGRESS_ADDR", "127.0.0.1:0".to_string()),
            ("METRICS_ADDR", "127.0.0.1:0".to_string()),
            ("SWEEP_INTERVAL_MS", "500".to_string()),
            ("SWEEP_GRACE_MS", "2000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        // The stack's own settings over the common ones; never the process
        // environment, so parallel tests cannot see each other's.
        let mut ingress_env = env.clone();
        if let Some(tls) = &tls {
            for (name, path) in [
                ("TLS_CERT_FILE", &tls.cert_file),
                ("TLS_KEY_FILE", &tls.key_file),
            ] {
                ingress_env.insert(name.to_string(), path.display().to_string());
            }
        }
        ingress_env.extend(opts.ingress_env.clone());
        let icfg = ingress::config::IngressConfig::from_source(&ingress_env)?;
        let ingress = ingress::server::start(icfg).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let ingress_url = format!("{scheme}://{}", ingress.addr);
        let scim_base = format!("{ingress_url}/scim/v2");

        // Install the tenant the way an operator would (the registry API).
        let redis = shared::redis_conn::connect(&redis_url).await?;
        let store = shared::tenant::TenantStore::new(
            redis,
            shared::keys::Keys::new(prefix.clone()),
            shared::crypto::MasterKey::parse(TEST_MASTER_KEY)?,
        );
        let installed = store.install(&domain, &api_key).await?;
        logscan::remember_secret(&api_key);
        logscan::remember_secret(&installed.bearer_token);
        if let Some(n) = opts.tenant_rate_limit {
            store.set_rate_limit(&installed.tenant.id, n).await?;
        }
        env.extend(opts.worker_env.clone());
        let prefix_for_cleanup = prefix.clone();
        let mut stack = Stack {
            sim,
            ingress,
            workers: vec![],
            ingress_url,
            scim_base,
            token: installed.bearer_token,
            tenant_id: installed.tenant.id,
            domain,
            api_key,
            prefix,
            http,
            tls,
            env,
            ingress_env,
            processes: std::sync::atomic::AtomicUsize::new(0),
            _cleanup: Cleanup {
                prefix: prefix_for_cleanup,
                redis_url,
            },
        };
        for _ in 0..opts.workers {
            stack.add_worker().await?;
        }
        Ok(stack)
    }

    /// Starts one more worker in this process.
    pub async fn add_worker(&mut self) -> anyhow::Result<()> {
        let wcfg = worker::config::WorkerConfig::from_source(&self.env)?;
        self.workers.push(worker::server::start(wcfg).await?);
        Ok(())
    }

    /// The environment the stack's services run with (to start binaries).
    pub fn env(&self) -> &HashMap<String, String> {
        &self.env
    }

    /// Starts a worker as a separate OS process (the `e2e-worker` binary,
    /// the same code as the shipped `worker`) with the stack's environment.
    pub async fn spawn_worker_process(&self) -> anyhow::Result<WorkerProcess> {
        self.spawn_worker_process_with(&worker_binary()?, &HashMap::new())
            .await
    }

    /// Like [`Stack::spawn_worker_process`] with an explicit binary (e.g.
    /// `env!("CARGO_BIN_EXE_e2e-worker")`) and extra environment on top of
    /// the stack's. Its stderr goes to `target/e2e-logs/<prefix>-worker-<n>.log`.
    pub async fn spawn_worker_process_with(
        &self,
        bin: &Path,
        extra_env: &HashMap<String, String>,
    ) -> anyhow::Result<WorkerProcess> {
        self.spawn_process(bin, &["run"], &self.env, extra_env, "worker")
    }

    /// Starts an ingress as a separate OS process (`bin`: the `e2e-ingress`
    /// binary, `env!("CARGO_BIN_EXE_e2e-ingress")`) with the stack's
    /// ingress settings and `extra_env` on top, on a free port, and waits
    /// until it listens. It serves the stack's tenant (same Redis prefix
    /// and queues as the in-process ingress). Its stderr goes to
    /// `target/e2e-logs/<prefix>-ingress-<n>.log`.
    pub async fn spawn_ingress_process(
        &self,
        bin: &Path,
        extra_env: &HashMap<String, String>,
    ) -> anyhow::Result<IngressProcess> {
        let mut process =
            self.spawn_process(bin, &["serve"], &self.ingress_env, extra_env, "ingress")?;
        let addr = wait_for(
            "the ingress process to listen",
            Duration::from_secs(30),
            || {
                let text = std::fs::read_to_string(&process.log).unwrap_or_default();
                let status = process.try_wait();
                async move {
                    if let Some(addr) = listening_addr(&text) {
                        return Ok(Some(addr));
                    }
                    if let Some(status) = status? {
                        bail!("the ingress exited ({status}): {text}");
                    }
                    Ok(None)
                }
            },
        )
        .await?;
        Ok(IngressProcess { process, addr })
    }

    fn spawn_process(
        &self,
        bin: &Path,
        args: &[&str],
        env: &HashMap<String, String>,
        extra_env: &HashMap<String, String>,
        label: &str,
    ) -> anyhow::Result<ServiceProcess> {
        let n = self
            .processes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = log_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = dir.join(format!("{}-{label}-{n}.log", self.prefix));
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = tokio::process::Command::new(bin)
            .args(args)
            .envs(env)
            .env("LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| logscan::LOG_FILTER.into()),
            )
            .envs(extra_env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the process has no pid")?;
        Ok(ServiceProcess { child, pid, log })
    }

    /// Runs a command-line binary (e.g. `env!("CARGO_BIN_EXE_e2e-ingress")`
    /// with `tenant list --json`) with the stack's environment and waits
    /// for it, at most a minute; returns its exit status and output.
    pub async fn run_command(&self, bin: &str, args: &[&str]) -> anyhow::Result<CommandOutput> {
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(bin)
                .args(args)
                .envs(&self.env)
                .env("LOG_FORMAT", "text")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .with_context(|| format!("{bin} {args:?} did not finish within a minute"))?
        .with_context(|| format!("starting {bin}"))?;
        Ok(CommandOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Every dead letter of this stack (all tenants).
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<worker::deadletter::Entry>> {
        let topology = shared::queue::Topology::new(self.prefix.clone());
        Ok(
            worker::deadletter::list(&amqp_url(), &topology, &worker::deadletter::Selector::All)
                .await?,
        )
    }

    /// A SCIM call with the stack's token. Returns status and JSON body
    /// (Null when the body is empty).
    pub async fn scim(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        self.scim_as(&self.token, method, path, body).await
    }

    pub async fn scim_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{}", self.scim_base, path);
        let mut req = self
            .http
            .request(method.parse()?, url)
            .bearer_auth(token)
            .header("Accept", "application/scim+json");
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(b.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("non-JSON answer: {text}"))?
        };
        Ok((status, v))
    }

    /// The simulator account's full state.
    pub async fn sim_state(&self) -> anyhow::Result<Value> {
        let url = format!("{}/_sim/accounts/{}/state", self.sim.base_url, self.domain);
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Requesters in the simulator with this primary email (any state).
    pub async fn sim_requesters_with_email(&self, email: &str) -> anyhow::Result<Vec<Value>> {
        let state = self.sim_state().await?;
        Ok(state["requesters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r["primary_email"]
                    .as_str()
                    .map(|e| e.eq_ignore_ascii_case(email))
                    == Some(true)
            })
            .collect())
    }

    /// The simulator account's requester groups, each with its `members`
    /// (requester ids) and `type`.
    pub async fn sim_requester_groups(&self) -> anyhow::Result<Vec<Value>> {
        let state = self.sim_state().await?;
        Ok(state["requester_groups"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// One requester group of the simulator account, by id.
    pub async fn sim_requester_group(&self, id: u64) -> anyhow::Result<Option<Value>> {
        Ok(self
            .sim_requester_groups()
            .await?
            .into_iter()
            .find(|g| g["id"].as_u64() == Some(id)))
    }

    /// The simulator's call log for this account.
    pub async fn sim_calls(&self) -> anyhow::Result<Vec<Value>> {
        let url = format!("{}/_sim/accounts/{}/calls", self.sim.base_url, self.domain);
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Stops the services this stack started.
    pub async fn stop(self) {
        for w in &self.workers {
            w.stop.cancel();
        }
        self.ingress.stop.cancel();
        for w in self.workers {
            let _ = tokio::time::timeout(Duration::from_secs(10), w.handle).await;
        }
    }
}

/// What a command-line run ([`Stack::run_command`]) printed and how it ended.
#[derive(Clone, Debug)]
pub struct CommandOutput {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    /// The one JSON document a `--json` command prints, after checking it
    /// exited 0.
    pub fn json(&self) -> anyhow::Result<Value> {
        anyhow::ensure!(
            self.code == Some(0),
            "exit {:?}; stderr: {}",
            self.code,
            self.stderr
        );
        serde_json::from_str(&self.stdout)
            .with_context(|| format!("stdout is not one JSON document: {}", self.stdout))
    }
}

/// The address in an ingress log's `ingress listening addr=…` line.
fn listening_addr(log: &str) -> Option<std::net::SocketAddr> {
    let line = log.lines().find(|l| l.contains("ingress listening"))?;
    let rest = &line[line.find("addr=")? + "addr=".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// A worker or an ingress running as its own OS process. Dropping it
/// kills the process.
pub struct ServiceProcess {
    child: tokio::process::Child,
    pub pid: u32,
    /// Where its stderr (the logs) goes.
    pub log: PathBuf,
}

/// A worker process ([`Stack::spawn_worker_process`]).
pub type WorkerProcess = ServiceProcess;

/// An ingress process ([`Stack::spawn_ingress_process`]) and where it
/// listens.
pub struct IngressProcess {
    pub process: ServiceProcess,
    pub addr: std::net::SocketAddr,
}

impl IngressProcess {
    /// Its SCIM base URL, `http://ADDR/scim/v2`.
    pub fn scim_base(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }
}

impl ServiceProcess {
    #[allow(unsafe_code)]
    fn signal(&self, sig: libc::c_int) -> anyhow::Result<()> {
        // SAFETY: kill(2) with a pid we started and still own (not yet
        // reaped, so the pid cannot have been reused).
        let rc = unsafe { libc::kill(self.pid as libc::pid_t, sig) };
        if rc != 0 {
            bail!(
                "kill({}, {sig}): {}",
                self.pid,
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// `kill -9`: the process dies at once, whatever it was doing; returns
    /// once it has been reaped.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.signal(libc::SIGKILL)?;
        Ok(self.child.wait().await?)
    }

    /// Sends SIGTERM (graceful shutdown); see [`ServiceProcess::wait`].
    pub fn term(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGTERM)
    }

    /// Waits up to `deadline` for the process to exit; `None` if it is
    /// still running then.
    pub async fn wait(&mut self, deadline: Duration) -> anyhow::Result<Option<ExitStatus>> {
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(status) => Ok(Some(status?)),
            Err(_) => Ok(None),
        }
    }

    /// The exit status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// The last `lines` lines of its log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// The `e2e-worker` binary next to the running test executable
/// (`target/<profile>/e2e-worker`; tests run from `target/<profile>/deps`),
/// or `E2E_WORKER_BIN`. Tests can pass `env!("CARGO_BIN_EXE_e2e-worker")`
/// to [`Stack::spawn_worker_process_with`] instead.
pub fn worker_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("E2E_WORKER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("test executable has no directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("deps has no parent")?;
    }
    let bin = dir.join("e2e-worker");
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it with `cargo build -p e2e --bins` or set E2E_WORKER_BIN",
        bin.display()
    );
    Ok(bin)
}

/// `target/e2e-logs`, where worker processes started by tests log.
pub fn log_dir() -> PathBuf {
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("e2e-logs");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target")
        .join("e2e-logs")
}

/// A `redis-server` of one test's own, on a free port, that the test may
/// stop (SIGSTOP: connections stay open, nothing answers), resume, kill
/// and restart without touching the shared Redis. It keeps an
/// append-only file (fsync on every write) so a restart after SIGKILL
/// finds the tenant again. Dropping it kills the server.
pub struct PrivateRedis {
    child: Option<tokio::process::Child>,
    port: u16,
    dir: PathBuf,
}

impl PrivateRedis {
    pub async fn start() -> anyhow::Result<PrivateRedis> {
        let dir = std::env::temp_dir().join(unique("e2e-redis-"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // A port the OS just handed out and freed; retried if taken meanwhile.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut redis = PrivateRedis {
                child: None,
                port,
                dir: dir.clone(),
            };
            if redis.launch().await.is_ok() {
                return Ok(redis);
            }
        }
        bail!("could not start a private redis-server")
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let child = tokio::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server (is it installed?)")?;
        self.child = Some(child);
        let url = self.url();
        let up = wait_for("the private redis-server", Duration::from_secs(10), || {
            let url = url.clone();
            async move {
                let mut con = redis::Client::open(url)?
                    .get_multiplexed_async_connection()
                    .await?;
                let pong: String = redis::cmd("PING").query_async(&mut con).await?;
                Ok((pong == "PONG").then_some(()))
            }
        })
        .await;
        if up.is_err() {
            self.kill().await?;
        }
        up
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    #[allow(unsafe_code)]
    fn signal(&self, sig: libc::c_int) -> anyhow::Result<()> {
        let pid = self
            .child
            .as_ref()
            .and_then(|c| c.id())
            .context("the private redis-server is not running")?;
        // SAFETY: kill(2) on a child we started and have not reaped.
        if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
            bail!("kill({pid}, {sig}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGSTOP)
    }

    /// SIGCONT after [`PrivateRedis::pause`].
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGCONT)
    }

    /// SIGKILL, and waits until the process is reaped.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Starts it again on the same port, on its append-only file.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill().await?;
        self.launch().await
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `check` yields `Some`, polling, failing after `deadline`
/// with `what` in the message. This is how tests synchronise: on a
/// condition with a deadline, never on a bare sleep.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if tokio::time::Instant::now() >= until {
            match last_err {
                Some(e) => {
                    bail!("timed out after {deadline:?} waiting for {what}; last error: {e:#}")
                }
                None => bail!("timed out after {deadline:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A user body the way Okta's create sends it (`docs/identity-providers.md` §1b).
pub fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", &uuid::Uuid::new_v4().simple().to_string()[..17]),
        "groups": [],
        "password": OKTA_TEST_PASSWORD,
        "active": true
    })
}

/// A query value URL-encoded as Okta sends it (`%20`, `%22`, `%40`;
/// `docs/identity-providers.md` §1b).
pub fn okta_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
