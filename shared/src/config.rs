//! Configuration both services read, and how every setting is read.
//!
//! Every variable is documented in the README's configuration table; keep the
//! two in step. Each service has its own typed struct
//! (`ingress/src/config.rs`, `worker/src/config.rs`) that embeds the settings
//! every deployment shares ([`CommonConfig`]) and reads its own with the
//! readers below, so both parse alike and an error always names the variable
//! (and never echoes the master key).

use std::{collections::HashMap, time::Duration};

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

/// The variable, or `default` when unset or empty.
pub fn string(src: &dyn Source, name: &'static str, default: &str) -> String {
    src.get(name).unwrap_or_else(|| default.to_string())
}

/// The variable parsed as a `T`, or `default` when unset.
pub fn parsed<T: std::str::FromStr>(
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
pub fn flag(src: &dyn Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
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

/// A duration given in milliseconds.
pub fn millis(
    src: &dyn Source,
    name: &'static str,
    default_ms: u64,
) -> Result<Duration, ConfigError> {
    parsed(src, name, default_ms).map(Duration::from_millis)
}

/// Like [`millis`], for a limit where 0 would mean "refuse everything".
pub fn positive_millis(
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

/// `DEFAULT_RATE_LIMIT_PER_MIN`: the API budget of a tenant without its own.
/// Both services read it: the workers spend the budget, the ingress's
/// settings page and `/Schemas` draw from it too.
pub fn default_rate_limit(src: &dyn Source) -> Result<u32, ConfigError> {
    Ok(parsed(src, "DEFAULT_RATE_LIMIT_PER_MIN", 100u32)?.max(1))
}

/// `RATE_LIMIT_WINDOW_MS`: the window a tenant's per-minute budget applies
/// to. Both services draw from the same Redis budget, so both must size it
/// the same way (`shared/src/freshservice/budget.rs`).
pub fn rate_window(src: &dyn Source) -> Result<Duration, ConfigError> {
    Ok(millis(src, "RATE_LIMIT_WINDOW_MS", 60_000)?.max(Duration::from_millis(1_000)))
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
    fn common_defaults_apply() {
        let c = CommonConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", KEY)])).unwrap();
        assert_eq!(c.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(
            (c.key_prefix.as_str(), c.queue_prefix.as_str()),
            ("fsb", "fsb")
        );
        assert_eq!(
            c.freshservice_url_template.base("acme"),
            "https://acme.freshservice.com"
        );
        assert_eq!(default_rate_limit(&src(&[])).unwrap(), 100);
        assert_eq!(rate_window(&src(&[])).unwrap(), Duration::from_secs(60));
    }

    #[test]
    fn missing_master_key_says_how_to_make_one() {
        let err = CommonConfig::from_source(&src(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BRIDGE_MASTER_KEY"), "{err}");
        assert!(err.contains("openssl rand"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = CommonConfig::from_source(&src(&[
            ("BRIDGE_MASTER_KEY", KEY),
            ("FRESHSERVICE_URL_TEMPLATE", "http://x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("{domain}"), "{err}");
        let err = rate_window(&src(&[("RATE_LIMIT_WINDOW_MS", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("RATE_LIMIT_WINDOW_MS"), "{err}");
    }

    #[test]
    fn master_key_value_never_in_errors() {
        let err = CommonConfig::from_source(&src(&[("BRIDGE_MASTER_KEY", "sekrit-not-base64")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("sekrit"), "{err}");
    }
}
