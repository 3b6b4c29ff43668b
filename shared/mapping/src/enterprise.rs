//! The enterprise extension (`urn:…:enterprise:2.0:User`) → requester:
//! `department` → `department_ids`, `manager.value` → `reporting_manager_id`,
//! and the attributes without a built-in field (`employeeNumber`,
//! `costCenter`, `organization`, `division`) → the custom fields the tenant
//! chose.
//!
//! Department and manager name other records, so the mapping cannot finish
//! them alone: [`Refs::of`] says what the user names, the worker resolves
//! it (`worker/src/converge/resolve.rs`: departments by name, managers among
//! the tenant's users) and hands back a [`Resolved`], and the functions
//! here put the answer into the body. Keeping the decision here keeps it
//! pure and tested in one place.

use serde_json::{Map, Value};

use crate::custom::coerce;
use crate::error::MappingError;
use crate::fields::{AccountFields, CustomKind};
use crate::settings::{MappingSettings, ENTERPRISE_URN};

/// What a user's enterprise attributes point at, before resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refs {
    /// `department`, trimmed, non-blank.
    pub department: Option<String>,
    /// `manager.value` (or a plain string `manager`, as some clients send
    /// it), trimmed, non-blank.
    pub manager: Option<String>,
}

impl Refs {
    pub fn of(user: &Value) -> Refs {
        let ext = user.get(ENTERPRISE_URN);
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let manager = ext.and_then(|e| e.get("manager")).and_then(|m| match m {
            Value::Object(_) => text(m.get("value")),
            other => text(Some(other)),
        });
        Refs {
            department: text(ext.and_then(|e| e.get("department"))),
            manager,
        }
    }
}

/// What the worker made of one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The Freshservice id it names.
    Found(u64),
    /// Nothing it names exists (yet); the note says what and what happens
    /// next, for the user's sync status.
    Unresolved(String),
}

/// The worker's answers for a user's [`Refs`]; `None` where the user names
/// nothing (or the row is off and nothing was looked up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub department: Option<Resolution>,
    pub manager: Option<Resolution>,
}

/// `department_ids`: the department found; `[]` when Okta names none (so
/// clearing it in Okta clears it here; the diff treats `[]` as blank, so a
/// requester that never had one is not written for it); left out, with
/// the note, when the name matches no department.
pub(crate) fn department(
    body: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
    resolved: &Resolved,
) {
    match &resolved.department {
        None => {
            body.insert("department_ids".into(), Value::Array(vec![]));
        }
        Some(Resolution::Found(id)) => {
            body.insert("department_ids".into(), Value::Array(vec![(*id).into()]));
        }
        Some(Resolution::Unresolved(note)) => warnings.push(note.clone()),
    }
}

/// `reporting_manager_id`: the manager's requester, else blank (a manager
/// not in Freshservice yet is filled in when they appear; the note says so).
pub(crate) fn manager(
    body: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
    resolved: &Resolved,
) {
    let id = match &resolved.manager {
        None => Value::Null,
        Some(Resolution::Found(id)) => (*id).into(),
        Some(Resolution::Unresolved(note)) => {
            warnings.push(note.clone());
            Value::Null
        }
    };
    body.insert("reporting_manager_id".into(), id);
}

