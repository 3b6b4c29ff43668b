//! Each request's id (`X-Request-Id`): the client's own when it sent a
//! usable one (1 to 128 visible ASCII characters), else a new UUID v4. The
//! layer in `app::router` sets it on the request before anything else runs;
//! the tracing span logs it, the response echoes it
//! (`PropagateRequestIdLayer`), and every change event the request
//! publishes carries it in its AMQP headers (`shared/src/queue/publish.rs`),
//! so the worker logs it on each Freshservice call it makes for the change.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

/// The header, on requests and responses.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client id taken as is.
pub const MAX_LEN: usize = 128;

/// Whether a client's id is used as is: 1..=128 visible ASCII characters
/// (no spaces or control characters, which would break log lines).
pub fn usable(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= MAX_LEN && v.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The middleware (`axum::middleware::from_fn`).
pub async fn assign(mut req: Request, next: Next) -> Response {
    let keep = req
        .headers()
        .get(&HEADER)
        .is_some_and(|v| usable(v.as_bytes()));
    if !keep {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(v) = HeaderValue::from_str(&id) {
            req.headers_mut().insert(HEADER, v);
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ascii_is_kept() {
        assert!(usable(b"test-0f3c"));
        assert!(usable("a".repeat(MAX_LEN).as_bytes()));
        assert!(!usable("a".repeat(MAX_LEN + 1).as_bytes()));
        assert!(!usable(b""));
        assert!(!usable(b"has space"));
        assert!(!usable(b"tab\there"));
        assert!(!usable("caf\u{e9}".as_bytes()));
    }
}
