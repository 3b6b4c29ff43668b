//! Reading a user's latest desired state: the SCIM hash the ingress keeps
//! (`Keys::user`: `doc`, `version`, `deleted`) turned into a requester body
//! by `shared::mapping`. This is the one place that calls the mapping, so
//! its signature can move without touching the rest of the worker.

use std::collections::HashMap;

use serde_json::Value;
use shared::mapping::{AccountFields, MappingError};

use super::plan::Desired;

/// The stored user, before mapping.
#[derive(Clone, Debug)]
pub struct Stored {
    pub doc: Value,
    pub version: u64,
    pub deleted: bool,
}

impl Stored {
    /// `None` when the hash has no document (never written or purged).
    pub fn from_hash(h: &HashMap<String, String>) -> Result<Option<Stored>, serde_json::Error> {
        let Some(doc) = h.get("doc") else {
            return Ok(None);
        };
        Ok(Some(Stored {
            doc: serde_json::from_str(doc)?,
            version: h.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
            deleted: h.get("deleted").map(String::as_str) == Some("1"),
        }))
    }
}

/// Maps the stored user onto this account's requester fields. `fields` is
/// the account's `GET /requester_fields` answer (Null when it could not be
/// read: the documented defaults apply). An error is permanent: the same
/// state maps the same way next time.
pub fn desired(stored: &Stored, fields: &Value) -> Result<Desired, MappingError> {
    let account = if fields.is_null() {
        AccountFields::fallback()
    } else {
        AccountFields::from_requester_fields(fields)
    };
    let mapped = shared::mapping::requester::to_requester(&stored.doc, &account)?;
    Ok(Desired::new(
        stored.version,
        &stored.doc,
        stored.deleted,
        mapped.body,
        mapped.warnings,
    ))
}
