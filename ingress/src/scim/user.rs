//! The stored form of a SCIM User and its rendering.
//!
//! Stored document = the POST/PUT body normalised: attribute names in their
//! canonical case, `"true"`/`"false"` strings turned into booleans, nulls and
//! empty multi-valued attributes dropped (RFC 7643 §2.5: unassigned),
//! enterprise attributes under their URN key, Okta's custom attributes under
//! `custom_fields`. Server-owned parts (`schemas`, `id`, `meta`, `groups`) are
//! not stored; [`render`] adds them. `password` is never stored.
//!
//! Decisions:
//! - Enterprise attributes sent without their URN (`"department": …`) are
//!   stored under the URN key, where filters and PATCH paths resolve them.
//! - Unknown top-level attributes are kept: Okta builds every PUT from our
//!   GET, so anything it maps must come back.
//! - `active` defaults to `true` on create/replace when absent.
//! - More than one `primary: true` in a multi-valued attribute is rejected
//!   (RFC 7643 §2.4: at most once); PATCH clears the older primary itself.
//! - A reference (`manager`) given as a plain string id or a one-element
//!   list is stored as `{"value": id}`: Microsoft Entra sends the string but
//!   reads `manager.value` back.
//! - `schemas` may list the enterprise URN misspelt as Microsoft's SCIM
//!   tutorial prints it (`…:enterprise:2.0User`); no other unknown URN.
//! - A multi-valued attribute holds at most [`MAX_VALUES`] values (a person
//!   has a handful of emails; the bound keeps every pass over them cheap).
//! - `userName` and email values are stored in NFC and compared through
//!   [`shared::identity::fold`]; control characters, invisible characters
//!   and mixed-script look-alikes are refused (`shared/src/identity.rs`).

use serde_json::{json, Map, Value};

use super::filter::get_ci;
use super::schema::{self, AttrDef, AttrType, Resource, ENTERPRISE_ATTRS, USER_ATTRS};
use super::{ScimError, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

/// Server-kept metadata of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub last_modified: String,
    pub version: u64,
}

/// Most values one multi-valued attribute (known or not) may hold.
pub const MAX_VALUES: usize = 100;

/// Members a client may echo but never sets (dropped from POST/PUT bodies).
const SERVER_OWNED: &[&str] = &["schemas", "id", "meta", "groups"];

fn is_one_of(key: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(key))
}

/// Normalise a POST/PUT body into the stored document (see module docs).
pub fn from_request(body: Value) -> Result<Value, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    check_schemas(get_ci(&body, "schemas"))?;
    // Refuse an oversized list before any work is done on it (validate
    // checks the stored form again).
    for (key, value) in &body {
        if is_one_of(key, SERVER_OWNED) {
            continue;
        }
        match value {
            Value::Array(items) => check_count(key, items)?,
            Value::Object(inner) => {
                for (k, v) in inner {
                    if let Value::Array(items) = v {
                        check_count(&format!("{key}:{k}"), items)?;
                    }
                }
            }
            _ => {}
        }
    }
    let mut doc = Map::new();
    // Attributes sent under the core URN key are hoisted, but an explicit
    // top-level attribute of the same name wins.
    let mut hoisted: Vec<(String, Value)> = Vec::new();
    for (key, value) in body {
        if is_one_of(&key, SERVER_OWNED) || key.eq_ignore_ascii_case("password") {
            continue;
        }
        if key.eq_ignore_ascii_case(USER_SCHEMA) {
            let Value::Object(inner) = value else {
                return Err(ScimError::invalid_value(format!(
                    "\"{USER_SCHEMA}\" must be an object"
                )));
            };
            hoisted.extend(inner);
            continue;
        }
        put_member(&mut doc, &key, value, true)?;
    }
    for (key, value) in hoisted {
        if is_one_of(&key, SERVER_OWNED) || key.eq_ignore_ascii_case("password") {
            continue;
        }
        put_member(&mut doc, &key, value, false)?;
    }
    normalize(&mut doc);
    if !doc.contains_key("active") {
        doc.insert("active".into(), Value::Bool(true));
    }
    let doc = Value::Object(doc);
    validate(&doc)?;
    Ok(doc)
}

