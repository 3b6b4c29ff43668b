//! The suite-wide secret scan under `cargo test` (it also runs after the
//! whole suite in `deploy/local/test`): a stack converges a user (the
//! worker calls Freshservice with HTTP Basic credentials, logging at debug
//! level), a second tenant is installed, then `deploy/local/scan-secrets`
//! reads every log and secret list the e2e harness wrote so far
//! (`target/e2e-logs`, `tests/e2e/src/logscan.rs`) and must find no leak.
//! The scan is also shown to fail on a planted leak: an API key as
//! Freshservice's `Authorization: Basic base64(key:X)`.

use std::{path::PathBuf, process::Command, time::Duration};

use e2e::{okta_user, wait_for, Stack};

fn scanner() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local/scan-secrets")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_the_suite_wrote() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let store = shared::tenant::TenantStore::new(
        shared::redis_conn::connect(&e2e::redis_url()).await?,
        shared::keys::Keys::new(stack.prefix.clone()),
        shared::crypto::MasterKey::parse(e2e::TEST_MASTER_KEY)?,
    );
    let second = store
        .install(&format!("{}-second", stack.domain), "second-tenant-api-key")
        .await?;
    e2e::logscan::remember_secret(&second.bearer_token);
    e2e::logscan::remember_secret("second-tenant-api-key");
    let (st, body) = stack
        .scim(
            "POST",
            "/Users",
            Some(okta_user("scan@example.com", "Scan", "Ner")),
        )
        .await?;
    assert_eq!(st, 201, "{body}");
    let email = "scan@example.com";
    wait_for(
        "the user in Freshservice",
        Duration::from_secs(30),
        || async { Ok((!stack.sim_requesters_with_email(email).await?.is_empty()).then_some(())) },
    )
    .await?;
    stack.stop().await;
    e2e::logscan::assert_no_secret_logged();
    let out = Command::new(scanner())
        .arg(e2e::logscan::log_dir())
        .output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the secret scan failed: {said}");
    assert!(said.contains(" 0 leaks"), "{said}");
    Ok(())
}

#[test]
fn the_scan_finds_a_base64_basic_credential() -> anyhow::Result<()> {
    use base64::Engine;
    let dir = std::env::temp_dir().join(format!("fsb-scan-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let key = "planted-api-key-1234";
    std::fs::write(dir.join("secrets-1.txt"), format!("{key}\n"))?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:X"));
    std::fs::write(
        dir.join("worker.log"),
        format!("DEBUG call: authorization: Basic {basic}\n"),
    )?;
    let out = Command::new(scanner()).arg(&dir).output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the planted leak passed: {err}");
    assert!(err.contains("in base64"), "{err}");
    // The in-process check sees the same form.
    assert!(e2e::logscan::forms(key)
        .iter()
        .any(|f| basic.contains(f.as_str())));
    Ok(())
}
