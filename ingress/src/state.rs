//! The application state: built once ([`AppState::new`], from
//! `server::state`), cloned per request, and made of typed parts that
//! handlers extract with `State<Part>` (axum's `FromRef`), so a handler
//! asking for a part the state lacks does not compile.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::tenant::TenantStore;

use crate::config::IngressConfig;

use crate::{
    account::Accounts,
    guard::Guard,
    metrics::IngressMetrics,
    outbox::Outbox,
    store::{GroupStore, UserStore},
    token_cache::TokenCache,
    web::Web,
};

/// Everything both sides of the ingress serve from.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Configuration, stores, outbox: what SCIM handlers and pages read.
    pub backend: Backend,
    /// The brute-force limiter and the client address setting.
    pub guard: Guard,
    /// The admin pages' own state (their settings, the dead-letter cache).
    pub web: Web,
    /// Calls to Freshservice accounts (install check, settings, `/Schemas`).
    pub accounts: Arc<Accounts>,
    /// What `/metrics` serves.
    pub metrics: Arc<IngressMetrics>,
}

impl AppState {
    /// Builds the parts that derive from the configuration around
    /// `backend`; `metrics` is the one the publisher already reports to.
    pub fn new(backend: Backend, metrics: Arc<IngressMetrics>) -> Self {
        let config = &backend.config;
        let web_config = &config.web;
        let guard = Guard::new(web_config.failures_per_min, web_config.trust_forwarded_for);
        let accounts = Accounts::new(
            config.common.freshservice_url_template.clone(),
            web_config.freshservice_timeout,
            shared::freshservice::Budget::new(
                backend.redis.clone(),
                backend.tenants.keys().clone(),
                web_config.rate_window,
            ),
            web_config.default_rate_limit,
            config.backend_timeout,
        );
        Self {
            guard,
            web: Web::new(
                web_config.clone(),
                shared::queue::QueueDepth::new(
                    config.common.amqp_url.clone(),
                    config.backend_timeout,
                ),
            ),
            accounts: Arc::new(accounts),
            backend,
            metrics,
        }
    }
}

/// Configuration, stores and outbox, cloned per request (all fields are
/// handles).
#[derive(Clone)]
pub struct Backend {
    pub config: Arc<IngressConfig>,
    pub tenants: TenantStore,
    pub users: UserStore,
    pub groups: GroupStore,
    pub outbox: Outbox,
    /// Direct Redis handle for small reads (caches) outside the stores.
    pub redis: redis::aio::ConnectionManager,
    /// Recently validated bearer tokens (see `token_cache`).
    pub tokens: Arc<TokenCache>,
}

impl Backend {
    /// Base of SCIM resource locations, e.g. `https://bridge.example/scim/v2`.
    pub fn scim_base(&self) -> String {
        format!("{}/scim/v2", self.config.public_base_url)
    }
}
