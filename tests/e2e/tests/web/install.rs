//! The install API against the Freshservice simulator: a good install, every
//! error an admin can make (each with a message saying what to do, nothing
//! stored), re-install revoking the old token, uninstall removing the
//! tenant and all its state, the brute-force limit, master-key rotation,
//! and that no secret used here was ever logged.

use std::collections::HashMap;

use super::common::*;
use e2e::{okta_user, Stack, StackOptions};
use serde_json::{json, Value};

async fn stack() -> anyhow::Result<Stack> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ..web_options()
    })
    .await?;
    secret(&s.token);
    secret(&s.api_key);
    Ok(s)
}

/// Redis keys that mention a domain (the registry's domain key).
async fn domain_keys(stack: &Stack, domain: &str) -> anyhow::Result<Vec<String>> {
    Ok(all_keys(stack)
        .await?
        .into_iter()
        .filter(|k| k.contains(domain))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_answers_token_and_scim_works_with_it() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    // The admin may paste the full URL, in any case.
    let (status, body) = install(
        &stack,
        &format!("https://{}.freshservice.com/", domain.to_uppercase()),
        &key,
        false,
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let token = body["bearer_token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert_eq!(body["scim_base_url"], json!(stack.scim_base));
    assert_eq!(body["domain"], json!(domain));
    assert_eq!(body["replaced"], json!(false));
    let (s, _) = stack.scim_as(token, "GET", "/Users", None).await?;
    assert_eq!(s, 200);
    // The key is stored encrypted, the token only hashed.
    let client = redis::Client::open(e2e::redis_url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let tenant = body["tenant_id"].as_str().unwrap();
    let record: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("{}:{{{tenant}}}:tenant", stack.prefix))
        .query_async(&mut con)
        .await?;
    let dump = format!("{record:?}");
    assert!(
        !dump.contains(&key) && !dump.contains(token),
        "secrets stored in the clear"
    );
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_install_error_says_what_to_do_and_stores_nothing() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, weak) = sim_account(&stack, json!([])).await?;
    let before = all_keys(&stack).await?.len();
    let cases: Vec<(String, String, u16, &str, &str)> = vec![
        (
            unique("nosuch"),
            key.clone(),
            422,
            "unknown_domain",
            "Check the domain",
        ),
        (
            domain.clone(),
            secret(&unique("wrong")),
            422,
            "invalid_api_key",
            "Profile Settings",
        ),
        (
            domain.clone(),
            weak.clone(),
            422,
            "api_key_not_admin",
            "admin",
        ),
        (
            "acme.evil.com".into(),
            key.clone(),
            400,
            "invalid_domain",
            "subdomain",
        ),
        (
            "http://169.254.169.254/".into(),
            key.clone(),
            400,
            "invalid_domain",
            "subdomain",
        ),
        (
            domain.clone(),
            "   ".into(),
            400,
            "missing_api_key",
            "API key",
        ),
    ];
    for (d, k, status, code, hint) in cases {
        let (s, body) = install(&stack, &d, &k, false).await?;
        assert_eq!(s, status, "{d}: {body}");
        assert_eq!(body["error"], json!(code), "{body}");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains(hint), "{code}: {msg}");
        assert!(
            !msg.contains(&k) || k.trim().is_empty(),
            "the key echoed back"
        );
    }
    assert_eq!(
        all_keys(&stack).await?.len(),
        before,
        "nothing stored on failure"
    );
    assert!(domain_keys(&stack, &domain).await?.is_empty());
    // Malformed JSON is a clear 400 too.
    let resp = stack
        .http
        .post(format!("{}/api/install", base(&stack)))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.json::<Value>().await?["error"], json!("bad_request"));
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshservice_timeout_is_reported_and_nothing_stored() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    // Slower than INSTALL_CHECK_TIMEOUT_MS (1.5 s in these tests).
    sim_admin(
        &stack,
        &domain,
        "PUT",
        "/faults",
        Some(json!({"latency_ms": 4000})),
    )
    .await?;
    let (s, body) = install(&stack, &domain, &key, false).await?;
    assert_eq!(s, 504, "{body}");
    assert_eq!(body["error"], json!("freshservice_timeout"));
    assert!(
        body["message"].as_str().unwrap().contains("Try again"),
        "{body}"
    );
    assert!(domain_keys(&stack, &domain).await?.is_empty());
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_freshservice_is_reported_and_nothing_stored() -> anyhow::Result<()> {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ingress_env: {
            let mut env = web_settings();
            env.insert(
                "FRESHSERVICE_URL_TEMPLATE".to_string(),
                format!("http://127.0.0.1:{closed}/{{domain}}"),
            );
            env
        },
        ..web_options()
    })
    .await?;
    let before = all_keys(&stack).await?.len();
    let key = secret(&unique("key"));
    let (s, body) = install(&stack, "acme", &key, false).await?;
    assert_eq!(s, 502, "{body}");
    assert_eq!(body["error"], json!("freshservice_unreachable"));
    assert!(
        body["message"].as_str().unwrap().contains("can reach"),
        "{body}"
    );
    assert_eq!(all_keys(&stack).await?.len(), before);
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstall_warns_then_revokes_the_old_token() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    let (_, first) = install(&stack, &domain, &key, false).await?;
    let old = first["bearer_token"].as_str().unwrap().to_string();

    // Without confirmation: a warning, and the old token still works.
    let (s, body) = install(&stack, &domain, &key, false).await?;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"], json!("already_installed"));
    assert!(body["message"].as_str().unwrap().contains("stops working"));
    assert_eq!(stack.scim_as(&old, "GET", "/Users", None).await?.0, 200);

    // A wrong key cannot re-install (nor learn that the domain is installed).
    let (s, body) = install(&stack, &domain, &secret(&unique("bad")), true).await?;
    assert_eq!((s, body["error"].as_str()), (422, Some("invalid_api_key")));

    let (s, second) = install(&stack, &domain, &key, true).await?;
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["replaced"], json!(true));
    assert_eq!(
        second["tenant_id"], first["tenant_id"],
        "same tenant, new token"
    );
    let new = second["bearer_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        stack.scim_as(&old, "GET", "/Users", None).await?.0,
        401,
        "old token revoked"
    );
    assert_eq!(stack.scim_as(new, "GET", "/Users", None).await?.0, 200);
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_removes_tenant_keys_and_scim_state() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    let (_, body) = install(&stack, &domain, &key, false).await?;
    let token = body["bearer_token"].as_str().unwrap().to_string();
    let tenant = body["tenant_id"].as_str().unwrap().to_string();
    for i in 0..3 {
        let (s, b) = stack
            .scim_as(
                &token,
                "POST",
                "/Users",
                Some(okta_user(&format!("u{i}@example.com"), "U", "Ser")),
            )
            .await?;
        assert_eq!(s, 201, "{b}");
    }
    assert!(tenant_keys(&stack, &tenant).await?.len() > 3);

    let url = format!("{}/api/install", base(&stack));
    // A wrong token uninstalls nothing.
    let r = stack
        .http
        .delete(&url)
        .bearer_auth(secret(&unique("nottoken")))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(stack.scim_as(&token, "GET", "/Users", None).await?.0, 200);

    let r = stack.http.delete(&url).bearer_auth(&token).send().await?;
    assert_eq!(r.status().as_u16(), 204);
    assert!(
        tenant_keys(&stack, &tenant).await?.is_empty(),
        "every {{tenant}} key removed"
    );
    assert!(
        domain_keys(&stack, &domain).await?.is_empty(),
        "domain mapping removed"
    );
    assert!(
        !all_keys(&stack).await?.iter().any(|k| k.contains(&tenant)),
        "no key names the tenant"
    );
    assert_eq!(stack.scim_as(&token, "GET", "/Users", None).await?.0, 401);
    let r = stack.http.delete(&url).bearer_auth(&token).send().await?;
    assert_eq!(r.status().as_u16(), 401, "already gone");
    // The stack's own tenant is untouched.
    assert_eq!(stack.scim("GET", "/Users", None).await?.0, 200);
    // And the account can be installed afresh.
    assert_eq!(install(&stack, &domain, &key, false).await?.0, 201);
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_from_one_address_get_429() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    let mut statuses = vec![];
    for _ in 0..12 {
        let (s, body) = install(&stack, &domain, &secret(&unique("guess")), false).await?;
        statuses.push(s);
        if s == 429 {
            assert_eq!(body["error"], json!("too_many_attempts"));
            assert!(body["message"].as_str().unwrap().contains("Wait"));
        }
    }
    assert!(statuses.iter().take(10).all(|s| *s == 422), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // While refused, even the right key waits (the guesser learns nothing).
    assert_eq!(install(&stack, &domain, &key, false).await?.0, 429);
    // Sign-in guesses count against the same allowance.
    let mut admin = Admin::new(&stack);
    assert_eq!(admin.sign_in(&[("token", "guess")]).await?, 429);
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_master_key_keeps_every_tenant_working() -> anyhow::Result<()> {
    let stack = stack().await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    assert_eq!(install(&stack, &domain, &key, false).await?.0, 201);
    let redis = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let old = shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?;
    let new_b64 = shared::crypto::MasterKey::generate_base64();
    e2e::logscan::remember_secret(&new_b64);
    let new = shared::crypto::MasterKey::parse(&new_b64)?;
    let store = shared::tenant::TenantStore::new(redis.clone(), keys.clone(), old);
    let report = store.rotate_master_key(&new).await?;
    assert_eq!(
        (report.rotated, report.already, report.failed.len()),
        (2, 0, 0),
        "{report:?}"
    );
    // Interrupted-and-rerun is harmless.
    let again = store.rotate_master_key(&new).await?;
    assert_eq!((again.rotated, again.already), (0, 2));
    let rotated = shared::tenant::TenantStore::new(redis, keys, new);
    let t = rotated.by_domain(&domain).await?.unwrap();
    assert_eq!(rotated.api_key(&t)?, key);
    assert!(store.api_key(&t).is_err(), "the old key no longer opens it");
    let listed = rotated.list().await?;
    assert_eq!(listed.len(), 2);
    assert_no_secrets_logged();
    Ok(())
}
