//! The delivery log: every attempt as a row of ClickHouse `webhook_deliveries`, written in batches (every
//! second or 500 rows) by one task; a ClickHouse outage holds the rows and retries (at most 50,000 waiting,
//! then the oldest are dropped and counted: the log must never hold back deliveries).

use std::collections::VecDeque;
use std::time::Duration;

use clickhouse::Client;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One attempt.
#[derive(Debug, Clone, PartialEq, Serialize, clickhouse::Row)]
pub struct AttemptRow {
    pub site: String,
    pub webhook_id: String,
    pub delivery_id: String,
    pub rule_id: String,
    pub event_id: String,
    pub attempt: u32,
    /// delivered | retrying | failed | dead.
    pub status: String,
    pub http_status: u16,
    pub latency_ms: u32,
    pub error: String,
    pub attempted_at_ms: i64,
    /// Seconds (the partition key).
    pub attempted_at: u32,
}

const FLUSH_EVERY: Duration = Duration::from_secs(1);
const FLUSH_ROWS: usize = 500;
const MAX_WAITING: usize = 50_000;

async fn insert(client: &Client, rows: &[AttemptRow]) -> clickhouse::error::Result<()> {
    let mut insert = client.insert::<AttemptRow>("webhook_deliveries").await?;
    for r in rows {
        insert.write(r).await?;
    }
    insert.end().await
}

/// Writes what waits; on failure keeps it (at most `MAX_WAITING`, the oldest dropped first).
async fn flush(client: &Client, waiting: &mut VecDeque<AttemptRow>) {
    if waiting.is_empty() {
        return;
    }
    let rows: Vec<AttemptRow> = waiting.iter().cloned().collect();
    match insert(client, &rows).await {
        Ok(()) => waiting.clear(),
        Err(e) => {
            tracing::warn!(error = %e, rows = rows.len(), "delivery log not written; retrying");
            while waiting.len() > MAX_WAITING {
                waiting.pop_front();
                metrics::counter!("webhook_log_rows_dropped_total").increment(1);
            }
        }
    }
}

/// Starts the writer; rows sent on the returned channel are logged.
pub fn spawn(
    client: Client,
    shutdown: CancellationToken,
) -> (mpsc::UnboundedSender<AttemptRow>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<AttemptRow>();
    let task = tokio::spawn(async move {
        let mut waiting: VecDeque<AttemptRow> = VecDeque::new();
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                row = rx.recv() => match row {
                    Some(r) => {
                        waiting.push_back(r);
                        if waiting.len() < FLUSH_ROWS {
                            continue;
                        }
                    }
                    None => return flush(&client, &mut waiting).await,
                },
                _ = tick.tick() => {}
                () = shutdown.cancelled() => {
                    while let Ok(r) = rx.try_recv() {
                        waiting.push_back(r);
                    }
                    return flush(&client, &mut waiting).await;
                }
            }
            flush(&client, &mut waiting).await;
        }
    });
    (tx, task)
}
