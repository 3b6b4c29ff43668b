//! Requester endpoints and their validation (`docs/freshservice.md` §2, §5, §7, §8).

mod common;

use common::{body, verr, T};
use reqwest::Method;
use serde_json::{json, Value};

fn ron() -> Value {
    json!({"first_name":"Ron","last_name":"Weasley","job_title":"Student",
     "primary_email":"ronald.weasley@hogwarts.edu",
     "secondary_emails":["ronald.weasley@freshservice.com","ronald.weasley@freshworks.com"],
     "work_phone_number":"62443","mobile_phone_number":"77762443",
     "department_ids":[554],"can_see_all_tickets_from_associated_departments":false,
     "address":"Gryffindor Tower","time_zone":"Edinburgh",
     "language":"en","location_id":23,"background_information":"",
     "custom_fields":{"cost_center":null,"remote":true}})
}

// §2.1 Create: 201, {"requester":{…}}, Location header (§1 Schema); §2.2 object shape.
#[tokio::test]
async fn create_returns_201_location_and_full_object() {
    let t = T::new().await;
    let r = t.post("/requesters", ron()).await;
    assert_eq!(r.status(), 201);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let v = body(r).await["requester"].clone();
    let id = v["id"].as_u64().unwrap();
    assert!(id > 21_000_000_000, "64-bit-ish ids");
    assert_eq!(loc, t.url(&format!("/requesters/{id}")));
    assert_eq!(v["first_name"], "Ron");
    assert_eq!(
        v["secondary_emails"],
        json!([
            "ronald.weasley@freshservice.com",
            "ronald.weasley@freshworks.com"
        ])
    );
    assert_eq!(v["department_ids"], json!([554]));
    assert_eq!(v["time_zone"], "Edinburgh");
    assert_eq!(v["time_format"], "12h");
    assert_eq!(v["active"], true);
    assert_eq!(v["has_logged_in"], false);
    assert_eq!(v["is_agent"], false);
    assert_eq!(v["background_information"], "");
    // Blank fields are null, not omitted; every custom field is present.
    assert_eq!(v["reporting_manager_id"], Value::Null);
    assert!(v.as_object().unwrap().contains_key("reporting_manager_id"));
    assert_eq!(v["external_id"], Value::Null);
    assert_eq!(
        v["custom_fields"],
        json!({"cost_center": null, "level": null, "office": null, "remote": true, "start_date": null})
    );
    // Timestamps are UTC YYYY-MM-DDTHH:MM:SSZ.
    let ts = v["created_at"].as_str().unwrap();
    assert_eq!(ts.len(), 20);
    assert!(chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%SZ").is_ok());
    // View gives the same object.
    let r = t.get(&format!("/requesters/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["requester"], v);
}

// §2.2: first_name is mandatory → missing_field.
#[tokio::test]
async fn first_name_is_mandatory() {
    let t = T::new().await;
    let r = t
        .post("/requesters", json!({"primary_email": "a@x.com"}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        verr(
            "first_name",
            "[\"It should be a/an String\"]",
            "missing_field"
        )
    );
}

// §2.2: one of primary_email / work_phone_number / mobile_phone_number is required.
#[tokio::test]
async fn one_contact_field_is_required() {
    let t = T::new().await;
    let r = t.post("/requesters", json!({"first_name": "A"})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        verr(
            "primary_email",
            "[\"Please fill at least 1 of primary_email, work_phone_number, mobile_phone_number fields\"]",
            "missing_field"
        )
    );
    // A phone alone is enough.
    let v = t
        .create(json!({"first_name": "P", "mobile_phone_number": "555"}))
        .await;
    assert_eq!(v["primary_email"], Value::Null);
}

// §2.2/§5: email format is checked.
#[tokio::test]
async fn email_format_is_checked() {
    let t = T::new().await;
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "not-an-email"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        verr(
            "primary_email",
            "[\"It should be in the 'valid email address' format\"]",
            "invalid_value"
        )
    );
}

// §2.2 "Unknown or extra attributes get 400 invalid_field"; read-only attributes likewise.
#[tokio::test]
async fn unknown_and_read_only_attributes_are_invalid_field() {
    let t = T::new().await;
    for key in [
        "nickname",
        "id",
        "active",
        "is_agent",
        "created_at",
        "has_logged_in",
        "name",
        "email",
    ] {
        let mut b = json!({"first_name": "A", "primary_email": "a@x.com"});
        b[key] = json!("x");
        let r = t.post("/requesters", b).await;
        assert_eq!(r.status(), 400, "{key}");
        assert_eq!(
            body(r).await,
            verr(
                key,
                "[\"Unexpected/invalid field in request\"]",
                "invalid_field"
            ),
            "{key}"
        );
    }
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
}

// §5 datatype_mismatch: wrong JSON types.
#[tokio::test]
async fn wrong_types_are_datatype_mismatch() {
    let t = T::new().await;
    let cases = [
        ("first_name", json!(5), "String"),
        ("work_phone_number", json!(62443), "String"),
        ("department_ids", json!("554"), "Array"),
        (
            "can_see_all_tickets_from_associated_departments",
            json!("yes"),
            "Boolean",
        ),
        ("location_id", json!("23"), "Positive Integer"),
    ];
    for (field, value, ty) in cases {
        let mut b = json!({"first_name": "A", "primary_email": "a@x.com"});
        b[field] = value;
        let r = t.post("/requesters", b).await;
        assert_eq!(r.status(), 400, "{field}");
        assert_eq!(
            body(r).await,
            verr(
                field,
                &format!("[\"It should be a/an {ty}\"]"),
                "datatype_mismatch"
            ),
            "{field}"
        );
    }
}

// §5: all errors are reported together.
#[tokio::test]
async fn several_errors_in_one_body() {
    let t = T::new().await;
    let r = t
        .post(
            "/requesters",
            json!({"primary_email": "x", "time_zone": "Mars", "foo": 1}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v = body(r).await;
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_value",
            "invalid_value",
            "invalid_field",
            "missing_field"
        ]
    );
}

// §8 (unconfirmed there, enforced here): primary_email unique across active and
// deactivated requesters, agents and everyone's secondary emails; 409 by default (§5).
#[tokio::test]
async fn duplicate_email_everywhere_is_duplicate_value() {
    let t = T::new().await;
    t.create(ron()).await;
    let gone = t
        .create(json!({"first_name": "Gone", "primary_email": "gone@x.com"}))
        .await;
    assert_eq!(
        t.delete(&format!("/requesters/{}", gone["id"]))
            .await
            .status(),
        204
    );
    let r = t
        .admin_post(
            "/agents",
            json!({"first_name": "Agent", "email": "agent@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    let dup = verr(
        "primary_email",
        "[\"It should be a unique value\"]",
        "duplicate_value",
    );
    for email in [
        "ronald.weasley@hogwarts.edu",
        "RONALD.WEASLEY@hogwarts.edu",
        "ronald.weasley@freshworks.com",
        "gone@x.com",
        "agent@x.com",
    ] {
        let r = t
            .post(
                "/requesters",
                json!({"first_name": "D", "primary_email": email}),
            )
            .await;
        assert_eq!(r.status(), 409, "{email}");
        assert_eq!(body(r).await, dup, "{email}");
    }
    // A clashing secondary email is reported on secondary_emails.
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "D", "primary_email": "new@x.com", "secondary_emails": ["agent@x.com"]}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        body(r).await,
        verr(
            "secondary_emails",
            "[\"It should be a unique value\"]",
            "duplicate_value"
        )
    );
    // Updating someone onto a taken email is refused too.
    let other = t
        .create(json!({"first_name": "O", "primary_email": "o@x.com"}))
        .await;
    let r = t
        .put(
            &format!("/requesters/{}", other["id"]),
            json!({"primary_email": "agent@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(t.state().await["requesters"].as_array().unwrap().len(), 3);
}

// §5: the duplicate status is unconfirmed (400 or 409); it is configurable per account.
#[tokio::test]
async fn duplicate_status_is_configurable() {
    let mut spec = common::acme_spec();
    spec["duplicate_status"] = json!(400);
    let t = T::with_spec(spec).await;
    t.create(json!({"first_name": "A", "primary_email": "a@x.com"}))
        .await;
    let r = t
        .post(
            "/requesters",
            json!({"first_name": "B", "primary_email": "a@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "duplicate_value");
}

// §7: time_zone only Rails zone names; language only the field's choices.
#[tokio::test]
async fn time_zone_and_language_value_sets() {
    let t = T::new().await;
    let choice = "[\"It should be one of the choice value.\"]";
    for tz in ["America/New_York", "Kyev", "eastern time (us & canada)"] {
        let r = t
            .post(
                "/requesters",
                json!({"first_name": "A", "primary_email": "a@x.com", "time_zone": tz}),
            )
            .await;
        assert_eq!(r.status(), 400, "{tz}");
        assert_eq!(body(r).await, verr("time_zone", choice, "invalid_value"));
    }
    for lang in ["en_US", "en-US", "xx", "EN"] {
        let r = t
            .post(
                "/requesters",
                json!({"first_name": "A", "primary_email": "a@x.com", "language": lang}),
            )
            .await;
        assert_eq!(r.status(), 400, "{lang}");
        assert_eq!(body(r).await, verr("language", choice, "invalid_value"));
    }
    let mut n = 0;
    for (tz, lang) in [
        ("Eastern Time (US & Canada)", "en"),
        ("Kyiv", "pt-BR"),
        ("UTC", "ja-JP"),
        ("London", "es-LA"),
    ] {
        n += 1;
        let v = t
            .create(json!({"first_name": "A", "primary_email": format!("a{n}@x.com"), "time_zone": tz, "language": lang}))
            .await;
        assert_eq!(v["time_zone"], tz);
        assert_eq!(v["language"], lang);
    }
}

// §2.2 custom_fields: keys from /requester_fields, values checked against the field type.
#[tokio::test]
async fn custom_field_validation() {
    let t = T::new().await;
    let cases = [
        (
            json!({"nope": "x"}),
            verr(
                "nope",
                "[\"Unexpected/invalid field in request\"]",
                "invalid_field",
            ),
        ),
        (
            json!({"cost_center": 5}),
            verr(
                "cost_center",
                "[\"It should be a/an String\"]",
                "datatype_mismatch",
            ),
        ),
        (
            json!({"level": "3"}),
            verr(
                "level",
                "[\"It should be a/an Integer\"]",
                "datatype_mismatch",
            ),
        ),
        (
            json!({"level": 1.5}),
            verr(
                "level",
                "[\"It should be a/an Integer\"]",
                "datatype_mismatch",
            ),
        ),
        (
            json!({"remote": "true"}),
            verr(
                "remote",
                "[\"It should be a/an Boolean\"]",
                "datatype_mismatch",
            ),
        ),
        (
            json!({"start_date": "2024-13-01"}),
            verr(
                "start_date",
                "[\"It should be in the 'yyyy-mm-dd' format\"]",
                "invalid_value",
            ),
        ),
        (
            json!({"office": "London"}),
            verr(
                "office",
                "[\"It should be one of the choice value.\"]",
                "invalid_value",
            ),
        ),
    ];
    for (cf, expected) in cases {
        let r = t
            .post(
                "/requesters",
                json!({"first_name": "A", "primary_email": "a@x.com", "custom_fields": cf}),
            )
            .await;
        assert_eq!(r.status(), 400, "{cf}");
        assert_eq!(body(r).await, expected, "{cf}");
    }
    let v = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com", "custom_fields": {
            "cost_center": "CC-1", "level": 3, "office": "Paris", "remote": false, "start_date": "2024-02-29"}}))
        .await;
    assert_eq!(
        v["custom_fields"],
        json!({"cost_center": "CC-1", "level": 3, "office": "Paris", "remote": false, "start_date": "2024-02-29"})
    );
}

// §2.2 external_id: writable, a string.
#[tokio::test]
async fn external_id_is_writable_as_string() {
    let t = T::new().await;
    let v = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com", "external_id": "00u1abcd"}))
        .await;
    assert_eq!(v["external_id"], "00u1abcd");
}

// §2.2 "Partial update works": PUT a few fields, get the full object back.
#[tokio::test]
async fn partial_update_returns_full_object() {
    let t = T::new().await;
    let v = t.create(ron()).await;
    let id = v["id"].as_u64().unwrap();
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"first_name":"Ronald","last_name":"Weasley","time_format":"24h"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let u = body(r).await["requester"].clone();
    assert_eq!(u["first_name"], "Ronald");
    assert_eq!(u["time_format"], "24h");
    assert_eq!(u["job_title"], "Student");
    assert_eq!(u["primary_email"], "ronald.weasley@hogwarts.edu");
    assert_eq!(u["custom_fields"]["remote"], true);
    // null clears a field; validation applies on PUT too.
    let r = t
        .put(&format!("/requesters/{id}"), json!({"job_title": null}))
        .await;
    assert_eq!(body(r).await["requester"]["job_title"], Value::Null);
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"time_zone": "Nowhere"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = t.put(&format!("/requesters/{id}"), json!({"id": 5})).await;
    assert_eq!(r.status(), 400);
    // Removing every contact field is refused.
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"primary_email": null, "work_phone_number": null, "mobile_phone_number": null}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        t.put("/requesters/42", json!({"first_name": "X"}))
            .await
            .status(),
        404
    );
}

// §2.2 quirk: can_see_all_tickets_from_associated_departments resets to false on PUT
// unless the payload sets it to true.
#[tokio::test]
async fn can_see_all_tickets_resets_on_put() {
    let t = T::new().await;
    let mut b = ron();
    b["can_see_all_tickets_from_associated_departments"] = json!(true);
    let v = t.create(b).await;
    assert_eq!(v["can_see_all_tickets_from_associated_departments"], true);
    let id = v["id"].as_u64().unwrap();
    let r = t
        .put(&format!("/requesters/{id}"), json!({"job_title": "Keeper"}))
        .await;
    assert_eq!(
        body(r).await["requester"]["can_see_all_tickets_from_associated_departments"],
        false
    );
    let r = t
        .put(
            &format!("/requesters/{id}"),
            json!({"job_title": "Keeper", "can_see_all_tickets_from_associated_departments": true}),
        )
        .await;
    assert_eq!(
        body(r).await["requester"]["can_see_all_tickets_from_associated_departments"],
        true
    );
}

// §2.1: deactivate (204, active:false, out of groups), reactivate (200), forget (204, gone).
#[tokio::test]
async fn deactivate_reactivate_forget() {
    let t = T::new().await;
    let v = t.create(ron()).await;
    let id = v["id"].as_u64().unwrap();
    let g = body(t.post("/requester_groups", json!({"name": "G"})).await).await["requester_group"]
        ["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        t.req(Method::POST, &format!("/requester_groups/{g}/members/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let r = t.delete(&format!("/requesters/{id}")).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let u = body(t.get(&format!("/requesters/{id}")).await).await["requester"].clone();
    assert_eq!(u["active"], false);
    let st = t.state().await;
    assert_eq!(st["requester_groups"][0]["members"], json!([]));
    // Deactivating again: already deactivated → 404.
    assert_eq!(t.delete(&format!("/requesters/{id}")).await.status(), 404);

    let r = t
        .req(Method::PUT, &format!("/requesters/{id}/reactivate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["requester"]["active"], true);
    // Reactivate takes no body.
    let r = t
        .put(
            &format!("/requesters/{id}/reactivate"),
            json!({"active": true}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "no_content_required");

    let r = t.delete(&format!("/requesters/{id}/forget")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(t.get(&format!("/requesters/{id}")).await.status(), 404);
    assert!(t.state().await["requesters"].as_array().unwrap().is_empty());
    // Its email is free again.
    t.create(ron()).await;
}

// Reactivating an already active requester: undocumented, so switchable:
// 200 by default, a validation error when the account is set to refuse.
#[tokio::test]
async fn reactivating_an_active_requester_is_switchable() {
    let t = T::new().await;
    let id = t.create(ron()).await["id"].as_u64().unwrap();
    let reactivate = || {
        t.req(Method::PUT, &format!("/requesters/{id}/reactivate"))
            .send()
    };
    assert_eq!(reactivate().await.unwrap().status(), 200);
    let r = t
        .admin_put("/settings", json!({"reactivate_active_status": 400}))
        .await;
    assert_eq!(r.status(), 200);
    let r = reactivate().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "invalid_value");
    // A deactivated one still reactivates.
    assert_eq!(t.delete(&format!("/requesters/{id}")).await.status(), 204);
    assert_eq!(reactivate().await.unwrap().status(), 200);
    let r = t
        .admin_put("/settings", json!({"reactivate_active_status": 0}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(reactivate().await.unwrap().status(), 200);
}

// §2.1 convert_to_agent: 200 {"agent":{…}}, the user becomes an (occasional) agent.
#[tokio::test]
async fn convert_to_agent() {
    let t = T::new().await;
    let v = t.create(ron()).await;
    let id = v["id"].as_u64().unwrap();
    let r = t
        .req(Method::PUT, &format!("/requesters/{id}/convert_to_agent"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = body(r).await["agent"].clone();
    assert_eq!(a["id"], id);
    assert_eq!(a["email"], "ronald.weasley@hogwarts.edu");
    assert_eq!(a["occasional"], true);
    assert_eq!(t.get(&format!("/requesters/{id}")).await.status(), 404);
    let st = t.state().await;
    assert!(st["requesters"].as_array().unwrap().is_empty());
    assert_eq!(st["agents"][0]["id"], id);
    let r = body(t.get("/agents?email=ronald.weasley%40hogwarts.edu").await).await;
    assert_eq!(r["agents"][0]["id"], id);
}

// §2.1 List: email / phone filters (URL-encoded), agents hidden unless include_agents=true.
#[tokio::test]
async fn list_filters_and_include_agents() {
    let t = T::new().await;
    t.create(ron()).await;
    t.create(json!({"first_name": "Harry", "primary_email": "harry.potter@hogwarts.edu", "work_phone_number": "111"})).await;
    t.admin_post(
        "/agents",
        json!({"first_name": "Minerva", "email": "minerva@hogwarts.edu"}),
    )
    .await;

    let r = body(t.get("/requesters?email=harry.potter%40hogwarts.edu").await).await;
    assert_eq!(r["requesters"].as_array().unwrap().len(), 1);
    assert_eq!(r["requesters"][0]["first_name"], "Harry");
    let r = body(t.get("/requesters?email=HARRY.POTTER%40hogwarts.edu").await).await;
    assert_eq!(r["requesters"].as_array().unwrap().len(), 1);
    let r = body(t.get("/requesters?work_phone_number=111").await).await;
    assert_eq!(r["requesters"][0]["first_name"], "Harry");
    let r = body(t.get("/requesters?mobile_phone_number=77762443").await).await;
    assert_eq!(r["requesters"][0]["first_name"], "Ron");

    let r = body(t.get("/requesters?email=minerva%40hogwarts.edu").await).await;
    assert_eq!(r["requesters"], json!([]));
    let r = body(
        t.get("/requesters?email=minerva%40hogwarts.edu&include_agents=true")
            .await,
    )
    .await;
    assert_eq!(r["requesters"][0]["is_agent"], true);
    assert_eq!(r["requesters"][0]["primary_email"], "minerva@hogwarts.edu");

    // Plain list: sorted by first name, agents excluded.
    let r = body(t.get("/requesters").await).await;
    let names: Vec<&str> = r["requesters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["first_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Harry", "Ron"]);
    // Deactivated requesters are still listed (`docs/freshservice.md` §8 leaves it open; the simulator lists them).
    let id = r["requesters"][0]["id"].as_u64().unwrap();
    t.delete(&format!("/requesters/{id}")).await;
    let r = body(t.get("/requesters?email=harry.potter%40hogwarts.edu").await).await;
    assert_eq!(r["requesters"][0]["active"], false);
    // Undocumented filters are refused rather than silently ignored.
    let r = t.get("/requesters?primary_email=x%40y.z").await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "invalid_field");
}

// §2.3 Pagination: per_page default 30, max 100, link header only when a next page exists.
#[tokio::test]
async fn pagination_and_link_header() {
    let t = T::new().await;
    for i in 0..5 {
        t.admin_post(
            "/requesters",
            json!({"first_name": format!("U{i}"), "primary_email": format!("u{i}@x.com")}),
        )
        .await;
    }
    let r = t.get("/requesters?per_page=2").await;
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert_eq!(
        link,
        format!("<{}>; rel=\"next\"", t.url("/requesters?per_page=2&page=2"))
    );
    assert_eq!(body(r).await["requesters"].as_array().unwrap().len(), 2);
    let r = t.get("/requesters?per_page=2&page=3").await;
    assert!(r.headers().get("link").is_none());
    let v = body(r).await;
    assert_eq!(v["requesters"].as_array().unwrap().len(), 1);
    assert_eq!(v["requesters"][0]["first_name"], "U4");
    let r = t.get("/requesters?per_page=2&page=9").await;
    assert_eq!(body(r).await["requesters"], json!([]));
    let r = t.get("/requesters").await;
    assert!(r.headers().get("link").is_none());

    for bad in [
        "per_page=101",
        "per_page=0",
        "per_page=abc",
        "page=0",
        "page=-1",
    ] {
        let r = t.get(&format!("/requesters?{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(body(r).await["errors"][0]["code"], "invalid_value");
    }
    let r = t.get("/requesters?per_page=101").await;
    assert_eq!(
        body(r).await,
        verr(
            "per_page",
            "[\"It should be a/an Positive Integer less than or equal to 100\"]",
            "invalid_value"
        )
    );
}

fn q(s: &str) -> String {
    let enc: String = url_encode(&format!("\"{s}\""));
    format!("/requesters?query={enc}")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// §2.1 Filter (query=): quoted, AND/OR/parentheses, :> :<, null; fixed 30 per page,
// page ≤ 40, newest first. The search index is modelled without lag.
#[tokio::test]
async fn query_filter() {
    let t = T::new().await;
    t.create(json!({"first_name": "Jack", "last_name": "Sparrow", "primary_email": "jack@yourcompany.com", "job_title": "Pirate", "custom_fields": {"level": 3, "office": "Paris"}})).await;
    t.create(json!({"first_name": "Anne", "last_name": "Bonny", "primary_email": "anne@yourcompany.com", "mobile_phone_number": "999"})).await;
    t.create(json!({"first_name": "Will", "last_name": "Turner", "primary_email": "will@yourcompany.com", "job_title": "Smith", "custom_fields": {"level": 7}})).await;

    let names = |v: Value| -> Vec<String> {
        v["requesters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["first_name"].as_str().unwrap().to_string())
            .collect()
    };
    // Reference example: GET /api/v2/requesters?query="primary_email:%27jack%40yourcompany.com%27"
    let r = t
        .get("/requesters?query=\"primary_email:%27jack%40yourcompany.com%27\"")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(names(body(r).await), ["Jack"]);
    // Newest first.
    let r = body(
        t.get(&q(
            "job_title:'Pirate' OR job_title:'Smith' OR first_name:'Anne'",
        ))
        .await,
    )
    .await;
    assert_eq!(names(r), ["Will", "Anne", "Jack"]);
    let r = body(
        t.get(&q("(job_title:'Pirate' OR job_title:'Smith') AND level:>5"))
            .await,
    )
    .await;
    assert_eq!(names(r), ["Will"]);
    // Ranges are inclusive, as in Freshworks' filter APIs.
    let r = body(t.get(&q("level:<3")).await).await;
    assert_eq!(names(r), ["Jack"]);
    let r = body(t.get(&q("level:<2")).await).await;
    assert_eq!(names(r), Vec::<String>::new());
    let r = body(t.get(&q("job_title:null")).await).await;
    assert_eq!(names(r), ["Anne"]);
    let r = body(t.get(&q("office:'Paris'")).await).await;
    assert_eq!(names(r), ["Jack"]);
    let r = body(
        t.get(&q("mobile_phone_number:'999' AND last_name:'bonny'"))
            .await,
    )
    .await;
    assert_eq!(names(r), ["Anne"]);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let r = body(
        t.get(&q(&format!(
            "created_at:>'{today}' AND updated_at:<'2999-01-01'"
        )))
        .await,
    )
    .await;
    assert_eq!(names(r).len(), 3);
    let r = body(t.get(&q("created_at:<'2000-01-01'")).await).await;
    assert_eq!(names(r).len(), 0);
    let r = body(t.get(&q("~[first_name|last_name]:'tu'")).await).await;
    assert_eq!(names(r), ["Will"]);

    // Errors: not quoted, bad syntax, unknown field, too long, page > 40.
    for bad in [
        "/requesters?query=primary_email:%27a%27".to_string(),
        q("first_name:'x' AND"),
        q("shoe_size:5"),
        q("remote:true"),
        q(&format!("first_name:'{}'", "a".repeat(520))),
    ] {
        let r = t.get(&bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v = body(r).await;
        assert_eq!(v["errors"][0]["field"], "query", "{bad}");
        assert_eq!(v["errors"][0]["code"], "invalid_value");
    }
    let r = t.get(&format!("{}&page=41", q("first_name:'Jack'"))).await;
    assert_eq!(r.status(), 400);
    let r = t.get(&format!("{}&page=40", q("first_name:'Jack'"))).await;
    assert_eq!(r.status(), 200);
}

// §2.1 Filter: fixed page size 30 with the link header.
#[tokio::test]
async fn query_pages_are_30() {
    let t = T::new().await;
    for i in 0..31 {
        t.admin_post(
            "/requesters",
            json!({"first_name": "Same", "primary_email": format!("s{i}@x.com")}),
        )
        .await;
    }
    let r = t
        .get(&format!("{}&per_page=100", q("first_name:'Same'")))
        .await;
    assert!(r
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with("page=2>; rel=\"next\""));
    assert_eq!(body(r).await["requesters"].as_array().unwrap().len(), 30);
    let r = t.get(&format!("{}&page=2", q("first_name:'Same'"))).await;
    assert!(r.headers().get("link").is_none());
    assert_eq!(body(r).await["requesters"].as_array().unwrap().len(), 1);
}
