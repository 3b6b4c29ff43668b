//! The ingress's SCIM state in Redis: users, their indexes, and the
//! outbox of writes whose events the broker has not yet confirmed.

pub mod lua;
pub mod users;

pub use users::{StoreError, StoredUser, UserStore, WriteOutcome};
