//! A stored SCIM user → the desired Freshservice requester body (every row
//! of the mapping table, `docs/architecture.md` §8, except `active`, which
//! has its own endpoints), as the tenant's [`MappingSettings`] choose.
//!
//! Blank policy: fields the bridge owns are always present in the body, as
//! `null` when Okta has no value, so that clearing a value in Okta clears it
//! in Freshservice (Freshservice itself reports blanks as `null`).
//! Exceptions, each because `null` would be wrong or rejected:
//! `first_name` is required (falls back, never blank); `primary_email` is
//! the requester's identity (left out when there is none, never cleared);
//! `secondary_emails` is an array (`[]`, not `null`); `language` and
//! `time_zone` are left out when Okta has none or nothing matches, so the
//! account default or the previous value stays; `custom_fields` carries only
//! what Okta sends ([`super::diff`] clears keys Okta stopped sending);
//! `department_ids` is left out when Okta's department matches none of the
//! account's. A row the tenant switched off is left out: the field keeps
//! what Freshservice holds.

use serde_json::{Map, Value};

use super::address::address_line;
use super::custom::map_custom_fields;
use super::enterprise::{self, Resolved};
use super::error::MappingError;
use super::fields::AccountFields;
use super::locale::locale_to_language;
use super::settings::{MappingSettings, Row};
use super::timezone::map_time_zone;

/// Not the bridge's field: an admin ticks it in Freshservice. A PUT without
/// it resets it to `false` (`docs/freshservice.md` §2.2), so the worker
/// sends back, on every PUT, the value Freshservice holds
/// (`worker/src/converge/run.rs`); the mapping never produces it.
pub const CAN_SEE_DEPARTMENT_TICKETS: &str = "can_see_all_tickets_from_associated_departments";

/// Every key [`to_requester`] can produce; all are writable requester
/// attributes (`docs/architecture.md` §6). Nothing else is ever sent.
pub const PRODUCED_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "primary_email",
    "secondary_emails",
    "job_title",
    "work_phone_number",
    "mobile_phone_number",
    "address",
    "language",
    "time_zone",
    "department_ids",
    "reporting_manager_id",
    "custom_fields",
];

/// The desired requester body and what the mapping had to leave out.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// Requester attributes for POST / PUT (see [`super::diff::changed_fields`]).
    pub body: Map<String, Value>,
    /// Human-readable notes for the user's sync status (unmatched locale or
    /// time zone, first-name fallback, required fields without a value).
    pub warnings: Vec<String>,
}

