//! The sink's batch handler: decode each record by its topic into a table's rows, insert each table's rows
//! as one batch, isolate rows ClickHouse refuses (bisecting) and dead-letter them, retry transport errors.
//! Returns only when every row of the batch is in ClickHouse or in the DLQ, so the runtime may then store
//! the batch's offsets.

use opsmantik_runtime::consume::{publish_all, BatchHandler};
use opsmantik_runtime::dlq::{dead_letter, dead_letter_record};
use opsmantik_runtime::kafka::{Incoming, OutRecord, Publisher};
use opsmantik_runtime::metrics::StageMetrics;
use opsmantik_runtime::retry::Backoff;
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{
    decode, CodecError, DeadLetter, SessionEvent, SessionState, Topic, Topics,
};
use tokio_util::sync::CancellationToken;

use crate::retry::WriteError;
use crate::rows::{DeadLetterRow, EventRow, Rows, SessionRow};
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
    pub publisher: Box<dyn Publisher>,
    pub topics: Topics,
    pub metrics: StageMetrics,
    pub backoff: Backoff,
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for SinkHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkHandler")
            .field("topics", &self.topics)
            .finish()
    }
}

/// The topics the sink consumes.
pub const INPUTS: [Topic; 3] = [Topic::Sessions, Topic::Events, Topic::Dlq];

/// A batch decoded into table rows, each row with the index of its input record.
#[derive(Debug, Default)]
struct Decoded {
    sessions: (Vec<SessionRow>, Vec<usize>),
    events: (Vec<EventRow>, Vec<usize>),
    letters: (Vec<DeadLetterRow>, Vec<usize>),
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
            _ => {
                self.letters.0.push(decode::<DeadLetter>(payload)?.into());
                self.letters.1.push(index);
            }
        }
        Ok(())
    }

    fn into_pending(self) -> [Pending; 3] {
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
                None => self.metrics.sent(part.len()),
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
                    self.metrics.retried("clickhouse");
                    tracing::warn!(table = rows.table().name(), error = %m, attempt, "insert failed, retrying");
                    self.backoff.wait(attempt, &self.shutdown).await?;
                    attempt += 1;
                }
            }
        }
    }

    fn letter(&self, source: &Incoming, reason: Reason, detail: String, out: &mut Vec<OutRecord>) {
        self.metrics.dropped(reason, 1);
        if self.topics.topic_of(&source.topic) == Some(Topic::Dlq) {
            // A dead letter that cannot be read or stored stays in the DLQ topic; re-queueing it would loop.
            tracing::error!(offset = source.offset, partition = source.partition, %detail, "unstorable dead letter");
            return;
        }
        match dead_letter_record(&self.topics, &dead_letter(source, reason, detail, STAGE)) {
            Ok(r) => out.push(r),
            Err(e) => tracing::error!(error = %e, "dead letter does not encode"),
        }
    }
}

impl BatchHandler for SinkHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let mut decoded = Decoded::default();
        let mut letters = Vec::new();
        for (i, incoming) in batch.iter().enumerate() {
            let Some(topic) = self
                .topics
                .topic_of(&incoming.topic)
                .filter(|t| INPUTS.contains(t))
            else {
                self.letter(
                    incoming,
                    Reason::WrongRecord,
                    format!("unexpected topic {}", incoming.topic),
                    &mut letters,
                );
                continue;
            };
            if let Err(e) = decoded.add(topic, incoming.payload(), i) {
                self.letter(incoming, Reason::from(&e), e.to_string(), &mut letters);
            }
        }
        for p in decoded.into_pending() {
            if p.rows.is_empty() {
                continue;
            }
            let table = p.rows.table();
            for (position, detail) in self.write_isolating(p.rows).await? {
                let source = &batch[p.sources[position]];
                self.letter(
                    source,
                    Reason::StoreRejected,
                    format!("{}: {detail}", table.name()),
                    &mut letters,
                );
            }
        }
        if letters.is_empty() {
            return Ok(());
        }
        let rejected = publish_all(
            self.publisher.as_ref(),
            letters,
            &self.backoff,
            &self.metrics,
            &self.shutdown,
        )
        .await?;
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Kafka(format!(
                "{} dead letters rejected by the broker",
                rejected.len()
            )))
        }
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
