//! Requester groups, requester fields, departments, locations and agents (`docs/freshservice.md` §3, §4, §8).

mod common;

use common::{body, verr, T};
use reqwest::Method;
use serde_json::{json, Value};

async fn member(t: &T, m: Method, g: u64, r: u64) -> reqwest::Response {
    t.req(m, &format!("/requester_groups/{g}/members/{r}"))
        .send()
        .await
        .unwrap()
}

// §4 Requester groups: CRUD; add member 200 (no body), remove 204, list members with `email`.
#[tokio::test]
async fn manual_group_crud_and_members() {
    let t = T::new().await;
    let r = t
        .post(
            "/requester_groups",
            json!({"name": "Branch Managers", "description": "BM"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let g = body(r).await["requester_group"].clone();
    assert_eq!(g["type"], "manual");
    assert_eq!(g["description"], "BM");
    let gid = g["id"].as_u64().unwrap();

    let ron = t.create(json!({"first_name": "Ronald", "last_name": "Weasley", "primary_email": "ronald.weasley@hogwarts.edu"})).await;
    let rid = ron["id"].as_u64().unwrap();
    let r = member(&t, Method::POST, gid, rid).await;
    assert_eq!(r.status(), 200);
    let r = body(t.get(&format!("/requester_groups/{gid}/members")).await).await;
    assert_eq!(
        r,
        json!({"requesters": [{"id": rid, "first_name": "Ronald", "last_name": "Weasley", "email": "ronald.weasley@hogwarts.edu"}]})
    );

    // Adding an existing member: open (`docs/freshservice.md` §4); 409 by default.
    let r = member(&t, Method::POST, gid, rid).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        body(r).await,
        verr(
            "requester_id",
            "[\"It should be a unique value\"]",
            "duplicate_value"
        )
    );

    // Adding an unknown requester → 404.
    assert_eq!(member(&t, Method::POST, gid, 999).await.status(), 404);

    let r = member(&t, Method::DELETE, gid, rid).await;
    assert_eq!(r.status(), 204);
    assert_eq!(member(&t, Method::DELETE, gid, rid).await.status(), 404);

    let r = t
        .put(
            &format!("/requester_groups/{gid}"),
            json!({"name": "Managers"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["requester_group"]["name"], "Managers");
    // type is read-only; name mandatory on create.
    let r = t
        .post(
            "/requester_groups",
            json!({"name": "X", "type": "rule_based"}),
        )
        .await;
    assert_eq!(
        body(r).await,
        verr(
            "type",
            "[\"Unexpected/invalid field in request\"]",
            "invalid_field"
        )
    );
    let r = t
        .post("/requester_groups", json!({"description": "no name"}))
        .await;
    assert_eq!(
        body(r).await,
        verr("name", "[\"It should be a/an String\"]", "missing_field")
    );

    let r = t.get(&format!("/requester_groups/{gid}")).await;
    assert_eq!(body(r).await["requester_group"]["id"], gid);
    assert_eq!(
        t.delete(&format!("/requester_groups/{gid}")).await.status(),
        204
    );
    assert_eq!(
        t.get(&format!("/requester_groups/{gid}")).await.status(),
        404
    );
    // The member still exists.
    assert_eq!(t.get(&format!("/requesters/{rid}")).await.status(), 200);
}

// §4: only manual groups can be updated or take members; rule_based → 400. Both types are listed.
#[tokio::test]
async fn rule_based_groups_take_no_members() {
    let t = T::new().await;
    let r = t
        .admin_post(
            "/requester_groups",
            json!({"name": "Auto", "type": "rule_based"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let gid = body(r).await["requester_group"]["id"].as_u64().unwrap();
    let rid = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com"}))
        .await["id"]
        .as_u64()
        .unwrap();
    let r = member(&t, Method::POST, gid, rid).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "invalid_value");
    assert_eq!(
        t.put(&format!("/requester_groups/{gid}"), json!({"name": "B"}))
            .await
            .status(),
        400
    );
    t.post("/requester_groups", json!({"name": "Manual"})).await;
    let r = body(t.get("/requester_groups").await).await;
    let types: Vec<&str> = r["requester_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["rule_based", "manual"]);
}

// §4 / S10: a deactivated requester cannot be added to a group.
#[tokio::test]
async fn deactivated_requester_cannot_join() {
    let t = T::new().await;
    let gid = body(t.post("/requester_groups", json!({"name": "G"})).await).await
        ["requester_group"]["id"]
        .as_u64()
        .unwrap();
    let rid = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com"}))
        .await["id"]
        .as_u64()
        .unwrap();
    t.delete(&format!("/requesters/{rid}")).await;
    assert_eq!(member(&t, Method::POST, gid, rid).await.status(), 400);
}

// §3 Requester fields: defaults plus custom fields with the documented attributes;
// language choices are an object code → name (§7).
#[tokio::test]
async fn requester_fields_list() {
    let t = T::new().await;
    let r = t.get("/requester_fields").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-used-currentrequest"], "1");
    let v = body(r).await;
    let fields = v["requester_fields"].as_array().unwrap();
    let by_name = |n: &str| {
        fields
            .iter()
            .find(|f| f["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
            .clone()
    };
    for n in [
        "first_name",
        "last_name",
        "job_title",
        "email",
        "secondary_emails",
        "work_phone_number",
        "mobile_phone_number",
        "language",
        "time_zone",
        "location",
        "department",
        "description",
        "reporting_manager",
        "address",
    ] {
        let f = by_name(n);
        assert_eq!(f["default"], true, "{n}");
        assert!(f["type"].as_str().unwrap().starts_with("default_"), "{n}");
    }
    assert_eq!(by_name("email")["type"], "default_email");
    assert_eq!(by_name("description")["type"], "default_description");
    let lang = by_name("language");
    assert_eq!(lang["choices"]["es-LA"], "Spanish (Latin America)");
    assert_eq!(lang["choices"].as_object().unwrap().len(), 30);
    let cc = by_name("cost_center");
    for attr in [
        "id",
        "label",
        "position",
        "user_field_group_id",
        "editable_in_signup",
        "required_for_agents",
        "requesters_can_edit",
        "label_for_requesters",
        "required_for_requesters",
        "displayed_for_requesters",
        "created_at",
        "updated_at",
    ] {
        assert!(cc.get(attr).is_some(), "{attr}");
    }
    assert_eq!(cc["type"], "custom_text");
    assert_eq!(cc["label"], "Cost center");
    assert_eq!(cc["default"], false);
    assert_eq!(by_name("level")["type"], "custom_number");
    assert_eq!(by_name("remote")["type"], "custom_checkbox");
    assert_eq!(by_name("start_date")["type"], "custom_date");
    assert_eq!(by_name("office")["choices"], json!(["Berlin", "Paris"]));

    // §3/§6: include=user_field_groups costs 3 credits.
    let r = t.get("/requester_fields?include=user_field_groups").await;
    assert_eq!(r.headers()["x-ratelimit-used-currentrequest"], "3");
    assert!(body(r).await["requester_fields"][0]
        .get("user_field_group")
        .is_some());
}

// Admin API: custom fields can be added and removed at run time; values follow.
#[tokio::test]
async fn custom_fields_added_and_removed() {
    let t = T::new().await;
    let r = t
        .admin_post(
            "/requester_fields",
            json!({"name": "badge", "type": "custom_number", "required_for_agents": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // A required custom field must be given (`docs/freshservice.md` §3: "likely").
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "a@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["field"], "badge");
    let v = t
        .create(
            json!({"first_name": "A", "primary_email": "a@x.com", "custom_fields": {"badge": 7}}),
        )
        .await;
    assert_eq!(v["custom_fields"]["badge"], 7);
    let r =
        t.c.delete(t.admin_url("/requester_fields/badge"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 204);
    let v = body(t.get(&format!("/requesters/{}", v["id"])).await).await;
    assert!(v["requester"]["custom_fields"].get("badge").is_none());
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "B", "primary_email": "b@x.com", "custom_fields": {"badge": 1}}),
        )
        .await;
    assert_eq!(r.status(), 400);
}

// §4 Departments and locations: list/view, seeded; locations filter by name.
#[tokio::test]
async fn departments_and_locations() {
    let t = T::new().await;
    let v = body(t.get("/departments").await).await;
    assert_eq!(v["departments"][0]["id"], 554);
    assert_eq!(v["departments"][0]["name"], "Sales");
    for k in [
        "description",
        "head_user_id",
        "prime_user_id",
        "domains",
        "custom_fields",
        "created_at",
        "updated_at",
    ] {
        assert!(v["departments"][0].get(k).is_some(), "{k}");
    }
    assert_eq!(
        body(t.get("/departments/554").await).await["department"]["name"],
        "Sales"
    );
    assert_eq!(t.get("/departments/1").await.status(), 404);
    let v = body(t.get("/locations").await).await;
    assert_eq!(v["locations"].as_array().unwrap().len(), 2);
    assert_eq!(v["locations"][0]["address"]["city"], Value::Null);
    let v = body(
        t.get("/locations?query=%22name:%27United%20Kingdom%27%22")
            .await,
    )
    .await;
    assert_eq!(v["locations"].as_array().unwrap().len(), 1);
    assert_eq!(v["locations"][0]["id"], 24);
    assert_eq!(
        body(t.get("/locations/23").await).await["location"]["name"],
        "HQ"
    );
    // Unknown department / location ids are refused on requesters.
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "a@x.com", "department_ids": [1]}),
        )
        .await;
    assert_eq!(body(r).await["errors"][0]["field"], "department_ids");
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "a@x.com", "location_id": 1}),
        )
        .await;
    assert_eq!(body(r).await["errors"][0]["field"], "location_id");
}

// §8: GET /agents?email= finds agents (also active=).
#[tokio::test]
async fn agents_list_by_email() {
    let t = T::new().await;
    t.admin_post(
        "/agents",
        json!({"first_name": "Minerva", "email": "minerva@hogwarts.edu"}),
    )
    .await;
    t.admin_post(
        "/agents",
        json!({"first_name": "Old", "email": "old@hogwarts.edu", "active": false}),
    )
    .await;
    let v = body(t.get("/agents?email=minerva%40hogwarts.edu").await).await;
    assert_eq!(v["agents"].as_array().unwrap().len(), 1);
    assert_eq!(v["agents"][0]["email"], "minerva@hogwarts.edu");
    assert_eq!(v["agents"][0]["first_name"], "Minerva");
    let v = body(t.get("/agents?active=false").await).await;
    assert_eq!(v["agents"][0]["first_name"], "Old");
    let v = body(t.get("/agents?email=nobody%40x.com").await).await;
    assert_eq!(v["agents"], json!([]));
    let id = body(t.get("/agents").await).await["agents"][0]["id"]
        .as_u64()
        .unwrap();
    assert_eq!(t.get(&format!("/agents/{id}")).await.status(), 200);
}
