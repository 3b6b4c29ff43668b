//! Guarding secrets against guessing, for both sides of the ingress (the
//! SCIM bearer check in `http::auth` and the admin pages in `web`): the
//! address a request comes from ([`ClientIp`]) and the brute-force limiter
//! that counts failed attempts per address ([`BruteForce`]). [`Guard`] is
//! the part of the application state that holds them; it is always there,
//! so the SCIM bearer check cannot run without its limiter.

pub mod limiter;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::request::Parts,
};

pub use limiter::BruteForce;

/// The brute-force limiter and how to find the client's address; one per
/// application state (so each test stack has its own limiter).
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    limiter: BruteForce,
    trust_forwarded_for: bool,
}

impl Guard {
    /// Allows `failures_per_min` failures per address (`WEB_AUTH_FAILURES_PER_MIN`);
    /// `trust_forwarded_for` is `WEB_TRUST_FORWARDED_FOR`.
    pub fn new(failures_per_min: u32, trust_forwarded_for: bool) -> Self {
        Self {
            inner: Arc::new(GuardInner {
                limiter: BruteForce::new(failures_per_min),
                trust_forwarded_for,
            }),
        }
    }

    pub fn limiter(&self) -> &BruteForce {
        &self.inner.limiter
    }

    /// Whether the client's address is read from `X-Forwarded-For`.
    pub fn trust_forwarded_for(&self) -> bool {
        self.inner.trust_forwarded_for
    }
}

/// The client's address, for the brute-force limiter. Behind a reverse
/// proxy set `WEB_TRUST_FORWARDED_FOR=1` to use the last address of
/// `X-Forwarded-For` (the one the proxy appended).
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Guard: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if Guard::from_ref(state).trust_forwarded_for() {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(ip))
    }
}
