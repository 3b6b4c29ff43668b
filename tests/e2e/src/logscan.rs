//! Suite-wide secret scan, part 1: every test binary that starts a `Stack`
//! writes everything the bridge logs (debug level, every crate of ours) to
//! `target/e2e-logs/<binary>-<pid>.log`, and the secrets it used (bearer
//! tokens, API keys, the master key, Okta's password) to
//! `target/e2e-logs/secrets-<pid>.txt`. Part 2, `deploy/local/scan-secrets`,
//! runs after the suite and fails if any secret appears in any log. A test
//! can also check this binary's capture so far in-process
//! ([`assert_no_secret_logged`]), as the admin-page tests do.

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    path::PathBuf,
    sync::{Mutex, OnceLock},
};

/// Where the logs and secret lists go.
pub fn log_dir() -> PathBuf {
    std::env::var_os("E2E_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-logs"))
}

/// What the capture records: debug level for every crate of ours (and
/// everything not named here), the noisy libraries at warn. The worker and
/// ingress processes the harness starts log with the same filter unless
/// `RUST_LOG` says otherwise.
pub const LOG_FILTER: &str = "debug,lapin=warn,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,rustls=warn,tower=warn,fantoccini=warn,pinky_swear=warn,amq_protocol=warn,async_io=warn,polling=warn";

static INIT: OnceLock<()> = OnceLock::new();
static SECRETS: OnceLock<Mutex<File>> = OnceLock::new();
/// This binary's log file, once the logger is installed.
static LOG_PATH: OnceLock<PathBuf> = OnceLock::new();
/// The secrets remembered so far, for the in-process check.
static REMEMBERED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct SharedFile(&'static Mutex<File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// Installs the file logger for this test binary (once).
pub fn init() {
    INIT.get_or_init(|| {
        let dir = log_dir();
        if fs::create_dir_all(&dir).is_err() {
            return;
        }
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".into());
        let path = dir.join(format!("{exe}-{}.log", std::process::id()));
        let Ok(file) = File::create(&path) else {
            return;
        };
        let _ = LOG_PATH.set(path);
        let file: &'static Mutex<File> = Box::leak(Box::new(Mutex::new(file)));
        let filter = tracing_subscriber::EnvFilter::new(LOG_FILTER);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || SharedFile(file))
            .try_init();
    });
}

/// Records a secret the suite used, for the scan after the run.
pub fn remember_secret(secret: &str) {
    if secret.len() < 6 {
        return;
    }
    REMEMBERED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(secret.to_string());
    let file = SECRETS.get_or_init(|| {
        let dir = log_dir();
        let _ = fs::create_dir_all(&dir);
        let path = dir.join(format!("secrets-{}.txt", std::process::id()));
        Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("secret list file"),
        )
    });
    let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(f, "{secret}");
}

/// The forms a secret could take in a log line: itself, and base64 of it,
/// of `secret:X` and of `secret:` (Freshservice's HTTP Basic credentials
/// are `base64(api_key:X)`), standard and URL-safe, padded or not.
/// `deploy/local/scan-secrets` looks for the same forms.
pub fn forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = vec![secret.to_string()];
    for raw in [
        secret.to_string(),
        format!("{secret}:X"),
        format!("{secret}:"),
    ] {
        for e in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            let enc = e.encode(raw.as_bytes());
            let bare = enc.trim_end_matches('=').to_string();
            if !out.contains(&bare) {
                out.push(bare);
            }
        }
    }
    out
}

/// Asserts that nothing this binary logged so far contains a remembered
/// secret (in any of its [`forms`]), and that the capture saw something (an empty log would prove
/// nothing). Reads the same file the post-suite scan reads.
pub fn assert_no_secret_logged() {
    let path = LOG_PATH
        .get()
        .expect("no log capture: start a Stack first (it installs the logger)");
    let logs = fs::read_to_string(path).expect("the log capture is readable");
    assert!(
        !logs.is_empty(),
        "the log capture saw nothing; is the logger installed?"
    );
    for s in REMEMBERED.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for f in forms(s) {
            assert!(
                !logs.contains(f.as_str()),
                "a secret appeared in the logs: {}… (as {}…)",
                &s[..s.len().min(4)],
                &f[..f.len().min(4)]
            );
        }
    }
}
