//! Fuzz target: the SCIM filter parser (`ingress/src/scim/filter/`) and the
//! PATCH path parser (`ingress/src/scim/path.rs`), on any UTF-8 text.
//!
//! Properties: nothing panics; a filter the parser accepts stays within its
//! bounds (`MAX_TERMS`), matches any resource without panicking, and
//! round-trips: rendered back to text (below) and parsed again it is the
//! same tree.
#![no_main]

use std::fmt::Write;
use std::sync::OnceLock;

use ingress::scim::filter::{self, CompValue, CompareOp, Filter, MAX_FILTER_CHARS, MAX_TERMS};
use ingress::scim::path;
use ingress::scim::schema::Resource;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for resource in [Resource::User, Resource::Group] {
        if let Err(e) = path::parse_for(resource, text) {
            assert_eq!(
                e.status, 400,
                "a PATCH path is refused with a 400: {}",
                e.detail
            );
        }
        match filter::parse_for(resource, text) {
            Ok(f) => check(resource, &f),
            Err(e) => assert_eq!(
                e.status, 400,
                "a filter is refused with a 400: {}",
                e.detail
            ),
        }
    }
});

fn check(resource: Resource, f: &Filter) {
    assert!(terms(f) <= MAX_TERMS, "more than MAX_TERMS terms accepted");
    let (user, group) = resources();
    let _ = f.matches(user);
    let _ = f.matches(group);
    let _ = f.indexed_eq();
    let _ = f.group_indexed_eq();
    let _ = f.mentions_members();

    let mut out = String::new();
    render(f, &mut out);
    // Escapes can make the rendering longer than the input; such a filter
    // would be refused for its length, which is not a round-trip failure.
    if out.chars().count() > MAX_FILTER_CHARS {
        return;
    }
    match filter::parse_for(resource, &out) {
        Ok(again) => assert_eq!(&again, f, "re-parsing {out:?} gave another tree"),
        Err(e) => panic!(
            "the rendering {out:?} of an accepted filter is refused: {}",
            e.detail
        ),
    }
}

fn terms(f: &Filter) -> usize {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => terms(a) + terms(b),
        Filter::Not(a) => terms(a),
        Filter::ValuePath(_, inner) => 1 + terms(inner),
        Filter::Present(_) | Filter::Compare(..) => 1,
    }
}

/// The filter as text, parenthesised only where precedence needs it
/// (`not` > `and` > `or`, both left-associative), so the rendering is never
/// nested deeper than the text it was parsed from.
fn render(f: &Filter, out: &mut String) {
    match f {
        Filter::Or(a, b) => {
            render(a, out);
            out.push_str(" or ");
            group_if(matches!(**b, Filter::Or(..)), b, out);
        }
        Filter::And(a, b) => {
            group_if(matches!(**a, Filter::Or(..)), a, out);
            out.push_str(" and ");
            group_if(matches!(**b, Filter::Or(..) | Filter::And(..)), b, out);
        }
        Filter::Not(a) => {
            out.push_str("not (");
            render(a, out);
            out.push(')');
        }
        Filter::Present(a) => {
            out.push_str(&a.text);
            out.push_str(" pr");
        }
        Filter::Compare(a, op, v) => {
            let _ = write!(out, "{} {} ", a.text, op_word(*op));
            match v {
                CompValue::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
                // `{:e}` is the shortest text that reads back as the same f64.
                CompValue::Num(n) => {
                    let _ = write!(out, "{n:e}");
                }
                CompValue::Bool(b) => {
                    let _ = write!(out, "{b}");
                }
                CompValue::Null => out.push_str("null"),
            }
        }
        Filter::ValuePath(a, inner) => {
            out.push_str(&a.text);
            out.push('[');
            render(inner, out);
            out.push(']');
        }
    }
}

fn group_if(paren: bool, f: &Filter, out: &mut String) {
    if paren {
        out.push('(');
        render(f, out);
        out.push(')');
    } else {
        render(f, out);
    }
}

fn op_word(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}

/// A rendered User and Group with every kind of attribute a filter can reach.
fn resources() -> &'static (Value, Value) {
    static R: OnceLock<(Value, Value)> = OnceLock::new();
    R.get_or_init(|| {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "7f9c2b1e-0000-4000-8000-000000000001",
            "externalId": "00u1abcd2EFGH3ijk4l5",
            "userName": "jo.young@example.com",
            "name": {"givenName": "Jo", "familyName": "Young", "formatted": "Jo Young"},
            "displayName": "Jo Young",
            "active": true,
            "emails": [{"value": "jo.young@example.com", "type": "work", "primary": true},
                       {"value": "jo@home.example", "type": "home"}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "addresses": [{"type": "work", "locality": "Redmond", "streetAddress": "1 Way"}],
            "title": "Engineer",
            "custom_fields": {"cost": 3, "vip": false},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Research", "employeeNumber": "E-77",
                "manager": {"value": "m-1"}
            },
            "groups": [{"value": "g-1", "display": "Staff"}],
            "meta": {"resourceType": "User", "created": "2024-01-02T03:04:05Z",
                     "lastModified": "2024-05-06T07:08:09.123Z", "version": "W/\"3\""}
        });
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g-1",
            "displayName": "Staff",
            "externalId": "00g1",
            "members": [{"value": "7f9c2b1e-0000-4000-8000-000000000001", "display": "Jo Young"}],
            "meta": {"resourceType": "Group", "created": "2024-01-02T03:04:05Z",
                     "lastModified": "2024-05-06T07:08:09Z"}
        });
        (user, group)
    })
}
