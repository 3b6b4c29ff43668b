//! Requester fields (`docs/freshservice.md` §3): the built-in fields, the account's custom fields, the
//! `GET /requester_fields` rendering, and checking a custom field value against its type.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::accounts::{ts, Account, ChoicesShape};
use crate::errors::{ApiError, FieldError};

/// Types of custom requester fields the simulator supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    CustomText,
    CustomParagraph,
    CustomNumber,
    CustomCheckbox,
    CustomDate,
    CustomDropdown,
}

impl FieldType {
    /// Whether the `query=` filter may use this field (`docs/freshservice.md` §2.1: text, number,
    /// dropdown, date, phone).
    pub fn queryable(self) -> bool {
        matches!(
            self,
            FieldType::CustomText
                | FieldType::CustomNumber
                | FieldType::CustomDropdown
                | FieldType::CustomDate
        )
    }
}

/// A custom field as the admin API and the seed file describe it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldSpec {
    /// The key in `requester.custom_fields` (snake_case).
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Dropdown choices.
    #[serde(default)]
    pub choices: Vec<String>,
    /// When true, create without a value (or update to null) fails with `missing_field`.
    #[serde(default)]
    pub required_for_agents: bool,
    #[serde(default)]
    pub required_for_requesters: bool,
}

/// A custom requester field of an account.
#[derive(Debug, Clone)]
pub struct CustomField {
    pub id: u64,
    pub spec: CustomFieldSpec,
    pub position: usize,
    pub created_at: chrono::DateTime<Utc>,
}

/// Built-in fields: (name, type, label, required_for_agents).
const DEFAULT_FIELDS: &[(&str, &str, &str, bool)] = &[
    ("first_name", "default_first_name", "First Name", true),
    ("last_name", "default_last_name", "Last Name", false),
    ("job_title", "default_job_title", "Job Title", false),
    ("email", "default_email", "Email", false),
    (
        "secondary_emails",
        "default_secondary_emails",
        "Secondary Emails",
        false,
    ),
    (
        "work_phone_number",
        "default_work_phone_number",
        "Work Phone",
        false,
    ),
    (
        "mobile_phone_number",
        "default_mobile_phone_number",
        "Mobile Phone",
        false,
    ),
    ("department", "default_department", "Department", false),
    (
        "reporting_manager",
        "default_reporting_manager",
        "Reporting Manager",
        false,
    ),
    ("address", "default_address", "Address", false),
    ("time_zone", "default_time_zone", "Time Zone", false),
    ("language", "default_language", "Language", false),
    ("location", "default_location_id", "Location", false),
    (
        "description",
        "default_description",
        "Background Information",
        false,
    ),
];

impl Account {
    /// `requester_fields` as the API lists them; `groups` adds the user field group.
    pub fn requester_fields_json(&self, groups: bool) -> Vec<Value> {
        let created = ts(&self.created_at);
        let mut out = Vec::new();
        for (i, (name, ty, label, req)) in DEFAULT_FIELDS.iter().enumerate() {
            let mut f = field_base(
                i as u64 + 1,
                name,
                label,
                i + 1,
                ty,
                true,
                *req,
                *req,
                &created,
                &created,
            );
            match *name {
                "language" => {
                    let choices: Map<String, Value> = self
                        .languages
                        .iter()
                        .map(|(c, n)| (c.clone(), Value::String(n.clone())))
                        .collect();
                    f.insert("choices".into(), Value::Object(choices));
                }
                "time_zone" => {
                    let choices: Map<String, Value> = crate::timezones::names()
                        .map(|n| (n.to_string(), Value::String(n.to_string())))
                        .collect();
                    f.insert("choices".into(), Value::Object(choices));
                }
                _ => {}
            }
            out.push(f);
        }
        for cf in &self.custom_fields {
            let s = &cf.spec;
            let label = s.label.clone().unwrap_or_else(|| s.name.clone());
            let ty = serde_json::to_value(s.kind).unwrap_or(Value::Null);
            let created = ts(&cf.created_at);
            let mut f = field_base(
                cf.id,
                &s.name,
                &label,
                cf.position,
                ty.as_str().unwrap_or_default(),
                false,
                s.required_for_agents,
                s.required_for_requesters,
                &created,
                &created,
            );
            if s.kind == FieldType::CustomDropdown {
                let choices = match self.choices_shape {
                    ChoicesShape::Strings => json!(s.choices),
                    ChoicesShape::Objects => Value::Array(
                        s.choices
                            .iter()
                            .enumerate()
                            .map(|(i, c)| json!({"id": i + 1, "value": c, "position": i + 1}))
                            .collect(),
                    ),
                    ChoicesShape::Map => Value::Object(
                        s.choices
                            .iter()
                            .map(|c| (c.clone(), Value::String(c.clone())))
                            .collect(),
                    ),
                };
                f.insert("choices".into(), choices);
            }
            out.push(f);
        }
        if groups {
            for f in &mut out {
                f.insert(
                    "user_field_group".into(),
                    json!({"id": 1, "label": "Personal details"}),
                );
            }
        }
        out.into_iter().map(Value::Object).collect()
    }

