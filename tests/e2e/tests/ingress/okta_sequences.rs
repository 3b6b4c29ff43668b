//! Okta's exact request sequences (`docs/identity-providers.md` §1a–§1f)
//! replayed against the real ingress, Redis and RabbitMQ. No worker runs:
//! these prove what Okta sees, answered from the bridge's own state.

use std::collections::HashSet;

use e2e::{okta_encode as enc, okta_user, Stack, StackOptions};
use serde_json::{json, Value};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn ingress_only() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await
}

fn assert_list(body: &Value) {
    assert_eq!(body["schemas"][0], LIST, "{body}");
    for k in ["totalResults", "startIndex", "itemsPerPage"] {
        assert!(body[k].is_u64(), "{k} must be a JSON integer: {body}");
    }
}

fn assert_error(body: &Value, status: u16) {
    assert_eq!(body["schemas"][0], ERROR, "{body}");
    assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
    assert_eq!(
        body["status"].as_str().map(str::to_string),
        Some(status.to_string()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_api_credentials_then_create_with_existence_check() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // §1a: the two constant requests of "Test API Credentials".
    let (st, body) = s.scim("GET", "/Users?startIndex=1&count=2", None).await?;
    assert_eq!(st, 200);
    assert_list(&body);
    let (st, body) = s
        .scim("GET", "/Groups?startIndex=1&count=100", None)
        .await?;
    assert_eq!(st, 200);
    assert_list(&body);
    assert_eq!(body["totalResults"], 0);

    // §1b: existence check, then create.
    let filter = format!(
        "/Users?filter={}&startIndex=1&count=100",
        enc(r#"userName eq "test.user@okta.local""#)
    );
    let (st, body) = s.scim("GET", &filter, None).await?;
    assert_eq!(st, 200);
    assert_list(&body);
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["Resources"], json!([]));

    let (st, created) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("test.user@okta.local", "Test", "User")),
        )
        .await?;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(!id.is_empty());
    assert_eq!(created["meta"]["resourceType"], "User");
    assert!(created["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Users/{id}")));
    assert!(created["meta"]["version"]
        .as_str()
        .unwrap()
        .starts_with("W/"));
    assert!(
        created.get("password").is_none(),
        "password is never echoed"
    );
    assert_eq!(created["active"], true);

    // Read your writes: at once, before any worker ran.
    let (st, body) = s.scim("GET", &filter, None).await?;
    assert_eq!(st, 200);
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], id);
    let (st, body) = s.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(st, 200);
    assert_eq!(body["userName"], "test.user@okta.local");
    let (_, by_id) = s
        .scim(
            "GET",
            &format!("/Users?filter={}", enc(&format!(r#"id eq "{id}""#))),
            None,
        )
        .await?;
    assert_eq!(by_id["totalResults"], 1);
    assert_eq!(by_id["Resources"][0]["id"], id);
    let (_, by_other) = s
        .scim(
            "GET",
            &format!("/Users?filter={}", enc(r#"id eq "nope""#)),
            None,
        )
        .await?;
    assert_eq!(by_other["totalResults"], 0);

    // §1b: the same user again → 409 uniqueness, also with other case.
    let (st, body) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("test.user@okta.local", "Test", "User")),
        )
        .await?;
    assert_eq!(st, 409);
    assert_error(&body, 409);
    assert_eq!(body["scimType"], "uniqueness");
    let (st, _) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("TEST.User@okta.local", "Test", "User")),
        )
        .await?;
    assert_eq!(st, 409);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_update_deactivate_reactivate_by_get_then_put() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let (_, created) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("pat@okta.local", "Pat", "Doe")),
        )
        .await?;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");

    // §1c: GET, change, PUT the whole resource back (id, meta, groups echoed).
    let (_, mut got) = s.scim("GET", &path, None).await?;
    got["name"]["givenName"] = json!("Patricia");
    got["name"]["middleName"] = json!("Excited");
    let (st, put) = s.scim("PUT", &path, Some(got)).await?;
    assert_eq!(st, 200, "{put}");
    assert_eq!(put["name"]["givenName"], "Patricia");
    let (_, again) = s.scim("GET", &path, None).await?;
    assert_eq!(again["name"]["givenName"], "Patricia");
    assert_eq!(again["name"]["middleName"], "Excited");

    // §1d: AIW deactivation is a PUT with active false; still readable.
    let (_, mut got) = s.scim("GET", &path, None).await?;
    got["active"] = json!(false);
    let (st, body) = s.scim("PUT", &path, Some(got)).await?;
    assert_eq!(st, 200);
    assert_eq!(body["active"], false);
    let (st, body) = s.scim("GET", &path, None).await?;
    assert_eq!(st, 200, "a deactivated user stays readable");
    assert_eq!(body["active"], false);

    // §1e: reactivation.
    let (_, mut got) = s.scim("GET", &path, None).await?;
    got["active"] = json!(true);
    let (st, body) = s.scim("PUT", &path, Some(got)).await?;
    assert_eq!(st, 200);
    assert_eq!(body["active"], true);

    // §1d PATCH mode (OIN apps): path-less replace with {"active": false}.
    let (st, body) = s
        .scim(
            "PATCH",
            &path,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            })),
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["active"], false);
    let (_, body) = s.scim("GET", &path, None).await?;
    assert_eq!(body["active"], false);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_pages_over_250_users_stably() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mut ids = HashSet::new();
    for i in 0..250 {
        let (st, body) = s
            .scim(
                "POST",
                "/Users",
                Some(okta_user(
                    &format!("user{i:03}@okta.local"),
                    "U",
                    &format!("N{i}"),
                )),
            )
            .await?;
        assert_eq!(st, 201);
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    // §1f: startIndex=1,101,201 with count=100 while startIndex <= totalResults.
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let (st, body) = s
            .scim("GET", &format!("/Users?startIndex={start}&count=100"), None)
            .await?;
        assert_eq!(st, 200);
        assert_list(&body);
        assert_eq!(body["totalResults"], 250);
        assert_eq!(body["startIndex"], start);
        let page = body["Resources"].as_array().unwrap();
        assert_eq!(body["itemsPerPage"], page.len());
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += 100;
        if start > 250 {
            break;
        }
    }
    assert_eq!(seen.len(), 250);
    assert_eq!(
        seen.iter().cloned().collect::<HashSet<_>>(),
        ids,
        "every user exactly once"
    );
    // Stable: the same window twice gives the same order.
    let (_, a) = s
        .scim("GET", "/Users?startIndex=101&count=50", None)
        .await?;
    let (_, b) = s
        .scim("GET", "/Users?startIndex=101&count=50", None)
        .await?;
    assert_eq!(a["Resources"], b["Resources"]);
    // count=0 gives totals only.
    let (_, z) = s.scim("GET", "/Users?count=0", None).await?;
    assert_eq!(z["totalResults"], 250);
    assert_eq!(z["Resources"].as_array().map(Vec::len).unwrap_or(0), 0);
    Ok(())
}

