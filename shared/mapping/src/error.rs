//! Why a SCIM user cannot be turned into a requester body.
//!
//! Every variant is *permanent*: retrying the same SCIM state gives the same
//! error, so the worker dead-letters at once and shows the message to the
//! admin, who fixes the Okta profile or mapping.

/// A SCIM user that cannot be mapped onto this account's requester fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A custom attribute's value does not fit the custom field's type.
    #[error("custom field `{name}` cannot take the value {value}: {reason}")]
    CustomField {
        /// The account's field name.
        name: String,
        /// The offending value as JSON text (strings keep their quotes).
        value: String,
        /// What went wrong and what would fit.
        reason: String,
    },
    /// Okta sends `custom_fields.<name>` but the account has no such field.
    #[error(
        "custom field `{name}` does not exist in this Freshservice account; \
         fix the attribute's External Name in Okta (known custom fields: {})",
        known_list(.known)
    )]
    UnknownCustomField {
        /// The name as Okta sent it.
        name: String,
        /// The account's custom field names, for the admin.
        known: Vec<String>,
    },
    /// Freshservice needs an email or a phone number to identify a requester.
    #[error(
        "the user has no email address (emails, or a userName containing '@') \
         and no work or mobile phone number; Freshservice needs one of them"
    )]
    NoContact,
    /// The stored SCIM document has a shape the mapping cannot read.
    #[error("the SCIM user cannot be mapped: {0}")]
    InvalidUser(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    }
}
