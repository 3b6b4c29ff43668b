//! Okta `custom_fields.*` values → Freshservice custom field values of the
//! right type.
//!
//! A value that cannot fit is an error, not a silent drop: the admin must
//! see that Okta sends something the account's field cannot hold.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Number, Value};

use super::error::MappingError;
use super::fields::{AccountFields, CustomField, CustomKind};

/// Coerces the SCIM `custom_fields` object onto the account's custom
/// fields. Keys are matched case-insensitively (SCIM attribute names are)
/// and come out in the account's spelling.
pub fn map_custom_fields(
    values: &Map<String, Value>,
    fields: &AccountFields,
) -> Result<Map<String, Value>, MappingError> {
    let mut out = Map::new();
    for (name, value) in values {
        let field = fields
            .custom_field(name)
            .ok_or_else(|| MappingError::UnknownCustomField {
                name: name.clone(),
                known: fields.custom.iter().map(|f| f.name.clone()).collect(),
            })?;
        out.insert(field.name.clone(), coerce(field, value)?);
    }
    Ok(out)
}

/// One value for one field. `null` stays `null`, which clears the field.
pub fn coerce(field: &CustomField, value: &Value) -> Result<Value, MappingError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let fail = |reason: String| MappingError::CustomField {
        name: field.name.clone(),
        value: value.to_string(),
        reason,
    };
    match &field.kind {
        CustomKind::Text | CustomKind::Paragraph | CustomKind::Phone | CustomKind::Url => {
            scalar_text(value).map(Value::String).ok_or_else(|| {
                fail(format!("a {} field takes text, a number or true/false", field.kind.describe()))
            })
        }
        CustomKind::Number => integer(value)
            .map(Value::from)
            .ok_or_else(|| fail("a number field takes a whole number such as 42 or \"42\"".into())),
        CustomKind::Decimal => decimal(value)
            .map(Value::Number)
            .ok_or_else(|| fail("a decimal field takes a number such as 4.2 or \"4.2\"".into())),
        CustomKind::Checkbox => checkbox(value).map(Value::Bool).ok_or_else(|| {
            fail("a checkbox field takes true/false (or \"true\"/\"false\", \"yes\"/\"no\", \"1\"/\"0\")".into())
        }),
        CustomKind::Date => date(value).map(Value::String).ok_or_else(|| {
            fail("a date field takes YYYY-MM-DD or an RFC 3339 date-time such as 2024-05-01T09:00:00Z".into())
        }),
        CustomKind::Dropdown => dropdown(value, &field.choices).map(Value::String).ok_or_else(|| {
            fail(format!("a dropdown field takes one of: {}", field.choices.join(", ")))
        }),
        // A type this code does not know: pass single values through and let
        // Freshservice judge them; a list or object cannot be right.
        CustomKind::Other(_) => match value {
            Value::Array(_) | Value::Object(_) => {
                Err(fail(format!("a {} field takes a single value", field.kind.describe())))
            }
            v => Ok(v.clone()),
        },
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            // 42.0 is a whole number that came through a float.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn decimal(value: &Value) -> Option<Number> {
    match value {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => {
            let s = s.trim();
            // Keep integers exact; floats must be finite to be JSON.
            s.parse::<i64>()
                .ok()
                .map(Number::from)
                .or_else(|| s.parse::<f64>().ok().and_then(Number::from_f64))
        }
        _ => None,
    }
}

fn checkbox(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn date(value: &Value) -> Option<String> {
    let s = value.as_str()?.trim();
    // Strict YYYY-MM-DD: chrono alone would take unpadded months.
    let is_plain_date = |d: &str| {
        d.len() == 10
            && d.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            })
            && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
    };
    if is_plain_date(s) {
        return Some(s.to_owned());
    }
    // The calendar date as written, not converted to UTC: Okta's value is
    // the day the admin meant.
    DateTime::parse_from_rfc3339(s).ok()?;
    let day = s.get(..10)?;
    is_plain_date(day).then(|| day.to_owned())
}

