//! The admin's whole journey in a real headless Chromium (Debian's
//! `chromium`, driven through `chromedriver` with fantoccini): install
//! against the simulator and copy the token, sign in and read the custom
//! fields' Okta External Names, provision a user through SCIM and watch the
//! status page turn it "in sync" by itself, see a validation failure with
//! its reason, fix the field in Freshservice and replay it.
//!
//! Screenshots of each page go to `tests/e2e/artifacts/`. Without
//! chromium/chromedriver the tests fail, saying what to install: a missing
//! browser is never a pass.

use std::{path::PathBuf, process::Stdio, time::Duration};

use super::common::*;
use e2e::{okta_user, wait_for, Stack, StackOptions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PAGE: Duration = Duration::from_secs(20);
const CONVERGE: Duration = Duration::from_secs(40);

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// A chromedriver child process and a WebDriver session on it.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: PathBuf,
}

impl Browser {
    /// Fails when Chromium or chromedriver is missing.
    async fn start() -> anyhow::Result<Browser> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            anyhow::ensure!(
                std::path::Path::new(bin).exists(),
                "{bin} missing: the browser tests need it (apt-get install chromium chromium-driver; deploy/local/test installs them)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let profile = std::env::temp_dir().join(unique("fsb-chromium-"));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1100",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let url = format!("http://127.0.0.1:{port}");
        let client = wait_for("chromedriver to accept a session", PAGE, || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                let mut b =
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
                b.capabilities(caps.as_object().unwrap().clone());
                Ok(b.connect(&url).await.ok())
            }
        })
        .await?;
        Ok(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    async fn shot(&self, name: &str) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(artifacts().join(format!("{name}.png")), png)?;
        Ok(())
    }

    async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.client.find(Locator::Css(css)).await?.text().await?)
    }

    /// Waits until the element's text satisfies `ok`, without reloading
    /// (the page must refresh itself).
    async fn wait_text(
        &self,
        what: &str,
        css: &str,
        ok: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        wait_for(what, CONVERGE, || async {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => {
                    let t = e.text().await?;
                    Ok(ok(&t).then_some(t))
                }
                Err(_) => Ok(None),
            }
        })
        .await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_installs_reads_fields_watches_sync_and_replays_a_failure() -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    let stack = Stack::start_with(StackOptions {
        workers: 1,
        // The worker re-reads requester fields quickly after the fix.
        worker_env: [("REQUESTER_FIELDS_TTL_MS".to_string(), "200".to_string())].into(),
        ..web_options()
    })
    .await?;
    secret(&stack.token);
    let fields = json!([
        {"name": "cost_center", "label": "Cost center", "type": "custom_dropdown", "choices": ["Engineering", "Sales"]},
        {"name": "employee_number", "label": "Employee number", "type": "custom_text"},
    ]);
    let (domain, key, _) = sim_account(&stack, fields).await?;
    let base = base(&stack);
    let c = &browser.client;
    let result = async {
        // --- install ---------------------------------------------------
        c.goto(&format!("{base}/")).await?;
        c.find(Locator::Id("domain")).await?.send_keys(&format!("https://{domain}.freshservice.com")).await?;
        c.find(Locator::Id("api_key")).await?.send_keys(&key).await?;
        browser.shot("01-install-form").await?;
        c.find(Locator::Id("install-submit")).await?.click().await?;
        c.wait().at_most(PAGE).for_element(Locator::Css("#result:not([hidden])")).await?;
        let token = c.find(Locator::Id("token")).await?.prop("value").await?.unwrap_or_default();
        secret(&token);
        assert_eq!(token.len(), 43);
        let scim_base = c.find(Locator::Id("scim-base")).await?.prop("value").await?.unwrap_or_default();
        assert_eq!(scim_base, stack.scim_base);
        assert!(browser.text("#result").await?.contains("Test API Credentials"), "Okta steps shown");
        // What the copy button hands the clipboard, whichever way the page
        // copies (the Clipboard API, or the execCommand fallback), is
        // recorded before it reaches the browser, so the check always runs
        // (a headless browser may refuse to read its clipboard back).
        c.execute(
            r#"window.__copied = [];
            if (navigator.clipboard && navigator.clipboard.writeText) {
              const write = navigator.clipboard.writeText.bind(navigator.clipboard);
              navigator.clipboard.writeText = (t) => { window.__copied.push(t); return write(t); };
            }
            const exec = document.execCommand.bind(document);
            document.execCommand = (cmd, ...rest) => {
              if (cmd === 'copy') {
                const el = document.activeElement;
                window.__copied.push(el && el.value !== undefined ? el.value : String(window.getSelection()));
              }
              return exec(cmd, ...rest);
            };"#,
            vec![],
        )
        .await?;
        let copy = c.find(Locator::Css("button.copy[data-copy=token]")).await?;
        copy.click().await?;
        wait_for("the copy button to confirm", PAGE, || async { Ok((copy.text().await? == "Copied").then_some(())) }).await?;
        let copied = c.execute("return window.__copied;", vec![]).await?;
        assert_eq!(copied, json!([token]), "the copy button copied the token, once");
        browser.shot("02-install-done").await?;
        let (s, _) = stack.scim_as(&token, "GET", "/Users", None).await?;
        assert_eq!(s, 200, "the copied token opens SCIM");

        // --- sign in, settings ------------------------------------------
        c.goto(&format!("{base}/settings")).await?;
        c.wait().at_most(PAGE).for_element(Locator::Id("signin-submit")).await?;
        c.find(Locator::Id("token")).await?.send_keys(&token).await?;
        c.find(Locator::Id("signin-submit")).await?.click().await?;
        c.wait().at_most(PAGE).for_element(Locator::Id("custom-fields")).await?;
        let table = browser.text("#custom-fields").await?;
        assert!(table.contains("custom_fields.cost_center"), "{table}");
        assert!(table.contains("custom_fields.employee_number"), "{table}");
        assert!(table.contains("urn:ietf:params:scim:schemas:core:2.0:User"), "{table}");
        assert!(table.contains("Engineering, Sales"), "{table}");
        browser.shot("03-settings").await?;
        let page = c.source().await?;
        assert!(!page.contains(&token) && !page.contains(&key), "no secret on the settings page");

        // --- provision, watch it turn in sync -------------------------------
        let mut good = okta_user("grace.hopper@example.com", "Grace", "Hopper");
        good["custom_fields"] = json!({"cost_center": "Engineering", "employee_number": "E-1"});
        assert_eq!(stack.scim_as(&token, "POST", "/Users", Some(good)).await?.0, 201);
        c.goto(&format!("{base}/status")).await?;
        c.wait().at_most(PAGE).for_element(Locator::Id("count-known")).await?;
        browser.wait_text("the user to show in sync", "#count-in-sync", |t| t == "1").await?;
        browser.shot("04-status-in-sync").await?;

        // --- a validation failure, with its reason ---------------------------
        let mut bad = okta_user("alan.turing@example.com", "Alan", "Turing");
        bad["custom_fields"] = json!({"cost_center": "Marketing"});
        assert_eq!(stack.scim_as(&token, "POST", "/Users", Some(bad)).await?.0, 201);
        let reason = browser.wait_text("the dead letter on the page", "#dead-letters", |t| t.contains("cost_center")).await?;
        assert!(reason.contains("Marketing") || reason.contains("Engineering"), "{reason}");
        assert_eq!(browser.text("#count-failed").await?, "1");
        browser.shot("05-status-dead-letter").await?;
        // Search shows the user's last error.
        c.find(Locator::Id("q")).await?.send_keys("alan.turing@example.com").await?;
        c.find(Locator::Id("search-submit")).await?.click().await?;
        let found = browser.wait_text("the search result", "#search-results", |t| t.contains("alan.turing")).await?;
        assert!(found.contains("failed") && found.contains("cost_center"), "{found}");

        // --- fix the field in Freshservice, replay ---------------------------
        assert_eq!(sim_admin(&stack, &domain, "DELETE", "/requester_fields/cost_center", None).await?, 204);
        let fixed = json!({"name": "cost_center", "label": "Cost center", "type": "custom_dropdown", "choices": ["Engineering", "Sales", "Marketing"]});
        assert_eq!(sim_admin(&stack, &domain, "POST", "/requester_fields", Some(fixed)).await?, 201);
        // The worker may still hold the old fields (its cache lives 200 ms
        // here): a replay that meets the stale cache dead-letters again and
        // the page shows the replay button again, so replay until the user
        // is in sync (no sleep: the condition, with a deadline).
        let replays = std::cell::Cell::new(0);
        wait_for("the replayed user in sync", CONVERGE, || async {
            if browser.text("#count-in-sync").await.ok().as_deref() == Some("2") {
                return Ok(Some(()));
            }
            if let Ok(b) = c.find(Locator::Css("button.replay")).await {
                if b.click().await.is_ok() {
                    replays.set(replays.get() + 1);
                    browser.wait_text("the replay notice", "p.ok[role=status]", |t| t.contains("Replayed")).await?;
                }
            }
            Ok(None)
        })
        .await?;
        assert!(replays.get() >= 1, "the user came back in sync by a replay");
        assert_eq!(browser.text("#count-failed").await?, "0");
        browser.wait_text("the dead letter gone", "#live", |t| t.contains("None: every change")).await?;
        browser.shot("06-status-replayed").await?;
        let state: serde_json::Value = stack
            .http
            .get(format!("{}/_sim/accounts/{domain}/state", stack.sim.base_url))
            .send()
            .await?
            .json()
            .await?;
        let alan = state["requesters"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["primary_email"] == "alan.turing@example.com"))
            .cloned()
            .expect("the replayed user reached Freshservice");
        assert_eq!(alan["custom_fields"]["cost_center"], "Marketing", "{alan}");
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        let _ = browser.shot("zz-failure").await;
    }
    let _ = browser.client.clone().close().await;
    stack.stop().await;
    result?;
    assert_no_secrets_logged();
    Ok(())
}

