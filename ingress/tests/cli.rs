//! The `ingress` binary's operator commands, run as an operator runs them
//! (`CARGO_BIN_EXE_ingress`) against the real Redis and RabbitMQ under a
//! key and queue prefix of this test's own: `tenant add` then `tenant list
//! --json`, and the errors that name what to check (Redis or the broker
//! unreachable, an unknown tenant), each an exit code 1.

use std::process::{Command, Output};

/// A 32-byte master key for tests only.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A local port nothing listens on (bound, then released).
fn dead_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn ingress(prefix: &str, env: &[(&str, String)], args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_ingress"))
        .args(args)
        .env("REDIS_URL", redis_url())
        .env("AMQP_URL", amqp_url())
        .env("BRIDGE_KEY_PREFIX", prefix)
        .env("BRIDGE_QUEUE_PREFIX", prefix)
        .env("BRIDGE_MASTER_KEY", KEY)
        .env("RUST_LOG", "warn")
        .env_remove("FRESHSERVICE_API_KEY")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Deletes the test's keys when it ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(c) = redis::Client::open(redis_url()) {
            if let Ok(mut con) = c.get_connection() {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{}:*", self.0))
                    .query(&mut con)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut con);
                }
            }
        }
    }
}

fn prefix() -> String {
    format!(
        "clitest{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

#[test]
fn add_then_list_as_json() {
    let p = prefix();
    let _clean = Cleanup(p.clone());
    let add = ingress(
        &p,
        &[("FRESHSERVICE_API_KEY", "k-1".into())],
        &["tenant", "add", "--domain", "clitest-acme"],
    )
    .unwrap();
    assert_eq!(add.status.code(), Some(0), "{}", text(&add.stderr));
    let token = text(&add.stdout).lines().last().unwrap().to_string();
    assert!(
        token.len() >= 40,
        "the token alone on the last line: {token}"
    );

    let list = ingress(&p, &[], &["tenant", "list", "--json"]).unwrap();
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let rows = v["tenants"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["domain"], "clitest-acme");
    assert_eq!(rows[0]["state"], "active");
    assert_eq!(rows[0]["users"], 0);
    // No change published yet: the queue does not exist.
    assert_eq!(rows[0]["queue_ready"], serde_json::Value::Null);
    assert!(!text(&list.stdout).contains(&token), "never prints secrets");

    let pause = ingress(
        &p,
        &[],
        &["tenant", "pause", "clitest-acme", "--reason", "test"],
    )
    .unwrap();
    assert_eq!(pause.status.code(), Some(0), "{}", text(&pause.stderr));
    let table = ingress(&p, &[], &["tenant", "list"]).unwrap();
    let out = text(&table.stdout);
    assert!(out.starts_with("TENANT"), "{out}");
    assert!(out.contains("paused") && out.contains("test"), "{out}");
}

#[test]
fn unknown_tenant_is_named() {
    let p = prefix();
    let _clean = Cleanup(p.clone());
    for cmd in ["pause", "resume", "rotate-token"] {
        let out = ingress(&p, &[], &["tenant", cmd, "nobody-here"]).unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = text(&out.stderr);
        assert!(err.contains("\"nobody-here\""), "{cmd}: {err}");
        assert!(err.contains("ingress tenant list"), "{cmd}: {err}");
    }
}

#[test]
fn unreachable_redis_names_redis_url() {
    let p = prefix();
    let url = format!("redis://127.0.0.1:{}", dead_port().unwrap());
    for args in [vec!["tenant", "list"], vec!["queues", "--json"]] {
        let out = ingress(&p, &[("REDIS_URL", url.clone())], &args).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("REDIS_URL"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn unreachable_broker_names_amqp_url() {
    let p = prefix();
    let _clean = Cleanup(p.clone());
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", dead_port().unwrap());
    let out = ingress(&p, &[("AMQP_URL", url)], &["queues"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("AMQP_URL"), "{err}");
}
