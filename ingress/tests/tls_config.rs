//! The `ingress` binary refuses a half or broken TLS setup as a
//! configuration error: exit code 2 and one line naming the variable, before
//! it binds a port or connects to anything.

use std::process::{Command, Output};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn ingress(env: &[(&str, &str)]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_ingress"))
        .arg("serve")
        .env_clear()
        .env("BRIDGE_MASTER_KEY", KEY)
        // Nothing listens here: reaching Redis would be a bug of the test.
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("INGRESS_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .output()
}

fn assert_config_error(out: &Output, starts: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("configuration error: {starts}")),
        "{stderr}"
    );
}

#[test]
fn one_tls_variable_alone_exits_2() -> std::io::Result<()> {
    let out = ingress(&[("TLS_CERT_FILE", "/etc/bridge/tls.crt")])?;
    assert_config_error(&out, "TLS_KEY_FILE is required: TLS_CERT_FILE is set");
    let out = ingress(&[("TLS_KEY_FILE", "/etc/bridge/tls.key")])?;
    assert_config_error(&out, "TLS_CERT_FILE is required: TLS_KEY_FILE is set");
    Ok(())
}

#[test]
fn a_certificate_that_cannot_be_served_exits_2() -> std::io::Result<()> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls");
    let missing = format!("{fixtures}/no-such.crt");
    let key = format!("{fixtures}/ec-sec1.key");
    let out = ingress(&[("TLS_CERT_FILE", &missing), ("TLS_KEY_FILE", &key)])?;
    assert_config_error(&out, &format!("TLS_CERT_FILE {missing}: no such file"));
    let cert = format!("{fixtures}/ec-sec1.crt");
    let other_key = format!("{fixtures}/rsa-pkcs1.key");
    let out = ingress(&[("TLS_CERT_FILE", &cert), ("TLS_KEY_FILE", &other_key)])?;
    assert_config_error(
        &out,
        &format!("TLS_KEY_FILE {other_key} does not match TLS_CERT_FILE {cert}"),
    );
    Ok(())
}
