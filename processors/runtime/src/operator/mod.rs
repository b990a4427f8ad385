//! Operators: stage logic without I/O. An [`Operator`] decodes its input records, keeps keyed state per input
//! partition and sets timers; the runtime ([`driver`]) owns everything else — the consume loop and offsets,
//! restoring a partition's state from its snapshot when the partition is assigned, dropping it when revoked,
//! firing timers in time order, publishing outputs, dead-lettering, and writing snapshot deltas.
//!
//! State is kept per partition *number*: inputs of one stage are co-partitioned (same key, same partition
//! count), so partition `p` of every input topic lands on one instance and shares one state.
//!
//! Event time: every input may move its partition's watermark (the highest event time seen on inputs that
//! drive it). Before a record at event time `t` is handled, event-time timers due before `t` fire; after it,
//! those due at or before the watermark. Wall-time timers fire when the runtime's clock passes them, also
//! when no records arrive.

pub mod driver;
pub mod keyed;
pub mod snapshot;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{Topic, Topics};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::kafka::{Incoming, OutRecord};
pub use driver::OperatorStage;
pub use keyed::{Due, Keyed, TimerKind};

/// What becomes of a consumed record before it reaches the operator.
pub type Decoded<I> = Result<Option<I>, (Reason, String)>;

/// A stage's pure logic (see the module docs).
pub trait Operator: Send {
    /// A decoded input record.
    type Input: Send;
    /// The state kept per key.
    type State: Serialize + DeserializeOwned + Send;

    /// Decodes a record of input `topic`: `Ok(None)` skips it, an error sends it to the DLQ.
    fn decode(&self, topic: Topic, record: &Incoming) -> Decoded<Self::Input>;

    /// The event time `input` moves its partition's watermark to, if it drives the watermark.
    fn event_time(&self, input: &Self::Input) -> Option<i64>;

    /// Handles one input.
    fn on_record(&mut self, cx: &mut Context<'_, Self::State>, input: Self::Input);

    /// Timer `kind` of `key`, set for `at`, is due.
    fn on_timer(&mut self, cx: &mut Context<'_, Self::State>, key: &str, kind: TimerKind, at: i64);
}

/// One round (a batch or an idle tick): its wall time and topic names, and its outputs, each remembering the
/// input it came from.
#[derive(Debug)]
pub struct Round {
    now_ms: i64,
    topics: Topics,
    pub records: Vec<OutRecord>,
    /// Index into the batch of the record that caused each output (`None`: a timer's output).
    pub sources: Vec<Option<usize>>,
    latest: HashMap<(String, Vec<u8>), usize>,
    /// (batch index, reason, detail) of inputs the operator refused.
    pub rejects: Vec<(usize, Reason, String)>,
}

impl Round {
    /// Wall time of this round.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn new(topics: Topics, now_ms: i64) -> Self {
        Self {
            now_ms,
            topics,
            records: Vec::new(),
            sources: Vec::new(),
            latest: HashMap::new(),
            rejects: Vec::new(),
        }
    }
}

/// What an operator sees while it handles one input or timer: its partition's state, the clock, and where
/// outputs go.
pub struct Context<'a, S> {
    pub state: &'a mut Keyed<S>,
    round: &'a mut Round,
    source: Option<usize>,
}

impl<S> std::fmt::Debug for Context<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("source", &self.source)
            .field("now_ms", &self.round.now_ms)
            .finish()
    }
}

impl<'a, S> Context<'a, S> {
    /// The context of the input at `source` in the batch (`None`: a timer).
    pub fn new(state: &'a mut Keyed<S>, round: &'a mut Round, source: Option<usize>) -> Self {
        Self {
            state,
            round,
            source,
        }
    }

    /// Wall time of this round.
    pub fn now_ms(&self) -> i64 {
        self.round.now_ms
    }

    /// The partition's event-time watermark (`i64::MIN` before any input moved it).
    pub fn watermark(&self) -> i64 {
        self.state.watermark()
    }

    /// Publishes `payload` to `topic` under `key`.
    pub fn emit(&mut self, topic: Topic, key: &[u8], payload: Vec<u8>) {
        self.round.records.push(OutRecord {
            topic: self.round.topics.name(topic),
            key: key.to_vec(),
            payload,
            replay: None,
        });
        self.round.sources.push(self.source);
    }

    /// Like [`emit`](Self::emit), but a later output of the same round with the same topic and key replaces
    /// this one (for versioned state where only the newest counts).
    pub fn emit_latest(&mut self, topic: Topic, key: &[u8], payload: Vec<u8>) {
        let name = self.round.topics.name(topic);
        if let Some(&i) = self.round.latest.get(&(name.clone(), key.to_vec())) {
            self.round.records[i].payload = payload;
            self.round.sources[i] = self.source;
            return;
        }
        self.round
            .latest
            .insert((name, key.to_vec()), self.round.records.len());
        self.emit(topic, key, payload);
    }

    /// Sends the input being handled to the DLQ with `reason` (no effect in a timer).
    pub fn reject(&mut self, reason: Reason, detail: String) {
        match self.source {
            Some(i) => self.round.rejects.push((i, reason, detail)),
            None => tracing::error!(reason = reason.code(), %detail, "timer output refused"),
        }
    }
}
