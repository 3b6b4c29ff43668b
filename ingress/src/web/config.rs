//! Settings of the admin pages, read from the process environment (each
//! has a default; the README's configuration table lists them).

use std::time::Duration;

/// What the admin pages need beyond `IngressConfig`.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// `INSTALL_CHECK_TIMEOUT_MS`: how long the install check and the
    /// settings page wait for Freshservice.
    pub freshservice_timeout: Duration,
    /// `WEB_SESSION_TTL_MS`: how long a sign-in lasts.
    pub session_ttl: Duration,
    /// `WEB_AUTH_FAILURES_PER_MIN`: failed sign-ins, installs and
    /// uninstalls allowed per client address per minute before 429.
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
    /// for tenants without their own.
    pub default_rate_limit: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            freshservice_timeout: Duration::from_secs(10),
            session_ttl: Duration::from_secs(8 * 3600),
            failures_per_min: 10,
            status_refresh: Duration::from_secs(5),
            dead_letter_cache: Duration::from_secs(3),
            trust_forwarded_for: false,
            default_rate_limit: 100,
        }
    }
}

impl WebConfig {
    /// Defaults overridden by the environment; unparsable values keep the
    /// default and are reported once in the log.
    pub fn from_env() -> Self {
        let d = Self::default();
        let ms = |name: &str, default: Duration| -> Duration {
            num::<u64>(name)
                .map(Duration::from_millis)
                .unwrap_or(default)
        };
        Self {
            freshservice_timeout: ms("INSTALL_CHECK_TIMEOUT_MS", d.freshservice_timeout),
            session_ttl: ms("WEB_SESSION_TTL_MS", d.session_ttl),
            failures_per_min: num("WEB_AUTH_FAILURES_PER_MIN")
                .unwrap_or(d.failures_per_min)
                .max(1),
            status_refresh: ms("WEB_STATUS_REFRESH_MS", d.status_refresh),
            dead_letter_cache: ms("WEB_DEAD_LETTER_CACHE_MS", d.dead_letter_cache),
            trust_forwarded_for: std::env::var("WEB_TRUST_FORWARDED_FOR")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
            default_rate_limit: num("DEFAULT_RATE_LIMIT_PER_MIN").unwrap_or(d.default_rate_limit),
        }
    }
}

fn num<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty())?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            tracing::warn!(variable = name, value = %v, "not a number; using the default");
            None
        }
    }
}
