//! List queries (RFC 7644 §3.4.2): query parameters, paging, attribute
//! projection (§3.4.2.5) and the ListResponse envelope.
//!
//! Decisions: `count` defaults to the server cap and is clamped to it
//! (reported as `filter.maxResults` in /ServiceProviderConfig); a negative
//! `count` is 0 (totals only); `startIndex` below 1 is 1; a value that is not
//! an integer is 400 `invalidValue`; an empty parameter (`count=`) counts as
//! absent. `sortBy`/`sortOrder` are accepted and ignored (sort unsupported).
//! Parameter names match case-insensitively. Unknown names in
//! `attributes`/`excludedAttributes` are ignored, and so is a name with more
//! than one sub-attribute (`a.b.c`: no SCIM attribute path has that shape);
//! more than [`MAX_ATTRIBUTE_NAMES`] names is a 400 `invalidValue`.

use serde_json::{json, Map, Value};

use super::filter::{self, Filter};
use super::schema::{self, Resource};
use super::{ScimError, LIST_RESPONSE_SCHEMA};

/// Most names `attributes` or `excludedAttributes` may list. Each name is
/// matched against those before it, so the bound keeps projection cheap;
/// the User schema has fewer than 40 attributes with their sub-attributes.
pub const MAX_ATTRIBUTE_NAMES: usize = 100;

/// Parsed list-query parameters.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

/// Parse a raw query string of `GET /Users` (or `GET /Users/{id}`, which
/// only uses `attributes`/`excludedAttributes`).
pub fn parse_list_params(query: &str, max_count: usize) -> Result<ListParams, ScimError> {
    parse_list_params_for(Resource::User, query, max_count)
}

/// [`parse_list_params`] for another resource type (filters resolve against its schema).
pub fn parse_list_params_for(
    resource: Resource,
    query: &str,
    max_count: usize,
) -> Result<ListParams, ScimError> {
    let mut p = ListParams {
        filter: None,
        start_index: 1,
        count: max_count,
        attributes: Vec::new(),
        excluded_attributes: Vec::new(),
    };
    let query = query.strip_prefix('?').unwrap_or(query);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match name.to_ascii_lowercase().as_str() {
            "filter" => p.filter = Some(filter::parse_for(resource, value)?),
            "startindex" => {
                p.start_index = int_param("startIndex", value)?
                    .max(1)
                    .try_into()
                    .unwrap_or(usize::MAX)
            }
            "count" => {
                p.count = int_param("count", value)?
                    .max(0)
                    .try_into()
                    .unwrap_or(usize::MAX)
                    .min(max_count)
            }
            "attributes" => p.attributes = split_names("attributes", value)?,
            "excludedattributes" => {
                p.excluded_attributes = split_names("excludedAttributes", value)?
            }
            _ => {}
        }
    }
    Ok(p)
}

fn int_param(name: &str, value: &str) -> Result<i64, ScimError> {
    match value.parse::<i64>() {
        Ok(n) => Ok(n),
        // Out of i64 range but still an integer: saturate rather than reject.
        Err(_)
            if value
                .trim_start_matches(['-', '+'])
                .chars()
                .all(|c| c.is_ascii_digit())
                && value.len() > 1 =>
        {
            Ok(if value.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            })
        }
        Err(_) => Err(ScimError::invalid_value(format!(
            "\"{name}\" must be an integer, not \"{value}\""
        ))),
    }
}

fn split_names(param: &str, v: &str) -> Result<Vec<String>, ScimError> {
    let names: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(MAX_ATTRIBUTE_NAMES + 1)
        .map(str::to_owned)
        .collect();
    if names.len() > MAX_ATTRIBUTE_NAMES {
        return Err(ScimError::invalid_value(format!(
            "\"{param}\" lists more than {MAX_ATTRIBUTE_NAMES} attribute names"
        )));
    }
    Ok(names)
}

