//! ClickHouse client construction (settings that work on 18.16 and current) and the migration runner.
//!
//! The runner applies `opsmantik_schemas::migrations::MIGRATIONS` in order and records each applied file in
//! `schema_migrations`; files already recorded are skipped, and every statement is itself idempotent, so a
//! runner interrupted half-way simply runs again.

use clickhouse::{Client, Compression};
use opsmantik_schemas::migrations::{adds_one_column, BOOKKEEPING, MIGRATIONS};

use crate::config::ClickHouseConfig;
use crate::RuntimeError;

/// A client for the configured database.
pub fn client(config: &ClickHouseConfig) -> Client {
    server_client(config).with_database(&config.database)
}

/// A client without a database (for `CREATE DATABASE`).
fn server_client(config: &ClickHouseConfig) -> Client {
    let mut c = Client::default()
        .with_url(&config.url)
        .with_user(&config.user)
        // 18.16 has no RowBinaryWithNamesAndTypes and answers LZ4 in a framing the crate does not expect.
        .with_validation(false)
        .with_compression(Compression::None);
    if !config.password.is_empty() {
        c = c.with_password(&config.password);
    }
    c
}

/// Creates the database if needed and applies every migration not yet recorded. Returns the names applied now.
pub async fn migrate(config: &ClickHouseConfig) -> Result<Vec<&'static str>, RuntimeError> {
    if !config
        .database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(RuntimeError::Config(format!(
            "bad database name {:?}",
            config.database
        )));
    }
    server_client(config)
        .query(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            config.database
        ))
        .execute()
        .await?;
    let db = client(config);
    for statement in BOOKKEEPING.statements() {
        db.query(&statement).execute().await?;
    }
    let applied: Vec<String> = db
        .query("SELECT DISTINCT name FROM schema_migrations")
        .fetch_all()
        .await?;
    let mut now_applied = Vec::new();
    for m in MIGRATIONS {
        if applied.iter().any(|a| a == m.name) {
            continue;
        }
        for statement in m.statements() {
            match db.query(&statement).execute().await {
                Ok(()) => {}
                // A column added before a crash stopped the bookkeeping (code 44: already exists).
                Err(e) if adds_one_column(&statement) && e.to_string().contains("Code: 44") => {}
                Err(e) => return Err(RuntimeError::ClickHouse(format!("{}: {e}", m.name))),
            }
        }
        db.query("INSERT INTO schema_migrations (name, applied_at) SELECT ?, now()")
            .bind(m.name)
            .execute()
            .await?;
        now_applied.push(m.name);
    }
    Ok(now_applied)
}

/// Drops the configured database (tests clean up after themselves with this).
pub async fn drop_database(config: &ClickHouseConfig) -> Result<(), RuntimeError> {
    server_client(config)
        .query(&format!("DROP DATABASE IF EXISTS {}", config.database))
        .execute()
        .await?;
    Ok(())
}