/// The enterprise URN without its last colon, as Microsoft's SCIM tutorial
/// still lists it in `schemas` of its create example ("Example 2").
const ENTERPRISE_URN_TYPO: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User";

/// `schemas` must list the core User URN, and only URNs we know (or
/// [`ENTERPRISE_URN_TYPO`]).
fn check_schemas(schemas: Option<&Value>) -> Result<(), ScimError> {
    let Some(schemas) = schemas else {
        return Err(ScimError::invalid_value(format!(
            "\"schemas\" is required and must contain \"{USER_SCHEMA}\""
        )));
    };
    let Some(list) = schemas.as_array() else {
        return Err(ScimError::invalid_value(
            "\"schemas\" must be an array of schema URNs",
        ));
    };
    let mut has_core = false;
    for s in list {
        let Some(s) = s.as_str() else {
            return Err(ScimError::invalid_value(
                "\"schemas\" must be an array of schema URNs",
            ));
        };
        if s.eq_ignore_ascii_case(USER_SCHEMA) {
            has_core = true;
        } else if s.eq_ignore_ascii_case(ENTERPRISE_URN_TYPO) {
            // Only listed: the members it names resolve on their own.
        } else if schema::extension_urn(Resource::User, s).is_none() {
            return Err(ScimError::invalid_value(format!(
                "unknown schema URN \"{s}\" (supported: {USER_SCHEMA}, {ENTERPRISE_USER_SCHEMA})"
            )));
        }
    }
    if !has_core {
        return Err(ScimError::invalid_value(format!(
            "\"schemas\" must contain \"{USER_SCHEMA}\""
        )));
    }
    Ok(())
}

/// Existing member name matching `name` case-insensitively, if any.
pub(crate) fn existing_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Place one body member: URN-prefixed keys, extension objects and dotted
/// keys (`custom_fields.x`, `name.givenName`) are folded into their objects.
fn put_member(
    doc: &mut Map<String, Value>,
    key: &str,
    value: Value,
    overwrite: bool,
) -> Result<(), ScimError> {
    let (urn, rest) = schema::split_urn(Resource::User, key).map_err(|_| {
        ScimError::invalid_value(format!(
            "unknown schema URN in attribute \"{key}\" (supported: {USER_SCHEMA}, {ENTERPRISE_USER_SCHEMA})"
        ))
    })?;
    let mut ext = urn.filter(|u| *u != USER_SCHEMA);
    if urn.is_none() {
        // An unqualified enterprise name (`department`) goes where filters and
        // PATCH paths resolve it: under the extension URN.
        let first = rest
            .as_deref()
            .unwrap_or_default()
            .split('.')
            .next()
            .unwrap_or_default();
        if schema::find(USER_ATTRS, first).is_none()
            && schema::find(schema::COMMON_ATTRS, first).is_none()
            && schema::find(ENTERPRISE_ATTRS, first).is_some()
        {
            ext = Some(ENTERPRISE_USER_SCHEMA);
        }
    }
    let container: &mut Map<String, Value> = match ext {
        Some(u) => {
            let slot = doc
                .entry(u.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(obj) = slot else {
                return Err(ScimError::invalid_value(format!(
                    "\"{u}\" must be an object"
                )));
            };
            obj
        }
        None => doc,
    };
    let attrs: &'static [AttrDef] = if ext.is_some() {
        ENTERPRISE_ATTRS
    } else {
        USER_ATTRS
    };
    match rest {
        None => {
            // The extension object itself.
            let Value::Object(inner) = value else {
                return Err(ScimError::invalid_value(format!(
                    "\"{key}\" must be an object"
                )));
            };
            for (k, v) in inner {
                put_plain(container, attrs, &k, v, overwrite)?;
            }
            Ok(())
        }
        Some(rest) => {
            if urn == Some(USER_SCHEMA)
                && (is_one_of(&rest, SERVER_OWNED) || rest.eq_ignore_ascii_case("password"))
            {
                return Ok(());
            }
            put_plain(container, attrs, &rest, value, overwrite)
        }
    }
}

