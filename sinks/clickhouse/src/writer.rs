//! The row-writer boundary: [`ClickHouseWriter`] inserts RowBinary over HTTP; [`MemoryWriter`] keeps rows
//! for unit tests and can be told to reject given rows or to fail as a transport would.

use std::sync::Mutex;

use clickhouse::{Client, RowOwned, RowWrite};
use futures::future::BoxFuture;

use crate::retry::WriteError;
use crate::tables::Rows;

/// Writes one batch of rows to its table; all or nothing from the caller's point of view.
pub trait RowWriter: Send + Sync {
    fn write<'a>(&'a self, rows: &'a Rows) -> BoxFuture<'a, Result<(), WriteError>>;
}

/// Inserts with the `clickhouse` crate (RowBinary, no compression, no validation: works on 18.16).
#[derive(Clone)]
pub struct ClickHouseWriter {
    client: Client,
}

impl std::fmt::Debug for ClickHouseWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClickHouseWriter")
    }
}

impl ClickHouseWriter {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn insert<R>(&self, table: &str, rows: &[R]) -> Result<(), WriteError>
    where
        R: RowOwned + RowWrite + Sync,
    {
        let mut insert = self
            .client
            .insert::<R>(table)
            .await
            .map_err(WriteError::from)?;
        for row in rows {
            insert.write(row).await.map_err(WriteError::from)?;
        }
        insert.end().await.map_err(WriteError::from)
    }
}

impl RowWriter for ClickHouseWriter {
    fn write<'a>(&'a self, rows: &'a Rows) -> BoxFuture<'a, Result<(), WriteError>> {
        Box::pin(async move {
            let table = rows.table().name();
            match rows {
                Rows::Sessions(r) => self.insert(table, r).await,
                Rows::Events(r) => self.insert(table, r).await,
                Rows::DeadLetters(r) => self.insert(table, r).await,
                Rows::CallflowEvents(r) => self.insert(table, r).await,
                Rows::ProductEvents(r) => self.insert(table, r).await,
                Rows::Calls(r) => self.insert(table, r).await,
                Rows::Audit(r) => self.insert(table, r).await,
            }
        })
    }
}

/// In-memory writer for tests.
#[derive(Debug, Default)]
pub struct MemoryWriter {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    written: Vec<Rows>,
    /// Rows whose `event_id`/`session_id` is listed here make their whole insert fail as a data error.
    poison: Vec<String>,
    /// This many upcoming writes fail as transport errors.
    transport_failures: usize,
    calls: usize,
}

impl MemoryWriter {
    pub fn poison(&self, id: &str) {
        self.lock().poison.push(id.to_string());
    }

    pub fn fail_transport(&self, times: usize) {
        self.lock().transport_failures = times;
    }

    pub fn written(&self) -> Vec<Rows> {
        self.lock().written.clone()
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RowWriter for MemoryWriter {
    fn write<'a>(&'a self, rows: &'a Rows) -> BoxFuture<'a, Result<(), WriteError>> {
        let mut s = self.lock();
        s.calls += 1;
        let result = if s.transport_failures > 0 {
            s.transport_failures -= 1;
            Err(WriteError::Transport("told to fail".into()))
        } else if rows.ids().iter().any(|id| s.poison.iter().any(|p| p == id)) {
            Err(WriteError::Data(
                "Code: 117, e.displayText() = DB::Exception: poisoned row".into(),
            ))
        } else {
            s.written.push(rows.clone());
            Ok(())
        };
        Box::pin(async move { result })
    }
}
