//! The ingress's configuration: one typed struct, [`IngressConfig`], read
//! from the environment. The settings both services share
//! ([`CommonConfig`]) and the readers that name the variable in every error
//! are `shared::config`'s; what only the ingress reads is here. Every
//! variable is in the README's configuration table; keep the two in step.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use shared::config::{
    default_rate_limit, flag, millis, parsed, positive_millis, rate_window, string, CommonConfig,
    ConfigError, Env, Source,
};

/// The ingress: SCIM edge, install API, sweeper.
#[derive(Clone, Debug)]
pub struct IngressConfig {
    pub common: CommonConfig,
    /// `INGRESS_ADDR`: where the HTTP server listens.
    pub addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: how Okta reaches the ingress; used in `meta.location`
    /// and the SCIM base URL shown at install. Defaults to `http://INGRESS_ADDR`,
    /// or `https://INGRESS_ADDR` when the ingress serves TLS itself.
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
    /// `METRICS_COLLECT_INTERVAL_MS`: how often the queue depths, pending
    /// changes and tenant states behind `/metrics` are read
    /// (`ingress/src/metrics/collect.rs`).
    pub metrics_collect_interval: Duration,
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
    /// HTTPS served by the ingress itself, when both files are set; plain
    /// HTTP otherwise (e.g. behind a proxy that terminates TLS).
    pub tls: Option<TlsConfig>,
    /// `SHUTDOWN_GRACE_MS`: after SIGTERM the server stops accepting at
    /// once and lets requests in flight finish for at most this long; then
    /// it closes the connections still open (a client dribbling its body)
    /// and the process exits. Write events being confirmed and the
    /// sweeper's current pass get the same deadline. Keep it above the
    /// slowest answer (`INSTALL_CHECK_TIMEOUT_MS`) and below the platform's
    /// kill timeout (Kubernetes' `terminationGracePeriodSeconds`).
    pub shutdown_grace: Duration,
}

/// `TLS_CERT_FILE` and `TLS_KEY_FILE`: the ingress serves HTTPS with this
/// certificate and key (`ingress/src/tls.rs` loads and checks them at start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// `TLS_CERT_FILE`: PEM, the server's certificate first, then the
    /// intermediates of its chain.
    pub cert_file: PathBuf,
    /// `TLS_KEY_FILE`: PEM, the certificate's private key (PKCS#8
    /// `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
    pub key_file: PathBuf,
}

impl TlsConfig {
    /// Both variables or neither: one alone is a mistake, never a silent
    /// fall back to plain HTTP.
    pub fn from_source(src: &dyn Source) -> Result<Option<Self>, ConfigError> {
        match (src.get("TLS_CERT_FILE"), src.get("TLS_KEY_FILE")) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(Self {
                cert_file: cert.into(),
                key_file: key.into(),
            })),
            (Some(_), None) => Err(ConfigError::Missing {
                name: "TLS_KEY_FILE",
                hint: "TLS_CERT_FILE is set; HTTPS needs both the certificate and its private key \
                       (or set neither to serve plain HTTP)",
            }),
            (None, Some(_)) => Err(ConfigError::Missing {
                name: "TLS_CERT_FILE",
                hint: "TLS_KEY_FILE is set; HTTPS needs both the certificate and its private key \
                       (or set neither to serve plain HTTP)",
            }),
        }
    }
}

impl HttpConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            header_read_timeout: positive_millis(src, "HTTP_HEADER_READ_TIMEOUT_MS", 10_000)?,
            idle_timeout: positive_millis(src, "HTTP_IDLE_TIMEOUT_MS", 30_000)?,
            max_connections: parsed(src, "HTTP_MAX_CONNECTIONS", 512usize)?.max(1),
            tls: TlsConfig::from_source(src)?,
            shutdown_grace: millis(src, "SHUTDOWN_GRACE_MS", 15_000)?,
        })
    }

    /// `https` when the ingress serves TLS itself, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
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
            default_rate_limit: default_rate_limit(src)?,
            rate_window: rate_window(src)?,
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
        let http = HttpConfig::from_source(src)?;
        let public_base_url = string(
            src,
            "PUBLIC_BASE_URL",
            &format!("{}://{addr}", http.scheme()),
        )
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
            metrics_collect_interval: positive_millis(src, "METRICS_COLLECT_INTERVAL_MS", 5_000)?,
            web: WebConfig::from_source(src)?,
            http,
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
        let c = IngressConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY)])).unwrap();
        assert_eq!(c.common.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_base_url, "http://127.0.0.1:8080");
        assert_eq!(c.uninstall_broker_timeout, Duration::from_secs(15));
        assert_eq!(c.metrics_collect_interval, Duration::from_secs(5));
        assert_eq!(
            c.common.freshservice_url_template.base("acme"),
            "https://acme.freshservice.com"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("INGRESS_ADDR", "anywhere"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("INGRESS_ADDR"), "{err}");
        let err = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("FRESHSERVICE_URL_TEMPLATE", "http://x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("{domain}"), "{err}");
        let err = IngressConfig::from_source(&src(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("openssl rand"), "{err}");
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
        assert_eq!(c.http.shutdown_grace, Duration::from_secs(15));
        let c = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("SCIM_BACKEND_TIMEOUT_MS", "750"),
            ("HTTP_HEADER_READ_TIMEOUT_MS", "1000"),
            ("HTTP_IDLE_TIMEOUT_MS", "5000"),
            ("HTTP_MAX_CONNECTIONS", "50"),
            ("SHUTDOWN_GRACE_MS", "3000"),
        ]))
        .unwrap();
        assert_eq!(c.http.shutdown_grace, Duration::from_secs(3));
        assert_eq!(c.backend_timeout, Duration::from_millis(750));
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(1));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.http.max_connections, 50);
        assert_eq!(c.http.tls, None);
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
    fn tls_needs_both_files_and_makes_the_default_base_url_https() {
        let c = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("INGRESS_ADDR", "0.0.0.0:8443"),
            ("TLS_CERT_FILE", "/etc/bridge/tls.crt"),
            ("TLS_KEY_FILE", "/etc/bridge/tls.key"),
        ]))
        .unwrap();
        assert_eq!(
            c.http.tls,
            Some(TlsConfig {
                cert_file: "/etc/bridge/tls.crt".into(),
                key_file: "/etc/bridge/tls.key".into(),
            })
        );
        assert_eq!(c.public_base_url, "https://0.0.0.0:8443");
        // An explicit base URL wins (e.g. the name in the certificate).
        let c = IngressConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("TLS_CERT_FILE", "/etc/bridge/tls.crt"),
            ("TLS_KEY_FILE", "/etc/bridge/tls.key"),
            ("PUBLIC_BASE_URL", "https://scim.example.com/"),
        ]))
        .unwrap();
        assert_eq!(c.public_base_url, "https://scim.example.com");
        for (set, missing) in [
            ("TLS_CERT_FILE", "TLS_KEY_FILE"),
            ("TLS_KEY_FILE", "TLS_CERT_FILE"),
        ] {
            let err = IngressConfig::from_source(&src(&[
                ("BRIDGE_MASTER_KEY", KEY),
                (set, "/etc/bridge/file.pem"),
            ]))
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with(&format!("{missing} is required: {set} is set")),
                "{err}"
            );
        }
    }
}
