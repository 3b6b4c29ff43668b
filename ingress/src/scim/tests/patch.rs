//! PATCH engine: RFC 7644 §3.5.2 semantics plus Okta / Entra quirks.

use serde_json::{json, Value};

use crate::scim::patch::{apply, apply_with_id};
use crate::scim::path;
use crate::scim::user::from_request;
use crate::scim::{ScimType, ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA};

fn stored() -> Value {
    from_request(json!({
        "schemas": [USER_SCHEMA],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "active": true
    }))
    .unwrap()
}

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn ok(doc: &Value, patch: Value) -> Value {
    let mut d = doc.clone();
    apply(&mut d, &patch).unwrap_or_else(|e| panic!("{patch}: {e}"));
    d
}

fn fails(doc: &Value, patch: Value, t: ScimType) -> String {
    let mut d = doc.clone();
    let e = apply(&mut d, &patch).expect_err(&patch.to_string());
    assert_eq!(e.status, 400, "{patch}");
    assert_eq!(e.scim_type, Some(t), "{patch}: {}", e.detail);
    assert_eq!(&d, doc, "input changed on error");
    e.detail
}

#[test]
fn okta_deactivate_and_reactivate() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {"active": false}}])),
    );
    assert_eq!(d["active"], false);
    let d = ok(
        &d,
        ops(json!([{"op": "replace", "value": {"active": true}}])),
    );
    assert_eq!(d, stored());
}

#[test]
fn path_replace_and_string_booleans_and_op_case() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    );
    assert_eq!(d["active"], false);
    let d = ok(
        &d,
        ops(json!([{"op": "REPLACE", "path": "ACTIVE", "value": "TRUE"}])),
    );
    assert_eq!(d["active"], true);
}

#[test]
fn patch_without_schemas_accepted_wrong_schemas_rejected() {
    let d = ok(
        &stored(),
        json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
    );
    assert_eq!(d["active"], false);
    fails(
        &stored(),
        json!({"schemas": [USER_SCHEMA], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        ScimType::InvalidSyntax,
    );
    fails(
        &stored(),
        json!({"schemas": PATCH_OP_SCHEMA, "Operations": []}),
        ScimType::InvalidSyntax,
    );
}

#[test]
fn envelope_errors() {
    let d = stored();
    fails(
        &d,
        json!({"schemas": [PATCH_OP_SCHEMA]}),
        ScimType::InvalidSyntax,
    );
    fails(&d, ops(json!([])), ScimType::InvalidSyntax);
    fails(
        &d,
        json!({"Operations": {"op": "add"}}),
        ScimType::InvalidSyntax,
    );
    fails(&d, json!([]), ScimType::InvalidSyntax);
    fails(&d, ops(json!(["add"])), ScimType::InvalidSyntax);
    fails(
        &d,
        ops(json!([{"op": "move", "path": "title", "value": "x"}])),
        ScimType::InvalidSyntax,
    );
    fails(
        &d,
        ops(json!([{"path": "title", "value": "x"}])),
        ScimType::InvalidSyntax,
    );
    fails(
        &d,
        ops(json!([{"op": "add", "path": "title"}])),
        ScimType::InvalidSyntax,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "value": "x"}])),
        ScimType::InvalidSyntax,
    );
    fails(
        &d,
        ops(json!([{"op": "add", "path": 5, "value": "x"}])),
        ScimType::InvalidPath,
    );
}

#[test]
fn remove_needs_a_path() {
    fails(
        &stored(),
        ops(json!([{"op": "remove"}])),
        ScimType::NoTarget,
    );
    fails(
        &stored(),
        ops(json!([{"op": "remove", "path": USER_SCHEMA}])),
        ScimType::NoTarget,
    );
}

