//! Typed configuration for both services, read from environment variables.
//!
//! Every variable is documented in the README's configuration table; keep the
//! two in step. Each service has one struct (`IngressConfig`, `WorkerConfig`)
//! that embeds the settings every deployment shares (`CommonConfig`).

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use crate::{crypto::MasterKey, freshservice::UrlTemplate};

/// A configuration value that could not be used, with the variable's name.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {problem} (got {value:?})")]
    Invalid {
        name: &'static str,
        value: String,
        problem: String,
    },
    #[error("{name} is required: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
}

/// Where environment values come from; a map in tests, the process
/// environment otherwise.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

fn string(src: &dyn Source, name: &'static str, default: &str) -> String {
    src.get(name).unwrap_or_else(|| default.to_string())
}

fn parsed<T: std::str::FromStr>(
    src: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            value: v.clone(),
            problem: e.to_string(),
        }),
    }
}

/// A yes/no setting: `1`/`true`/`yes` or `0`/`false`/`no`.
fn flag(src: &dyn Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => Ok(false),
        Some(v) => Err(ConfigError::Invalid {
            name,
            value: v,
            problem: "expected true or false".into(),
        }),
    }
}

fn millis(src: &dyn Source, name: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
    parsed(src, name, default_ms).map(Duration::from_millis)
}

/// Like [`millis`], for a limit where 0 would mean "refuse everything".
fn positive_millis(
    src: &dyn Source,
    name: &'static str,
    default_ms: u64,
) -> Result<Duration, ConfigError> {
    let d = millis(src, name, default_ms)?;
    if d.is_zero() {
        return Err(ConfigError::Invalid {
            name,
            value: "0".into(),
            problem: "must be above 0".into(),
        });
    }
    Ok(d)
}

/// Settings every deployment of either service sets.
#[derive(Clone, Debug)]
pub struct CommonConfig {
    /// `REDIS_URL`: Redis holding SCIM state, tenants and id mappings.
    pub redis_url: String,
    /// `AMQP_URL`: RabbitMQ carrying change events.
    pub amqp_url: String,
    /// `BRIDGE_KEY_PREFIX`: first segment of every Redis key, so several
    /// stacks (or tests) can share one Redis.
    pub key_prefix: String,
    /// `BRIDGE_QUEUE_PREFIX`: first segment of every queue and exchange name.
    pub queue_prefix: String,
    /// `FRESHSERVICE_URL_TEMPLATE`: base URL of a tenant's Freshservice, with
    /// `{domain}` standing for its subdomain.
    pub freshservice_url_template: UrlTemplate,
    /// `BRIDGE_MASTER_KEY` or `BRIDGE_MASTER_KEY_FILE`: encrypts API keys at rest.
    pub master_key: MasterKey,
}

impl CommonConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let master_key = match (src.get("BRIDGE_MASTER_KEY"), src.get("BRIDGE_MASTER_KEY_FILE")) {
            (Some(k), _) => MasterKey::parse(&k).map_err(|e| ConfigError::Invalid {
                name: "BRIDGE_MASTER_KEY",
                value: "<redacted>".into(),
                problem: e.to_string(),
            })?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                    name: "BRIDGE_MASTER_KEY_FILE",
                    value: path.clone(),
                    problem: e.to_string(),
                })?;
                MasterKey::parse(text.trim()).map_err(|e| ConfigError::Invalid {
                    name: "BRIDGE_MASTER_KEY_FILE",
                    value: path,
                    problem: e.to_string(),
                })?
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "BRIDGE_MASTER_KEY",
                    hint: "set it to 32 random bytes, base64 (e.g. `openssl rand -base64 32`), or set BRIDGE_MASTER_KEY_FILE",
                })
            }
        };
        let raw = string(src, "FRESHSERVICE_URL_TEMPLATE", UrlTemplate::DEFAULT);
        let template = UrlTemplate::parse(&raw).map_err(|e| ConfigError::Invalid {
            name: "FRESHSERVICE_URL_TEMPLATE",
            value: raw.clone(),
            problem: e.to_string(),
        })?;
        let key_prefix = string(src, "BRIDGE_KEY_PREFIX", "fsb");
        if key_prefix.contains(['{', '}', ' ']) {
            return Err(ConfigError::Invalid {
                name: "BRIDGE_KEY_PREFIX",
                value: key_prefix,
                problem:
                    "must not contain braces or spaces (they would break the {tenant} hash tag)"
                        .into(),
            });
        }
        Ok(Self {
            redis_url: string(src, "REDIS_URL", "redis://127.0.0.1:6379"),
            amqp_url: string(src, "AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            key_prefix,
            queue_prefix: string(src, "BRIDGE_QUEUE_PREFIX", "fsb"),
            freshservice_url_template: template,
            master_key,
        })
    }
}

