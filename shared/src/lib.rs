//! Code both bridge services share: the configuration both read
//! ([`config`]; each service reads its own settings with its readers), the
//! change event that travels on RabbitMQ, the Redis key scheme, the queue
//! topology and publisher, the tenant registry with its secrets, the
//! records the two services share through Redis ([`records`]), and the
//! Freshservice API client with the tenant's API budget
//! ([`freshservice`]).
//!
//! The SCIM → Freshservice field mapping and how userNames and emails are
//! compared are the pure `mapping` crate (`shared/mapping/`), re-exported
//! here as [`mapping`] and [`identity`].
//!
//! The only HTTP here is the Freshservice client; the ingress and the
//! worker own their other edges.

pub mod cli;
pub mod config;
pub mod crypto;
pub mod event;
pub mod freshservice;
pub mod keys;
pub mod pending;
pub mod queue;
pub mod records;
pub mod redis_conn;
pub mod shutdown;
pub mod telemetry;
pub mod tenant;

// The pure rules live in their own crate (no broker, Redis or HTTP in its
// build); these keep their `shared::` paths.
pub use mapping;
pub use mapping::identity;
