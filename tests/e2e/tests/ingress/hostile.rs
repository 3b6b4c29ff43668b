//! Hostile input from a tenant holding a valid token, through the real
//! ingress over HTTP: each request here once crashed the whole process
//! (stack overflow), cost it seconds of CPU, made a look-alike second user,
//! locked out a right token, or signed a browser into another tenant. Each
//! now gets a clear SCIM (or page) error and the ingress keeps serving.

use e2e::{okta_user, Stack, StackOptions};
use serde_json::{json, Value};

async fn ingress_only() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await
}

async fn post_raw(s: &Stack, path: &str, body: String) -> anyhow::Result<(u16, Value)> {
    let resp = s
        .http
        .post(format!("{}{path}", s.scim_base))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

/// The ingress still answers (a stack overflow would have aborted the
/// test process itself, since the stack runs in it).
async fn still_serving(s: &Stack) -> anyhow::Result<()> {
    let (st, body) = s.scim("GET", "/Users?count=0", None).await?;
    assert_eq!(st, 200, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_filters_paths_and_projections_are_refused_not_crashing() -> anyhow::Result<()> {
    let s = ingress_only().await?;

    // The probe's reproduction: 30,000 `id pr` joined by `and` in a .search body.
    let filter = vec!["id pr"; 30_000].join(" and ");
    let (st, body) = post_raw(&s, "/.search", json!({ "filter": filter }).to_string()).await?;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["scimType"], "invalidFilter", "{body}");
    // Within the text bound, too many terms.
    let filter = vec!["id pr"; 101].join(" or ");
    let (st, body) = post_raw(
        &s,
        "/Users/.search",
        json!({ "filter": filter }).to_string(),
    )
    .await?;
    assert_eq!(st, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("more than 100"),
        "{body}"
    );
    still_serving(&s).await?;

    // A 200,000-segment dotted path in `attributes`.
    let deep = vec!["name"; 200_000].join(".");
    let (st, body) = post_raw(&s, "/.search", json!({ "attributes": [deep] }).to_string()).await?;
    assert_eq!(st, 200, "{body}");
    still_serving(&s).await?;

    // A PATCH path whose value filter is 30,000 terms long.
    let (st, created) = s
        .scim("POST", "/Users", Some(okta_user("deep@acme.com", "D", "P")))
        .await?;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("emails[{}].display", vec!["value pr"; 30_000].join(" and "));
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": path, "value": "x"}]
    });
    let (st, body) = s
        .scim("PATCH", &format!("/Users/{id}"), Some(patch))
        .await?;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["scimType"], "invalidPath", "{body}");
    still_serving(&s).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_and_broken_utf8_are_syntax_errors() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // 100,000 nested arrays inside a user (serde_json's depth limit holds).
    let deep = format!(
        "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"n@acme.com\",\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (st, body) = post_raw(&s, "/Users", deep).await?;
    assert_eq!(
        (st, body["scimType"].as_str()),
        (400, Some("invalidSyntax")),
        "{body}"
    );
    let resp = s
        .http
        .post(format!("{}/Users", s.scim_base))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body(b"{\"userName\":\"\xff\xfe@acme.com\"}".to_vec())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 400);
    still_serving(&s).await?;
    let (_, list) = s.scim("GET", "/Users?count=0", None).await?;
    assert_eq!(list["totalResults"], 0, "{list}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_emails_are_refused_and_store_nothing() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mut body = okta_user("many@acme.com", "M", "E");
    body["emails"] = Value::Array(
        (0..30_000)
            .map(|i| json!({"value": format!("m{i}@acme.com")}))
            .collect(),
    );
    let (st, answer) = post_raw(&s, "/Users", body.to_string()).await?;
    assert_eq!(st, 400, "{answer}");
    assert_eq!(answer["scimType"], "invalidValue", "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or("")
            .contains("at most 100"),
        "{answer}"
    );
    let (_, list) = s.scim("GET", "/Users?count=0", None).await?;
    assert_eq!(list["totalResults"], 0, "{list}");

    // Up to the bound is fine, and each email is found through the index.
    let mut body = okta_user("hundred@acme.com", "H", "E");
    body["emails"] = Value::Array(
        (0..100)
            .map(|i| json!({"value": format!("h{i}@acme.com")}))
            .collect(),
    );
    let (st, created) = s.scim("POST", "/Users", Some(body)).await?;
    assert_eq!(st, 201, "{created}");
    for i in [0, 57, 99] {
        let q = format!("/Users?filter=emails.value%20eq%20%22H{i}%40ACME.com%22");
        let (st, found) = s.scim("GET", &q, None).await?;
        assert_eq!(
            (st, found["totalResults"].as_u64()),
            (200, Some(1)),
            "{found}"
        );
    }
    // A replace drops the old emails from the index in one go.
    let mut put = created.clone();
    put["emails"] = json!([{"value": "h0@acme.com", "primary": true}]);
    let id = created["id"].as_str().unwrap();
    let (st, _) = s.scim("PUT", &format!("/Users/{id}"), Some(put)).await?;
    assert_eq!(st, 200);
    let (_, found) = s
        .scim(
            "GET",
            "/Users?filter=emails.value%20eq%20%22h57%40acme.com%22",
            None,
        )
        .await?;
    assert_eq!(found["totalResults"], 0, "{found}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_user_names_are_one_user_or_refused() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let create = |name: &str| okta_user(name, "J", "L");
    let (st, body) = s
        .scim("POST", "/Users", Some(create("jos\u{00E9}@acme.com")))
        .await?;
    assert_eq!(st, 201, "{body}");
    // The same name typed with a combining accent (NFD) is the same user.
    let (st, body) = s
        .scim("POST", "/Users", Some(create("jose\u{0301}@acme.com")))
        .await?;
    assert_eq!(
        (st, body["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{body}"
    );

    let (st, body) = s
        .scim("POST", "/Users", Some(create("ivan@acme.com")))
        .await?;
    assert_eq!(st, 201, "{body}");
    // Fullwidth letters fold onto plain ones.
    let (st, body) = s
        .scim("POST", "/Users", Some(create("\u{FF49}van@acme.com")))
        .await?;
    assert_eq!(
        (st, body["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{body}"
    );
    let (_, found) = s
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22%EF%BD%89van%40acme.com%22",
            None,
        )
        .await?;
    assert_eq!(found["totalResults"], 1, "{found}");

    // Invisible, control and mixed-script look-alikes are refused.
    for bad in [
        "i\u{200B}van@acme.com",
        "ivan\u{0}@acme.com",
        "\u{0456}van@acme.com",
    ] {
        let (st, body) = s.scim("POST", "/Users", Some(create(bad))).await?;
        assert_eq!(
            (st, body["scimType"].as_str()),
            (400, Some("invalidValue")),
            "{bad:?}: {body}"
        );
    }
    let (_, list) = s.scim("GET", "/Users?count=0", None).await?;
    assert_eq!(list["totalResults"], 2, "{list}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_never_lock_out_the_right_one() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // Past the allowance (WEB_AUTH_FAILURES_PER_MIN=10) wrong tokens get 429…
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(
            s.scim_as(&format!("wrong-{i}"), "GET", "/Users", None)
                .await?
                .0,
        );
    }
    assert_eq!(statuses[11], 429, "{statuses:?}");
    // …while the right token from the same address keeps working.
    for _ in 0..3 {
        let (st, body) = s.scim("GET", "/Users?count=0", None).await?;
        assert_eq!(st, 200, "{body}");
    }
    let (st, _) = s.scim_as("wrong-again", "GET", "/Users", None).await?;
    assert_eq!(st, 429);

    // The same rule on the sign-in form with the bearer token.
    let signin = |token: String| {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = format!("{}/signin", s.scim_base.trim_end_matches("/scim/v2"));
        async move {
            let resp = http
                .post(url)
                .form(&[("token", token.as_str())])
                .send()
                .await?;
            anyhow::Ok(resp.status().as_u16())
        }
    };
    assert_eq!(signin("wrong".into()).await?, 429);
    assert_eq!(signin(s.token.clone()).await?, 303);

    // And on uninstall: a wrong token waits, the right one uninstalls.
    let uninstall = |token: String| {
        let url = format!("{}/api/install", s.scim_base.trim_end_matches("/scim/v2"));
        let req = s.http.delete(url).bearer_auth(token);
        async move { anyhow::Ok(req.send().await?.status().as_u16()) }
    };
    assert_eq!(uninstall("wrong".into()).await?, 429);
    assert_eq!(uninstall(s.token.clone()).await?, 204);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_from_another_site_is_refused() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let base = s.scim_base.trim_end_matches("/scim/v2").to_owned();
    let host = base.trim_start_matches("http://").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = http
            .post(format!("{base}/signin"))
            .form(&[("token", s.token.as_str())]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let resp = req.send().await?;
            let cookie = resp.headers().get("set-cookie").is_some();
            let status = resp.status().as_u16();
            anyhow::Ok((status, cookie, resp.text().await?))
        }
    };
    // Login CSRF: the attacker's page posts its own token from the victim's browser.
    let (st, cookie, page) = post(vec![("origin", "https://attacker.example".into())]).await?;
    assert_eq!((st, cookie), (403, false), "{page}");
    assert!(page.contains("another site"), "{page}");
    let (st, cookie, _) = post(vec![("origin", "null".into())]).await?;
    assert_eq!((st, cookie), (403, false));
    let (st, cookie, _) = post(vec![
        ("origin", format!("http://{host}")),
        ("sec-fetch-site", "cross-site".into()),
    ])
    .await?;
    assert_eq!((st, cookie), (403, false));
    // Our own page, and a client that is no browser, sign in.
    let (st, cookie, _) = post(vec![
        ("origin", format!("http://{host}")),
        ("sec-fetch-site", "same-origin".into()),
    ])
    .await?;
    assert_eq!((st, cookie), (303, true));
    let (st, cookie, _) = post(vec![]).await?;
    assert_eq!((st, cookie), (303, true));
    // What a browser sends from our page under `Referrer-Policy: no-referrer`.
    let (st, cookie, _) = post(vec![
        ("origin", "null".into()),
        ("sec-fetch-site", "same-origin".into()),
    ])
    .await?;
    assert_eq!((st, cookie), (303, true));
    let (st, cookie, _) = post(vec![
        ("origin", "https://attacker.example".into()),
        ("sec-fetch-site", "same-origin".into()),
    ])
    .await?;
    assert_eq!((st, cookie), (403, false));
    Ok(())
}
