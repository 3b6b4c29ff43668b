//! Microsoft Entra ID's request sequences for users (Test Connection,
//! match-then-create, PATCH updates, disable / re-enable, hard delete)
//! replayed against the real ingress, Redis and RabbitMQ, with Entra's
//! bodies and headers. Default ("Replace", `"False"`, string manager) and
//! `aadOptscim062020` flag mode / Microsoft's SCIM Validator (lowercase
//! ops, booleans, `{"value": …}` manager) are both replayed. No worker
//! runs: these prove what Entra sees, answered from the bridge's own state,
//! and every write is checked by a later read.
//!
//! Sources (Microsoft Learn, under
//! https://learn.microsoft.com/entra/identity/app-provisioning/):
//! `use-scim-to-provision-users-and-groups` (the sequences and bodies),
//! `application-provisioning-config-problem-scim-compatibility` (default vs
//! flag-mode PATCH shapes), `how-provisioning-works` (disable and delete),
//! `scim-validator-tutorial` (the validator). Groups are out of scope here.

use e2e::{Stack, StackOptions};
use serde_json::{json, Value};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Entra's User-Agent is not documented anywhere public; this stands for
/// it. The ingress must not depend on it, nor on an `Accept` header
/// (Entra's is undocumented too, and a server that required one answered
/// Test Connection with 406), so [`entra`] sends none.
const ENTRA_USER_AGENT: &str = "Microsoft Entra ID provisioning (test replay)";

/// Entra's request body type (the docs' samples; a 2018 capture adds
/// `; charset=utf-8`, which the Okta replay already sends).
const ENTRA_CONTENT_TYPE: &str = "application/scim+json";

async fn ingress_only() -> anyhow::Result<Stack> {
    Stack::start_with(StackOptions {
        workers: 0,
        ..Default::default()
    })
    .await
}