fn dropdown(value: &Value, choices: &[String]) -> Option<String> {
    let s = scalar_text(value)?;
    if choices.is_empty() {
        // The account listed no choices we could read: nothing to check
        // against, so Freshservice decides.
        return Some(s);
    }
    let t = s.trim();
    choices
        .iter()
        .find(|c| c.as_str() == t)
        .or_else(|| {
            choices
                .iter()
                .find(|c| c.to_lowercase() == t.to_lowercase())
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(kind: CustomKind) -> CustomField {
        CustomField {
            name: "f".into(),
            label: "F".into(),
            kind,
            choices: vec!["Black Pearl".into(), "Flying Dutchman".into()],
        }
    }

    #[test]
    fn good_values() {
        use CustomKind::*;
        let cases: Vec<(CustomKind, Value, Value)> = vec![
            (Text, json!("Pirate"), json!("Pirate")),
            (Text, json!(42), json!("42")),
            (Text, json!(4.5), json!("4.5")),
            (Text, json!(true), json!("true")),
            (Paragraph, json!("a\nb"), json!("a\nb")),
            (Phone, json!(5551234), json!("5551234")),
            (Phone, json!("+1 555 1234"), json!("+1 555 1234")),
            (
                Url,
                json!("https://example.com"),
                json!("https://example.com"),
            ),
            (Number, json!(42), json!(42)),
            (Number, json!(-7), json!(-7)),
            (Number, json!("42"), json!(42)),
            (Number, json!(" 42 "), json!(42)),
            (Number, json!(42.0), json!(42)),
            (Decimal, json!(4.2), json!(4.2)),
            (Decimal, json!(4), json!(4)),
            (Decimal, json!("4.2"), json!(4.2)),
            (Decimal, json!("10"), json!(10)),
            (Checkbox, json!(true), json!(true)),
            (Checkbox, json!(false), json!(false)),
            (Checkbox, json!("true"), json!(true)),
            (Checkbox, json!("True"), json!(true)),
            (Checkbox, json!("FALSE"), json!(false)),
            (Checkbox, json!("yes"), json!(true)),
            (Checkbox, json!("no"), json!(false)),
            (Checkbox, json!("1"), json!(true)),
            (Checkbox, json!("0"), json!(false)),
            (Checkbox, json!(1), json!(true)),
            (Checkbox, json!(0), json!(false)),
            (Date, json!("2016-04-19"), json!("2016-04-19")),
            (Date, json!("2016-04-19T18:30:00Z"), json!("2016-04-19")),
            (
                Date,
                json!("2016-04-19T23:30:00-05:00"),
                json!("2016-04-19"),
            ),
            (
                Date,
                json!("2016-04-19T18:30:00.123+05:30"),
                json!("2016-04-19"),
            ),
            (Dropdown, json!("Black Pearl"), json!("Black Pearl")),
            (Dropdown, json!("black pearl"), json!("Black Pearl")),
            (
                Dropdown,
                json!(" FLYING DUTCHMAN "),
                json!("Flying Dutchman"),
            ),
            (Other("custom_magic".into()), json!(3), json!(3)),
            (Other("custom_magic".into()), json!("x"), json!("x")),
        ];
        for (kind, input, want) in cases {
            let got = coerce(&field(kind.clone()), &input);
            assert_eq!(got, Ok(want), "{kind:?} {input}");
        }
    }

    #[test]
    fn null_clears_every_kind() {
        use CustomKind::*;
        for kind in [
            Text,
            Paragraph,
            Number,
            Decimal,
            Checkbox,
            Date,
            Dropdown,
            Phone,
            Url,
            Other("x".into()),
        ] {
            assert_eq!(coerce(&field(kind), &Value::Null), Ok(Value::Null));
        }
    }

    #[test]
    fn bad_values() {
        use CustomKind::*;
        let cases: Vec<(CustomKind, Value, &str)> = vec![
            (Text, json!(["a"]), "takes text"),
            (Text, json!({"a": 1}), "takes text"),
            (Phone, json!([1]), "phone number field takes text"),
            (Url, json!({}), "URL field"),
            (Number, json!("4.2"), "whole number"),
            (Number, json!(4.2), "whole number"),
            (Number, json!("abc"), "whole number"),
            (Number, json!(true), "whole number"),
            (Number, json!(""), "whole number"),
            (Decimal, json!("abc"), "such as 4.2"),
            (Decimal, json!("NaN"), "such as 4.2"),
            (Decimal, json!(false), "such as 4.2"),
            (Checkbox, json!("maybe"), "true/false"),
            (Checkbox, json!(2), "true/false"),
            (Checkbox, json!([]), "true/false"),
            (Date, json!("19/04/2016"), "YYYY-MM-DD"),
            (Date, json!("2016-4-19"), "YYYY-MM-DD"),
            (Date, json!("2016-02-30"), "YYYY-MM-DD"),
            (Date, json!("2016-04-19T25:00:00Z"), "YYYY-MM-DD"),
            (Date, json!("2016-04-19 18:30"), "YYYY-MM-DD"),
            (Date, json!(20160419), "YYYY-MM-DD"),
            (
                Dropdown,
                json!("Queen Anne's Revenge"),
                "one of: Black Pearl, Flying Dutchman",
            ),
            (Dropdown, json!(["Black Pearl"]), "one of"),
            (Other("custom_magic".into()), json!([1]), "single value"),
        ];
        for (kind, input, reason) in cases {
            let err = coerce(&field(kind.clone()), &input).unwrap_err();
            let MappingError::CustomField {
                name,
                value,
                reason: r,
            } = &err
            else {
                panic!("{kind:?} {input}: {err:?}");
            };
            assert_eq!(name, "f");
            assert_eq!(value, &input.to_string());
            assert!(r.contains(reason), "{kind:?} {input}: {r}");
            // The message names the field and the value.
            let msg = err.to_string();
            assert!(
                msg.contains("`f`") && msg.contains(&input.to_string()),
                "{msg}"
            );
        }
    }

    #[test]
    fn dropdown_without_known_choices_passes_text_through() {
        let mut f = field(CustomKind::Dropdown);
        f.choices.clear();
        assert_eq!(coerce(&f, &json!("Anything")), Ok(json!("Anything")));
    }

    #[test]
    fn maps_an_object_and_rejects_unknown_names() {
        let fields = AccountFields {
            custom: vec![
                CustomField {
                    name: "night_shift".into(),
                    label: "Night shift".into(),
                    kind: CustomKind::Checkbox,
                    choices: vec![],
                },
                CustomField {
                    name: "spl_number".into(),
                    label: "SPL".into(),
                    kind: CustomKind::Number,
                    choices: vec![],
                },
            ],
            ..AccountFields::fallback()
        };
        let values = json!({"Night_Shift": "yes", "spl_number": null});
        let got = map_custom_fields(values.as_object().unwrap(), &fields).unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"night_shift": true, "spl_number": null})
        );

        let values = json!({"night_shift": true, "favourite_colour": "blue"});
        let err = map_custom_fields(values.as_object().unwrap(), &fields).unwrap_err();
        assert_eq!(
            err,
            MappingError::UnknownCustomField {
                name: "favourite_colour".into(),
                known: vec!["night_shift".into(), "spl_number".into()],
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("favourite_colour") && msg.contains("night_shift, spl_number"),
            "{msg}"
        );

        let values = json!({"spl_number": "4.2"});
        let err = map_custom_fields(values.as_object().unwrap(), &fields).unwrap_err();
        assert!(matches!(err, MappingError::CustomField { ref name, .. } if name == "spl_number"));
    }
}
