//! `e2e-ingress`: `ingress serve` built inside the e2e crate, so tests can
//! start the ingress as a real OS process through
//! `env!("CARGO_BIN_EXE_e2e-ingress")` (cargo builds it before the tests)
//! and send it SIGTERM. It runs [`ingress::server::run`], the same code as
//! the shipped binary's `serve`; the tests install tenants themselves.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init("ingress");
    let config = match ingress::config::IngressConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    ingress::server::run(config).await
}
