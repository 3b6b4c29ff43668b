//! SCIM PATCH (RFC 7644 §3.5.2) on a stored User document, with the quirks of
//! Okta and other IdPs (see `docs/identity-providers.md` §2, and §3 for Entra).
//!
//! Semantics and decisions:
//! - `add`/`replace` without a path (or with the core URN as path) take an
//!   object; each member is applied as if it were its own path, decided by
//!   key *presence* (`{"active": false}` sets false). Members may be dotted
//!   (`name.givenName`), URN-prefixed, value paths
//!   (`emails[type eq "work"].value`, Entra style), or the core URN holding
//!   more members.
//! - `replace` on a single-valued complex attribute merges the given
//!   sub-attributes and leaves the others (RFC 7644 §3.5.2.3); on a
//!   multi-valued attribute it replaces the whole list. `add` appends to a
//!   multi-valued attribute, skipping values already present.
//! - A value path that matches nothing is created when its filter is a
//!   conjunction of `eq` terms (`emails[type eq "work"].value` makes
//!   `{"type":"work","value":…}`); otherwise `noTarget`.
//! - `remove` needs a path (`noTarget`); removing something absent, or a
//!   value filter that matches nothing, is a successful no-op (idempotent, so
//!   a retried request or Okta's member removal never fails).
//! - A `null` value unassigns the attribute (RFC 7643 §2.5).
//! - `id` equal to the current id is ignored (Okta's rename style
//!   `{"id":…,"displayName":…}`); another id, `meta` or `groups` → 400
//!   `mutability`. [`apply`] on a stored doc (which has no `id`) cannot
//!   compare, so it ignores `id`; prefer [`apply_with_id`].
//! - `password` is dropped silently; `schemas` members are checked for
//!   unknown URNs and otherwise ignored (they are derived on render).
//! - A reference (`manager`) may be given as its id, a plain string
//!   (Microsoft Entra), or as `[{"value": …}]`; either replaces the whole
//!   reference with `{"value": id}`. An object merges as above.
//! - Booleans accept `"True"`/`"False"` strings; a new `primary: true`
//!   clears `primary` on the other values of that attribute.
//! - Atomic: the work happens on a clone, the input changes only on success,
//!   and the result must pass [`user::validate`].
//! - Bounded: at most [`MAX_OPERATIONS`] operations, and no operation may
//!   grow a multi-valued attribute past [`user::MAX_VALUES`] (checked as it
//!   happens, so a long PATCH never does quadratic work before failing).

use serde_json::{Map, Value};

use super::filter::get_ci;
use super::path::{self, PatchPath};
use super::schema::{self, AttrType, Resource};
use super::user::{self, existing_key};
use super::{ScimError, PATCH_OP_SCHEMA, USER_SCHEMA};

/// Most operations one PATCH may carry (Okta sends one to three; Entra a
/// few dozen at most).
pub const MAX_OPERATIONS: usize = 1000;

/// PATCH operation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One parsed operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Apply a PatchOp body to a User document (stored or rendered form).
/// If the document carries `id` (rendered form), `id` in values is checked
/// against it.
pub fn apply(user: &mut Value, patch: &Value) -> Result<(), ScimError> {
    let id = user.get("id").and_then(Value::as_str).map(str::to_owned);
    apply_inner(user, patch, id.as_deref())
}

/// [`apply`] knowing the resource id, so `{"id": "<other>"}` is a `mutability` error.
pub fn apply_with_id(user: &mut Value, patch: &Value, id: &str) -> Result<(), ScimError> {
    apply_inner(user, patch, Some(id))
}

fn apply_inner(user: &mut Value, patch: &Value, id: Option<&str>) -> Result<(), ScimError> {
    let ops = parse_ops(patch)?;
    let mut work = user.clone();
    let Value::Object(map) = &mut work else {
        return Err(ScimError::invalid_value(
            "the stored User is not a JSON object",
        ));
    };
    for (i, op) in ops.iter().enumerate() {
        apply_op(map, op, id).map_err(|e| {
            let d = format!("Operations[{i}]: {}", e.detail);
            e.with_detail(d)
        })?;
    }
    user::normalize(map);
    user::validate(&work)?;
    *user = work;
    Ok(())
}

