//! The worker under a redirect: Freshservice answers an account that moved
//! or is gone with a 3xx, and following it would hand the API key and the
//! requester's name and email to another host. The simulator's `redirect_to`
//! fault (`tests/fssim/src/faults.rs`) points every call at a second local
//! listener; the change is dead-lettered with the redirect as its reason and
//! that listener never sees a connection (`shared/src/freshservice/client.rs`
//! never follows redirects).

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use super::support::*;
use e2e::{okta_user, wait_for, Stack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_dead_lettered_and_never_followed() -> anyhow::Result<()> {
    // The second listener: counts every connection it is offered.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let elsewhere_addr = elsewhere.local_addr()?;
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let listener = tokio::spawn(async move {
        while let Ok((socket, _)) = elsewhere.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });

    let stack = Stack::start().await?;
    set_faults(
        &stack,
        json!({"redirect_to": format!("http://{elsewhere_addr}/moved")}),
    )
    .await?;
    let email = "moved.away@example.com";
    let id = scim_create(&stack, okta_user(email, "Moved", "Away")).await?;

    let dead = wait_for("the redirected change dead-lettered", CONVERGE, || async {
        Ok(dead_letters(&stack).await?.into_iter().next())
    })
    .await?;
    let letter = dead.letter.expect("readable");
    assert_eq!(letter.event.id, id);
    assert_eq!(letter.class, "permanent");
    let expected = format!("redirect (302) to {elsewhere_addr}");
    assert!(
        letter.reason.contains(&expected) && letter.reason.contains("never followed"),
        "{}",
        letter.reason
    );
    assert!(!letter.reason.contains(&stack.api_key), "{}", letter.reason);
    let s = sync_status(&stack, &id).await?;
    assert!(s["last_error"].contains(&expected), "{s:?}");

    // Freshservice was asked and answered the redirect; nothing was made.
    let redirected = stack
        .sim_calls()
        .await?
        .into_iter()
        .filter(|c| c["fault"] == "redirect")
        .count();
    assert!(redirected >= 1, "the simulator answered a redirect");
    assert!(stack.sim_requesters_with_email(email).await?.is_empty());
    // The dead letter is written after the redirect was answered, so any
    // follow-up connection would already have been accepted.
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the redirect was followed to the second listener"
    );

    listener.abort();
    stack.stop().await;
    Ok(())
}
