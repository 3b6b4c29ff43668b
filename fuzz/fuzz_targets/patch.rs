//! Fuzz target: the PATCH engine (`ingress::scim::patch::apply_with_id` on
//! a User, `ingress::scim::group::apply_patch` on a Group), on any JSON.
//!
//! The input is a PatchOp body, applied to a fixed Okta-like and a fixed
//! Entra-like User and to a Group; or `[user, patch]`, where `user` is
//! first decoded as a POST body (skipped if refused).
//!
//! Properties: nothing panics; a refusal is a 4xx and leaves the document
//! untouched (PATCH is atomic); an accepted PATCH leaves a User the input
//! path (`user::from_request`) would store unchanged — the same bounds
//! (`MAX_VALUES`) and checks — and a Group within `MAX_MEMBERS` and
//! `MAX_NAME_CHARS`.
#![no_main]

use std::sync::OnceLock;

use bridge_fuzz as common;
use ingress::scim::group::{self, GroupDoc, GroupState};
use ingress::scim::{patch, user};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Value::Array(pair) = &input {
        if let [body, p] = pair.as_slice() {
            if let Ok(doc) = user::from_request(body.clone()) {
                patch_user(&doc, p);
            }
            return;
        }
    }
    for doc in users() {
        patch_user(doc, &input);
    }
    let before = base_group();
    match group::apply_patch(&before, &input, "g-1") {
        Ok(after) => common::check_group(&after),
        Err(e) => common::assert_4xx(&e),
    }
});

fn patch_user(doc: &Value, p: &Value) {
    let mut work = doc.clone();
    match patch::apply_with_id(&mut work, p, "u-1") {
        Ok(()) => common::check_stored_user(&work),
        Err(e) => {
            common::assert_4xx(&e);
            assert_eq!(&work, doc, "a refused PATCH changed the document");
        }
    }
}

/// Stored Users as an Okta and an Entra create leave them.
fn users() -> &'static [Value] {
    static U: OnceLock<Vec<Value>> = OnceLock::new();
    U.get_or_init(|| {
        let okta = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jo.young@example.com",
            "name": {"givenName": "Jo", "familyName": "Young"},
            "emails": [{"primary": true, "value": "jo.young@example.com", "type": "work"}],
            "displayName": "Jo Young",
            "locale": "en-US",
            "externalId": "00u1abcd2EFGH3ijk4l5",
            "groups": [],
            "password": "not-stored",
            "active": true
        });
        let entra = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "8d1c7f5e-2c1b-4c5a-9a55-1d2e3f4a5b6c",
            "userName": "sam@contoso.example",
            "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "sam@contoso.example"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Sam Ng", "familyName": "Ng", "givenName": "Sam"},
            "roles": [],
            "title": "Site engineer",
            "phoneNumbers": [
                {"type": "mobile", "primary": false, "value": "312-320-1707"},
                {"type": "work", "primary": true, "value": "312-320-0932"}
            ],
            "addresses": [{"type": "work", "locality": "Redmond"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Engineering",
                "manager": "m-1",
                "employeeNumber": "E-1001",
                "costCenter": "CC-42",
                "organization": "Contoso",
                "division": "R&D"
            }
        });
        [okta, entra]
            .into_iter()
            .filter_map(|b| user::from_request(b).ok())
            .collect()
    })
}

fn base_group() -> GroupState {
    GroupState {
        doc: GroupDoc {
            display_name: "Staff".into(),
            external_id: Some("00g1".into()),
        },
        members: [
            ("u-1".to_owned(), "Jo Young".to_owned()),
            ("u-2".to_owned(), String::new()),
        ]
        .into_iter()
        .collect(),
    }
}