/// The ingress: SCIM edge, install API, sweeper.
#[derive(Clone, Debug)]
pub struct IngressConfig {
    pub common: CommonConfig,
    /// `INGRESS_ADDR`: where the HTTP server listens.
    pub addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: how Okta reaches the ingress; used in `meta.location`
    /// and the SCIM base URL shown at install. Defaults to `http://INGRESS_ADDR`.
    pub public_base_url: String,
    /// `PUBLISH_CONFIRM_TIMEOUT_MS`: how long to wait for the broker's confirm
    /// before answering 503.
    pub publish_timeout: Duration,
    /// `UNINSTALL_BROKER_TIMEOUT_MS`: how long an uninstall waits for the
    /// broker to delete the tenant's queue and dead letters. The tenant is
    /// uninstalled either way; past this the admin is told what is left and
    /// the workers delete the queue once the broker answers.
    pub uninstall_broker_timeout: Duration,
    /// `SCIM_BACKEND_TIMEOUT_MS`: the longest a SCIM request waits on Redis
    /// and the broker together before answering 503 with `Retry-After`
    /// (the publish gets what is left of it, at most `publish_timeout`).
    pub backend_timeout: Duration,
    /// `SWEEP_INTERVAL_MS`: how often unpublished changes are re-enqueued.
    pub sweep_interval: Duration,
    /// `SWEEP_GRACE_MS`: a change must be this old before the sweeper
    /// considers its publish lost.
    pub sweep_grace: Duration,
    /// The admin pages' settings.
    pub web: WebConfig,
    /// Limits of the HTTP server itself (connections, slow clients).
    pub http: HttpConfig,
}

/// Limits of the ingress's HTTP server, so idle or slow connections
/// (slowloris) cannot use up the process's file descriptors.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `HTTP_HEADER_READ_TIMEOUT_MS`: a request's header must have arrived
    /// whole this long after the connection opened or its previous answer
    /// was sent, else the connection is closed. This also ends keep-alive
    /// connections that wait this long for their next request.
    pub header_read_timeout: Duration,
    /// `HTTP_IDLE_TIMEOUT_MS`: a connection on which no byte moves either
    /// way for this long is closed (a stalled request body, a client that
    /// stops reading its answer). Keep it above the slowest answer
    /// (`INSTALL_CHECK_TIMEOUT_MS`).
    pub idle_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: connections served at once. At the cap the
    /// server stops accepting; new connections wait in the kernel's
    /// backlog until one closes. Keep it well below the process's
    /// descriptor limit (`ulimit -n`).
    pub max_connections: usize,
}

impl HttpConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            header_read_timeout: positive_millis(src, "HTTP_HEADER_READ_TIMEOUT_MS", 10_000)?,
            idle_timeout: positive_millis(src, "HTTP_IDLE_TIMEOUT_MS", 30_000)?,
            max_connections: parsed(src, "HTTP_MAX_CONNECTIONS", 512usize)?.max(1),
        })
    }
}

/// Settings of the ingress's admin pages (install, settings, status).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// `INSTALL_CHECK_TIMEOUT_MS`: how long the install check and the
    /// settings page wait for Freshservice.
    pub freshservice_timeout: Duration,
    /// `WEB_SESSION_TTL_MS`: how long a sign-in lasts.
    pub session_ttl: Duration,
    /// `WEB_AUTH_FAILURES_PER_MIN`: failed sign-ins, installs, uninstalls
    /// and SCIM bearer tokens allowed per client address per minute.
    pub failures_per_min: u32,
    /// `WEB_STATUS_REFRESH_MS`: how often the status page refreshes itself.
    pub status_refresh: Duration,
    /// `WEB_DEAD_LETTER_CACHE_MS`: how long a read of the dead-letter
    /// queue is reused (reading it walks every message).
    pub dead_letter_cache: Duration,
    /// `WEB_TRUST_FORWARDED_FOR`: take the client address from the last
    /// `X-Forwarded-For` entry (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// `DEFAULT_RATE_LIMIT_PER_MIN` (the workers' default budget), shown
    /// for tenants without their own, and the budget the settings page and
    /// `/Schemas` draw from for them.
    pub default_rate_limit: u32,
    /// `RATE_LIMIT_WINDOW_MS` (the workers' budget window): the ingress's
    /// per-tenant calls draw from the same Redis budget, so they must size
    /// it the same way (`shared/src/freshservice/budget.rs`).
    pub rate_window: Duration,
}

