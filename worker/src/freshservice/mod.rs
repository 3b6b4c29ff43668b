//! Talking to Freshservice API v2: the HTTP client and the classification
//! of its failures (invariant 6).

pub mod client;
pub mod error;

pub use client::{Answer, Call, FsClient, Requester, Sent};
pub use error::FsError;