/// One request the way Entra sends it: bearer token, its User-Agent, no
/// `Accept`, bodies as `application/scim+json`. Returns status, response
/// Content-Type and JSON body (Null when empty).
async fn entra(
    s: &Stack,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = s
        .http
        .request(method.parse()?, format!("{}{}", s.scim_base, path))
        .bearer_auth(&s.token)
        .header("User-Agent", ENTRA_USER_AGENT);
    if let Some(b) = body {
        req = req
            .header("Content-Type", ENTRA_CONTENT_TYPE)
            .body(b.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await?;
    if text.is_empty() {
        return Ok((status, Value::Null));
    }
    // The validator flags any other response type.
    assert!(
        ctype.starts_with("application/scim+json"),
        "{method} {path}: Content-Type {ctype:?}"
    );
    Ok((status, serde_json::from_str(&text)?))
}

/// Entra form-encodes query strings: `+` for a space, `%22` for a quote,
/// `%40` for `@`.
fn form(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /Users?filter=<attr> eq "<value>"`, form-encoded as Entra sends it.
fn users_where(attr: &str, value: &str) -> String {
    format!("/Users?filter={}", form(&format!(r#"{attr} eq "{value}""#)))
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn assert_list(body: &Value, total: u64) {
    assert_eq!(body["schemas"][0], LIST, "{body}");
    for k in ["totalResults", "startIndex", "itemsPerPage"] {
        assert!(body[k].is_u64(), "{k} must be a JSON integer: {body}");
    }
    assert_eq!(body["totalResults"], total, "{body}");
    let n = body["Resources"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(body["itemsPerPage"], n, "{body}");
    assert!(n <= total, "{body}");
}

fn assert_error(body: &Value, status: u16) {
    assert_eq!(body["schemas"][0], ERROR, "{body}");
    assert_eq!(
        body["status"].as_str().map(str::to_string),
        Some(status.to_string()),
        "status is a string: {body}"
    );
}

/// The create body of the docs' sample (verbatim but for the names), with
/// the enterprise attributes an Entra mapping adds.
fn entra_user(user_name: &str, external_id: &str, active: Value, manager: Value) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": active,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "title": "Site engineer",
        "phoneNumbers": [
            {"type": "mobile", "primary": false, "value": "312-320-1707"},
            {"type": "work", "primary": true, "value": "312-320-0932"}
        ],
        (ENTERPRISE): {
            "department": "Engineering",
            "manager": manager,
            "employeeNumber": "E-1001",
            "costCenter": "CC-42",
            "organization": "Contoso",
            "division": "R&D"
        }
    })
}

async fn create(s: &Stack, body: Value) -> anyhow::Result<String> {
    let (st, created) = entra(s, "POST", "/Users", Some(body)).await?;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "{created}");
    Ok(id)
}

/// A manager Entra can point at: manager references carry our id.
async fn create_manager(s: &Stack, user_name: &str) -> anyhow::Result<String> {
    create(
        s,
        json!({"schemas": [USER], "userName": user_name, "active": true,
            "externalId": uuid::Uuid::new_v4().to_string(),
            "emails": [{"primary": true, "type": "work", "value": user_name}]}),
    )
    .await
}

async fn get_user(s: &Stack, id: &str) -> anyhow::Result<Value> {
    let (st, body) = entra(s, "GET", &format!("/Users/{id}"), None).await?;
    assert_eq!(st, 200, "{body}");
    Ok(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_probes_a_random_guid_and_gets_an_empty_list() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    // Some user exists, so an empty answer means "no match", not "no users".
    create_manager(&s, "someone@contoso.example").await?;

    // The form-encoded probe (`userName+eq+%22<guid>%22`).
    let guid = uuid::Uuid::new_v4().to_string();
    let (st, body) = entra(&s, "GET", &users_where("userName", &guid), None).await?;
    assert_eq!(st, 200, "a 404 here quarantines the job: {body}");
    assert_list(&body, 0);
    assert_eq!(body["Resources"], json!([]));
    assert_eq!(body["startIndex"], 1);

    // The validator's raw quotes, and the probe on another matching attribute.
    let guid = uuid::Uuid::new_v4().to_string();
    let (st, body) = entra(
        &s,
        "GET",
        &format!("/Users?filter=userName+eq+\"{guid}\""),
        None,
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);
    let (st, body) = entra(&s, "GET", &users_where("externalId", &guid), None).await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);

    // With the flag on the Tenant URL repeated on the request: ignored.
    let (st, body) = entra(
        &s,
        "GET",
        &format!("{}&aadOptscim062020", users_where("userName", &guid)),
        None,
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);

    // The (unconfirmed) group probe must not fail the connection test.
    let (st, body) = entra(
        &s,
        "GET",
        &format!(
            "/Groups?excludedAttributes=members&filter={}",
            form(&format!(r#"displayName eq "{guid}""#))
        ),
        None,
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);

    // A wrong Secret Token is refused (bad credentials quarantine the job).
    let (st, body) = s.scim_as("not-the-token", "GET", "/Users", None).await?;
    assert_eq!(st, 401, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_then_create_with_the_enterprise_extension_then_409() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mgr = create_manager(&s, "boss@contoso.example").await?;
    let user_name = "Test_User_00aa00aa@contoso.example";
    let external_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";

    // 1. Match on each matching attribute: externalId (quoted, and the
    // docs' older unquoted form), then userName. Nothing yet.
    let (st, body) = entra(&s, "GET", &users_where("externalId", external_id), None).await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);
    let (st, body) = entra(
        &s,
        "GET",
        &format!("/Users?filter=externalId+eq+{external_id}"),
        None,
    )
    .await?;
    // Not RFC 7644 filter syntax, and whether Entra still sends it is
    // unconfirmed: a SCIM 400 (not a 5xx, not a false match) is the answer.
    assert!(st == 200 || st == 400, "never a 5xx: {st} {body}");
    if st == 200 {
        assert_list(&body, 0);
    }
    let (st, body) = entra(&s, "GET", &users_where("userName", user_name), None).await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 0);

    // 2. POST with `active` a JSON boolean and the manager as {"value": …}.
    let (st, created) = entra(
        &s,
        "POST",
        "/Users",
        Some(entra_user(
            user_name,
            external_id,
            json!(true),
            json!({"value": mgr}),
        )),
    )
    .await?;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty());
    assert_eq!(created["active"], true);
    assert!(
        created["schemas"]
            .as_array()
            .is_some_and(|a| a.contains(&json!(ENTERPRISE))),
        "{created}"
    );
    let want_ext = json!({
        "department": "Engineering",
        "manager": {"value": mgr},
        "employeeNumber": "E-1001",
        "costCenter": "CC-42",
        "organization": "Contoso",
        "division": "R&D"
    });
    assert_eq!(created[ENTERPRISE], want_ext, "echoed as stored");
    assert!(created.get("roles").is_none_or(|r| r == &json!([])));

    // Read your writes: by id, by each matching attribute, case-insensitive.
    let got = get_user(&s, &id).await?;
    assert_eq!(got[ENTERPRISE], want_ext);
    assert_eq!(got["userName"], user_name);
    assert_eq!(got["phoneNumbers"][0]["value"], "312-320-1707");
    for (attr, value) in [
        ("externalId", external_id.to_string()),
        ("userName", user_name.to_string()),
        ("userName", user_name.to_uppercase()),
    ] {
        let (st, body) = entra(&s, "GET", &users_where(attr, &value), None).await?;
        assert_eq!(st, 200, "{body}");
        assert_list(&body, 1);
        assert_eq!(body["Resources"][0]["id"], id.as_str(), "{attr} eq {value}");
        assert_eq!(body["Resources"][0][ENTERPRISE]["manager"]["value"], mgr);
    }

    // The other read shapes Entra and its validator send.
    let (_, body) = entra(
        &s,
        "GET",
        &format!(
            "{}&attributes=id,userName",
            users_where("userName", user_name)
        ),
        None,
    )
    .await?;
    assert_list(&body, 1);
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    assert!(body["Resources"][0].get("emails").is_none(), "{body}");
    let (_, body) = entra(
        &s,
        "GET",
        &format!("/Users/{id}?excludedAttributes=emails,{ENTERPRISE}"),
        None,
    )
    .await?;
    assert_eq!(body["id"], id.as_str());
    assert!(body.get("emails").is_none(), "{body}");
    assert!(body.get(ENTERPRISE).is_none(), "{body}");
    // Reference check of the older docs: id and manager together.
    let (st, body) = entra(
        &s,
        "GET",
        &format!(
            "/Users?filter={}&attributes=id",
            form(&format!(
                r#"id eq "{id}" and {ENTERPRISE}:manager.value eq "{mgr}""#
            ))
        ),
        None,
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    assert_list(&body, 1);
    let (_, body) = entra(&s, "GET", &users_where("id", &id), None).await?;
    assert_list(&body, 1);
    let (_, body) = entra(&s, "GET", "/Users?startIndex=1&count=1", None).await?;
    assert_list(&body, 2);
    assert_eq!(body["itemsPerPage"], 1);

    // 3. The same userName again → 409 uniqueness (also in another case).
    let (st, body) = entra(
        &s,
        "POST",
        "/Users",
        Some(entra_user(
            user_name,
            external_id,
            json!(true),
            json!({"value": mgr}),
        )),
    )
    .await?;
    assert_eq!(st, 409, "{body}");
    assert_error(&body, 409);
    assert_eq!(body["scimType"], "uniqueness");
    let (st, _) = entra(
        &s,
        "POST",
        "/Users",
        Some(entra_user(
            &user_name.to_lowercase(),
            "other",
            json!(true),
            json!(mgr),
        )),
    )
    .await?;
    assert_eq!(st, 409);

    // 4. Production's own shapes: `"active": "True"` and the manager as a
    // plain string id; Microsoft's fixture capitalises `Department`.
    let mut body = entra_user(
        "second@contoso.example",
        "22fbc523-6032-4c5f-939d-5d4850cf3e52",
        json!("True"),
        json!(mgr),
    );
    body[ENTERPRISE]
        .as_object_mut()
        .and_then(|o| o.remove("department"));
    body[ENTERPRISE]["Department"] = json!("some department");
    let (st, created) = entra(&s, "POST", "/Users", Some(body)).await?;
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["active"], true, "a JSON boolean back");
    assert_eq!(created[ENTERPRISE]["manager"], json!({"value": mgr}));
    assert_eq!(created[ENTERPRISE]["department"], "some department");
    let got = get_user(&s, created["id"].as_str().unwrap_or_default()).await?;
    assert_eq!(got["active"], true);
    assert_eq!(got[ENTERPRISE]["manager"], json!({"value": mgr}));
    assert_eq!(got[ENTERPRISE]["department"], "some department");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_arrive_as_patch_with_entra_shapes() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mgr = create_manager(&s, "boss@contoso.example").await?;
    let mgr2 = create_manager(&s, "boss2@contoso.example").await?;
    let id = create(
        &s,
        json!({"schemas": [USER, ENTERPRISE], "externalId": "jyoung", "userName": "jyoung@contoso.example",
            "active": true, "meta": {"resourceType": "User"}, "roles": [],
            "emails": [{"primary": true, "type": "work", "value": "jyoung@contoso.example"},
                       {"type": "home", "value": "j@home.example"}],
            "name": {"formatted": "J Young", "familyName": "Young", "givenName": "J"}}),
    )
    .await?;
    let path = format!("/Users/{id}");

    // The manager reference follow-up, as captured (`Add`, a string id).
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(json!({"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":mgr}],
            "schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]})),
    )
    .await?;
    assert_eq!(st, 200, "answered with the resource: {body}");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body[ENTERPRISE]["manager"], json!({"value": mgr}));
    assert_eq!(
        get_user(&s, &id).await?[ENTERPRISE]["manager"],
        json!({"value": mgr}),
        "read back as manager.value, never a string"
    );

    // Default mode: capitalised ops, one per attribute, value-path filters
    // (also on elements that do not exist yet), URN-colon extension paths.
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(patch(json!([
            {"op": "Replace", "path": "displayName", "value": "Jo Young"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "jo.young@contoso.example"},
            {"op": "Replace", "path": "userName", "value": "jo.young@contoso.example"},
            {"op": "Replace", "path": "name.familyName", "value": "Young-Smith"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Add", "path": "nickName", "value": "Jo"},
            {"op": "Add", "path": "title", "value": "Engineer"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Research"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "E-77"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "COMPANY1"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": mgr2}
        ]))),
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    for doc in [body, get_user(&s, &id).await?] {
        assert_eq!(doc["displayName"], "Jo Young");
        assert_eq!(doc["userName"], "jo.young@contoso.example");
        assert_eq!(doc["name"]["familyName"], "Young-Smith");
        assert_eq!(doc["name"]["givenName"], "J", "the rest of name is kept");
        let emails = doc["emails"].as_array().cloned().unwrap_or_default();
        assert_eq!(emails.len(), 2, "the home email is kept: {doc}");
        assert!(emails.contains(
            &json!({"primary": true, "type": "work", "value": "jo.young@contoso.example"})
        ));
        assert_eq!(
            doc["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555 0100"}]),
            "stored as sent"
        );
        assert_eq!(
            doc["addresses"],
            json!([{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond"}]),
            "two ops build one address"
        );
        assert_eq!(doc["nickName"], "Jo");
        assert_eq!(doc["title"], "Engineer");
        assert_eq!(
            doc[ENTERPRISE],
            json!({"manager": {"value": mgr2}, "department": "Research",
                "employeeNumber": "E-77", "organization": "COMPANY1"}),
            "the manager re-pointed whole, never merged with the old one"
        );
    }
    // The renamed user is found by its new userName, not the old one.
    let (_, body) = entra(
        &s,
        "GET",
        &users_where("userName", "jo.young@contoso.example"),
        None,
    )
    .await?;
    assert_list(&body, 1);
    let (_, body) = entra(
        &s,
        "GET",
        &users_where("userName", "jyoung@contoso.example"),
        None,
    )
    .await?;
    assert_list(&body, 0);

    // Flag mode: one path-less op whose value has dotted and URN keys.
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(patch(json!([{"op": "Replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}]))),
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    for doc in [body, get_user(&s, &id).await?] {
        assert_eq!(doc["displayName"], "Bjfe");
        assert_eq!(
            doc["name"],
            json!({"formatted": "J Young", "familyName": "Unua", "givenName": "Kkom"})
        );
        assert_eq!(doc[ENTERPRISE]["employeeNumber"], "Aklq");
        assert!(doc.get("name.givenName").is_none(), "no literal dotted key");
    }

    // The validator's manager shapes, and the old docs' wrapped one.
    for value in [
        json!({"value": mgr}),
        json!([{"$ref": format!("{}/Users/{mgr2}", s.scim_base), "value": mgr2}]),
    ] {
        let want = if value.is_array() { &mgr2 } else { &mgr };
        let (st, body) = entra(
            &s,
            "PATCH",
            &path,
            Some(patch(
                json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": value}]),
            )),
        )
        .await?;
        assert_eq!(st, 200, "{body}");
        assert_eq!(
            get_user(&s, &id).await?[ENTERPRISE]["manager"]["value"],
            want.as_str()
        );
    }

    // `Remove` of the manager (the validator sends it; production does not
    // clear attributes) leaves no manager and the other enterprise values.
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]),
        )),
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    for doc in [body, get_user(&s, &id).await?] {
        assert!(doc[ENTERPRISE].get("manager").is_none(), "{doc}");
        assert_eq!(doc[ENTERPRISE]["department"], "Research");
    }
    let (_, body) = entra(
        &s,
        "GET",
        &format!(
            "/Users?filter={}",
            form(&format!(r#"{ENTERPRISE}:manager.value eq "{mgr2}""#))
        ),
        None,
    )
    .await?;
    assert_list(&body, 0);

    // An empty Operations array is a 400 (never a 5xx) and changes nothing.
    let before = get_user(&s, &id).await?;
    let (st, body) = entra(&s, "PATCH", &path, Some(patch(json!([])))).await?;
    assert_eq!(st, 400, "{body}");
    assert_error(&body, 400);
    let after = get_user(&s, &id).await?;
    assert_eq!(before["meta"]["version"], after["meta"]["version"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_and_re_enable_with_string_booleans() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let user_name = "leaver@contoso.example";
    let id = create(
        &s,
        entra_user(user_name, "leaver", json!("True"), json!(null)),
    )
    .await?;
    let path = format!("/Users/{id}");

    // Default mode `"False"`, a lowercased mapping's `"false"`, flag mode's
    // `false`: each disables, and the user stays visible by id and filter.
    for (op, value) in [
        ("Replace", json!("False")),
        ("Replace", json!("false")),
        ("replace", json!(false)),
    ] {
        let (st, body) = entra(
            &s,
            "PATCH",
            &path,
            Some(patch(
                json!([{"op": "Replace", "path": "active", "value": "True"}]),
            )),
        )
        .await?;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["active"], true);
        let (st, body) = entra(
            &s,
            "PATCH",
            &path,
            Some(patch(json!([{"op": op, "path": "active", "value": value}]))),
        )
        .await?;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["active"], false, "a JSON boolean back for {value}");
        let got = get_user(&s, &id).await?;
        assert_eq!(got["active"], false, "a disabled user stays readable");
        let (_, list) = entra(&s, "GET", &users_where("userName", user_name), None).await?;
        assert_list(&list, 1);
        assert_eq!(list["Resources"][0]["active"], false);
    }

    // Re-enable (`"True"`), read back.
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )),
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(get_user(&s, &id).await?["active"], true);
    let (_, list) = entra(
        &s,
        "GET",
        &format!("/Users?filter={}", form("active eq false")),
        None,
    )
    .await?;
    assert_list(&list, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_delete_then_gone_then_recreate() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let user_name = "purged@contoso.example";
    let id = create(
        &s,
        entra_user(user_name, "purged", json!(true), json!(null)),
    )
    .await?;
    let path = format!("/Users/{id}");

    let (st, body) = entra(&s, "DELETE", &path, None).await?;
    assert_eq!(st, 204, "{body}");
    assert_eq!(body, Value::Null, "no body with 204");

    let (st, body) = entra(&s, "GET", &path, None).await?;
    assert_eq!(st, 404, "{body}");
    assert_error(&body, 404);
    for (attr, value) in [("userName", user_name), ("externalId", "purged")] {
        let (st, body) = entra(&s, "GET", &users_where(attr, value), None).await?;
        assert_eq!(st, 200, "{body}");
        assert_list(&body, 0);
    }
    let (st, body) = entra(&s, "GET", &users_where("id", &id), None).await?;
    assert_eq!(st, 200);
    assert_list(&body, 0);
    // A PATCH or a second DELETE of the deleted user is a SCIM 404.
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    )
    .await?;
    assert_eq!(st, 404, "{body}");
    let (st, body) = entra(&s, "DELETE", &path, None).await?;
    assert_eq!(st, 404, "{body}");
    assert_error(&body, 404);

    // The same person assigned again: a new user with a new id.
    let (st, body) = entra(&s, "GET", &users_where("userName", user_name), None).await?;
    assert_eq!(st, 200);
    assert_list(&body, 0);
    let again = create(
        &s,
        entra_user(user_name, "purged", json!(true), json!(null)),
    )
    .await?;
    assert_ne!(again, id, "a deleted id is never reused");
    let got = get_user(&s, &again).await?;
    assert_eq!(got["userName"], user_name);
    assert_eq!(got["active"], true);
    let (_, body) = entra(&s, "GET", &users_where("userName", user_name), None).await?;
    assert_list(&body, 1);
    assert_eq!(body["Resources"][0]["id"], again.as_str());
    Ok(())
}

/// The examples of Microsoft's SCIM tutorial, as printed: "Example 2"
/// (create, with the enterprise URN misspelt in `schemas` and nulls),
/// "Example 5" (`Add` on the unqualified `manager` with a wrapped
/// `$ref`/`value` list), "Example 6" (DELETE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_tutorial_examples_as_printed() -> anyhow::Result<()> {
    let s = ingress_only().await?;
    let mgr = create_manager(&s, "boss@contoso.example").await?;
    let (st, created) = entra(
        &s,
        "POST",
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": true,
            "addresses": null,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "Young", "givenName": "Joy"},
            "phoneNumbers": null,
            "preferredLanguage": null,
            "title": null,
            "department": null,
            "manager": null
        })),
    )
    .await?;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let got = get_user(&s, &id).await?;
    assert_eq!(got["userName"], "jyoung@testuser.com");
    assert!(got.get("addresses").is_none() && got.get("title").is_none());
    assert!(got.get(ENTERPRISE).is_none(), "all its members were null");

    let path = format!("/Users/{id}");
    let (st, body) = entra(
        &s,
        "PATCH",
        &path,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "manager", "value": [{
                "$ref": format!("{}/Users/{mgr}", s.scim_base), "value": mgr}]}]}),
        ),
    )
    .await?;
    assert_eq!(st, 200, "{body}");
    let got = get_user(&s, &id).await?;
    assert_eq!(got[ENTERPRISE]["manager"]["value"], mgr.as_str());
    assert!(got.get("manager").is_none(), "under the extension: {got}");

    let (st, _) = entra(&s, "DELETE", &path, None).await?;
    assert_eq!(st, 204);
    let (st, _) = entra(&s, "GET", &path, None).await?;
    assert_eq!(st, 404);
    Ok(())
}
