//! Validation of requester create/update bodies, as `docs/freshservice.md` describes it
//! (§2.2, §5, §7, §8): writable attributes only, types, email format, `time_zone`/`language` value
//! sets, custom field types and choices, mandatory fields, and email uniqueness across
//! requesters (active or not), agents and secondary emails.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::accounts::{Account, User};
use crate::errors::FieldError;
use crate::fields::{check_custom_value, too_long};

/// Who is writing the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `POST /requesters`.
    Create,
    /// `PUT /requesters/{id}`.
    Update,
    /// The admin API or a seed file: may also set `active`, `has_logged_in`, `vip_user`
    /// and, for agents, `email`/`occasional`.
    Admin,
}

/// Attributes a client may write on a requester (`docs/freshservice.md` §2.2). Everything else,
/// read-only attributes included, is `invalid_field`.
pub const WRITABLE: &[&str] = &[
    "first_name",
    "last_name",
    "job_title",
    "primary_email",
    "secondary_emails",
    "work_phone_number",
    "mobile_phone_number",
    "department_ids",
    "can_see_all_tickets_from_associated_departments",
    "can_see_all_changes_from_associated_departments",
    "reporting_manager_id",
    "address",
    "time_zone",
    "time_format",
    "language",
    "location_id",
    "background_information",
    "custom_fields",
    "external_id",
];

const ADMIN_ONLY: &[&str] = &["active", "has_logged_in", "vip_user", "email", "occasional"];

/// Plausible email address check (one `@`, a dotted domain, no spaces).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && s.len() <= 255
}

fn opt_string(
    errors: &mut Vec<FieldError>,
    key: &str,
    v: &Value,
    max: Option<usize>,
) -> Option<Option<String>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) => {
            if let Some(max) = max {
                let n = s.chars().count();
                if n > max {
                    errors.push(FieldError::invalid_value(key, &too_long(n, max)));
                    return None;
                }
            }
            Some(Some(s.clone()))
        }
        _ => {
            errors.push(FieldError::datatype(key, "String"));
            None
        }
    }
}

fn opt_id(errors: &mut Vec<FieldError>, key: &str, v: &Value) -> Option<Option<u64>> {
    match v {
        Value::Null => Some(None),
        Value::Number(n) => match n.as_u64().filter(|x| *x > 0) {
            Some(x) => Some(Some(x)),
            None => {
                errors.push(FieldError::datatype(key, "Positive Integer"));
                None
            }
        },
        _ => {
            errors.push(FieldError::datatype(key, "Positive Integer"));
            None
        }
    }
}

fn boolean(errors: &mut Vec<FieldError>, key: &str, v: &Value) -> Option<bool> {
    match v.as_bool() {
        Some(b) => Some(b),
        None => {
            errors.push(FieldError::datatype(key, "Boolean"));
            None
        }
    }
}

