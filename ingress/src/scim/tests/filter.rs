//! Filter parsing, type checks, matching and index detection, including
//! every example of RFC 7644 §3.4.2.2 and Okta's existence check.

use serde_json::{json, Value};

use crate::scim::filter::{parse, parse_group, CompValue, CompareOp, Filter, IndexedAttr};
use crate::scim::ScimType;

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen-EXT",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "O'Malley", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
        "custom_fields": {"cost_center": "CC-1", "level": 3, "remote": true},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tour Operations", "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3\""}
    })
}

fn m(f: &str) -> bool {
    parse(f)
        .unwrap_or_else(|e| panic!("{f}: {e}"))
        .matches(&bjensen())
}

fn invalid(f: &str) -> String {
    let e = parse(f).expect_err(f);
    assert_eq!(e.status, 400, "{f}");
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f}");
    e.detail
}

#[test]
fn rfc_7644_examples_parse_and_match() {
    assert!(m(r#"userName eq "bjensen@example.com""#));
    assert!(m(r#"name.familyName co "O'Malley""#));
    assert!(!m(r#"userName sw "J""#));
    assert!(m(r#"userName sw "B""#));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#
    ));
    assert!(m("title pr"));
    assert!(m(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(!m(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.lastModified lt "2011-05-13T04:42:35Z""#));
    assert!(m(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
    // Same instant in another offset.
    assert!(m(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#));
    assert!(m(r#"title pr and userType eq "Employee""#));
    assert!(m(r#"title pr or userType eq "Intern""#));
    assert!(m(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#
    ));
    assert!(m(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
    ));
    assert!(!m(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
    ));
    assert!(m(r#"userType eq "Employee" and (emails.type eq "work")"#));
    assert!(m(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#
    ));
    assert!(m(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#
    ));
    assert!(!m(r#"emails[type eq "home" and value co "@example.com"]"#));
}

#[test]
fn okta_existence_check_and_case() {
    let f = parse(r#"userName eq "BJENSEN@example.COM""#).unwrap();
    assert!(f.matches(&bjensen()));
    assert_eq!(
        f.indexed_eq(),
        Some((IndexedAttr::UserName, "bjensen@example.com".to_owned()))
    );
    assert!(!parse(r#"userName eq "nobody@example.com""#)
        .unwrap()
        .matches(&bjensen()));
}

#[test]
fn keywords_and_names_are_case_insensitive() {
    assert!(m(r#"USERNAME EQ "bjensen@example.com" AND Active Eq TRUE"#));
    assert!(m(r#"NOT (title Pr) OR EMAILS[TYPE eq "work"]"#));
    assert!(m(r#"name.GIVENNAME eq "barbara""#));
}

#[test]
fn case_exactness_follows_the_schema() {
    assert!(m(r#"externalId eq "bjensen-EXT""#));
    assert!(!m(r#"externalId eq "bjensen-ext""#));
    assert!(m(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    assert!(!m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(m(r#"emails.value eq "BABS@JENSEN.ORG""#));
}

#[test]
fn precedence_not_and_or() {
    // and binds tighter than or: false and false or true == true
    assert!(m(r#"title eq "x" and title eq "y" or active eq true"#));
    // true or (false and false) == true; (true or false) and false would be false
    assert!(m(r#"active eq true or title eq "x" and title eq "y""#));
    assert!(!m(r#"(active eq true or title eq "x") and title eq "y""#));
    assert!(m(r#"not (title eq "x") and active eq true"#));
    let f = parse(r#"a.b eq "x" or title pr"#);
    assert!(f.is_err());
}

#[test]
fn operators() {
    assert!(m(r#"displayName co "abs J""#));
    assert!(m(r#"displayName ew "jensen""#));
    assert!(m(r#"displayName ne "Someone""#));
    assert!(m(r#"displayName gt "Aaa""#));
    assert!(m(r#"displayName lt "Zzz""#));
    assert!(m("active eq true"));
    assert!(!m("active eq false"));
    assert!(m("active ne false"));
    assert!(m(r#"active eq "True""#));
    assert!(m("nickName eq null"));
    assert!(m("title ne null"));
    assert!(!m("nickName pr"));
    // ne matches a user without the attribute.
    assert!(m(r#"nickName ne "Babs""#));
}

#[test]
fn extension_and_custom_fields() {
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611""#
    ));
    assert!(m(r#"department eq "Tour Operations""#));
    assert!(m(r#"custom_fields.cost_center eq "cc-1""#));
    assert!(m("custom_fields.level ge 3"));
    assert!(!m("custom_fields.level gt 3"));
    assert!(m("custom_fields.remote eq true"));
    assert!(m("custom_fields pr"));
    assert!(!m("custom_fields.missing pr"));
}

#[test]
fn string_escapes() {
    let doc = json!({"userName": "a\"b\\c\u{e9}", "id": "1"});
    assert!(parse(r#"userName eq "a\"b\\c\u00e9""#)
        .unwrap()
        .matches(&doc));
    assert!(parse(r#"userName eq "A\"B\\CÉ""#).unwrap().matches(&doc));
}

#[test]
fn multi_valued_any_element() {
    assert!(m(r#"emails.type eq "home""#));
    assert!(m(r#"emails.type eq "work""#));
    assert!(!m(r#"emails.type eq "other""#));
    assert!(m(r#"phoneNumbers eq "555-555-8377""#));
}

#[test]
fn invalid_filters_are_400_invalid_filter() {
    for f in [
        "",
        "   ",
        "userName",
        "userName eq",
        r#"userName eq "unterminated"#,
        r#"userName xx "a""#,
        r#"userName eq "a" and"#,
        r#"(userName eq "a""#,
        r#"userName eq "a")"#,
        r#"emails[type eq "work""#,
        r#"emails[type eq "work"]]"#,
        r#"foo eq "a""#,
        r#"name.foo eq "a""#,
        r#"urn:example:custom:User:foo eq "a""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:foo eq "a""#,
        r#"active gt "x""#,
        "active gt true",
        "active eq 1",
        r#"active eq "x""#,
        "userName eq 42",
        "userName eq true",
        r#"meta.lastModified gt "yesterday""#,
        r#"name eq "x""#,
        r#"emails[value eq "x"].type eq "y""#,
        r#"emails[type eq "work" and ims[type eq "x"]]"#,
        r#"title[value eq "x"]"#,
        r#"emails[foo eq "x"]"#,
        "title gt null",
        "userName eq bare",
        r#"userName eq "a" @"#,
        "custom_fields.x co 5",
        "not title pr",
    ] {
        invalid(f);
    }
}

#[test]
fn sub_attribute_after_value_path_is_explained() {
    let d = invalid(r#"emails[type eq "work"].value eq "x""#);
    assert!(d.contains("only allowed in PATCH paths"), "{d}");
}

#[test]
fn error_points_at_the_position() {
    let d = invalid(r#"userName eq "a" and foo eq "b""#);
    assert!(d.contains("position 21"), "{d}");
    assert!(d.contains("foo"), "{d}");
    let d = invalid(r#"userName zz "a""#);
    assert!(d.contains("position 10") && d.contains("zz"), "{d}");
}

#[test]
fn deep_nesting_is_rejected_not_a_stack_overflow() {
    let f = format!("{}title pr{}", "(".repeat(5000), ")".repeat(5000));
    invalid(&f);
    let f = format!("{}title pr{}", "not (".repeat(5000), ")".repeat(5000));
    invalid(&f);
    let ok = format!("{}title pr{}", "(".repeat(10), ")".repeat(10));
    assert!(m(&ok));
}

#[test]
fn indexed_eq_detection() {
    let ix = |f: &str| parse(f).unwrap().indexed_eq();
    assert_eq!(
        ix(r#"externalId eq "00uAbC""#),
        Some((IndexedAttr::ExternalId, "00uAbC".into()))
    );
    assert_eq!(
        ix(r#"emails.value eq "A@X.io""#),
        Some((IndexedAttr::Email, "a@x.io".into()))
    );
    assert_eq!(
        ix(r#"emails eq "A@X.io""#),
        Some((IndexedAttr::Email, "a@x.io".into()))
    );
    assert_eq!(
        ix(r#"emails[value eq "A@X.io"]"#),
        Some((IndexedAttr::Email, "a@x.io".into()))
    );
    assert_eq!(
        ix(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Bob""#),
        Some((IndexedAttr::UserName, "bob".into()))
    );
    assert_eq!(
        ix(r#"id eq "2819c223-7f76-453a-919d-413861904646""#),
        Some((
            IndexedAttr::Id,
            "2819c223-7f76-453a-919d-413861904646".into()
        ))
    );
    assert_eq!(ix(r#"userName eq "a" and active eq true"#), None);
    assert_eq!(ix(r#"userName ne "a""#), None);
    assert_eq!(ix(r#"userName co "a""#), None);
    assert_eq!(ix(r#"emails[type eq "work"]"#), None);
    assert_eq!(ix(r#"emails[value eq "a" and type eq "work"]"#), None);
    assert_eq!(ix(r#"displayName eq "a""#), None);
    assert_eq!(ix("userName eq null"), None);
}

#[test]
fn ast_shape() {
    let f = parse(r#"userName eq "x""#).unwrap();
    let Filter::Compare(a, op, v) = f else {
        panic!()
    };
    assert_eq!(a.steps, vec!["userName".to_owned()]);
    assert_eq!(op, CompareOp::Eq);
    assert_eq!(v, CompValue::Str("x".into()));
}

#[test]
fn group_filters() {
    let g = json!({"id": "g1", "displayName": "Test SCIMv2", "members": [{"value": "u1"}]});
    assert!(parse_group(r#"displayName eq "test scimv2""#)
        .unwrap()
        .matches(&g));
    assert!(parse_group(r#"members[value eq "u1"]"#)
        .unwrap()
        .matches(&g));
    assert!(parse_group(r#"userName eq "x""#).is_err());
}
