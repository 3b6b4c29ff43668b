//! `ingress` binary: `ingress serve` runs the SCIM edge; `ingress tenant
//! add` installs a tenant from the command line and prints its token.

use clap::{Parser, Subcommand};
use ingress::config::IngressConfig;
use shared::{keys::Keys, tenant::TenantStore};

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
    /// List installed tenants (id, domain, state); never prints secrets.
    List,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init("ingress");
    let cli = Cli::parse();
    let config = match IngressConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => ingress::server::run(config).await,
        Command::Tenant {
            command:
                TenantCommand::Add {
                    domain,
                    api_key,
                    rate_limit,
                },
        } => {
            let redis = shared::redis_conn::connect(&config.common.redis_url).await?;
            let store = TenantStore::new(
                redis,
                Keys::new(config.common.key_prefix.clone()),
                config.common.master_key.clone(),
            );
            let installed = match store.install(&domain, &api_key).await {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            };
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
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::RotateMasterKey { new_key_file },
        } => {
            let text = std::fs::read_to_string(&new_key_file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", new_key_file.display()))?;
            let new = shared::crypto::MasterKey::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", new_key_file.display()))?;
            let store = tenant_store(&config).await?;
            let report = store.rotate_master_key(&new).await?;
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
            if report.failed.is_empty() {
                eprintln!("now set BRIDGE_MASTER_KEY(_FILE) to the new key for the ingress and every worker, and restart them");
                Ok(())
            } else {
                std::process::exit(1);
            }
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            let store = tenant_store(&config).await?;
            for t in store.list().await? {
                let state = match t.state {
                    shared::tenant::TenantState::Active => "active",
                    shared::tenant::TenantState::CredentialsRejected => "credentials_rejected",
                };
                println!("{}\t{}\t{}\t{}", t.id, t.domain, state, t.created_at);
            }
            Ok(())
        }
    }
}

async fn tenant_store(config: &IngressConfig) -> anyhow::Result<TenantStore> {
    let redis = shared::redis_conn::connect(&config.common.redis_url).await?;
    Ok(TenantStore::new(
        redis,
        Keys::new(config.common.key_prefix.clone()),
        config.common.master_key.clone(),
    ))
}