#[test]
fn pathless_value_decided_by_key_presence() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {
            "name.givenName": "Another",
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Boss",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Eng",
            "emails[type eq \"work\"].value": "new@okta.local",
            "urn:ietf:params:scim:schemas:core:2.0:User": {"locale": "en-US"}
        }}])),
    );
    assert_eq!(
        d["name"],
        json!({"givenName": "Another", "familyName": "User"})
    );
    assert_eq!(d["title"], "Boss");
    assert_eq!(d["locale"], "en-US");
    assert_eq!(d[ENTERPRISE_USER_SCHEMA]["department"], "Eng");
    assert_eq!(
        d["emails"],
        json!([{"primary": true, "value": "new@okta.local", "type": "work"}])
    );
}

#[test]
fn replace_complex_merges_sub_attributes() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "path": "name", "value": {"givenName": "X"}}])),
    );
    assert_eq!(d["name"], json!({"givenName": "X", "familyName": "User"}));
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {"name": {"familyName": "Y"}}}])),
    );
    assert_eq!(d["name"], json!({"givenName": "Test", "familyName": "Y"}));
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "path": "name.givenName", "value": "Z"}])),
    );
    assert_eq!(d["name"]["givenName"], "Z");
}

#[test]
fn multi_valued_add_replace_remove() {
    let d = ok(
        &stored(),
        ops(
            json!([{"op": "add", "path": "emails", "value": [{"value": "home@x.io", "type": "home"}]}]),
        ),
    );
    assert_eq!(d["emails"].as_array().unwrap().len(), 2);
    // Adding the same value again is a no-op.
    let again = ok(
        &d,
        ops(
            json!([{"op": "add", "path": "emails", "value": {"value": "home@x.io", "type": "home"}}]),
        ),
    );
    assert_eq!(again, d);
    let r = ok(
        &d,
        ops(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.io"}]}])),
    );
    assert_eq!(r["emails"], json!([{"value": "only@x.io"}]));
    let r = ok(
        &d,
        ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
    );
    assert_eq!(r, stored());
    let r = ok(&d, ops(json!([{"op": "remove", "path": "emails"}])));
    assert!(r.get("emails").is_none());
    let r = ok(
        &d,
        ops(json!([{"op": "remove", "path": "emails", "value": [{"value": "home@x.io"}]}])),
    );
    assert_eq!(r, stored());
}

#[test]
fn value_filter_paths_create_the_element() {
    let d = ok(
        &stored(),
        ops(json!([
            {"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-1"},
            {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Paris"},
            {"op": "replace", "path": "addresses[type eq \"work\"].country", "value": "FR"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555-2"}
        ])),
    );
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "work", "value": "555-1"}, {"type": "mobile", "value": "555-2"}])
    );
    assert_eq!(
        d["addresses"],
        json!([{"type": "work", "locality": "Paris", "country": "FR"}])
    );
    // Existing element is updated, not duplicated.
    let d2 = ok(
        &d,
        ops(
            json!([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-9"}]),
        ),
    );
    assert_eq!(
        d2["phoneNumbers"][0],
        json!({"type": "work", "value": "555-9"})
    );
    // A filter that does not pin the element cannot create it.
    fails(
        &stored(),
        ops(
            json!([{"op": "replace", "path": "phoneNumbers[value co \"5\"].type", "value": "work"}]),
        ),
        ScimType::NoTarget,
    );
    // Filter without sub-attribute, object value.
    let d3 = ok(
        &stored(),
        ops(
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x.io", "primary": true}}]),
        ),
    );
    assert_eq!(
        d3["emails"],
        json!([{"type": "work", "value": "w@x.io", "primary": true}])
    );
}

#[test]
fn null_value_unassigns() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": null}])),
    );
    assert!(d.get("emails").is_none());
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {"displayName": null}}])),
    );
    assert!(d.get("displayName").is_none());
}

#[test]
fn remove_of_nothing_is_a_no_op() {
    let d = stored();
    assert_eq!(
        ok(
            &d,
            ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]))
        ),
        d
    );
    assert_eq!(ok(&d, ops(json!([{"op": "remove", "path": "title"}]))), d);
    assert_eq!(
        ok(
            &d,
            ops(json!([{"op": "remove", "path": "custom_fields.nope"}]))
        ),
        d
    );
    assert_eq!(
        ok(
            &d,
            ops(
                json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}])
            )
        ),
        d
    );
}

