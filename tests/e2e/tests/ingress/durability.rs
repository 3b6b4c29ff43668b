//! `docs/architecture.md` §3, invariants 1 and 3, at the ingress: a change is answered 2xx only when it
//! is in Redis and confirmed by the broker; otherwise 503 and nothing is
//! stored; a stored change whose event was lost is re-published by the
//! sweeper; concurrent writes to one user are serialised, not lost.

use std::time::Duration;

use e2e::{okta_user, wait_for, Stack, StackOptions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_means_503_and_nothing_stored() -> anyhow::Result<()> {
    // A port nothing listens on stands for an unreachable broker.
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ingress_env: [
            (
                "AMQP_URL".to_string(),
                "amqp://guest:guest@127.0.0.1:1/%2f".to_string(),
            ),
            ("PUBLISH_CONFIRM_TIMEOUT_MS".to_string(), "2000".to_string()),
        ]
        .into(),
        ..Default::default()
    })
    .await?;
    let resp = s
        .http
        .post(format!("{}/Users", s.scim_base))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/scim+json")
        .body(okta_user("down@okta.local", "D", "N").to_string())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let body: serde_json::Value = resp.json().await?;
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let (_, list) = s
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22down%40okta.local%22",
            None,
        )
        .await?;
    assert_eq!(list["totalResults"], 0, "a 503 leaves nothing behind");
    // Okta's retry can create it once the broker is back (here: never), and
    // the userName was not left taken.
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_but_unpublished_change_is_swept_to_freshservice() -> anyhow::Result<()> {
    let s = Stack::start().await?;
    let ready = s
        .http
        .get(format!("http://{}/readyz", s.ingress.addr))
        .send()
        .await?;
    assert_eq!(ready.status().as_u16(), 200);
    // Simulate a crash between the Redis write and the publish: write
    // through the store directly, publish nothing.
    let redis = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let store = ingress::store::UserStore::new(redis, shared::keys::Keys::new(s.prefix.clone()));
    let doc = ingress::scim::user::from_request(okta_user("swept@okta.local", "Swept", "Up"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let emails = vec!["swept@okta.local".to_string()];
    let ix = ingress::store::users::IndexFields {
        user_name_lower: "swept@okta.local",
        external_id: None,
        email_keys: &emails,
    };
    store
        .create(&s.tenant_id, "crash-user-1", &doc, &ix)
        .await?;

    let r = wait_for(
        "the sweeper to publish and the worker to create",
        Duration::from_secs(30),
        || async {
            Ok(s.sim_requesters_with_email("swept@okta.local")
                .await?
                .into_iter()
                .next())
        },
    )
    .await?;
    assert_eq!(r["first_name"], "Swept");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_but_unpublished_group_is_swept_to_freshservice() -> anyhow::Result<()> {
    use ingress::{
        scim::group::{GroupDoc, MemberDelta},
        store::{groups::Expect, GroupStore},
    };
    let s = Stack::start().await?;
    // A crash between the Redis write and the publish.
    let redis = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let store = GroupStore::new(redis, shared::keys::Keys::new(s.prefix.clone()));
    let doc = GroupDoc {
        display_name: "Swept Group".into(),
        external_id: None,
    };
    store
        .write(
            &s.tenant_id,
            "crash-group-1",
            &doc,
            &MemberDelta::default(),
            &[],
            Expect::Create,
        )
        .await?;
    wait_for(
        "the sweeper to publish and the worker to create the requester group",
        Duration::from_secs(30),
        || async {
            let state = s.sim_state().await?;
            Ok(state["requester_groups"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|g| g["name"] == "Swept Group")
                .cloned())
        },
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_to_one_user_are_all_kept() -> anyhow::Result<()> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let (_, created) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("busy@okta.local", "B", "Y")),
        )
        .await?;
    let id = created["id"].as_str().unwrap().to_string();
    let n = 16;
    let mut tasks = Vec::new();
    for i in 0..n {
        let http = s.http.clone();
        let url = format!("{}/Users/{id}", s.scim_base);
        let token = s.token.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"add","path":"phoneNumbers","value":[{"type":"other","value":format!("+1-555-{i:04}")}]}]});
            http.patch(url)
                .bearer_auth(token)
                .header("Content-Type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        assert_eq!(t.await??, 200);
    }
    let (_, u) = s.scim("GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(
        u["phoneNumbers"].as_array().map(Vec::len),
        Some(n),
        "no PATCH was lost: {u}"
    );
    assert_eq!(u["meta"]["version"], format!("W/\"{}\"", n + 1));
    Ok(())
}