fn put_plain(
    container: &mut Map<String, Value>,
    attrs: &'static [AttrDef],
    key: &str,
    value: Value,
    overwrite: bool,
) -> Result<(), ScimError> {
    let canon = |m: &Map<String, Value>, name: &str| {
        schema::find(attrs, name)
            .map(|d| d.name.to_owned())
            .or_else(|| existing_key(m, name))
            .unwrap_or_else(|| name.to_owned())
    };
    match key.split_once('.') {
        Some((parent, sub)) if !parent.is_empty() && !sub.is_empty() => {
            let pk = canon(container, parent);
            let slot = container
                .entry(pk.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(obj) = slot else {
                return Err(ScimError::invalid_value(format!(
                    "\"{key}\" conflicts with a non-object \"{pk}\""
                )));
            };
            let sk = existing_key(obj, sub).unwrap_or_else(|| sub.to_owned());
            if overwrite || !obj.contains_key(&sk) {
                obj.insert(sk, value);
            }
        }
        _ => {
            let k = canon(container, key);
            if let Some(old) = existing_key(container, &k).filter(|o| *o != k) {
                container.remove(&old);
            }
            if !overwrite && container.contains_key(&k) {
                // A top-level value wins over a hoisted one; merge objects.
                if let (Some(Value::Object(dst)), Value::Object(src)) =
                    (container.get_mut(&k), value)
                {
                    for (sk, sv) in src {
                        dst.entry(sk).or_insert(sv);
                    }
                }
                return Ok(());
            }
            // Objects merge, so `custom_fields.a` and `custom_fields: {b}` both survive.
            match (container.get_mut(&k), value) {
                (Some(Value::Object(dst)), Value::Object(src)) => dst.extend(src),
                (_, value) => {
                    container.insert(k, value);
                }
            }
        }
    }
    Ok(())
}

/// Bring a document into canonical stored form (idempotent; never fails —
/// [`validate`] reports what is still wrong).
pub(crate) fn normalize(doc: &mut Map<String, Value>) {
    normalize_members(doc, USER_ATTRS, true);
    nfc_identifiers(doc);
    let ext_keys: Vec<(String, &'static str)> = doc
        .keys()
        .filter_map(|k| Some((k.clone(), schema::extension_urn(Resource::User, k)?)))
        .collect();
    for (k, urn) in ext_keys {
        let Some(mut v) = doc.remove(&k) else {
            continue;
        };
        if let Value::Object(obj) = &mut v {
            normalize_members(obj, schema::extension_attrs(urn).unwrap_or(&[]), false);
            if obj.is_empty() {
                continue;
            }
        }
        if !matches!(v, Value::Null) {
            doc.insert(urn.to_owned(), v);
        }
    }
}

/// `userName` and `emails[].value` in NFC, so canonically equal spellings
/// are stored, indexed and sent to Freshservice as one string.
fn nfc_identifiers(doc: &mut Map<String, Value>) {
    fn to_nfc(v: &mut Value) {
        if let Value::String(s) = v {
            if let std::borrow::Cow::Owned(n) = shared::identity::nfc(s) {
                *s = n;
            }
        }
    }
    if let Some(v) = doc.get_mut("userName") {
        to_nfc(v);
    }
    if let Some(Value::Array(emails)) = doc.get_mut("emails") {
        for e in emails {
            if let Some(v) = e.get_mut("value") {
                to_nfc(v);
            }
        }
    }
}

/// A userName or email value a person could be told apart by.
fn check_identifier(path: &str, s: &str) -> Result<(), ScimError> {
    shared::identity::check(s).map_err(|why| ScimError::invalid_value(format!("\"{path}\" {why}")))
}

/// At most [`MAX_VALUES`] values in one multi-valued attribute.
fn check_count(path: &str, items: &[Value]) -> Result<(), ScimError> {
    if items.len() > MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "\"{path}\" has {} values; at most {MAX_VALUES} are accepted",
            items.len()
        )));
    }
    Ok(())
}

fn normalize_members(obj: &mut Map<String, Value>, attrs: &'static [AttrDef], top: bool) {
    let keys: Vec<String> = obj.keys().cloned().collect();
    for key in keys {
        let def = schema::find(attrs, &key).or_else(|| {
            if top {
                schema::find(schema::COMMON_ATTRS, &key)
            } else {
                None
            }
        });
        let Some(def) = def else {
            if obj.get(&key).is_some_and(Value::is_null) {
                obj.remove(&key);
            }
            continue;
        };
        let Some(mut v) = obj.remove(&key) else {
            continue;
        };
        coerce(def, &mut v);
        let unassigned = v.is_null() || (def.multi && v.as_array().is_some_and(Vec::is_empty));
        if !unassigned {
            obj.insert(def.name.to_owned(), v);
        }
    }
}

