//! The SCIM error type (RFC 7644 §3.12) and its HTTP rendering.
//!
//! Every failure the ingress reports to Okta goes through [`ScimError`] so the
//! body always carries the `urn:ietf:params:scim:api:messages:2.0:Error` schema
//! and a `detail` a person can act on (Okta shows it in Dashboard → Tasks).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ERROR_SCHEMA, SCIM_CONTENT_TYPE};

/// `scimType` values of RFC 7644 Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The wire spelling (`invalidFilter`, `noTarget`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error answer. `Display` is the `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 `scimType`, only where the RFC defines one for the case.
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation; never contains secrets.
    pub detail: String,
    /// Seconds for the `Retry-After` header (503 / 429).
    pub retry_after: Option<u64>,
    /// The state store (Redis) failed: the answer carries [`StateStoreFailed`]
    /// for the ingress's metrics (`bridge_ingress_redis_errors_total`).
    pub state_store: bool,
}

/// Response extension: the request failed because Redis did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateStoreFailed;

impl ScimError {
    /// Any status with an optional `scimType`.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
            state_store: false,
        }
    }

    /// The same error, marked as caused by a failed Redis command.
    pub fn from_state_store(mut self) -> Self {
        self.state_store = true;
        self
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }
    /// 400 invalidFilter.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    /// 400 invalidSyntax (malformed request structure or JSON).
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    /// 400 invalidValue (wrong type, missing required attribute, unknown schema).
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    /// 400 invalidPath (PATCH path that is malformed or names nothing we know).
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    /// 400 noTarget.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    /// 400 mutability (attempt to change a read-only attribute).
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    /// 400 invalidSyntax for a body that is not JSON at all.
    pub fn malformed_json(err: &serde_json::Error) -> Self {
        Self::invalid_syntax(format!("request body is not valid JSON: {err}"))
    }
    /// 401, answered with `WWW-Authenticate: Bearer realm="scim"`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }
    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }
    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 405.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }
    /// 409 uniqueness.
    pub fn conflict_uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    /// 412 (If-Match did not match the current version).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
    /// 413 (body over the limit).
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            413,
            None,
            format!("request body is larger than the limit of {limit_bytes} bytes"),
        )
    }
    /// 415 (a request body that is neither application/scim+json nor application/json).
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(415, None, detail)
    }
    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        ScimError {
            retry_after: Some(retry_after_secs),
            ..Self::new(429, None, "too many requests; retry later")
        }
    }
    /// 503 with `Retry-After`: the change was not accepted, the client should retry.
    pub fn unavailable(retry_after_secs: u64) -> Self {
        ScimError {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                503,
                None,
                "service temporarily unavailable; the change was not accepted, retry later",
            )
        }
    }
    /// 500, for bugs only: bad input must never end up here (`docs/architecture.md` §3.8).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// Replace the detail, keeping status and scimType.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The JSON body (RFC 7644 §3.12: `status` is a string).
    pub fn to_body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.as_str().to_owned());
        }
        body["detail"] = Value::String(self.detail.clone());
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_body()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.state_store {
            resp.extensions_mut().insert(StateStoreFailed);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape() {
        let e = ScimError::conflict_uniqueness("userName \"a\" is taken");
        assert_eq!(
            e.to_body(),
            json!({"schemas":[ERROR_SCHEMA],"status":"409","scimType":"uniqueness","detail":"userName \"a\" is taken"})
        );
        assert_eq!(e.to_string(), "userName \"a\" is taken");
        let e = ScimError::not_found("no such user");
        assert!(e.to_body().get("scimType").is_none());
    }

    #[test]
    fn scim_type_serialises_camel_case() {
        assert_eq!(
            serde_json::to_value(ScimType::InvalidFilter).unwrap(),
            json!("invalidFilter")
        );
        assert_eq!(
            serde_json::to_value(ScimType::NoTarget).unwrap(),
            json!("noTarget")
        );
        assert_eq!(ScimType::InvalidVers.as_str(), "invalidVers");
    }

    #[test]
    fn response_headers() {
        let r = ScimError::unauthorized("missing bearer token").into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::CONTENT_TYPE], SCIM_CONTENT_TYPE);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"scim\""
        );
        let r = ScimError::unavailable(7).into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        let r = ScimError::too_many_requests(3).into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
        assert!(ScimError::payload_too_large(1 << 20)
            .into_response()
            .headers()
            .get(header::RETRY_AFTER)
            .is_none());
    }
}
