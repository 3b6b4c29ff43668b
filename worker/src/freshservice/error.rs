//! Freshservice failures, classified by what the worker must do about them:
//! retry later, give up at once (dead-letter with Freshservice's own text),
//! or pause the tenant (credentials).

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FsError {
    /// 429: the account's budget is spent; wait `retry_after`.
    #[error("Freshservice rate limit reached (429), retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// 5xx, timeouts, connection errors: try again with backoff.
    #[error("Freshservice temporarily failed: {0}")]
    Retryable(String),
    /// 401/403: the API key is wrong, revoked or lacks rights.
    #[error("Freshservice rejected the API key ({status}): {body}")]
    Credentials { status: u16, body: String },
    /// 400/409 `duplicate_value` on an email: someone already has it.
    #[error("Freshservice says the email is already in use: {body}")]
    DuplicateEmail { body: String },
    /// 404 on a requester id.
    #[error("Freshservice has no such record (404)")]
    NotFound,
    /// 3xx: Freshservice pointed elsewhere (it does so for an account that
    /// moved or no longer exists). Never followed, since the request carries
    /// the API key and the requester's data; retrying will not help until
    /// someone fixes the tenant's domain.
    #[error("Freshservice answered a redirect ({status}) to {location}; redirects are never followed, so nothing was sent there (check the account's Freshservice domain)")]
    Redirected { status: u16, location: String },
    /// Any other 4xx: the request itself is wrong; retrying will not help.
    #[error("Freshservice refused the change ({status}): {body}")]
    Permanent { status: u16, body: String },
}

impl FsError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Retryable(_))
    }

    /// True for a 400 `invalid_field` naming `field` (the account does not
    /// accept that attribute, e.g. `external_id` on older accounts).
    pub fn is_invalid_field(&self, field: &str) -> bool {
        let Self::Permanent { status: 400, body } = self else {
            return false;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
            return false;
        };
        v.get("errors")
            .and_then(|e| e.as_array())
            .is_some_and(|errs| {
                errs.iter().any(|e| {
                    e.get("field").and_then(|f| f.as_str()) == Some(field)
                        && matches!(
                            e.get("code").and_then(|c| c.as_str()),
                            Some("invalid_field" | "inaccessible_field" | "readonly_field")
                        )
                })
            })
    }

    /// Short label for metrics and the sync status.
    pub fn class(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Retryable(_) => "retryable",
            Self::Credentials { .. } => "credentials",
            Self::DuplicateEmail { .. } => "duplicate_email",
            Self::NotFound => "not_found",
            Self::Redirected { .. } => "redirect",
            Self::Permanent { .. } => "permanent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_field_is_recognised_only_for_its_field() {
        let body = r#"{"description":"Validation failed","errors":[{"field":"external_id","message":"Unexpected/invalid field in request","code":"invalid_field"}]}"#;
        let e = FsError::Permanent {
            status: 400,
            body: body.into(),
        };
        assert!(e.is_invalid_field("external_id"));
        assert!(!e.is_invalid_field("job_title"));
        assert!(!FsError::NotFound.is_invalid_field("external_id"));
    }
}
