//! The `worker` command line as a library function ([`main`]):
//! `worker run` (the default) consumes change events; `worker dlq
//! list|replay|purge` looks after the dead-letter queue; `worker resync`
//! rebuilds a tenant's mapping from Freshservice (`resync.rs`, which tests
//! call directly). Operator errors go to stderr with exit code 1.

use crate::config::WorkerConfig;
use crate::deadletter::{self, Selector};
use clap::{Args, Parser, Subcommand};
use shared::queue::Topology;

#[derive(Parser)]
#[command(
    name = "worker",
    about = "Freshservice bridge worker: converges SCIM users onto requesters and groups onto requester groups"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Consume change events (the default).
    Run,
    /// Dead letters: changes the worker gave up on, with the reason.
    Dlq {
        #[command(subcommand)]
        command: Dlq,
    },
    /// Rebuild a tenant's SCIM user ↔ requester mapping from Freshservice
    /// by primary email, and report: linked, linked to a requester that no
    /// longer exists (vanished), unlinked with a requester of that email
    /// (linkable), SCIM-only, Freshservice-only, conflicts (an agent's
    /// email, a requester linked to another user). Lists every user of the
    /// account, 100 per call, inside the tenant's API budget. A dry run
    /// unless --apply.
    Resync {
        /// Tenant id or Freshservice domain (`ingress tenant list`).
        tenant: String,
        /// Link the linkable users, drop mappings to vanished requesters,
        /// and publish a change event for each so the workers converge it.
        #[arg(long)]
        apply: bool,
        /// One JSON document on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Dlq {
    /// Show dead letters (all, or one tenant's).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Send dead-lettered changes back to the workers (attempt 0).
    Replay(Select),
    /// Delete dead letters for good.
    Purge(Select),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct Select {
    /// Every dead letter.
    #[arg(long)]
    all: bool,
    /// Every dead letter of this tenant id.
    #[arg(long)]
    tenant: Option<String>,
    /// One dead letter, by the id `dlq list` shows.
    #[arg(long)]
    id: Option<String>,
}

impl Select {
    fn selector(self) -> Selector {
        match (self.all, self.tenant, self.id) {
            (_, Some(t), _) => Selector::Tenant(t),
            (_, _, Some(id)) => Selector::Id(id),
            _ => Selector::All,
        }
    }
}

/// The whole `worker` command line: parses the arguments, reads the
/// configuration from the environment and runs the chosen command on a
/// multi-threaded tokio runtime. The shipped `worker` binary and the test
/// shim `e2e-worker` both call this, so tests exercise the same code.
pub fn main() -> anyhow::Result<()> {
    shared::cli::block_on(run())?
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Held until `run` returns, however it returns: it flushes pending
    // trace spans.
    let _traces =
        shared::cli::init_process_logs("worker", matches!(cli.command, None | Some(Command::Run)));
    let config = shared::cli::config_or_exit(WorkerConfig::from_env());
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let grace = config.shutdown_grace;
            let running = crate::server::start(config).await?;
            shared::shutdown::signal().await;
            tracing::info!("shutting down: no new events, finishing in-flight work");
            running.stop.cancel();
            // The consumer bounds its own wait by the grace period; this is
            // a backstop in case closing the connection hangs.
            if tokio::time::timeout(grace + std::time::Duration::from_secs(5), running.handle)
                .await
                .is_err()
            {
                tracing::warn!("grace period over; unfinished events return to the queue");
            }
            Ok(())
        }
        Command::Dlq { command } => dlq(&config, command).await,
        Command::Resync {
            tenant,
            apply,
            json,
        } => {
            let report = match crate::resync::resync(&config, &tenant, apply).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            };
            if json {
                println!("{}", shared::cli::json(&report));
            } else {
                print!(
                    "{}",
                    shared::cli::table(crate::resync::COLUMNS, &report.entries)
                );
                let counts: Vec<String> = report
                    .counts
                    .iter()
                    .map(|(c, n)| format!("{n} {}", c.as_str()))
                    .collect();
                println!(
                    "tenant {} ({}): {} Freshservice user(s) listed; {}",
                    report.tenant,
                    report.domain,
                    report.listed,
                    counts.join(", ")
                );
                if report.dry_run {
                    println!("dry run: nothing was written; --apply links the linkable users and drops the vanished mappings");
                } else {
                    println!(
                        "applied: {} change event(s) published for the workers to converge",
                        report.published
                    );
                }
            }
            Ok(())
        }
    }
}

async fn dlq(config: &WorkerConfig, command: Dlq) -> anyhow::Result<()> {
    let topology = Topology::new(config.common.queue_prefix.clone());
    let url = &config.common.amqp_url;
    match command {
        Dlq::List { tenant } => {
            let sel = tenant.map(Selector::Tenant).unwrap_or(Selector::All);
            let entries = deadletter::list(url, &topology, &sel).await?;
            if entries.is_empty() {
                println!("no dead letters");
            }
            for e in &entries {
                println!("{}", e.describe());
            }
            println!("{} dead letter(s)", entries.len());
        }
        Dlq::Replay(s) => {
            let entries = deadletter::replay(url, &topology, &s.selector()).await?;
            // A replay usually follows a fix in Freshservice (a field, a
            // choice): re-read the account's requester fields next time.
            let tenants: std::collections::BTreeSet<&str> = entries
                .iter()
                .filter_map(|e| e.letter.as_ref().map(|l| l.event.tenant.as_str()))
                .collect();
            if !tenants.is_empty() {
                let mut r = shared::redis_conn::connect(&config.common.redis_url).await?;
                let keys = shared::keys::Keys::new(config.common.key_prefix.clone());
                for t in tenants {
                    let _: () = redis::AsyncCommands::del(&mut r, keys.requester_fields(t)).await?;
                }
            }
            for e in &entries {
                println!("replayed {}", e.message_id);
            }
            println!(
                "{} change(s) sent back to their tenants' queues ({}.<tenant>)",
                entries.len(),
                topology.changes_exchange()
            );
        }
        Dlq::Purge(s) => {
            let entries = deadletter::purge(url, &topology, &s.selector()).await?;
            println!("{} dead letter(s) purged", entries.len());
        }
    }
    Ok(())
}
