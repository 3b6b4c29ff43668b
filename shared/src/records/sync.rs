//! The worker's sync record of one user (`Keys::sync`): what it last
//! applied to Freshservice and how the last attempt went. The worker writes
//! it (`worker/src/converge/record.rs`: fenced Lua for an applied version,
//! plain commands for a failure or an unlink) and reads it before each
//! convergence; the status page shows it (`ingress/src/web/status.rs`).
//!
//! Decoding never fails: the record is the worker's memory of its own
//! work, and a value it cannot read means "not known", which makes the
//! worker converge again. Both readers have always treated it so.

use serde_json::{Map, Value};

use super::{json, number, user::flag, Hash};

/// The hash's field names.
pub mod field {
    super::super::fields! {
        /// The user's version last applied; never moves backwards.
        APPLIED_VERSION = "applied_version";
        /// The linked Freshservice requester (`Keys::map_requester` is the
        /// authority; this copy is for display).
        REQUESTER_ID = "requester_id";
        /// JSON object: the requester body last applied, for diffing.
        SNAPSHOT = "snapshot";
        /// `1`/`0`: whether the requester was left active.
        ACTIVE = "active";
        /// RFC 3339 time of the last record or failure.
        UPDATED_AT = "updated_at";
        /// JSON array of mapping warnings of the applied version.
        WARNINGS = "warnings";
        /// Failed attempts since the last success.
        ATTEMPTS = "attempts";
        /// The last failure's message.
        LAST_ERROR = "last_error";
        /// The dead-letter class, once the user was given up on.
        DEAD = "dead";
        /// The reference (`Keys::manager_waiters`) of a manager the applied
        /// version could not name yet: the user is converged again, even at
        /// the same version, when that manager's requester appears.
        WAITING_FOR = "waiting_for";
        /// RFC 3339 time a create was sent for a user not linked yet; gone
        /// once it is linked or the create was answered. Present at the
        /// start of a convergence, it means an earlier create may have
        /// committed without its answer arriving, so the worker looks the
        /// email up before it creates again (`worker/src/converge/machine.rs`).
        CREATE_SENT = "create_sent";
    }
}

/// One user's sync record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncRecord {
    pub applied_version: Option<u64>,
    pub requester_id: Option<u64>,
    pub snapshot: Option<Map<String, Value>>,
    pub active: Option<bool>,
    pub updated_at: Option<String>,
    pub warnings: Vec<String>,
    pub attempts: Option<u32>,
    pub last_error: Option<String>,
    pub dead: Option<String>,
    pub waiting_for: Option<String>,
    pub create_sent: Option<String>,
}

impl SyncRecord {
    /// Reads the record; a missing or unreadable field is `None` (see the
    /// module doc).
    pub fn decode(h: &Hash) -> SyncRecord {
        let get = |f: &'static str| h.get(f).map(String::as_str);
        SyncRecord {
            applied_version: get(field::APPLIED_VERSION)
                .and_then(|v| number(field::APPLIED_VERSION, v).ok()),
            requester_id: get(field::REQUESTER_ID)
                .and_then(|v| number(field::REQUESTER_ID, v).ok()),
            snapshot: get(field::SNAPSHOT)
                .and_then(|s| json::<Value>(field::SNAPSHOT, s).ok())
                .and_then(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                }),
            active: get(field::ACTIVE).map(|a| a == "1"),
            updated_at: get(field::UPDATED_AT).map(str::to_string),
            warnings: get(field::WARNINGS)
                .and_then(|w| json(field::WARNINGS, w).ok())
                .unwrap_or_default(),
            attempts: get(field::ATTEMPTS).and_then(|a| number(field::ATTEMPTS, a).ok()),
            last_error: get(field::LAST_ERROR).map(str::to_string),
            dead: get(field::DEAD).map(str::to_string),
            waiting_for: get(field::WAITING_FOR).map(str::to_string),
            create_sent: get(field::CREATE_SENT).map(str::to_string),
        }
    }

    /// The fields [`decode`](Self::decode) reads, in the format the worker
    /// writes them (its Lua builds the same strings from its ARGV).
    pub fn encode(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |f, v: Option<String>| {
            if let Some(v) = v {
                out.push((f, v));
            }
        };
        put(
            field::APPLIED_VERSION,
            self.applied_version.map(|v| v.to_string()),
        );
        put(
            field::REQUESTER_ID,
            self.requester_id.map(|v| v.to_string()),
        );
        put(
            field::SNAPSHOT,
            self.snapshot
                .as_ref()
                .map(|s| Value::Object(s.clone()).to_string()),
        );
        put(field::ACTIVE, self.active.map(flag));
        put(field::UPDATED_AT, self.updated_at.clone());
        put(field::WARNINGS, Some(encode_warnings(&self.warnings)));
        put(field::ATTEMPTS, self.attempts.map(|a| a.to_string()));
        put(field::LAST_ERROR, self.last_error.clone());
        put(field::DEAD, self.dead.clone());
        put(field::WAITING_FOR, self.waiting_for.clone());
        put(field::CREATE_SENT, self.create_sent.clone());
        out
    }
}

