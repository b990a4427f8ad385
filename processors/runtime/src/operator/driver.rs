//! Runs an [`Operator`] as a consuming stage: per-partition state restored on assignment and dropped on
//! revocation, records handled in consumption order with event-time timers in between, wall-time timers on
//! every round (also idle ones), then outputs published, refused inputs dead-lettered and snapshot deltas
//! written — all before the consume loop stores the batch's offsets.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use opsmantik_schemas::dlq::Reason;

use super::keyed::{Due, Keyed, TimerKind};
use super::snapshot::SnapshotStore;
use super::{Context, Operator, Round};
use crate::clock::Clock;
use crate::consume::BatchHandler;
use crate::kafka::{Incoming, OutRecord, Rebalance};
use crate::stage::StageIo;
use crate::RuntimeError;

/// An operator with its state, snapshots, clock and outputs.
pub struct OperatorStage<O: Operator, St> {
    pub operator: O,
    pub io: StageIo,
    store: St,
    clock: Arc<dyn Clock>,
    partitions: HashMap<i32, Keyed<O::State>>,
}

impl<O: Operator, St> std::fmt::Debug for OperatorStage<O, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorStage")
            .field("io", &self.io)
            .field("partitions", &self.partitions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<O: Operator, St: SnapshotStore> OperatorStage<O, St> {
    pub fn new(operator: O, io: StageIo, store: St, clock: Arc<dyn Clock>) -> Self {
        Self {
            operator,
            io,
            store,
            clock,
            partitions: HashMap::new(),
        }
    }

    /// The state of partition `p`, if held (tests and metrics).
    pub fn partition(&self, p: i32) -> Option<&Keyed<O::State>> {
        self.partitions.get(&p)
    }

    /// Keys held across every partition.
    pub fn keys_held(&self) -> usize {
        self.partitions.values().map(Keyed::len).sum()
    }

    /// Applies assignment changes in order: revoked partitions are dropped, assigned ones restored.
    async fn rebalance(&mut self) -> Result<(), RuntimeError> {
        for change in self.io.take_rebalances() {
            match change {
                Rebalance::Revoked { partition, .. } => {
                    if self.partitions.remove(&partition).is_some() {
                        tracing::info!(partition, "partition state dropped (revoked)");
                    }
                }
                Rebalance::Assigned { partition, .. } => self.restore(partition).await?,
            }
        }
        Ok(())
    }

    /// Loads partition `p` from its snapshot unless held; waits for the store (never starts empty by mistake).
    async fn restore(&mut self, p: i32) -> Result<(), RuntimeError> {
        if self.partitions.contains_key(&p) {
            return Ok(());
        }
        let stage = self.io.stage;
        let store = &self.store;
        let stored = self
            .io
            .retry("snapshot_load", || store.load(stage, p))
            .await?;
        let keyed = Keyed::restore(stored);
        tracing::info!(
            partition = p,
            keys = keyed.len(),
            watermark = keyed.watermark(),
            "partition state restored"
        );
        self.partitions.insert(p, keyed);
        Ok(())
    }

    /// Hands one record to the operator, with the event-time timers due around it.
    fn apply(&mut self, index: usize, record: &Incoming, round: &mut Round) {
        let Some(state) = self.partitions.get_mut(&record.partition) else {
            return;
        };
        if record.offset < state.next_offset(&record.topic) {
            return; // reflected in the restored state; its outputs were acknowledged before
        }
        state.consumed(&record.topic, record.offset);
        let Some(topic) = self.io.topics.topic_of(&record.topic) else {
            return;
        };
        let input = match self.operator.decode(topic, record) {
            Ok(Some(input)) => input,
            Ok(None) => return,
            Err((reason, detail)) => {
                round.rejects.push((index, reason, detail));
                return;
            }
        };
        let operator = &mut self.operator;
        if let Some(t) = operator.event_time(&input) {
            fire(operator, state, round, TimerKind::Event, Due::Before(t));
            state.advance_watermark(t);
        }
        operator.on_record(&mut Context::new(state, round, Some(index)), input);
        let watermark = state.watermark();
        fire(operator, state, round, TimerKind::Event, Due::By(watermark));
    }

    /// Fires the wall-time timers due by the round's time on every partition.
    fn fire_wall_timers(&mut self, round: &mut Round) {
        let now = round.now_ms();
        for state in self.partitions.values_mut() {
            fire(
                &mut self.operator,
                state,
                round,
                TimerKind::Wall,
                Due::By(now),
            );
        }
    }

    /// Publishes the round's outputs, dead-letters refused inputs and outputs, then writes snapshot deltas.
    async fn finish(&mut self, batch: &[Incoming], round: Round) -> Result<(), RuntimeError> {
        let Round {
            records,
            sources,
            rejects,
            ..
        } = round;
        let rejected = self.io.publish(records).await?;
        let mut letters: Vec<OutRecord> = rejects
            .into_iter()
            .filter_map(|(i, reason, detail)| self.io.dead_letter(&batch[i], reason, detail))
            .collect();
        for r in rejected {
            let detail = format!("output rejected: {}", r.error);
            let source = match sources[r.index] {
                Some(s) => batch[s].clone(),
                None => as_incoming(r.record),
            };
            letters.extend(self.io.dead_letter(&source, Reason::Invalid, detail));
        }
        self.io.publish_or_fail(letters).await?;
        self.save_snapshots().await
    }

    /// Writes the delta of every changed partition, concurrently (one Redis transaction each).
    async fn save_snapshots(&mut self) -> Result<(), RuntimeError> {
        let mut deltas = Vec::new();
        for (p, state) in self.partitions.iter_mut().filter(|(_, s)| s.is_dirty()) {
            let delta = state
                .take_delta()
                .map_err(|e| RuntimeError::Config(format!("state does not serialise: {e}")))?;
            deltas.push((*p, delta));
        }
        let (io, store) = (&self.io, &self.store);
        let saves = deltas
            .iter()
            .map(|(p, delta)| io.retry("snapshot_save", move || store.save(io.stage, *p, delta)));
        futures::future::try_join_all(saves).await?;
        Ok(())
    }
}

/// Fires the timers of `kind` that are `due` on one partition, earliest first (including timers they set).
fn fire<O: Operator>(
    operator: &mut O,
    state: &mut Keyed<O::State>,
    round: &mut Round,
    kind: TimerKind,
    due: Due,
) {
    while let Some((at, key)) = state.pop_due(kind, due) {
        operator.on_timer(&mut Context::new(state, round, None), &key, kind, at);
    }
}

/// A dead letter's source for an output no single input caused (a timer's): the output itself.
fn as_incoming(record: OutRecord) -> Incoming {
    Incoming {
        topic: record.topic,
        partition: -1,
        offset: -1,
        key: Some(record.key),
        payload: Some(record.payload),
        replay: None,
    }
}

impl<O: Operator, St: SnapshotStore> BatchHandler for OperatorStage<O, St> {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        self.rebalance().await?;
        let partitions: BTreeSet<i32> = batch.iter().map(|r| r.partition).collect();
        for p in partitions {
            self.restore(p).await?;
        }
        let mut round = Round::new(self.io.topics.clone(), self.clock.now_ms());
        for (i, record) in batch.iter().enumerate() {
            self.apply(i, record, &mut round);
        }
        self.fire_wall_timers(&mut round);
        self.finish(batch, round).await
    }

    async fn tick(&mut self) -> Result<(), RuntimeError> {
        self.rebalance().await?;
        let mut round = Round::new(self.io.topics.clone(), self.clock.now_ms());
        self.fire_wall_timers(&mut round);
        self.finish(&[], round).await
    }
}
