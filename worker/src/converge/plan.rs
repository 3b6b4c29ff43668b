//! Pure decisions of convergence: what the user should look like in
//! Freshservice, and which fields a PUT must carry to get from the applied
//! snapshot there (fewest calls, fewest fields).

use serde_json::{Map, Value};

/// What the user should be in Freshservice, from the latest SCIM state.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub version: u64,
    /// The requester body (without `external_id`, which is not diffed).
    pub body: Map<String, Value>,
    /// `active` in SCIM and not deleted.
    pub active: bool,
    /// SCIM DELETE happened.
    pub deleted: bool,
    pub email: Option<String>,
    /// Attributes left out, for the sync status.
    pub warnings: Vec<String>,
    /// The manager reference this version could not resolve yet.
    pub waiting_for: Option<String>,
    /// What this user answers to as someone's manager (`resolve::references`).
    pub references: Vec<String>,
    /// Custom fields no longer mapped: never cleared
    /// (`shared::mapping::MappingSettings::released`).
    pub released: Vec<String>,
}

impl Desired {
    /// Builds the desired state from the stored SCIM document and the
    /// requester body the mapping produced.
    pub fn new(
        version: u64,
        doc: &Value,
        deleted: bool,
        body: Map<String, Value>,
        warnings: Vec<String>,
    ) -> Self {
        let email = body
            .get("primary_email")
            .and_then(Value::as_str)
            .map(str::to_string);
        let scim_active = shared::mapping::desired_active(doc);
        Self {
            version,
            body,
            active: scim_active && !deleted,
            deleted,
            email,
            warnings,
            waiting_for: None,
            references: Vec::new(),
            released: Vec::new(),
        }
    }
}

/// The fields of a PUT taking `applied` to `desired`; empty when nothing
/// changed. The rules (blanks, custom fields) belong to the mapping: see
/// `shared::mapping::diff`. `released` custom fields are not the bridge's
/// any more, so a value the snapshot holds for one is not cleared.
pub fn diff(
    applied: Option<&Map<String, Value>>,
    desired: &Map<String, Value>,
    released: &[String],
) -> Map<String, Value> {
    let Some(applied) = applied.filter(|_| !released.is_empty()) else {
        return shared::mapping::changed_fields(applied, desired);
    };
    let mut applied = applied.clone();
    if let Some(Value::Object(custom)) = applied.get_mut("custom_fields") {
        custom.retain(|k, _| !released.contains(k));
    }
    shared::mapping::changed_fields(Some(&applied), desired)
}

/// What to do with a requester the bridge already knows (by id).
#[derive(Clone, Debug, PartialEq)]
pub enum Known {
    /// SCIM DELETE in forget mode: permanent delete.
    Forget,
    /// Deactivate (unless already deactivated: then nothing).
    Deactivate { call: bool },
    /// Reactivate first when it was deactivated, then PUT `changes` if any.
    Update {
        reactivate: bool,
        changes: Map<String, Value>,
    },
}

/// Decides the calls for a mapped user. `applied_active` is what the bridge
/// last made of the requester (`None`: unknown, assume active).
pub fn plan_known(
    desired: &Desired,
    snapshot: Option<&Map<String, Value>>,
    applied_active: Option<bool>,
    forget_on_delete: bool,
) -> Known {
    if desired.deleted && forget_on_delete {
        return Known::Forget;
    }
    if !desired.active {
        // Fields are not pushed onto a requester being deactivated: the
        // snapshot keeps the old ones, so a reactivation sends the rest.
        return Known::Deactivate {
            call: applied_active != Some(false),
        };
    }
    Known::Update {
        reactivate: applied_active == Some(false),
        changes: diff(snapshot, &desired.body, &desired.released),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn desired(active: bool, deleted: bool, body: Value) -> Desired {
        Desired::new(3, &json!({"active": active}), deleted, obj(body), vec![])
    }

    #[test]
    fn nothing_changed_means_no_call() {
        let d = obj(json!({"first_name":"A","custom_fields":{"x":1}}));
        assert!(diff(Some(&d), &d, &[]).is_empty());
    }

    #[test]
    fn only_changed_fields() {
        let a = obj(json!({"first_name":"A","last_name":"B"}));
        let d = obj(json!({"first_name":"A","last_name":"C"}));
        assert_eq!(diff(Some(&a), &d, &[]), obj(json!({"last_name":"C"})));
    }

    #[test]
    fn removed_custom_fields_are_cleared() {
        let a = obj(json!({"first_name":"A","custom_fields":{"x":1,"y":2}}));
        let d = obj(json!({"first_name":"A","custom_fields":{"x":1}}));
        assert_eq!(
            diff(Some(&a), &d, &[]),
            obj(json!({"custom_fields":{"y":null}}))
        );
    }

    #[test]
    fn lifecycle_decisions() {
        let snap = obj(json!({"first_name":"A"}));
        let d = desired(false, false, json!({"first_name":"B"}));
        assert_eq!(
            plan_known(&d, Some(&snap), Some(true), false),
            Known::Deactivate { call: true }
        );
        assert_eq!(
            plan_known(&d, Some(&snap), Some(false), false),
            Known::Deactivate { call: false }
        );
        let d = desired(true, true, json!({"first_name":"B"}));
        assert_eq!(
            plan_known(&d, Some(&snap), Some(true), false),
            Known::Deactivate { call: true }
        );
        assert_eq!(plan_known(&d, Some(&snap), Some(true), true), Known::Forget);
        let d = desired(true, false, json!({"first_name":"B"}));
        assert_eq!(
            plan_known(&d, Some(&snap), Some(false), false),
            Known::Update {
                reactivate: true,
                changes: obj(json!({"first_name":"B"}))
            }
        );
        let d = desired(true, false, json!({"first_name":"A"}));
        assert_eq!(
            plan_known(&d, Some(&snap), None, false),
            Known::Update {
                reactivate: false,
                changes: Map::new()
            }
        );
    }

    #[test]
    fn released_custom_fields_are_not_cleared() {
        let a = obj(json!({"first_name":"A","custom_fields":{"emp":"7","okta":"x"}}));
        let d = obj(json!({"first_name":"A"}));
        assert_eq!(
            diff(Some(&a), &d, &["emp".to_string()]),
            obj(json!({"custom_fields":{"okta":null}}))
        );
    }
}