/// Maps a stored SCIM user (core attributes at top level, enterprise ones
/// under [`crate::settings::ENTERPRISE_URN`], custom attributes under `custom_fields`) onto
/// this account's requester fields, as the tenant's `settings` choose, with
/// the department and manager the worker looked up (`resolved`).
pub fn to_requester(
    user: &Value,
    fields: &AccountFields,
    settings: &MappingSettings,
    resolved: &Resolved,
) -> Result<Mapped, MappingError> {
    if !user.is_object() {
        return Err(MappingError::InvalidUser(
            "the user is not a JSON object".into(),
        ));
    }
    let on = |row| settings.is_on(row);
    let mut warnings = Vec::new();
    let primary = primary_email(user);
    let work_phone = phone(user, "work");
    let mobile_phone = phone(user, "mobile");
    if primary.is_none() && work_phone.is_none() && mobile_phone.is_none() {
        return Err(MappingError::NoContact);
    }

    let mut body = Map::new();
    let (first, fallback_note) = first_name(user, primary.as_deref()).ok_or_else(|| {
        MappingError::InvalidUser(
            "no name.givenName, email or userName to use as first_name".into(),
        )
    })?;
    warnings.extend(fallback_note);
    body.insert("first_name".into(), first.into());
    if on(Row::LastName) {
        body.insert(
            "last_name".into(),
            or_null(text(user.pointer("/name/familyName"))),
        );
    }
    if let Some(p) = &primary {
        body.insert("primary_email".into(), p.clone().into());
    }
    if on(Row::SecondaryEmails) {
        body.insert(
            "secondary_emails".into(),
            secondary_emails(user, primary.as_deref()).into(),
        );
    }
    if on(Row::JobTitle) {
        body.insert("job_title".into(), or_null(text(user.get("title"))));
    }
    if on(Row::WorkPhone) {
        body.insert("work_phone_number".into(), or_null(work_phone));
    }
    if on(Row::MobilePhone) {
        body.insert("mobile_phone_number".into(), or_null(mobile_phone));
    }
    if on(Row::Address) {
        body.insert(
            "address".into(),
            or_null(user.get("addresses").and_then(address_line)),
        );
    }

    if let Some(locale) = text(user.get("locale")).filter(|_| on(Row::Language)) {
        match locale_to_language(&locale, &fields.languages) {
            Some(code) => {
                body.insert("language".into(), code.into());
            }
            None => warnings.push(format!(
                "locale {locale:?} matches none of this account's languages ({}); language not sent (the account default or the previous value stays)",
                fields.languages.join(", ")
            )),
        }
    }
    if let Some(tz) = text(user.get("timezone")).filter(|_| on(Row::TimeZone)) {
        match map_time_zone(&tz, fields.time_zones.as_deref()) {
            Some(name) => {
                body.insert("time_zone".into(), name.into());
            }
            None => warnings.push(format!(
                "timezone {tz:?} has no Freshservice equivalent{}; time_zone not sent (the account default or the previous value stays)",
                if fields.time_zones.is_some() {
                    " offered by this account"
                } else {
                    ""
                }
            )),
        }
    }
    if on(Row::Department) {
        enterprise::department(&mut body, &mut warnings, resolved);
    }
    if on(Row::Manager) {
        enterprise::manager(&mut body, &mut warnings, resolved);
    }

    let mut custom = Map::new();
    match user.get("custom_fields") {
        _ if !on(Row::CustomFields) => {}
        None | Some(Value::Null) => {}
        Some(Value::Object(values)) => custom = map_custom_fields(values, fields)?,
        Some(other) => {
            return Err(MappingError::InvalidUser(format!(
                "custom_fields must be an object, not {other}"
            )))
        }
    }
    enterprise::custom_fields(user, fields, settings, &mut custom, &mut warnings)?;
    if !custom.is_empty() {
        body.insert("custom_fields".into(), custom.into());
    }

    warnings.extend(missing_required(&body, fields));
    Ok(Mapped { body, warnings })
}

