//! User normalisation, validation, index keys, rendering and ETags, with
//! Okta's exact POST and PUT bodies from the reference.

use serde_json::{json, Value};

use crate::scim::user::{
    email_keys, etag, external_id, from_request, if_match_ok, render, user_name_key, validate, Meta,
};
use crate::scim::{ScimType, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

fn bad(body: Value) -> String {
    let e = from_request(body.clone()).expect_err(&body.to_string());
    assert_eq!(e.status, 400);
    assert_eq!(
        e.scim_type,
        Some(ScimType::InvalidValue),
        "{body}: {}",
        e.detail
    );
    e.detail
}

#[test]
fn okta_create_body() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    });
    let doc = from_request(body).unwrap();
    assert_eq!(
        doc,
        json!({
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": true
        })
    );
    assert!(!doc.to_string().contains("1mz050nq"));
    assert_eq!(user_name_key(&doc), "test.user@okta.local");
    assert_eq!(email_keys(&doc), vec!["test.user@okta.local".to_owned()]);
    assert_eq!(external_id(&doc).as_deref(), Some("00ujl29u0le5T6Aj10h7"));
}

#[test]
fn okta_put_with_echoed_id_meta_groups() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
        "active": true,
        "groups": [],
        "meta": {"resourceType": "User"}
    });
    let doc = from_request(body).unwrap();
    for k in ["id", "meta", "groups", "schemas"] {
        assert!(doc.get(k).is_none(), "{k} stored");
    }
    assert_eq!(doc["name"]["middleName"], "Excited");
}

#[test]
fn spec_test_create_body_and_deactivation_put() {
    let doc = from_request(json!({
        "schemas": [USER_SCHEMA], "userName": "RandomUser", "name": {"givenName": "G", "familyName": "F"},
        "emails": [{"primary": true, "value": "r@x.io", "type": "work"}], "displayName": "G F", "active": true
    }))
    .unwrap();
    assert_eq!(user_name_key(&doc), "randomuser");
    let off =
        from_request(json!({"schemas": [USER_SCHEMA], "userName": "u", "active": false})).unwrap();
    assert_eq!(off["active"], false);
}

#[test]
fn active_defaults_and_string_booleans() {
    let doc = from_request(json!({"schemas": [USER_SCHEMA], "userName": "u"})).unwrap();
    assert_eq!(doc["active"], true);
    let doc = from_request(
        json!({"schemas": [USER_SCHEMA], "userName": "u", "active": "False",
        "emails": [{"value": "a@b", "primary": "TRUE"}]}),
    )
    .unwrap();
    assert_eq!(doc["active"], false);
    assert_eq!(doc["emails"][0]["primary"], true);
}

