//! What to send: the desired requester body minus what the last applied
//! snapshot already holds, so quick successive updates cost one small call
//! and a replayed event costs none.
//!
//! Rules:
//! - A missing key and `null` both mean "blank" (and `[]` for
//!   `department_ids`); blank → blank is no change.
//!   So a first write (`applied = None`) never sends `null`s: a new
//!   requester has nothing to clear.
//! - Top-level keys absent from `desired` are not touched: the mapping left
//!   them out on purpose (e.g. an unmatched `time_zone`).
//! - `custom_fields` is compared per key and sent as one object holding only
//!   the changed keys; a key the snapshot had and `desired` no longer has is
//!   sent as `null`, because Okta drops a custom attribute when it is cleared.
//! - `can_see_all_tickets_from_associated_departments` is not the mapping's:
//!   the worker adds Freshservice's current value to every PUT
//!   (`worker/src/converge/run.rs`). An old snapshot that still holds it is
//!   not a reason to call.

use serde_json::{Map, Value};

/// The fields of `desired` that differ from `applied` (the body last
/// applied to Freshservice, `None` before the first write). Empty map:
/// nothing to send.
pub fn changed_fields(
    applied: Option<&Map<String, Value>>,
    desired: &Map<String, Value>,
) -> Map<String, Value> {
    let empty = Map::new();
    let applied = applied.unwrap_or(&empty);
    let mut out = Map::new();
    for (key, want) in desired {
        if key == "custom_fields" {
            continue;
        }
        if !same_field(key, applied.get(key), Some(want)) {
            out.insert(key.clone(), want.clone());
        }
    }
    let custom = changed_custom(applied.get("custom_fields"), desired.get("custom_fields"));
    if !custom.is_empty() {
        out.insert("custom_fields".into(), Value::Object(custom));
    }
    out
}

/// Per-key custom field changes, including clears for dropped keys.
fn changed_custom(applied: Option<&Value>, desired: Option<&Value>) -> Map<String, Value> {
    let empty = Map::new();
    let applied = applied.and_then(Value::as_object).unwrap_or(&empty);
    let desired = desired.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for (key, want) in desired {
        if !same(applied.get(key), Some(want)) {
            out.insert(key.clone(), want.clone());
        }
    }
    for (key, had) in applied {
        if !desired.contains_key(key) && !had.is_null() {
            out.insert(key.clone(), Value::Null);
        }
    }
    out
}

/// [`same`], and for `department_ids` an empty list is blank too: a user
/// Okta names no department for is not a reason to write a requester that
/// never had one.
fn same_field(key: &str, a: Option<&Value>, b: Option<&Value>) -> bool {
    if key == "department_ids" {
        let empty = |v: &&Value| v.as_array().is_some_and(Vec::is_empty);
        return same(a.filter(|v| !empty(v)), b.filter(|v| !empty(v)));
    }
    same(a, b)
}

/// Equality where a missing value and `null` are the same blank.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let a = a.filter(|v| !v.is_null());
    let b = b.filter(|v| !v.is_null());
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn desired() -> Map<String, Value> {
        obj(json!({
            "first_name": "Jack",
            "last_name": null,
            "primary_email": "jack@x",
            "secondary_emails": [],
            "job_title": "Captain",
            "address": null,
            "custom_fields": {"night_shift": true, "spl_number": null}
        }))
    }

    #[test]
    fn first_write_sends_everything_but_blanks() {
        let got = changed_fields(None, &desired());
        assert_eq!(
            Value::Object(got),
            json!({
                "first_name": "Jack",
                "primary_email": "jack@x",
                "secondary_emails": [],
                "job_title": "Captain",
                "custom_fields": {"night_shift": true}
            })
        );
    }

    #[test]
    fn unchanged_sends_nothing() {
        let d = desired();
        assert!(changed_fields(Some(&d), &d).is_empty());
        // A snapshot without the blanks is the same state.
        let mut snapshot = d.clone();
        snapshot.remove("last_name");
        snapshot.remove("address");
        snapshot["custom_fields"] = json!({"night_shift": true});
        assert!(changed_fields(Some(&snapshot), &d).is_empty());
    }

    #[test]
    fn changed_and_cleared_fields() {
        let applied = obj(json!({
            "first_name": "Jack",
            "last_name": "Sparrow",
            "primary_email": "jack@x",
            "secondary_emails": ["old@x"],
            "job_title": "Pirate",
            "address": null,
            "custom_fields": {"night_shift": true, "spl_number": 7}
        }));
        let got = changed_fields(Some(&applied), &desired());
        assert_eq!(
            Value::Object(got),
            json!({
                "last_name": null,
                "secondary_emails": [],
                "job_title": "Captain",
                "custom_fields": {"spl_number": null}
            })
        );
    }

    #[test]
    fn custom_fields_are_compared_per_key() {
        let applied = obj(json!({
            "first_name": "Jack",
            "custom_fields": {"a": 1, "b": "x", "gone": "y", "was_null": null}
        }));
        let desired = obj(json!({
            "first_name": "Jack",
            "custom_fields": {"a": 1, "b": "z", "new": false}
        }));
        let got = changed_fields(Some(&applied), &desired);
        assert_eq!(
            Value::Object(got),
            json!({
                "custom_fields": {"b": "z", "new": false, "gone": null}
            })
        );
        // Okta dropping every custom attribute clears them all.
        let desired = obj(json!({"first_name": "Jack"}));
        let got = changed_fields(Some(&applied), &desired);
        assert_eq!(
            got["custom_fields"],
            json!({"a": null, "b": null, "gone": null})
        );
    }

    #[test]
    fn keys_left_out_of_desired_are_not_touched() {
        let applied = obj(json!({"first_name": "Jack", "time_zone": "London", "language": "fr"}));
        let desired = obj(json!({"first_name": "Jack"}));
        assert!(changed_fields(Some(&applied), &desired).is_empty());
    }

    #[test]
    fn no_department_is_blank_but_clearing_one_is_sent() {
        let d = obj(json!({"first_name": "A", "department_ids": []}));
        assert_eq!(
            Value::Object(changed_fields(None, &d)),
            json!({"first_name": "A"})
        );
        let had = obj(json!({"first_name": "A", "department_ids": [5]}));
        assert_eq!(
            Value::Object(changed_fields(Some(&had), &d)),
            json!({"department_ids": []})
        );
        let none = obj(json!({"first_name": "A"}));
        assert!(changed_fields(Some(&none), &d).is_empty());
    }

    #[test]
    fn the_departments_flag_is_never_the_mappings() {
        // An old snapshot holding the flag (the bridge used to send it) is
        // not a reason to call, and nothing the mapping makes sends it.
        let applied = obj(
            json!({"first_name": "Jack", "can_see_all_tickets_from_associated_departments": true}),
        );
        let desired = obj(json!({"first_name": "Jack"}));
        assert!(changed_fields(Some(&applied), &desired).is_empty());
        assert_eq!(
            Value::Object(changed_fields(None, &obj(json!({"first_name": "Ann"})))),
            json!({"first_name": "Ann"})
        );
        assert!(changed_fields(None, &Map::new()).is_empty());
    }
}