/// The tenant's enterprise → custom field choices, into `custom`. A blank
/// attribute is `null` (clears the field). A field the account no longer
/// has is a note, not a failure: the admin's setting went stale, the rest
/// of the user is still written. A dropdown value outside the choices goes
/// to Freshservice as is, which refuses it in its own words (the failure
/// the status page shows).
pub(crate) fn custom_fields(
    user: &Value,
    fields: &AccountFields,
    settings: &MappingSettings,
    custom: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<(), MappingError> {
    let ext = user.get(ENTERPRISE_URN);
    for (attr, target) in &settings.enterprise {
        let Some(field) = fields.custom_field(target) else {
            warnings.push(format!(
                "enterprise {} is mapped to the custom field `{target}`, which this account no longer has; not sent (fix the mapping on the settings page)",
                attr.scim()
            ));
            continue;
        };
        let value = ext
            .and_then(|e| e.get(attr.scim()))
            .filter(|v| !matches!(v, Value::String(s) if s.trim().is_empty()))
            .cloned()
            .unwrap_or(Value::Null);
        let coerced = match coerce(field, &value) {
            // Matched to a choice's own spelling, or refused below.
            Err(_) if field.kind == CustomKind::Dropdown => {
                let mut any = field.clone();
                any.choices.clear();
                coerce(&any, &value)?
            }
            other => other?,
        };
        custom.insert(field.name.clone(), coerced);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::CustomField;
    use crate::settings::EnterpriseAttr;
    use serde_json::json;

    fn user(ext: Value) -> Value {
        json!({"userName": "a@x", ENTERPRISE_URN: ext})
    }

    #[test]
    fn refs_read_objects_and_plain_strings() {
        let r = Refs::of(&user(
            json!({"department": " Sales ", "manager": {"value": "m1", "displayName": "M"}}),
        ));
        assert_eq!(r.department.as_deref(), Some("Sales"));
        assert_eq!(r.manager.as_deref(), Some("m1"));
        assert_eq!(
            Refs::of(&user(json!({"manager": "m2"}))).manager.as_deref(),
            Some("m2")
        );
        assert_eq!(
            Refs::of(&user(json!({"department": "", "manager": {"value": " "}}))),
            Refs::default()
        );
        assert_eq!(Refs::of(&json!({"userName": "a"})), Refs::default());
    }

    #[test]
    fn department_and_manager_into_the_body() {
        let mut body = Map::new();
        let mut notes = vec![];
        let found = Resolved {
            department: Some(Resolution::Found(5)),
            manager: Some(Resolution::Found(9)),
        };
        department(&mut body, &mut notes, &found);
        manager(&mut body, &mut notes, &found);
        assert_eq!(
            Value::Object(body),
            json!({"department_ids": [5], "reporting_manager_id": 9})
        );
        assert!(notes.is_empty());

        let mut body = Map::new();
        let missing = Resolved {
            department: Some(Resolution::Unresolved("no dept".into())),
            manager: Some(Resolution::Unresolved("no manager yet".into())),
        };
        department(&mut body, &mut notes, &missing);
        manager(&mut body, &mut notes, &missing);
        assert_eq!(Value::Object(body), json!({"reporting_manager_id": null}));
        assert_eq!(notes, ["no dept", "no manager yet"]);

        let mut body = Map::new();
        department(&mut body, &mut notes, &Resolved::default());
        manager(&mut body, &mut notes, &Resolved::default());
        assert_eq!(
            Value::Object(body),
            json!({"department_ids": [], "reporting_manager_id": null})
        );
    }

    fn account() -> AccountFields {
        let f = |name: &str, kind| CustomField {
            name: name.into(),
            label: name.into(),
            kind,
            choices: vec!["Red".into(), "Blue".into()],
        };
        AccountFields {
            custom: vec![
                f("emp_no", CustomKind::Number),
                f("cost", CustomKind::Text),
                f("org", CustomKind::Dropdown),
                f("div", CustomKind::Checkbox),
            ],
            ..AccountFields::fallback()
        }
    }

    #[test]
    fn enterprise_attributes_fill_the_chosen_custom_fields() {
        let mut settings = MappingSettings::default();
        settings.set_enterprise(
            [
                (EnterpriseAttr::EmployeeNumber, "emp_no"),
                (EnterpriseAttr::CostCenter, "cost"),
                (EnterpriseAttr::Organization, "org"),
                (EnterpriseAttr::Division, "gone_field"),
            ]
            .into_iter()
            .map(|(a, f)| (a, f.to_string()))
            .collect(),
        );
        let u = user(json!({"employeeNumber": "0042", "organization": "Green", "costCenter": ""}));
        let mut spelled = Map::new();
        let known = user(json!({"organization": "bLUE"}));
        custom_fields(&known, &account(), &settings, &mut spelled, &mut vec![]).unwrap();
        assert_eq!(
            spelled["org"], "Blue",
            "a choice comes out in its own spelling"
        );
        let mut custom = Map::new();
        let mut notes = vec![];
        custom_fields(&u, &account(), &settings, &mut custom, &mut notes).unwrap();
        // The dropdown value outside the choices is Freshservice's to refuse.
        assert_eq!(
            Value::Object(custom),
            json!({"emp_no": 42, "cost": null, "org": "Green"})
        );
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("gone_field"), "{notes:?}");

        // A value the field's type cannot hold is a mapping error, as for
        // Okta's custom attributes.
        let u = user(json!({"employeeNumber": "A-12"}));
        let err = custom_fields(&u, &account(), &settings, &mut Map::new(), &mut vec![]);
        assert!(
            matches!(err, Err(MappingError::CustomField { ref name, .. }) if name == "emp_no"),
            "{err:?}"
        );
    }
}
