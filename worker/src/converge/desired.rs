//! Reading a user's latest desired state: the SCIM hash the ingress keeps
//! (`Keys::user`, decoded by `shared::records::user::UserRecord`) turned
//! into a requester body by `shared::mapping`, with the tenant's settings
//! and what `resolve.rs` found for its department and manager. This is the one place that calls the mapping, so
//! its signature can move without touching the rest of the worker.

use std::collections::HashMap;

use serde_json::Value;
use shared::{
    mapping::{AccountFields, MappingError, MappingSettings},
    records::{user::UserRecord, RecordError},
};

use super::plan::Desired;
use super::resolve::{references, Lookup};

/// The stored user, before mapping.
#[derive(Clone, Debug)]
pub struct Stored {
    pub doc: Value,
    pub version: u64,
    pub deleted: bool,
}

impl Stored {
    /// `None` when the hash has no document (never written or purged).
    pub fn from_hash(h: &HashMap<String, String>) -> Result<Option<Stored>, RecordError> {
        Ok(UserRecord::decode(h)?.map(|r| Stored {
            doc: r.doc,
            version: r.version,
            deleted: r.deleted,
        }))
    }
}

/// Maps the stored user onto this account's requester fields, as the
/// tenant's settings say, with the department and manager `lookup` found.
/// `fields` is the account's `GET /requester_fields` answer (Null when it
/// could not be read: the documented defaults apply). An error is
/// permanent: the same state maps the same way next time.
pub fn desired(
    stored: &Stored,
    id: &str,
    fields: &Value,
    settings: &MappingSettings,
    lookup: Lookup,
) -> Result<Desired, MappingError> {
    let account = if fields.is_null() {
        AccountFields::fallback()
    } else {
        AccountFields::from_requester_fields(fields)
    };
    let mapped = shared::mapping::requester::to_requester(
        &stored.doc,
        &account,
        settings,
        &lookup.resolved,
    )?;
    let mut d = Desired::new(
        stored.version,
        &stored.doc,
        stored.deleted,
        mapped.body,
        mapped.warnings,
    );
    d.waiting_for = lookup.waiting_for;
    d.references = references(id, &stored.doc);
    d.released = settings.released.iter().cloned().collect();
    Ok(d)
}
