//! Group push as Okta and Entra send it (`docs/identity-providers.md`),
//! replayed against the real ingress, Redis and RabbitMQ, with no worker:
//! what the identity provider reads back after each step, a user's
//! `groups`, and every refusal leaving the stored group as it was.

use e2e::{okta_encode as enc, okta_user, Stack, StackOptions};
use serde_json::{json, Value};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn ingress_only() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

async fn user(s: &Stack, name: &str) -> anyhow::Result<String> {
    let (st, u) = s
        .scim("POST", "/Users", Some(okta_user(name, "G", "M")))
        .await?;
    anyhow::ensure!(st == 201, "{st} {u}");
    Ok(u["id"].as_str().unwrap_or_default().to_string())
}

/// The member ids of a group, sorted, as GET answers them.
async fn members(s: &Stack, gid: &str) -> anyhow::Result<Vec<String>> {
    let (st, g) = s.scim("GET", &format!("/Groups/{gid}"), None).await?;
    anyhow::ensure!(st == 200, "{st} {g}");
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_push_sequence_reads_back_after_every_step() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let u1 = user(&s, "g1@okta.local").await?;
    let u2 = user(&s, "g2@okta.local").await?;
    let u3 = user(&s, "g3@okta.local").await?;

    // The existence check Okta sends before it creates (§1g).
    let filter = format!(
        "/Groups?filter={}&startIndex=1&count=100",
        enc(r#"displayName eq "Test SCIMv2""#)
    );
    let (st, found) = s.scim("GET", &filter, None).await?;
    assert_eq!((st, found["totalResults"].clone()), (200, json!(0)));

    let (st, g) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})),
        )
        .await?;
    assert_eq!(st, 201, "{g}");
    assert_eq!(g["meta"]["resourceType"], "Group");
    assert_eq!(g["members"], json!([]));
    let gid = g["id"].as_str().unwrap().to_string();
    let version = g["meta"]["version"].clone();

    // Now the filter finds it, case-insensitively.
    let (_, found) = s
        .scim(
            "GET",
            &format!("/Groups?filter={}", enc(r#"displayName eq "test scimv2""#)),
            None,
        )
        .await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], gid.as_str());

    // The rename PATCH Okta sends first, and with every membership change:
    // same name, so no write (the version stays).
    let rename_same =
        patch(json!([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}}]));
    let (st, same) = s
        .scim(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(rename_same.clone()),
        )
        .await?;
    assert_eq!(st, 200, "{same}");
    assert_eq!(
        same["meta"]["version"], version,
        "an unchanged rename writes nothing"
    );

    // Add three members, {value, display} and no type.
    let add = patch(json!([{"op": "add", "path": "members", "value": [
        {"value": u1, "display": "g1@okta.local"},
        {"value": u2, "display": "g2@okta.local"},
        {"value": u3, "display": "g3@okta.local"}]}]));
    let (st, added) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(add))
        .await?;
    assert_eq!(st, 200, "{added}");
    assert_eq!(members(&s, &gid).await?, sorted(&[&u1, &u2, &u3]));
    assert_eq!(added["members"][0]["type"], "User");

    // A member's `groups` lists the group.
    let (_, u) = s.scim("GET", &format!("/Users/{u1}"), None).await?;
    assert_eq!(u["groups"][0]["value"], gid.as_str(), "{u}");
    assert_eq!(u["groups"][0]["display"], "Test SCIMv2");

    // Remove one by Okta's filter path.
    let rm = patch(json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]));
    let (st, _) = s.scim("PATCH", &format!("/Groups/{gid}"), Some(rm)).await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, sorted(&[&u1, &u3]));
    let (_, u) = s.scim("GET", &format!("/Users/{u2}"), None).await?;
    assert_eq!(u["groups"], json!([]), "{u}");

    // Rename for real.
    let rename = patch(json!([{"op": "replace", "value": {"id": gid, "displayName": "Renamed"}}]));
    let (st, r) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(rename))
        .await?;
    assert_eq!((st, r["displayName"].clone()), (200, json!("Renamed")));
    let (_, u) = s.scim("GET", &format!("/Users/{u1}"), None).await?;
    assert_eq!(u["groups"][0]["display"], "Renamed");
    let (_, old) = s.scim("GET", &filter, None).await?;
    assert_eq!(old["totalResults"], 0, "the old name is free again");

    // "Push now": the whole list.
    let push = patch(json!([{"op": "replace", "path": "members", "value": [
        {"value": u2, "display": "g2@okta.local"}, {"value": u3, "display": "g3@okta.local"}]}]));
    let (st, _) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(push))
        .await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, sorted(&[&u2, &u3]));

    // …and with an empty list.
    let empty = patch(json!([{"op": "replace", "path": "members", "value": []}]));
    let (st, _) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(empty))
        .await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, Vec::<String>::new());

    let (st, _) = s.scim("DELETE", &format!("/Groups/{gid}"), None).await?;
    assert_eq!(st, 204);
    let (st, _) = s.scim("GET", &format!("/Groups/{gid}"), None).await?;
    assert_eq!(st, 404);
    let (_, u) = s.scim("GET", &format!("/Users/{u3}"), None).await?;
    assert_eq!(u["groups"], json!([]));
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiw_put_replaces_name_and_members_and_keeps_them_when_omitted() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let u1 = user(&s, "p1@okta.local").await?;
    let u2 = user(&s, "p2@okta.local").await?;
    let (_, g) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "AIW", "members": [{"value": u1}]})),
        )
        .await?;
    let gid = g["id"].as_str().unwrap().to_string();
    let put = json!({"schemas": [GROUP], "id": gid, "displayName": "AIW 2",
        "members": [{"value": u2, "display": "p2@okta.local"}]});
    let (st, r) = s.scim("PUT", &format!("/Groups/{gid}"), Some(put)).await?;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["displayName"], "AIW 2");
    assert_eq!(members(&s, &gid).await?, vec![u2.clone()]);
    // A PUT that names no members keeps them (never empties a group by omission).
    let (st, _) = s
        .scim(
            "PUT",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [GROUP], "displayName": "AIW 3"})),
        )
        .await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, vec![u2.clone()]);
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_group_sequence() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let u1 = user(&s, "e1@entra.local").await?;
    let u2 = user(&s, "e2@entra.local").await?;
    // Match on displayName without members, then create with externalId
    // and Entra's own Group extension URN (§1e).
    let (st, m) = s
        .scim(
            "GET",
            &format!(
                "/Groups?excludedAttributes=members&filter={}",
                enc(r#"displayName eq "Sales""#)
            ),
            None,
        )
        .await?;
    assert_eq!((st, m["totalResults"].clone()), (200, json!(0)));
    let (st, g) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Sales",
                "meta": {"resourceType": "Group"}})),
        )
        .await?;
    assert_eq!(st, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (_, r) = s
        .scim(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await?;
    assert!(r.get("members").is_none(), "{r}");
    assert_eq!(r["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    let (_, byext) = s
        .scim(
            "GET",
            &format!(
                "/Groups?filter={}",
                enc(r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#)
            ),
            None,
        )
        .await?;
    assert_eq!(byext["totalResults"], 1);

    // Capitalised Add with `$ref: null`.
    let add = patch(json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": u1}, {"$ref": null, "value": u2}]}]));
    let (st, _) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(add))
        .await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, sorted(&[&u1, &u2]));
    // Remove with a value list removes those members only.
    let rm = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]));
    let (st, _) = s.scim("PATCH", &format!("/Groups/{gid}"), Some(rm)).await?;
    assert_eq!(st, 200);
    assert_eq!(members(&s, &gid).await?, vec![u2.clone()]);
    // Rename by path, and the validator's path-less externalId.
    let ren = patch(
        json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"},
        {"op": "replace", "value": {"externalId": "c3b97a69"}}]),
    );
    let (st, r) = s
        .scim("PATCH", &format!("/Groups/{gid}"), Some(ren))
        .await?;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["displayName"], "Sales EMEA");
    assert_eq!(r["externalId"], "c3b97a69");
    let (st, _) = s.scim("DELETE", &format!("/Groups/{gid}"), None).await?;
    assert_eq!(st, 204);
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_group_writes_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let other = ingress_only().await?;
    let mine = user(&s, "mine@okta.local").await?;
    let theirs = user(&other, "theirs@okta.local").await?;
    let (_, g) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Kept", "members": [{"value": mine}]})),
        )
        .await?;
    let gid = g["id"].as_str().unwrap().to_string();
    let before = s.scim("GET", &format!("/Groups/{gid}"), None).await?.1;

    let refusals: Vec<(Value, u16, &str)> = vec![
        // An id that is nobody, and a user of another tenant.
        (
            patch(json!([{"op": "add", "path": "members", "value": [{"value": "nobody-here"}]}])),
            400,
            "nobody-here",
        ),
        (
            patch(json!([{"op": "add", "path": "members", "value": [{"value": theirs}]}])),
            400,
            &theirs,
        ),
        // A nested group.
        (
            patch(
                json!([{"op": "add", "path": "members", "value": [{"value": gid, "type": "Group"}]}]),
            ),
            400,
            "groups",
        ),
        // 10,000 members in one PATCH.
        (
            patch(json!([{"op": "add", "path": "members",
                "value": (0..10_000).map(|i| json!({"value": format!("u{i}")})).collect::<Vec<_>>()}])),
            400,
            "at most 1000 members",
        ),
        (
            patch(json!([{"op": "remove", "path": "displayName"}])),
            400,
            "required",
        ),
        (
            patch(json!([{"op": "replace", "path": "displayName", "value": "  "}])),
            400,
            "blank",
        ),
        (
            patch(json!([{"op": "replace", "value": {"id": "another-id"}}])),
            400,
            "id",
        ),
        (
            patch(json!([{"op": "add", "path": "owners", "value": "x"}])),
            400,
            "owners",
        ),
    ];
    for (body, status, says) in refusals {
        let (st, err) = s
            .scim("PATCH", &format!("/Groups/{gid}"), Some(body))
            .await?;
        assert_eq!(st, status, "{err}");
        assert!(
            err["detail"].as_str().unwrap_or("").contains(says),
            "{says:?} not in {err}"
        );
        assert_eq!(
            s.scim("GET", &format!("/Groups/{gid}"), None).await?.1,
            before
        );
    }

    // A PUT with an unknown member is refused whole: the name stays too.
    let (st, err) = s
        .scim(
            "PUT",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [GROUP], "displayName": "Changed", "members": [{"value": mine}, {"value": "ghost"}]})),
        )
        .await?;
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["scimType"], "invalidValue");
    assert_eq!(
        s.scim("GET", &format!("/Groups/{gid}"), None).await?.1,
        before
    );

    // Duplicate displayName (any case): 409, nothing created.
    let (st, err) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "KEPT"})),
        )
        .await?;
    assert_eq!(
        (st, err["scimType"].clone()),
        (409, json!("uniqueness")),
        "{err}"
    );
    // A create naming an unknown member stores nothing, and keeps the name free.
    let (st, _) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Fresh", "members": [{"value": "ghost"}]})),
        )
        .await?;
    assert_eq!(st, 400);
    let (_, all) = s.scim("GET", "/Groups", None).await?;
    assert_eq!(all["totalResults"], 1, "{all}");
    for (body, says) in [
        (json!({"schemas": [GROUP]}), "displayName"),
        (
            json!({"schemas": [GROUP], "displayName": "x".repeat(256)}),
            "at most 255",
        ),
        (json!({"schemas": ["urn:x"], "displayName": "y"}), "schemas"),
    ] {
        let (st, err) = s.scim("POST", "/Groups", Some(body)).await?;
        assert_eq!(st, 400, "{err}");
        assert!(err["detail"].as_str().unwrap_or("").contains(says), "{err}");
    }
    let (st, _) = s.scim("GET", "/Groups/nope", None).await?;
    assert_eq!(st, 404);
    let (st, _) = s
        .scim(
            "PATCH",
            "/Groups/nope",
            Some(patch(
                json!([{"op": "add", "path": "members", "value": []}]),
            )),
        )
        .await?;
    assert_eq!(st, 404);
    other.stop().await;
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_page_in_a_stable_order_and_members_can_be_left_out() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let u = user(&s, "pager@okta.local").await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, g) = s
            .scim(
                "POST",
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": format!("G{i}"), "members": [{"value": u}]})),
            )
            .await?;
        ids.push(g["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let (_, page) = s
            .scim("GET", &format!("/Groups?startIndex={start}&count=2"), None)
            .await?;
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["startIndex"], start);
        for r in page["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, ids, "creation order, every group once");
    let (_, page) = s
        .scim("GET", "/Groups?excludedAttributes=members", None)
        .await?;
    assert!(page["Resources"][0].get("members").is_none());
    assert!(page["Resources"][0].get("displayName").is_some());
    // A filter on members, and the user's five groups.
    let (_, by_member) = s
        .scim(
            "GET",
            &format!(
                "/Groups?filter={}",
                enc(&format!("members.value eq \"{u}\""))
            ),
            None,
        )
        .await?;
    assert_eq!(by_member["totalResults"], 5);
    let (_, usr) = s.scim("GET", &format!("/Users/{u}"), None).await?;
    assert_eq!(usr["groups"].as_array().map(Vec::len), Some(5));
    // The root search finds users and groups, and /Groups/.search groups.
    let (st, both) = s
        .scim(
            "POST",
            "/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
        )
        .await?;
    assert_eq!(
        (st, both["totalResults"].clone()),
        (200, json!(6)),
        "{both}"
    );
    let (st, g) = s
        .scim(
            "POST",
            "/Groups/.search",
            Some(json!({"filter": "displayName eq \"G3\""})),
        )
        .await?;
    assert_eq!((st, g["totalResults"].clone()), (200, json!(1)), "{g}");
    // A deleted user leaves its groups at once.
    let (st, _) = s.scim("DELETE", &format!("/Users/{u}"), None).await?;
    assert_eq!(st, 204);
    assert_eq!(members(&s, &ids[0]).await?, Vec::<String>::new());
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_means_503_and_no_group_stored() -> anyhow::Result<()> {
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
    let (st, _) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Down"})),
        )
        .await?;
    assert_eq!(st, 503);
    let (_, all) = s.scim("GET", "/Groups", None).await?;
    assert_eq!(all["totalResults"], 0, "a 503 leaves nothing behind");
    let (_, by_name) = s
        .scim(
            "GET",
            &format!("/Groups?filter={}", enc(r#"displayName eq "Down""#)),
            None,
        )
        .await?;
    assert_eq!(by_name["totalResults"], 0, "and the name is not left taken");
    s.stop().await;
    Ok(())
}

/// Okta pushes membership of one group from several tasks at once: every
/// concurrent add is kept (optimistic writes, retried on a lost race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_member_adds_to_one_group_are_all_kept() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let (_, g) = s
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Busy"})),
        )
        .await?;
    let gid = g["id"].as_str().unwrap().to_string();
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(user(&s, &format!("busy{i}@okta.local")).await?);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for u in &users {
        let body = patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        let (http, url, token) = (
            s.http.clone(),
            format!("{}/Groups/{gid}", s.scim_base),
            s.token.clone(),
        );
        tasks.spawn(async move {
            http.patch(url)
                .bearer_auth(token)
                .header("Content-Type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done??, 200);
    }
    let mut want = users.clone();
    want.sort();
    assert_eq!(members(&s, &gid).await?, want);
    s.stop().await;
    Ok(())
}
