//! The worker's configuration: one typed struct, [`WorkerConfig`], read
//! from the environment. The settings both services share
//! ([`CommonConfig`]) and the readers that name the variable in every error
//! are `shared::config`'s; what only the worker reads is here. Every
//! variable is in the README's configuration table; keep the two in step.

use std::{net::SocketAddr, time::Duration};

use shared::config::{
    default_rate_limit, millis, parsed, rate_window, CommonConfig, ConfigError, Env, Source,
};

/// What a SCIM DELETE does, unless the tenant chose otherwise on its
/// settings page (one type for both: `shared/src/records/settings.rs`).
pub use shared::records::settings::DeleteMode;

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
    /// `DEPARTMENTS_REFRESH_MS`: least time between two listings of a
    /// tenant's departments caused by a department name not found (the
    /// cache itself lives `REQUESTER_FIELDS_TTL_MS`).
    pub departments_refresh: Duration,
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
            default_rate_limit: default_rate_limit(src)?,
            delete_mode: parsed(src, "SCIM_DELETE_MODE", DeleteMode::Deactivate)?,
            shutdown_grace: millis(src, "SHUTDOWN_GRACE_MS", 20_000)?,
            rate_window: rate_window(src)?,
            budget_inline_wait: millis(src, "BUDGET_INLINE_WAIT_MS", 1_000)?,
            requester_fields_ttl: millis(src, "REQUESTER_FIELDS_TTL_MS", 600_000)?,
            departments_refresh: millis(src, "DEPARTMENTS_REFRESH_MS", 60_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_apply() {
        let c = WorkerConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY)])).unwrap();
        assert_eq!(c.common.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.metrics_addr.to_string(), "127.0.0.1:9091");
        assert_eq!((c.concurrency, c.tenant_concurrency), (16, 4));
        assert_eq!(c.delete_mode, DeleteMode::Deactivate);
        assert_eq!(c.default_rate_limit, 100);
        assert_eq!(c.rate_window, Duration::from_secs(60));
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
        let err = WorkerConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("SCIM_DELETE_MODE", "shred"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("SCIM_DELETE_MODE"), "{err}");
    }
}
