//! Freshservice failures, classified by what the caller must do about them:
//! wait (rate limited, with Freshservice's `Retry-After`), retry later (no
//! answer, 5xx), give up at once (a permanent refusal, or a redirect that is
//! never followed), or pause the tenant (credentials rejected). The text is
//! for the operator and keeps Freshservice's own answer; the ingress words
//! the same cases for an admin (`ingress/src/web/error.rs`). Neither ever
//! carries the API key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FsError {
    /// 429: the account's budget is spent; wait `retry_after`.
    #[error("Freshservice rate limit reached (429), retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// 5xx, 408, timeouts, connection errors, unreadable answers: try again
    /// with backoff. `cause` says which, for callers that explain it.
    #[error("Freshservice temporarily failed: {detail}")]
    Retryable { cause: Transient, detail: String },
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

/// Why a [`FsError::Retryable`] call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// No answer within the client's timeout.
    Timeout,
    /// The account's host name does not resolve (for the install check:
    /// most likely a mistyped domain).
    UnknownHost,
    /// No connection, or it broke before a whole answer arrived.
    Connection,
    /// Freshservice answered this 5xx or 408.
    Status(u16),
    /// An answer arrived but was not what the API documents.
    Answer,
}

impl FsError {
    /// A [`FsError::Retryable`] for an answer that made no sense.
    pub fn unreadable(detail: impl Into<String>) -> Self {
        Self::Retryable {
            cause: Transient::Answer,
            detail: detail.into(),
        }
    }

    /// No answer, or none that could be read: the request may have been
    /// carried out all the same (a create committed whose answer was lost).
    /// A status answer (4xx, 5xx, 429) is not ambiguous.
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            Self::Retryable {
                cause: Transient::Timeout | Transient::Connection | Transient::Answer,
                ..
            }
        )
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Retryable { .. })
    }

    /// True for a 400 `invalid_field` naming `field` (the account does not
    /// accept that attribute, e.g. `external_id` on older accounts).
    pub fn is_invalid_field(&self, field: &str) -> bool {
        let Self::Permanent { status: 400, body } = self else {
            return false;
        };
        names_field(
            body,
            field,
            &["invalid_field", "inaccessible_field", "readonly_field"],
        )
    }

    /// True for a 400 or 409 `duplicate_value` naming `field` (which of the
    /// two Freshservice answers is open: `docs/freshservice.md` §5).
    pub fn is_duplicate_value(&self, field: &str) -> bool {
        match self {
            Self::Permanent {
                status: 400 | 409,
                body,
            }
            | Self::DuplicateEmail { body } => names_field(body, field, &["duplicate_value"]),
            _ => false,
        }
    }

    /// True for a 400 or 409 with any `duplicate_value` entry, whichever
    /// field it names: what adding a requester that is already a group
    /// member answers is open (`docs/freshservice.md` §4), and the field a
    /// duplicate names there is not documented either.
    pub fn is_any_duplicate_value(&self) -> bool {
        match self {
            Self::Permanent {
                status: 400 | 409,
                body,
            }
            | Self::DuplicateEmail { body } => has_code(body, "duplicate_value"),
            _ => false,
        }
    }

    /// Short label for metrics and the sync status.
    pub fn class(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Retryable { .. } => "retryable",
            Self::Credentials { .. } => "credentials",
            Self::DuplicateEmail { .. } => "duplicate_email",
            Self::NotFound => "not_found",
            Self::Redirected { .. } => "redirect",
            Self::Permanent { .. } => "permanent",
        }
    }
}

/// Whether a Freshservice error body has an `errors[]` entry for `field`
/// with one of `codes` (`docs/freshservice.md` §5).
fn names_field(body: &str, field: &str, codes: &[&str]) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    v.get("errors")
        .and_then(|e| e.as_array())
        .is_some_and(|errs| {
            errs.iter().any(|e| {
                e.get("field").and_then(|f| f.as_str()) == Some(field)
                    && e.get("code")
                        .and_then(|c| c.as_str())
                        .is_some_and(|c| codes.contains(&c))
            })
        })
}

