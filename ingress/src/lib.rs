//! The ingress: the SCIM 2.0 edge Okta talks to. Thin by design: validate,
//! store in Redis, publish a confirmed change event, answer. It also serves
//! the IT admin's pages (install, settings, status).
//!
//! Layout:
//! - [`server`] starts the ingress: connects Redis and the broker, builds
//!   the state, serves, runs the outbox sweeper, shuts down on a signal.
//! - [`cli`] is the command line (`serve`, and the operator's `tenant …`
//!   and `queues` commands, whose work is in `cli::ops`).
//! - [`config`] is its settings, one typed [`config::IngressConfig`] read
//!   from the environment (what both services read is `shared::config`'s).
//! - `serve` is the HTTP accept loop (header and idle timeouts, the
//!   connection cap, graceful shutdown, the TLS handshake when on);
//!   [`tls`] loads `TLS_CERT_FILE`/`TLS_KEY_FILE` into its acceptor.
//! - `state` is the one `state::AppState`, made of typed parts that
//!   handlers extract with `State<Part>` (`FromRef`): the `Backend`
//!   (configuration, stores, outbox), the `Guard`, the admin pages' `Web`
//!   and the Freshservice `Accounts`.
//! - `app` builds the router: the two route sets below, side by side,
//!   under the request id and tracing layers.
//! - `http` is the SCIM side: `/scim/v2` routes, their extractors (bearer
//!   token, body, deadline) and the health checks.
//! - `web` is the admin side: install, sign-in, settings and status
//!   pages. `http` and `web` never import each other; what both need lives
//!   in the modules beside them:
//!   - `guard`: the client address and the brute-force limiter that
//!     counts failed secrets (SCIM bearer tokens, sign-ins, installs);
//!   - `account`: calls to a tenant's Freshservice account (install
//!     check, settings page, custom fields in `/Schemas`);
//!   - `token_cache`: recently validated bearer tokens (SCIM reads it,
//!     install and uninstall forget a tenant's).
//! - `groups` is the groups service, the same for `/Groups` (members,
//!   the users' `groups` attribute).
//! - `users` is the users service: the read and write paths of
//!   `/Users` (query planning, optimistic updates, publish or undo) with
//!   no HTTP in them; `http::users` only translates.
//! - [`metrics`] is `/metrics`: the HTTP layer, the publisher's observer
//!   and the background collector of queue depths and pending changes.
//! - `request_id` takes or makes each request's `X-Request-Id`.
//! - [`scim`] is the SCIM model (resources, filters, patches, errors);
//!   [`store`] keeps users in Redis; `outbox` publishes change events
//!   and sweeps the ones left unpublished.

mod account;
mod app;
pub mod cli;
pub mod config;
mod groups;
mod guard;
mod http;
pub mod metrics;
mod outbox;
mod request_id;
pub mod scim;
mod serve;
pub mod server;
mod state;
pub mod store;
pub mod tls;
mod token_cache;
mod users;
mod web;
