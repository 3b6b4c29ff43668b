//! Freshservice API v2 simulator: test equipment for the Okta → Freshservice bridge and a
//! local stand-in for a real Freshservice account.
//!
//! Many accounts are served on one port under path prefixes
//! (`http://127.0.0.1:PORT/{domain}/api/v2/...`), each faithful to
//! `docs/freshservice.md` (section by section): requesters and their validation, requester
//! fields, requester groups, departments, locations, agents, pagination, the per-minute
//! budget with its headers and 429s, and switchable faults. `/_sim/...` is the admin API.
//!
//! What the reference leaves unconfirmed, the simulator plays both ways, one switch per
//! account (`accounts::Unconfirmed`; seed file, `POST /_sim/accounts`, or
//! `PUT /_sim/accounts/{domain}/settings`):
//! - `email_unique` (default true): a create or update with an email another user holds
//!   answers `duplicate_value`; false: accepted, two requesters may share an email.
//! - `external_id`: `writable` (default) or `refused` (a body carrying it answers 400
//!   `invalid_field` on `external_id`).
//! - `email_lookup_includes_deactivated` (default true): whether `GET /requesters?email=`
//!   lists deactivated requesters.
//! - `search_lag_ms` (default 0): `query=` misses a requester created or changed less
//!   than this long ago; `email_lookup_lag_ms` (default 0) does the same to `?email=`.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod directory;
pub mod errors;
pub mod faults;
pub mod fields;
pub mod gate;
pub mod groups;
pub mod paging;
pub mod query;
pub mod ratelimit;
pub mod requesters;
pub mod server;
pub mod timezones;
pub mod validation;

pub use accounts::{AccountSpec, Seed, SimOptions, SimState};
pub use server::{serve, Sim};

/// The whole simulator (admin API and Freshservice API) as one router. Serve it with
/// [`serve`] so that dropped-connection faults really close the socket.
pub fn router(state: SimState) -> axum::Router {
    admin::router(state.clone()).merge(api::router(state))
}
