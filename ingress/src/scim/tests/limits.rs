//! Every structure a request can make the SCIM core build is bounded:
//! filter terms and text, value filters in PATCH paths, projected attribute
//! paths, multi-valued attributes and PATCH operations. Each input here
//! crashed the ingress (stack overflow) or cost it seconds of CPU before
//! the bounds existed; now each is a SCIM 400 that names the limit, or is
//! cheap and harmless.

use serde_json::{json, Value};

use crate::scim::filter::{self, MAX_TERMS};
use crate::scim::list::{parse_list_params, project, MAX_ATTRIBUTE_NAMES};
use crate::scim::patch::{apply, MAX_OPERATIONS};
use crate::scim::user::{email_keys, from_request, user_name_key, MAX_VALUES};
use crate::scim::{path, ScimType, PATCH_OP_SCHEMA, USER_SCHEMA};

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": user_name})
}

fn emails(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"value": format!("u{i}@acme.com"), "type": "work"}))
            .collect(),
    )
}

#[test]
fn a_long_and_chain_is_an_invalid_filter_not_a_stack_overflow() {
    let long = vec!["id pr"; 30_000].join(" and ");
    let e = filter::parse(&long).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert!(e.detail.contains("characters long"), "{}", e.detail);

    // Under the text bound, the term bound still holds (and/or alike).
    let terms = vec!["id pr"; MAX_TERMS + 1].join(" or ");
    let e = filter::parse(&terms).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert!(
        e.detail.contains(&format!("more than {MAX_TERMS}")),
        "{}",
        e.detail
    );

    // The bound itself is accepted, and matches.
    let f = filter::parse(&vec!["id pr"; MAX_TERMS].join(" and ")).unwrap();
    assert!(f.matches(&json!({"id": "x"})));
}

#[test]
fn value_filters_count_towards_the_term_bound() {
    let inner = vec!["value pr"; MAX_TERMS].join(" and ");
    let e = filter::parse(&format!("emails[{inner}]")).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    // PATCH paths parse their value filter with the same parser.
    let inner = vec!["value pr"; 30_000].join(" and ");
    let e = path::parse(&format!("emails[{inner}].display")).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn projection_paths_are_bounded() {
    // A 200,000-segment dotted path is not an attribute path: ignored.
    let deep = vec!["name"; 200_000].join(".");
    let p = parse_list_params(&format!("attributes={deep}"), 100).unwrap();
    let out = project(
        json!({"id": "1", "userName": "a", "name": {"givenName": "A"}}),
        &p.attributes,
        &p.excluded_attributes,
    );
    assert_eq!(out, json!({"id": "1", "userName": "a"}));

    let many: Vec<String> = (0..=MAX_ATTRIBUTE_NAMES).map(|i| format!("a{i}")).collect();
    for param in ["attributes", "excludedAttributes"] {
        let e = parse_list_params(&format!("{param}={}", many.join(",")), 100).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains(param), "{}", e.detail);
    }
}

#[test]
fn multi_valued_attributes_hold_at_most_max_values() {
    let mut body = user("a@acme.com");
    body["emails"] = emails(MAX_VALUES);
    assert!(from_request(body.clone()).is_ok());
    body["emails"] = emails(38_000);
    let e = from_request(body).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(
        e.detail
            .contains(&format!("38000 values; at most {MAX_VALUES}")),
        "{}",
        e.detail
    );
    // Attributes outside the schema too.
    let mut body = user("a@acme.com");
    body["badges"] = Value::Array(vec![json!("x"); MAX_VALUES + 1]);
    assert!(from_request(body).is_err());
}

#[test]
fn patch_cannot_grow_a_list_past_the_bound() {
    let mut doc = from_request(user("a@acme.com")).unwrap();
    let add = |value: Value| {
        json!({"schemas": [PATCH_OP_SCHEMA],
               "Operations": [{"op": "add", "path": "emails", "value": value}]})
    };
    let e = apply(&mut doc, &add(emails(38_000))).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(e.detail.contains("at most 100"), "{}", e.detail);

    // One value per operation, many operations: stopped as the list grows.
    let ops: Vec<Value> = (0..MAX_OPERATIONS)
        .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("u{i}@acme.com")}]}))
        .collect();
    let e = apply(
        &mut doc,
        &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}),
    )
    .unwrap_err();
    assert!(e.detail.contains("at most 100"), "{}", e.detail);
    assert!(
        doc.get("emails").is_none(),
        "a refused PATCH changes nothing"
    );

    let ops = vec![json!({"op": "replace", "path": "title", "value": "x"}); MAX_OPERATIONS + 1];
    let e = apply(
        &mut doc,
        &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));

    // Removing by a value list is bounded as well.
    let mut body = user("a@acme.com");
    body["emails"] = emails(2);
    let mut doc = from_request(body).unwrap();
    let e = apply(
        &mut doc,
        &json!({"schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "remove", "path": "emails", "value": emails(MAX_VALUES + 1)}]}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn look_alike_user_names_share_one_key_and_invisible_ones_are_refused() {
    // NFD and NFC spellings are stored alike and share one index key.
    let nfd = from_request(user("jose\u{0301}@acme.com")).unwrap();
    let nfc = from_request(user("jos\u{00E9}@acme.com")).unwrap();
    assert_eq!(nfd["userName"], "jos\u{00E9}@acme.com");
    assert_eq!(user_name_key(&nfd), user_name_key(&nfc));
    // Fullwidth letters fold onto plain ones.
    let wide = from_request(user("\u{FF49}van@acme.com")).unwrap();
    assert_eq!(user_name_key(&wide), "ivan@acme.com");
    // Emails are folded the same way.
    let mut body = user("x@acme.com");
    body["emails"] = json!([{"value": "IVAN@acme.com"}, {"value": "\u{FF49}van@acme.com"}]);
    assert_eq!(
        email_keys(&from_request(body).unwrap()),
        vec!["ivan@acme.com"]
    );

    for bad in [
        "i\u{200B}van@acme.com",
        "ivan\u{0}@acme.com",
        "\u{FEFF}ivan@acme.com",
        "\u{0456}van@acme.com",
    ] {
        let e = from_request(user(bad)).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad:?}");
        assert!(e.detail.contains("\"userName\""), "{}", e.detail);
        let mut body = user("ok@acme.com");
        body["emails"] = json!([{"value": bad}]);
        let e = from_request(body).unwrap_err();
        assert!(e.detail.contains("emails[0].value"), "{}", e.detail);
    }
    // PATCH results are checked too.
    let mut doc = from_request(user("a@acme.com")).unwrap();
    let e = apply(
        &mut doc,
        &json!({"schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "replace", "path": "userName", "value": "a\u{200D}@acme.com"}]}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}
