//! The ingress's small Freshservice client: it checks a domain + API key
//! pair at install (a real call) and fetches the requester fields for the
//! settings page. The worker has its own, larger client.
//!
//! It only ever calls `FRESHSERVICE_URL_TEMPLATE` filled with a normalised
//! subdomain (the SSRF guard lives in `shared::tenant::normalize_domain`),
//! and every failure becomes a [`FsCheckError`] whose text tells the admin
//! what to do. The API key never appears in an error or a log.

use std::time::Duration;

use serde_json::Value;

/// Why Freshservice refused (or could not be asked about) a domain + key.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FsCheckError {
    #[error("Freshservice has no account called \"{domain}\". Check the domain: it is the part before .freshservice.com in the address you use to sign in to Freshservice (for https://acme.freshservice.com enter acme).")]
    UnknownDomain { domain: String },
    #[error("Freshservice rejected this API key for \"{domain}\". Copy the key again in Freshservice: your profile picture (top right) → Profile Settings → \"Your API Key\", and paste it without spaces.")]
    WrongKey { domain: String },
    #[error("This API key works but its agent lacks admin rights in \"{domain}\", so it cannot create or update requesters. Use the API key of an agent with the Account Admin (or SD Admin) role, ideally a dedicated service agent.")]
    NotAdmin { domain: String },
    #[error("Freshservice did not answer for \"{domain}\" within {secs} s. Try again in a minute; if it keeps failing, check that this bridge can reach {host} (firewall, proxy) and the Freshservice status page.")]
    Timeout {
        domain: String,
        secs: u64,
        host: String,
    },
    #[error("Could not connect to Freshservice for \"{domain}\". Try again in a minute; if it keeps failing, check that this bridge can reach {host} (firewall, proxy, DNS).")]
    Unreachable { domain: String, host: String },
    #[error("Freshservice is rate limiting \"{domain}\" right now (429). Wait {retry_after} s and try again.")]
    RateLimited { domain: String, retry_after: u64 },
    #[error("Freshservice answered HTTP {status} for \"{domain}\". Try again in a few minutes; if it persists, contact Freshservice support with the time of this attempt.")]
    Unexpected { domain: String, status: u16 },
}

/// One requester field as the settings page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequesterField {
    pub name: String,
    pub label: String,
    /// Freshservice's type, e.g. `custom_dropdown`, `default_first_name`.
    pub kind: String,
    /// Built-in (`default: true`) or custom.
    pub builtin: bool,
    pub required_for_agents: bool,
    /// Choices, as display strings (dropdowns, language, time zone).
    pub choices: Vec<String>,
}

impl RequesterField {
    /// What to paste into Okta's "External name" for a custom field.
    pub fn okta_external_name(&self) -> Option<String> {
        (!self.builtin).then(|| format!("custom_fields.{}", self.name))
    }
}

/// The External Namespace Okta needs for custom fields.
pub const OKTA_NAMESPACE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Calls Freshservice for the install check and the settings page.
#[derive(Clone)]
pub struct FsClient {
    http: reqwest::Client,
    template: String,
    timeout: Duration,
}

