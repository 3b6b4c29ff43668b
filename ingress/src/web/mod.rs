//! The IT admin's side of the ingress: the install API and page, sign-in
//! with a session cookie, the settings page (requester fields with their
//! Okta External Names, the API budget, replacing the API key, uninstall)
//! and the status page (counts, dead letters with replay, user search).
//!
//! Pages are server-rendered HTML (maud, escaped by construction) with one
//! small script for copy buttons, the install form and self-refresh. The
//! handlers here gather what a page shows; `views` renders it, one module
//! per page. The JSON API (`/api/install`) has one error type,
//! [`error::WebError`], with one mapping to HTTP. Secrets (bearer token, API key) appear on a page
//! only once, in the install answer, and never in a log or an error.

pub mod assets;
pub mod config;
pub mod deadletters;
pub mod error;
pub mod install;
pub mod origin;
pub mod session;
pub mod settings;
pub mod status;
mod views;

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub use config::WebConfig;

/// The admin pages' own state, a part of `AppState` (handlers take
/// `State<Web>`): their settings and the dead-letter cache.
#[derive(Clone)]
pub struct Web {
    inner: Arc<WebInner>,
}

struct WebInner {
    config: WebConfig,
    dead: deadletters::DeadLetters,
    depth: shared::queue::QueueDepth,
}

impl Web {
    /// `depth` reads the status page's queue depth over its own
    /// long-lived broker connection.
    pub fn new(config: WebConfig, depth: shared::queue::QueueDepth) -> Self {
        Self {
            inner: Arc::new(WebInner {
                dead: deadletters::DeadLetters::new(config.dead_letter_cache),
                config,
                depth,
            }),
        }
    }

    pub fn queue_depth(&self) -> &shared::queue::QueueDepth {
        &self.inner.depth
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub fn dead(&self) -> &deadletters::DeadLetters {
        &self.inner.dead
    }
}

/// The admin routes; merged with the SCIM routes by `app::router`.
pub fn routes() -> Router<AppState> {
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
        .route("/settings/mapping", post(settings::mapping))
        .route("/settings/api-key", post(settings::api_key))
        .route("/settings/uninstall", post(settings::uninstall))
        .route("/status", get(status::page))
        .route("/status/replay", post(status::replay))
        .route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .layer(middleware::from_fn(security_headers))
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
