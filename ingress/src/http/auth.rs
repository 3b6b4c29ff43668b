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
        // Failed tokens count per client address; an address over its
        // allowance is refused before its token is even looked at.
        let web = parts.extensions.get::<crate::web::Web>().cloned();
        let ip = match crate::web::ClientIp::from_request_parts(parts, state).await {
            Ok(c) => Some(c.0),
            Err(never) => match never {},
        };
        let limiter = web.as_ref().zip(ip);
        if let Some((w, ip)) = &limiter {
            if let Err(wait) = w.limiter().check(*ip) {
                return Err(ScimError::too_many_requests(wait.as_secs().max(1)));
            }
        }
        let failed = || {
            if let Some((w, ip)) = &limiter {
                w.limiter().failed(*ip);
            }
        };
        let Some(token) = bearer(parts) else {
            failed();
            return Err(ScimError::unauthorized(
                "missing bearer token: send `Authorization: Bearer <token>` with the token shown at install",
            ));
        };
        let hash = shared::crypto::token_hash(token);
        if let Some(t) = state.tokens.get(&hash) {
            return Ok(ScimTenant(t));
        }
        // Bounded: a hung Redis must not hold the request (`deadline.rs`).
        let deadline = super::deadline::Deadline::of(parts, state);
        let Some(found) = deadline.run(state.tenants.by_token(token)).await else {
            tracing::warn!("tenant lookup did not answer within SCIM_BACKEND_TIMEOUT_MS");
            return Err(ScimError::unavailable(super::deadline::RETRY_AFTER_SECS));
        };
        match found {
            Ok(Some(t)) => {
                state.tokens.put(hash, t.clone());
                Ok(ScimTenant(t))
            }
            Ok(None) => {
                failed();
                Err(ScimError::unauthorized(
                "invalid bearer token: it is unknown or was revoked by a re-install; paste the current token into Okta",
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "tenant lookup failed");
                Err(ScimError::unavailable(super::deadline::RETRY_AFTER_SECS))
            }
        }
    }
}
