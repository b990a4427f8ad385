//! The call-matcher on the runtime with in-memory publisher, snapshots and clock: matching, read-order
//! independence through event-time alignment, the bounded wait, and held clicks surviving a restart.

use std::sync::Arc;

use opsmantik_runtime::clock::ManualClock;
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::MemoryPublisher;
use opsmantik_runtime::operator::snapshot::MemorySnapshots;
use opsmantik_runtime::operator::OperatorStage;
use opsmantik_runtime::stage::StageIo;
use opsmantik_schemas::{samples, CallRecord};

use super::*;

const MIN: i64 = 60_000;

struct Rig {
    stage: OperatorStage<MatchOperator, MemorySnapshots>,
    publisher: Arc<MemoryPublisher>,
    clock: ManualClock,
    offsets: [i64; 2],
}

fn rig(snapshots: &MemorySnapshots) -> Rig {
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = ManualClock::at(1_000_000);
    let io = StageIo::for_tests("call_matcher", Box::new(publisher.clone()), "t");
    let op = MatchOperator { max_wait_ms: 3_000 };
    Rig {
        stage: OperatorStage::new(op, io, snapshots.clone(), Arc::new(clock.clone())),
        publisher,
        clock,
        offsets: [0, 0],
    }
}

fn hit(visitor: &str, n: u32, t: i64) -> TrackingHit {
    TrackingHit {
        event_id: format!("{visitor}-{n}"),
        visitor: visitor.into(),
        event_time: t,
        received_at: t,
        ..samples::tracking_hit()
    }
}

fn click(t: i64) -> CallIntent {
    CallIntent {
        event_time: t,
        site: samples::tracking_hit().site,
        visitor: "fp-abc".into(),
        ..samples::call_intent()
    }
}

impl Rig {
    fn record(&mut self, input: usize, payload: Vec<u8>) -> Incoming {
        let topic = ["t.opsmantik.tracking.v1", "t.opsmantik.call-intents.v1"][input];
        self.offsets[input] += 1;
        Incoming {
            topic: topic.into(),
            partition: 0,
            offset: self.offsets[input] - 1,
            key: None,
            payload: Some(payload),
            replay: None,
        }
    }

    async fn hits(&mut self, hits: &[TrackingHit]) {
        let batch: Vec<_> = hits
            .iter()
            .map(|h| self.record(0, encode(h).unwrap()))
            .collect();
        self.stage.handle(&batch).await.unwrap();
    }

    async fn click(&mut self, c: &CallIntent) {
        let r = self.record(1, encode(c).unwrap());
        self.stage.handle(&[r]).await.unwrap();
    }

