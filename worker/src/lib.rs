//! The worker: consumes change events and converges each SCIM user onto its
//! Freshservice requester, inside the tenant's API budget. The Freshservice
//! client and the budget are shared with the ingress
//! (`shared/src/freshservice/`).
//!
//! Its settings are [`config::WorkerConfig`], read from the environment
//! (what both services read is `shared::config`'s). `consume` (queues and
//! acks) is the only module no other crate needs.

pub mod cli;
pub mod config;
mod consume;
pub mod converge;
pub mod deadletter;
pub mod lease;
pub mod metrics;
pub mod resync;
pub mod server;