/// Check the PatchOp envelope and parse every operation (before changing anything).
pub fn parse_ops(patch: &Value) -> Result<Vec<Operation>, ScimError> {
    parse_ops_for(Resource::User, patch)
}

/// [`parse_ops`] with paths resolved against `resource`'s schema (the
/// Group PATCH in `group.rs` shares the envelope and the op parsing).
pub fn parse_ops_for(resource: Resource, patch: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = patch else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body must be a JSON object (PatchOp)",
        ));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" of a PATCH body must contain \"{PATCH_OP_SCHEMA}\""
            )));
        }
    }
    let Some(ops) = get_ci(body, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body needs \"Operations\"",
        ));
    };
    let Some(ops) = ops.as_array().filter(|a| !a.is_empty()) else {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must be a non-empty array",
        ));
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "\"Operations\" has {} operations; at most {MAX_OPERATIONS} are accepted",
            ops.len()
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            parse_op(resource, op).map_err(|e| {
                let d = format!("Operations[{i}]: {}", e.detail);
                e.with_detail(d)
            })
        })
        .collect()
}

fn parse_op(resource: Resource, op: &Value) -> Result<Operation, ScimError> {
    let Value::Object(o) = op else {
        return Err(ScimError::invalid_syntax(
            "each operation must be an object",
        ));
    };
    let kind = match get_ci(o, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(s) => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op \"{s}\" (expected add, replace or remove)"
            )))
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "\"op\" is required and must be a string",
            ))
        }
    };
    // `schemas` is server-managed: a path naming it (bare or under a schema
    // URN, as some checkers send) changes nothing, like `schemas` inside a
    // value. Expressed as a path-less add of nothing.
    if let Some(Value::String(s)) = get_ci(o, "path") {
        let s = s.trim();
        if s.eq_ignore_ascii_case("schemas")
            || (s.to_ascii_lowercase().starts_with("urn:")
                && s.to_ascii_lowercase().ends_with(":schemas"))
        {
            return Ok(Operation {
                op: OpKind::Add,
                path: None,
                value: Some(Value::Object(Default::default())),
            });
        }
    }
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(path::parse_for(resource, s)?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(o, "value").cloned();
    match kind {
        OpKind::Remove if path.as_ref().is_none_or(PatchPath::is_root) => {
            return Err(ScimError::no_target("a remove operation needs a \"path\""))
        }
        OpKind::Add | OpKind::Replace if value.is_none() => {
            return Err(ScimError::invalid_syntax(
                "add and replace need a \"value\"",
            ))
        }
        _ => {}
    }
    Ok(Operation {
        op: kind,
        path,
        value,
    })
}

fn apply_op(
    map: &mut Map<String, Value>,
    op: &Operation,
    id: Option<&str>,
) -> Result<(), ScimError> {
    match (op.op, &op.path) {
        (OpKind::Remove, Some(p)) => {
            guard(p, op.op, None, id)?;
            if read_only_ignored(p) {
                return Ok(());
            }
            remove_at(map, p, op.value.as_ref())
        }
        (OpKind::Remove, None) => Err(ScimError::no_target("a remove operation needs a \"path\"")),
        (kind, p) => {
            let value = op.value.clone().unwrap_or(Value::Null);
            match p {
                Some(p) if !p.is_root() => {
                    guard(p, kind, Some(&value), id)?;
                    if read_only_ignored(p) {
                        return Ok(());
                    }
                    set_at(map, kind, p, value)
                }
                _ => apply_object(map, kind, value, id),
            }
        }
    }
}

/// Path-less add/replace: each member as its own path.
fn apply_object(
    map: &mut Map<String, Value>,
    kind: OpKind,
    value: Value,
    id: Option<&str>,
) -> Result<(), ScimError> {
    let Value::Object(members) = value else {
        return Err(ScimError::invalid_syntax(
            "add/replace without a path needs an object \"value\" of attributes",
        ));
    };
    for (key, v) in members {
        if key.eq_ignore_ascii_case(USER_SCHEMA) {
            apply_object(map, kind, v, id)?;
            continue;
        }
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas_value(&v)?;
            continue;
        }
        let p = path::parse(&key)?;
        if p.is_root() {
            apply_object(map, kind, v, id)?;
            continue;
        }
        guard(&p, kind, Some(&v), id)?;
        if read_only_ignored(&p) {
            continue;
        }
        set_at(map, kind, &p, v)?;
    }
    Ok(())
}

