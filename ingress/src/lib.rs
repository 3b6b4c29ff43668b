//! The ingress: the SCIM 2.0 edge Okta talks to. Thin by design: validate,
//! store in Redis, publish a confirmed change event, answer.

pub mod account;
pub mod app;
pub mod guard;
pub mod http;
pub mod outbox;
pub mod scim;
pub mod serve;
pub mod server;
pub mod state;
pub mod store;
pub mod web;