#[test]
fn read_only_attributes() {
    let d = stored();
    fails(
        &d,
        ops(json!([{"op": "replace", "value": {"meta": {"resourceType": "User"}}}])),
        ScimType::Mutability,
    );
    fails(
        &d,
        ops(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
        ScimType::Mutability,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "value": {"groups": []}}])),
        ScimType::Mutability,
    );
    fails(
        &d,
        ops(json!([{"op": "remove", "path": "meta.created"}])),
        ScimType::Mutability,
    );
    // id: equal → ignored, different → mutability (when the id is known).
    let mut x = d.clone();
    apply_with_id(
        &mut x,
        &ops(json!([{"op": "replace", "value": {"id": "abc", "displayName": "N"}}])),
        "abc",
    )
    .unwrap();
    assert_eq!(x["displayName"], "N");
    assert!(x.get("id").is_none());
    let mut y = d.clone();
    let e = apply_with_id(
        &mut y,
        &ops(json!([{"op": "replace", "value": {"id": "other"}}])),
        "abc",
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    assert_eq!(y, d);
    // Rendered form carries its id.
    let mut r = d.clone();
    r["id"] = json!("abc");
    let e = apply(
        &mut r,
        &ops(json!([{"op": "replace", "path": "id", "value": "zzz"}])),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    apply(
        &mut r,
        &ops(json!([{"op": "replace", "path": "id", "value": "abc"}])),
    )
    .unwrap();
    assert_eq!(r["id"], "abc");
}

#[test]
fn password_silently_dropped() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {"password": "s3cret", "title": "T"}}])),
    );
    assert!(!d.to_string().contains("s3cret"));
    assert_eq!(d["title"], "T");
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "path": "password", "value": "s3cret"}])),
    );
    assert_eq!(d, stored());
}

#[test]
fn custom_fields_paths() {
    let d = ok(
        &stored(),
        ops(json!([
            {"op": "add", "path": "custom_fields.designation_id", "value": 42},
            {"op": "replace", "value": {"custom_fields.cost_center": "CC", "custom_fields": {"remote": true}}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:custom_fields.level", "value": "L3"}
        ])),
    );
    assert_eq!(
        d["custom_fields"],
        json!({"designation_id": 42, "cost_center": "CC", "remote": true, "level": "L3"})
    );
    let d = ok(
        &d,
        ops(json!([{"op": "remove", "path": "custom_fields.cost_center"}])),
    );
    assert!(d["custom_fields"].get("cost_center").is_none());
    let d = ok(
        &d,
        ops(json!([{"op": "replace", "value": {"custom_fields.level": null}}])),
    );
    assert!(d["custom_fields"].get("level").is_none());
}

#[test]
fn enterprise_paths() {
    let d = ok(
        &stored(),
        ops(json!([
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Eng"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "C1", "manager": {"value": "m"}}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m2"}
        ])),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Eng", "costCenter": "C1", "manager": {"value": "m2"}})
    );
    let d = ok(
        &d,
        ops(json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA}])),
    );
    assert_eq!(d, stored());
    fails(
        &stored(),
        ops(
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope", "value": "x"}]),
        ),
        ScimType::InvalidPath,
    );
}

#[test]
fn primary_moves_to_the_new_value() {
    let d = ok(
        &stored(),
        ops(
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.io", "type": "home", "primary": true}]}]),
        ),
    );
    assert_eq!(d["emails"][0]["primary"], false);
    assert_eq!(d["emails"][1]["primary"], true);
}

