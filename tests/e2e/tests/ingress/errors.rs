//! Every error a SCIM client can cause gets a SCIM error body with the right
//! status and scimType, never a 500, and changes nothing (`docs/architecture.md` §3, invariant 8).

use e2e::{okta_user, Stack, StackOptions};
use serde_json::{json, Value};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

async fn ingress_only() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await
}

async fn raw(
    s: &Stack,
    method: &str,
    path: &str,
    ct: &str,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value, reqwest::header::HeaderMap)> {
    let resp = s
        .http
        .request(method.parse()?, format!("{}{}", s.scim_base, path))
        .bearer_auth(&s.token)
        .header("Content-Type", ct)
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    ))
}

fn assert_scim_error(status: u16, body: &Value, want: u16, scim_type: Option<&str>) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["schemas"][0], ERROR, "{body}");
    assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "{body}");
    }
}

async fn user_count(s: &Stack) -> anyhow::Result<u64> {
    let (_, body) = s.scim("GET", "/Users?count=0", None).await?;
    Ok(body["totalResults"].as_u64().unwrap_or(u64::MAX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_scim_errors_and_store_nothing() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let ct = "application/scim+json";

    let (st, body, _) = raw(&s, "POST", "/Users", ct, b"{\"userName\": ".to_vec()).await?;
    assert_scim_error(st, &body, 400, Some("invalidSyntax"));

    let (st, body, _) = raw(&s, "POST", "/Users", ct, b"[1,2]".to_vec()).await?;
    assert_scim_error(st, &body, 400, None);

    let mut no_name = okta_user("a@b.c", "A", "B");
    no_name.as_object_mut().unwrap().remove("userName");
    let (st, body) = s.scim("POST", "/Users", Some(no_name)).await?;
    assert_scim_error(st, &body, 400, Some("invalidValue"));

    let mut wrong_type = okta_user("a@b.c", "A", "B");
    wrong_type["active"] = json!(42);
    let (st, body) = s.scim("POST", "/Users", Some(wrong_type)).await?;
    assert_scim_error(st, &body, 400, None);

    let mut bad_schema = okta_user("a@b.c", "A", "B");
    bad_schema["schemas"] = json!(["urn:example:not:a:schema"]);
    let (st, body) = s.scim("POST", "/Users", Some(bad_schema)).await?;
    assert_scim_error(st, &body, 400, None);

    let (st, body, _) = raw(&s, "POST", "/Users", "text/plain", b"{}".to_vec()).await?;
    assert_scim_error(st, &body, 415, None);

    let mut huge = okta_user("big@b.c", "A", "B");
    huge["title"] = json!("x".repeat(1024 * 1024 + 10));
    let (st, body, _) = raw(&s, "POST", "/Users", ct, huge.to_string().into_bytes()).await?;
    assert_scim_error(st, &body, 413, None);

    assert_eq!(
        user_count(&s).await?,
        0,
        "no rejected request stored anything"
    );

    let (st, body) = s.scim("GET", "/Nope", None).await?;
    assert_scim_error(st, &body, 404, None);
    let (st, body) = s.scim("DELETE", "/Users", None).await?;
    assert_scim_error(st, &body, 405, None);

    for f in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "nosuchattr eq \"a\"",
        "active gt \"x\"",
    ] {
        let (st, body) = s
            .scim("GET", &format!("/Users?filter={}", urlencode(f)), None)
            .await?;
        assert_scim_error(st, &body, 400, Some("invalidFilter"));
    }
    let (st, body) = s.scim("GET", "/Users?count=abc", None).await?;
    assert_scim_error(st, &body, 400, None);
    Ok(())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_tenant_isolation() -> anyhow::Result<()> {
    let a = ingress_only().await?;
    let (_, created) = a
        .scim(
            "POST",
            "/Users",
            Some(okta_user("only.a@okta.local", "A", "A")),
        )
        .await?;
    let id = created["id"].as_str().unwrap().to_string();

    // Missing, wrong, and wrong-scheme tokens → 401 with WWW-Authenticate.
    for auth in [None, Some("Bearer nope"), Some("Basic abc"), Some("Bearer")] {
        let mut req = a.http.get(format!("{}/Users", a.scim_base));
        if let Some(h) = auth {
            req = req.header("Authorization", h);
        }
        let resp = req.send().await?;
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        assert!(resp.headers().get("www-authenticate").is_some());
        let body: Value = resp.json().await?;
        assert_eq!(body["schemas"][0], ERROR);
    }
    // Scheme is case-insensitive.
    let resp = a
        .http
        .get(format!("{}/Users/{id}", a.scim_base))
        .header("Authorization", format!("bEaReR {}", a.token))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);

    // A second tenant on the same ingress and Redis cannot see or touch it.
    let redis = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let store = shared::tenant::TenantStore::new(
        redis,
        shared::keys::Keys::new(a.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    );
    let other = store.install("other-tenant", "k2").await?.bearer_token;
    e2e::logscan::remember_secret(&other);
    let (st, body) = a
        .scim_as(&other, "GET", &format!("/Users/{id}"), None)
        .await?;
    assert_eq!(st, 404, "{body}");
    let (st, _) = a
        .scim_as(
            &other,
            "PUT",
            &format!("/Users/{id}"),
            Some(okta_user("only.a@okta.local", "X", "X")),
        )
        .await?;
    assert_eq!(st, 404);
    let (st, _) = a
        .scim_as(
            &other,
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"Operations":[{"op":"replace","value":{"active":false}}]})),
        )
        .await?;
    assert_eq!(st, 404);
    let (_, list) = a.scim_as(&other, "GET", "/Users", None).await?;
    assert_eq!(list["totalResults"], 0);
    // The same userName is free in the other tenant.
    let (st, _) = a
        .scim_as(
            &other,
            "POST",
            "/Users",
            Some(okta_user("only.a@okta.local", "B", "B")),
        )
        .await?;
    assert_eq!(st, 201);
    let (_, mine) = a.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(mine["name"]["givenName"], "A", "untouched");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_and_if_match() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let (_, created) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("etag@okta.local", "E", "T")),
        )
        .await?;
    let id = created["id"].as_str().unwrap();
    let version = created["meta"]["version"].as_str().unwrap().to_string();
    let url = format!("{}/Users/{id}", s.scim_base);

    let stale = s
        .http
        .put(&url)
        .bearer_auth(&s.token)
        .header("If-Match", "W/\"999\"")
        .header("Content-Type", "application/scim+json")
        .body(okta_user("etag@okta.local", "Changed", "T").to_string())
        .send()
        .await?;
    assert_eq!(stale.status().as_u16(), 412);
    let (_, now) = s.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(now["name"]["givenName"], "E", "a 412 changes nothing");

    let fresh = s
        .http
        .put(&url)
        .bearer_auth(&s.token)
        .header("If-Match", &version)
        .header("Content-Type", "application/scim+json")
        .body(okta_user("etag@okta.local", "Changed", "T").to_string())
        .send()
        .await?;
    assert_eq!(fresh.status().as_u16(), 200);
    assert!(fresh.headers().get("etag").is_some());
    let body: Value = fresh.json().await?;
    assert_ne!(body["meta"]["version"].as_str().unwrap(), version);

    let del = s
        .http
        .delete(&url)
        .bearer_auth(&s.token)
        .header("If-Match", &version)
        .send()
        .await?;
    assert_eq!(del.status().as_u16(), 412, "old version no longer matches");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_password_and_extensions() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mut u = okta_user("custom@okta.local", "C", "F");
    u["custom_fields"] = json!({"cost_center": "CC-1"});
    u["custom_fields.office"] = json!("Berlin");
    u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "IT", "employeeNumber": "42"});
    let (st, created) = s.scim("POST", "/Users", Some(u)).await?;
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["custom_fields"]["cost_center"], "CC-1");
    assert_eq!(created["custom_fields"]["office"], "Berlin");
    assert!(created.get("custom_fields.office").is_none());
    assert_eq!(
        created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "IT"
    );
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap();

    // PATCH path custom_fields.NAME.
    let (st, body) = s
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(
                json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"replace","path":"custom_fields.cost_center","value":"CC-2"}]}),
            ),
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["custom_fields"]["cost_center"], "CC-2");
    assert_eq!(body["custom_fields"]["office"], "Berlin");

    // The password is not stored anywhere in Redis.
    let client = redis::Client::open(e2e::redis_url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", s.prefix))
        .query_async(&mut con)
        .await?;
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query_async(&mut con).await?;
        if t == "hash" {
            let vals: Vec<String> = redis::cmd("HVALS").arg(&k).query_async(&mut con).await?;
            assert!(
                vals.iter().all(|v| !v.contains("1mz050nq")),
                "password stored in {k}"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bearer_tokens_are_rate_limited_per_address() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // The default allowance is WEB_AUTH_FAILURES_PER_MIN=10 failures per
    // minute per address (ingress/src/guard/limiter.rs: a burst of 10, then
    // one more every 6 s); guessing past it is refused with a SCIM 429. The
    // 11th failure is still answered 401 (it is the one found over the
    // allowance), so a fast client sees 11 401s, then 429. A slow machine
    // earns one more allowed failure per 6 s elapsed: the count is checked
    // against the allowance over the time the guesses actually took.
    const PER_MIN: u64 = 10;
    const MOST_GUESSES: usize = 100;
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..MOST_GUESSES {
        let resp = s
            .http
            .get(format!("{}/Users", s.scim_base))
            .bearer_auth(format!("guess-{i}"))
            .send()
            .await?;
        statuses.push(resp.status().as_u16());
        if resp.status().as_u16() == 429 {
            refused = Some(resp);
            break;
        }
    }
    let took = started.elapsed();
    let resp = refused.ok_or_else(|| {
        anyhow::anyhow!("{MOST_GUESSES} wrong tokens and never a 429: {statuses:?}")
    })?;
    let failed = statuses.len() - 1;
    assert!(statuses[..failed].iter().all(|s| *s == 401), "{statuses:?}");
    let refill = took.as_secs() * PER_MIN / 60;
    assert!(
        failed as u64 > PER_MIN && failed as u64 <= PER_MIN + 1 + refill,
        "{failed} failures answered 401 in {took:?}; the allowance is {PER_MIN} + 1, plus {refill} refilled: {statuses:?}"
    );
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().await?;
    assert_eq!(body["schemas"][0], ERROR);
    Ok(())
}
