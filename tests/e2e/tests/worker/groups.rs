//! Groups end to end (Okta Push Groups, an App Integration Wizard app's
//! PUTs, Entra's group provisioning): SCIM → ingress → RabbitMQ → worker →
//! the simulator's requester groups (`docs/freshservice.md` §4). After
//! every step the simulator's requester group and its members must match
//! the SCIM group, and the worker's member set must agree.
//!
//! Each scenario runs once per client (`groups/drive.rs`). The `contract_*`
//! runs write the ingress's records directly instead of sending SCIM, so
//! the worker's side is tested against `shared/src/records/group.rs` on
//! its own.
//!
//! The benchmark at the end (ignored by default) pushes a group of 1,000
//! provisioned members at once; BENCHMARKS.md "Group push (issue 11)".

mod drive;

use std::time::{Duration, Instant};

use super::support::*;
use drive::{Client, Groups, Member};
use e2e::{okta_user, wait_for, Stack};
use serde_json::{json, Value};
use shared::event::ChangeEvent;

/// Provisions `n` users through SCIM and waits for their requesters.
async fn people(stack: &Stack, label: &str, n: usize) -> anyhow::Result<Vec<(Member, String)>> {
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("{label}{i}@example.com");
        let id = scim_create(stack, okta_user(&email, "Member", &format!("{label}{i}"))).await?;
        out.push((
            Member {
                id,
                display: email.clone(),
            },
            email,
        ));
    }
    for (m, _) in &out {
        wait_converged(stack, &m.id).await?;
    }
    Ok(out)
}

/// Nothing failed: no dead letter, no error on the group's status.
async fn no_failures(stack: &Stack, id: &str) -> anyhow::Result<()> {
    let dead = dead_letters(stack).await?;
    anyhow::ensure!(
        dead.is_empty(),
        "dead letters: {:?}",
        dead.iter().map(|d| d.describe()).collect::<Vec<_>>()
    );
    let s = group_sync_status(stack, id).await?;
    anyhow::ensure!(
        !s.contains_key("last_error") && !s.contains_key("dead"),
        "{s:?}"
    );
    Ok(())
}

/// The calls of a slice of the call log that touched requester groups.
fn group_ops(calls: &[Value]) -> Vec<String> {
    let mut ops: Vec<String> = call_ops(calls)
        .into_iter()
        .filter(|c| c.contains("/requester_groups"))
        .collect();
    ops.sort();
    ops
}

async fn set_active(stack: &Stack, id: &str, active: bool) -> anyhow::Result<()> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": active}}]
    });
    let (status, b) = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(body))
        .await?;
    anyhow::ensure!(status == 200, "SCIM user patch answered {status}: {b}");
    Ok(())
}

