//! SCIM User → Freshservice requester field mapping (`docs/architecture.md`
//! §8),
//! with the two pure readings it rests on: the one parser of
//! `GET /api/v2/requester_fields` ([`requester_fields`]) and when two
//! userNames or emails are one person ([`identity`]).
//!
//! A crate of its own so that it stays pure: no I/O, and none of the
//! broker, Redis, HTTP or crypto crates in its build (`shared` re-exports
//! it as `shared::mapping`, its two readings as `shared::identity` and
//! `shared::freshservice::fields`). The worker feeds it the user's desired
//! SCIM state and the account's requester fields, and sends what comes out:
//!
//! 1. [`AccountFields::from_requester_fields`] reads `GET /requester_fields`
//!    once per account (cache it; [`AccountFields::fallback`] if it fails).
//! 2. [`requester::to_requester`] builds the desired body and warnings, or a
//!    permanent [`MappingError`], as the tenant's [`MappingSettings`] say,
//!    with the department and manager the worker resolved from [`Refs`]
//!    ([`enterprise`]).
//! 3. [`changed_fields`] reduces it to what differs from the last applied
//!    snapshot; [`desired_active`] decides deactivate / reactivate.

pub mod address;
pub mod custom;
pub mod diff;
pub mod enterprise;
pub mod error;
pub mod fields;
pub mod identity;
pub mod locale;
pub mod requester;
pub mod requester_fields;
pub mod settings;
pub mod timezone;

pub use diff::changed_fields;
pub use enterprise::{Refs, Resolution, Resolved};
pub use error::MappingError;
pub use fields::{AccountFields, CustomField, CustomKind};
pub use locale::locale_to_language;
pub use requester::{desired_active, primary_email, Mapped};
pub use settings::{EnterpriseAttr, MappingSettings, Row, ENTERPRISE_URN};
pub use timezone::{iana_to_freshservice, map_time_zone};
