//! The records the two services share through Redis, as types: each one's
//! hash field names, and its encoding and decoding, live here and nowhere
//! else, so renaming a field breaks the build instead of production.
//!
//! | record | key | written by | read by |
//! |---|---|---|---|
//! | [`user::UserRecord`] | `Keys::user` | the ingress's Lua scripts (`ingress/src/store/lua.rs`) | the ingress (`ingress/src/store/users.rs`, `ingress/src/web/status.rs`), the worker (`worker/src/converge/desired.rs`) |
//! | [`sync::SyncRecord`] | `Keys::sync` | the worker (`worker/src/converge/record.rs`, fenced Lua and plain pipelines) | the worker (same file), the status page (`ingress/src/web/status.rs`) |
//! | [`settings::TenantSettings`] | `Keys::settings` | the settings page (`ingress/src/web/settings.rs`) | the worker (`worker/src/converge/mod.rs`), the settings page |
//! | [`group::GroupRecord`] | `Keys::group` (members: `Keys::group_members`) | the ingress's Lua scripts (`ingress/src/store/group_lua.rs`) | the ingress (`ingress/src/store/groups.rs`), the worker (`worker/src/converge/group.rs`) |
//! | [`group_sync::GroupSyncRecord`] | `Keys::group_sync` | the worker (`worker/src/converge/group.rs`) | the worker, the status page (`ingress/src/web/status.rs`) |
//! | [`session::Session`] | `Keys::web_session` | the ingress's sign-in (`ingress/src/web/session.rs`) | the same file, on every admin request |
//!
//! Values are Redis strings: numbers in decimal, flags as `1`/`0`, JSON
//! where a field holds a list or a document. The formats are the ones the
//! bridge has always written; each module keeps a fixture of that format,
//! so data already in Redis keeps reading.
//!
//! **Lua.** The scripts that write these hashes atomically do not spell a
//! field name. Each script starts with a table rendered from the constants
//! by [`lua_fields`] (`local F = {DOC = 'doc', ...}`) and says `F.DOC`.
//! Passing the names as ARGV would make every script a puzzle of indexes;
//! rendering the table keeps them readable and still takes every name from
//! one constant. Lua does not fail on an unknown table key (it yields nil),
//! so the script owners test that every `F.X` they use is a known field and
//! that no quoted field name crept back in ([`lua_field_refs`],
//! [`quoted_fields`]).

pub mod group;
pub mod group_sync;
pub mod session;
pub mod settings;
pub mod sync;
pub mod user;

use std::collections::HashMap;

/// A hash as `HGETALL` returns it.
pub type Hash = HashMap<String, String>;

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    #[error("field `{field}` holds an unreadable value: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// One record's fields: (the constant's name, the field name in Redis).
pub type Fields = &'static [(&'static str, &'static str)];

/// Declares a record's field-name constants and the [`Fields`] list the
/// Lua table is rendered from, from one list, so neither can forget one.
macro_rules! fields {
    ($( $(#[$doc:meta])* $name:ident = $value:literal; )*) => {
        $( $(#[$doc])* pub const $name: &str = $value; )*
        /// Every field of the record, for [`super::lua_fields`].
        pub const ALL: $crate::records::Fields = &[ $( (stringify!($name), $name) ),* ];
    };
}
pub(crate) use fields;

/// Renders `local F = {NAME = 'field', ...}` for a script's first line.
pub fn lua_fields(fields: Fields) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{name} = '{value}'"))
        .collect();
    format!("local F = {{{}}}\n", body.join(", "))
}

/// The names a script reads from the field table (`F.NAME`), so a test can
/// check each one against [`Fields`]: Lua would yield nil for a typo.
pub fn lua_field_refs(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("F.") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && len > 0 {
            out.push(&after[..len]);
        }
        rest = &after[len..];
    }
    out
}

/// Field names that appear quoted (`'doc'` or `"doc"`) in a script: a
/// field spelled by hand instead of through the table.
pub fn quoted_fields(script: &str, fields: Fields) -> Vec<&'static str> {
    fields
        .iter()
        .map(|(_, f)| *f)
        .filter(|f| script.contains(&format!("'{f}'")) || script.contains(&format!("\"{f}\"")))
        .collect()
}

/// Decodes a decimal field.
fn number<T: std::str::FromStr>(field: &'static str, raw: &str) -> Result<T, RecordError>
where
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e: T::Err| RecordError::Invalid {
        field,
        reason: e.to_string(),
    })
}

/// Decodes a JSON field.
fn json<T: serde::de::DeserializeOwned>(field: &'static str, raw: &str) -> Result<T, RecordError> {
    serde_json::from_str(raw).map_err(|e| RecordError::Invalid {
        field,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: Fields = &[("DOC", "doc"), ("VERSION", "version")];

    #[test]
    fn the_lua_table_maps_constant_names_to_fields() {
        assert_eq!(
            lua_fields(FIELDS),
            "local F = {DOC = 'doc', VERSION = 'version'}\n"
        );
    }

    #[test]
    fn field_refs_are_found_and_other_names_ignored() {
        let s = "redis.call('HGET', KEYS[1], F.DOC) local x = REF.Y; HSET(F.VERSION,1)";
        assert_eq!(lua_field_refs(s), ["DOC", "VERSION"]);
    }

    #[test]
    fn a_hand_spelled_field_is_reported() {
        assert_eq!(quoted_fields("HGET(KEYS[1], 'doc')", FIELDS), ["doc"]);
        assert!(quoted_fields("HGET(KEYS[1], F.DOC)", FIELDS).is_empty());
    }
}
