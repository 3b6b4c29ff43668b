//! Property tests: the filter parser, the PATCH engine and the request
//! normaliser never panic, only answer 4xx, and PATCH is atomic.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::scim::filter::parse;
use crate::scim::list::parse_list_params;
use crate::scim::patch::apply;
use crate::scim::path;
use crate::scim::user::{from_request, validate};
use crate::scim::USER_SCHEMA;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("True".to_owned()),
            Just("false".to_owned()),
            Just("work".to_owned()),
            "[a-z@. ]{0,8}",
            any::<String>(),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Keys that hit real attributes, quirk paths, and noise.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "active",
            "name",
            "givenName",
            "familyName",
            "emails",
            "value",
            "type",
            "primary",
            "phoneNumbers",
            "addresses",
            "locality",
            "title",
            "displayName",
            "externalId",
            "id",
            "meta",
            "groups",
            "password",
            "schemas",
            "custom_fields",
            "custom_fields.x",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "manager",
            "op",
            "path",
            "Operations",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_.:\\[\\]\" ]{0,12}",
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_key(),
        prop::sample::select(vec![
            "emails[type eq \"work\"]",
            "addresses[type eq \"work\"].locality",
            "emails[value co \"@\"].type",
            "phoneNumbers[type eq \"mobile\" and primary eq true].value",
            "members[value eq \"x\"]",
            "name.middleName",
            "custom_fields.designation_id",
            "urn:ietf:params:scim:schemas:core:2.0:User:title",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

fn arb_op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "Replace", "REMOVE", "remove", "bogus"]),
        prop::option::of(arb_path()),
        prop::option::of(arb_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
}

fn base_user() -> Value {
    from_request(json!({
        "schemas": [USER_SCHEMA], "userName": "u@x.io",
        "name": {"givenName": "G", "familyName": "F"},
        "emails": [{"value": "u@x.io", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "1", "type": "mobile"}],
        "custom_fields": {"x": 1}
    }))
    .unwrap()
}

/// Filter-ish strings: fragments of the grammar glued together at random.
fn arb_filter() -> impl Strategy<Value = String> {
    let frag = prop::sample::select(vec![
        "userName",
        "emails",
        "name.givenName",
        "meta.lastModified",
        "active",
        "title",
        "emails.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "custom_fields.x",
        "eq",
        "ne",
        "co",
        "sw",
        "gt",
        "le",
        "pr",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        "\"x\"",
        "\"2011-05-13T04:42:34Z\"",
        "true",
        "null",
        "42",
        "-1.5e3",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        " ",
        ".",
        "\"",
    ]);
    prop_oneof![
        prop::collection::vec(frag, 0..12).prop_map(|v| v.join(" ")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn filter_parser_never_panics(input in arb_filter()) {
        match parse(&input) {
            Ok(f) => {
                let _ = f.matches(&base_user());
                let _ = f.indexed_eq();
            }
            Err(e) => {
                prop_assert!((400..500).contains(&e.status));
                prop_assert!(!e.detail.is_empty());
            }
        }
    }

    #[test]
    fn filter_matches_arbitrary_documents(input in arb_filter(), doc in arb_json()) {
        if let Ok(f) = parse(&input) {
            let _ = f.matches(&doc);
        }
    }

    #[test]
    fn path_parser_never_panics(input in arb_path()) {
        if let Err(e) = path::parse(&input) {
            prop_assert!((400..500).contains(&e.status));
        }
    }

    #[test]
    fn patch_is_total_and_atomic(ops in prop::collection::vec(arb_op(), 0..5), with_schemas in any::<bool>()) {
        let mut body = json!({"Operations": ops});
        if with_schemas {
            body["schemas"] = json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]);
        }
        let before = base_user();
        let mut doc = before.clone();
        match apply(&mut doc, &body) {
            Ok(()) => validate(&doc).map_err(|e| TestCaseError::fail(e.detail))?,
            Err(e) => {
                prop_assert!((400..500).contains(&e.status), "{}", e.status);
                prop_assert_eq!(doc, before);
            }
        }
    }

    #[test]
    fn patch_on_arbitrary_bodies(body in arb_json(), user in arb_json()) {
        let mut doc = user.clone();
        if let Err(e) = apply(&mut doc, &body) {
            prop_assert!((400..500).contains(&e.status));
            prop_assert_eq!(doc, user);
        }
    }

    #[test]
    fn from_request_is_total_and_a_fixed_point(mut body in arb_json(), add_schema in any::<bool>()) {
        if add_schema {
            if let Value::Object(o) = &mut body {
                o.insert("schemas".into(), json!([USER_SCHEMA]));
                o.insert("userName".into(), json!("u"));
            }
        }
        match from_request(body) {
            Ok(doc) => {
                validate(&doc).map_err(|e| TestCaseError::fail(e.detail))?;
                let mut again = doc.clone();
                again["schemas"] = json!([USER_SCHEMA]);
                prop_assert_eq!(from_request(again).map_err(|e| TestCaseError::fail(e.detail))?, doc);
            }
            Err(e) => prop_assert!((400..500).contains(&e.status)),
        }
    }

    #[test]
    fn list_params_never_panic(q in any::<String>()) {
        if let Err(e) = parse_list_params(&q, 200) {
            prop_assert!((400..500).contains(&e.status));
        }
    }
}
