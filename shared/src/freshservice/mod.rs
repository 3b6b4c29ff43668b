//! The one Freshservice API v2 client both services use: where a tenant's
//! account lives ([`UrlTemplate`], from `FRESHSERVICE_URL_TEMPLATE`), the
//! HTTP client every call goes out on ([`http_client`]: one user agent,
//! redirects never followed), the calls and their classified failures
//! ([`FsClient`], [`FsError`]), the one reading of
//! `GET /api/v2/requester_fields` ([`fields`], kept in the pure `mapping`
//! crate beside the mapping that reads it), and the tenant's API budget
//! shared through Redis ([`budget`]).
//!
//! The worker sends every convergence call through it
//! (`worker/src/converge/api.rs`); the ingress uses it for the install
//! check and, inside the tenant's budget, for the settings page and
//! `/Schemas` (`ingress/src/account.rs`). Each caller words failures
//! for its own audience: the worker keeps Freshservice's text for the
//! operator, the ingress tells an admin what to do
//! (`ingress/src/web/error.rs`).
//!
//! A module of `shared` rather than a crate of its own: both services
//! already link reqwest and Redis, and nothing else depends on `shared`
//! that would want to be spared them, so a crate boundary would only add a
//! manifest.

pub mod budget;
pub mod client;
pub mod error;

pub use budget::{Budget, Grant, LeaseRef, Sizing};
pub use client::{
    http_client, Answer, Call, Department, FsClient, GroupKind, GroupMember, Requester,
    RequesterGroup, Sent,
};
pub use error::{FsError, Transient};
/// The one reading of `GET /requester_fields` lives in the pure `mapping`
/// crate, which the mapping builds on; this keeps its old path.
pub use mapping::requester_fields as fields;
pub use mapping::requester_fields::{Choice, RequesterField};

/// `FRESHSERVICE_URL_TEMPLATE`: a tenant's base URL with `{domain}` standing
/// for its subdomain (`https://{domain}.freshservice.com`). The only place a
/// Freshservice URL is made; the domain it is filled with is normalised
/// first (`shared::tenant::normalize_domain`, the SSRF guard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate(String);

/// Why a `FRESHSERVICE_URL_TEMPLATE` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must contain {{domain}}")]
pub struct TemplateError;

impl UrlTemplate {
    /// Freshservice's own addresses.
    pub const DEFAULT: &'static str = "https://{domain}.freshservice.com";

    /// Checks that `template` names `{domain}`; a trailing `/` is dropped so
    /// paths can be appended as they are.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        if !template.contains("{domain}") {
            return Err(TemplateError);
        }
        Ok(Self(template.trim_end_matches('/').to_string()))
    }

    /// The account's base URL (no trailing slash), e.g.
    /// `https://acme.freshservice.com`.
    pub fn base(&self, domain: &str) -> String {
        self.0.replace("{domain}", domain)
    }

    /// The host the account's calls go to, for messages that tell an admin
    /// what to check (firewall, proxy, DNS).
    pub fn host(&self, domain: &str) -> String {
        url::Url::parse(&self.base(domain))
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| format!("{domain}.freshservice.com"))
    }

    /// The template as configured (trailing `/` dropped).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_fills_in_the_domain_and_names_its_host() {
        let t = UrlTemplate::parse("http://127.0.0.1:9/{domain}/").unwrap();
        assert_eq!(t.base("acme"), "http://127.0.0.1:9/acme");
        assert_eq!(t.host("acme"), "127.0.0.1");
        let t = UrlTemplate::parse(UrlTemplate::DEFAULT).unwrap();
        assert_eq!(t.base("acme"), "https://acme.freshservice.com");
        assert_eq!(t.host("acme"), "acme.freshservice.com");
        assert_eq!(UrlTemplate::parse("https://fs.example"), Err(TemplateError));
    }
}