/// Applies `body` onto `user`, collecting every field error. Checks that need the whole
/// resulting user (mandatory fields, uniqueness) are in [`check_complete`] and
/// [`check_duplicates`].
pub fn apply_body(
    acct: &Account,
    user: &mut User,
    body: &Map<String, Value>,
    mode: Mode,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, v) in body {
        let k = key.as_str();
        let allowed = WRITABLE.contains(&k) || (mode == Mode::Admin && ADMIN_ONLY.contains(&k));
        if !allowed {
            errors.push(FieldError::invalid_field(k));
            continue;
        }
        match k {
            "first_name" => match v {
                Value::String(s) if s.trim().is_empty() => {
                    errors.push(FieldError::invalid_value(k, "It should not be blank"))
                }
                _ => {
                    if v.is_null() {
                        errors.push(FieldError::missing(k, "String"));
                    } else if let Some(Some(s)) = opt_string(&mut errors, k, v, Some(255)) {
                        user.first_name = s;
                    }
                }
            },
            "last_name" | "job_title" => {
                if let Some(s) = opt_string(&mut errors, k, v, Some(255)) {
                    if k == "last_name" {
                        user.last_name = s;
                    } else {
                        user.job_title = s;
                    }
                }
            }
            "address" | "background_information" => {
                if let Some(s) = opt_string(&mut errors, k, v, None) {
                    if k == "address" {
                        user.address = s;
                    } else {
                        user.background_information = s;
                    }
                }
            }
            "work_phone_number" | "mobile_phone_number" => {
                if let Some(s) = opt_string(&mut errors, k, v, Some(255)) {
                    let s = s.filter(|x| !x.is_empty());
                    if k == "work_phone_number" {
                        user.work_phone_number = s;
                    } else {
                        user.mobile_phone_number = s;
                    }
                }
            }
            "primary_email" | "email" => {
                if let Some(s) = opt_string(&mut errors, k, v, None) {
                    match s {
                        Some(e) if !is_email(&e) => errors.push(FieldError::invalid_value(
                            k,
                            "It should be in the 'valid email address' format",
                        )),
                        s => user.primary_email = s,
                    }
                }
            }
            "secondary_emails" => match v.as_array() {
                Some(arr) => {
                    let mut out = Vec::new();
                    let mut ok = true;
                    for e in arr {
                        match e.as_str() {
                            Some(s) if is_email(s) => out.push(s.to_string()),
                            Some(_) => {
                                errors.push(FieldError::invalid_value(
                                    k,
                                    "It should be in the 'valid email address' format",
                                ));
                                ok = false;
                                break;
                            }
                            None => {
                                errors.push(FieldError::datatype(k, "Array of String"));
                                ok = false;
                                break;
                            }
                        }
                    }
                    if ok {
                        user.secondary_emails = out;
                    }
                }
                None => errors.push(FieldError::datatype(k, "Array")),
            },
            "department_ids" => match v.as_array() {
                Some(arr) => {
                    let ids: Option<Vec<u64>> =
                        arr.iter().map(|x| x.as_u64().filter(|n| *n > 0)).collect();
                    match ids {
                        None => errors.push(FieldError::datatype(k, "Array of Positive Integer")),
                        Some(ids) => {
                            if let Some(bad) =
                                ids.iter().find(|id| !acct.departments.contains_key(id))
                            {
                                errors.push(FieldError::invalid_value(
                                    k,
                                    &format!("There is no department with id {bad}"),
                                ));
                            } else {
                                user.department_ids = ids;
                            }
                        }
                    }
                }
                None => errors.push(FieldError::datatype(k, "Array")),
            },
            "can_see_all_tickets_from_associated_departments" => {
                if let Some(b) = boolean(&mut errors, k, v) {
                    user.can_see_all_tickets_from_associated_departments = b;
                }
            }
            "can_see_all_changes_from_associated_departments" => {
                if let Some(b) = boolean(&mut errors, k, v) {
                    user.can_see_all_changes_from_associated_departments = b;
                }
            }
            "active" | "has_logged_in" | "vip_user" | "occasional" => {
                if let Some(b) = boolean(&mut errors, k, v) {
                    match k {
                        "active" => user.active = b,
                        "has_logged_in" => user.has_logged_in = b,
                        "vip_user" => user.vip_user = b,
                        _ => user.occasional = b,
                    }
                }
            }
            "reporting_manager_id" => {
                if let Some(id) = opt_id(&mut errors, k, v) {
                    match id {
                        Some(m) if m == user.id || !acct.users.contains_key(&m) => errors.push(
                            FieldError::invalid_value(k, &format!("There is no user with id {m}")),
                        ),
                        id => user.reporting_manager_id = id,
                    }
                }
            }
            "location_id" => {
                if let Some(id) = opt_id(&mut errors, k, v) {
                    match id {
                        Some(l) if !acct.locations.contains_key(&l) => {
                            errors.push(FieldError::invalid_value(
                                k,
                                &format!("There is no location with id {l}"),
                            ))
                        }
                        id => user.location_id = id,
                    }
                }
            }
            "time_zone" => match v.as_str() {
                Some(tz) if crate::timezones::is_valid(tz) => user.time_zone = tz.to_string(),
                Some(_) => errors.push(FieldError::not_a_choice(k)),
                None => errors.push(FieldError::datatype(k, "String")),
            },
            "language" => match v.as_str() {
                Some(l) if acct.is_language(l) => user.language = l.to_string(),
                Some(_) => errors.push(FieldError::not_a_choice(k)),
                None => errors.push(FieldError::datatype(k, "String")),
            },
            "time_format" => match v.as_str() {
                Some(f @ ("12h" | "24h")) => user.time_format = f.to_string(),
                Some(_) => errors.push(FieldError::not_a_choice(k)),
                None => errors.push(FieldError::datatype(k, "String")),
            },
            "external_id" => match v {
                Value::Null => user.external_id = None,
                Value::String(s) => user.external_id = Some(s.clone()),
                Value::Number(n) if n.is_u64() => user.external_id = Some(n.to_string()),
                _ => errors.push(FieldError::datatype(k, "String")),
            },
            "custom_fields" => match v.as_object() {
                Some(cf) => {
                    for (name, value) in cf {
                        match acct.custom_field(name) {
                            None => errors.push(FieldError::invalid_field(name)),
                            Some(f) => match check_custom_value(f, value) {
                                Ok(()) => {
                                    user.custom_fields.insert(name.clone(), value.clone());
                                }
                                Err(e) => errors.push(e),
                            },
                        }
                    }
                }
                None => errors.push(FieldError::datatype(k, "key/value pair")),
            },
            _ => errors.push(FieldError::invalid_field(k)),
        }
    }
    errors
}

