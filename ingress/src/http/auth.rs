//! Bearer-token authentication as an extractor: a handler that takes
//! `ScimTenant` only runs for a request carrying a valid token, and only
//! ever sees that token's tenant (invariant 7).

use axum::{extract::FromRequestParts, http::request::Parts};
use shared::tenant::Tenant;

use super::AppState;
use crate::scim::error::ScimError;

/// The tenant the request's bearer token belongs to.
pub struct ScimTenant(pub Tenant);

/// The token from `Authorization: Bearer <t>`, scheme case-insensitive.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for ScimTenant {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let Some(token) = bearer(parts) else {
            return Err(ScimError::unauthorized(
                "missing bearer token: send `Authorization: Bearer <token>` with the token shown at install",
            ));
        };
        match state.tenants.by_token(token).await {
            Ok(Some(t)) => Ok(ScimTenant(t)),
            Ok(None) => Err(ScimError::unauthorized(
                "invalid bearer token: it is unknown or was revoked by a re-install; paste the current token into Okta",
            )),
            Err(e) => {
                tracing::error!(error = %e, "tenant lookup failed");
                Err(ScimError::unavailable(5))
            }
        }
    }
}
