//! Helpers shared by the admin-page tests (the `web` binary's modules): the
//! admin pages' test settings, secrets for the suite-wide log scan
//! (`e2e::logscan`), simulator accounts, the install API, and a small
//! cookie-carrying client for the pages.

#![allow(dead_code)]

use std::collections::HashMap;

use anyhow::Context;
use e2e::{logscan, Stack, StackOptions};
use serde_json::{json, Value};

/// The admin pages' settings in these tests, given to each stack's ingress
/// (never through the process environment, which parallel tests share): a
/// short Freshservice timeout so the timeout test is quick, a fast status
/// refresh and a short dead-letter cache.
pub fn web_settings() -> HashMap<String, String> {
    [
        ("INSTALL_CHECK_TIMEOUT_MS", "1500"),
        ("WEB_STATUS_REFRESH_MS", "1000"),
        ("WEB_DEAD_LETTER_CACHE_MS", "200"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Stack options with [`web_settings`] for the ingress.
pub fn web_options() -> StackOptions {
    StackOptions {
        ingress_env: web_settings(),
        ..Default::default()
    }
}

/// Remembers a secret for the log scan.
pub fn secret(s: &str) -> String {
    logscan::remember_secret(s);
    s.to_string()
}

/// Asserts no remembered secret appears in anything this binary logged so
/// far (the suite-wide capture, read in-process).
pub fn assert_no_secrets_logged() {
    logscan::assert_no_secret_logged();
}

pub fn unique(label: &str) -> String {
    format!(
        "{label}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A new simulator account: (domain, admin key, non-admin key).
pub async fn sim_account(
    stack: &Stack,
    custom_fields: Value,
) -> anyhow::Result<(String, String, String)> {
    let domain = unique("web");
    let key = secret(&unique("adminkey"));
    let weak = secret(&unique("agentkey"));
    let resp = stack
        .http
        .post(format!("{}/_sim/accounts", stack.sim.base_url))
        .json(&json!({"domain": domain, "api_keys": [key], "non_admin_keys": [weak], "custom_fields": custom_fields}))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "sim refused account: {}",
        resp.text().await?
    );
    Ok((domain, key, weak))
}

/// Calls the simulator's admin API for one account.
pub async fn sim_admin(
    stack: &Stack,
    domain: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<u16> {
    let url = format!("{}/_sim/accounts/{domain}{path}", stack.sim.base_url);
    let mut req = stack.http.request(method.parse()?, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Ok(req.send().await?.status().as_u16())
}

pub fn base(stack: &Stack) -> String {
    format!("http://{}", stack.ingress.addr)
}

/// `POST /api/install`; returns status and body. Records the token.
pub async fn install(
    stack: &Stack,
    domain: &str,
    key: &str,
    replace: bool,
) -> anyhow::Result<(u16, Value)> {
    let resp = stack
        .http
        .post(format!("{}/api/install", base(stack)))
        .json(&json!({"domain": domain, "api_key": key, "replace": replace}))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.context("install answer is JSON")?;
    if let Some(t) = body["bearer_token"].as_str() {
        secret(t);
    }
    Ok((status, body))
}

/// A client that keeps the session cookie by hand and never follows
/// redirects (so tests see them).
pub struct Admin {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
    /// The whole `Set-Cookie` of the last sign-in (to check its flags).
    pub last_set_cookie: Option<String>,
}

impl Admin {
    pub fn new(stack: &Stack) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base(stack),
            cookie: None,
            last_set_cookie: None,
        }
    }

    /// Signs in with a form; returns the status and keeps the cookie.
    pub async fn sign_in(&mut self, form: &[(&str, &str)]) -> anyhow::Result<u16> {
        let resp = self
            .http
            .post(format!("{}/signin", self.base))
            .form(form)
            .send()
            .await?;
        let status = resp.status().as_u16();
        if let Some(c) = resp.headers().get("set-cookie") {
            let c = c.to_str()?.to_string();
            self.cookie = Some(c.split(';').next().unwrap().to_string());
            self.last_set_cookie = Some(c);
        }
        Ok(status)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await?;
        Ok((resp.status().as_u16(), resp.text().await?))
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<(u16, String, Option<String>)> {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await?;
        let loc = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap_or("").to_string());
        Ok((resp.status().as_u16(), resp.text().await?, loc))
    }
}

/// The CSRF token of a page's forms.
pub fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a CSRF field")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// Every Redis key under a tenant's hash tag.
pub async fn tenant_keys(stack: &Stack, tenant: &str) -> anyhow::Result<Vec<String>> {
    let client = redis::Client::open(e2e::redis_url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:{{{tenant}}}:*", stack.prefix))
        .query_async(&mut con)
        .await?;
    Ok(keys)
}

/// Every Redis key of the stack (its prefix).
pub async fn all_keys(stack: &Stack) -> anyhow::Result<Vec<String>> {
    let client = redis::Client::open(e2e::redis_url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", stack.prefix))
        .query_async(&mut con)
        .await?;
    Ok(keys)
}