/// Checks what must hold of the resulting user: `first_name` present, one of
/// primary_email / work_phone_number / mobile_phone_number, required custom fields.
pub fn check_complete(acct: &Account, user: &User, body: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if user.first_name.is_empty() && !body.contains_key("first_name") {
        errors.push(FieldError::missing("first_name", "String"));
    }
    // A contact value that was given but rejected is reported on its own field only.
    let contact_given = ["primary_email", "work_phone_number", "mobile_phone_number"]
        .iter()
        .any(|k| body.get(*k).is_some_and(|v| !v.is_null()));
    if user.primary_email.is_none()
        && user.work_phone_number.is_none()
        && user.mobile_phone_number.is_none()
        && !contact_given
    {
        errors.push(FieldError::new(
            "primary_email",
            "missing_field",
            &["Please fill at least 1 of primary_email, work_phone_number, mobile_phone_number fields"],
        ));
    }
    for f in &acct.custom_fields {
        if f.spec.required_for_agents
            && user
                .custom_fields
                .get(&f.spec.name)
                .is_none_or(Value::is_null)
        {
            errors.push(FieldError::new(
                &f.spec.name,
                "missing_field",
                &["It should not be blank as this is a mandatory field"],
            ));
        }
    }
    errors
}

/// Email uniqueness: the user's primary and secondary emails may not belong to any other
/// user of the account (requester active or deactivated, or agent), as primary or
/// secondary (`docs/freshservice.md` §8, unconfirmed there; the simulator enforces it). The error's
/// field is the request field that carries the clashing email.
pub fn check_duplicates(acct: &Account, user: &User) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let taken: HashSet<String> = acct
        .users
        .values()
        .filter(|u| u.id != user.id)
        .flat_map(|u| u.emails().collect::<Vec<_>>())
        .collect();
    if let Some(p) = &user.primary_email {
        if taken.contains(&p.to_lowercase()) {
            errors.push(FieldError::duplicate("primary_email"));
        }
    }
    let primary = user.primary_email.as_ref().map(|p| p.to_lowercase());
    let mut seen = HashSet::new();
    for s in &user.secondary_emails {
        let l = s.to_lowercase();
        if taken.contains(&l) || primary.as_ref() == Some(&l) || !seen.insert(l) {
            errors.push(FieldError::duplicate("secondary_emails"));
            break;
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_format() {
        assert!(is_email("a@b.co"));
        assert!(is_email("first.last+tag@sub.example.org"));
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.b.c", "a@b..c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
