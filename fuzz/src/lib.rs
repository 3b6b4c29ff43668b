//! Checks the fuzz targets (`fuzz_targets/`) share: the properties every
//! stored User and Group must have, whichever path (decoder or PATCH)
//! produced it. A failed check panics, which libFuzzer reports as a crash.

use ingress::scim::error::ScimError;
use ingress::scim::group::{GroupDoc, GroupState, MAX_MEMBERS, MAX_NAME_CHARS};
use ingress::scim::user::{self, Meta, MAX_VALUES};
use serde_json::{json, Value};

/// A refusal is the client's fault (4xx), never a 5xx.
pub fn assert_4xx(e: &ScimError) {
    assert!(
        (400..500).contains(&e.status),
        "refused with {}: {}",
        e.status,
        e.detail
    );
}

/// Every array in a stored User, top level and inside objects (the
/// enterprise extension, `custom_fields`), holds at most `MAX_VALUES`.
pub fn assert_bounded(doc: &Value) {
    fn walk(v: &Value, depth: usize) {
        match v {
            Value::Array(items) => {
                assert!(
                    items.len() <= MAX_VALUES,
                    "an array of {} values was stored",
                    items.len()
                );
                if depth < 2 {
                    items.iter().for_each(|i| walk(i, depth + 1));
                }
            }
            Value::Object(m) if depth < 2 => m.values().for_each(|i| walk(i, depth + 1)),
            _ => {}
        }
    }
    walk(doc, 0);
}

/// What the input path demands of a stored User: valid, bounded, and a
/// fixed point of render → decode (the stored form lacks `schemas`, which
/// the decoder requires; the rendering adds it; Okta builds every PUT from
/// our GET, `ingress/src/scim/user.rs`).
pub fn check_stored_user(doc: &Value) {
    if let Err(e) = user::validate(doc) {
        panic!("a stored User fails validate: {} in {doc}", e.detail);
    }
    assert_bounded(doc);
    let _ = user::user_name_key(doc);
    let _ = user::email_keys(doc);
    let _ = user::external_id(doc);

    let mut want = doc.clone();
    if let Value::Object(m) = &mut want {
        // The decoder defaults `active` (a PATCH may have removed it).
        m.entry("active").or_insert(Value::Bool(true));
    }
    let meta = Meta {
        created: "2024-01-02T03:04:05Z".into(),
        last_modified: "2024-01-02T03:04:05Z".into(),
        version: 1,
    };
    let rendered = user::render("u-1", doc, &meta, "https://bridge.example/scim/v2");
    match user::from_request(rendered.clone()) {
        Ok(again) => assert_eq!(again, want, "GET-then-PUT of {doc} changed it"),
        Err(e) => panic!(
            "the rendering {rendered} is refused as a PUT body: {}",
            e.detail
        ),
    }
}

/// A Group's attributes are within their bounds and decode again.
pub fn check_group_doc(doc: &GroupDoc) {
    assert!(doc.display_name.chars().count() <= MAX_NAME_CHARS);
    if let Some(e) = &doc.external_id {
        assert!(e.chars().count() <= MAX_NAME_CHARS);
    }
    let mut body = doc.to_json();
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]);
    match ingress::scim::group::from_request(&body) {
        Ok(again) => assert_eq!(&again.doc, doc, "{body} decoded differently"),
        Err(e) => panic!("the group {body} is refused as a PUT body: {}", e.detail),
    }
}

/// A Group after a PATCH: its attributes as above, and at most
/// `MAX_MEMBERS` members.
pub fn check_group(g: &GroupState) {
    check_group_doc(&g.doc);
    assert!(g.members.len() <= MAX_MEMBERS);
}
