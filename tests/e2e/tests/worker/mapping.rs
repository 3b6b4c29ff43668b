//! Every row of the mapping table (`docs/architecture.md` §8) through the whole stack (SCIM →
//! Redis → RabbitMQ → worker → simulator): names, emails, title, phones,
//! address, locale → language, time zone, custom fields of every type —
//! and a value that cannot fit a custom field is a permanent failure that
//! names the field and the value.

use super::support::*;
use e2e::{okta_user, Stack, StackOptions};
use serde_json::{json, Value};

fn custom_fields() -> Vec<Value> {
    vec![
        json!({"name": "cost_center", "label": "Cost center", "type": "custom_text"}),
        json!({"name": "level", "label": "Level", "type": "custom_number"}),
        json!({"name": "office", "label": "Office", "type": "custom_dropdown", "choices": ["Berlin", "Paris"]}),
        json!({"name": "remote", "label": "Remote", "type": "custom_checkbox"}),
        json!({"name": "start_date", "label": "Start date", "type": "custom_date"}),
    ]
}

async fn stack() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        custom_fields: custom_fields(),
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mapped_row_reaches_the_requester_and_updates() -> anyhow::Result<()> {
    let s = stack().await?;
    let email = "ada@example.com";
    let mut u = okta_user(email, "Ada", "Lovelace");
    u["emails"] = json!([
        {"value": email, "type": "work", "primary": true},
        {"value": "ada.home@example.org", "type": "home"}
    ]);
    u["title"] = json!("Analyst");
    u["phoneNumbers"] = json!([{"value": "+44 20 7946 0000", "type": "work"}, {"value": "+44 7700 900000", "type": "mobile"}]);
    u["addresses"] = json!([{"type": "work", "streetAddress": "12 St James's Square", "locality": "London", "postalCode": "SW1Y 4LB", "country": "GB"}]);
    u["locale"] = json!("pt_BR");
    u["timezone"] = json!("Europe/London");
    u["custom_fields"] = json!({"cost_center": "CC-7", "level": "3", "office": "paris", "remote": "true", "start_date": "2024-03-01T09:00:00Z"});
    let id = scim_create(&s, u.clone()).await?;
    wait_converged(&s, &id).await?;
    let r = only_requester(&s, email).await?.expect("created");
    assert_eq!(r["first_name"], "Ada");
    assert_eq!(r["last_name"], "Lovelace");
    assert_eq!(r["primary_email"], email);
    assert_eq!(r["secondary_emails"], json!(["ada.home@example.org"]));
    assert_eq!(r["job_title"], "Analyst");
    assert_eq!(r["work_phone_number"], "+44 20 7946 0000");
    assert_eq!(r["mobile_phone_number"], "+44 7700 900000");
    let address = r["address"].as_str().unwrap_or_default();
    assert!(
        address.contains("12 St James's Square") && address.contains("London"),
        "{address}"
    );
    assert_eq!(r["language"], "pt-BR");
    assert_eq!(r["time_zone"], "London");
    assert_eq!(r["custom_fields"]["cost_center"], "CC-7");
    assert_eq!(r["custom_fields"]["level"], 3);
    assert_eq!(
        r["custom_fields"]["office"], "Paris",
        "matched to the choice's own spelling"
    );
    assert_eq!(r["custom_fields"]["remote"], true);
    assert_eq!(r["custom_fields"]["start_date"], "2024-03-01");
    assert_eq!(r["can_see_all_tickets_from_associated_departments"], false);

    // Update each row; clearing the title clears it in Freshservice.
    u["name"]["givenName"] = json!("Augusta");
    u["title"] = Value::Null;
    u["locale"] = json!("es_MX");
    u["timezone"] = json!("America/Toronto");
    u["custom_fields"] = json!({"cost_center": "CC-8", "level": 4, "office": "Berlin", "remote": false, "start_date": "2024-04-02"});
    scim_put(&s, &id, u.clone()).await?;
    wait_converged(&s, &id).await?;
    let r = only_requester(&s, email).await?.unwrap();
    assert_eq!(r["first_name"], "Augusta");
    assert_eq!(r["job_title"], Value::Null);
    assert_eq!(r["language"], "es-LA");
    assert_eq!(r["time_zone"], "Eastern Time (US & Canada)");
    assert_eq!(r["custom_fields"]["level"], 4);
    assert_eq!(r["custom_fields"]["office"], "Berlin");
    assert_eq!(r["custom_fields"]["remote"], false);

    // A locale and a zone with no Freshservice match are left out with a
    // warning on the user's sync status, not sent wrong.
    u["locale"] = json!("xx_YY");
    u["timezone"] = json!("Mars/Olympus_Mons");
    u["title"] = json!("Countess");
    scim_put(&s, &id, u.clone()).await?;
    let status = wait_converged(&s, &id).await?;
    let r = only_requester(&s, email).await?.unwrap();
    assert_eq!(r["job_title"], "Countess");
    assert_eq!(r["language"], "es-LA", "unchanged");
    let warnings = status.get("warnings").cloned().unwrap_or_default();
    assert!(
        warnings.contains("xx_YY") || warnings.contains("xx-YY"),
        "{warnings}"
    );
    assert!(warnings.contains("Mars/Olympus_Mons"), "{warnings}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_that_cannot_fit_a_custom_field_is_dead_lettered_with_its_name(
) -> anyhow::Result<()> {
    let s = stack().await?;
    let email = "bad.office@example.com";
    let mut u = okta_user(email, "Bad", "Office");
    u["custom_fields"] = json!({"office": "Tokyo"});
    let id = scim_create(&s, u).await?;
    let dead = e2e::wait_for("the dead letter", CONVERGE, || async {
        Ok(dead_letters(&s)
            .await?
            .into_iter()
            .find(|d| d.letter.as_ref().is_some_and(|l| l.event.id == id)))
    })
    .await?;
    let reason = &dead.letter.as_ref().unwrap().reason;
    assert!(
        reason.contains("office") && reason.contains("Tokyo"),
        "{reason}"
    );
    assert!(
        only_requester(&s, email).await?.is_none(),
        "nothing half-created"
    );
    let status = sync_status(&s, &id).await?;
    assert!(
        status
            .get("last_error")
            .is_some_and(|e| e.contains("office")),
        "{status:?}"
    );
    Ok(())
}
