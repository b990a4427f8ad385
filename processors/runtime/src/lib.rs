//! The OpsMantik stream runtime, shared by the edge, the processors and the sinks.
//!
//! It owns every piece of I/O plumbing a stage needs: Kafka producers and consumers built from config
//! ([`kafka`]), the at-least-once consume loop that stores offsets only after a batch's output is acknowledged
//! ([`consume`]), dead-letter routing ([`dlq`]), retry policy ([`retry`]), ClickHouse client and migrations
//! ([`clickhouse`]), Redis ([`redis`]), graceful shutdown ([`shutdown`]) and telemetry ([`telemetry`], [`metrics`]).
//! Stage logic (sessionizing, inserting) lives in the stage crates, not here.

/// The allocator every service binary runs on (`#[global_allocator] static A: Allocator = Allocator;` in its
/// `main.rs`): mimalloc. glibc's malloc took a fifth of the edge's CPU under load (docs/performance.md).
pub use mimalloc::MiMalloc as Allocator;

pub mod accounts;
pub mod automation;
pub mod call_ledger;
pub mod clickhouse;
pub mod clock;
pub mod config;
pub mod consume;
pub mod dlq;
pub mod error;
pub mod kafka;
pub mod metrics;
pub mod operator;
pub mod outbound;
pub mod overlay;
pub mod redis;
pub mod retry;
pub mod shutdown;
pub mod sites;
pub mod stage;
pub mod telemetry;
pub mod visitor_index;

pub use error::RuntimeError;

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `ms` (since the Unix epoch) as RFC 3339 UTC with milliseconds (`2026-01-30T10:00:00.000Z`).
pub fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
