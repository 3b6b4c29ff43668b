//! The whole profile through the real stack (SCIM → Redis → RabbitMQ →
//! worker → simulator): the departments flag an admin ticked survives every
//! update; `department` by name (exact, other case, unknown, created on
//! request, cleared); `manager.value` by SCIM id, userName, email and
//! externalId, a manager provisioned after the employee, a manager
//! cleared; enterprise attributes into custom fields of each type; rows
//! switched off stay as Freshservice holds them; and what a create and an
//! update cost in calls once the caches are warm.

use super::support::*;
use e2e::{okta_user, wait_for, Stack, StackOptions};
use serde_json::{json, Value};
use shared::{
    keys::Keys,
    mapping::{EnterpriseAttr, Row},
    records::settings::TenantSettings,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const FLAG: &str = "can_see_all_tickets_from_associated_departments";

async fn stack_with(custom_fields: Vec<Value>) -> anyhow::Result<Stack> {
    let mut opts = StackOptions {
        custom_fields,
        ..Default::default()
    };
    // A department created in a test is found at once, not a minute later.
    opts.worker_env
        .insert("DEPARTMENTS_REFRESH_MS".into(), "0".into());
    Stack::start_with(opts).await
}

/// Changes the tenant's settings as the settings page would save them.
async fn settings(stack: &Stack, change: impl FnOnce(&mut TenantSettings)) -> anyhow::Result<()> {
    let mut r = redis().await?;
    let keys = Keys::new(stack.prefix.clone());
    let mut s = TenantSettings::load(&mut r, &keys, &stack.tenant_id).await??;
    change(&mut s);
    s.save(&mut r, &keys, &stack.tenant_id).await?;
    Ok(())
}

/// A user with enterprise attributes.
fn employee(email: &str, given: &str, ext: Value) -> Value {
    let mut u = okta_user(email, given, "Example");
    u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    u[ENTERPRISE] = ext;
    u
}

/// What an admin does in Freshservice's UI, through the public API.
async fn admin_put(stack: &Stack, rid: u64, body: Value) -> anyhow::Result<Value> {
    let url = format!(
        "{}/{}/api/v2/requesters/{rid}",
        stack.sim.base_url, stack.domain
    );
    let resp = stack
        .http
        .put(url)
        .basic_auth(&stack.api_key, Some("X"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "admin PUT: {}", resp.status());
    Ok(resp.json().await?)
}

async fn department(stack: &Stack, name: &str) -> anyhow::Result<u64> {
    let d = sim_admin(stack, "POST", "/departments", json!({"name": name})).await?;
    Ok(d["department"]["id"].as_u64().expect("department id"))
}

fn warnings(status: &std::collections::HashMap<String, String>) -> Vec<String> {
    status
        .get("warnings")
        .and_then(|w| serde_json::from_str(w).ok())
        .unwrap_or_default()
}

async fn requester(stack: &Stack, email: &str) -> anyhow::Result<Value> {
    only_requester(stack, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no requester with {email}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_departments_flag_survives_every_update() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    // A requester an admin made by hand, box ticked; Okta's user links to it.
    let seeded = sim_admin(
        &s,
        "POST",
        "/requesters",
        json!({"first_name": "Grace", "primary_email": "grace@example.com", FLAG: true}),
    )
    .await?;
    let grace_rid = seeded["requester"]["id"].as_u64().unwrap();
    let grace = scim_create(&s, okta_user("grace@example.com", "Grace", "Hopper")).await?;
    wait_converged(&s, &grace).await?;
    let r = requester(&s, "grace@example.com").await?;
    assert_eq!(r["id"], grace_rid, "linked, not duplicated");
    assert_eq!(r["last_name"], "Hopper");
    assert_eq!(r[FLAG], true, "linking kept the admin's tick");
    let mut u = okta_user("grace@example.com", "Grace", "Hopper");
    u["title"] = json!("Rear Admiral");
    scim_put(&s, &grace, u).await?;
    wait_converged(&s, &grace).await?;
    let r = requester(&s, "grace@example.com").await?;
    assert_eq!(
        (r["job_title"].clone(), r[FLAG].clone()),
        (json!("Rear Admiral"), json!(true))
    );

    // A requester the bridge created; the admin ticks the box afterwards.
    let alan = scim_create(&s, okta_user("alan@example.com", "Alan", "Turing")).await?;
    wait_converged(&s, &alan).await?;
    let r = requester(&s, "alan@example.com").await?;
    assert_eq!(r[FLAG], false);
    let rid = r["id"].as_u64().unwrap();
    admin_put(&s, rid, json!({FLAG: true})).await?;
    let mut u = okta_user("alan@example.com", "Alan", "Turing");
    u["title"] = json!("Reader");
    scim_put(&s, &alan, u).await?;
    wait_converged(&s, &alan).await?;
    let r = requester(&s, "alan@example.com").await?;
    assert_eq!(r["job_title"], "Reader");
    assert_eq!(r[FLAG], true, "the next Okta change did not clear the tick");
    // And unticking is the admin's too: it stays unticked.
    admin_put(&s, rid, json!({FLAG: false})).await?;
    let mut u = okta_user("alan@example.com", "Alan", "Turing");
    u["title"] = json!("Professor");
    scim_put(&s, &alan, u).await?;
    wait_converged(&s, &alan).await?;
    assert_eq!(requester(&s, "alan@example.com").await?[FLAG], false);
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departments_are_matched_by_name_and_created_on_request() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    let eng = department(&s, "Engineering").await?;
    let sales = department(&s, "Sales").await?;

    let a = scim_create(
        &s,
        employee("a@example.com", "A", json!({"department": "Engineering"})),
    )
    .await?;
    let b = scim_create(
        &s,
        employee("b@example.com", "B", json!({"department": "  sALES "})),
    )
    .await?;
    let c = scim_create(
        &s,
        employee("c@example.com", "C", json!({"department": "Marketing"})),
    )
    .await?;
    wait_converged(&s, &a).await?;
    wait_converged(&s, &b).await?;
    let c_status = wait_converged(&s, &c).await?;
    assert_eq!(
        requester(&s, "a@example.com").await?["department_ids"],
        json!([eng])
    );
    assert_eq!(
        requester(&s, "b@example.com").await?["department_ids"],
        json!([sales])
    );
    // Unknown: the requester is written without it, and the status says why.
    let rc = requester(&s, "c@example.com").await?;
    assert_eq!(rc["department_ids"], json!([]));
    assert!(
        warnings(&c_status)
            .iter()
            .any(|w| w.contains("\"Marketing\"") && w.contains("department")),
        "{c_status:?}"
    );

    // A department an admin creates later is found at the user's next change.
    let marketing = department(&s, "Marketing").await?;
    let mut u = employee("c@example.com", "C", json!({"department": "Marketing"}));
    u["title"] = json!("Marketer");
    scim_put(&s, &c, u).await?;
    let c_status = wait_converged(&s, &c).await?;
    assert_eq!(
        requester(&s, "c@example.com").await?["department_ids"],
        json!([marketing])
    );
    assert!(warnings(&c_status).is_empty(), "{c_status:?}");

    // The tenant lets the bridge create what is missing.
    settings(&s, |t| t.mapping.create_missing_departments = true).await?;
    let d = scim_create(
        &s,
        employee("d@example.com", "D", json!({"department": "Research"})),
    )
    .await?;
    wait_converged(&s, &d).await?;
    let state = s.sim_state().await?;
    let research = state["departments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == "Research")
        .map(|d| d["id"].clone())
        .expect("the bridge created Research");
    assert_eq!(
        requester(&s, "d@example.com").await?["department_ids"],
        json!([research])
    );

    // Clearing the department in Okta clears it in Freshservice.
    scim_put(&s, &a, employee("a@example.com", "A", json!({}))).await?;
    wait_converged(&s, &a).await?;
    assert_eq!(
        requester(&s, "a@example.com").await?["department_ids"],
        json!([])
    );
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_by_id_username_email_and_external_id() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    let mut m = okta_user("boss.login", "Boss", "Person");
    m["emails"] = json!([{"value": "boss@example.com", "type": "work", "primary": true}]);
    m["externalId"] = json!("00u-okta-boss");
    let boss = scim_create(&s, m).await?;
    wait_converged(&s, &boss).await?;
    let boss_rid = requester(&s, "boss@example.com").await?["id"].clone();

    let refs = [
        ("by-id@example.com", boss.clone()),
        ("by-login@example.com", "BOSS.LOGIN".to_string()),
        ("by-email@example.com", "Boss@Example.com".to_string()),
        ("by-external@example.com", "00u-okta-boss".to_string()),
    ];
    let mut ids = vec![];
    for (email, reference) in &refs {
        let id = scim_create(
            &s,
            employee(email, "E", json!({"manager": {"value": reference}})),
        )
        .await?;
        ids.push(id);
    }
    for (id, (email, reference)) in ids.iter().zip(&refs) {
        let st = wait_converged(&s, id).await?;
        assert_eq!(
            requester(&s, email).await?["reporting_manager_id"],
            boss_rid,
            "manager given as {reference:?}: {st:?}"
        );
    }

    // Clearing the manager in Okta clears it in Freshservice.
    scim_put(&s, &ids[0], employee(refs[0].0, "E", json!({}))).await?;
    wait_converged(&s, &ids[0]).await?;
    assert_eq!(
        requester(&s, refs[0].0).await?["reporting_manager_id"],
        Value::Null
    );
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_provisioned_later_is_filled_in_without_polling() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    let e = scim_create(
        &s,
        employee(
            "emp@example.com",
            "Emp",
            json!({"manager": {"value": "late@example.com", "displayName": "Late"}}),
        ),
    )
    .await?;
    let st = wait_converged(&s, &e).await?;
    assert_eq!(
        requester(&s, "emp@example.com").await?["reporting_manager_id"],
        Value::Null
    );
    assert!(
        warnings(&st).iter().any(|w| w.contains("late@example.com")),
        "{st:?}"
    );
    assert!(st.contains_key("waiting_for"), "{st:?}");

    // While nobody appears, nothing happens: no call, no retry.
    let quiet = s.sim_calls().await?.len();
    let other = scim_create(&s, okta_user("other@example.com", "O", "Ther")).await?;
    wait_converged(&s, &other).await?;
    let calls = s.sim_calls().await?;
    assert_eq!(
        calls.len() - quiet,
        1,
        "only the other user's create: {:?}",
        &calls[quiet..]
    );

    // The manager is provisioned: the employee is filled in, at one update.
    let before = s.sim_calls().await?.len();
    let late = scim_create(&s, okta_user("late@example.com", "Late", "Comer")).await?;
    wait_converged(&s, &late).await?;
    let late_rid = requester(&s, "late@example.com").await?["id"].clone();
    wait_for("the employee's manager filled in", CONVERGE, || async {
        let r = requester(&s, "emp@example.com").await?;
        Ok((r["reporting_manager_id"] == late_rid).then_some(()))
    })
    .await?;
    let st = wait_for("the employee no longer waits", CONVERGE, || async {
        let st = sync_status(&s, &e).await?;
        Ok((!st.contains_key("waiting_for")).then_some(st))
    })
    .await?;
    assert!(warnings(&st).is_empty(), "{st:?}");
    let calls = s.sim_calls().await?;
    let ops = call_ops(&calls[before..]);
    assert_eq!(
        ops.len(),
        3,
        "manager's create, then the employee's GET and PUT: {ops:?}"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_attributes_fill_custom_fields_of_each_type() -> anyhow::Result<()> {
    let s = stack_with(vec![
        json!({"name": "emp_text", "label": "Employee no", "type": "custom_text"}),
        json!({"name": "emp_number", "label": "Employee no (n)", "type": "custom_number"}),
        json!({"name": "org_dropdown", "label": "Org", "type": "custom_dropdown", "choices": ["Acme", "Globex"]}),
        json!({"name": "div_checkbox", "label": "Division flag", "type": "custom_checkbox"}),
        json!({"name": "cc_date", "label": "Cost centre date", "type": "custom_date"}),
        json!({"name": "cc_paragraph", "label": "Cost centre notes", "type": "custom_paragraph"}),
    ])
    .await?;
    let map = |pairs: &[(EnterpriseAttr, &str)]| {
        pairs
            .iter()
            .map(|(a, f)| (*a, f.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    settings(&s, |t| {
        t.mapping.set_enterprise(map(&[
            (EnterpriseAttr::EmployeeNumber, "emp_number"),
            (EnterpriseAttr::CostCenter, "cc_paragraph"),
            (EnterpriseAttr::Organization, "org_dropdown"),
            (EnterpriseAttr::Division, "div_checkbox"),
        ]))
    })
    .await?;
    let ext = json!({"employeeNumber": "0042", "costCenter": "CC 7 — north", "organization": "globex", "division": "true"});
    let id = scim_create(&s, employee("ent@example.com", "Ent", ext)).await?;
    wait_converged(&s, &id).await?;
    let cf = requester(&s, "ent@example.com").await?["custom_fields"].clone();
    assert_eq!(cf["emp_number"], 42);
    assert_eq!(cf["cc_paragraph"], "CC 7 — north");
    assert_eq!(cf["org_dropdown"], "Globex");
    assert_eq!(cf["div_checkbox"], true);

    // Remapped onto the other types; the fields no longer mapped keep
    // what they hold.
    settings(&s, |t| {
        t.mapping.set_enterprise(map(&[
            (EnterpriseAttr::EmployeeNumber, "emp_text"),
            (EnterpriseAttr::CostCenter, "cc_date"),
        ]))
    })
    .await?;
    let ext = json!({"employeeNumber": "0042", "costCenter": "2024-05-01", "organization": "Acme"});
    scim_put(&s, &id, employee("ent@example.com", "Ent", ext)).await?;
    wait_converged(&s, &id).await?;
    let cf = requester(&s, "ent@example.com").await?["custom_fields"].clone();
    assert_eq!(cf["emp_text"], "0042");
    assert_eq!(cf["cc_date"], "2024-05-01");
    assert_eq!(cf["emp_number"], 42, "released, not cleared");
    assert_eq!(cf["org_dropdown"], "Globex", "released, not cleared");

    // A dropdown value outside the choices is Freshservice's to refuse, and
    // the refusal is visible with its words.
    settings(&s, |t| {
        t.mapping
            .set_enterprise(map(&[(EnterpriseAttr::Organization, "org_dropdown")]))
    })
    .await?;
    scim_put(
        &s,
        &id,
        employee("ent@example.com", "Ent", json!({"organization": "Initech"})),
    )
    .await?;
    let st = wait_for("the refusal on the user's status", CONVERGE, || async {
        let st = sync_status(&s, &id).await?;
        Ok(st.contains_key("last_error").then_some(st))
    })
    .await?;
    let err = &st["last_error"];
    assert!(err.contains("org_dropdown") && err.contains("400"), "{err}");
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_switched_off_stay_as_freshservice_holds_them() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    let eng = department(&s, "Engineering").await?;
    settings(&s, |t| {
        t.mapping
            .off
            .extend([Row::JobTitle, Row::WorkPhone, Row::Department, Row::Manager])
    })
    .await?;
    let mut u = employee(
        "off@example.com",
        "Off",
        json!({"department": "Engineering", "manager": {"value": "nobody"}}),
    );
    u["title"] = json!("Okta's title");
    u["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "work"}]);
    let id = scim_create(&s, u.clone()).await?;
    let st = wait_converged(&s, &id).await?;
    let r = requester(&s, "off@example.com").await?;
    assert_eq!(r["job_title"], Value::Null);
    assert_eq!(r["work_phone_number"], Value::Null);
    assert_eq!(r["department_ids"], json!([]));
    assert!(
        !st.contains_key("waiting_for"),
        "a manager row off waits for nothing"
    );

    // The admin fills them in Freshservice; Okta's next change leaves them.
    let rid = r["id"].as_u64().unwrap();
    admin_put(&s, rid, json!({"job_title": "Admin's title", "work_phone_number": "+1 555 0199", "department_ids": [eng]})).await?;
    u["title"] = json!("Okta's new title");
    u["name"]["familyName"] = json!("Changed");
    scim_put(&s, &id, u).await?;
    wait_converged(&s, &id).await?;
    let r = requester(&s, "off@example.com").await?;
    assert_eq!(r["last_name"], "Changed");
    assert_eq!(r["job_title"], "Admin's title");
    assert_eq!(r["work_phone_number"], "+1 555 0199");
    assert_eq!(r["department_ids"], json!([eng]));
    s.stop().await;
    Ok(())
}

/// Calls per create and per update for a profile with a department and a
/// manager, caches warm (the figures in BENCHMARKS.md "Calls per change").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_and_manager_cost_no_call_per_user_once_cached() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    department(&s, "Engineering").await?;
    let boss = scim_create(
        &s,
        employee(
            "chief@example.com",
            "Chief",
            json!({"department": "Engineering"}),
        ),
    )
    .await?;
    wait_converged(&s, &boss).await?;
    let ext = |title: &str| {
        let mut u = employee(
            "staff@example.com",
            "Staff",
            json!({"department": "engineering", "manager": {"value": boss}}),
        );
        u["title"] = json!(title);
        u
    };
    let before = s.sim_calls().await?.len();
    let id = scim_create(&s, ext("One")).await?;
    wait_converged(&s, &id).await?;
    let after_create = s.sim_calls().await?;
    let create_ops = call_ops(&after_create[before..]);
    assert_eq!(create_ops, ["POST /api/v2/requesters"], "create");
    scim_put(&s, &id, ext("Two")).await?;
    wait_converged(&s, &id).await?;
    let after_update = s.sim_calls().await?;
    let update_ops: Vec<String> = call_ops(&after_update[after_create.len()..])
        .into_iter()
        .map(|op| op.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        update_ops,
        ["GET", "PUT"],
        "update: the flag's GET, then the PUT"
    );
    let r = requester(&s, "staff@example.com").await?;
    assert_eq!(r["job_title"], "Two");
    assert!(
        r["reporting_manager_id"].is_u64()
            && r["department_ids"].as_array().is_some_and(|d| d.len() == 1),
        "{r}"
    );
    s.stop().await;
    Ok(())
}

/// Entra hard-deletes users: a SCIM DELETE deactivates the requester,
/// unless the tenant chose *forget* on its settings page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_delete_deactivates_unless_the_tenant_chose_forget() -> anyhow::Result<()> {
    let s = stack_with(vec![]).await?;
    let kept = scim_create(&s, okta_user("kept@example.com", "Kept", "User")).await?;
    wait_converged(&s, &kept).await?;
    let (status, _) = s.scim("DELETE", &format!("/Users/{kept}"), None).await?;
    assert_eq!(status, 204);
    wait_for("the requester deactivated", CONVERGE, || async {
        let r = requester(&s, "kept@example.com").await?;
        Ok((r["active"] == false).then_some(()))
    })
    .await?;

    settings(&s, |t| {
        t.on_delete = Some(shared::records::settings::DeleteMode::Forget)
    })
    .await?;
    let gone = scim_create(&s, okta_user("gone@example.com", "Gone", "User")).await?;
    wait_converged(&s, &gone).await?;
    let (status, _) = s.scim("DELETE", &format!("/Users/{gone}"), None).await?;
    assert_eq!(status, 204);
    wait_for("the requester forgotten", CONVERGE, || async {
        Ok(only_requester(&s, "gone@example.com")
            .await?
            .is_none()
            .then_some(()))
    })
    .await?;
    assert!(
        only_requester(&s, "kept@example.com").await?.is_some(),
        "the first one was deactivated, not forgotten"
    );
    s.stop().await;
    Ok(())
}
