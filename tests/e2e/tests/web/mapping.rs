//! The settings page's mapping editor over plain HTTP: rows switched off,
//! enterprise attributes pointed at custom fields, missing departments and
//! the DELETE choice are saved to the tenant's settings (what the worker
//! reads, `shared/src/records/settings.rs`) and shown again; each refusal
//! says why and saves nothing; no CSRF token, no change.

use super::common::*;
use e2e::{Stack, StackOptions};
use serde_json::json;
use shared::{
    keys::Keys,
    mapping::{EnterpriseAttr, Row},
    records::settings::{DeleteMode, TenantSettings},
};

async fn saved(stack: &Stack, tenant: &str) -> anyhow::Result<TenantSettings> {
    let mut r = shared::redis_conn::connect(&e2e::redis_url()).await?;
    Ok(TenantSettings::load(&mut r, &Keys::new(stack.prefix.clone()), tenant).await??)
}

/// Every row on but `off`, plus the given extra pairs.
fn form<'a>(csrf: &'a str, off: &[Row], extra: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    let mut p = vec![("csrf".to_string(), csrf.to_string())];
    for r in Row::ALL.into_iter().filter(|r| !off.contains(r)) {
        p.push((format!("row.{}", r.key()), "on".into()));
    }
    p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_editor_saves_what_the_worker_reads() -> anyhow::Result<()> {
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..web_options()
    })
    .await?;
    let (domain, key, _) = sim_account(
        &stack,
        json!([
            {"name": "employee_no", "label": "Employee number", "type": "custom_text"},
            {"name": "cost_centre", "label": "Cost centre", "type": "custom_dropdown", "choices": ["A", "B"]},
        ]),
    )
    .await?;
    let (_, body) = install(&stack, &domain, &key, false).await?;
    let token = body["bearer_token"].as_str().unwrap().to_string();
    let tenant = body["tenant_id"].as_str().unwrap().to_string();
    let mut admin = Admin::new(&stack);
    assert_eq!(admin.sign_in(&[("token", &token)]).await?, 303);
    let (_, html) = admin.get("/settings").await?;
    assert!(
        html.contains("name=\"row.work_phone\"") && html.contains("checked"),
        "rows shown on"
    );
    assert!(
        html.contains("Employee number (employee_no)"),
        "custom fields offered"
    );
    let c = csrf(&html);
    let post = |pairs: Vec<(String, String)>| {
        let admin = &admin;
        async move {
            let p: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin.post_form("/settings/mapping", &p).await
        }
    };

    // No CSRF token: refused, nothing saved.
    let mut no_csrf = form(&c, &[Row::WorkPhone], &[]);
    no_csrf.remove(0);
    assert_eq!(post(no_csrf).await?.0, 403);
    assert_eq!(saved(&stack, &tenant).await?, TenantSettings::default());

    // Saved, then shown.
    let (s, _, loc) = post(form(
        &c,
        &[Row::WorkPhone, Row::Address],
        &[
            ("enterprise.employeeNumber", "employee_no"),
            ("enterprise.organization", "cost_centre"),
            ("create_departments", "on"),
            ("on_delete", "forget"),
            ("row.nonsense", "on"),
        ],
    ))
    .await?;
    assert_eq!((s, loc.as_deref()), (303, Some("/settings?saved=mapping")));
    let got = saved(&stack, &tenant).await?;
    assert_eq!(
        got.mapping.off,
        [Row::WorkPhone, Row::Address].into_iter().collect()
    );
    assert_eq!(
        got.mapping
            .enterprise
            .get(&EnterpriseAttr::EmployeeNumber)
            .map(String::as_str),
        Some("employee_no")
    );
    assert_eq!(
        got.mapping
            .enterprise
            .get(&EnterpriseAttr::Organization)
            .map(String::as_str),
        Some("cost_centre")
    );
    assert!(got.mapping.create_missing_departments);
    assert_eq!(got.on_delete, Some(DeleteMode::Forget));
    let (_, html) = admin.get("/settings?saved=mapping").await?;
    assert!(html.contains("Mapping saved"), "notice shown");
    assert!(
        !html.contains("id=\"row-work_phone\" name=\"row.work_phone\" checked"),
        "the row shows off"
    );
    assert!(
        html.contains("value=\"employee_no\" selected"),
        "the target shows"
    );

    // Refusals: unknown field, one field for two attributes; nothing saved.
    for (pairs, says) in [
        (
            vec![("enterprise.division", "no_such_field")],
            "no custom requester field named &quot;no_such_field&quot;",
        ),
        (
            vec![
                ("enterprise.division", "employee_no"),
                ("enterprise.employeeNumber", "employee_no"),
            ],
            "both point",
        ),
        (
            vec![("on_delete", "shred")],
            "expected `deactivate` or `forget`",
        ),
    ] {
        let (s, page, _) = post(form(&c, &[], &pairs)).await?;
        assert_eq!(s, 400, "{pairs:?}");
        assert!(page.contains(says), "{says}: {pairs:?}");
        assert_eq!(
            saved(&stack, &tenant).await?,
            got,
            "nothing saved for {pairs:?}"
        );
    }

    // Freshservice unreachable: the enterprise targets cannot change, the
    // rest can.
    assert_eq!(
        sim_admin(
            &stack,
            &domain,
            "PUT",
            "/faults",
            Some(json!({"error_rate": 1.0, "error_statuses": [503]}))
        )
        .await?,
        200
    );
    let (s, page, _) = post(form(
        &c,
        &[],
        &[
            ("enterprise.costCenter", "cost_centre"),
            ("enterprise.employeeNumber", "employee_no"),
        ],
    ))
    .await?;
    assert_eq!(s, 400);
    assert!(page.contains("cannot be read right now"), "{page}");
    let (s, _, _) = post(form(
        &c,
        &[],
        &[
            ("enterprise.employeeNumber", "employee_no"),
            ("enterprise.organization", "cost_centre"),
        ],
    ))
    .await?;
    assert_eq!(s, 303, "unchanged targets need no call");
    let now = saved(&stack, &tenant).await?;
    assert!(now.mapping.off.is_empty());
    assert!(!now.mapping.create_missing_departments);
    assert_eq!(now.on_delete, None);
    assert_no_secrets_logged();
    Ok(())
}