fn check_schemas_value(v: &Value) -> Result<(), ScimError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for s in items {
        let ok = s.as_str().is_some_and(|s| {
            s.eq_ignore_ascii_case(USER_SCHEMA)
                || schema::extension_urn(Resource::User, s).is_some()
        });
        if !ok {
            return Err(ScimError::invalid_value(format!(
                "unknown schema URN {s} in \"schemas\""
            )));
        }
    }
    Ok(())
}

fn top_name(p: &PatchPath) -> Option<&str> {
    if p.ext.is_some() {
        None
    } else {
        p.attr.as_deref()
    }
}

/// Paths that are accepted and dropped: `password` and `schemas`.
fn read_only_ignored(p: &PatchPath) -> bool {
    matches!(top_name(p), Some(n) if n == "password" || n.eq_ignore_ascii_case("schemas"))
        || (top_name(p) == Some("id"))
}

/// Reject changes to read-only attributes (`id` other than the current one, `meta`, `groups`).
fn guard(
    p: &PatchPath,
    kind: OpKind,
    value: Option<&Value>,
    id: Option<&str>,
) -> Result<(), ScimError> {
    let Some(name) = top_name(p) else {
        return Ok(());
    };
    match name {
        "id" => {
            let same = match (kind, value, id) {
                (OpKind::Remove, _, _) => false,
                (_, Some(Value::String(v)), Some(cur)) => v == cur && p.sub.is_none(),
                // Without the current id (stored form) nothing can change: id is never stored.
                (_, _, None) => true,
                _ => false,
            };
            if same {
                Ok(())
            } else {
                Err(ScimError::mutability("\"id\" is read-only"))
            }
        }
        "meta" => Err(ScimError::mutability("\"meta\" is read-only")),
        "groups" => Err(ScimError::mutability(
            "\"groups\" is read-only on a User; change membership through the Group",
        )),
        _ if name.eq_ignore_ascii_case("schemas") => match value {
            Some(v) if kind != OpKind::Remove => check_schemas_value(v),
            _ => Err(ScimError::mutability("\"schemas\" cannot be removed")),
        },
        _ => Ok(()),
    }
}

/// The object that holds the path's attribute, created for add/replace.
fn container<'a>(
    map: &'a mut Map<String, Value>,
    p: &PatchPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    match p.ext {
        None => Some(map),
        Some(urn) => {
            let key = existing_key(map, urn).unwrap_or_else(|| urn.to_owned());
            if create {
                Some(object_in(
                    map.entry(key).or_insert_with(|| Value::Object(Map::new())),
                ))
            } else {
                map.get_mut(&key).and_then(Value::as_object_mut)
            }
        }
    }
}

/// The object in `slot`, replacing whatever else was there by `{}`.
fn object_in(slot: &mut Value) -> &mut Map<String, Value> {
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(o) => o,
        _ => unreachable!("made an object just above"),
    }
}

fn merge_into(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (k, v) in src {
        let key = existing_key(dst, &k).unwrap_or(k);
        if v.is_null() {
            dst.remove(&key);
        } else {
            dst.insert(key, v);
        }
    }
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => user::parse_bool(s) == Some(true),
        _ => false,
    }
}

/// A value written with `primary: true` demotes the other values (RFC 7643 §2.4).
fn fix_primary(items: &mut [Value], touched: &[usize]) {
    let Some(&winner) = touched
        .iter()
        .rev()
        .find(|&&i| is_true(items.get(i).and_then(|v| get_ci(v.as_object()?, "primary"))))
    else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i == winner {
            continue;
        }
        if let Value::Object(o) = item {
            if let Some(k) = existing_key(o, "primary") {
                if is_true(o.get(&k)) {
                    o.insert(k, Value::Bool(false));
                }
            }
        }
    }
}

/// A multi-valued attribute may not grow past [`user::MAX_VALUES`].
fn check_len(p: &PatchPath, attr: &str, n: usize) -> Result<(), ScimError> {
    if n > user::MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "\"{}\" would give \"{attr}\" {n} values; at most {} are accepted",
            p.raw,
            user::MAX_VALUES
        )));
    }
    Ok(())
}

