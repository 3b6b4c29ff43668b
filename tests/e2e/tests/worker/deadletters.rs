//! Dead letters: an email owned by an agent is dead-lettered at once with
//! the reason, shows on the user's sync status, and can be listed, replayed
//! (by id) and purged (by tenant) with the worker's dead-letter commands.

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use redis::AsyncCommands;
use serde_json::json;
use worker::deadletter::{self, Selector};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_email_is_dead_lettered_listed_replayed_and_purged() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let email = "agent.smith@example.com";
    sim_admin(
        &stack,
        "POST",
        "/agents",
        json!({"first_name": "Agent", "last_name": "Smith", "email": email}),
    )
    .await?;
    let id = scim_create(&stack, okta_user(email, "Agent", "Smith")).await?;

    let first = wait_for("the dead letter", CONVERGE, || async {
        Ok(dead_letters(&stack).await?.into_iter().next())
    })
    .await?;
    let letter = first.letter.clone().expect("readable");
    assert_eq!(letter.event.id, id);
    assert_eq!(letter.class, "agent_email");
    assert!(
        letter.reason.contains("email belongs to an agent"),
        "{}",
        letter.reason
    );
    assert!(first.describe().contains("email belongs to an agent"));
    assert!(
        stack.sim_requesters_with_email(email).await?.is_empty(),
        "no requester made"
    );

    let s = sync_status(&stack, &id).await?;
    assert!(
        s["last_error"].contains("email belongs to an agent"),
        "{s:?}"
    );
    let mut r = redis().await?;
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let failed: bool = r.sismember(keys.failed(&stack.tenant_id), &id).await?;
    assert!(failed);

    // Listing does not consume.
    assert_eq!(dead_letters(&stack).await?.len(), 1);

    // Replay by id: the worker tries again (and, the agent still being
    // there, dead-letters it again under a new id).
    let url = e2e::amqp_url();
    let t = topology(&stack);
    let replayed = deadletter::replay(&url, &t, &Selector::Id(first.message_id.clone())).await?;
    assert_eq!(replayed.len(), 1);
    let again = wait_for(
        "the replayed change dead-lettered again",
        CONVERGE,
        || async {
            let all = dead_letters(&stack).await?;
            Ok(all.into_iter().find(|e| e.message_id != first.message_id))
        },
    )
    .await?;
    assert_eq!(again.letter.unwrap().event.attempt, 0);
    assert_eq!(
        calls_matching(&stack, "POST", "/requesters").await?.len(),
        2
    );

    // Another tenant's selector touches nothing; this tenant's purges it.
    assert!(
        deadletter::purge(&url, &t, &Selector::Tenant("someone-else".into()))
            .await?
            .is_empty()
    );
    assert_eq!(dead_letters(&stack).await?.len(), 1);
    assert_eq!(
        deadletter::purge(&url, &t, &Selector::Tenant(stack.tenant_id.clone()))
            .await?
            .len(),
        1
    );
    assert!(dead_letters(&stack).await?.is_empty());
    stack.stop().await;
    Ok(())
}