/// Whether a Freshservice error body has an `errors[]` entry with `code`.
fn has_code(body: &str, code: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    v.get("errors")
        .and_then(|e| e.as_array())
        .is_some_and(|errs| {
            errs.iter()
                .any(|e| e.get("code").and_then(|c| c.as_str()) == Some(code))
        })
}

/// Maps a failed answer (not a redirect: the client names those itself) to
/// what the caller should do about it.
pub fn classify(status: StatusCode, retry_after: Option<u64>, body: String) -> FsError {
    match status.as_u16() {
        429 => FsError::RateLimited {
            retry_after: Duration::from_secs(retry_after.unwrap_or(60)),
        },
        401 | 403 => FsError::Credentials {
            status: status.as_u16(),
            body,
        },
        404 => FsError::NotFound,
        400 | 409 if is_duplicate_email(&body) => FsError::DuplicateEmail { body },
        s if s >= 500 || s == 408 => FsError::Retryable {
            cause: Transient::Status(s),
            detail: format!("HTTP {s}: {body}"),
        },
        s => FsError::Permanent { status: s, body },
    }
}

/// `duplicate_value` on `primary_email` or `secondary_emails`.
fn is_duplicate_email(body: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    v.get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errs| {
            errs.iter().any(|e| {
                e.get("code").and_then(Value::as_str) == Some("duplicate_value")
                    && matches!(
                        e.get("field").and_then(Value::as_str),
                        Some("primary_email" | "secondary_emails" | "email")
                    )
            })
        })
}

/// What a transport failure (no answer at all) means for the caller, and a
/// description of it without the URL (it holds only the tenant's domain,
/// but keeps messages short and stable).
pub(crate) fn transport(e: &reqwest::Error) -> FsError {
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let cause = if e.is_timeout() {
        Transient::Timeout
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        Transient::UnknownHost
    } else {
        Transient::Connection
    };
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let detail = format!("{kind}: {chain}")
        .replace(&e.url().map(|u| u.to_string()).unwrap_or_default(), "<url>");
    FsError::Retryable { cause, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_email_on_400_and_409() {
        let body = r#"{"description":"Validation failed","errors":[{"field":"primary_email","message":"It should be a unique value","code":"duplicate_value"}]}"#;
        for s in [400, 409] {
            assert!(matches!(
                classify(StatusCode::from_u16(s).unwrap(), None, body.into()),
                FsError::DuplicateEmail { .. }
            ));
        }
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, "{}".into()),
            FsError::Permanent { status: 400, .. }
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some(7), String::new()),
            FsError::RateLimited { retry_after } if retry_after == Duration::from_secs(7)
        ));
        assert!(classify(StatusCode::BAD_GATEWAY, None, String::new()).is_retryable());
        assert!(classify(StatusCode::REQUEST_TIMEOUT, None, String::new()).is_retryable());
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, String::new()),
            FsError::Retryable {
                cause: Transient::Status(503),
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, None, String::new()),
            FsError::Credentials { .. }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, None, String::new()),
            FsError::Credentials { .. }
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, None, String::new()),
            FsError::NotFound
        ));
    }

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

    #[test]
    fn any_duplicate_value_at_400_or_409_whatever_its_field() {
        let member = r#"{"description":"Validation failed","errors":[{"field":"requester_id","message":"It should be a unique value","code":"duplicate_value"}]}"#;
        for s in [400, 409] {
            let e = classify(StatusCode::from_u16(s).unwrap(), None, member.into());
            assert!(e.is_any_duplicate_value(), "{s}");
            assert!(e.is_duplicate_value("requester_id"), "{s}");
            assert!(!e.is_duplicate_value("name"), "{s}");
        }
        let other = r#"{"errors":[{"field":"requester_id","code":"invalid_value"}]}"#;
        assert!(!classify(StatusCode::BAD_REQUEST, None, other.into()).is_any_duplicate_value());
        assert!(
            !classify(StatusCode::UNPROCESSABLE_ENTITY, None, member.into())
                .is_any_duplicate_value()
        );
        assert!(!FsError::NotFound.is_any_duplicate_value());
    }
}
