//! The ingress's SCIM state in Redis: users and groups, their indexes,
//! and the outboxes of writes whose events the broker has not yet
//! confirmed.

pub mod group_lua;
pub mod groups;
pub mod lua;
mod ordered;
pub mod users;

pub use groups::{GroupStore, StoredGroup};

pub use users::{StoreError, StoredUser, UserStore, WriteOutcome};
