//! What the sessionizer benchmarks share: a stage whose outputs and snapshots go nowhere (only the operator's
//! own work and state are measured) and the tracker hit they feed it.

use std::sync::Arc;

use opsmantik_runtime::clock::ManualClock;
use opsmantik_runtime::kafka::{Delivery, Incoming, OutRecord, Publisher};
use opsmantik_runtime::operator::keyed::{Delta, Stored};
use opsmantik_runtime::operator::snapshot::SnapshotStore;
use opsmantik_runtime::operator::OperatorStage;
use opsmantik_runtime::stage::StageIo;
use opsmantik_schemas::{encode, samples, TrackingHit};
use opsmantik_sessionizer::SessionOperator;

/// Outputs are acknowledged at once and dropped.
pub struct DiscardOutputs;

impl Publisher for DiscardOutputs {
    fn publish_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> futures::future::BoxFuture<'_, Vec<Delivery>> {
        let acked = records.into_iter().map(|r| (r, Ok(()))).collect();
        Box::pin(async move { acked })
    }
}

/// Snapshots go nowhere either.
pub struct Discard;

impl SnapshotStore for Discard {
    async fn load(&self, _stage: &str, _partition: i32) -> Result<Stored, String> {
        Ok(Stored::default())
    }
    async fn save(&self, _stage: &str, _partition: i32, _delta: &Delta) -> Result<(), String> {
        Ok(())
    }
}

pub type Stage = OperatorStage<SessionOperator, Discard>;

/// The sessionizer operator on a stage of its own.
pub fn stage() -> Stage {
    let io = StageIo::for_tests("bench", Box::new(DiscardOutputs), "b");
    OperatorStage::new(SessionOperator, io, Discard, Arc::new(ManualClock::at(0)))
}

/// A tracker hit of `visitor` at event time `t`, as the broker hands it to the stage (at `offset`).
pub fn hit(visitor: usize, t: i64, offset: i64) -> Incoming {
    let h = TrackingHit {
        event_id: format!("e-{visitor}-{t}-{offset}"),
        visitor: format!("fp-{visitor:08}"),
        fingerprint: Some(format!("fp-{visitor:08}")),
        session_id: format!("sid-{visitor:08}"),
        url: format!("https://shop.example/p/{visitor}?utm_source=google&utm_medium=cpc&gclid=G{visitor}"),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36".into()),
        event_time: t,
        received_at: t,
        ..samples::tracking_hit()
    };
    Incoming {
        topic: "b.opsmantik.tracking.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: encode(&h).ok(),
        replay: None,
    }
}
