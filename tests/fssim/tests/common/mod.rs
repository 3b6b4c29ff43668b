//! Shared helpers for the simulator's HTTP tests: a started simulator with one account
//! (`acme`, key `k`, the custom fields of the brief) and a small client.

#![allow(dead_code)]

use fssim::Sim;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};

pub const KEY: &str = "k";

pub struct T {
    pub sim: Sim,
    pub c: Client,
    pub domain: String,
}

/// The account spec most tests use.
pub fn acme_spec() -> Value {
    json!({
        "domain": "acme",
        "api_keys": [KEY],
        "non_admin_keys": ["weak"],
        "custom_fields": [
            {"name": "cost_center", "label": "Cost center", "type": "custom_text"},
            {"name": "level", "type": "custom_number"},
            {"name": "office", "type": "custom_dropdown", "choices": ["Berlin", "Paris"]},
            {"name": "remote", "type": "custom_checkbox"},
            {"name": "start_date", "type": "custom_date"}
        ],
        "departments": [{"id": 554, "name": "Sales"}],
        "locations": [{"id": 23, "name": "HQ"}, {"id": 24, "name": "United Kingdom"}]
    })
}

impl T {
    /// A simulator with the `acme` account created through the admin API.
    pub async fn new() -> T {
        Self::with_spec(acme_spec()).await
    }

    pub async fn with_spec(spec: Value) -> T {
        let sim = Sim::start().await.expect("sim starts");
        let c = Client::new();
        let domain = spec["domain"].as_str().unwrap().to_string();
        let r = c
            .post(format!("{}/_sim/accounts", sim.base_url))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        T { sim, c, domain }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/api/v2{}", self.sim.base_url, self.domain, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!(
            "{}/_sim/accounts/{}{}",
            self.sim.base_url, self.domain, path
        )
    }

    /// An authenticated request (key `k`, password `X`).
    pub fn req(&self, m: Method, path: &str) -> RequestBuilder {
        self.c.request(m, self.url(path)).basic_auth(KEY, Some("X"))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.req(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.req(Method::PUT, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.req(Method::DELETE, path).send().await.unwrap()
    }

    /// Creates a requester through the API and returns it.
    pub async fn create(&self, body: Value) -> Value {
        let r = self.post("/requesters", body).await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["requester"].clone()
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        self.c
            .get(self.admin_url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Response {
        self.c
            .post(self.admin_url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> Response {
        self.c
            .put(self.admin_url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn state(&self) -> Value {
        self.admin_get("/state").await
    }

    pub async fn calls(&self) -> Vec<Value> {
        self.admin_get("/calls").await.as_array().unwrap().clone()
    }
}

/// Reads a JSON body.
pub async fn body(r: Response) -> Value {
    r.json().await.unwrap()
}

/// The validation error body for one error.
pub fn verr(field: &str, message: &str, code: &str) -> Value {
    json!({"description": "Validation failed", "errors": [{"field": field, "message": message, "code": code}]})
}
