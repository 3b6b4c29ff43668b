//! The worker's sync record of one group (`Keys::group_sync`): the
//! Freshservice requester group it is mapped to, what it last applied, and
//! how the last attempt went. The worker writes it
//! (`worker/src/converge/group.rs`); the status page shows it
//! (`ingress/src/web/status.rs`). The member ids Freshservice holds are a
//! set of their own (`Keys::group_fs_members`), kept after every call.
//!
//! Decoding never fails, as for the user's sync record: a value that does
//! not read means "not known", and the worker converges again.

use super::{json, number, user::flag, Hash};

/// The hash's field names.
pub mod field {
    super::super::fields! {
        /// The group's version last applied; never moves backwards.
        APPLIED_VERSION = "applied_version";
        /// The Freshservice requester group this SCIM group is mapped to.
        GROUP_ID = "group_id";
        /// The requester group's name as last applied.
        NAME = "name";
        /// `1` once `Keys::group_fs_members` was read back from (or built
        /// on) Freshservice; `0` or absent: read the members back first.
        TRUSTED = "trusted";
        /// JSON array of the SCIM user ids of members that have no active
        /// requester yet; the group is converged again when each appears.
        WAITING = "waiting";
        /// RFC 3339 time of the last record or failure.
        UPDATED_AT = "updated_at";
        /// Failed attempts since the last success.
        ATTEMPTS = "attempts";
        /// The last failure's message, with Freshservice's words.
        LAST_ERROR = "last_error";
        /// The dead-letter class, once the change was given up on.
        DEAD = "dead";
    }
}

/// One group's sync record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupSyncRecord {
    pub applied_version: Option<u64>,
    pub group_id: Option<u64>,
    pub name: Option<String>,
    pub trusted: bool,
    pub waiting: Vec<String>,
    pub updated_at: Option<String>,
    pub attempts: Option<u32>,
    pub last_error: Option<String>,
    pub dead: Option<String>,
}

impl GroupSyncRecord {
    /// Reads the record; a missing or unreadable field is `None`.
    pub fn decode(h: &Hash) -> GroupSyncRecord {
        let get = |f: &'static str| h.get(f).map(String::as_str);
        GroupSyncRecord {
            applied_version: get(field::APPLIED_VERSION)
                .and_then(|v| number(field::APPLIED_VERSION, v).ok()),
            group_id: get(field::GROUP_ID).and_then(|v| number(field::GROUP_ID, v).ok()),
            name: get(field::NAME).map(str::to_string),
            trusted: get(field::TRUSTED) == Some("1"),
            waiting: get(field::WAITING)
                .and_then(|w| json(field::WAITING, w).ok())
                .unwrap_or_default(),
            updated_at: get(field::UPDATED_AT).map(str::to_string),
            attempts: get(field::ATTEMPTS).and_then(|a| number(field::ATTEMPTS, a).ok()),
            last_error: get(field::LAST_ERROR).map(str::to_string),
            dead: get(field::DEAD).map(str::to_string),
        }
    }

    /// The fields [`decode`](Self::decode) reads, as the worker writes them.
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
        put(field::GROUP_ID, self.group_id.map(|v| v.to_string()));
        put(field::NAME, self.name.clone());
        put(field::TRUSTED, Some(flag(self.trusted)));
        put(
            field::WAITING,
            Some(serde_json::Value::from(self.waiting.clone()).to_string()),
        );
        put(field::UPDATED_AT, self.updated_at.clone());
        put(field::ATTEMPTS, self.attempts.map(|a| a.to_string()));
        put(field::LAST_ERROR, self.last_error.clone());
        put(field::DEAD, self.dead.clone());
        out
    }

    /// The state the status page shows.
    pub fn state(&self, version: u64) -> GroupState {
        if self.dead.is_some() {
            GroupState::Failed
        } else if self.applied_version.is_some_and(|a| a >= version) {
            if self.waiting.is_empty() {
                GroupState::InSync
            } else {
                GroupState::Waiting
            }
        } else {
            GroupState::Pending
        }
    }
}

/// A group as the status page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    InSync,
    /// Applied, but some members have no active requester yet.
    Waiting,
    Pending,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(r: &GroupSyncRecord) -> Hash {
        r.encode()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    #[test]
    fn a_record_round_trips() {
        let r = GroupSyncRecord {
            applied_version: Some(4),
            group_id: Some(21),
            name: Some("Branch Managers".into()),
            trusted: true,
            waiting: vec!["u1".into()],
            updated_at: Some("2024-05-01T10:00:00.000Z".into()),
            attempts: Some(0),
            last_error: None,
            dead: None,
        };
        assert_eq!(GroupSyncRecord::decode(&encoded(&r)), r);
        assert_eq!(r.state(4), GroupState::Waiting);
        assert_eq!(r.state(5), GroupState::Pending);
    }

    #[test]
    fn unreadable_fields_mean_not_known() {
        let mut h = Hash::new();
        h.insert(field::GROUP_ID.into(), "x".into());
        h.insert(field::WAITING.into(), "{".into());
        let r = GroupSyncRecord::decode(&h);
        assert_eq!(r.group_id, None);
        assert!(r.waiting.is_empty());
        assert!(!r.trusted);
    }
}