fn complex_value(p: &PatchPath, value: Value) -> Result<Map<String, Value>, ScimError> {
    match value {
        Value::Object(o) => Ok(o),
        other => Err(ScimError::invalid_value(format!(
            "\"{}\" needs an object value, not {other}",
            p.raw
        ))),
    }
}

fn set_at(
    map: &mut Map<String, Value>,
    kind: OpKind,
    p: &PatchPath,
    value: Value,
) -> Result<(), ScimError> {
    if value.is_null() {
        return remove_at(map, p, None);
    }
    let Some(attr) = p.attr.as_deref() else {
        // The whole extension object: its members, one by one.
        let urn = p.ext.unwrap_or_default();
        for (k, v) in complex_value(p, value)? {
            if k.eq_ignore_ascii_case("schemas") {
                // Server-managed, as at the top level.
                continue;
            }
            let sub = path::parse(&format!("{urn}:{k}"))?;
            set_at(map, kind, &sub, v)?;
        }
        return Ok(());
    };
    let Some(cont) = container(map, p, true) else {
        return Err(ScimError::invalid_path(format!(
            "\"{}\" names no attribute container",
            p.raw
        )));
    };
    let key = existing_key(cont, attr).unwrap_or_else(|| attr.to_owned());
    let existing = cont.get(&key);
    let def = p.attr_def;
    let multi = def.map_or_else(
        || {
            existing.is_some_and(Value::is_array)
                || (p.sub.is_none() && value.is_array())
                || p.filter.is_some()
        },
        |d| d.multi,
    );
    let complex = def.map_or_else(
        || existing.is_some_and(Value::is_object) && value.is_object(),
        |d| d.ty == AttrType::Complex,
    );

    if let Some(filter) = &p.filter {
        let mut items = match cont.remove(&key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(other) => vec![other],
        };
        let matched: Vec<usize> = (0..items.len())
            .filter(|&i| filter.matches(&items[i]))
            .collect();
        let mut touched = matched.clone();
        let result = (|| {
            if matched.is_empty() {
                let Some(terms) = filter
                    .eq_terms()
                    .filter(|t| t.iter().all(|(s, _)| s.len() == 1))
                else {
                    return Err(ScimError::no_target(format!(
                        "no value of \"{attr}\" matches the filter in \"{}\"",
                        p.raw
                    )));
                };
                let mut el = Map::new();
                for (steps, v) in terms {
                    el.insert(steps[0].clone(), v);
                }
                match &p.sub {
                    Some(sub) => {
                        el.insert(sub.clone(), value);
                    }
                    None => merge_into(&mut el, complex_value(p, value)?),
                }
                items.push(Value::Object(el));
                touched = vec![items.len() - 1];
                return check_len(p, attr, items.len());
            }
            for &i in &matched {
                let Value::Object(el) = &mut items[i] else {
                    continue;
                };
                match &p.sub {
                    Some(sub) => {
                        let k = existing_key(el, sub).unwrap_or_else(|| sub.clone());
                        if value.is_null() {
                            el.remove(&k);
                        } else {
                            el.insert(k, value.clone());
                        }
                    }
                    None => {
                        let new = complex_value(p, value.clone())?;
                        if kind == OpKind::Replace {
                            // Keep what the filter pinned (e.g. `type`) unless the value restates it.
                            let mut fresh = Map::new();
                            for (steps, v) in filter.eq_terms().unwrap_or_default() {
                                if steps.len() == 1 {
                                    if let Some(k) = existing_key(el, &steps[0]) {
                                        fresh.insert(k, v);
                                    }
                                }
                            }
                            merge_into(&mut fresh, new);
                            *el = fresh;
                        } else {
                            merge_into(el, new);
                        }
                    }
                }
            }
            Ok(())
        })();
        fix_primary(&mut items, &touched);
        cont.insert(key, Value::Array(items));
        return result;
    }

    match &p.sub {
        Some(sub) if multi => {
            // `emails.value`: set on every value, or create the first one.
            let mut items = match cont.remove(&key) {
                Some(Value::Array(a)) => a,
                Some(Value::Object(o)) => vec![Value::Object(o)],
                _ => Vec::new(),
            };
            if items.is_empty() {
                items.push(Value::Object(Map::new()));
            }
            for it in items.iter_mut() {
                if let Value::Object(o) = it {
                    let k = existing_key(o, sub).unwrap_or_else(|| sub.clone());
                    o.insert(k, value.clone());
                }
            }
            let all: Vec<usize> = (0..items.len()).collect();
            fix_primary(&mut items, &all);
            cont.insert(key, Value::Array(items));
        }
        Some(sub) => {
            let o = object_in(cont.entry(key).or_insert_with(|| Value::Object(Map::new())));
            let k = existing_key(o, sub).unwrap_or_else(|| sub.clone());
            o.insert(k, value);
        }
        None if multi => {
            let new_items: Vec<Value> = match value {
                Value::Array(a) => a.into_iter().filter(|v| !v.is_null()).collect(),
                other => vec![other],
            };
            // Bounded before the de-duplicating loop below, which is quadratic.
            check_len(p, attr, new_items.len())?;
            let mut items = match (kind, cont.remove(&key)) {
                (OpKind::Add, Some(Value::Array(a))) => a,
                _ => Vec::new(),
            };
            let mut touched = Vec::new();
            for it in new_items {
                if let Some(pos) = items.iter().position(|x| *x == it) {
                    touched.push(pos);
                } else {
                    items.push(it);
                    touched.push(items.len() - 1);
                }
            }
            fix_primary(&mut items, &touched);
            let n = items.len();
            cont.insert(key, Value::Array(items));
            check_len(p, attr, n)?;
        }
        None if !value.is_object() && def.is_some_and(user::is_reference) => {
            // A reference given as its id (Entra's manager: `"value":"271"`)
            // names the whole target: it replaces the old reference rather
            // than merging into it, so no stale `$ref`/`displayName` stays.
            match user::reference_value(value) {
                Value::Null => {
                    cont.remove(&key);
                }
                v => {
                    cont.insert(key, v);
                }
            }
        }
        None if complex => {
            let new = complex_value(p, value)?;
            merge_into(
                object_in(cont.entry(key).or_insert_with(|| Value::Object(Map::new()))),
                new,
            );
        }
        None => {
            cont.insert(key, value);
        }
    }
    Ok(())
}

