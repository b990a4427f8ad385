//! `opsmantik-admin`: the operator's one command line. Runs with the edge's own settings (the same flags and
//! environment: `KAFKA_BROKERS`, `REDIS_URL`, `CLICKHOUSE_URL`, …); what it changes is audited as
//! `cli:opsmantik-admin` (`job:<name>` for jobs).
//!
//!   opsmantik-admin setup                         topics + migrations (idempotent; the stack runs it)
//!   opsmantik-admin sites create|list             sites (tenants); `create` shows the signing secret once
//!   opsmantik-admin users grant-admin|revoke-admin EMAIL
//!   opsmantik-admin keys create|list|revoke --site SITE
//!   opsmantik-admin dlq list|replay [--reason R] [--since 24h] [--dry-run]
//!   opsmantik-admin auto-approve --site SITE      the call queue's cron job (docs/calls.md)
//!
//! `--json` prints one JSON document on stdout for machines. Exit codes: see [`out::Exit`].

mod accounts;
mod dlq;
mod jobs;
mod out;
mod setup;

use clap::{Parser, Subcommand};
use opsmantik_ingest::EdgeConfig;

use out::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "opsmantik-admin",
    about = "OpsMantik administration: setup, sites, users, keys, dead letters, jobs",
    after_help = "Exit codes: 0 done; 1 failed (a store or the broker unavailable, or a refusal); \
                  2 usage; 3 not found; 4 done in part (some dead letters not replayed)."
)]
struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    edge: EdgeConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create topics, apply migrations, move site records written by older versions to their keys.
    Setup,
    /// Create the catalog's topics.
    Topics,
    /// Apply ClickHouse migrations.
    Migrate,
    /// Sites (tenants).
    #[command(subcommand)]
    Sites(accounts::Sites),
    /// Global admins (never grantable over HTTP).
    #[command(subcommand)]
    Users(accounts::Users),
    /// A site's API keys.
    #[command(subcommand)]
    Keys(accounts::Keys),
    /// Dead letters: list and replay in bulk.
    #[command(subcommand)]
    Dlq(dlq::Dlq),
    /// Confirm a site's low-risk intents older than the cutoff (the call queue's cron job).
    AutoApprove(jobs::AutoApprove),
}

async fn run(cli: Cli) -> Result<serde_json::Value, Exit> {
    let (edge, json) = (&cli.edge, cli.json);
    match cli.command {
        Command::Setup => setup::setup(edge, true, true).await,
        Command::Topics => setup::setup(edge, true, false).await,
        Command::Migrate => setup::setup(edge, false, true).await,
        Command::Sites(c) => accounts::sites(edge, c).await,
        Command::Users(c) => accounts::users(edge, c).await,
        Command::Keys(c) => accounts::keys(edge, c).await,
        Command::Dlq(c) => dlq::run(edge, c, json).await,
        Command::AutoApprove(c) => jobs::auto_approve(edge, c).await,
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    opsmantik_runtime::telemetry::init_logs(&cli.edge.telemetry);
    let code = out::finish(run(cli).await, json);
    std::process::exit(code);
}