/// Scenarios a (Okta PATCH), b (Okta PUT), c (Entra): create empty, an
/// unchanged rename, three members added, one removed, a rename, "Push
/// now", an emptied group, DELETE.
async fn push_lifecycle(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let p = people(&stack, "push", 3).await?;
    let (m, e): (Vec<Member>, Vec<&str>) = p.iter().map(|(m, e)| (m.clone(), e.as_str())).unzip();
    let g = Groups::new(&stack, client);

    let id = g.create("Branch Managers", &[]).await?;
    let gid = mapped_group_id(&wait_group_converged(&stack, &id).await?)?;
    let made = wait_requester_group(&stack, &id, gid, "Branch Managers", &[]).await?;
    assert_eq!(made["type"], "manual");

    // The same name again costs nothing in Freshservice.
    let before = stack.sim_calls().await?.len();
    g.rename(&id, "Branch Managers").await?;
    wait_group_converged(&stack, &id).await?;
    assert_eq!(
        stack.sim_calls().await?.len(),
        before,
        "an unchanged name made a call"
    );

    g.add(&id, &m).await?;
    wait_group_converged(&stack, &id).await?;
    wait_requester_group(&stack, &id, gid, "Branch Managers", &e).await?;
    let mut want: Vec<String> = Vec::new();
    for email in &e {
        let rid = requester_id(&stack, email).await?;
        want.push(format!("POST /api/v2/requester_groups/{gid}/members/{rid}"));
    }
    want.sort();
    assert_eq!(
        group_ops(&stack.sim_calls().await?[before..]),
        want,
        "one call per member added, nothing for the unchanged rename"
    );

    g.remove(&id, &m[1]).await?;
    wait_group_converged(&stack, &id).await?;
    wait_requester_group(&stack, &id, gid, "Branch Managers", &[e[0], e[2]]).await?;

    g.rename(&id, "Regional Managers").await?;
    wait_group_converged(&stack, &id).await?;
    wait_requester_group(&stack, &id, gid, "Regional Managers", &[e[0], e[2]]).await?;

    // "Push now": the whole list, one member swapped.
    g.replace(&id, &[m[1].clone(), m[2].clone()]).await?;
    wait_group_converged(&stack, &id).await?;
    wait_requester_group(&stack, &id, gid, "Regional Managers", &[e[1], e[2]]).await?;

    g.replace(&id, &[]).await?;
    wait_group_converged(&stack, &id).await?;
    wait_requester_group(&stack, &id, gid, "Regional Managers", &[]).await?;

    g.delete(&id).await?;
    wait_for("the requester group deleted", CONVERGE, || async {
        Ok(stack
            .sim_requester_group(gid)
            .await?
            .is_none()
            .then_some(()))
    })
    .await?;
    wait_group_converged(&stack, &id).await?;
    for email in &e {
        let r = only_requester(&stack, email)
            .await?
            .expect("requesters remain");
        assert_eq!(r["active"], true, "{r}");
    }
    assert_eq!(
        calls_matching(&stack, "POST", "/requester_groups")
            .await?
            .len()
            - calls_matching(&stack, "POST", "/members/").await?.len(),
        1,
        "one create in the group's whole life"
    );
    assert!(group_fs_members(&stack, &id).await?.is_empty());
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// Scenario d: the members' users are not provisioned yet when the group
/// arrives (their events held back, as behind a spent budget). The group
/// is made, its members wait with no call for them, and each joins when
/// its requester appears; nothing fails.
async fn members_wait_for_their_requesters(client: Client) -> anyhow::Result<()> {
    let mut stack = Stack::start_with(e2e::StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await?;
    let mut m = Vec::new();
    let mut e = Vec::new();
    for i in 0..3 {
        let email = format!("queued{i}@example.com");
        let id = scim_create(&stack, okta_user(&email, "Queued", &format!("Q{i}"))).await?;
        m.push(Member {
            id,
            display: email.clone(),
        });
        e.push(email);
    }
    // Hold the users' creates back: their events leave the queue, to be
    // published again below.
    purge_tenant_queue(&stack).await?;
    stack.add_worker().await?;
    let g = Groups::new(&stack, client);
    let id = g.create("Early Birds", &m).await?;
    let want = group_version(&stack, &id).await?;
    let s = wait_for(
        "the group made with its members waiting",
        CONVERGE,
        || async {
            let s = group_sync_status(&stack, &id).await?;
            let applied: u64 = s
                .get("applied_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let waiting: Vec<String> = s
                .get("waiting")
                .and_then(|w| serde_json::from_str(w).ok())
                .unwrap_or_default();
            Ok((applied >= want && waiting.len() == 3).then_some(s))
        },
    )
    .await?;
    let gid = mapped_group_id(&s)?;
    assert!(
        calls_matching(&stack, "POST", "/members/")
            .await?
            .is_empty(),
        "no call for a waiting member"
    );
    assert!(stack.sim_requester_group(gid).await?.is_some());
    for u in &m {
        let v = desired_version(&stack, &u.id).await?;
        publish(
            &stack,
            &ChangeEvent::user(&stack.tenant_id, &u.id, v, "late"),
        )
        .await?;
    }
    for u in &m {
        wait_converged(&stack, &u.id).await?;
    }
    let emails: Vec<&str> = e.iter().map(String::as_str).collect();
    wait_requester_group(&stack, &id, gid, "Early Birds", &emails).await?;
    wait_group_converged(&stack, &id).await?;
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// Scenario d, as it happens: a group pushed a moment after its users
/// were created, their creates still in flight.
async fn group_right_after_its_users(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let mut m = Vec::new();
    let mut e = Vec::new();
    for i in 0..5 {
        let email = format!("quick{i}@example.com");
        let id = scim_create(&stack, okta_user(&email, "Quick", &format!("Q{i}"))).await?;
        m.push(Member {
            id,
            display: email.clone(),
        });
        e.push(email);
    }
    let g = Groups::new(&stack, client);
    let id = g.create("Fast Movers", &m).await?;
    let s = wait_group_converged(&stack, &id).await?;
    let gid = mapped_group_id(&s)?;
    for u in &m {
        wait_converged(&stack, &u.id).await?;
    }
    let emails: Vec<&str> = e.iter().map(String::as_str).collect();
    wait_requester_group(&stack, &id, gid, "Fast Movers", &emails).await?;
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// Scenario e: a deactivated member leaves the requester group
/// (Freshservice drops it, and the bridge makes no call for it), and is
/// added back after its reactivation.
async fn deactivated_members_leave_and_come_back(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let p = people(&stack, "shift", 2).await?;
    let (m, e): (Vec<Member>, Vec<&str>) = p.iter().map(|(m, e)| (m.clone(), e.as_str())).unzip();
    let g = Groups::new(&stack, client);
    let id = g.create("Night Shift", &m).await?;
    let gid = mapped_group_id(&wait_group_converged(&stack, &id).await?)?;
    wait_requester_group(&stack, &id, gid, "Night Shift", &e).await?;
    let rid0 = requester_id(&stack, e[0]).await?;

    set_active(&stack, &m[0].id, false).await?;
    wait_converged(&stack, &m[0].id).await?;
    wait_requester_group(&stack, &id, gid, "Night Shift", &[e[1]]).await?;
    assert!(
        calls_matching(&stack, "DELETE", "/members/")
            .await?
            .is_empty(),
        "Freshservice drops a deactivated requester itself"
    );

    set_active(&stack, &m[0].id, true).await?;
    wait_converged(&stack, &m[0].id).await?;
    wait_requester_group(&stack, &id, gid, "Night Shift", &e).await?;
    let adds = calls_matching(&stack, "POST", &format!("/members/{rid0}")).await?;
    assert_eq!(adds.len(), 2, "added, then added back: {adds:?}");
    wait_group_converged(&stack, &id).await?;
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// Scenario f: a manual requester group of that name is linked (and its
/// members made the SCIM group's); a rule-based one is refused with a
/// reason, nothing created, and a replay after the clash is resolved
/// makes the group.
async fn existing_groups_are_linked_or_refused(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let p = people(&stack, "fan", 2).await?;
    let (m, e): (Vec<Member>, Vec<&str>) = p.iter().map(|(m, e)| (m.clone(), e.as_str())).unzip();
    sim_admin(
        &stack,
        "POST",
        "/requesters",
        json!({"first_name": "Out", "primary_email": "outsider@example.com"}),
    )
    .await?;
    let seeded = sim_admin(
        &stack,
        "POST",
        "/requester_groups",
        json!({"name": "help desk fans", "type": "manual", "members": ["outsider@example.com", e[0]]}),
    )
    .await?;
    let seeded = seeded["requester_group"]["id"].as_u64().expect("seeded id");
    let g = Groups::new(&stack, client);
    let id = g.create("Help Desk Fans", &m).await?;
    let gid = mapped_group_id(&wait_group_converged(&stack, &id).await?)?;
    assert_eq!(gid, seeded, "linked, not duplicated");
    wait_requester_group(&stack, &id, gid, "Help Desk Fans", &e).await?;
    assert_eq!(stack.sim_requester_groups().await?.len(), 1);
    let creates = calls_matching(&stack, "POST", "/requester_groups")
        .await?
        .len()
        - calls_matching(&stack, "POST", "/members/").await?.len();
    assert_eq!(creates, 0, "nothing created");
    no_failures(&stack, &id).await?;

    let rule = sim_admin(
        &stack,
        "POST",
        "/requester_groups",
        json!({"name": "Everyone in Paris", "type": "rule_based"}),
    )
    .await?;
    let rule = rule["requester_group"]["id"].as_u64().expect("seeded id");
    let paris = g.create("everyone in paris", &m[..1]).await?;
    let s = wait_for(
        "the rule-based clash on the group's status",
        CONVERGE,
        || async {
            let s = group_sync_status(&stack, &paris).await?;
            Ok(s.contains_key("dead").then_some(s))
        },
    )
    .await?;
    assert_eq!(s["dead"], "permanent", "{s:?}");
    assert!(
        s["last_error"].contains("rule-based requester group named \"Everyone in Paris\"")
            && s["last_error"].contains("Rename the group in Okta or in Freshservice."),
        "{s:?}"
    );
    assert!(!s.contains_key("group_id"), "{s:?}");
    assert_eq!(
        stack.sim_requester_groups().await?.len(),
        2,
        "nothing created"
    );
    // The status is noted before the consumer dead-letters the change.
    let dead = wait_for("the dead letter", CONVERGE, || async {
        let all = dead_letters(&stack).await?;
        Ok((!all.is_empty()).then_some(all))
    })
    .await?;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].describe().contains(&format!("group {paris}")),
        "{}",
        dead[0].describe()
    );

    // An admin resolves the clash (here: the rule-based group is deleted);
    // the replayed change makes the requester group.
    let resp = stack
        .http
        .delete(format!(
            "{}/api/v2/requester_groups/{rule}",
            stack.sim.account_url(&stack.domain)
        ))
        .basic_auth(&stack.api_key, Some("X"))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 204);
    let replayed = worker::deadletter::replay(
        &e2e::amqp_url(),
        &topology(&stack),
        &worker::deadletter::Selector::Id(dead[0].message_id.clone()),
    )
    .await?;
    assert_eq!(replayed.len(), 1);
    let s = wait_group_converged(&stack, &paris).await?;
    let made = mapped_group_id(&s)?;
    assert_ne!(made, rule);
    wait_requester_group(&stack, &paris, made, "everyone in paris", &e[..1]).await?;
    no_failures(&stack, &paris).await?;
    stack.stop().await;
    Ok(())
}

/// Scenario g: the create's answer is lost (committed, connection closed):
/// the worker finds the group by name, so there is exactly one.
async fn lost_create_answer_leaves_one_group(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let p = people(&stack, "lost", 1).await?;
    let (m, e) = (&p[0].0, p[0].1.as_str());
    set_faults(&stack, json!({"drop_after_commit_rate": 1.0})).await?;
    let g = Groups::new(&stack, client);
    let id = g.create("Lost And Found", std::slice::from_ref(m)).await?;
    wait_for("the committed create", CONVERGE, || async {
        let groups = stack.sim_requester_groups().await?;
        Ok(groups
            .iter()
            .any(|g| g["name"] == "Lost And Found")
            .then_some(()))
    })
    .await?;
    wait_for("a retried create", CONVERGE, || async {
        let n = calls_matching(&stack, "POST", "/requester_groups")
            .await?
            .len();
        Ok((n >= 2).then_some(()))
    })
    .await?;
    set_faults(&stack, json!({"drop_after_commit_rate": 0.0})).await?;
    let gid = mapped_group_id(&wait_group_converged(&stack, &id).await?)?;
    wait_requester_group(&stack, &id, gid, "Lost And Found", &[e]).await?;
    let named: Vec<Value> = stack
        .sim_requester_groups()
        .await?
        .into_iter()
        .filter(|g| g["name"] == "Lost And Found")
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// A requester group deleted by hand in Freshservice is made again (with
/// every member) at the group's next change; the first call that meets
/// the 404 is a member add, then a rename.
async fn a_group_deleted_by_hand_is_made_again(client: Client) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let p = people(&stack, "again", 3).await?;
    let (m, e): (Vec<Member>, Vec<&str>) = p.iter().map(|(m, e)| (m.clone(), e.as_str())).unzip();
    let g = Groups::new(&stack, client);
    let id = g.create("Phoenix", &m[..1]).await?;
    let first = mapped_group_id(&wait_group_converged(&stack, &id).await?)?;
    wait_requester_group(&stack, &id, first, "Phoenix", &e[..1]).await?;
    let by_hand = |gid: u64| {
        stack
            .http
            .delete(format!(
                "{}/api/v2/requester_groups/{gid}",
                stack.sim.account_url(&stack.domain)
            ))
            .basic_auth(&stack.api_key, Some("X"))
            .send()
    };
    assert_eq!(by_hand(first).await?.status().as_u16(), 204);

    g.add(&id, &m[1..2]).await?;
    let second = wait_for("the group made again", CONVERGE, || async {
        let s = wait_group_converged(&stack, &id).await?;
        let gid = mapped_group_id(&s)?;
        Ok((gid != first).then_some(gid))
    })
    .await?;
    wait_requester_group(&stack, &id, second, "Phoenix", &e[..2]).await?;

    assert_eq!(by_hand(second).await?.status().as_u16(), 204);
    g.rename(&id, "Phoenix Rising").await?;
    let third = wait_for("the group made again after a rename", CONVERGE, || async {
        let s = wait_group_converged(&stack, &id).await?;
        let gid = mapped_group_id(&s)?;
        Ok((gid != second).then_some(gid))
    })
    .await?;
    wait_requester_group(&stack, &id, third, "Phoenix Rising", &e[..2]).await?;
    assert_eq!(stack.sim_requester_groups().await?.len(), 1);
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// Deletes every event on the stack's tenant queue.
async fn purge_tenant_queue(stack: &Stack) -> anyhow::Result<()> {
    let conn = lapin::Connection::connect(&e2e::amqp_url(), lapin::ConnectionProperties::default())
        .await?;
    let ch = conn.create_channel().await?;
    ch.queue_purge(
        &topology(stack).tenant_queue(&stack.tenant_id),
        lapin::options::QueuePurgeOptions::default(),
    )
    .await?;
    let _ = conn.close(200, "purged").await;
    Ok(())
}

macro_rules! scenarios {
    ($($name:ident => $scenario:ident($client:ident);)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> anyhow::Result<()> {
            $scenario(Client::$client).await
        }
    )*};
}

scenarios! {
    okta_push_lifecycle => push_lifecycle(OktaPatch);
    okta_put_lifecycle => push_lifecycle(OktaPut);
    entra_lifecycle => push_lifecycle(Entra);
    okta_members_wait_for_their_requesters => members_wait_for_their_requesters(OktaPatch);
    okta_group_right_after_its_users => group_right_after_its_users(OktaPatch);
    okta_deactivated_members_leave_and_come_back => deactivated_members_leave_and_come_back(OktaPatch);
    okta_existing_groups_are_linked_or_refused => existing_groups_are_linked_or_refused(OktaPatch);
    okta_lost_create_answer_leaves_one_group => lost_create_answer_leaves_one_group(OktaPatch);
    okta_a_group_deleted_by_hand_is_made_again => a_group_deleted_by_hand_is_made_again(OktaPatch);
    contract_lifecycle => push_lifecycle(Contract);
    contract_members_wait_for_their_requesters => members_wait_for_their_requesters(Contract);
    contract_group_right_after_its_users => group_right_after_its_users(Contract);
    contract_deactivated_members_leave_and_come_back => deactivated_members_leave_and_come_back(Contract);
    contract_existing_groups_are_linked_or_refused => existing_groups_are_linked_or_refused(Contract);
    contract_lost_create_answer_leaves_one_group => lost_create_answer_leaves_one_group(Contract);
    contract_a_group_deleted_by_hand_is_made_again => a_group_deleted_by_hand_is_made_again(Contract);
}

/// Issue 11's benchmark: a group of 1,000 provisioned members pushed at
/// once, timed from the push to the last member in the requester group,
/// against the ideal for the tenant's budget. Ignored by default (it takes
/// about a minute); run with
/// `cargo test -p e2e --test worker groups::group_push_of_1000_members -- --ignored --nocapture`
/// (`GROUP_BENCH_CLIENT=contract` to push without the ingress's groups,
/// `GROUP_BENCH_LIMIT` for the budget per minute, 3,000 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: BENCHMARKS.md, Group push (issue 11)"]
async fn group_push_of_1000_members() -> anyhow::Result<()> {
    const MEMBERS: usize = 1_000;
    let limit: u32 = std::env::var("GROUP_BENCH_LIMIT")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(3_000);
    let client = match std::env::var("GROUP_BENCH_CLIENT").as_deref() {
        Ok("contract") => Client::Contract,
        _ => Client::OktaPatch,
    };
    let stack = Stack::start().await?;
    // Provisioned first, at the stack's (high) budget.
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let email = format!("bench{i}@example.com");
        let id = scim_create(&stack, okta_user(&email, "Bench", &format!("B{i}"))).await?;
        members.push(Member { id, display: email });
    }
    for m in &members {
        wait_converged(&stack, &m.id).await?;
    }
    // Then the budget under test, for the bridge and the simulator alike.
    let store = shared::tenant::TenantStore::new(
        redis().await?,
        shared::keys::Keys::new(stack.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    );
    store.set_rate_limit(&stack.tenant_id, limit).await?;
    sim_admin(
        &stack,
        "PUT",
        "/rate_limit",
        json!({"per_minute": limit, "reset": true}),
    )
    .await?;
    sim_admin(&stack, "DELETE", "/calls", Value::Null).await?;

    let g = Groups::new(&stack, client);
    let started = Instant::now();
    let id = g.create("Everyone", &members).await?;
    let s = wait_for(
        "the group with every member",
        Duration::from_secs(900),
        || async {
            let s = group_sync_status(&stack, &id).await?;
            let applied: u64 = s
                .get("applied_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok(
                (applied >= 1 && group_fs_members(&stack, &id).await?.len() == MEMBERS)
                    .then_some(s),
            )
        },
    )
    .await?;
    let took = started.elapsed();
    let gid = mapped_group_id(&s)?;
    let held = stack.sim_requester_group(gid).await?.expect("the group");
    assert_eq!(member_ids(&held).len(), MEMBERS);
    let calls = stack.sim_calls().await?;
    let member_calls = calls
        .iter()
        .filter(|c| c["path"].as_str().unwrap_or("").contains("/members/"))
        .count();
    let limited = calls.iter().filter(|c| c["status"] == 429).count();
    let ideal = Duration::from_secs_f64(calls.len() as f64 * 60.0 / f64::from(limit));
    println!(
        "group_push members={MEMBERS} client={client:?} limit_per_min={limit} wall_s={:.1} ideal_s={:.1} ratio={:.2} calls={} member_calls={member_calls} calls_per_member={:.3} http_429={limited}",
        took.as_secs_f64(),
        ideal.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
        calls.len(),
        calls.len() as f64 / MEMBERS as f64,
    );
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}

/// The same push while its 1,000 members are still being created (their
/// creates queued ahead of it): every member waits, then joins as its
/// requester appears. Reports how many times the group was converged, the
/// measure of how well the users' rechecks coalesce. Ignored by default;
/// `cargo test -p e2e --test worker groups::group_push_while_its_members_are_created -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: BENCHMARKS.md, Group push (issue 11)"]
async fn group_push_while_its_members_are_created() -> anyhow::Result<()> {
    const MEMBERS: usize = 1_000;
    let limit: u32 = std::env::var("GROUP_BENCH_LIMIT")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(3_000);
    let stack = Stack::start_with(e2e::StackOptions {
        sim_rate_limit: limit,
        tenant_rate_limit: Some(limit),
        ..Default::default()
    })
    .await?;
    let started = Instant::now();
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let email = format!("early{i}@example.com");
        let id = scim_create(&stack, okta_user(&email, "Early", &format!("E{i}"))).await?;
        members.push(Member { id, display: email });
    }
    let g = Groups::new(&stack, Client::OktaPatch);
    let id = g.create("Everyone", &members).await?;
    let s = wait_for(
        "the group with every member",
        Duration::from_secs(900),
        || async {
            let s = group_sync_status(&stack, &id).await?;
            let done = s.get("waiting").map(String::as_str) == Some("[]")
                && group_fs_members(&stack, &id).await?.len() == MEMBERS;
            Ok(done.then_some(s))
        },
    )
    .await?;
    let took = started.elapsed();
    let gid = mapped_group_id(&s)?;
    let held = stack.sim_requester_group(gid).await?.expect("the group");
    assert_eq!(member_ids(&held).len(), MEMBERS);
    let calls = stack.sim_calls().await?;
    let member_calls = calls
        .iter()
        .filter(|c| c["path"].as_str().unwrap_or("").contains("/members/"))
        .count();
    let mut r = redis().await?;
    let keys = shared::keys::Keys::new(stack.prefix.clone());
    let convergences: Option<u64> =
        redis::AsyncCommands::hget(&mut r, keys.group_recheck(&stack.tenant_id, &id), "gen")
            .await?;
    let ideal = Duration::from_secs_f64(calls.len() as f64 * 60.0 / f64::from(limit));
    println!(
        "group_push_during_creates members={MEMBERS} limit_per_min={limit} wall_s={:.1} ideal_s={:.1} ratio={:.2} calls={} member_calls={member_calls} group_convergences={}",
        took.as_secs_f64(),
        ideal.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
        calls.len(),
        convergences.unwrap_or(0),
    );
    no_failures(&stack, &id).await?;
    stack.stop().await;
    Ok(())
}
