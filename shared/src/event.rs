//! The change event that travels from the ingress to the workers.
//!
//! An event is a *trigger*, not a payload: it names a resource and the version
//! the writer produced. The worker always reads the latest desired state from
//! Redis, so duplicates and reordering cannot move Freshservice backwards
//! (`docs/architecture.md` §3, invariant 3). The JSON carries `v` so the
//! format can grow.

use serde::{Deserialize, Serialize};

/// Current wire version of [`ChangeEvent`].
pub const EVENT_VERSION: u32 = 1;

/// What kind of resource changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The wire name (`user`, `group`), for logs and listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Wire format version ([`EVENT_VERSION`]).
    pub v: u32,
    pub kind: ResourceKind,
    pub tenant: String,
    /// SCIM id of the resource.
    pub id: String,
    /// Version the write produced; the worker skips events older than what
    /// it has applied.
    pub version: u64,
    /// Request id of the SCIM call, so one change can be followed in logs
    /// from ingress to worker.
    pub request_id: String,
    /// RFC 3339 time of the write, for event-age metrics.
    pub at: String,
    /// Tries so far for a retryable failure (0 on the first delivery).
    #[serde(default)]
    pub attempt: u32,
}

impl ChangeEvent {
    pub fn user(tenant: &str, id: &str, version: u64, request_id: &str) -> Self {
        Self {
            v: EVENT_VERSION,
            kind: ResourceKind::User,
            tenant: tenant.to_string(),
            id: id.to_string(),
            version,
            request_id: request_id.to_string(),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            attempt: 0,
        }
    }

    pub fn group(tenant: &str, id: &str, version: u64, request_id: &str) -> Self {
        Self {
            kind: ResourceKind::Group,
            ..Self::user(tenant, id, version, request_id)
        }
    }

    /// The event of a `kind` resource.
    pub fn of(kind: ResourceKind, tenant: &str, id: &str, version: u64, request_id: &str) -> Self {
        match kind {
            ResourceKind::User => Self::user(tenant, id, version, request_id),
            ResourceKind::Group => Self::group(tenant, id, version, request_id),
        }
    }

    /// Version 0 asks for a recheck at whatever version is applied: a group
    /// whose member's requester appeared, was deactivated or reactivated
    /// (`worker/src/converge/group.rs`), or a user waiting for a manager.
    pub fn is_recheck(&self) -> bool {
        self.version == 0
    }

    // Strings and integers only: serialising cannot fail.
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("event serialises")
    }

    /// Parses an event, refusing wire versions this build does not know.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventError> {
        let ev: ChangeEvent = serde_json::from_slice(bytes).map_err(EventError::Malformed)?;
        if ev.v != EVENT_VERSION {
            return Err(EventError::UnknownVersion(ev.v));
        }
        Ok(ev)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("malformed change event: {0}")]
    Malformed(serde_json::Error),
    #[error("change event has wire version {0}, this build understands {EVENT_VERSION}")]
    UnknownVersion(u32),
}

/// A change that could not be applied, as kept on the dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event: ChangeEvent,
    /// Why it was given up on.
    pub class: DeadClass,
    /// What went wrong, with Freshservice's own error text where there is one.
    pub reason: String,
    /// RFC 3339 time it was dead-lettered.
    pub at: String,
}

/// The class of a dead letter: why the worker gave up on a change. Kept on
/// the dead-letter queue and in the sync record as its snake_case name
/// (`as_str`); a name this build does not know (written by a newer one)
/// reads back as [`DeadClass::Other`], so no dead letter becomes unreadable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DeadClass {
    /// A retryable failure (429, 5xx, timeout) outlasted `WORKER_MAX_ATTEMPTS`.
    RetriesExhausted,
    /// Freshservice refused the change (validation, a redirect…); a retry
    /// would get the same answer.
    Permanent,
    /// The email belongs to a Freshservice agent.
    AgentEmail,
    /// A value cannot be mapped onto the account's fields.
    Mapping,
    /// The tenant is gone or unreadable.
    Tenant,
    /// The stored SCIM user could not be read.
    CorruptState,
    Other(String),
}

impl DeadClass {
    pub fn as_str(&self) -> &str {
        match self {
            Self::RetriesExhausted => "retries_exhausted",
            Self::Permanent => "permanent",
            Self::AgentEmail => "agent_email",
            Self::Mapping => "mapping",
            Self::Tenant => "tenant",
            Self::CorruptState => "corrupt_state",
            Self::Other(s) => s,
        }
    }
}

impl From<String> for DeadClass {
    fn from(s: String) -> Self {
        match s.as_str() {
            "retries_exhausted" => Self::RetriesExhausted,
            "permanent" => Self::Permanent,
            "agent_email" => Self::AgentEmail,
            "mapping" => Self::Mapping,
            "tenant" => Self::Tenant,
            "corrupt_state" => Self::CorruptState,
            _ => Self::Other(s),
        }
    }
}

impl From<DeadClass> for String {
    fn from(c: DeadClass) -> Self {
        c.as_str().to_owned()
    }
}

impl std::fmt::Display for DeadClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DeadClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_classes_keep_their_stored_names() {
        for c in [
            DeadClass::RetriesExhausted,
            DeadClass::Permanent,
            DeadClass::AgentEmail,
            DeadClass::Mapping,
            DeadClass::Tenant,
            DeadClass::CorruptState,
        ] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<DeadClass>(&json).unwrap(), c);
        }
        assert_eq!(DeadClass::RetriesExhausted, "retries_exhausted");
        let newer: DeadClass = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(newer, DeadClass::Other("from_the_future".into()));
    }

    #[test]
    fn round_trip_and_version_check() {
        let ev = ChangeEvent::user("t", "u", 3, "r");
        assert_eq!(ChangeEvent::from_json(&ev.to_json()).unwrap(), ev);
        let mut bad: serde_json::Value = serde_json::from_slice(&ev.to_json()).unwrap();
        bad["v"] = 99.into();
        let err = ChangeEvent::from_json(bad.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, EventError::UnknownVersion(99)));
        assert!(ChangeEvent::from_json(b"{").is_err());
    }

    #[test]
    fn kinds_keep_their_wire_names() {
        for k in [ResourceKind::User, ResourceKind::Group] {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        let g = ChangeEvent::group("t", "g", 0, "r");
        assert!(g.is_recheck());
        assert_eq!(g.kind, ResourceKind::Group);
    }
}
