//! The IT admin's side of the ingress: the install API and page, sign-in
//! with a session cookie, the settings page (requester fields with their
//! Okta External Names, the API budget, replacing the API key, uninstall)
//! and the status page (counts, dead letters with replay, user search).
//!
//! Pages are server-rendered HTML (maud, escaped by construction) with one
//! small script for copy buttons, the install form and self-refresh. The
//! JSON API (`/api/install`) has one error type, [`error::WebError`], with
//! one mapping to HTTP. Secrets (bearer token, API key) appear on a page
//! only once, in the install answer, and never in a log or an error.

pub mod assets;
pub mod config;
pub mod deadletters;
pub mod error;
pub mod install;
pub mod layout;
pub mod limiter;
pub mod origin;
pub mod session;
pub mod settings;
pub mod status;

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, OnceLock},
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{header, request::Parts, HeaderValue},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
    Extension, Router,
};

use crate::{account, http::AppState};

pub use config::WebConfig;

/// State of the admin pages, one per router (so each test stack has its
/// own limiter). Reached by handlers as an `Extension`.
#[derive(Clone)]
pub struct Web {
    inner: Arc<WebInner>,
}

struct WebInner {
    config: WebConfig,
    limiter: limiter::BruteForce,
    dead: deadletters::DeadLetters,
    fs: OnceLock<account::Accounts>,
}

impl Web {
    pub fn new(config: WebConfig) -> Self {
        Self {
            inner: Arc::new(WebInner {
                limiter: limiter::BruteForce::new(config.failures_per_min),
                dead: deadletters::DeadLetters::new(config.dead_letter_cache),
                config,
                fs: OnceLock::new(),
            }),
        }
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub fn limiter(&self) -> &limiter::BruteForce {
        &self.inner.limiter
    }

    pub fn dead(&self) -> &deadletters::DeadLetters {
        &self.inner.dead
    }

    /// The calls to Freshservice, built on first use from the ingress
    /// config (they need its Redis for the tenant's budget).
    pub fn fs(&self, state: &AppState) -> &account::Accounts {
        self.inner.fs.get_or_init(|| {
            let config = &self.inner.config;
            account::Accounts::new(
                state.config.common.freshservice_url_template.clone(),
                config.freshservice_timeout,
                shared::freshservice::Budget::new(
                    state.redis.clone(),
                    state.tenants.keys().clone(),
                    config.rate_window,
                ),
                config.default_rate_limit,
                state.config.backend_timeout,
            )
        })
    }
}

/// The admin routes; merged into the ingress router by `http::router`.
/// The admin routes. `web` is also layered over the whole router by
/// `http::router`, so the SCIM bearer check shares its brute-force limiter.
pub fn routes(web: Web) -> Router<AppState> {
    Router::new()
        .route("/", get(install::page))
        .route("/install", post(install::form))
        .route(
            "/api/install",
            post(install::create).delete(install::remove),
        )
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signout", post(session::signout))
        .route("/settings", get(settings::page))
        .route("/settings/budget", post(settings::budget))
        .route("/settings/api-key", post(settings::api_key))
        .route("/settings/uninstall", post(settings::uninstall))
        .route("/status", get(status::page))
        .route("/status/replay", post(status::replay))
        .route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .layer(middleware::from_fn(security_headers))
        .layer(Extension(web))
}

/// Headers every admin page and API answer carries: no caching (a page
/// may show a token once), a strict CSP (scripts and styles only from
/// `/assets`), no framing, no referrer.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::CACHE_CONTROL, "no-store");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    resp
}

/// The client's address, for the brute-force limiter. Behind a reverse
/// proxy set `WEB_TRUST_FORWARDED_FOR=1` to use the last address of
/// `X-Forwarded-For` (the one the proxy appended).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trust = parts
            .extensions
            .get::<Web>()
            .is_some_and(|w| w.config().trust_forwarded_for);
        if trust {
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
