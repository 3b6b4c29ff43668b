//! The `worker` binary's `resync` errors, run as an operator runs them
//! (`CARGO_BIN_EXE_worker`): an unknown tenant is named with how to list
//! tenants, an unreachable Redis names `REDIS_URL`; each exits 1. The
//! resync itself is proven end to end in `tests/e2e/tests/worker/operator.rs`.

use std::process::{Command, Output};

/// A 32-byte master key for tests only.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn worker(redis_url: &str, args: &[&str]) -> std::io::Result<Output> {
    let prefix = format!(
        "clitest{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    Command::new(env!("CARGO_BIN_EXE_worker"))
        .args(args)
        .env("REDIS_URL", redis_url)
        .env("BRIDGE_KEY_PREFIX", &prefix)
        .env("BRIDGE_QUEUE_PREFIX", &prefix)
        .env("BRIDGE_MASTER_KEY", KEY)
        .env("RUST_LOG", "warn")
        .output()
}

#[test]
fn resync_of_an_unknown_tenant_is_named() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let out = worker(&url, &["resync", "nobody-here", "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"nobody-here\""), "{err}");
    assert!(err.contains("ingress tenant list"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn resync_with_redis_unreachable_names_redis_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = worker(&format!("redis://127.0.0.1:{port}"), &["resync", "t1"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("REDIS_URL"), "{err}");
}
