//! Departments as a worker matching Okta's department names needs them
//! (`docs/freshservice.md` §4): paging with `Link: rel="next"`, a name
//! filter, create with its refusals, and requester writes naming a
//! department or manager the account lacks.

mod common;

use common::{acme_spec, body, verr, T};
use serde_json::json;

// Paging: 250 departments at 100 a page, `link` only while more follow.
#[tokio::test]
async fn departments_page_by_100_with_a_next_link() {
    let mut spec = acme_spec();
    spec["departments"] = (1..=250)
        .map(|i| json!({"id": 1000 + i, "name": format!("Dept {i:03}")}))
        .collect();
    let t = T::with_spec(spec).await;
    let mut seen = 0;
    for page in 1..=3 {
        let r = t
            .get(&format!("/departments?per_page=100&page={page}"))
            .await;
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let n = body(r).await["departments"].as_array().unwrap().len();
        seen += n;
        match page {
            1 | 2 => {
                assert_eq!(n, 100);
                let link = link.expect("a next page is linked");
                assert!(
                    link.contains(&format!("page={}", page + 1)) && link.contains("rel=\"next\""),
                    "{link}"
                );
            }
            _ => {
                assert_eq!(n, 50);
                assert!(link.is_none(), "no link on the last page: {link:?}");
            }
        }
    }
    assert_eq!(seen, 250);
}

// `query="name:'X'"` matches without case; unknown names list nothing.
#[tokio::test]
async fn departments_filter_by_name() {
    let t = T::new().await;
    for q in ["name:'Sales'", "name:'sALES'"] {
        let v = body(
            t.get(&format!(
                "/departments?query=%22{}%22",
                q.replace('\'', "%27")
            ))
            .await,
        )
        .await;
        assert_eq!(v["departments"].as_array().unwrap().len(), 1, "{q}");
        assert_eq!(v["departments"][0]["id"], 554);
    }
    let v = body(t.get("/departments?query=%22name:%27Nope%27%22").await).await;
    assert_eq!(v["departments"], json!([]));
    let r = t.get("/departments?color=red").await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn create_department_and_its_refusals() {
    let t = T::new().await;
    let r = t
        .post(
            "/departments",
            json!({"name": "Research", "description": "R&D"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_some());
    let d = body(r).await["department"].clone();
    assert_eq!(
        (d["name"].clone(), d["description"].clone()),
        (json!("Research"), json!("R&D"))
    );
    for k in [
        "head_user_id",
        "prime_user_id",
        "domains",
        "custom_fields",
        "created_at",
        "updated_at",
    ] {
        assert!(d.get(k).is_some(), "{k}");
    }
    let id = d["id"].as_u64().unwrap();
    assert_eq!(
        body(t.get(&format!("/departments/{id}")).await).await["department"]["name"],
        "Research"
    );

    // A taken name, in any case: duplicate_value, 409 by default.
    let r = t.post("/departments", json!({"name": "research"})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        body(r).await,
        verr(
            "name",
            "[\"It should be a unique value\"]",
            "duplicate_value"
        )
    );
    let r = t.post("/departments", json!({})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "missing_field");
    let r = t
        .post("/departments", json!({"name": "X", "colour": "red"}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await["errors"][0],
        json!({"field": "colour", "message": body_message_invalid_field(), "code": "invalid_field"})
    );

    // The same refusal at 400 on an account set so.
    let mut spec = acme_spec();
    spec["duplicate_status"] = json!(400);
    let t = T::with_spec(spec).await;
    let r = t.post("/departments", json!({"name": "SALES"})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errors"][0]["code"], "duplicate_value");
}

fn body_message_invalid_field() -> serde_json::Value {
    json!("[\"Unexpected/invalid field in request\"]")
}

// Requester writes naming what the account lacks are refused whole.
#[tokio::test]
async fn unknown_department_or_manager_ids_are_refused() {
    let t = T::new().await;
    let ann = t
        .create(json!({"first_name": "Ann", "primary_email": "ann@x.com", "department_ids": [554]}))
        .await;
    let id = ann["id"].as_u64().unwrap();
    for (field, body_in) in [
        (
            "department_ids",
            json!({"first_name": "Anna", "department_ids": [99]}),
        ),
        (
            "reporting_manager_id",
            json!({"first_name": "Anna", "reporting_manager_id": 99}),
        ),
        (
            "reporting_manager_id",
            json!({"first_name": "Anna", "reporting_manager_id": id}),
        ),
    ] {
        let r = t.put(&format!("/requesters/{id}"), body_in.clone()).await;
        assert_eq!(r.status(), 400, "{body_in}");
        let v = body(r).await;
        assert_eq!(v["description"], "Validation failed");
        assert_eq!(v["errors"][0]["field"], field);
        assert_eq!(v["errors"][0]["code"], "invalid_value");
    }
    let now = body(t.get(&format!("/requesters/{id}")).await).await["requester"].clone();
    assert_eq!(
        now["first_name"], "Ann",
        "nothing of a refused write applied"
    );
    assert_eq!(now["department_ids"], json!([554]));
    assert_eq!(now["reporting_manager_id"], json!(null));
}
