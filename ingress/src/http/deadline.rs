//! The per-request deadline for backend work on SCIM routes. While Redis
//! or the broker hangs (a stopped Redis keeps its connections open and
//! answers nothing), each Redis call waits for its response timeout and a
//! request making several of them hung for half a minute. Every SCIM
//! request now answers within `SCIM_BACKEND_TIMEOUT_MS`: the layer cuts
//! the handler at the deadline with a SCIM 503 + `Retry-After`, and the
//! publish of a write gets only what is left of it (`Outbox::publish_or_undo`
//! undoes a write whose event could not be published, in a task the cut
//! does not stop). A write cut while its Redis command was in flight may
//! still land; the outbox sweeper publishes it (`outbox.rs`).

use std::{convert::Infallible, future::Future, time::Duration};

use axum::{
    body::Body,
    extract::{FromRequestParts, Request, State},
    http::request::Parts,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::time::Instant;

use super::MAX_BODY_BYTES;
use crate::scim::error::ScimError;
use crate::state::{AppState, Backend};

/// Seconds Okta is told to wait (`Retry-After`) after a backend 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// When the request's backend work must be done.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Instant);

impl Deadline {
    pub fn after(d: Duration) -> Self {
        Self(Instant::now() + d)
    }

    /// Runs `fut` until the deadline; `None` if it passed first.
    pub async fn run<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::time::timeout_at(self.0, fut).await.ok()
    }

    /// The deadline the layer set, or a fresh one for a route without it.
    pub fn of(parts: &Parts, state: &Backend) -> Self {
        parts
            .extensions
            .get::<Deadline>()
            .copied()
            .unwrap_or_else(|| Self::after(state.config.backend_timeout))
    }
}

impl FromRequestParts<AppState> for Deadline {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::of(parts, &state.backend))
    }
}

/// The layer: reads the body first (the client's upload is not backend
/// time), then gives the rest of the request `SCIM_BACKEND_TIMEOUT_MS`.
pub async fn bound(State(state): State<Backend>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // One byte over the limit, so `ScimJson` still answers its own 413.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await else {
        return ScimError::payload_too_large(MAX_BODY_BYTES).into_response();
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    let deadline = Deadline::after(state.config.backend_timeout);
    req.extensions_mut().insert(deadline);
    match deadline.run(next.run(req)).await {
        Some(resp) => resp,
        None => {
            tracing::warn!(
                timeout_ms = state.config.backend_timeout.as_millis() as u64,
                "backend did not answer within SCIM_BACKEND_TIMEOUT_MS; answering 503"
            );
            ScimError::unavailable(RETRY_AFTER_SECS).into_response()
        }
    }
}
