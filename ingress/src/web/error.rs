//! Errors of the admin side and their single mapping to HTTP: the JSON API
//! answers `{"error": code, "message": text}`; pages show `message`. Every
//! message says what to do next and never carries a secret.
//!
//! [`FsCheckError`] is the admin's wording of the shared Freshservice
//! client's failures (`shared/src/freshservice/error.rs`): the install
//! check, the settings page and `/Schemas` name the domain and say what to
//! fix, where the worker keeps Freshservice's own text for the operator.

use std::time::Duration;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use shared::{
    freshservice::{FsError, Transient},
    tenant::TenantError,
};

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
    /// The tenant's API budget (shared with the workers) has no call to
    /// spare right now; nothing was sent.
    #[error("The workers are using all of \"{domain}\"'s Freshservice API budget right now, so the bridge did not call Freshservice. Wait {retry_after} s and reload; to leave room for this page, raise the budget below if your plan allows.")]
    BudgetSpent { domain: String, retry_after: u64 },
    /// The budget could not be consulted (Redis did not answer); calling
    /// anyway would bypass it, so nothing was sent.
    #[error("The bridge's state store did not answer, so it did not call Freshservice for \"{domain}\" (the call must count against the account's API budget). Try again in a minute; if it persists, tell whoever runs the bridge.")]
    BudgetUnknown { domain: String },
    #[error("Freshservice answered HTTP {status} for \"{domain}\". Try again in a few minutes; if it persists, contact Freshservice support with the time of this attempt.")]
    Unexpected { domain: String, status: u16 },
}

impl FsCheckError {
    /// Words a failure of a call to `domain` for the admin. `host` and
    /// `timeout` name what to check when no answer came.
    pub fn from_fs(e: FsError, domain: &str, host: String, timeout: Duration) -> Self {
        let domain = domain.to_string();
        match e {
            FsError::Credentials { status: 403, .. } => Self::NotAdmin { domain },
            FsError::Credentials { .. } => Self::WrongKey { domain },
            // Freshservice redirects unknown accounts to its signup page.
            FsError::NotFound | FsError::Redirected { .. } => Self::UnknownDomain { domain },
            FsError::RateLimited { retry_after } => Self::RateLimited {
                domain,
                retry_after: retry_after.as_secs().max(1),
            },
            FsError::Retryable { cause, .. } => match cause {
                Transient::Timeout => Self::Timeout {
                    domain,
                    secs: timeout.as_secs().max(1),
                    host,
                },
                // A name that does not resolve is an unknown account.
                Transient::UnknownHost => Self::UnknownDomain { domain },
                Transient::Connection | Transient::Answer => Self::Unreachable { domain, host },
                Transient::Status(status) => Self::Unexpected { domain, status },
            },
            FsError::Permanent { status, .. } => Self::Unexpected { domain, status },
            // Only a write can be told an email is taken; the ingress reads.
            FsError::DuplicateEmail { .. } => Self::Unexpected {
                domain,
                status: 409,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("\"{0}\" is not a Freshservice domain. Enter the account's subdomain (acme), acme.freshservice.com, or its https:// address.")]
    BadDomain(String),
    #[error("Enter the Freshservice API key of an admin agent (Profile Settings → Your API Key).")]
    EmptyApiKey,
    #[error(transparent)]
    Freshservice(#[from] FsCheckError),
    #[error("This Freshservice account is already connected. Installing again issues a new bearer token and the current one stops working at once: Okta's provisioning fails until you paste the new token. Confirm to continue.")]
    AlreadyInstalled,
    #[error("Missing or unknown bearer token. Send `Authorization: Bearer <token>` with the token shown at install.")]
    BadToken,
    #[error("Too many failed attempts from your address. Wait {} s and try again.", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    #[error("The bridge's state store is unavailable. Try again in a minute; if it persists, tell whoever runs the bridge.")]
    Unavailable,
    #[error("{0}")]
    BadRequest(String),
    /// The tenant is gone from Redis (its token no longer works), but the
    /// broker did not delete its queue and dead letters in time.
    #[error("The account was uninstalled: its bearer token no longer works and its SCIM state is gone. But the message broker {why}, so its queued changes and dead letters could not be removed yet. They are never sent to Freshservice, and the workers delete the queue once the broker answers; there is nothing to repeat. If this persists, tell whoever runs the bridge.")]
    UninstalledBrokerPending { why: String, timed_out: bool },
}

impl WebError {
    /// Stable machine-readable code of the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadDomain(_) => "invalid_domain",
            Self::EmptyApiKey => "missing_api_key",
            Self::Freshservice(e) => match e {
                FsCheckError::UnknownDomain { .. } => "unknown_domain",
                FsCheckError::WrongKey { .. } => "invalid_api_key",
                FsCheckError::NotAdmin { .. } => "api_key_not_admin",
                FsCheckError::Timeout { .. } => "freshservice_timeout",
                FsCheckError::Unreachable { .. } => "freshservice_unreachable",
                FsCheckError::RateLimited { .. } => "freshservice_rate_limited",
                FsCheckError::BudgetSpent { .. } => "api_budget_spent",
                FsCheckError::BudgetUnknown { .. } => "unavailable",
                FsCheckError::Unexpected { .. } => "freshservice_error",
            },
            Self::AlreadyInstalled => "already_installed",
            Self::BadToken => "invalid_token",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Unavailable => "unavailable",
            Self::BadRequest(_) => "bad_request",
            Self::UninstalledBrokerPending {
                timed_out: true, ..
            } => "uninstalled_broker_timeout",
            Self::UninstalledBrokerPending { .. } => "uninstalled_broker_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadDomain(_) | Self::EmptyApiKey | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Freshservice(e) => match e {
                FsCheckError::UnknownDomain { .. }
                | FsCheckError::WrongKey { .. }
                | FsCheckError::NotAdmin { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                FsCheckError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                FsCheckError::Unreachable { .. } | FsCheckError::Unexpected { .. } => {
                    StatusCode::BAD_GATEWAY
                }
                FsCheckError::RateLimited { .. }
                | FsCheckError::BudgetSpent { .. }
                | FsCheckError::BudgetUnknown { .. } => StatusCode::SERVICE_UNAVAILABLE,
            },
            Self::AlreadyInstalled => StatusCode::CONFLICT,
            Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::UninstalledBrokerPending {
                timed_out: true, ..
            } => StatusCode::GATEWAY_TIMEOUT,
            Self::UninstalledBrokerPending { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// Whether this failure counts against the client's brute-force
    /// allowance (a guess at someone else's secret, not an outage).
    pub fn counts_as_failed_attempt(&self) -> bool {
        matches!(
            self,
            Self::BadToken
                | Self::Freshservice(
                    FsCheckError::WrongKey { .. }
                        | FsCheckError::NotAdmin { .. }
                        | FsCheckError::UnknownDomain { .. }
                )
        )
    }

    /// `Retry-After` seconds, where waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyAttempts(d) => Some(d.as_secs().max(1)),
            Self::Freshservice(
                FsCheckError::RateLimited { retry_after, .. }
                | FsCheckError::BudgetSpent { retry_after, .. },
            ) => Some(*retry_after),
            Self::Freshservice(FsCheckError::BudgetUnknown { .. }) => Some(5),
            Self::Unavailable => Some(5),
            _ => None,
        }
    }
}

impl From<TenantError> for WebError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::BadDomain(d) => Self::BadDomain(d),
            TenantError::EmptyApiKey => Self::EmptyApiKey,
            other => {
                tracing::error!(error = %other, "tenant store failed");
                Self::Unavailable
            }
        }
    }
}

