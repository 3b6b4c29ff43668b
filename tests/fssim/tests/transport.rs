//! Auth, content negotiation and response conventions (`docs/freshservice.md` §1, §5).

mod common;

use common::{body, T};
use reqwest::Method;
use serde_json::json;

// §1 Auth: missing Authorization → 401 invalid_credentials with the top-level code/message shape (§5).
#[tokio::test]
async fn missing_or_wrong_key_is_401_invalid_credentials() {
    let t = T::new().await;
    let expected = json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."});

    let r = t.c.get(t.url("/requesters")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await, expected);

    let r =
        t.c.get(t.url("/requesters"))
            .basic_auth("nope", Some("X"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await, expected);

    // Any password works with the right key (§1: "any dummy password").
    let r =
        t.c.get(t.url("/requesters"))
            .basic_auth("k", Some("whatever"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
}

// §1: username/password basic auth is deprecated → 401 unsupported_authentication_type.
#[tokio::test]
async fn username_password_auth_is_unsupported() {
    let t = T::new().await;
    let r =
        t.c.get(t.url("/requesters"))
            .basic_auth("admin@acme.com", Some("secret"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["code"], "unsupported_authentication_type");
}

// §1 key scope / §5 403: a key without admin rights is denied on requester and agent endpoints.
#[tokio::test]
async fn non_admin_key_gets_403_access_denied() {
    let t = T::new().await;
    for path in ["/requesters", "/agents", "/requester_groups"] {
        let r =
            t.c.get(t.url(path))
                .basic_auth("weak", Some("X"))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(body(r).await["code"], "access_denied");
    }
    // Reading fields stays possible.
    let r =
        t.c.get(t.url("/requester_fields"))
            .basic_auth("weak", Some("X"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
}

// §5 404: an invalid domain in the URL.
#[tokio::test]
async fn unknown_domain_is_404() {
    let t = T::new().await;
    let r =
        t.c.get(format!("{}/nosuch/api/v2/requesters", t.sim.base_url))
            .basic_auth("k", Some("X"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 404);
    // An invalid URL inside a known account too.
    assert_eq!(t.get("/nothing_here").await.status(), 404);
    assert_eq!(t.get("/requesters/not-a-number").await.status(), 404);
    assert_eq!(t.get("/requesters/12345").await.status(), 404);
}

// §1 Format: a body that is not application/json → 415.
#[tokio::test]
async fn non_json_content_type_is_415() {
    let t = T::new().await;
    let r = t
        .req(Method::POST, "/requesters")
        .header("content-type", "text/plain")
        .body(r#"{"first_name":"A","primary_email":"a@x.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(body(r).await["code"], "invalid_content_type");
    let r = t
        .req(Method::POST, "/requesters")
        .body(r#"{"first_name":"A","primary_email":"a@x.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // application/json with a charset is fine.
    let r = t
        .req(Method::POST, "/requesters")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"first_name":"A","primary_email":"a@x.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(t.state().await["requesters"].as_array().unwrap().len() == 1);
}

// §1 Format: Accept must be application/json or */*, otherwise 406.
#[tokio::test]
async fn wrong_accept_is_406() {
    let t = T::new().await;
    let r = t
        .req(Method::GET, "/requesters")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    for ok in [
        "application/json",
        "*/*",
        "text/html, application/json;q=0.9",
    ] {
        let r = t
            .req(Method::GET, "/requesters")
            .header("accept", ok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ok}");
    }
}

// §5 invalid_json: malformed JSON → 400 with code invalid_json.
#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let t = T::new().await;
    let r = t
        .req(Method::POST, "/requesters")
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        json!({"description": "Validation failed", "errors": [{"message": "Request body has invalid json format", "code": "invalid_json"}]})
    );
}

// §1 response header X-Freshservice-Api-Version; §6 rate-limit headers on every answer, errors too.
#[tokio::test]
async fn version_and_ratelimit_headers_on_every_answer() {
    let t = T::new().await;
    for r in [
        t.get("/requesters").await,
        t.c.get(t.url("/requesters")).send().await.unwrap(),
        t.get("/requesters/1").await,
    ] {
        let h = r.headers();
        assert_eq!(h["x-freshservice-api-version"], "latest=v2; requested=v2");
        assert!(h.contains_key("x-ratelimit-total"));
        assert!(h.contains_key("x-ratelimit-remaining"));
        assert!(h.contains_key("x-ratelimit-used-currentrequest"));
    }
}