fn remove_at(
    map: &mut Map<String, Value>,
    p: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let Some(attr) = p.attr.as_deref() else {
        if let Some(k) = p.ext.and_then(|u| existing_key(map, u)) {
            map.remove(&k);
        }
        return Ok(());
    };
    let Some(cont) = container(map, p, false) else {
        return Ok(());
    };
    let Some(key) = existing_key(cont, attr) else {
        return Ok(());
    };
    match (&p.filter, &p.sub) {
        (Some(f), sub) => {
            let Some(Value::Array(items)) = cont.get_mut(&key) else {
                return Ok(());
            };
            match sub {
                None => items.retain(|it| !f.matches(it)),
                Some(sub) => {
                    for it in items.iter_mut() {
                        if f.matches(it) {
                            if let Value::Object(o) = it {
                                if let Some(k) = existing_key(o, sub) {
                                    o.remove(&k);
                                }
                            }
                        }
                    }
                }
            }
            if items.is_empty() {
                cont.remove(&key);
            }
        }
        (None, Some(sub)) => match cont.get_mut(&key) {
            Some(Value::Object(o)) => {
                if let Some(k) = existing_key(o, sub) {
                    o.remove(&k);
                }
            }
            Some(Value::Array(items)) => {
                for it in items.iter_mut() {
                    if let Value::Object(o) = it {
                        if let Some(k) = existing_key(o, sub) {
                            o.remove(&k);
                        }
                    }
                }
            }
            _ => {}
        },
        (None, None) => match (value, cont.get_mut(&key)) {
            // `remove` with a value on a multi-valued attribute removes those values
            // (matched whole, or by their `value` sub-attribute).
            (Some(v), Some(Value::Array(items))) if !v.is_null() => {
                let gone: Vec<Value> = match v {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                check_len(p, attr, gone.len())?;
                items.retain(|it| {
                    !gone.iter().any(|g| {
                        g == it || (g.get("value").is_some() && g.get("value") == it.get("value"))
                    })
                });
                if items.is_empty() {
                    cont.remove(&key);
                }
            }
            _ => {
                cont.remove(&key);
            }
        },
    }
    Ok(())
}
