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

/// An output's encoding, run once the round ends (see [`Context::emit_latest_with`]).
pub type Encode = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

/// One round (a batch or an idle tick): its wall time and topic names, and its outputs, each remembering the
/// input it came from.
pub struct Round {
    now_ms: i64,
    topics: Topics,
    /// Topic names resolved once per round.
    names: HashMap<Topic, String>,
    pub records: Vec<OutRecord>,
    /// Index into the batch of the record that caused each output (`None`: a timer's output).
    pub sources: Vec<Option<usize>>,
    /// Per output, an encoding still to run (its payload is empty until then).
    deferred: Vec<Option<Encode>>,
    latest: HashMap<(Topic, Vec<u8>), usize>,
    /// (batch index, reason, detail) of inputs the operator refused.
    pub rejects: Vec<(usize, Reason, String)>,
}

impl std::fmt::Debug for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round")
            .field("now_ms", &self.now_ms)
            .field("records", &self.records.len())
            .field("rejects", &self.rejects)
            .finish()
    }
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
            names: HashMap::new(),
            records: Vec::new(),
            sources: Vec::new(),
            deferred: Vec::new(),
            latest: HashMap::new(),
            rejects: Vec::new(),
        }
    }

    fn name(&mut self, topic: Topic) -> String {
        let topics = &self.topics;
        self.names
            .entry(topic)
            .or_insert_with(|| topics.name(topic))
            .clone()
    }

    /// Runs the encodings deferred to the round's end. An output whose encoding fails is dropped and the input
    /// that caused it refused (`Invalid`); the round's other outputs stand.
    pub fn settle(&mut self) {
        let deferred = std::mem::take(&mut self.deferred);
        if deferred.iter().all(Option::is_none) {
            return;
        }
        let records = std::mem::take(&mut self.records);
        let sources = std::mem::take(&mut self.sources);
        for ((mut record, source), encode) in records.into_iter().zip(sources).zip(deferred) {
            if let Some(encode) = encode {
                match encode() {
                    Ok(payload) => record.payload = payload,
                    Err(detail) => {
                        match source {
                            Some(i) => self.rejects.push((i, Reason::Invalid, detail)),
                            None => tracing::error!(%detail, "timer output refused"),
                        }
                        continue;
                    }
                }
            }
            self.records.push(record);
            self.sources.push(source);
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
        self.push(topic, key, payload, None);
    }

    fn push(&mut self, topic: Topic, key: &[u8], payload: Vec<u8>, encode: Option<Encode>) {
        let topic = self.round.name(topic);
        self.round.records.push(OutRecord {
            topic,
            key: key.to_vec(),
            payload,
            replay: None,
        });
        self.round.sources.push(self.source);
        self.round.deferred.push(encode);
    }

    /// Like [`emit`](Self::emit), but a later output of the same round with the same topic and key replaces
    /// this one (for versioned state where only the newest counts).
    pub fn emit_latest(&mut self, topic: Topic, key: &[u8], payload: Vec<u8>) {
        self.latest(topic, key, payload, None);
    }

    /// Like [`emit_latest`](Self::emit_latest), with the payload encoded once the round ends, so only the
    /// newest of a round's outputs for a key is ever encoded. If `encode` fails, that output is dropped and the
    /// input that made it refused (`Invalid`).
    pub fn emit_latest_with(&mut self, topic: Topic, key: &[u8], encode: Encode) {
        self.latest(topic, key, Vec::new(), Some(encode));
    }

    fn latest(&mut self, topic: Topic, key: &[u8], payload: Vec<u8>, encode: Option<Encode>) {
        if let Some(&i) = self.round.latest.get(&(topic, key.to_vec())) {
            self.round.records[i].payload = payload;
            self.round.sources[i] = self.source;
            self.round.deferred[i] = encode;
            return;
        }
        self.round
            .latest
            .insert((topic, key.to_vec()), self.round.records.len());
        self.push(topic, key, payload, encode);
    }

    /// Sends the input being handled to the DLQ with `reason` (no effect in a timer).
    pub fn reject(&mut self, reason: Reason, detail: String) {
        match self.source {
            Some(i) => self.round.rejects.push((i, reason, detail)),
            None => tracing::error!(reason = reason.code(), %detail, "timer output refused"),
        }
    }
}
