//! Groups on the admin pages: the settings page says whether Push Groups
//! is safe to turn on (the key may list requester groups; which
//! rule-based names would clash), and the status page shows each pushed
//! group reaching Freshservice, or why it did not.

use std::time::Duration;

use super::common::*;
use e2e::{okta_user, wait_for, Stack};
use serde_json::json;

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_say_push_groups_is_safe_and_status_shows_each_group() -> anyhow::Result<()> {
    let stack = Stack::start_with(web_options()).await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    assert_eq!(
        sim_admin(
            &stack,
            &domain,
            "POST",
            "/requester_groups",
            Some(json!({"name": "Everyone in Paris", "type": "rule_based"}))
        )
        .await?,
        201
    );
    let (_, body) = install(&stack, &domain, &key, false).await?;
    let token = body["bearer_token"].as_str().unwrap().to_string();
    let mut admin = Admin::new(&stack);
    assert_eq!(admin.sign_in(&[("token", &token)]).await?, 303);

    let (st, html) = admin.get("/settings").await?;
    assert_eq!(st, 200);
    assert!(
        html.contains("id=\"push-groups\"") && html.contains("Safe to turn on"),
        "{html}"
    );
    assert!(
        html.contains("Everyone in Paris"),
        "the rule-based name is named"
    );
    assert!(html.contains("0 groups pushed so far"));

    // Two groups pushed through SCIM: one reaches Freshservice, one clashes
    // with the rule-based group.
    let (st, u) = stack
        .scim_as(
            &token,
            "POST",
            "/Users",
            Some(okta_user("web.member@okta.local", "W", "M")),
        )
        .await?;
    assert_eq!(st, 201, "{u}");
    for name in ["Web Team", "Everyone in Paris"] {
        let (st, g) = stack
            .scim_as(
                &token,
                "POST",
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": name, "members": [{"value": u["id"]}]})),
            )
            .await?;
        assert_eq!(st, 201, "{g}");
    }
    let html = wait_for(
        "the status page to show both groups settled",
        Duration::from_secs(20),
        || {
            let admin = &admin;
            async move {
                let (_, html) = admin.get("/status").await?;
                Ok((html.contains("in sync") && html.contains("rule-based")).then_some(html))
            }
        },
    )
    .await?;
    assert!(html.contains("data-group=\"Web Team\""), "{html}");
    assert!(html.contains("data-group=\"Everyone in Paris\""));
    assert!(html.contains("failed"), "the clash is a visible failure");
    let (_, html) = admin.get("/settings").await?;
    assert!(html.contains("2 groups pushed so far"));
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_freshservice_refuses_makes_push_groups_not_safe() -> anyhow::Result<()> {
    let stack = Stack::start_with(web_options()).await?;
    let (domain, key, _) = sim_account(&stack, json!([])).await?;
    let (_, body) = install(&stack, &domain, &key, false).await?;
    let token = body["bearer_token"].as_str().unwrap().to_string();
    let mut admin = Admin::new(&stack);
    assert_eq!(admin.sign_in(&[("token", &token)]).await?, 303);
    // The key is revoked in Freshservice after the install.
    assert!(
        sim_admin(
            &stack,
            &domain,
            "PUT",
            "/faults",
            Some(json!({"revoke_keys": true}))
        )
        .await?
            < 300
    );
    let (st, html) = admin.get("/settings").await?;
    assert_eq!(st, 200);
    assert!(html.contains("Not safe to turn on yet"), "{html}");
    stack.stop().await;
    Ok(())
}