impl WebConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            freshservice_timeout: millis(src, "INSTALL_CHECK_TIMEOUT_MS", 10_000)?,
            session_ttl: millis(src, "WEB_SESSION_TTL_MS", 8 * 3600 * 1000)?,
            failures_per_min: parsed(src, "WEB_AUTH_FAILURES_PER_MIN", 10u32)?.max(1),
            status_refresh: millis(src, "WEB_STATUS_REFRESH_MS", 5_000)?,
            dead_letter_cache: millis(src, "WEB_DEAD_LETTER_CACHE_MS", 3_000)?,
            trust_forwarded_for: flag(src, "WEB_TRUST_FORWARDED_FOR", false)?,
            default_rate_limit: parsed(src, "DEFAULT_RATE_LIMIT_PER_MIN", 100u32)?.max(1),
            rate_window: millis(src, "RATE_LIMIT_WINDOW_MS", 60_000)?
                .max(Duration::from_millis(1_000)),
        })
    }
}

impl Default for WebConfig {
    // The defaults are constants that `config` tests parse; failing here is a bug.
    #[allow(clippy::expect_used)]
    fn default() -> Self {
        Self::from_source(&HashMap::<String, String>::new()).expect("defaults parse")
    }
}

impl IngressConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_source(src)?;
        let addr: SocketAddr = parsed(
            src,
            "INGRESS_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let public_base_url = string(src, "PUBLIC_BASE_URL", &format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            common,
            addr,
            public_base_url,
            publish_timeout: millis(src, "PUBLISH_CONFIRM_TIMEOUT_MS", 5_000)?,
            uninstall_broker_timeout: millis(src, "UNINSTALL_BROKER_TIMEOUT_MS", 15_000)?
                .max(Duration::from_millis(100)),
            backend_timeout: positive_millis(src, "SCIM_BACKEND_TIMEOUT_MS", 2_000)?,
            sweep_interval: millis(src, "SWEEP_INTERVAL_MS", 5_000)?,
            sweep_grace: millis(src, "SWEEP_GRACE_MS", 10_000)?,
            web: WebConfig::from_source(src)?,
            http: HttpConfig::from_source(src)?,
        })
    }
}

/// What a SCIM DELETE does in Freshservice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// Deactivate the requester (DELETE /requesters/{id}); it can come back.
    Deactivate,
    /// Permanently delete (DELETE /requesters/{id}/forget), tickets included.
    Forget,
}

impl std::str::FromStr for DeleteMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "deactivate" => Ok(Self::Deactivate),
            "forget" => Ok(Self::Forget),
            _ => Err("expected `deactivate` or `forget`".into()),
        }
    }
}

/// The worker: consumes change events and converges Freshservice.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub common: CommonConfig,
    /// `METRICS_ADDR`: health, readiness and Prometheus metrics.
    pub metrics_addr: SocketAddr,
    /// `WORKER_CONCURRENCY`: users converged at once by this process.
    pub concurrency: usize,
    /// `WORKER_PREFETCH`: unacknowledged events held from the broker.
    pub prefetch: u16,
    /// `WORKER_TENANT_CONCURRENCY`: most of this process's `concurrency`
    /// slots one tenant may hold, so a tenant waiting on its API budget
    /// never takes every slot from the others (default: a quarter).
    pub tenant_concurrency: usize,
    /// `WORKER_MAX_ATTEMPTS`: tries for a retryable failure before dead-lettering.
    pub max_attempts: u32,
    /// `FRESHSERVICE_TIMEOUT_MS`: per-call timeout to Freshservice.
    pub request_timeout: Duration,
    /// `USER_LEASE_MS`: how long one worker holds a user.
    pub lease_ttl: Duration,
    /// `DEFAULT_RATE_LIMIT_PER_MIN`: API budget of a tenant without its own.
    pub default_rate_limit: u32,
    /// `SCIM_DELETE_MODE`: `deactivate` (default) or `forget`.
    pub delete_mode: DeleteMode,
    /// `SHUTDOWN_GRACE_MS`: how long SIGTERM waits for in-flight work.
    pub shutdown_grace: Duration,
    /// `RATE_LIMIT_WINDOW_MS`: the window a tenant's `rate_limit_per_min`
    /// applies to (60 000, Freshservice's minute). Tests shorten it together
    /// with the simulator's window.
    pub rate_window: Duration,
    /// `BUDGET_INLINE_WAIT_MS`: a budget wait up to this long is slept inside
    /// the task; a longer one parks the event on a wait queue so the consumer
    /// keeps serving other tenants.
    pub budget_inline_wait: Duration,
    /// `REQUESTER_FIELDS_TTL_MS`: how long a tenant's requester fields
    /// (`GET /requester_fields`) stay cached in Redis.
    pub requester_fields_ttl: Duration,
}

