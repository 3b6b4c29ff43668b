//! The SCIM user record (`Keys::user`): the ingress's Lua scripts write it
//! atomically with the user's indexes and outbox entry
//! (`ingress/src/store/lua.rs`); the ingress reads it to answer SCIM, the
//! worker to learn the desired state (`worker/src/converge/desired.rs`).
//!
//! A deleted user keeps its hash, flagged [`field::DELETED`] and without
//! its index fields, so the worker can still converge Freshservice.

use serde_json::Value;

use super::{json, number, Hash, RecordError};

/// The hash's field names.
pub mod field {
    super::super::fields! {
        /// The normalised SCIM User as JSON, without `id` and `meta`.
        DOC = "doc";
        /// Bumped by every write; the SCIM ETag and the worker's ordering.
        VERSION = "version";
        /// RFC 3339 time of the create.
        CREATED = "created";
        /// RFC 3339 time of the last write.
        MODIFIED = "modified";
        /// Creation sequence: the user's place in `Keys::users`.
        SEQ = "seq";
        /// userName folded by `identity::fold`, as indexed (so a write can unindex it).
        USER_NAME = "user_name";
        /// externalId as indexed; `''` when the user has none.
        EXTERNAL_ID = "external_id";
        /// JSON array of the folded emails, as indexed.
        EMAILS = "emails";
        /// `1` once SCIM deleted the user, else `0`.
        DELETED = "deleted";
    }
}

/// What a live user is indexed under; removed together on delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserIndex {
    pub user_name_lower: String,
    pub external_id: Option<String>,
    pub email_keys: Vec<String>,
}

/// One stored SCIM user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub doc: Value,
    pub version: u64,
    pub created: String,
    pub modified: String,
    /// Absent only if a hash predates the sequence; no reader needs it.
    pub seq: Option<u64>,
    /// `None` once deleted.
    pub index: Option<UserIndex>,
    pub deleted: bool,
}

impl UserRecord {
    /// `None` when the hash has no document: never written, rolled back or
    /// purged. A document or version that does not read is an error: the
    /// scripts always write both.
    pub fn decode(h: &Hash) -> Result<Option<UserRecord>, RecordError> {
        let Some(doc) = h.get(field::DOC) else {
            return Ok(None);
        };
        let version = h
            .get(field::VERSION)
            .ok_or(RecordError::Missing(field::VERSION))?;
        let index = match h.get(field::USER_NAME) {
            None => None,
            Some(user_name) => Some(UserIndex {
                user_name_lower: user_name.clone(),
                external_id: h.get(field::EXTERNAL_ID).filter(|e| !e.is_empty()).cloned(),
                email_keys: match h.get(field::EMAILS) {
                    Some(raw) => json(field::EMAILS, raw)?,
                    None => Vec::new(),
                },
            }),
        };
        Ok(Some(UserRecord {
            doc: json(field::DOC, doc)?,
            version: number(field::VERSION, version)?,
            created: h.get(field::CREATED).cloned().unwrap_or_default(),
            modified: h.get(field::MODIFIED).cloned().unwrap_or_default(),
            seq: h
                .get(field::SEQ)
                .map(|s| number(field::SEQ, s))
                .transpose()?,
            index,
            deleted: h.get(field::DELETED).map(String::as_str) == Some("1"),
        }))
    }

    /// The hash [`decode`](Self::decode) reads, as the scripts write it.
    /// The scripts write it field by field inside Redis; this is the
    /// reference they are tested against.
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
        if let Some(ix) = &self.index {
            out.push((field::USER_NAME, ix.user_name_lower.clone()));
            out.push((
                field::EXTERNAL_ID,
                ix.external_id.clone().unwrap_or_default(),
            ));
            out.push((
                field::EMAILS,
                serde_json::Value::from(ix.email_keys.clone()).to_string(),
            ));
        }
        out.push((field::DELETED, flag(self.deleted)));
        out
    }
}

