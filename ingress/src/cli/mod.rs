//! The `ingress` command line as a library function ([`main`]): `ingress
//! serve` (the default) runs the SCIM edge; `ingress tenant …` and
//! `ingress queues` are the operator's commands (their work is in [`ops`],
//! which tests call directly). The shipped binary and the e2e shim
//! `e2e-ingress` both call [`main`], so tests exercise the same code.
//!
//! Every operator command prints a table for people or, with `--json`, one
//! JSON document on stdout; errors go to stderr, naming the tenant or the
//! setting to check, with exit code 1 (2 for a configuration error).

pub mod ops;

use clap::{Parser, Subcommand};
use ops::{Ops, OpsError};
use shared::cli::{json, table};

use crate::config::IngressConfig;

#[derive(Parser)]
#[command(
    name = "ingress",
    about = "Okta SCIM 2.0 ingress of the Freshservice bridge"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve SCIM (the default).
    Serve,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Depth of every queue: each tenant's change queue (events ready,
    /// consumers), the shared wait queues and the dead-letter queue, with
    /// totals.
    Queues {
        /// One JSON document on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a tenant (or re-issue its token); prints the bearer token alone
    /// on the last line. The API key is read from --api-key or, better, from
    /// the FRESHSERVICE_API_KEY environment variable (keeps it out of `ps`).
    Add {
        /// Freshservice subdomain: `acme`, `acme.freshservice.com` or its URL.
        #[arg(long)]
        domain: String,
        #[arg(long, env = "FRESHSERVICE_API_KEY", hide_env_values = true)]
        api_key: String,
        /// The plan's API calls per minute (default: DEFAULT_RATE_LIMIT_PER_MIN of the workers).
        #[arg(long)]
        rate_limit: Option<u32>,
    },
    /// Re-encrypt every tenant's API key under a new master key. Run it with
    /// the current key in BRIDGE_MASTER_KEY / BRIDGE_MASTER_KEY_FILE, then
    /// point both services at the new key and restart them. Safe to repeat.
    RotateMasterKey {
        /// File holding the new key (32 bytes, base64 or hex), e.g. made
        /// with `openssl rand -base64 32 > new.key`.
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
    /// List installed tenants: id, domain, state, change events queued and
    /// the workers consuming them, users, failed users. Never prints secrets.
    List {
        /// One JSON document on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pause a tenant: the ingress keeps accepting and storing its SCIM
    /// changes (Okta sees no error), the workers make no Freshservice call
    /// for it and keep its changes on its queue until `resume`.
    Pause {
        /// Tenant id or Freshservice domain (`ingress tenant list`).
        tenant: String,
        /// Why, shown on the tenant's status and settings pages.
        #[arg(long)]
        reason: Option<String>,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Resume a paused tenant: its kept changes flow within a second. A
    /// tenant whose API key Freshservice rejected is not resumed by this:
    /// replace its API key instead.
    Resume {
        /// Tenant id or Freshservice domain (`ingress tenant list`).
        tenant: String,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new bearer token and revoke the old one (every ingress
    /// refuses it within 2 s: the token cache's life). Prints the token
    /// alone on the last line; put it in Okta's provisioning settings.
    RotateToken {
        /// Tenant id or Freshservice domain (`ingress tenant list`).
        tenant: String,
        /// `{"tenant", "domain", "token"}` on stdout instead.
        #[arg(long)]
        json: bool,
    },
}

/// The whole `ingress` command line: parses the arguments, reads the
/// configuration from the environment and runs the chosen command on a
/// multi-threaded tokio runtime.
pub fn main() -> anyhow::Result<()> {
    shared::cli::block_on(run())?
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Held until `run` returns, however it returns: it flushes pending
    // trace spans.
    let _traces = shared::cli::init_process_logs(
        "ingress",
        matches!(cli.command, None | Some(Command::Serve)),
    );
    let config = shared::cli::config_or_exit(IngressConfig::from_env());
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match crate::server::run(config).await {
            // A certificate or key that cannot be served is a
            // configuration error like any other.
            Err(e) if e.is::<crate::tls::TlsError>() => shared::cli::config_or_exit(Err(e)),
            done => done,
        },
        Command::Tenant { command } => exit_on_error(tenant(&config, command).await),
        Command::Queues { json: as_json } => exit_on_error(
            async {
                let report = Ops::connect(&config.common).await?.queues().await?;
                if as_json {
                    println!("{}", json(&report));
                } else {
                    print!("{}", table(ops::QUEUE_COLUMNS, &report.queues));
                    let t = &report.totals;
                    println!(
                        "total: {} change(s) queued on tenant queues ({} consumer(s)), {} parked on wait queues, {} dead letter(s)",
                        t.changes, t.consumers, t.waiting, t.dead
                    );
                }
                Ok(())
            }
            .await,
        ),
    }
}

/// Prints the error on stderr and exits 1; `Ok` passes through.
fn exit_on_error(r: Result<(), OpsError>) -> anyhow::Result<()> {
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    Ok(())
}

async fn tenant(config: &IngressConfig, command: TenantCommand) -> Result<(), OpsError> {
    let ops = Ops::connect(&config.common).await?;
    match command {
        TenantCommand::Add {
            domain,
            api_key,
            rate_limit,
        } => {
            let store = ops.tenants();
            let installed = store.install(&domain, &api_key).await?;
            if let Some(n) = rate_limit {
                store.set_rate_limit(&installed.tenant.id, n).await?;
            }
            if installed.replaced {
                eprintln!(
                    "tenant {} re-installed: the previous token no longer works",
                    installed.tenant.id
                );
            } else {
                eprintln!(
                    "tenant {} installed for {}",
                    installed.tenant.id, installed.tenant.domain
                );
            }
            println!("{}", installed.bearer_token);
        }
        TenantCommand::RotateMasterKey { new_key_file } => {
            let text = std::fs::read_to_string(&new_key_file).map_err(|e| {
                OpsError::Refused(format!("reading {}: {e}", new_key_file.display()))
            })?;
            let new = shared::crypto::MasterKey::parse(&text)
                .map_err(|e| OpsError::Refused(format!("{}: {e}", new_key_file.display())))?;
            let report = ops.tenants().rotate_master_key(&new).await?;
            eprintln!(
                "re-encrypted {} tenant(s); {} already under the new key; {} failed",
                report.rotated,
                report.already,
                report.failed.len()
            );
            for id in &report.failed {
                eprintln!(
                    "  tenant {id}: its API key could not be read under either key; re-install it"
                );
            }
            if !report.failed.is_empty() {
                return Err(OpsError::Refused(
                    "some tenants were not re-encrypted (above); keep the old key configured until they are"
                        .into(),
                ));
            }
            eprintln!("now set BRIDGE_MASTER_KEY(_FILE) to the new key for the ingress and every worker, and restart them");
        }
        TenantCommand::List { json: as_json } => {
            let rows = ops.tenant_rows().await?;
            if as_json {
                println!("{}", json(&serde_json::json!({ "tenants": rows })));
            } else if rows.is_empty() {
                println!(
                    "no tenants installed (`ingress tenant add` or the install page adds one)"
                );
            } else {
                print!("{}", table(ops::TENANT_COLUMNS, &rows));
            }
        }
        TenantCommand::Pause {
            tenant,
            reason,
            json: as_json,
        } => {
            let done = ops.pause(&tenant, reason.as_deref()).await?;
            if as_json {
                println!("{}", json(&done));
            } else {
                println!("{}", done.message);
            }
        }
        TenantCommand::Resume {
            tenant,
            json: as_json,
        } => {
            let done = ops.resume(&tenant).await?;
            if as_json {
                println!("{}", json(&done));
            } else {
                println!("{}", done.message);
            }
        }
        TenantCommand::RotateToken {
            tenant,
            json: as_json,
        } => {
            let rotated = ops.rotate_token(&tenant).await?;
            if as_json {
                println!("{}", json(&rotated));
            } else {
                eprintln!(
                    "tenant {} ({}): new bearer token issued; the old one is refused from now on (within {} s on every running ingress). Paste the new one into Okta's provisioning settings.",
                    rotated.tenant,
                    rotated.domain,
                    crate::token_cache::TTL.as_secs()
                );
                println!("{}", rotated.token);
            }
        }
    }
    Ok(())
}
