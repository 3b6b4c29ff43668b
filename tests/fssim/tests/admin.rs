//! The admin API under `/_sim/`, seeding, the call log and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{body, T};
use fssim::{Seed, Sim};
use serde_json::{json, Value};

#[tokio::test]
async fn health_and_account_creation() {
    let t = T::new().await;
    let r =
        t.c.get(format!("{}/_sim/health", t.sim.base_url))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        t.c.post(format!("{}/_sim/accounts", t.sim.base_url))
            .json(&json!({"domain": "acme"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 409);
    let r =
        t.c.post(format!("{}/_sim/accounts", t.sim.base_url))
            .json(&json!({"domain": "bad/name"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        t.sim.url_template(),
        format!("{}/{{domain}}", t.sim.base_url)
    );
    assert!(!t.sim.base_url.ends_with('/'));
}

// The state shows everything, inactive requesters and group members included.
#[tokio::test]
async fn state_shows_everything() {
    let t = T::new().await;
    let a = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com"}))
        .await;
    let b = t
        .admin_post(
            "/requesters",
            json!({"first_name": "B", "primary_email": "b@x.com", "active": false}),
        )
        .await;
    assert_eq!(b.status(), 201);
    let gid = body(t.post("/requester_groups", json!({"name": "G"})).await).await
        ["requester_group"]["id"]
        .as_u64()
        .unwrap();
    t.req(
        reqwest::Method::POST,
        &format!("/requester_groups/{gid}/members/{}", a["id"]),
    )
    .send()
    .await
    .unwrap();
    let st = t.state().await;
    assert_eq!(st["requesters"].as_array().unwrap().len(), 2);
    assert_eq!(st["requesters"][1]["active"], false);
    assert_eq!(st["requester_groups"][0]["members"], json!([a["id"]]));
    assert!(st["requester_fields"].as_array().unwrap().len() > 14);
    assert_eq!(st["departments"][0]["id"], 554);
    assert_eq!(st["locations"].as_array().unwrap().len(), 2);
    assert_eq!(st["agents"], json!([]));
}

// Admin inserts bypass the budget and faults and are not logged as API calls.
#[tokio::test]
async fn admin_inserts_bypass_budget_and_faults() {
    let mut spec = common::acme_spec();
    spec["rate_limit_per_min"] = json!(1);
    let t = T::with_spec(spec).await;
    t.get("/requesters").await;
    t.admin_put("/faults", json!({"error_rate": 1.0, "drop_rate": 1.0}))
        .await;
    let r = t
        .admin_post(
            "/requesters",
            json!({"first_name": "A", "primary_email": "a@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = t
        .admin_post(
            "/requesters",
            json!({"first_name": "A2", "primary_email": "a@x.com"}),
        )
        .await;
    assert_eq!(r.status(), 409, "admin inserts keep emails unique");
    assert_eq!(t.calls().await.len(), 1);
}

// The call log lists every API call in order, with method, path, query and status; DELETE clears it.
#[tokio::test]
async fn call_log_in_order() {
    let t = T::new().await;
    let a = t
        .create(json!({"first_name": "A", "primary_email": "a@x.com"}))
        .await;
    t.get("/requesters?email=a%40x.com").await;
    t.put(
        &format!("/requesters/{}", a["id"]),
        json!({"job_title": "T"}),
    )
    .await;
    t.c.get(t.url("/requesters")).send().await.unwrap();
    t.delete(&format!("/requesters/{}", a["id"])).await;
    let calls = t.calls().await;
    let got: Vec<(String, String, String, u64)> = calls
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap().to_string(),
                c["path"].as_str().unwrap().to_string(),
                c["query"].as_str().unwrap().to_string(),
                c["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let id = a["id"].as_u64().unwrap();
    let expected = vec![
        (
            "POST".to_string(),
            "/api/v2/requesters".to_string(),
            String::new(),
            201,
        ),
        (
            "GET".into(),
            "/api/v2/requesters".into(),
            "email=a%40x.com".into(),
            200,
        ),
        (
            "PUT".into(),
            format!("/api/v2/requesters/{id}"),
            String::new(),
            200,
        ),
        (
            "GET".into(),
            "/api/v2/requesters".into(),
            String::new(),
            401,
        ),
        (
            "DELETE".into(),
            format!("/api/v2/requesters/{id}"),
            String::new(),
            204,
        ),
    ];
    assert_eq!(got, expected);
    let times: Vec<u64> = calls.iter().map(|c| c["at_ms"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let r = t.c.delete(t.admin_url("/calls")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(t.calls().await.is_empty());
}

const SEED: &str = r#"{"accounts":[{"domain":"seeded","api_keys":["sk"],"rate_limit_per_min":100,
  "custom_fields":[{"name":"office","type":"custom_dropdown","choices":["Berlin","Paris"]}],
  "departments":[{"id":7,"name":"IT"}],
  "locations":[{"name":"HQ"}],
  "agents":[{"first_name":"Ada","email":"ada@seeded.io"}],
  "requesters":[{"first_name":"Bob","primary_email":"bob@seeded.io","department_ids":[7],"custom_fields":{"office":"Paris"}},
                {"first_name":"Old","primary_email":"old@seeded.io","active":false}],
  "requester_groups":[{"name":"Everyone","members":["bob@seeded.io"]}]}]}"#;

// start_with_seed loads the same JSON as --seed FILE.
#[tokio::test]
async fn start_with_seed() {
    let seed: Seed = serde_json::from_str(SEED).unwrap();
    let sim = Sim::start_with_seed(seed).await.unwrap();
    let c = reqwest::Client::new();
    let v: Value = c
        .get(format!(
            "{}/seeded/api/v2/requesters?email=bob%40seeded.io",
            sim.base_url
        ))
        .basic_auth("sk", Some("X"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["requesters"][0]["custom_fields"]["office"], "Paris");
    assert_eq!(v["requesters"][0]["department_ids"], json!([7]));
    let st: Value = c
        .get(format!("{}/_sim/accounts/seeded/state", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["agents"][0]["email"], "ada@seeded.io");
    assert_eq!(st["requesters"][1]["active"], false);
    assert_eq!(
        st["requester_groups"][0]["members"],
        json!([v["requesters"][0]["id"]])
    );
    sim.shutdown().await;
}

// The binary: --addr and --seed, one log line with the address, graceful on SIGTERM.
#[tokio::test]
async fn binary_serves_a_seed_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("fssim-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, SEED).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_freshservice-sim"))
        .args(["--addr", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let start = line.find("http://").expect(&line);
    let base: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let r = reqwest::Client::new()
        .get(format!("{base}/seeded/api/v2/requesters"))
        .basic_auth("sk", Some("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// The seed the Compose stack starts the simulator with
// (deploy/compose/fssim-seed.json): it parses, loads, and its `demo` account
// answers the key that compose.yaml's `demo-tenant` installs.
#[tokio::test]
async fn compose_seed_file_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/compose/fssim-seed.json");
    let seed = Seed::from_file(&path).unwrap();
    let sim = Sim::start_with_seed(seed).await.unwrap();
    let c = reqwest::Client::new();
    let compose = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/compose/compose.yaml"),
    )
    .unwrap();
    let key = compose
        .lines()
        .find_map(|l| l.trim().strip_prefix("FRESHSERVICE_API_KEY:"))
        .map(str::trim)
        .expect("compose.yaml sets FRESHSERVICE_API_KEY for demo-tenant");
    let r = c
        .get(format!("{}/demo/api/v2/requesters", sim.base_url))
        .basic_auth(key, Some("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/demo/api/v2/requesters", sim.base_url))
        .basic_auth("not-the-key", Some("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let fields: Value = c
        .get(format!("{}/demo/api/v2/requester_fields", sim.base_url))
        .basic_auth(key, Some("X"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        fields.to_string().contains("cost_center"),
        "custom field missing: {fields}"
    );
    sim.shutdown().await;
}