impl WorkerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_source(src)?,
            metrics_addr: parsed(
                src,
                "METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9091)),
            )?,
            concurrency: parsed(src, "WORKER_CONCURRENCY", 16usize)?.max(1),
            tenant_concurrency: match src.get("WORKER_TENANT_CONCURRENCY") {
                Some(_) => parsed(src, "WORKER_TENANT_CONCURRENCY", 4usize)?.max(1),
                None => (parsed(src, "WORKER_CONCURRENCY", 16usize)?.max(1) / 4).max(1),
            },
            prefetch: parsed(src, "WORKER_PREFETCH", 32u16)?.max(1),
            max_attempts: parsed(src, "WORKER_MAX_ATTEMPTS", 8u32)?.max(1),
            request_timeout: millis(src, "FRESHSERVICE_TIMEOUT_MS", 30_000)?,
            lease_ttl: millis(src, "USER_LEASE_MS", 60_000)?,
            default_rate_limit: parsed(src, "DEFAULT_RATE_LIMIT_PER_MIN", 100u32)?.max(1),
            delete_mode: parsed(src, "SCIM_DELETE_MODE", DeleteMode::Deactivate)?,
            shutdown_grace: millis(src, "SHUTDOWN_GRACE_MS", 20_000)?,
            rate_window: millis(src, "RATE_LIMIT_WINDOW_MS", 60_000)?
                .max(Duration::from_millis(1_000)),
            budget_inline_wait: millis(src, "BUDGET_INLINE_WAIT_MS", 1_000)?,
            requester_fields_ttl: millis(src, "REQUESTER_FIELDS_TTL_MS", 600_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_apply() {
        let c = IngressConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY)])).unwrap();
        assert_eq!(c.common.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_base_url, "http://127.0.0.1:8080");
        assert_eq!(c.uninstall_broker_timeout, Duration::from_secs(15));
        assert_eq!(
            c.common.freshservice_url_template.base("acme"),
            "https://acme.freshservice.com"
        );
    }

    #[test]
    fn missing_master_key_says_how_to_make_one() {
        let err = IngressConfig::from_source(&src(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BRIDGE_MASTER_KEY"), "{err}");
        assert!(err.contains("openssl rand"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = WorkerConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("WORKER_CONCURRENCY", "many"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("WORKER_CONCURRENCY"), "{err}");
        let err = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("FRESHSERVICE_URL_TEMPLATE", "http://x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("{domain}"), "{err}");
    }

    #[test]
    fn web_settings_are_part_of_the_ingress_config() {
        let c = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("WEB_TRUST_FORWARDED_FOR", "yes"),
            ("WEB_AUTH_FAILURES_PER_MIN", "3"),
        ]))
        .unwrap();
        assert!(c.web.trust_forwarded_for);
        assert_eq!(c.web.failures_per_min, 3);
        assert_eq!(c.web.session_ttl, Duration::from_secs(8 * 3600));
        let err = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("WEB_TRUST_FORWARDED_FOR", "maybe"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("WEB_TRUST_FORWARDED_FOR"), "{err}");
    }

    #[test]
    fn server_limits_are_configurable_and_never_zero() {
        let c = IngressConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY)])).unwrap();
        assert_eq!(c.backend_timeout, Duration::from_secs(2));
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(30));
        assert_eq!(c.http.max_connections, 512);
        let c = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("SCIM_BACKEND_TIMEOUT_MS", "750"),
            ("HTTP_HEADER_READ_TIMEOUT_MS", "1000"),
            ("HTTP_IDLE_TIMEOUT_MS", "5000"),
            ("HTTP_MAX_CONNECTIONS", "50"),
        ]))
        .unwrap();
        assert_eq!(c.backend_timeout, Duration::from_millis(750));
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(1));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.http.max_connections, 50);
        for name in [
            "SCIM_BACKEND_TIMEOUT_MS",
            "HTTP_HEADER_READ_TIMEOUT_MS",
            "HTTP_IDLE_TIMEOUT_MS",
        ] {
            let err = IngressConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY), (name, "0")]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }

    #[test]
    fn master_key_value_never_in_errors() {
        let err = IngressConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", "sekrit-not-base64")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("sekrit"), "{err}");
    }
}
