//! The settings and status pages over plain HTTP: sign-in (token, or
//! domain and API key), cookie flags, CSRF, the custom fields with their
//! Okta External Names, the budget, status counts and search, and that one
//! tenant's session never shows or touches another tenant's data.

use std::time::Duration;

use super::common::*;
use e2e::{okta_user, wait_for, Stack, StackOptions};
use serde_json::json;

const CONVERGE: Duration = Duration::from_secs(30);

fn fields() -> serde_json::Value {
    json!([
        {"name": "cost_center", "label": "Cost center", "type": "custom_dropdown", "choices": ["Engineering", "Sales"]},
        {"name": "employee_number", "label": "Employee number", "type": "custom_text"},
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_settings_budget_and_csrf() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..web_options()
    })
    .await?;
    let (domain, key, _) = sim_account(&stack, fields()).await?;
    let (_, body) = install(&stack, &domain, &key, false).await?;
    let token = body["bearer_token"].as_str().unwrap().to_string();

    let mut admin = Admin::new(&stack);
    // Not signed in: sent to sign in.
    let (s, _) = admin.get("/settings").await?;
    assert_eq!(s, 303);
    assert_eq!(admin.sign_in(&[("token", "nope")]).await?, 401);
    assert_eq!(
        admin
            .sign_in(&[("domain", &domain), ("api_key", "wrong")])
            .await?,
        401
    );
    assert_eq!(admin.sign_in(&[("token", &token)]).await?, 303);
    let set = admin.last_set_cookie.clone().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains(&token), "the cookie is not the token");

    let (s, html) = admin.get("/settings").await?;
    assert_eq!(s, 200);
    assert!(
        html.contains("custom_fields.cost_center"),
        "External Name shown"
    );
    assert!(html.contains("custom_fields.employee_number"));
    assert!(html.contains("urn:ietf:params:scim:schemas:core:2.0:User"));
    assert!(html.contains("Engineering, Sales"), "choices shown");
    assert!(html.contains("name.givenName"), "default mapping shown");
    assert!(
        !html.contains(&token) && !html.contains(&key),
        "no secret on the page"
    );

    // Budget: CSRF required, then saved.
    let (s, _, _) = admin
        .post_form("/settings/budget", &[("rate_limit_per_min", "40")])
        .await?;
    assert_eq!(s, 403, "no CSRF token, no change");
    let c = csrf(&html);
    let (s, page, _) = admin
        .post_form(
            "/settings/budget",
            &[("csrf", &c), ("rate_limit_per_min", "lots")],
        )
        .await?;
    assert_eq!(s, 400);
    assert!(page.contains("whole number"));
    let (s, _, loc) = admin
        .post_form(
            "/settings/budget",
            &[("csrf", &c), ("rate_limit_per_min", "40")],
        )
        .await?;
    assert_eq!((s, loc.as_deref()), (303, Some("/settings?saved=budget")));
    let (_, html) = admin.get("/settings").await?;
    assert!(html.contains("value=\"40\""));

    // Sign-in with domain + API key works too; sign-out ends the session.
    let mut other = Admin::new(&stack);
    assert_eq!(
        other
            .sign_in(&[
                ("domain", &format!("{domain}.freshservice.com")),
                ("api_key", &key)
            ])
            .await?,
        303
    );
    let (_, html) = other.get("/status").await?;
    let (s, _, _) = other
        .post_form("/signout", &[("csrf", &csrf(&html))])
        .await?;
    assert_eq!(s, 303);
    assert_eq!(other.get("/status").await?.0, 303, "session ended");

    // Re-install ends existing sessions (they were opened with the old token).
    assert_eq!(install(&stack, &domain, &key, true).await?.0, 201);
    assert_eq!(admin.get("/settings").await?.0, 303);
    assert_no_secrets_logged();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_search_and_tenant_isolation() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 1,
        ..web_options()
    })
    .await?;
    secret(&stack.token);
    // Tenant A is the stack's own; tenant B installs through the API.
    let (b_domain, b_key, _) = sim_account(&stack, fields()).await?;
    let (_, b) = install(&stack, &b_domain, &b_key, false).await?;
    let b_token = b["bearer_token"].as_str().unwrap().to_string();

    let a_user = okta_user("alice.a@example.com", "Alice", "Able");
    let (s, _) = stack.scim("POST", "/Users", Some(a_user)).await?;
    assert_eq!(s, 201);
    let mut bad = okta_user("bob.b@example.com", "Bob", "Baker");
    bad["custom_fields"] = json!({"cost_center": "Marketing"});
    let (s, b_doc) = stack.scim_as(&b_token, "POST", "/Users", Some(bad)).await?;
    assert_eq!(s, 201, "{b_doc}");

    let mut a = Admin::new(&stack);
    assert_eq!(a.sign_in(&[("token", &stack.token)]).await?, 303);
    let mut bb = Admin::new(&stack);
    assert_eq!(bb.sign_in(&[("token", &b_token)]).await?, 303);

    wait_for("A's user in sync", CONVERGE, || async {
        let (_, html) = a.get("/status").await?;
        Ok(html.contains("id=\"count-in-sync\">1<").then_some(()))
    })
    .await?;
    let b_html = wait_for("B's dead letter on B's page", CONVERGE, || async {
        let (_, html) = bb.get("/status").await?;
        Ok(html.contains("data-message-id").then_some(html))
    })
    .await?;
    assert!(b_html.contains("id=\"count-failed\">1<"), "failed count");
    assert!(b_html.contains("cost_center"), "the reason names the field");
    let a_html = a.get("/status").await?.1;
    assert!(a_html.contains("id=\"count-known\">1<"));
    assert!(
        a_html.contains("id=\"no-dead\""),
        "A sees none of B's dead letters"
    );
    assert!(
        !a_html.contains("bob.b@example.com") && !a_html.contains(b_doc["id"].as_str().unwrap())
    );

    // Search finds only one's own users.
    let (_, found) = a.get("/status?q=ALICE.A@example.com").await?;
    assert!(
        found.contains("data-user=\"alice.a@example.com\""),
        "search by userName"
    );
    assert!(found.contains("in sync"));
    let (_, none) = a.get("/status?q=bob.b@example.com").await?;
    assert!(
        !none.contains("data-user=\"bob.b@example.com\""),
        "B's user invisible to A"
    );

    // A cannot replay B's dead letter, even knowing its id.
    let at = b_html.find("data-message-id=\"").unwrap() + 17;
    let msg_id = b_html[at..].split('"').next().unwrap().to_string();
    let (s, _, loc) = a
        .post_form(
            "/status/replay",
            &[("csrf", &csrf(&a_html)), ("message_id", &msg_id)],
        )
        .await?;
    assert_eq!((s, loc.as_deref()), (303, Some("/status?replayed=0")));
    let (_, b_after) = bb.get("/status").await?;
    assert!(b_after.contains(&msg_id), "B's dead letter untouched");

    // A's cookie with B's tenant id swapped in is not a session.
    let forged = a
        .cookie
        .clone()
        .unwrap()
        .replace(&stack.tenant_id, b["tenant_id"].as_str().unwrap());
    let resp = a
        .http
        .get(format!("{}/status", a.base))
        .header("cookie", forged)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 303);

    // B's settings list B's fields; A's account has none.
    assert!(bb
        .get("/settings")
        .await?
        .1
        .contains("custom_fields.cost_center"));
    assert!(!a
        .get("/settings")
        .await?
        .1
        .contains("custom_fields.cost_center"));
    stack.stop().await;
    assert_no_secrets_logged();
    Ok(())
}

/// A tenant paused by an operator (`ingress tenant pause`) says so, with
/// the reason, on its status and settings pages; resumed, it is active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_tenant_says_so_on_its_pages() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..web_options()
    })
    .await?;
    let cfg = ingress::config::IngressConfig::from_source(stack.env())?;
    let ops = ingress::cli::ops::Ops::connect(&cfg.common).await?;
    ops.pause(&stack.tenant_id, Some("moving to the Pro plan"))
        .await?;
    let mut admin = Admin::new(&stack);
    assert_eq!(admin.sign_in(&[("token", &stack.token)]).await?, 303);
    let said = "Paused by an operator (moving to the Pro plan)";
    for page in ["/status", "/settings"] {
        let (s, html) = admin.get(page).await?;
        assert_eq!(s, 200, "{page}");
        assert!(html.contains(said), "{page}: {html}");
    }
    ops.resume(&stack.tenant_id).await?;
    let (_, html) = admin.get("/status").await?;
    assert!(html.contains("Active: changes flow"), "{html}");
    let (_, html) = admin.get("/settings").await?;
    assert!(!html.contains("Paused by an operator"), "{html}");
    stack.stop().await;
    Ok(())
}