#[test]
fn invalid_paths_and_values() {
    let d = stored();
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "name.nickname", "value": "x"}])),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "urn:example:x:foo", "value": "x"}])),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "emails[type eq \"work\"].nope", "value": "x"}])),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}])),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "userName", "value": ""}])),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        ops(json!([{"op": "remove", "path": "userName"}])),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "path": "name", "value": "flat"}])),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        ops(json!([{"op": "replace", "value": {"schemas": ["urn:x"]}}])),
        ScimType::InvalidValue,
    );
}

#[test]
fn atomic_on_error_in_a_later_operation() {
    let d = stored();
    fails(
        &d,
        ops(json!([
            {"op": "replace", "value": {"active": false, "title": "changed"}},
            {"op": "replace", "path": "meta", "value": {}}
        ])),
        ScimType::Mutability,
    );
}

#[test]
fn unknown_top_level_attribute_is_kept_like_post() {
    let d = ok(
        &stored(),
        ops(json!([{"op": "add", "path": "favouriteColour", "value": "blue"}])),
    );
    assert_eq!(d["favouriteColour"], "blue");
}

#[test]
fn okta_member_filter_path_parses() {
    let p = path::parse_for(
        crate::scim::schema::Resource::Group,
        "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]",
    )
    .unwrap();
    assert_eq!(p.attr.as_deref(), Some("members"));
    let f = p.filter.unwrap();
    assert!(f.matches(&json!({"value": "89bb1940-b905-4575-9e7f-6f887cfb368e"})));
    assert!(!f.matches(&json!({"value": "other"})));
    // Whitespace and case variations.
    assert!(path::parse_for(
        crate::scim::schema::Resource::Group,
        " Members[ VALUE  EQ \"x\" ] "
    )
    .is_ok());
    // A `]` inside the quoted value does not close the filter.
    let p = path::parse("emails[value eq \"a]b\"].type").unwrap();
    assert_eq!(p.sub.as_deref(), Some("type"));
}

#[test]
fn no_change_patch_leaves_doc_equal() {
    // Okta resends the rename-style value with every change: same values → identical doc,
    // so the handler can skip the write.
    let d = ok(
        &stored(),
        ops(json!([{"op": "replace", "value": {"displayName": "Test User", "active": true}}])),
    );
    assert_eq!(d, stored());
}

/// Microsoft Entra's manager follow-up sends the manager's id as a plain
/// string (captured: `{"op":"Add","path":"…:User:manager","value":"271"}`);
/// the validator sends `{"value": …}`, old Microsoft samples a wrapped
/// list. All end as `manager.value`, and `Remove` clears it.
#[test]
fn entra_manager_as_string_object_or_list() {
    let manager = format!("{ENTERPRISE_USER_SCHEMA}:manager");
    let d = ok(
        &stored(),
        ops(json!([{"op": "Add", "path": manager, "value": "271"}])),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "271"}})
    );
    // A new id replaces the whole reference (no stale `$ref` or displayName).
    let with_ref = ok(
        &stored(),
        ops(
            json!([{"op": "add", "path": manager, "value": {"value": "1", "$ref": "../Users/1", "displayName": "One"}}]),
        ),
    );
    let d = ok(
        &with_ref,
        ops(json!([{"op": "Replace", "path": manager, "value": "272"}])),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "272"}})
    );
    let d = ok(
        &d,
        ops(json!([{"op": "Add", "path": manager, "value": [{"$ref": null, "value": "273"}]}])),
    );
    assert_eq!(d[ENTERPRISE_USER_SCHEMA]["manager"]["value"], "273");
    // Path-less, and inside the extension object, the same.
    let d = ok(
        &d,
        ops(json!([{"op": "replace", "value": {(manager.as_str()): "274"}}])),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "274"}})
    );
    let d = ok(
        &d,
        ops(
            json!([{"op": "replace", "path": ENTERPRISE_USER_SCHEMA, "value": {"manager": "275", "department": "Eng"}}]),
        ),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "275"}, "department": "Eng"})
    );
    // Remove (the validator's) clears it and keeps the rest.
    let d = ok(&d, ops(json!([{"op": "Remove", "path": manager}])));
    assert_eq!(d[ENTERPRISE_USER_SCHEMA], json!({"department": "Eng"}));
    // An empty id unassigns; a number or a nested list is still refused.
    let d = ok(
        &with_ref,
        ops(json!([{"op": "Replace", "path": manager, "value": ""}])),
    );
    assert!(d.get(ENTERPRISE_USER_SCHEMA).is_none(), "{d}");
    fails(
        &stored(),
        ops(json!([{"op": "Add", "path": manager, "value": 271}])),
        ScimType::InvalidValue,
    );
    fails(
        &stored(),
        ops(json!([{"op": "Add", "path": manager, "value": [["271"]]}])),
        ScimType::InvalidValue,
    );
}

