//! `opsmantik-admin`: sets up the contracts on a running stack — creates the catalog's topics and applies
//! the ClickHouse migrations (idempotent; `deploy/local/stack up` runs `opsmantik-admin setup`) — and
//! grants or revokes global admins (`users grant-admin EMAIL`), which is never possible over HTTP.

use clap::{Parser, Subcommand};
use opsmantik_runtime::accounts;
use opsmantik_runtime::config::{ClickHouseConfig, KafkaConfig};
use opsmantik_runtime::redis::{RedisConfig, Store};

#[derive(Debug, Parser)]
#[command(about = "OpsMantik stack administration")]
struct Cli {
    #[command(flatten)]
    kafka: KafkaConfig,
    #[command(flatten)]
    clickhouse: ClickHouseConfig,
    #[command(flatten)]
    redis: RedisConfig,
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
    /// Global admins.
    #[command(subcommand)]
    Users(Users),
}

#[derive(Debug, Subcommand)]
enum Users {
    /// Make EMAIL a global admin (the user is created if needed; the change applies to the next request).
    GrantAdmin { email: String },
    /// Make EMAIL a plain user again.
    RevokeAdmin { email: String },
}

/// Records the grant or revocation on the audit topic, like every control action.
async fn audit(kafka: &KafkaConfig, user: &accounts::User, admin: bool) -> anyhow::Result<()> {
    use opsmantik_runtime::kafka::{KafkaPublisher, OutRecord};
    use opsmantik_schemas::{encode, AuditRecord, Topic};
    let record = AuditRecord {
        audit_id: uuid::Uuid::now_v7().to_string(),
        subject_id: user.id.clone(),
        actor: "cli:opsmantik-admin".into(),
        action: if admin {
            "admin_granted"
        } else {
            "admin_revoked"
        }
        .into(),
        detail_json: "{}".into(),
        at: opsmantik_runtime::now_ms(),
    };
    let out = OutRecord {
        topic: kafka.topics().name(Topic::Audit),
        key: user.id.as_bytes().to_vec(),
        payload: encode(&record)?,
        replay: None,
    };
    KafkaPublisher::new(kafka)?.publish_one(out).await?;
    Ok(())
}

async fn users(store: &Store, kafka: &KafkaConfig, command: Users) -> anyhow::Result<()> {
    let (email, admin) = match command {
        Users::GrantAdmin { email } => (email, true),
        Users::RevokeAdmin { email } => (email, false),
    };
    let email = email.trim().to_ascii_lowercase();
    anyhow::ensure!(
        email.contains('@') && !email.contains(char::is_whitespace),
        "`{email}` is not an e-mail address"
    );
    let user = accounts::set_admin(store, &email, admin).await?;
    if let Err(e) = audit(kafka, &user, admin).await {
        eprintln!("warning: the change is made but its audit record was not published: {e}");
    }
    println!("{}\t{}\t{}", user.email, user.id, user.role);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Users(command) = cli.command {
        return users(&Store::new(&cli.redis)?, &cli.kafka, command).await;
    }
    if matches!(cli.command, Command::Setup | Command::Topics) {
        let created = opsmantik_runtime::kafka::create_topics(&cli.kafka).await?;
        println!("topics: {} created, the rest existed", created.len());
    }
    if matches!(cli.command, Command::Setup) {
        let store = Store::new(&cli.redis)?;
        let moved = opsmantik_runtime::sites::migrate_record_keys(&store).await?;
        println!("site records moved to their hash-tagged keys: {moved}");
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
