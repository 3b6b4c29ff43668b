//! The Group resource's pure core (`scim/group.rs`): what each of Okta's
//! and Entra's bodies makes of a group, and what is refused.

use serde_json::{json, Value};

use crate::scim::group::{
    apply_patch, from_request, replace, GroupDoc, GroupState, MemberDelta, Members,
    MAX_MEMBERS_PER_REQUEST,
};

fn state(name: &str, members: &[&str]) -> GroupState {
    GroupState {
        doc: GroupDoc {
            display_name: name.into(),
            external_id: None,
        },
        members: members
            .iter()
            .map(|m| (m.to_string(), String::new()))
            .collect(),
    }
}

fn ids(g: &GroupState) -> Vec<&str> {
    g.members.keys().map(String::as_str).collect()
}

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[test]
fn okta_rename_with_its_own_id_is_a_rename_and_the_same_name_is_no_change() {
    let g = state("Sales", &["a"]);
    let same = apply_patch(
        &g,
        &ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Sales"}}])),
        "g1",
    )
    .unwrap();
    assert_eq!(same, g);
    let renamed = apply_patch(
        &g,
        &ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Sales EU"}}])),
        "g1",
    )
    .unwrap();
    assert_eq!(renamed.doc.display_name, "Sales EU");
    assert_eq!(ids(&renamed), ["a"]);
    // Okta's body may lack `schemas` (docs/identity-providers.md).
    let bare = json!({"Operations": [{"op": "replace", "value": {"displayName": "X"}}]});
    assert_eq!(apply_patch(&g, &bare, "g1").unwrap().doc.display_name, "X");
}

#[test]
fn member_operations_in_okta_and_entra_shapes() {
    let g = state("G", &["a", "b", "c"]);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!([{"op": "add", "path": "members", "value": [{"value": "d", "display": "d@x"}]}]),
            vec!["a", "b", "c", "d"],
        ),
        (
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "a"}]}]),
            vec!["a", "b", "c"],
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"b\"]"}]),
            vec!["a", "c"],
        ),
        (
            json!([{"op": "remove", "path": "members[ value EQ \"b\" ]"}]),
            vec!["a", "c"],
        ),
        (
            json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": "zz"}]}]),
            vec!["b", "c"],
        ),
        (json!([{"op": "remove", "path": "members"}]), vec![]),
        (
            json!([{"op": "replace", "path": "members", "value": [{"value": "z"}]}]),
            vec!["z"],
        ),
        (
            json!([{"op": "replace", "path": "members", "value": []}]),
            vec![],
        ),
        (
            json!([{"op": "replace", "value": {"members": [{"value": "y"}]}}]),
            vec!["y"],
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"b\"]"},
                {"op": "add", "path": "members", "value": [{"value": "e"}]}]),
            vec!["a", "c", "e"],
        ),
    ];
    for (body, want) in cases {
        let next =
            apply_patch(&g, &ops(body.clone()), "g1").unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!(ids(&next), want, "{body}");
    }
}

#[test]
fn refusals_name_what_is_wrong() {
    let g = state("G", &["a"]);
    let too_many: Vec<Value> = (0..=MAX_MEMBERS_PER_REQUEST)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let cases = [
        (
            json!([{"op": "add", "path": "members", "value": too_many}]),
            "at most 1000 members",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [{"value": "g2", "type": "Group"}]}]),
            "not groups",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
            "\"value\"",
        ),
        (
            json!([{"op": "add", "path": "members", "value": "a"}]),
            "list",
        ),
        (json!([{"op": "remove", "path": "displayName"}]), "required"),
        (json!([{"op": "replace", "value": {"id": "other"}}]), "id"),
        (
            json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": []}]),
            "only remove",
        ),
        (
            json!([{"op": "replace", "path": "displayName", "value": 7}]),
            "string",
        ),
        (json!([{"op": "move", "path": "members"}]), "unknown op"),
    ];
    for (body, says) in cases {
        let e = apply_patch(&g, &ops(body.clone()), "g1").expect_err(&body.to_string());
        assert!(e.detail.contains(says), "{says:?} not in {:?}", e.detail);
        assert_eq!(e.status, 400, "{body}");
    }
}

#[test]
fn post_and_put_bodies() {
    let r = from_request(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": " Test SCIMv2 ", "externalId": "e1", "members": [{"value": "a", "display": "A"}]})).unwrap();
    assert_eq!(r.doc.display_name, "Test SCIMv2", "trimmed");
    assert_eq!(r.doc.external_id.as_deref(), Some("e1"));
    assert_eq!(r.members.as_ref().map(|m| m["a"].as_str()), Some("A"));
    // members absent: PUT keeps them; null or []: none.
    let absent = from_request(&json!({"displayName": "G"})).unwrap();
    assert_eq!(absent.members, None);
    let current = state("Old", &["a", "b"]);
    assert_eq!(ids(&replace(&current, absent).unwrap()), ["a", "b"]);
    let emptied = from_request(&json!({"displayName": "G", "members": null})).unwrap();
    assert_eq!(
        ids(&replace(&current, emptied).unwrap()),
        Vec::<&str>::new()
    );
    for (body, says) in [
        (json!({}), "required"),
        (json!({"displayName": ""}), "blank"),
        (json!({"displayName": "a\u{0}b"}), "control"),
        (json!({"displayName": "n".repeat(256)}), "at most 255"),
        (
            json!({"displayName": "G", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
            "Group",
        ),
        (json!([]), "object"),
    ] {
        let e = from_request(&body).expect_err(&body.to_string());
        assert!(e.detail.contains(says), "{says:?} not in {:?}", e.detail);
    }
}

#[test]
fn a_delta_puts_new_and_changed_members_and_removes_the_rest() {
    let from: Members = [("a", "A"), ("b", "B")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let to: Members = [("b", "B2"), ("c", "")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let d = MemberDelta::between(&from, &to);
    assert_eq!(d.put.keys().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(d.remove, ["a"]);
    assert_eq!(
        d.joining(&from).collect::<Vec<_>>(),
        ["c"],
        "b is already a member"
    );
    assert_eq!(MemberDelta::between(&to, &to), MemberDelta::default());
}
