//! The account's requester fields (`GET /api/v2/requester_fields`), reduced
//! to what the mapping needs: language codes, time-zone names, custom fields
//! with their types and choices, and which fields the account requires.
//!
//! The body is read by the one parser of that endpoint
//! ([`crate::requester_fields`]), which never fails: anything it
//! cannot read is skipped. Dropdown and language choices are their codes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::requester_fields;

/// Language codes from the docs' sample `language` field
/// (`docs/architecture.md` §6), used when the account's own list cannot be read.
pub const DEFAULT_LANGUAGES: &[&str] = &[
    "ar", "ca", "zh-CN", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "hu", "id", "it", "ja-JP",
    "ko", "nb-NO", "pl", "pt-BR", "pt-PT", "ru-RU", "sk", "sl", "es", "es-LA", "sv-SE", "th", "tr",
    "vi", "cy-GB",
];

/// What the mapping knows about one Freshservice account's requester fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFields {
    /// Codes from the `language` field's choices (e.g. `en`, `pt-BR`).
    pub languages: Vec<String>,
    /// Names from the `time_zone` field's choices, when the account lists
    /// them; `None` means "any Rails zone name".
    pub time_zones: Option<Vec<String>>,
    /// Non-default (custom) fields, keyed by `name` in `custom_fields`.
    pub custom: Vec<CustomField>,
    /// `name`s of fields with `required_for_agents: true` (default fields use
    /// the requester_fields name, e.g. `email`, not `primary_email`).
    pub required: Vec<String>,
}

/// One custom requester field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Key in `requester.custom_fields`.
    pub name: String,
    /// What the admin sees in Freshservice.
    pub label: String,
    pub kind: CustomKind,
    /// Allowed values for dropdowns (empty when none were listed).
    pub choices: Vec<String>,
}

/// A custom field's type, from its `type` (`custom_text`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomKind {
    Text,
    Paragraph,
    Number,
    Decimal,
    Checkbox,
    Date,
    Dropdown,
    Phone,
    Url,
    /// A type this code does not know; values pass through unchanged.
    Other(String),
}

impl CustomKind {
    /// Reads a requester field `type`. The `custom_` prefix is optional so
    /// that a variant spelling still lands on the right coercion.
    pub fn from_type(ty: &str) -> CustomKind {
        let base = ty.strip_prefix("custom_").unwrap_or(ty);
        match base {
            "text" | "single_line_text" => CustomKind::Text,
            "paragraph" | "multi_line_text" => CustomKind::Paragraph,
            "number" | "integer" => CustomKind::Number,
            "decimal" => CustomKind::Decimal,
            "checkbox" | "boolean" => CustomKind::Checkbox,
            "date" => CustomKind::Date,
            "dropdown" => CustomKind::Dropdown,
            "phone_number" | "phone" => CustomKind::Phone,
            "url" => CustomKind::Url,
            _ => CustomKind::Other(ty.to_owned()),
        }
    }

    /// Human name for error messages.
    pub fn describe(&self) -> &str {
        match self {
            CustomKind::Text => "text",
            CustomKind::Paragraph => "paragraph",
            CustomKind::Number => "number",
            CustomKind::Decimal => "decimal",
            CustomKind::Checkbox => "checkbox",
            CustomKind::Date => "date",
            CustomKind::Dropdown => "dropdown",
            CustomKind::Phone => "phone number",
            CustomKind::Url => "URL",
            CustomKind::Other(t) => t,
        }
    }
}

impl AccountFields {
    /// What to assume when the account's fields cannot be read: the
    /// documented language list, any time zone, no custom fields.
    pub fn fallback() -> AccountFields {
        AccountFields {
            languages: DEFAULT_LANGUAGES.iter().map(|s| (*s).to_owned()).collect(),
            time_zones: None,
            custom: Vec::new(),
            required: Vec::new(),
        }
    }

    /// Reduces a `GET /requester_fields` body (read by
    /// [`crate::requester_fields::parse`]) to what the mapping needs.
    /// Never fails; a missing language list falls back to
    /// [`DEFAULT_LANGUAGES`].
    pub fn from_requester_fields(body: &Value) -> AccountFields {
        let mut out = AccountFields {
            languages: Vec::new(),
            time_zones: None,
            custom: Vec::new(),
            required: Vec::new(),
        };
        for field in requester_fields::parse(body) {
            if field.required_for_agents {
                out.required.push(field.name.clone());
            }
            let choices = field.choice_values();
            let (name, ty) = (field.name.as_str(), field.kind.as_str());
            if field.builtin {
                if name == "language" || ty == "default_language" {
                    out.languages = choices;
                } else if (name == "time_zone" || ty == "default_time_zone") && !choices.is_empty()
                {
                    out.time_zones = Some(choices);
                }
                continue;
            }
            out.custom.push(CustomField {
                kind: CustomKind::from_type(ty),
                name: field.name,
                label: field.label,
                choices,
            });
        }
        if out.languages.is_empty() {
            // An account always has a language; an unreadable list must not
            // turn every locale into a warning.
            out.languages = AccountFields::fallback().languages;
        }
        out
    }