/// The ListResponse envelope; the three numbers are JSON integers (Okta checks).
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index.max(1),
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Attributes returned whatever `attributes`/`excludedAttributes` say.
const ALWAYS: &[&str] = &["schemas", "id", "meta", "userName"];

/// A selection of members (names compared case-insensitively).
#[derive(Debug)]
enum Sel {
    All,
    Some(Vec<(String, Sel)>),
}

impl Sel {
    fn add(&mut self, steps: &[String]) {
        let Sel::Some(children) = self else { return };
        let Some((first, rest)) = steps.split_first() else {
            *self = Sel::All;
            return;
        };
        let pos = children
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(first));
        let i = pos.unwrap_or_else(|| {
            children.push((first.clone(), Sel::Some(Vec::new())));
            children.len() - 1
        });
        let child = &mut children[i].1;
        if rest.is_empty() {
            *child = Sel::All;
        } else {
            child.add(rest);
        }
    }
    fn child(&self, name: &str) -> Option<&Sel> {
        match self {
            Sel::All => Some(&Sel::All),
            Sel::Some(c) => c
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, s)| s),
        }
    }
}

/// JSON member names a projection path walks: `name.givenName` → [name, givenName],
/// `urn:…:enterprise:2.0:User:department` → [urn, department]; `None` if
/// unresolvable, including a path with more than one sub-attribute (RFC 7644
/// §3.10: `attrPath = [URI ":"] ATTRNAME *1subAttr`), which also keeps the
/// selection tree at most three levels deep.
fn steps_of(spec: &str) -> Option<Vec<String>> {
    let (urn, rest) = schema::split_urn(Resource::User, spec).ok()?;
    let mut steps = Vec::new();
    if let Some(u) = urn.filter(|u| schema::extension_urn(Resource::User, u).is_some()) {
        steps.push(u.to_owned());
    }
    match rest {
        Some(r) if r.split('.').nth(2).is_some() => return None,
        Some(r) => steps.extend(r.split('.').map(str::to_owned)),
        None if steps.is_empty() => return None,
        None => {}
    }
    Some(steps)
}

fn include(v: &Value, sel: &Sel) -> Option<Value> {
    match (sel, v) {
        (Sel::All, _) => Some(v.clone()),
        (Sel::Some(_), Value::Object(o)) => {
            let mut out = Map::new();
            for (k, cv) in o {
                if let Some(cs) = sel.child(k) {
                    if let Some(x) = include(cv, cs) {
                        out.insert(k.clone(), x);
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (Sel::Some(_), Value::Array(items)) => {
            let kept: Vec<Value> = items.iter().filter_map(|i| include(i, sel)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

fn exclude(v: &mut Value, sel: &Sel) {
    let Sel::Some(children) = sel else { return };
    match v {
        Value::Object(o) => {
            for (name, cs) in children {
                let Some(k) = o.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else {
                    continue;
                };
                match cs {
                    Sel::All => {
                        o.remove(&k);
                    }
                    Sel::Some(_) => {
                        if let Some(x) = o.get_mut(&k) {
                            exclude(x, cs);
                        }
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| exclude(i, sel)),
        _ => {}
    }
}

/// Apply `attributes` / `excludedAttributes` to a rendered resource.
/// `schemas`, `id`, `meta` and `userName` always stay.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let mut out = resource;
    if !attributes.is_empty() {
        let mut sel = Sel::Some(Vec::new());
        for a in ALWAYS {
            sel.add(&[(*a).to_owned()]);
        }
        for spec in attributes {
            if let Some(steps) = steps_of(spec) {
                sel.add(&steps);
            }
        }
        out = include(&out, &sel).unwrap_or_else(|| Value::Object(Map::new()));
    }
    if !excluded.is_empty() {
        let mut sel = Sel::Some(Vec::new());
        for spec in excluded {
            if let Some(steps) = steps_of(spec) {
                if !ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&steps[0])) {
                    sel.add(&steps);
                }
            }
        }
        exclude(&mut out, &sel);
    }
    out
}