impl From<redis::RedisError> for WebError {
    fn from(e: redis::RedisError) -> Self {
        tracing::error!(error = %e, "Redis failed");
        Self::Unavailable
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "user store failed");
        Self::Unavailable
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status(),
            Json(json!({"error": self.code(), "message": self.to_string()})),
        )
            .into_response();
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Self::BadToken) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_shared_clients_failures_keep_their_admin_wording() {
        let word = |e| FsCheckError::from_fs(e, "acme", "h".into(), Duration::from_secs(10));
        let body = String::new;
        assert!(matches!(
            word(FsError::Credentials {
                status: 401,
                body: body()
            }),
            FsCheckError::WrongKey { .. }
        ));
        assert!(matches!(
            word(FsError::Credentials {
                status: 403,
                body: body()
            }),
            FsCheckError::NotAdmin { .. }
        ));
        for e in [
            FsError::NotFound,
            FsError::Redirected {
                status: 302,
                location: "signup.example".into(),
            },
            FsError::Retryable {
                cause: Transient::UnknownHost,
                detail: body(),
            },
        ] {
            assert!(matches!(word(e), FsCheckError::UnknownDomain { .. }));
        }
        assert_eq!(
            word(FsError::Retryable {
                cause: Transient::Timeout,
                detail: body()
            }),
            FsCheckError::Timeout {
                domain: "acme".into(),
                secs: 10,
                host: "h".into()
            }
        );
        assert_eq!(
            word(FsError::RateLimited {
                retry_after: Duration::from_secs(7)
            }),
            FsCheckError::RateLimited {
                domain: "acme".into(),
                retry_after: 7
            }
        );
        assert!(matches!(
            word(FsError::Retryable {
                cause: Transient::Status(502),
                detail: body()
            }),
            FsCheckError::Unexpected { status: 502, .. }
        ));
    }
}