    /// The custom field with this name. SCIM attribute names are
    /// case-insensitive (RFC 7643 §2.1), so the match is too.
    pub fn custom_field(&self, name: &str) -> Option<&CustomField> {
        self.custom.iter().find(|f| f.name == name).or_else(|| {
            self.custom
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"requester_fields": [
            {"id": 1, "name": "first_name", "label": "First Name", "type": "default_first_name",
             "default": true, "required_for_agents": true},
            {"id": 2, "name": "email", "label": "Email", "type": "default_email", "default": true,
             "required_for_agents": true},
            {"id": 3, "name": "language", "label": "Language", "type": "default_language",
             "default": true, "choices": {"en": "English", "pt-BR": "Portuguese (BR)", "es-LA": "Spanish (Latin America)"}},
            {"id": 4, "name": "time_zone", "label": "Time Zone", "type": "default_time_zone",
             "default": true, "choices": ["London", "Eastern Time (US & Canada)"]},
            {"id": 16, "name": "quidditch_role", "label": "Quidditch role", "type": "custom_text",
             "default": false, "required_for_agents": false},
            {"id": 17, "name": "house", "label": "House", "type": "custom_dropdown", "default": false,
             "required_for_agents": true,
             "choices": [{"id": 1, "value": "Gryffindor"}, {"id": 2, "value": "Slytherin"}]},
            {"id": 18, "name": "broom", "label": "Broom", "type": "custom_dropdown",
             "choices": ["Nimbus", "Firebolt"]},
            {"id": 19, "name": "pet", "label": "Pet", "type": "custom_dropdown", "default": false,
             "choices": {"owl": "Owl", "cat": "Cat"}},
            {"id": 20, "name": "night_shift", "type": "custom_checkbox", "default": false},
            {"name": "odd", "type": "custom_magic", "default": false},
            {"label": "no name, skipped", "type": "custom_text"},
            "not an object"
        ]})
    }

    #[test]
    fn parses_defaults_and_custom_fields() {
        let f = AccountFields::from_requester_fields(&sample());
        assert_eq!(f.languages, vec!["en", "pt-BR", "es-LA"]);
        assert_eq!(
            f.time_zones,
            Some(vec![
                "London".to_owned(),
                "Eastern Time (US & Canada)".to_owned()
            ])
        );
        assert_eq!(f.required, vec!["first_name", "email", "house"]);
        let names: Vec<_> = f.custom.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "quidditch_role",
                "house",
                "broom",
                "pet",
                "night_shift",
                "odd"
            ]
        );
        assert_eq!(f.custom[0].label, "Quidditch role");
        assert_eq!(f.custom[0].kind, CustomKind::Text);
        assert_eq!(f.custom[1].choices, vec!["Gryffindor", "Slytherin"]);
        assert_eq!(f.custom[2].choices, vec!["Nimbus", "Firebolt"]);
        assert_eq!(f.custom[3].choices, vec!["owl", "cat"]);
        // A missing label falls back to the name.
        assert_eq!(f.custom[4].label, "night_shift");
        assert_eq!(f.custom[5].kind, CustomKind::Other("custom_magic".into()));
    }

    #[test]
    fn every_custom_type_is_recognised() {
        let cases = [
            ("custom_text", CustomKind::Text),
            ("custom_paragraph", CustomKind::Paragraph),
            ("custom_number", CustomKind::Number),
            ("custom_decimal", CustomKind::Decimal),
            ("custom_checkbox", CustomKind::Checkbox),
            ("custom_date", CustomKind::Date),
            ("custom_dropdown", CustomKind::Dropdown),
            ("custom_phone_number", CustomKind::Phone),
            ("custom_url", CustomKind::Url),
            ("custom_lookup", CustomKind::Other("custom_lookup".into())),
        ];
        for (ty, kind) in cases {
            assert_eq!(CustomKind::from_type(ty), kind, "{ty}");
        }
    }

    #[test]
    fn unreadable_bodies_fall_back() {
        for body in [
            json!(null),
            json!({}),
            json!({"requester_fields": "x"}),
            json!([]),
        ] {
            assert_eq!(
                AccountFields::from_requester_fields(&body),
                AccountFields::fallback()
            );
        }
        assert_eq!(AccountFields::fallback().languages.len(), 30);
    }

    #[test]
    fn bare_array_and_missing_language_choices() {
        let f = AccountFields::from_requester_fields(&json!([
            {"name": "language", "type": "default_language", "default": true},
            {"name": "time_zone", "type": "default_time_zone", "default": true, "choices": []}
        ]));
        assert_eq!(f.languages, AccountFields::fallback().languages);
        assert_eq!(f.time_zones, None);
    }

    #[test]
    fn custom_field_lookup_is_case_insensitive() {
        let f = AccountFields::from_requester_fields(&sample());
        assert_eq!(f.custom_field("House").unwrap().name, "house");
        assert!(f.custom_field("nope").is_none());
    }
}