/// The [`field::WARNINGS`] value.
pub fn encode_warnings(warnings: &[String]) -> String {
    serde_json::Value::from(warnings.to_vec()).to_string()
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

    fn encoded(r: &SyncRecord) -> Hash {
        r.encode()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    #[test]
    fn a_full_record_round_trips() {
        let r = SyncRecord {
            applied_version: Some(5),
            requester_id: Some(9001),
            snapshot: json!({"primary_email": "jo@x.com", "first_name": "Jo"})
                .as_object()
                .cloned(),
            active: Some(false),
            updated_at: Some("2024-05-01T10:00:00+00:00".into()),
            warnings: vec!["department dropped".into()],
            attempts: Some(3),
            last_error: Some("Freshservice 500".into()),
            dead: Some("agent".into()),
            waiting_for: Some("m1".into()),
            create_sent: Some("2024-05-01T09:59:00+00:00".into()),
        };
        assert_eq!(SyncRecord::decode(&encoded(&r)), r);
    }

    #[test]
    fn an_empty_record_round_trips() {
        let r = SyncRecord::default();
        assert_eq!(SyncRecord::decode(&encoded(&r)), r);
        assert_eq!(SyncRecord::decode(&Hash::new()), r);
    }

    /// Exactly what RECORD in `worker/src/converge/record.rs` has always
    /// stored after a success, then `failure()` on a later attempt.
    #[test]
    fn a_hash_as_the_worker_writes_it_reads() {
        let ok = hash(&[
            ("requester_id", "17000123"),
            ("snapshot", r#"{"primary_email":"jo@x.com","active":true}"#),
            ("applied_version", "2"),
            ("active", "1"),
            ("updated_at", "2024-05-01T10:00:00.123456+00:00"),
            ("warnings", "[]"),
            ("attempts", "0"),
        ]);
        let r = SyncRecord::decode(&ok);
        assert_eq!(r.applied_version, Some(2));
        assert_eq!(r.requester_id, Some(17000123));
        assert_eq!(r.snapshot.as_ref().unwrap()["primary_email"], "jo@x.com");
        assert_eq!(r.active, Some(true));
        assert_eq!(r.attempts, Some(0));
        assert!(r.warnings.is_empty());
        assert_eq!(encoded(&r), ok);

        let mut failed = ok.clone();
        failed.insert("last_error".into(), "Freshservice said 409".into());
        failed.insert("attempts".into(), "4".into());
        failed.insert("dead".into(), "conflict".into());
        let r = SyncRecord::decode(&failed);
        assert_eq!(r.last_error.as_deref(), Some("Freshservice said 409"));
        assert_eq!(r.attempts, Some(4));
        assert_eq!(r.dead.as_deref(), Some("conflict"));
        assert_eq!(encoded(&r), failed);
    }

    #[test]
    fn unreadable_values_are_unknown() {
        let h = hash(&[
            ("applied_version", "x"),
            ("snapshot", "[1]"),
            ("warnings", "{"),
            ("attempts", "-1"),
        ]);
        assert_eq!(SyncRecord::decode(&h), SyncRecord::default());
    }

    #[test]
    fn field_names_are_the_stored_ones() {
        let names: Vec<&str> = field::ALL.iter().map(|(_, f)| *f).collect();
        assert_eq!(
            names,
            [
                "applied_version",
                "requester_id",
                "snapshot",
                "active",
                "updated_at",
                "warnings",
                "attempts",
                "last_error",
                "dead",
                "waiting_for",
                "create_sent"
            ]
        );
    }
}
