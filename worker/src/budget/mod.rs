//! The tenant's API budget (invariant 5): a limiter shared by every worker
//! through Redis, smoothed in-process by governor, corrected by
//! Freshservice's `X-Ratelimit-Remaining`, and paused for everyone by a 429.

pub mod limiter;

pub use limiter::{Budget, Grant, Sizing};
