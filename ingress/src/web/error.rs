//! Errors of the admin side and their single mapping to HTTP: the JSON API
//! answers `{"error": code, "message": text}`; pages show `message`. Every
//! message says what to do next and never carries a secret.
//!
//! [`FsCheckError`] (the admin's wording of Freshservice's failures) lives
//! with the calls that produce it, in `crate::account`.

use std::time::Duration;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use shared::tenant::TenantError;

pub use crate::account::FsCheckError;

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
        if matches!(self, Self::Unavailable) {
            // Only the state store makes this error (the metrics count it).
            resp.extensions_mut()
                .insert(crate::scim::error::StateStoreFailed);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::freshservice::{FsError, Transient};

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
