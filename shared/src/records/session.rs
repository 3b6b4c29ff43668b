//! An admin session (`Keys::web_session`): written at sign-in and read on
//! every request of the settings and status pages, both in
//! `ingress/src/web/session.rs`. The key carries a TTL; the hash holds what
//! the session needs besides its existence.

use super::{Hash, RecordError};

/// The hash's field names.
pub mod field {
    super::super::fields! {
        /// The token every state-changing form of the session must carry.
        CSRF = "csrf";
        /// RFC 3339 time of the sign-in.
        CREATED_AT = "created_at";
    }
}

/// One signed-in admin's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub csrf: String,
    /// Informational; a session is valid without it, as it always was.
    pub created_at: String,
}

impl Session {
    /// `None` when there is no session (expired, signed out, never was).
    /// A session without a CSRF token cannot be used: an error.
    pub fn decode(h: &Hash) -> Result<Option<Session>, RecordError> {
        if h.is_empty() {
            return Ok(None);
        }
        let csrf = h
            .get(field::CSRF)
            .ok_or(RecordError::Missing(field::CSRF))?;
        Ok(Some(Session {
            csrf: csrf.clone(),
            created_at: h.get(field::CREATED_AT).cloned().unwrap_or_default(),
        }))
    }

    pub fn encode(&self) -> [(&'static str, String); 2] {
        [
            (field::CSRF, self.csrf.clone()),
            (field::CREATED_AT, self.created_at.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> Hash {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_session_round_trips() {
        let s = Session {
            csrf: "c".repeat(43),
            created_at: "2024-05-01T10:00:00.123+00:00".into(),
        };
        let h: Hash = s
            .encode()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(Session::decode(&h).unwrap(), Some(s));
    }

    /// Exactly what sign-in has always stored.
    #[test]
    fn a_hash_as_sign_in_writes_it_reads() {
        let h = hash(&[
            ("csrf", "q9T0wqk0Yh2wYv1nq3m1bq5Jx5lZ0s6m3GxJ0w8c2aQ"),
            ("created_at", "2024-05-01T10:00:00.123456789+00:00"),
        ]);
        let s = Session::decode(&h).unwrap().unwrap();
        assert_eq!(s.csrf, "q9T0wqk0Yh2wYv1nq3m1bq5Jx5lZ0s6m3GxJ0w8c2aQ");
        assert_eq!(s.created_at, "2024-05-01T10:00:00.123456789+00:00");
    }

    #[test]
    fn no_hash_is_no_session_and_no_csrf_is_an_error() {
        assert_eq!(Session::decode(&Hash::new()).unwrap(), None);
        assert_eq!(
            Session::decode(&hash(&[("created_at", "t")])),
            Err(RecordError::Missing("csrf"))
        );
    }

    #[test]
    fn field_names_are_the_stored_ones() {
        let names: Vec<&str> = field::ALL.iter().map(|(_, f)| *f).collect();
        assert_eq!(names, ["csrf", "created_at"]);
    }
}