#[test]
fn schemas_are_checked() {
    bad(json!({"userName": "u"}));
    bad(json!({"schemas": "urn:ietf:params:scim:schemas:core:2.0:User", "userName": "u"}));
    bad(json!({"schemas": [ENTERPRISE_USER_SCHEMA], "userName": "u"}));
    let d = bad(json!({"schemas": [USER_SCHEMA, "urn:example:custom"], "userName": "u"}));
    assert!(d.contains("unknown schema URN"), "{d}");
    bad(json!({"schemas": [USER_SCHEMA, 5], "userName": "u"}));
    // Case-insensitive URNs.
    from_request(
        json!({"schemas": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"], "userName": "u"}),
    )
    .unwrap();
}

#[test]
fn type_checks() {
    let base = || json!({"schemas": [USER_SCHEMA], "userName": "u"});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    bad(json!({"schemas": [USER_SCHEMA]}));
    bad(json!({"schemas": [USER_SCHEMA], "userName": ""}));
    bad(json!({"schemas": [USER_SCHEMA], "userName": "  "}));
    bad(json!({"schemas": [USER_SCHEMA], "userName": 5}));
    bad(with("active", json!("yes")));
    bad(with("active", json!(1)));
    bad(with("name", json!("Bob")));
    bad(with("name", json!({"givenName": 5})));
    bad(with("emails", json!({"value": "a@b"})));
    bad(with("emails", json!(["a@b"])));
    bad(with(
        "emails",
        json!([{"value": "a@b", "primary": "maybe"}]),
    ));
    bad(with(
        "emails",
        json!([{"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}]),
    ));
    bad(with("phoneNumbers", json!({"value": "1"})));
    bad(with("addresses", json!([{"locality": 7}])));
    bad(with("displayName", json!(["x"])));
    bad(with("title", json!(1)));
    bad(with("locale", json!(true)));
    bad(with("timezone", json!({})));
    bad(with("externalId", json!(5)));
    bad(with(ENTERPRISE_USER_SCHEMA, json!("x")));
    bad(with(ENTERPRISE_USER_SCHEMA, json!({"department": 5})));
    bad(json!({"schemas": [USER_SCHEMA], "userName": "u", "urn:example:x:User": {"a": 1}}));
    assert_eq!(
        from_request(json!([1])).unwrap_err().scim_type,
        Some(ScimType::InvalidSyntax)
    );
}

#[test]
fn nulls_are_unassigned() {
    let doc = from_request(
        json!({"schemas": [USER_SCHEMA], "userName": "u", "title": null,
        "name": {"givenName": "a", "familyName": null}, "emails": []}),
    )
    .unwrap();
    assert!(doc.get("title").is_none());
    assert!(doc.get("emails").is_none());
    assert_eq!(doc["name"], json!({"givenName": "a"}));
}

#[test]
fn custom_fields_every_shape() {
    let doc = from_request(json!({
        "schemas": [USER_SCHEMA], "userName": "u",
        "custom_fields": {"designation_id": 42},
        "custom_fields.cost_center": "CC-7",
        "urn:ietf:params:scim:schemas:core:2.0:User": {"custom_fields": {"remote": true}, "title": "Boss"}
    }))
    .unwrap();
    assert_eq!(
        doc["custom_fields"],
        json!({"designation_id": 42, "cost_center": "CC-7", "remote": true})
    );
    assert_eq!(doc["title"], "Boss");
    // Top-level wins over a hoisted duplicate.
    let doc = from_request(json!({
        "schemas": [USER_SCHEMA], "userName": "u", "title": "Top",
        "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Hoisted", "userName": "other"}
    }))
    .unwrap();
    assert_eq!(doc["title"], "Top");
    assert_eq!(doc["userName"], "u");
    // URN-prefixed core keys.
    let doc = from_request(json!({"schemas": [USER_SCHEMA],
        "urn:ietf:params:scim:schemas:core:2.0:User:userName": "p",
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName": "G"}))
    .unwrap();
    assert_eq!(doc["userName"], "p");
    assert_eq!(doc["name"]["givenName"], "G");
    // Dotted key on a non-object is a clear error.
    bad(json!({"schemas": [USER_SCHEMA], "userName": "u", "title": "x", "title.sub": "y"}));
}

#[test]
fn enterprise_extension_stored_under_urn() {
    let doc = from_request(json!({
        "schemas": [USER_SCHEMA],
        "userName": "u",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "EMPLOYEENUMBER": "7"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m1",
        "costCenter": "CC"
    }))
    .unwrap();
    assert_eq!(
        doc[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Eng", "employeeNumber": "7", "manager": {"value": "m1"}, "costCenter": "CC"})
    );
    // An unqualified enterprise name is folded into the extension.
    assert!(doc.get("costCenter").is_none());
    let r = render("id1", &doc, &meta(), "https://h/scim/v2");
    assert_eq!(r["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
}

#[test]
fn canonical_names_and_unknown_attributes_kept() {
    let doc = from_request(
        json!({"schemas": [USER_SCHEMA], "USERNAME": "u", "Name": {"GIVENNAME": "g"},
        "favouriteColour": "blue"}),
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({"userName": "u", "name": {"givenName": "g"}, "favouriteColour": "blue", "active": true})
    );
}

#[test]
fn normalised_doc_is_a_fixed_point() {
    let doc = from_request(
        json!({"schemas": [USER_SCHEMA], "userName": "u", "active": "true",
        "emails": [{"value": "A@b.c", "type": "work", "primary": true}],
        "custom_fields.x": 1}),
    )
    .unwrap();
    let mut again = doc.clone();
    again["schemas"] = json!([USER_SCHEMA]);
    assert_eq!(from_request(again).unwrap(), doc);
    validate(&doc).unwrap();
}

fn meta() -> Meta {
    Meta {
        created: "2024-01-01T00:00:00Z".into(),
        last_modified: "2024-01-02T00:00:00Z".into(),
        version: 3,
    }
}

#[test]
fn render_full_resource() {
    let doc =
        from_request(json!({"schemas": [USER_SCHEMA], "userName": "u", "title": "T"})).unwrap();
    let r = render("abc", &doc, &meta(), "https://h/scim/v2/");
    assert_eq!(
        r,
        json!({
            "schemas": [USER_SCHEMA],
            "id": "abc",
            "userName": "u",
            "title": "T",
            "active": true,
            "groups": [],
            "meta": {
                "resourceType": "User",
                "created": "2024-01-01T00:00:00Z",
                "lastModified": "2024-01-02T00:00:00Z",
                "location": "https://h/scim/v2/Users/abc",
                "version": "W/\"3\""
            }
        })
    );
    validate(&r).unwrap();
}

#[test]
fn etags_and_if_match() {
    assert_eq!(etag(7), "W/\"7\"");
    assert!(if_match_ok("W/\"7\"", 7));
    assert!(if_match_ok("\"7\"", 7));
    assert!(if_match_ok("*", 7));
    assert!(if_match_ok("W/\"1\", W/\"7\"", 7));
    assert!(if_match_ok(" 7 ", 7));
    assert!(!if_match_ok("W/\"6\"", 7));
    assert!(!if_match_ok("W/\"17\"", 7));
    assert!(!if_match_ok("", 7));
}

/// Microsoft Entra's create: `"active": "True"`, the manager as a plain
/// string id inside the enterprise object, a capitalised `Department`,
/// `null` members, `meta` and empty `roles`.
#[test]
fn entra_create_body_manager_string_and_string_boolean() {
    let doc = from_request(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa@testuser.com",
        "active": "True",
        "meta": {"resourceType": "User"},
        "roles": [],
        "addresses": null,
        ENTERPRISE_USER_SCHEMA: {"Department": "some department", "manager": "123456", "costCenter": null}
    }))
    .unwrap();
    assert_eq!(doc["active"], true);
    assert!(doc.get("roles").is_none() && doc.get("addresses").is_none());
    assert_eq!(
        doc[ENTERPRISE_USER_SCHEMA],
        json!({"department": "some department", "manager": {"value": "123456"}})
    );
    // The old docs' wrapped form, and an empty id (unassigned).
    for (manager, want) in [
        (
            json!([{"$ref": null, "value": "9"}]),
            json!({"manager": {"value": "9"}}),
        ),
        (json!(""), Value::Null),
        (json!([]), Value::Null),
    ] {
        let doc = from_request(json!({"schemas": [USER_SCHEMA], "userName": "u",
            ENTERPRISE_USER_SCHEMA: {"manager": manager}}))
        .unwrap();
        assert_eq!(doc[ENTERPRISE_USER_SCHEMA], want, "{manager}");
    }
    // Anything else is still a clear 400.
    let d = bad(json!({"schemas": [USER_SCHEMA], "userName": "u",
        ENTERPRISE_USER_SCHEMA: {"manager": 5}}));
    assert!(d.contains("manager"), "{d}");
}

/// The create body of Microsoft's SCIM tutorial ("Example 2"), verbatim:
/// the enterprise URN misspelt in `schemas`, unqualified enterprise names
/// and nulls for every unmapped attribute.
#[test]
fn entra_tutorial_example_2_create() {
    let doc = from_request(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": true,
        "addresses": null,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": null,
        "preferredLanguage": null,
        "title": null,
        "department": null,
        "manager": null
    }))
    .unwrap();
    assert_eq!(
        doc,
        json!({"externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
            "name": {"familyName": "Young", "givenName": "Joy"}})
    );
    // Only that misspelling: another unknown URN is still refused.
    bad(
        json!({"schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.1:User"],
        "userName": "u"}),
    );
}
