//! Bearer-token authentication as an extractor: a handler that takes
//! `ScimTenant` only runs for a request carrying a valid token, and only
//! ever sees that token's tenant (`docs/architecture.md` §3, invariant 7).

use axum::{extract::FromRequestParts, http::request::Parts};
use shared::tenant::Tenant;

use crate::{guard::ClientIp, scim::error::ScimError, state::AppState};

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

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ScimError> {
        let state = &app.backend;
        // The token is looked at first: a valid token is never refused by
        // the brute-force limiter, which only counts and throttles failures.
        // Okta calls from shared egress addresses, so throttling an address
        // must not stop the tenants whose tokens are right.
        let refused = match bearer(parts) {
            None => ScimError::unauthorized(
                "missing bearer token: send `Authorization: Bearer <token>` with the token shown at install",
            ),
            Some(token) => {
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
                        return Ok(ScimTenant(t));
                    }
                    Ok(None) => ScimError::unauthorized(
                        "invalid bearer token: it is unknown or was revoked by a re-install; paste the current token into Okta",
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "tenant lookup failed");
                        let err = ScimError::unavailable(super::deadline::RETRY_AFTER_SECS);
                        return Err(match e {
                            shared::tenant::TenantError::Redis(_) => err.from_state_store(),
                            _ => err,
                        });
                    }
                }
            }
        };
        // A failure: it counts against the address, and an address over its
        // allowance waits (429).
        let ip = match ClientIp::from_request_parts(parts, app).await {
            Ok(c) => c.0,
            Err(never) => match never {},
        };
        match app.guard.limiter().refused(ip) {
            Some(wait) => Err(ScimError::too_many_requests(wait.as_secs().max(1))),
            None => Err(refused),
        }
    }
}
