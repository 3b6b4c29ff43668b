//! Code both bridge services share: configuration, the change event that
//! travels on RabbitMQ, how userNames and emails are compared
//! ([`identity`]), the Redis key scheme, the queue topology and
//! publisher, the tenant registry with its secrets, the records the two
//! services share through Redis ([`records`]), the SCIM → Freshservice
//! field mapping, and the Freshservice API client with the tenant's API
//! budget ([`freshservice`]).
//!
//! The only HTTP here is the Freshservice client; the ingress and the
//! worker own their other edges.

pub mod config;
pub mod crypto;
pub mod event;
pub mod freshservice;
pub mod keys;
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
