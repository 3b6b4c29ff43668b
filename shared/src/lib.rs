//! Code both bridge services share: configuration, the change event that
//! travels on RabbitMQ, how userNames and emails are compared
//! ([`identity`]), the Redis key scheme, the queue topology and
//! publisher, the tenant registry with its secrets, the records the two
//! services share through Redis ([`records`]), and the SCIM →
//! Freshservice field mapping.
//!
//! Nothing here talks HTTP; the ingress and the worker own their edges.

pub mod config;
pub mod crypto;
pub mod event;
pub mod identity;
pub mod keys;
pub mod mapping;
pub mod queue;
pub mod records;
pub mod redis_conn;
pub mod telemetry;
pub mod tenant;
