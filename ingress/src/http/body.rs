//! `ScimJson`: the request-body extractor for SCIM writes. It enforces the
//! content type (SCIM or plain JSON), the 1 MiB limit and JSON syntax, and
//! turns each failure into a SCIM error instead of axum's plain-text ones.

use axum::{
    body::Body,
    extract::{FromRequest, Request},
};
use serde_json::Value;

use super::MAX_BODY_BYTES;
use crate::scim::error::ScimError;

pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, ScimError> {
        if let Some(ct) = req.headers().get(axum::http::header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !matches!(essence, "application/scim+json" | "application/json") {
                return Err(ScimError::unsupported_media_type(format!(
                    "Content-Type {essence:?} is not accepted: send application/scim+json or application/json"
                )));
            }
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ScimError::payload_too_large(MAX_BODY_BYTES))?;
        if bytes.is_empty() {
            return Err(ScimError::invalid_syntax(
                "the request body is empty: send a JSON object",
            ));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| ScimError::malformed_json(&e))?;
        if !value.is_object() {
            return Err(ScimError::invalid_syntax(
                "the request body must be a JSON object",
            ));
        }
        Ok(ScimJson(value))
    }
}