/// Okta's "SCIM 2.0 SPEC Test" (`docs/architecture.md` §6), its ten steps and assertions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_spec_test_ten_steps() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // Setup: at least one user exists.
    s.scim(
        "POST",
        "/Users",
        Some(okta_user("existing@okta.local", "Ex", "Isting")),
    )
    .await?;

    // 1. GET /Users?count=1&startIndex=1
    let (st, body) = s.scim("GET", "/Users?count=1&startIndex=1", None).await?;
    assert_eq!(st, 200);
    assert_list(&body);
    let r0 = &body["Resources"][0];
    for p in [
        "/id",
        "/name/familyName",
        "/name/givenName",
        "/userName",
        "/emails/0/value",
    ] {
        assert!(
            !r0.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty(),
            "{p} in {r0}"
        );
    }
    assert!(r0["active"].is_boolean());
    let isv_id = r0["id"].as_str().unwrap().to_string();

    // 2. GET /Users/{id}
    let (st, body) = s.scim("GET", &format!("/Users/{isv_id}"), None).await?;
    assert_eq!(st, 200);
    assert_eq!(body["id"], isv_id.as_str());

    // 3. invalid user by username
    let (st, body) = s
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                enc(r#"userName eq "invalid-user-x@okta.local""#)
            ),
            None,
        )
        .await?;
    assert_eq!(st, 200);
    assert_list(&body);
    assert_eq!(body["totalResults"], 0);

    // 4. invalid user by id
    let (st, body) = s
        .scim("GET", "/Users/010101001010101011001010101011", None)
        .await?;
    assert_eq!(st, 404);
    assert_error(&body, 404);

    // 5. random user doesn't exist
    let random_email = format!("r{}@example.org", uuid::Uuid::new_v4().simple());
    let (st, body) = s
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                enc(&format!(r#"userName eq "{random_email}""#))
            ),
            None,
        )
        .await?;
    assert_eq!(st, 200);
    assert_eq!(body["totalResults"], 0);

    // 6. create with realistic values (Content-Type: application/json)
    let random_username = format!("u{}@example.org", uuid::Uuid::new_v4().simple());
    let create = json!({"schemas":[USER],"userName":random_username,
        "name":{"givenName":"Given","familyName":"Family"},
        "emails":[{"primary":true,"value":random_email,"type":"work"}],
        "displayName":"Given Family","active":true});
    let resp = s
        .http
        .post(format!("{}/Users", s.scim_base))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/json")
        .body(create.to_string())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await?;
    assert_eq!(body["active"], true);
    assert_eq!(body["name"]["familyName"], "Family");
    assert_eq!(body["name"]["givenName"], "Given");
    assert!(body["schemas"].as_array().unwrap().contains(&json!(USER)));
    assert_eq!(body["userName"], random_username.as_str());
    let id_one = body["id"].as_str().unwrap().to_string();

    // 7. verify created
    let (st, body) = s.scim("GET", &format!("/Users/{id_one}"), None).await?;
    assert_eq!(st, 200);
    assert_eq!(body["userName"], random_username.as_str());

    // 8. recreate with the same values → 409
    let mut again = create.clone();
    again["emails"][0]["value"] = json!(random_username);
    let (st, body) = s.scim("POST", "/Users", Some(again)).await?;
    assert_eq!(st, 409);
    assert_error(&body, 409);

    // 9. username case sensitivity check
    let (st, body) = s
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                enc(&format!(
                    r#"userName eq "{}""#,
                    random_username.to_uppercase()
                ))
            ),
            None,
        )
        .await?;
    assert_eq!(st, 200);
    assert_eq!(
        body["totalResults"], 1,
        "userName matches case-insensitively"
    );

    // 10. GET /Groups
    let (st, body) = s.scim("GET", "/Groups", None).await?;
    assert_eq!(st, 200);
    assert_list(&body);
    Ok(())
}
