//! SCIM User → Freshservice requester field mapping (`docs/architecture.md` §8),
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
//!    permanent [`MappingError`].
//! 3. [`changed_fields`] reduces it to what differs from the last applied
//!    snapshot; [`desired_active`] decides deactivate / reactivate.

pub mod address;
pub mod custom;
pub mod diff;
pub mod error;
pub mod fields;
pub mod identity;
pub mod locale;
pub mod requester;
pub mod requester_fields;
pub mod timezone;

pub use diff::changed_fields;
pub use error::MappingError;
pub use fields::{AccountFields, CustomField, CustomKind};
pub use locale::locale_to_language;
pub use requester::{desired_active, primary_email, Mapped};
pub use timezone::{iana_to_freshservice, map_time_zone};

use serde_json::{Map, Value};

/// The walking skeleton's requester body: `first_name`, `last_name` (when
/// present) and `primary_email` (falling back to `userName` as is).
///
/// Superseded by [`requester::to_requester`], which maps every row, takes
/// the account's fields and reports errors; kept until callers move, then
/// this name becomes a re-export of that one.
pub fn to_requester(user: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let email = primary_email(user)
        .or_else(|| {
            user.get("userName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let first = requester::first_name(user, Some(&email))
        .map(|(name, _)| name)
        .unwrap_or_else(|| email.clone());
    out.insert("first_name".into(), first.into());
    if let Some(last) = user.pointer("/name/familyName").and_then(Value::as_str) {
        out.insert("last_name".into(), last.into());
    }
    out.insert("primary_email".into(), email.into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skeleton_body_still_works() {
        let user = json!({"userName": "ann@example.com", "name": {"familyName": "Lee"}});
        assert_eq!(
            Value::Object(to_requester(&user)),
            json!({"first_name": "ann", "last_name": "Lee", "primary_email": "ann@example.com"})
        );
        let user = json!({"userName": "jdoe", "name": {"givenName": "Jo"},
                          "emails": [{"value": "jo@x", "primary": true}]});
        assert_eq!(
            Value::Object(to_requester(&user)),
            json!({"first_name": "Jo", "primary_email": "jo@x"})
        );
    }
}
