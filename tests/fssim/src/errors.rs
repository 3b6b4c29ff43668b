//! Error bodies in Freshservice's shapes (`docs/freshservice.md` §5) and their HTTP statuses.
//!
//! Two shapes exist: validation errors
//! `{"description":"Validation failed","errors":[{"field":…,"message":…,"code":…}]}` where
//! `message` is a stringified array such as `"[\"It should be one of the choice value.\"]"`,
//! and non-validation errors with a top-level `{"code":…,"message":…}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// One entry of `errors[]` in a validation error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    pub code: String,
}

impl FieldError {
    /// A field error whose message is the stringified array of `messages`, as Freshservice sends it.
    pub fn new(field: impl Into<String>, code: &str, messages: &[&str]) -> Self {
        FieldError {
            field: Some(field.into()),
            message: serde_json::to_string(messages).expect("strings serialize"),
            code: code.to_string(),
        }
    }

    /// `invalid_field`: unknown, deprecated or read-only attribute (`docs/freshservice.md` §2.2, §5).
    pub fn invalid_field(field: &str) -> Self {
        Self::new(
            field,
            "invalid_field",
            &["Unexpected/invalid field in request"],
        )
    }

    /// `datatype_mismatch` with "It should be a/an TYPE".
    pub fn datatype(field: &str, ty: &str) -> Self {
        Self::new(
            field,
            "datatype_mismatch",
            &[&format!("It should be a/an {ty}")],
        )
    }

    /// `invalid_value` with one message.
    pub fn invalid_value(field: &str, message: &str) -> Self {
        Self::new(field, "invalid_value", &[message])
    }

    /// `invalid_value` for a value outside a choice list (`docs/freshservice.md` §5).
    pub fn not_a_choice(field: &str) -> Self {
        Self::invalid_value(field, "It should be one of the choice value.")
    }

    /// `missing_field` for a mandatory attribute.
    pub fn missing(field: &str, ty: &str) -> Self {
        Self::new(
            field,
            "missing_field",
            &[&format!("It should be a/an {ty}")],
        )
    }

    /// `duplicate_value` ("this value already exists").
    pub fn duplicate(field: &str) -> Self {
        Self::new(field, "duplicate_value", &["It should be a unique value"])
    }
}

/// Every error answer the Freshservice API side of the simulator gives.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 (or the account's duplicate status) with a validation body.
    #[error("validation failed ({status}): {errors:?}")]
    Validation {
        status: StatusCode,
        errors: Vec<FieldError>,
    },
    /// A top-level `{"code","message"}` body.
    #[error("{status} {code}: {message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// 404 with an empty body (`docs/freshservice.md` §5: S6 does not decode 404 bodies).
    #[error("not found")]
    NotFound,
}

impl ApiError {
    /// 400 validation failure.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        ApiError::Validation {
            status: StatusCode::BAD_REQUEST,
            errors,
        }
    }

    /// 400 for one field.
    pub fn field(err: FieldError) -> Self {
        Self::validation(vec![err])
    }

    /// 400 `invalid_json`.
    pub fn invalid_json() -> Self {
        Self::validation(vec![FieldError {
            field: None,
            message: "Request body has invalid json format".into(),
            code: "invalid_json".into(),
        }])
    }

    /// 401 `invalid_credentials`.
    pub fn invalid_credentials() -> Self {
        ApiError::Coded {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_credentials",
            message: "You have to be logged in to perform this action.".into(),
        }
    }

    /// 401 `unsupported_authentication_type` (username/password basic auth, `docs/freshservice.md` §1).
    pub fn unsupported_auth() -> Self {
        ApiError::Coded {
            status: StatusCode::UNAUTHORIZED,
            code: "unsupported_authentication_type",
            message: "Username/password authentication is no longer supported. Use your API key."
                .into(),
        }
    }

    /// 403 `access_denied`.
    pub fn access_denied() -> Self {
        ApiError::Coded {
            status: StatusCode::FORBIDDEN,
            code: "access_denied",
            message: "You are not authorized to perform this action.".into(),
        }
    }

    /// 415 for a body that is not `application/json`.
    pub fn unsupported_media(got: &str) -> Self {
        ApiError::Coded {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "invalid_content_type",
            message: format!(
                "Content-Type header is set to {got}. It should be set to application/json"
            ),
        }
    }

    /// 406 for an `Accept` header that excludes JSON.
    pub fn not_acceptable() -> Self {
        ApiError::Coded {
            status: StatusCode::NOT_ACCEPTABLE,
            code: "invalid_accept_header",
            message: "This request supports only application/json in the Accept header".into(),
        }
    }

    /// 400 `no_content_required` for a body on an endpoint that takes none.
    pub fn no_content_required() -> Self {
        Self::validation(vec![FieldError {
            field: None,
            message: "No content required for this request".into(),
            code: "no_content_required".into(),
        }])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { status, .. } | ApiError::Coded { status, .. } => *status,
            ApiError::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// A JSON response with `Content-Type: application/json; charset=utf-8`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation { status, errors } => json_response(
                status,
                &json!({"description": "Validation failed", "errors": errors}),
            ),
            ApiError::Coded {
                status,
                code,
                message,
            } => json_response(status, &json!({"code": code, "message": message})),
            ApiError::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}