    /// Adds a custom requester field.
    pub fn add_custom_field(&mut self, spec: &CustomFieldSpec) -> Result<Value, ApiError> {
        let n = &spec.name;
        let valid = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && n.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !valid {
            return Err(ApiError::field(FieldError::invalid_value(
                "name",
                "It should be snake_case (a-z, 0-9, _)",
            )));
        }
        if DEFAULT_FIELDS.iter().any(|(d, ..)| d == n)
            || self.custom_fields.iter().any(|f| &f.spec.name == n)
        {
            return Err(ApiError::Validation {
                status: axum::http::StatusCode::CONFLICT,
                errors: vec![FieldError::duplicate("name")],
            });
        }
        if spec.kind == FieldType::CustomDropdown && spec.choices.is_empty() {
            return Err(ApiError::field(FieldError::missing("choices", "Array")));
        }
        let id = self.alloc_id();
        let position = DEFAULT_FIELDS.len() + self.custom_fields.len() + 1;
        self.custom_fields.push(CustomField {
            id,
            spec: spec.clone(),
            position,
            created_at: Utc::now(),
        });
        for u in self.users.values_mut() {
            u.custom_fields.entry(n.clone()).or_insert(Value::Null);
        }
        Ok(self
            .requester_fields_json(false)
            .into_iter()
            .find(|f| f["name"] == json!(n))
            .unwrap_or(Value::Null))
    }

    /// Removes a custom field and its values; false if there was none.
    pub fn remove_custom_field(&mut self, name: &str) -> bool {
        let before = self.custom_fields.len();
        self.custom_fields.retain(|f| f.spec.name != name);
        if self.custom_fields.len() == before {
            return false;
        }
        for u in self.users.values_mut() {
            u.custom_fields.remove(name);
        }
        true
    }

    /// A custom field by name.
    pub fn custom_field(&self, name: &str) -> Option<&CustomField> {
        self.custom_fields.iter().find(|f| f.spec.name == name)
    }

    /// True when `code` is one of the `language` field's choices.
    pub fn is_language(&self, code: &str) -> bool {
        self.languages.iter().any(|(c, _)| c == code)
    }
}

#[allow(clippy::too_many_arguments)]
fn field_base(
    id: u64,
    name: &str,
    label: &str,
    position: usize,
    ty: &str,
    default: bool,
    required_for_agents: bool,
    required_for_requesters: bool,
    created: &str,
    updated: &str,
) -> Map<String, Value> {
    let v = json!({
        "editable_in_signup": matches!(name, "first_name" | "last_name" | "email"),
        "id": id,
        "name": name,
        "label": label,
        "position": position,
        "user_field_group_id": 1,
        "required_for_agents": required_for_agents,
        "type": ty,
        "default": default,
        "requesters_can_edit": true,
        "label_for_requesters": label,
        "required_for_requesters": required_for_requesters,
        "displayed_for_requesters": true,
        "created_at": created,
        "updated_at": updated,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Checks one custom field value against its field's type; `null` is always allowed here
/// (required-ness is checked by the caller).
pub fn check_custom_value(field: &CustomField, value: &Value) -> Result<(), FieldError> {
    let name = field.spec.name.as_str();
    if value.is_null() {
        return Ok(());
    }
    match field.spec.kind {
        FieldType::CustomText | FieldType::CustomParagraph => match value.as_str() {
            None => Err(FieldError::datatype(name, "String")),
            Some(s) if field.spec.kind == FieldType::CustomText && s.chars().count() > 255 => Err(
                FieldError::invalid_value(name, &too_long(s.chars().count(), 255)),
            ),
            Some(_) => Ok(()),
        },
        FieldType::CustomNumber => {
            if value.is_i64() || value.is_u64() {
                Ok(())
            } else {
                Err(FieldError::datatype(name, "Integer"))
            }
        }
        FieldType::CustomCheckbox => {
            if value.is_boolean() {
                Ok(())
            } else {
                Err(FieldError::datatype(name, "Boolean"))
            }
        }
        FieldType::CustomDate => match value.as_str() {
            None => Err(FieldError::datatype(name, "String")),
            Some(s) => {
                if s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                    Ok(())
                } else {
                    Err(FieldError::invalid_value(
                        name,
                        "It should be in the 'yyyy-mm-dd' format",
                    ))
                }
            }
        },
        FieldType::CustomDropdown => match value.as_str() {
            None => Err(FieldError::datatype(name, "String")),
            Some(s) if field.spec.choices.iter().any(|c| c == s) => Ok(()),
            Some(_) => Err(FieldError::not_a_choice(name)),
        },
    }
}

/// "Has N characters, it can have maximum of M characters".
pub fn too_long(n: usize, max: usize) -> String {
    format!("Has {n} characters, it can have maximum of {max} characters")
}
