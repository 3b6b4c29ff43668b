//! List parameters, projection and the ListResponse envelope.

use serde_json::json;

use crate::scim::list::{list_response, parse_list_params, parse_list_params_for, project};
use crate::scim::schema::Resource;
use crate::scim::{ScimType, LIST_RESPONSE_SCHEMA};

#[test]
fn okta_queries() {
    let p = parse_list_params("startIndex=1&count=2", 200).unwrap();
    assert_eq!((p.start_index, p.count), (1, 2));
    assert!(p.filter.is_none());
    let p = parse_list_params(
        "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        200,
    )
    .unwrap();
    let f = p.filter.unwrap();
    assert!(f.matches(&json!({"userName": "Test.User@okta.local"})));
    assert_eq!(p.count, 100);
    let p = parse_list_params("filter=userName+eq+%22a%2Bb%40x%22", 200).unwrap();
    assert!(p.filter.unwrap().matches(&json!({"userName": "a+b@x"})));
}

#[test]
fn defaults_and_clamping() {
    let p = parse_list_params("", 200).unwrap();
    assert_eq!((p.start_index, p.count), (1, 200));
    let p = parse_list_params("startIndex=0&count=-5", 200).unwrap();
    assert_eq!((p.start_index, p.count), (1, 0));
    let p = parse_list_params("startIndex=-3&count=5000", 200).unwrap();
    assert_eq!((p.start_index, p.count), (1, 200));
    let p = parse_list_params(
        "STARTINDEX=101&Count=0&sortBy=userName&sortOrder=descending",
        200,
    )
    .unwrap();
    assert_eq!((p.start_index, p.count), (101, 0));
    let p = parse_list_params("count=99999999999999999999999", 200).unwrap();
    assert_eq!(p.count, 200);
    let p = parse_list_params("count=&filter=", 200).unwrap();
    assert_eq!(p.count, 200);
    assert!(p.filter.is_none());
}

#[test]
fn bad_params() {
    for q in [
        "count=abc",
        "startIndex=1.5",
        "count=1e3",
        "startIndex=%20x",
    ] {
        let e = parse_list_params(q, 200).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{q}");
    }
    let e = parse_list_params("filter=nope%20eq%20%22x%22", 200).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert!(
        parse_list_params_for(Resource::Group, "filter=displayName%20eq%20%22x%22", 200).is_ok()
    );
    assert!(parse_list_params_for(
        Resource::Group,
        "filter=members%5Bvalue%20eq%20%22x%22%5D",
        200
    )
    .is_ok());
}

#[test]
fn attributes_lists() {
    let p = parse_list_params(
        "attributes=userName,%20name.givenName&excludedAttributes=emails",
        200,
    )
    .unwrap();
    assert_eq!(p.attributes, vec!["userName", "name.givenName"]);
    assert_eq!(p.excluded_attributes, vec!["emails"]);
}

fn resource() -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "1",
        "userName": "u",
        "name": {"givenName": "G", "familyName": "F"},
        "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "division": "D"},
        "groups": [],
        "meta": {"resourceType": "User"}
    })
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

#[test]
fn projection_attributes() {
    let r = project(
        resource(),
        &s(&[
            "NAME.givenName",
            "emails.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ]),
        &[],
    );
    assert_eq!(
        r,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "1",
            "userName": "u",
            "name": {"givenName": "G"},
            "emails": [{"value": "a@x"}, {"value": "b@x"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"},
            "meta": {"resourceType": "User"}
        })
    );
    let r = project(
        resource(),
        &s(&["urn:ietf:params:scim:schemas:core:2.0:User:active"]),
        &[],
    );
    assert_eq!(r["active"], true);
    assert!(r.get("name").is_none());
    let r = project(
        resource(),
        &s(&["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]),
        &[],
    );
    assert_eq!(
        r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["division"],
        "D"
    );
}

#[test]
fn projection_excluded() {
    let r = project(
        resource(),
        &[],
        &s(&[
            "emails",
            "name.familyName",
            "id",
            "userName",
            "meta",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
        ]),
    );
    assert!(r.get("emails").is_none());
    assert_eq!(r["name"], json!({"givenName": "G"}));
    assert_eq!(r["id"], "1");
    assert_eq!(r["userName"], "u");
    assert!(r.get("meta").is_some());
    assert_eq!(
        r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"department": "Eng"})
    );
    assert_eq!(project(resource(), &[], &[]), resource());
}

#[test]
fn envelope_has_integers() {
    let l = list_response(250, 101, vec![json!({"id": "a"})]);
    assert_eq!(
        l,
        json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 250, "startIndex": 101, "itemsPerPage": 1, "Resources": [{"id": "a"}]})
    );
    let empty = list_response(0, 1, vec![]);
    assert_eq!(empty["Resources"], json!([]));
    assert_eq!(empty["itemsPerPage"], 0);
}
