//! The sink's batch handler: decode each record by its topic into a table's rows, insert each table's rows
//! as one batch, isolate rows ClickHouse refuses (bisecting) and dead-letter them, retry transport errors.
//! Returns only when every row of the batch is in ClickHouse or in the DLQ, so the runtime may then store
//! the batch's offsets.

use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::Incoming;
use opsmantik_runtime::stage::StageIo;
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{
    decode, AuditRecord, CallFlowEvent, CallRecord, CodecError, DeadLetter, ProductEvent,
    SessionEvent, SessionState, Topic,
};

use crate::retry::WriteError;
use crate::tables::{Row, Rows, Table};
use crate::writer::RowWriter;

pub const STAGE: &str = "clickhouse_sink";

/// Rows of one table, each with the index of the input record it came from.
#[derive(Debug)]
struct Pending {
    rows: Rows,
    sources: Vec<usize>,
}

/// The ClickHouse sink's handler.
pub struct SinkHandler {
    pub writer: Box<dyn RowWriter>,
    pub io: StageIo,
}

impl std::fmt::Debug for SinkHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkHandler").field("io", &self.io).finish()
    }
}

/// The topics the sink consumes.
pub const INPUTS: [Topic; 7] = [
    Topic::Calls,
    Topic::Sessions,
    Topic::Events,
    Topic::Callflow,
    Topic::ProductEvents,
    Topic::Dlq,
    Topic::Audit,
];

/// The row a record of `topic` becomes.
fn decode_row(topic: Topic, payload: &[u8]) -> Result<Row, CodecError> {
    Ok(match topic {
        Topic::Sessions => Row::Sessions(decode::<SessionState>(payload)?.into()),
        Topic::Events => Row::Events(decode::<SessionEvent>(payload)?.into()),
        Topic::Calls => Row::Calls(decode::<CallRecord>(payload)?.into()),
        Topic::ProductEvents => Row::ProductEvents(decode::<ProductEvent>(payload)?.into()),
        Topic::Callflow => Row::CallflowEvents(decode::<CallFlowEvent>(payload)?.into()),
        Topic::Audit => Row::Audit(decode::<AuditRecord>(payload)?.into()),
        _ => Row::DeadLetters(decode::<DeadLetter>(payload)?.into()),
    })
}

/// A batch decoded into one [`Pending`] per table, in `Table::ALL` order.
fn empty_pending() -> Vec<Pending> {
    Table::ALL
        .iter()
        .map(|t| Pending {
            rows: Rows::empty(*t),
            sources: Vec::new(),
        })
        .collect()
}

/// Adds `row` (from input record `index`) to its table's pending rows.
fn add(pending: &mut [Pending], row: Row, index: usize) {
    let table = row.table();
    if let Some(p) = pending.iter_mut().find(|p| p.rows.table() == table) {
        if p.rows.push(row) {
            p.sources.push(index);
        }
    }
}

impl SinkHandler {
    /// Inserts `rows`; on a data error splits them in halves until the refused rows are isolated.
    /// Returns the positions (within `rows`) of refused rows.
    async fn write_isolating(&self, rows: Rows) -> Result<Vec<(usize, String)>, RuntimeError> {
        let mut refused = Vec::new();
        let mut stack = vec![(0usize, rows)];
        while let Some((offset, part)) = stack.pop() {
            match self.write_retrying(&part).await? {
                None => self.io.metrics.sent(part.len()),
                Some(reason) if part.len() == 1 => refused.push((offset, reason)),
                Some(_) => {
                    let mid = part.len() / 2;
                    stack.push((offset + mid, part.slice(mid..part.len())));
                    stack.push((offset, part.slice(0..mid)));
                }
            }
        }
        Ok(refused)
    }

    /// One insert, retried while the failure is a transport one. `Some(message)` on a data error.
    async fn write_retrying(&self, rows: &Rows) -> Result<Option<String>, RuntimeError> {
        self.io
            .retry("clickhouse", || async {
                match self.writer.write(rows).await {
                    Ok(()) => Ok(None),
                    Err(WriteError::Data(m)) => Ok(Some(m)),
                    Err(transport) => Err(transport),
                }
            })
            .await
    }
}

impl BatchHandler for SinkHandler {
    /// No state: the next batch is collected while this one is decoded and inserted.
    const OVERLAP: bool = true;

    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let mut pending = empty_pending();
        let mut letters = Vec::new();
        for (i, incoming) in batch.iter().enumerate() {
            let topic = self
                .io
                .topics
                .topic_of(&incoming.topic)
                .filter(|t| INPUTS.contains(t));
            let Some(topic) = topic else {
                let detail = format!("unexpected topic {}", incoming.topic);
                letters.extend(self.io.dead_letter(incoming, Reason::WrongRecord, detail));
                continue;
            };
            match decode_row(topic, incoming.payload()) {
                Ok(row) => add(&mut pending, row, i),
                Err(e) => letters.extend(self.io.dead_letter(
                    incoming,
                    Reason::from(&e),
                    e.to_string(),
                )),
            }
        }
        for p in pending {
            if p.rows.is_empty() {
                continue;
            }
            let table = p.rows.table();
            for (position, detail) in self.write_isolating(p.rows).await? {
                let source = &batch[p.sources[position]];
                let detail = format!("{}: {detail}", table.name());
                letters.extend(self.io.dead_letter(source, Reason::StoreRejected, detail));
            }
        }
        self.io.publish_or_fail(letters).await
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