fn coerce(def: &AttrDef, v: &mut Value) {
    if def.multi {
        if let Value::Array(items) = v {
            items.retain(|i| !i.is_null());
            for i in items.iter_mut() {
                coerce_single(def, i);
            }
        } else {
            coerce_single(def, v);
        }
    } else {
        coerce_single(def, v);
    }
}

fn coerce_single(def: &AttrDef, v: &mut Value) {
    match def.ty {
        AttrType::Boolean => {
            if let Some(b) = v.as_str().and_then(parse_bool) {
                *v = Value::Bool(b);
            }
        }
        AttrType::Complex => {
            if is_reference(def) && !v.is_object() {
                *v = reference_value(std::mem::take(v));
            }
            if let Value::Object(obj) = v {
                if def.open {
                    obj.retain(|_, x| !x.is_null());
                } else {
                    normalize_members(obj, def.sub, false);
                }
            }
        }
        _ => {}
    }
}

/// A single-valued complex attribute that points at another resource by
/// its `value` (the enterprise `manager`).
pub(crate) fn is_reference(def: &AttrDef) -> bool {
    !def.multi && def.ty == AttrType::Complex && def.sub_attr("value").is_some()
}

/// A reference in any of the shapes clients send, as `{"value": id}`:
/// Microsoft Entra sends the manager as a plain string id (`"271"`), old
/// Microsoft samples wrap it as `[{"$ref": …, "value": …}]`. An empty
/// string or list is unassigned (`null`). An object, or anything else, is
/// returned as it is ([`validate`] reports a wrong type).
pub(crate) fn reference_value(v: Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::String(s) => json!({ "value": s }),
        Value::Array(items) if items.is_empty() => Value::Null,
        // One level only: a nested list stays a list (and fails validation).
        Value::Array(mut items) if items.len() == 1 && !items[0].is_array() => {
            reference_value(items.remove(0))
        }
        other => other,
    }
}

/// `"true"`/`"false"` in any case (Microsoft Entra sends `"True"`).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Check a stored (or rendered) User document. Reusable after PATCH.
pub fn validate(doc: &Value) -> Result<(), ScimError> {
    let Value::Object(obj) = doc else {
        return Err(ScimError::invalid_value("a User must be a JSON object"));
    };
    match obj.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => check_identifier("userName", s)?,
        Some(Value::String(_)) => {
            return Err(ScimError::invalid_value("\"userName\" must not be empty"))
        }
        Some(_) => return Err(ScimError::invalid_value("\"userName\" must be a string")),
        None => return Err(ScimError::invalid_value("\"userName\" is required")),
    }
    for (key, value) in obj {
        if is_one_of(key, SERVER_OWNED) || key.eq_ignore_ascii_case("password") {
            continue;
        }
        if let Value::Array(items) = value {
            check_count(key, items)?;
        }
        if let Some(def) =
            schema::find(USER_ATTRS, key).or_else(|| schema::find(schema::COMMON_ATTRS, key))
        {
            check_attr(def, value, key)?;
        } else if let Some(urn) = schema::extension_urn(Resource::User, key) {
            let Value::Object(ext) = value else {
                return Err(ScimError::invalid_value(format!(
                    "\"{urn}\" must be an object"
                )));
            };
            for (k, v) in ext {
                if let Value::Array(items) = v {
                    check_count(&format!("{urn}:{k}"), items)?;
                }
                if let Some(def) = schema::find(ENTERPRISE_ATTRS, k) {
                    check_attr(def, v, &format!("{urn}:{k}"))?;
                }
            }
        } else if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            return Err(ScimError::invalid_value(format!(
                "unknown schema URN \"{key}\""
            )));
        }
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_attr(def: &AttrDef, v: &Value, path: &str) -> Result<(), ScimError> {
    if def.mutability == schema::Mutability::ReadOnly {
        return Ok(());
    }
    if !def.multi {
        return check_single(def, v, path);
    }
    let Value::Array(items) = v else {
        return Err(ScimError::invalid_value(format!(
            "\"{path}\" is multi-valued and must be an array, not {}",
            type_name(v)
        )));
    };
    check_count(path, items)?;
    let mut primaries = 0;
    for (i, item) in items.iter().enumerate() {
        check_single(def, item, &format!("{path}[{i}]"))?;
        if def.name == "emails" {
            if let Some(v) = item.get("value").and_then(Value::as_str) {
                check_identifier(&format!("{path}[{i}].value"), v)?;
            }
        }
        if item.get("primary") == Some(&Value::Bool(true)) {
            primaries += 1;
        }
    }
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "\"{path}\" has more than one value with \"primary\": true"
        )));
    }
    Ok(())
}

