//! Discovery endpoints: the User schema the bridge reports carries the
//! tenant's Freshservice custom fields under `custom_fields`, read from the
//! account's requester fields (no worker needs to have run first).

use e2e::{Stack, StackOptions};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_schema_lists_the_accounts_custom_fields() -> anyhow::Result<()> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        custom_fields: vec![
            json!({"name": "cost_center", "label": "Cost center", "type": "custom_text"}),
            json!({"name": "level", "label": "Level", "type": "custom_number"}),
            json!({"name": "office", "label": "Office", "type": "custom_dropdown", "choices": ["Berlin", "Paris"]}),
            json!({"name": "remote", "label": "Remote", "type": "custom_checkbox"}),
        ],
        ..Default::default()
    })
    .await?;
    let (st, body) = s
        .scim(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    let attrs = body["attributes"].as_array().expect("attributes");
    let custom = attrs
        .iter()
        .find(|a| a["name"] == "custom_fields")
        .expect("custom_fields attribute");
    let sub: Vec<&Value> = custom["subAttributes"]
        .as_array()
        .expect("subAttributes")
        .iter()
        .collect();
    let by_name = |n: &str| sub.iter().find(|a| a["name"] == n).copied();
    assert_eq!(
        by_name("cost_center").expect("cost_center")["type"],
        "string"
    );
    assert_eq!(by_name("level").expect("level")["type"], "integer");
    assert_eq!(by_name("remote").expect("remote")["type"], "boolean");
    assert_eq!(
        by_name("office").expect("office")["canonicalValues"],
        json!(["Berlin", "Paris"])
    );

    // The discovery list endpoints answer too, without a token.
    let resp = s
        .http
        .get(format!("{}/ServiceProviderConfig", s.scim_base))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let spc: Value = resp.json().await?;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 200);
    let (st, rts) = s.scim("GET", "/ResourceTypes", None).await?;
    assert_eq!(st, 200);
    assert_eq!(rts["Resources"][0]["id"], "User");
    Ok(())
}
