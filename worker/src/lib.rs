//! The worker: consumes change events and converges each SCIM user onto its
//! Freshservice requester, inside the tenant's API budget.

pub mod budget;
pub mod cli;
pub mod consume;
pub mod converge;
pub mod deadletter;
pub mod freshservice;
pub mod lease;
pub mod metrics;
pub mod server;