fn check_single(def: &AttrDef, v: &Value, path: &str) -> Result<(), ScimError> {
    let ok = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => v.is_string(),
        AttrType::Boolean => v.is_boolean(),
        AttrType::Integer => v.is_i64() || v.is_u64(),
        AttrType::Decimal => v.is_number(),
        AttrType::DateTime => v
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        AttrType::Complex => {
            let Value::Object(obj) = v else {
                return Err(ScimError::invalid_value(format!(
                    "\"{path}\" must be an object, not {}",
                    type_name(v)
                )));
            };
            for (k, sv) in obj {
                match def.sub_attr(k).filter(|_| !def.open) {
                    Some(sd) => check_single(sd, sv, &format!("{path}.{k}"))?,
                    None if def.open => {}
                    None if sv.is_object() || sv.is_array() => {
                        return Err(ScimError::invalid_value(format!(
                            "\"{path}.{k}\" must be a simple value, not {}",
                            type_name(sv)
                        )))
                    }
                    None => {}
                }
            }
            true
        }
    };
    if ok {
        Ok(())
    } else {
        let want = match def.ty {
            AttrType::DateTime => "an RFC 3339 date-time string",
            AttrType::Boolean => "a boolean",
            AttrType::Integer => "an integer",
            AttrType::Decimal => "a number",
            _ => "a string",
        };
        Err(ScimError::invalid_value(format!(
            "\"{path}\" must be {want}, not {}",
            type_name(v)
        )))
    }
}

/// Index key of `userName` ([`shared::identity::fold`]: caseExact=false,
/// look-alikes folded). Empty if missing.
pub fn user_name_key(doc: &Value) -> String {
    doc.get("userName")
        .and_then(Value::as_str)
        .map(shared::identity::fold)
        .unwrap_or_default()
}

/// Index keys of `emails[*].value` (folded like [`user_name_key`]), without
/// duplicates, in document order.
pub fn email_keys(doc: &Value) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for e in doc
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(v) = e.get("value").and_then(Value::as_str) {
            let v = shared::identity::fold(v);
            if !v.is_empty() && seen.insert(v.clone()) {
                out.push(v);
            }
        }
    }
    out
}

/// `externalId` (case-exact), if set.
pub fn external_id(doc: &Value) -> Option<String> {
    doc.get("externalId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The full User resource as answered to clients.
pub fn render(id: &str, doc: &Value, meta: &Meta, location_base: &str) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::String(USER_SCHEMA.into())];
    if doc.get(ENTERPRISE_USER_SCHEMA).is_some() {
        schemas.push(Value::String(ENTERPRISE_USER_SCHEMA.into()));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.into()));
    if let Value::Object(obj) = doc {
        for (k, v) in obj {
            if !is_one_of(k, SERVER_OWNED) && !k.eq_ignore_ascii_case("password") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("groups".into(), json!([]));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": format!("{}/Users/{id}", location_base.trim_end_matches('/')),
            "version": etag(meta.version),
        }),
    );
    Value::Object(out)
}

/// Weak ETag of a version: `W/"3"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` header admits `version`: `*`, or any listed tag
/// equal to it, weak (`W/"3"`) or strong (`"3"`) alike (our tags are weak
/// only, so strong comparison would never succeed), bare `3` tolerated.
pub fn if_match_ok(header: &str, version: u64) -> bool {
    let want = version.to_string();
    header.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let tag = tag
            .strip_prefix("W/")
            .or_else(|| tag.strip_prefix("w/"))
            .unwrap_or(tag)
            .trim();
        let tag = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(tag);
        tag == want
    })
}
