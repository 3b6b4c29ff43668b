//! Matching a parsed filter against a rendered resource, and reading what
//! an `eq` filter pins down (the index key a store can answer it from, the
//! values PATCH gives a new element of a value path).

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{AttrRef, CompValue, CompareOp, Filter, GroupIndexedAttr, IndexedAttr, Kind};

impl Filter {
    /// Whether a rendered resource (with `id` and `meta`) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(f) => !f.matches(resource),
            Filter::Present(a) => values(resource, &a.steps).iter().any(|v| present(v)),
            Filter::Compare(a, op, lit) => compare(a, *op, lit, resource),
            Filter::ValuePath(a, inner) => values(resource, &a.steps)
                .iter()
                .any(|elem| inner.matches(elem)),
        }
    }

    /// `Some` when the whole filter is one `eq` on userName, externalId or
    /// emails.value (also `emails eq "…"` and `emails[value eq "…"]`). The
    /// string is the index key: folded for userName and email (both
    /// caseExact=false; `shared::identity::fold`), exact for externalId.
    /// Callers still re-check `matches`.
    pub fn indexed_eq(&self) -> Option<(IndexedAttr, String)> {
        match self {
            Filter::Compare(a, CompareOp::Eq, CompValue::Str(s)) => {
                let attr = indexed_attr(&a.steps)?;
                Some((attr, index_key(attr, s)))
            }
            Filter::ValuePath(a, inner) if steps_are(&a.steps, &["emails"]) => match &**inner {
                Filter::Compare(b, CompareOp::Eq, CompValue::Str(s))
                    if steps_are(&b.steps, &["value"]) =>
                {
                    Some((IndexedAttr::Email, index_key(IndexedAttr::Email, s)))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// For a Group filter: `Some` when the whole filter is one `eq` on
    /// displayName (folded: not case-exact), externalId or id.
    pub fn group_indexed_eq(&self) -> Option<(GroupIndexedAttr, String)> {
        let Filter::Compare(a, CompareOp::Eq, CompValue::Str(s)) = self else {
            return None;
        };
        if steps_are(&a.steps, &["displayName"]) {
            Some((GroupIndexedAttr::DisplayName, shared::identity::fold(s)))
        } else if steps_are(&a.steps, &["externalId"]) {
            Some((GroupIndexedAttr::ExternalId, s.clone()))
        } else if steps_are(&a.steps, &["id"]) {
            Some((GroupIndexedAttr::Id, s.clone()))
        } else {
            None
        }
    }

    /// Whether any term looks at `members` (so a Group list must read them).
    pub fn mentions_members(&self) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.mentions_members() || b.mentions_members(),
            Filter::Not(f) => f.mentions_members(),
            Filter::Present(a) | Filter::Compare(a, ..) | Filter::ValuePath(a, _) => {
                a.steps.first().is_some_and(|s| s == "members")
            }
        }
    }

    /// Attribute values that a filter made only of `eq` terms joined by `and`
    /// pins down (`type eq "work" and primary eq true` → type/primary). Used by
    /// PATCH to create the element a value path names when none exists.
    pub(crate) fn eq_terms(&self) -> Option<Vec<(Vec<String>, Value)>> {
        match self {
            Filter::And(a, b) => {
                let mut v = a.eq_terms()?;
                v.extend(b.eq_terms()?);
                Some(v)
            }
            Filter::Compare(a, CompareOp::Eq, lit) => {
                let v = match lit {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Num(n) => serde_json::Number::from_f64(*n).map(Value::Number)?,
                    CompValue::Null => return None,
                };
                Some(vec![(a.steps.clone(), v)])
            }
            _ => None,
        }
    }
}

fn steps_are(steps: &[String], want: &[&str]) -> bool {
    steps.len() == want.len() && steps.iter().zip(want).all(|(a, b)| a == b)
}

fn indexed_attr(steps: &[String]) -> Option<IndexedAttr> {
    if steps_are(steps, &["userName"]) {
        Some(IndexedAttr::UserName)
    } else if steps_are(steps, &["externalId"]) {
        Some(IndexedAttr::ExternalId)
    } else if steps_are(steps, &["emails", "value"]) {
        Some(IndexedAttr::Email)
    } else if steps_are(steps, &["id"]) {
        Some(IndexedAttr::Id)
    } else {
        None
    }
}

fn index_key(attr: IndexedAttr, s: &str) -> String {
    match attr {
        IndexedAttr::ExternalId | IndexedAttr::Id => s.to_owned(),
        IndexedAttr::UserName | IndexedAttr::Email => shared::identity::fold(s),
    }
}

/// Member of an object: exact name first, then ASCII case-insensitively
/// (attribute names are case-insensitive, RFC 7643 §2.1).
pub(crate) fn get_ci<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// All values at `steps`, flattening multi-valued attributes at every level.
fn values<'a>(ctx: &'a Value, steps: &[String]) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![ctx];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Object(m) => next.extend(get_ci(m, step)),
                Value::Array(items) => {
                    for it in items {
                        if let Value::Object(m) = it {
                            next.extend(get_ci(m, step));
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    let mut out = Vec::new();
    for v in cur {
        match v {
            Value::Array(items) => out.extend(items.iter()),
            other => out.push(other),
        }
    }
    out
}

/// RFC 7644 `pr`: has a non-empty value.
fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(a: &AttrRef, op: CompareOp, lit: &CompValue, ctx: &Value) -> bool {
    let vals = values(ctx, &a.steps);
    match (op, lit) {
        (CompareOp::Eq, CompValue::Null) => !vals.iter().any(|v| present(v)),
        (CompareOp::Ne, CompValue::Null) => vals.iter().any(|v| present(v)),
        (CompareOp::Ne, _) => !vals.iter().any(|v| cmp_one(a.kind, CompareOp::Eq, v, lit)),
        _ => vals.iter().any(|v| cmp_one(a.kind, op, v, lit)),
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub(super) fn parse_dt(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn ord_ok<T: PartialOrd>(op: CompareOp, a: T, b: T) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn str_cmp(op: CompareOp, actual: &str, lit: &str, case_exact: bool) -> bool {
    // caseExact=false compares like the indexes do (`shared/src/identity.rs`),
    // so a filter answered from an index and one answered by a scan agree.
    let (a, l) = if case_exact {
        (actual.to_owned(), lit.to_owned())
    } else {
        (shared::identity::fold(actual), shared::identity::fold(lit))
    };
    match op {
        CompareOp::Co => a.contains(&l),
        CompareOp::Sw => a.starts_with(&l),
        CompareOp::Ew => a.ends_with(&l),
        _ => ord_ok(op, a.as_str(), l.as_str()),
    }
}

fn cmp_one(kind: Kind, op: CompareOp, actual: &Value, lit: &CompValue) -> bool {
    match (kind, lit) {
        (Kind::Complex, _) | (_, CompValue::Null) => false,
        (Kind::Bool, CompValue::Bool(b)) | (Kind::Any, CompValue::Bool(b)) => {
            bool_of(actual).is_some_and(|x| ord_ok(op, x, *b))
        }
        (Kind::Str { case_exact }, CompValue::Str(s)) => actual
            .as_str()
            .is_some_and(|x| str_cmp(op, x, s, case_exact)),
        (Kind::Any, CompValue::Str(s)) => actual.as_str().is_some_and(|x| str_cmp(op, x, s, false)),
        (Kind::DateTime, CompValue::Str(s)) => {
            let Some(x) = actual.as_str() else {
                return false;
            };
            if op.is_substring() {
                return str_cmp(op, x, s, false);
            }
            match (parse_dt(x), parse_dt(s)) {
                (Some(x), Some(l)) => ord_ok(op, x, l),
                _ => false,
            }
        }
        (Kind::Num, CompValue::Num(n)) | (Kind::Any, CompValue::Num(n)) => {
            actual.as_f64().is_some_and(|x| ord_ok(op, x, *n))
        }
        _ => false,
    }
}
