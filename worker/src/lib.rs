//! The worker: consumes change events and converges each SCIM user onto its
//! Freshservice requester, inside the tenant's API budget. The Freshservice
//! client and the budget are shared with the ingress
//! (`shared/src/freshservice/`).

pub mod cli;
pub mod config;
pub mod consume;
pub mod converge;
pub mod deadletter;
pub mod lease;
pub mod metrics;
pub mod server;