impl FsClient {
    /// `template` is `FRESHSERVICE_URL_TEMPLATE` (with `{domain}`).
    pub fn new(template: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Never follow a redirect to somewhere else (SSRF guard).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("okta-freshservice-bridge")
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            template: template.trim_end_matches('/').to_string(),
            timeout,
        }
    }

    fn base(&self, domain: &str) -> String {
        self.template.replace("{domain}", domain)
    }

    fn host(&self, domain: &str) -> String {
        url::Url::parse(&self.base(domain))
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| format!("{domain}.freshservice.com"))
    }

    /// Checks that `domain` (already normalised) exists, that `api_key`
    /// opens it, and that the key may manage requesters. Returns the
    /// account's requester fields (the first call).
    pub async fn validate(
        &self,
        domain: &str,
        api_key: &str,
    ) -> Result<Vec<RequesterField>, FsCheckError> {
        let fields = self.requester_fields(domain, api_key).await?;
        // Requester fields are readable by any agent; listing requesters
        // needs the admin rights the worker will use.
        self.get(domain, api_key, "/api/v2/requesters?per_page=1")
            .await?;
        Ok(fields)
    }

    /// `GET /api/v2/requester_fields`, parsed defensively (reference §3).
    pub async fn requester_fields(
        &self,
        domain: &str,
        api_key: &str,
    ) -> Result<Vec<RequesterField>, FsCheckError> {
        let body = self
            .get(domain, api_key, "/api/v2/requester_fields")
            .await?;
        Ok(parse_fields(&body))
    }

    /// `GET /api/v2/requester_fields` as Freshservice sent it (the form the
    /// workers cache in Redis).
    pub async fn requester_fields_raw(
        &self,
        domain: &str,
        api_key: &str,
    ) -> Result<Value, FsCheckError> {
        self.get(domain, api_key, "/api/v2/requester_fields").await
    }

    async fn get(&self, domain: &str, api_key: &str, path: &str) -> Result<Value, FsCheckError> {
        let url = format!("{}{}", self.base(domain), path);
        let resp = self
            .http
            .get(url)
            .basic_auth(api_key, Some("X"))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| self.transport(domain, &e))?;
        let status = resp.status().as_u16();
        let d = domain.to_string();
        match status {
            200..=299 => resp
                .json::<Value>()
                .await
                .map_err(|e| self.transport(domain, &e)),
            401 => Err(FsCheckError::WrongKey { domain: d }),
            403 => Err(FsCheckError::NotAdmin { domain: d }),
            404 => Err(FsCheckError::UnknownDomain { domain: d }),
            429 => {
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(60);
                Err(FsCheckError::RateLimited {
                    domain: d,
                    retry_after,
                })
            }
            // Freshservice redirects unknown accounts to its signup page.
            300..=399 => Err(FsCheckError::UnknownDomain { domain: d }),
            _ => Err(FsCheckError::Unexpected { domain: d, status }),
        }
    }

    fn transport(&self, domain: &str, e: &reqwest::Error) -> FsCheckError {
        let host = self.host(domain);
        if e.is_timeout() {
            return FsCheckError::Timeout {
                domain: domain.to_string(),
                secs: self.timeout.as_secs().max(1),
                host,
            };
        }
        // A name that does not resolve is an unknown account.
        let mut chain = String::new();
        let mut src: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = src {
            chain.push_str(&s.to_string().to_ascii_lowercase());
            chain.push(' ');
            src = s.source();
        }
        if chain.contains("dns error")
            || chain.contains("failed to lookup address")
            || chain.contains("name or service not known")
        {
            return FsCheckError::UnknownDomain {
                domain: domain.to_string(),
            };
        }
        FsCheckError::Unreachable {
            domain: domain.to_string(),
            host,
        }
    }
}

/// Turns `{"requester_fields":[…]}` into fields; unknown shapes of
/// `choices` (object, strings, objects with a value) all become strings.
pub fn parse_fields(body: &Value) -> Vec<RequesterField> {
    let Some(list) = body.get("requester_fields").and_then(Value::as_array) else {
        return vec![];
    };
    let mut out: Vec<(i64, RequesterField)> = list
        .iter()
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?.to_string();
            let kind = f
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let builtin = f
                .get("default")
                .and_then(Value::as_bool)
                .unwrap_or_else(|| kind.starts_with("default_"));
            let field = RequesterField {
                label: f
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or(&name)
                    .to_string(),
                name,
                kind,
                builtin,
                required_for_agents: f
                    .get("required_for_agents")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                choices: choices(f.get("choices")),
            };
            Some((
                f.get("position")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX),
                field,
            ))
        })
        .collect();
    out.sort_by_key(|(p, _)| *p);
    out.into_iter().map(|(_, f)| f).collect()
}

fn choices(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get("value")
                    .or_else(|| o.get("label"))
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(name) if name != k => format!("{name} ({k})"),
                _ => k.clone(),
            })
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_parse_every_choice_shape_and_sort_by_position() {
        let body = json!({"requester_fields": [
            {"name": "cost_center", "label": "Cost center", "type": "custom_dropdown", "default": false,
             "position": 20, "choices": [{"id": 1, "value": "R&D"}, "Sales"]},
            {"name": "first_name", "label": "First Name", "type": "default_first_name", "default": true,
             "position": 1, "required_for_agents": true},
            {"name": "language", "label": "Language", "type": "default_language", "position": 12,
             "choices": {"en": "English", "de": "German"}},
        ]});
        let f = parse_fields(&body);
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["first_name", "language", "cost_center"]
        );
        assert!(f[1].builtin);
        assert_eq!(f[1].choices, ["English (en)", "German (de)"]);
        assert_eq!(f[2].choices, ["R&D", "Sales"]);
        assert_eq!(
            f[2].okta_external_name().as_deref(),
            Some("custom_fields.cost_center")
        );
        assert_eq!(f[0].okta_external_name(), None);
    }

    #[test]
    fn errors_never_carry_the_key_and_say_what_to_do() {
        for e in [
            FsCheckError::UnknownDomain {
                domain: "acme".into(),
            },
            FsCheckError::WrongKey {
                domain: "acme".into(),
            },
            FsCheckError::NotAdmin {
                domain: "acme".into(),
            },
        ] {
            let s = e.to_string();
            assert!(s.contains("acme"), "{s}");
            assert!(s.len() > 60, "{s}");
        }
    }
}
