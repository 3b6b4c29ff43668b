//! The one reading of `GET /api/v2/requester_fields`. The endpoint's shapes
//! are only partly documented (`docs/architecture.md` §6), so the parser
//! never fails: it takes `{"requester_fields":[…]}` or the bare array, skips
//! items that are not objects or have no `name`, and reads `choices` in
//! every shape seen (an object `code → name`; an array of strings, numbers,
//! or objects with `value` / `name` / `label` / `id`), dropping empty ones.
//!
//! Two readers build on it: the mapping ([`crate::fields`], which wants the
//! codes) and the ingress's settings page (`ingress/src/web/`, which shows
//! [`Choice::display`] in Freshservice's order, [`by_position`]). `shared`
//! re-exports it as `shared::freshservice::fields`.

use serde_json::Value;

/// The External Namespace Okta needs for custom fields.
pub const OKTA_NAMESPACE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// One requester field as Freshservice lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequesterField {
    /// Key in `requester.custom_fields` for a custom field; for a built-in
    /// one the requester_fields name (e.g. `email`, not `primary_email`).
    pub name: String,
    /// What the admin sees in Freshservice (the name when missing).
    pub label: String,
    /// Freshservice's type, e.g. `custom_dropdown`, `default_first_name`
    /// (empty when missing).
    pub kind: String,
    /// Built-in (`default: true`, or a `default_` type when the flag is
    /// missing) or custom.
    pub builtin: bool,
    pub required_for_agents: bool,
    /// Where Freshservice shows it; `None` when not given.
    pub position: Option<i64>,
    /// Allowed values (dropdowns, language, time zone); empty when none.
    pub choices: Vec<Choice>,
}

/// One allowed value of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// What a requester carries: the code of an object-shaped list
    /// (`en`), else the item itself or its `value` / `name` / `label` / `id`.
    pub value: String,
    /// The display name an object-shaped list gives the code (`English`).
    pub label: Option<String>,
}

impl Choice {
    /// How the settings page shows it: `English (en)`, or the value alone.
    pub fn display(&self) -> String {
        match &self.label {
            Some(name) if *name != self.value => format!("{name} ({})", self.value),
            _ => self.value.clone(),
        }
    }
}

impl RequesterField {
    /// What to paste into Okta's "External name" for a custom field.
    pub fn okta_external_name(&self) -> Option<String> {
        (!self.builtin).then(|| format!("custom_fields.{}", self.name))
    }

    /// The choices' values (what a requester may carry).
    pub fn choice_values(&self) -> Vec<String> {
        self.choices.iter().map(|c| c.value.clone()).collect()
    }
}

/// Parses a `GET /requester_fields` body, keeping Freshservice's order.
pub fn parse(body: &Value) -> Vec<RequesterField> {
    let items = body
        .get("requester_fields")
        .and_then(Value::as_array)
        .or_else(|| body.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    items.iter().filter_map(field).collect()
}

/// The fields sorted by `position` (fields without one last, in the order
/// listed), as the settings page shows them.
pub fn by_position(mut fields: Vec<RequesterField>) -> Vec<RequesterField> {
    fields.sort_by_key(|f| f.position.unwrap_or(i64::MAX));
    fields
}

fn field(item: &Value) -> Option<RequesterField> {
    let name = item.get("name")?.as_str()?.to_string();
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let builtin = item
        .get("default")
        .and_then(Value::as_bool)
        .unwrap_or_else(|| kind.starts_with("default_"));
    Some(RequesterField {
        label: item
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string(),
        name,
        kind,
        builtin,
        required_for_agents: item.get("required_for_agents").and_then(Value::as_bool) == Some(true),
        position: item.get("position").and_then(Value::as_i64),
        choices: choices(item.get("choices")),
    })
}

fn choices(v: Option<&Value>) -> Vec<Choice> {
    let mut out: Vec<Choice> = match v {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(code, name)| Choice {
                value: code.clone(),
                label: name.as_str().map(str::to_string),
            })
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => ["value", "name", "label", "id"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(scalar_string)),
                other => scalar_string(other),
            })
            .map(|value| Choice { value, label: None })
            .collect(),
        _ => vec![],
    };
    out.retain(|c| !c.value.is_empty());
    out
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn displayed(f: &RequesterField) -> Vec<String> {
        f.choices.iter().map(Choice::display).collect()
    }

    #[test]
    fn fields_parse_every_choice_shape_and_sort_by_position() {
        let body = json!({"requester_fields": [
            {"name": "cost_center", "label": "Cost center", "type": "custom_dropdown", "default": false,
             "position": 20, "choices": [{"id": 1, "value": "R&D"}, "Sales"]},
            {"name": "first_name", "label": "First Name", "type": "default_first_name", "default": true,
             "position": 1, "required_for_agents": true},
            {"name": "language", "label": "Language", "type": "default_language", "position": 12,
             "choices": {"en": "English", "de": "German"}},
        ]});
        let f = by_position(parse(&body));
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["first_name", "language", "cost_center"]
        );
        assert!(f[1].builtin);
        assert_eq!(displayed(&f[1]), ["English (en)", "German (de)"]);
        assert_eq!(f[1].choice_values(), ["en", "de"]);
        assert_eq!(displayed(&f[2]), ["R&D", "Sales"]);
        assert_eq!(
            f[2].okta_external_name().as_deref(),
            Some("custom_fields.cost_center")
        );
        assert_eq!(f[0].okta_external_name(), None);
    }

    #[test]
    fn odd_items_and_choices_are_skipped_not_fatal() {
        let f = parse(&json!([
            {"name": "a", "choices": [{"label": "L"}, {"id": 7}, 3, "", null, {"x": 1}]},
            {"label": "no name"},
            "not an object",
            {"name": "b", "choices": {"k": 1, "": "empty code"}}
        ]));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].choice_values(), ["L", "7", "3"]);
        assert_eq!(f[0].label, "a");
        assert_eq!(f[0].kind, "");
        assert!(!f[0].builtin);
        assert_eq!(displayed(&f[1]), ["k"]);
        for body in [json!(null), json!({}), json!({"requester_fields": "x"})] {
            assert!(parse(&body).is_empty());
        }
    }
}