    fn calls(&self) -> Vec<CallRecord> {
        self.publisher
            .sent()
            .iter()
            .filter(|r| r.topic == "t.opsmantik.calls.v1")
            .map(|r| decode(&r.payload).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_click_10_minutes_after_the_last_page_matches_its_session() {
    let mut r = rig(&MemorySnapshots::default());
    r.hits(&[hit("fp-abc", 1, 0), hit("fp-abc", 2, 5 * MIN)])
        .await;
    r.click(&click(15 * MIN)).await;
    assert!(r.calls().is_empty(), "held: the hits input is at 5 min");
    r.hits(&[hit("someone-else", 1, 16 * MIN)]).await;
    let calls = r.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].session_id.as_deref(),
        Some("8f9b7c1e-0000-4000-8000-000000000001")
    );
    assert_eq!(calls[0].gclid.as_deref(), Some("G1"));
    assert!(calls[0].lead_score > 0 && !calls[0].lead_reasons.is_empty());
    assert_eq!((calls[0].status.as_str(), calls[0].version), ("intent", 1));
}

#[tokio::test]
async fn the_same_inputs_give_the_same_call_whatever_the_read_order() {
    let hits = [
        hit("fp-abc", 1, 0),
        hit("fp-abc", 2, 5 * MIN),
        hit("fp-abc", 3, 12 * MIN),
        hit("x", 1, 20 * MIN),
    ];
    let mut hits_first = rig(&MemorySnapshots::default());
    hits_first.hits(&hits).await;
    hits_first.click(&click(15 * MIN)).await;
    let mut click_first = rig(&MemorySnapshots::default());
    click_first.click(&click(15 * MIN)).await;
    click_first.hits(&hits[..2]).await;
    click_first.hits(&hits[2..]).await;
    let (a, b) = (hits_first.calls(), click_first.calls());
    assert_eq!(a.len(), 1);
    assert_eq!(a, b, "three pages seen either way");
    assert_eq!(
        a[0].session_id.as_deref(),
        Some("8f9b7c1e-0000-4000-8000-000000000001")
    );
}

#[tokio::test]
async fn a_click_on_a_quiet_partition_is_released_after_the_wait() {
    let mut r = rig(&MemorySnapshots::default());
    r.click(&click(15 * MIN)).await;
    r.clock.advance(2_999);
    r.stage.tick().await.unwrap();
    assert!(r.calls().is_empty());
    r.clock.advance(1);
    r.stage.tick().await.unwrap();
    let calls = r.calls();
    assert_eq!(
        (calls.len(), calls[0].session_id.clone()),
        (1, None),
        "no session known: unmatched"
    );
}

#[tokio::test]
async fn a_click_45_minutes_late_or_from_a_stranger_does_not_match() {
    let mut r = rig(&MemorySnapshots::default());
    r.hits(&[hit("fp-abc", 1, 0), hit("x", 1, 50 * MIN)]).await;
    r.click(&click(45 * MIN)).await;
    let stranger = CallIntent {
        visitor: "someone-else".into(),
        event_id: "c2".into(),
        ..click(MIN)
    };
    r.click(&stranger).await;
    let calls = r.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls
        .iter()
        .all(|c| c.session_id.is_none() && c.lead_score == 0));
}

#[tokio::test]
async fn a_held_click_survives_a_restart() {
    let snapshots = MemorySnapshots::default();
    let mut first = rig(&snapshots);
    first.hits(&[hit("fp-abc", 1, 0)]).await;
    first.click(&click(5 * MIN)).await;
    assert!(first.calls().is_empty());
    drop(first);
    let mut again = rig(&snapshots);
    again.offsets = [1, 1];
    again.hits(&[hit("x", 1, 6 * MIN)]).await;
    let calls = again.calls();
    assert_eq!(calls.len(), 1, "restored and released by the next hit");
    assert_eq!(
        calls[0].session_id.as_deref(),
        Some("8f9b7c1e-0000-4000-8000-000000000001")
    );
}

#[tokio::test]
async fn a_click_reported_on_both_routes_while_held_is_one_call_with_both_contexts() {
    let mut r = rig(&MemorySnapshots::default());
    r.hits(&[hit("fp-abc", 1, 0)]).await;
    let from_hit = CallIntent {
        context: Some(opsmantik_schemas::ClickContext {
            intent_stamp: Some("stamp".into()),
            page_url: Some("https://shop.example/".into()),
            ..Default::default()
        }),
        ..click(MIN)
    };
    let from_event = CallIntent {
        signed: true,
        context: Some(opsmantik_schemas::ClickContext {
            intent_stamp: Some("stamp".into()),
            user_agent: Some("Browser/1".into()),
            ads_context_json: Some("{\"keyword\":\"k\"}".into()),
            ..Default::default()
        }),
        ..click(MIN)
    };
    r.click(&from_hit).await;
    r.click(&from_event).await;
    r.hits(&[hit("x", 1, 2 * MIN)]).await;
    let calls = r.calls();
    assert_eq!(calls.len(), 1, "one click, one call");
    let ctx = calls[0].context.clone().unwrap();
    assert_eq!(
        (
            ctx.page_url.as_deref(),
            ctx.user_agent.as_deref(),
            ctx.ads_context_json.is_some()
        ),
        (Some("https://shop.example/"), Some("Browser/1"), true)
    );
}