/// Login CSRF in a real browser: a page on another site auto-submits the
/// sign-in form with its owner's token. The bridge must refuse it, and the
/// browser must come away with no session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_form_posted_from_another_site_signs_nobody_in() -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    let stack = Stack::start_with(StackOptions {
        workers: 0,
        ..web_options()
    })
    .await?;
    secret(&stack.token);
    let base = base(&stack);
    // The attacker's site: `localhost` is another site than `127.0.0.1`.
    let attacker_page = format!(
        r#"<!doctype html><form method="post" action="{base}/signin"><input name="token" value="{}"></form><script>document.forms[0].submit()</script>"#,
        stack.token
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(attacker_page) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let attacker = format!("http://localhost:{}/", listener.local_addr()?.port());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let c = &browser.client;
    let result = async {
        c.goto(&attacker).await?;
        wait_for("the bridge's answer to the forged form", PAGE, || async {
            Ok(c.source().await?.contains("Sign-in refused").then_some(()))
        })
        .await?;
        browser.shot("zz-login-csrf-refused").await?;
        // No session: the settings page asks to sign in.
        c.goto(&format!("{base}/settings")).await?;
        c.wait()
            .at_most(PAGE)
            .for_element(Locator::Id("signin-submit"))
            .await?;
        assert!(c.find(Locator::Id("custom-fields")).await.is_err());
        anyhow::Ok(())
    }
    .await;
    let _ = browser.client.clone().close().await;
    server.abort();
    stack.stop().await;
    result?;
    assert_no_secrets_logged();
    Ok(())
}