/// Whether the requester should be active: SCIM `active`, true when absent
/// (Okta always sends it; a user without it was created active). Also reads
/// `"true"`/`"false"` strings, which some SCIM clients send.
pub fn desired_active(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.trim().eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// `emails[primary eq true].value`, else the first email, else `userName`
/// when it is an email address. Trimmed; blanks are skipped.
pub fn primary_email(user: &Value) -> Option<String> {
    let emails = email_values(user);
    emails
        .iter()
        .find(|(_, primary)| *primary)
        .or_else(|| emails.first())
        .map(|(v, _)| v.clone())
        .or_else(|| text(user.get("userName")).filter(|u| u.contains('@')))
}

/// The other emails, without the primary and without duplicates (compared
/// as the ingress indexes them: [`crate::identity`]), in Okta's order.
fn secondary_emails(user: &Value, primary: Option<&str>) -> Vec<String> {
    let mut seen: std::collections::HashSet<String> =
        primary.map(crate::identity::fold).into_iter().collect();
    let mut out = Vec::new();
    for (email, _) in email_values(user) {
        if seen.insert(crate::identity::fold(&email)) {
            out.push(email);
        }
    }
    out
}

/// `(value, primary)` for each non-blank entry of `emails`.
fn email_values(user: &Value) -> Vec<(String, bool)> {
    user.get("emails")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    let value = text(e.get("value"))?;
                    Some((
                        value,
                        e.get("primary").and_then(Value::as_bool) == Some(true),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `name.givenName`, else the email's local part, else `userName`; with a
/// note when a fallback was used. Freshservice rejects a blank first name.
pub(crate) fn first_name(user: &Value, email: Option<&str>) -> Option<(String, Option<String>)> {
    if let Some(given) = text(user.pointer("/name/givenName")) {
        return Some((given, None));
    }
    let local = email
        .and_then(|e| e.split('@').next())
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let (value, source) = match local {
        Some(l) => (l.to_owned(), "the email's local part"),
        None => (text(user.get("userName"))?, "userName"),
    };
    let note = format!("name.givenName is empty; first_name set to {value:?} from {source}");
    Some((value, Some(note)))
}

/// The phone number of one type (case-insensitive); among several, the
/// primary one, else the first. Numbers are sent as strings
/// (`docs/freshservice.md` §2.2).
fn phone(user: &Value, kind: &str) -> Option<String> {
    let list = user.get("phoneNumbers")?.as_array()?;
    let of_kind: Vec<&Value> = list
        .iter()
        .filter(|p| {
            p.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(kind))
        })
        .filter(|p| text(p.get("value")).is_some())
        .collect();
    of_kind
        .iter()
        .find(|p| p.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| of_kind.first())
        .and_then(|p| text(p.get("value")))
}

/// A trimmed, non-blank string (numbers stringified, e.g. a phone number
/// stored as a JSON number).
fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

fn or_null(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::String)
}

/// Warnings for fields the account marks `required_for_agents` that end up
/// blank. Freshservice may reject the user for them (open,
/// `docs/freshservice.md` §3), so
/// the admin should know before it does.
fn missing_required(body: &Map<String, Value>, fields: &AccountFields) -> Vec<String> {
    let custom = body.get("custom_fields").and_then(Value::as_object);
    fields
        .required
        .iter()
        .filter(|name| {
            let value = match name.as_str() {
                // requester_fields names differ from the requester keys here.
                "email" => body.get("primary_email"),
                n if PRODUCED_FIELDS.contains(&n) => body.get(n),
                n => custom.and_then(|c| c.get(n)),
            };
            match value {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(_) => false,
            }
        })
        .map(|name| {
            format!("requester field `{name}` is required in this account but Okta sends no value for it")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{CustomField, CustomKind};
    use serde_json::json;

    /// The mapping as shipped, nothing resolved.
    fn map(user: &Value, fields: &AccountFields) -> Result<Mapped, MappingError> {
        to_requester(
            user,
            fields,
            &MappingSettings::default(),
            &Resolved::default(),
        )
    }

    fn fields() -> AccountFields {
        AccountFields {
            custom: vec![
                CustomField {
                    name: "night_shift".into(),
                    label: "Night shift".into(),
                    kind: CustomKind::Checkbox,
                    choices: vec![],
                },
                CustomField {
                    name: "joined_date".into(),
                    label: "Joined".into(),
                    kind: CustomKind::Date,
                    choices: vec![],
                },
            ],
            ..AccountFields::fallback()
        }
    }

    fn full_user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "userName": "jack@yourcompany.com",
            "active": true,
            "name": {"givenName": " Jack ", "familyName": "Sparrow"},
            "emails": [
                {"value": "JACKIE@clientcompany.com", "type": "home"},
                {"value": "jack@yourcompany.com", "type": "work", "primary": true},
                {"value": "jackie@clientcompany.com", "type": "other"},
                {"value": "Jack@YourCompany.com", "type": "other"},
                {"value": "  ", "type": "other"}
            ],
            "title": "Captain",
            "phoneNumbers": [
                {"value": "1234567890", "type": "work"},
                {"value": "9999900000", "type": "mobile"},
                {"value": "555", "type": "home"}
            ],
            "addresses": [{"type": "work", "streetAddress": "Black Pearl", "locality": "Tortuga",
                           "country": "Caribbean Sea"}],
            "locale": "en_US",
            "timezone": "America/New_York",
            "custom_fields": {"night_shift": "yes", "joined_date": "2016-04-19T18:30:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ships"}
        })
    }

    #[test]
    fn full_user_maps_every_row() {
        let m = map(&full_user(), &fields()).unwrap();
        assert_eq!(
            Value::Object(m.body),
            json!({
                "first_name": "Jack",
                "last_name": "Sparrow",
                "primary_email": "jack@yourcompany.com",
                "secondary_emails": ["JACKIE@clientcompany.com"],
                "job_title": "Captain",
                "work_phone_number": "1234567890",
                "mobile_phone_number": "9999900000",
                "address": "Black Pearl, Tortuga, Caribbean Sea",
                "language": "en",
                "time_zone": "Eastern Time (US & Canada)",
                "department_ids": [],
                "reporting_manager_id": null,
                "custom_fields": {"night_shift": true, "joined_date": "2016-04-19"}
            })
        );
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn only_writable_requester_fields_are_produced() {
        let m = map(&full_user(), &fields()).unwrap();
        for key in m.body.keys() {
            assert!(PRODUCED_FIELDS.contains(&key.as_str()), "{key}");
        }
        assert!(!m.body.contains_key("active"));
    }

    #[test]
    fn minimal_user_sends_blanks_for_owned_fields() {
        let user = json!({"userName": "ann@example.com"});
        let m = map(&user, &fields()).unwrap();
        assert_eq!(
            Value::Object(m.body),
            json!({
                "first_name": "ann",
                "last_name": null,
                "primary_email": "ann@example.com",
                "secondary_emails": [],
                "job_title": null,
                "work_phone_number": null,
                "mobile_phone_number": null,
                "address": null,
                "department_ids": [],
                "reporting_manager_id": null
            })
        );
        assert_eq!(m.warnings.len(), 1);
        assert!(
            m.warnings[0].contains("\"ann\" from the email's local part"),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn primary_email_rules() {
        let cases = [
            (
                json!({"emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}]}),
                Some("b@x"),
            ),
            (
                json!({"emails": [{"value": "a@x"}, {"value": "b@x"}], "userName": "c@x"}),
                Some("a@x"),
            ),
            (
                json!({"emails": [{"value": " "}], "userName": " c@x "}),
                Some("c@x"),
            ),
            (json!({"emails": [], "userName": "c@x"}), Some("c@x")),
            (json!({"userName": "jdoe"}), None),
            (json!({}), None),
        ];
        for (user, want) in cases {
            assert_eq!(primary_email(&user).as_deref(), want, "{user}");
        }
    }

    #[test]
    fn secondary_emails_exclude_primary_and_duplicates() {
        let user = json!({"emails": [
            {"value": "b@x"}, {"value": "A@x", "primary": true}, {"value": "a@X"},
            {"value": "B@X"}, {"value": "c@x"}
        ]});
        let m = map(&user, &fields()).unwrap();
        assert_eq!(m.body["primary_email"], json!("A@x"));
        assert_eq!(m.body["secondary_emails"], json!(["b@x", "c@x"]));
    }

    #[test]
    fn first_name_fallbacks() {
        let cases = [
            (
                json!({"userName": "u", "name": {"givenName": "Ann"}, "emails": [{"value": "x@y"}]}),
                "Ann",
                false,
            ),
            (
                json!({"userName": "u", "name": {"givenName": "  "}, "emails": [{"value": "x@y"}]}),
                "x",
                true,
            ),
            (json!({"userName": "jdoe@y"}), "jdoe", true),
            // Phone-only user: no email, so userName.
            (
                json!({"userName": "jdoe", "phoneNumbers": [{"type": "work", "value": "1"}]}),
                "jdoe",
                true,
            ),
            // An email with an empty local part does not give an empty name.
            (
                json!({"userName": "jdoe", "emails": [{"value": "@y"}]}),
                "jdoe",
                true,
            ),
        ];
        for (user, want, warned) in cases {
            let m = map(&user, &fields()).unwrap();
            assert_eq!(m.body["first_name"], json!(want), "{user}");
            assert_eq!(!m.warnings.is_empty(), warned, "{user}: {:?}", m.warnings);
        }
    }

    #[test]
    fn users_without_contact_or_name_are_errors() {
        let err = map(&json!({"userName": "jdoe"}), &fields()).unwrap_err();
        assert_eq!(err, MappingError::NoContact);
        // A phone-only user without any name cannot get a first name.
        let user = json!({"phoneNumbers": [{"type": "mobile", "value": "1"}]});
        assert!(matches!(
            map(&user, &fields()),
            Err(MappingError::InvalidUser(_))
        ));
        assert!(matches!(
            map(&json!([]), &fields()),
            Err(MappingError::InvalidUser(_))
        ));
        let user = json!({"userName": "a@b", "custom_fields": "x"});
        assert!(matches!(
            map(&user, &fields()),
            Err(MappingError::InvalidUser(_))
        ));
    }

    #[test]
    fn phones() {
        let user = json!({"userName": "a@b", "phoneNumbers": [
            {"type": "WORK", "value": "1"},
            {"type": "work", "value": "2", "primary": true},
            {"type": "mobile", "value": 5551234},
            {"type": "mobile", "value": "6"}
        ]});
        let m = map(&user, &fields()).unwrap();
        assert_eq!(m.body["work_phone_number"], json!("2"));
        assert_eq!(m.body["mobile_phone_number"], json!("5551234"));
        // Only a mobile number: enough contact, no email needed.
        let user = json!({"userName": "jdoe", "phoneNumbers": [{"type": "mobile", "value": "7"}]});
        let m = map(&user, &fields()).unwrap();
        assert!(!m.body.contains_key("primary_email"));
        assert_eq!(m.body["mobile_phone_number"], json!("7"));
        assert_eq!(m.body["work_phone_number"], Value::Null);
    }

    #[test]
    fn locale_and_timezone_misses_are_warnings() {
        let mut user = full_user();
        user["locale"] = json!("xx_YY");
        user["timezone"] = json!("Mars/Olympus");
        let m = map(&user, &fields()).unwrap();
        assert!(!m.body.contains_key("language"));
        assert!(!m.body.contains_key("time_zone"));
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("\"xx_YY\""));
        assert!(m.warnings[1].contains("\"Mars/Olympus\""));
    }

    #[test]
    fn account_time_zone_choices_are_honoured() {
        let mut f = fields();
        f.time_zones = Some(vec!["Edinburgh".into()]);
        let mut user = full_user();
        user["timezone"] = json!("Europe/London");
        let m = map(&user, &f).unwrap();
        assert_eq!(m.body["time_zone"], json!("Edinburgh"));
        user["timezone"] = json!("America/New_York");
        let m = map(&user, &f).unwrap();
        assert!(!m.body.contains_key("time_zone"));
        assert!(
            m.warnings[0].contains("offered by this account"),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn absent_locale_and_timezone_are_left_out_silently() {
        let mut user = full_user();
        user.as_object_mut().unwrap().remove("locale");
        user["timezone"] = json!(null);
        let m = map(&user, &fields()).unwrap();
        assert!(!m.body.contains_key("language") && !m.body.contains_key("time_zone"));
        assert!(m.warnings.is_empty());
    }

    #[test]
    fn custom_field_errors_propagate() {
        let mut user = full_user();
        user["custom_fields"] = json!({"night_shift": "maybe"});
        let err = map(&user, &fields()).unwrap_err();
        assert!(matches!(err, MappingError::CustomField { ref name, .. } if name == "night_shift"));
        user["custom_fields"] = json!({"ship": "Pearl"});
        let err = map(&user, &fields()).unwrap_err();
        assert!(matches!(err, MappingError::UnknownCustomField { ref name, .. } if name == "ship"));
        // Empty or null custom_fields: no custom_fields key at all.
        for cf in [json!({}), json!(null)] {
            user["custom_fields"] = cf;
            assert!(!map(&user, &fields())
                .unwrap()
                .body
                .contains_key("custom_fields"));
        }
    }

    #[test]
    fn required_fields_without_values_warn() {
        let mut f = fields();
        f.required = vec![
            "first_name".into(),
            "email".into(),
            "job_title".into(),
            "night_shift".into(),
            "department".into(),
        ];
        let user = json!({"userName": "ann@example.com", "name": {"givenName": "Ann"}});
        let m = map(&user, &f).unwrap();
        let named: Vec<_> = m
            .warnings
            .iter()
            .map(|w| w.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(named, ["job_title", "night_shift", "department"]);
    }

    #[test]
    fn active_flag() {
        let cases = [
            (json!({"active": true}), true),
            (json!({"active": false}), false),
            (json!({"active": "False"}), false),
            (json!({"active": "true"}), true),
            (json!({}), true),
        ];
        for (user, want) in cases {
            assert_eq!(desired_active(&user), want, "{user}");
        }
    }

    #[test]
    fn rows_switched_off_are_left_out() {
        let mut settings = MappingSettings::default();
        settings.off.extend([
            Row::WorkPhone,
            Row::MobilePhone,
            Row::Department,
            Row::Manager,
            Row::CustomFields,
            Row::TimeZone,
            Row::JobTitle,
        ]);
        let resolved = Resolved {
            department: Some(crate::Resolution::Found(3)),
            manager: Some(crate::Resolution::Found(4)),
        };
        let m = to_requester(&full_user(), &fields(), &settings, &resolved).unwrap();
        for gone in [
            "work_phone_number",
            "mobile_phone_number",
            "department_ids",
            "reporting_manager_id",
            "custom_fields",
            "time_zone",
            "job_title",
        ] {
            assert!(!m.body.contains_key(gone), "{gone} still in {:?}", m.body);
        }
        assert_eq!(m.body["last_name"], "Sparrow");
        // Identity is never a row: first name and primary email stay.
        assert_eq!(m.body["primary_email"], "jack@yourcompany.com");

        let m = to_requester(
            &full_user(),
            &fields(),
            &MappingSettings::default(),
            &resolved,
        )
        .unwrap();
        assert_eq!(m.body["department_ids"], json!([3]));
        assert_eq!(m.body["reporting_manager_id"], 4);
    }
}
