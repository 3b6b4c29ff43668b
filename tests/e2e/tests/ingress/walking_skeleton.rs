//! The thinnest real path through every part: SCIM POST on the ingress →
//! Redis + confirmed event on RabbitMQ → worker → requester created in the
//! simulator over HTTP → id mapping in Redis.

use std::time::Duration;

use e2e::{okta_user, wait_for, Stack};
use redis::AsyncCommands;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_create_reaches_freshservice() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (status, body) = stack
        .scim(
            "POST",
            "/Users",
            Some(okta_user("ada@example.com", "Ada", "Lovelace")),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id").to_string();

    let requester = wait_for(
        "the requester in the simulator",
        Duration::from_secs(20),
        || async {
            Ok(stack
                .sim_requesters_with_email("ada@example.com")
                .await?
                .into_iter()
                .next())
        },
    )
    .await?;
    assert_eq!(requester["first_name"], "Ada");
    assert_eq!(requester["last_name"], "Lovelace");

    // The worker recorded SCIM id → requester id.
    let r = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let mapped: Option<u64> = wait_for("the id mapping", Duration::from_secs(10), || {
        let mut r = r.clone();
        let key = keys.map_requester(&stack.tenant_id);
        let id = id.clone();
        async move { Ok(r.hget::<_, _, Option<u64>>(key, id).await?.map(Some)) }
    })
    .await?;
    assert_eq!(mapped, requester["id"].as_u64());

    // Exactly one requester, exactly one create call.
    let creates = stack
        .sim_calls()
        .await?
        .into_iter()
        .filter(|c| {
            c["method"] == "POST" && c["path"].as_str().unwrap_or("").ends_with("/requesters")
        })
        .count();
    assert_eq!(creates, 1);
    stack.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_refused_and_stores_nothing() -> anyhow::Result<()> {
    let stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let (status, body) = stack
        .scim_as(
            "not-a-token",
            "POST",
            "/Users",
            Some(okta_user("x@example.com", "X", "Y")),
        )
        .await?;
    assert_eq!(status, 401);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let (status, _) = stack
        .scim("POST", "/Users", Some(okta_user("x@example.com", "X", "Y")))
        .await?;
    assert_eq!(status, 201, "the refused request left no userName behind");
    stack.stop().await;
    Ok(())
}
