//! The SCIM group record (`Keys::group`), written atomically with the
//! group's members (`Keys::group_members`), indexes, the users' reverse
//! index (`Keys::user_groups`) and the group outbox by the ingress's Lua
//! scripts (`ingress/src/store/group_lua.rs`); read by the ingress to
//! answer SCIM and by the worker to learn the desired group
//! (`worker/src/converge/group.rs`).
//!
//! Members live in their own hash, not in the document: a PATCH that adds
//! one member changes one field, and the worker reads the member ids
//! without parsing the document. A deleted group keeps this hash, flagged
//! [`field::DELETED`], without index fields or members, so the worker can
//! still delete the requester group.

use serde_json::Value;

use super::{json, number, user::flag, Hash, RecordError};

/// The hash's field names.
pub mod field {
    super::super::fields! {
        /// JSON object: `displayName` and, when given, `externalId`.
        DOC = "doc";
        /// Bumped by every write; the SCIM ETag and the worker's ordering.
        VERSION = "version";
        /// RFC 3339 time of the create.
        CREATED = "created";
        /// RFC 3339 time of the last write.
        MODIFIED = "modified";
        /// Creation sequence: the group's place in `Keys::groups`.
        SEQ = "seq";
        /// displayName folded by `identity::fold`, as indexed.
        NAME_KEY = "name_key";
        /// externalId as indexed; `''` when the group has none.
        EXTERNAL_ID = "external_id";
        /// `1` once SCIM deleted the group, else `0`.
        DELETED = "deleted";
    }
}

/// The document's member names.
pub const DISPLAY_NAME: &str = "displayName";
pub const EXTERNAL_ID: &str = "externalId";

/// One stored SCIM group (its members are in `Keys::group_members`).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub doc: Value,
    pub version: u64,
    pub created: String,
    pub modified: String,
    pub seq: Option<u64>,
    /// `None` once deleted.
    pub name_key: Option<String>,
    pub external_id: Option<String>,
    pub deleted: bool,
}

impl GroupRecord {
    /// `None` when the hash has no document (never written, rolled back or
    /// purged). A document or version that does not read is an error.
    pub fn decode(h: &Hash) -> Result<Option<GroupRecord>, RecordError> {
        let Some(doc) = h.get(field::DOC) else {
            return Ok(None);
        };
        let version = h
            .get(field::VERSION)
            .ok_or(RecordError::Missing(field::VERSION))?;
        Ok(Some(GroupRecord {
            doc: json(field::DOC, doc)?,
            version: number(field::VERSION, version)?,
            created: h.get(field::CREATED).cloned().unwrap_or_default(),
            modified: h.get(field::MODIFIED).cloned().unwrap_or_default(),
            seq: h
                .get(field::SEQ)
                .map(|s| number(field::SEQ, s))
                .transpose()?,
            name_key: h.get(field::NAME_KEY).cloned(),
            external_id: h.get(field::EXTERNAL_ID).filter(|e| !e.is_empty()).cloned(),
            deleted: h.get(field::DELETED).map(String::as_str) == Some("1"),
        }))
    }

    /// The group's displayName (`''` if the document lacks one).
    pub fn display_name(&self) -> &str {
        self.doc
            .get(DISPLAY_NAME)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The hash [`decode`](Self::decode) reads, as the scripts write it.
    pub fn encode(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (field::DOC, self.doc.to_string()),
            (field::VERSION, self.version.to_string()),
            (field::CREATED, self.created.clone()),
            (field::MODIFIED, self.modified.clone()),
        ];
        if let Some(seq) = self.seq {
            out.push((field::SEQ, seq.to_string()));
        }
        if let Some(k) = &self.name_key {
            out.push((field::NAME_KEY, k.clone()));
            out.push((
                field::EXTERNAL_ID,
                self.external_id.clone().unwrap_or_default(),
            ));
        }
        out.push((field::DELETED, flag(self.deleted)));
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn encoded(r: &GroupRecord) -> Hash {
        r.encode()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn live() -> GroupRecord {
        GroupRecord {
            doc: json!({"displayName": "Branch Managers", "externalId": "8aa1"}),
            version: 2,
            created: "2024-05-01T10:00:00.000Z".into(),
            modified: "2024-05-02T11:00:00.000Z".into(),
            seq: Some(3),
            name_key: Some("branch managers".into()),
            external_id: Some("8aa1".into()),
            deleted: false,
        }
    }

    #[test]
    fn a_live_group_round_trips() {
        let r = live();
        assert_eq!(GroupRecord::decode(&encoded(&r)).unwrap(), Some(r.clone()));
        assert_eq!(r.display_name(), "Branch Managers");
    }

    #[test]
    fn a_deleted_group_round_trips() {
        let mut r = live();
        r.name_key = None;
        r.external_id = None;
        r.deleted = true;
        assert_eq!(GroupRecord::decode(&encoded(&r)).unwrap(), Some(r));
    }

    #[test]
    fn no_document_is_no_group_and_a_bad_version_is_an_error() {
        assert_eq!(GroupRecord::decode(&Hash::new()).unwrap(), None);
        let mut h = encoded(&live());
        h.insert(field::VERSION.into(), "x".into());
        assert!(GroupRecord::decode(&h).is_err());
    }
}
