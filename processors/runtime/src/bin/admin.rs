//! `opsmantik-admin`: sets up the contracts on a running stack — creates the catalog's topics and applies
//! the ClickHouse migrations. Idempotent; `deploy/local/stack up` runs `opsmantik-admin setup`.

use clap::{Parser, Subcommand};
use opsmantik_runtime::config::{ClickHouseConfig, KafkaConfig};

#[derive(Debug, Parser)]
#[command(about = "OpsMantik stack administration")]
struct Cli {
    #[command(flatten)]
    kafka: KafkaConfig,
    #[command(flatten)]
    clickhouse: ClickHouseConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create topics and apply migrations.
    Setup,
    /// Create the catalog's topics.
    Topics,
    /// Apply ClickHouse migrations.
    Migrate,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Setup | Command::Topics) {
        let created = opsmantik_runtime::kafka::create_topics(&cli.kafka).await?;
        println!("topics: {} created, the rest existed", created.len());
    }
    if matches!(cli.command, Command::Setup | Command::Migrate) {
        let applied = opsmantik_runtime::clickhouse::migrate(&cli.clickhouse).await?;
        println!(
            "migrations applied to {}: {:?}",
            cli.clickhouse.database, applied
        );
    }
    Ok(())
}
