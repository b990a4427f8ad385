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
    decode, CallFlowEvent, CallRecord, CodecError, DeadLetter, ProductEvent, SessionEvent,
    SessionState, Topic,
};

use crate::retry::WriteError;
use crate::rows::{CallRow, CallflowRow, DeadLetterRow, EventRow, ProductRow, Rows, SessionRow};
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
pub const INPUTS: [Topic; 6] = [
    Topic::Calls,
    Topic::Sessions,
    Topic::Events,
    Topic::Callflow,
    Topic::ProductEvents,
    Topic::Dlq,
];

/// A batch decoded into table rows, each row with the index of its input record.
#[derive(Debug, Default)]
struct Decoded {
    sessions: (Vec<SessionRow>, Vec<usize>),
    events: (Vec<EventRow>, Vec<usize>),
    letters: (Vec<DeadLetterRow>, Vec<usize>),
    callflow: (Vec<CallflowRow>, Vec<usize>),
    product: (Vec<ProductRow>, Vec<usize>),
    calls: (Vec<CallRow>, Vec<usize>),
}

impl Decoded {
    fn add(&mut self, topic: Topic, payload: &[u8], index: usize) -> Result<(), CodecError> {
        match topic {
            Topic::Sessions => {
                self.sessions
                    .0
                    .push(decode::<SessionState>(payload)?.into());
                self.sessions.1.push(index);
            }
            Topic::Events => {
                self.events.0.push(decode::<SessionEvent>(payload)?.into());
                self.events.1.push(index);
            }
            Topic::Calls => {
                self.calls.0.push(decode::<CallRecord>(payload)?.into());
                self.calls.1.push(index);
            }
            Topic::ProductEvents => {
                self.product.0.push(decode::<ProductEvent>(payload)?.into());
                self.product.1.push(index);
            }
            Topic::Callflow => {
                self.callflow
                    .0
                    .push(decode::<CallFlowEvent>(payload)?.into());
                self.callflow.1.push(index);
            }
            _ => {
                self.letters.0.push(decode::<DeadLetter>(payload)?.into());
                self.letters.1.push(index);
            }
        }
        Ok(())
    }

    fn into_pending(self) -> [Pending; 6] {
        [
            Pending {
                rows: Rows::Sessions(self.sessions.0),
                sources: self.sessions.1,
            },
            Pending {
                rows: Rows::Events(self.events.0),
                sources: self.events.1,
            },
            Pending {
                rows: Rows::DeadLetters(self.letters.0),
                sources: self.letters.1,
            },
            Pending {
                rows: Rows::Callflow(self.callflow.0),
                sources: self.callflow.1,
            },
            Pending {
                rows: Rows::Product(self.product.0),
                sources: self.product.1,
            },
            Pending {
                rows: Rows::Calls(self.calls.0),
                sources: self.calls.1,
            },
        ]
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
        let mut attempt = 0;
        loop {
            match self.writer.write(rows).await {
                Ok(()) => return Ok(None),
                Err(WriteError::Data(m)) => return Ok(Some(m)),
                Err(WriteError::Transport(m)) => {
                    self.io.metrics.retried("clickhouse");
                    tracing::warn!(table = rows.table().name(), error = %m, attempt, "insert failed, retrying");
                    self.io.backoff.wait(attempt, &self.io.shutdown).await?;
                    attempt += 1;
                }
            }
        }
    }
}

impl BatchHandler for SinkHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let mut decoded = Decoded::default();
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
            if let Err(e) = decoded.add(topic, incoming.payload(), i) {
                letters.extend(
                    self.io
                        .dead_letter(incoming, Reason::from(&e), e.to_string()),
                );
            }
        }
        for p in decoded.into_pending() {
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