/// Flags are `1`/`0`, as Lua's `HSET ... 1` stores them.
pub(super) fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> Hash {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn encoded(r: &UserRecord) -> Hash {
        r.encode()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn live() -> UserRecord {
        UserRecord {
            doc: json!({"userName": "Jo@X.com", "emails": [{"value": "jo@x.com"}]}),
            version: 3,
            created: "2024-05-01T10:00:00.000Z".into(),
            modified: "2024-05-02T11:00:00.000Z".into(),
            seq: Some(7),
            index: Some(UserIndex {
                user_name_lower: "jo@x.com".into(),
                external_id: Some("00u1".into()),
                email_keys: vec!["jo@x.com".into(), "j@y.org".into()],
            }),
            deleted: false,
        }
    }

    #[test]
    fn a_live_user_round_trips() {
        let r = live();
        assert_eq!(UserRecord::decode(&encoded(&r)).unwrap(), Some(r));
    }

    #[test]
    fn a_deleted_user_without_external_id_round_trips() {
        let mut r = live();
        r.index = None;
        r.deleted = true;
        assert_eq!(UserRecord::decode(&encoded(&r)).unwrap(), Some(r.clone()));
        r.index = Some(UserIndex {
            external_id: None,
            ..live().index.unwrap()
        });
        r.deleted = false;
        assert_eq!(UserRecord::decode(&encoded(&r)).unwrap(), Some(r));
    }

    /// Exactly what `create()` in `ingress/src/store/lua.rs` has always
    /// stored (HSET doc, version 1, created, modified, seq, user_name,
    /// external_id, emails, deleted 0): data already in Redis.
    #[test]
    fn a_hash_as_the_create_script_writes_it_reads() {
        let h = hash(&[
            (
                "doc",
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jo@x.com","active":true}"#,
            ),
            ("version", "1"),
            ("created", "2024-05-01T10:00:00.000Z"),
            ("modified", "2024-05-01T10:00:00.000Z"),
            ("seq", "12"),
            ("user_name", "jo@x.com"),
            ("external_id", ""),
            ("emails", r#"["jo@x.com"]"#),
            ("deleted", "0"),
        ]);
        let r = UserRecord::decode(&h).unwrap().unwrap();
        assert_eq!(r.doc["userName"], "jo@x.com");
        assert_eq!(r.version, 1);
        assert_eq!(r.created, "2024-05-01T10:00:00.000Z");
        assert_eq!(r.seq, Some(12));
        assert!(!r.deleted);
        let ix = r.index.clone().unwrap();
        assert_eq!(ix.external_id, None);
        assert_eq!(ix.email_keys, ["jo@x.com"]);
        // And writing it back gives the same hash, field for field.
        assert_eq!(encoded(&r), h);
    }

    /// What `delete()` leaves: `deleted` 1, index fields gone.
    #[test]
    fn a_hash_as_the_delete_script_leaves_it_reads() {
        let h = hash(&[
            ("doc", r#"{"userName":"jo@x.com"}"#),
            ("version", "4"),
            ("created", "2024-05-01T10:00:00.000Z"),
            ("modified", "2024-05-03T10:00:00.000Z"),
            ("seq", "12"),
            ("deleted", "1"),
        ]);
        let r = UserRecord::decode(&h).unwrap().unwrap();
        assert!(r.deleted);
        assert_eq!(r.index, None);
        assert_eq!(r.version, 4);
        assert_eq!(encoded(&r), h);
    }

    #[test]
    fn no_document_is_no_user_and_a_broken_one_is_an_error() {
        assert_eq!(UserRecord::decode(&Hash::new()).unwrap(), None);
        let bad = hash(&[("doc", "{"), ("version", "1")]);
        assert!(matches!(
            UserRecord::decode(&bad),
            Err(RecordError::Invalid { field: "doc", .. })
        ));
        let unversioned = hash(&[("doc", "{}")]);
        assert_eq!(
            UserRecord::decode(&unversioned),
            Err(RecordError::Missing("version"))
        );
    }

    #[test]
    fn field_names_are_the_stored_ones() {
        // Renaming a constant's value would orphan every stored user.
        let names: Vec<&str> = field::ALL.iter().map(|(_, f)| *f).collect();
        assert_eq!(
            names,
            [
                "doc",
                "version",
                "created",
                "modified",
                "seq",
                "user_name",
                "external_id",
                "emails",
                "deleted"
            ]
        );
    }
}