/// Entra's default-mode update: capitalised ops, value paths on elements
/// that do not exist yet, URN-colon extension paths, a string boolean;
/// and flag mode's path-less op with dotted keys.
#[test]
fn entra_default_and_flag_mode_updates() {
    let d = ok(
        &stored(),
        ops(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x.example"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "312-320-1707"},
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R"},
            {"op": "Replace", "path": "active", "value": "False"}
        ])),
    );
    assert_eq!(d["emails"][0]["value"], "new@x.example");
    assert_eq!(d["emails"][0]["primary"], true);
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "mobile", "value": "312-320-1707"}])
    );
    assert_eq!(
        d["addresses"],
        json!([{"type": "work", "streetAddress": "1 Way", "locality": "Redmond"}])
    );
    assert_eq!(d[ENTERPRISE_USER_SCHEMA], json!({"department": "R"}));
    assert_eq!(d["active"], false);
    let d = ok(
        &d,
        ops(json!([{"op": "Replace", "value": {
            "name.givenName": "Kkom",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
            "active": "True"
        }}])),
    );
    assert_eq!(
        d["name"],
        json!({"givenName": "Kkom", "familyName": "User"})
    );
    assert_eq!(d[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "Aklq");
    assert_eq!(d["active"], true);
    assert!(d.get("name.givenName").is_none());
}

/// Microsoft's SCIM tutorial "Example 5", verbatim: `Add` on the
/// unqualified `manager` with a wrapped `$ref`/`value` list.
#[test]
fn entra_tutorial_example_5_manager_update() {
    let d = ok(
        &stored(),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "manager", "value": [{
                "$ref": "http://.../scim/Users/2819c223-7f76-453a-919d-413861904646",
                "value": "2819c223-7f76-453a-919d-413861904646"}]}]}),
    );
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"$ref": "http://.../scim/Users/2819c223-7f76-453a-919d-413861904646",
            "value": "2819c223-7f76-453a-919d-413861904646"}})
    );
    assert!(
        d.get("manager").is_none(),
        "under the extension, not top-level"
    );
}

/// Regression (found by `fuzz/`, target `filter`): a path whose URN prefix
/// ends inside a multi-byte character panicked on a byte slice in
/// `schema::split_urn`; it is an unknown URN, a 400.
#[test]
fn path_with_multibyte_char_across_the_urn_end_is_refused() {
    let text = format!(
        "{}Us \u{C88E}",
        &ENTERPRISE_USER_SCHEMA[..ENTERPRISE_USER_SCHEMA.len() - 4]
    );
    assert!(
        text.get(..ENTERPRISE_USER_SCHEMA.len()).is_none(),
        "the case needs a straddling char"
    );
    let e = path::parse(&text).unwrap_err();
    assert_eq!(e.status, 400, "{}", e.detail);
    let mut doc = stored();
    let e = apply(
        &mut doc,
        &ops(json!([{"op": "add", "path": text, "value": "x"}])),
    )
    .unwrap_err();
    assert_eq!(e.status, 400, "{}", e.detail);
    let e = apply(&mut doc, &ops(json!([{"op": "add", "value": {text: "x"}}]))).unwrap_err();
    assert_eq!(e.status, 400, "{}", e.detail);
}
