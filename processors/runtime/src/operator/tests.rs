//! The runtime with a small counting operator, an in-memory publisher, snapshots and a hand-driven clock:
//! assignment → restore → records → revoke → reassign, timers in event-time order, deletes surviving a
//! restore, wall timers on idle ticks, poison records to the DLQ.

use std::sync::Arc;

use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::Topic;

use super::snapshot::MemorySnapshots;
use super::*;
use crate::clock::ManualClock;
use crate::consume::BatchHandler;
use crate::kafka::{MemoryPublisher, Rebalance};
use crate::stage::StageIo;

/// Input `key@t` counts `key` and sets its event timer to `t + 100`; `w…@t` sets a wall timer 1 s ahead
/// instead. A due timer removes the key and emits `expired:<key>:<count>` to the events topic.
#[derive(Debug, Default)]
struct Counter;

impl Operator for Counter {
    type Input = (String, i64);
    type State = u32;

    fn decode(&self, _topic: Topic, record: &Incoming) -> Decoded<(String, i64)> {
        let text = String::from_utf8_lossy(record.payload()).into_owned();
        let (key, t) = text
            .split_once('@')
            .ok_or((Reason::Undecodable, format!("no @ in {text:?}")))?;
        let t = t
            .parse()
            .map_err(|_| (Reason::Undecodable, "bad time".to_string()))?;
        Ok(Some((key.to_string(), t)))
    }

    fn event_time(&self, input: &(String, i64)) -> Option<i64> {
        (!input.0.starts_with('w')).then_some(input.1)
    }

    fn on_record(&mut self, cx: &mut Context<'_, u32>, (key, t): (String, i64)) {
        let count = cx.state.get(&key).copied().unwrap_or(0) + 1;
        cx.state.insert(&key, count);
        if key.starts_with('w') {
            let at = cx.now_ms() + 1_000;
            cx.state.set_timer(&key, TimerKind::Wall, at);
        } else {
            cx.state.set_timer(&key, TimerKind::Event, t + 100);
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, u32>, key: &str, _kind: TimerKind, _at: i64) {
        if let Some(count) = cx.state.remove(key) {
            cx.emit(
                Topic::Events,
                key.as_bytes(),
                format!("expired:{key}:{count}").into_bytes(),
            );
        }
    }
}

struct Rig {
    stage: OperatorStage<Counter, MemorySnapshots>,
    publisher: Arc<MemoryPublisher>,
    snapshots: MemorySnapshots,
    clock: ManualClock,
}

fn rig(snapshots: &MemorySnapshots) -> Rig {
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = ManualClock::at(1_000_000);
    let io = StageIo::for_tests("counter", Box::new(publisher.clone()), "t");
    Rig {
        stage: OperatorStage::new(Counter, io, snapshots.clone(), Arc::new(clock.clone())),
        publisher,
        snapshots: snapshots.clone(),
        clock,
    }
}

fn rec(partition: i32, offset: i64, payload: &str) -> Incoming {
    Incoming {
        topic: "t.opsmantik.tracking.v1".into(),
        partition,
        offset,
        key: None,
        payload: Some(payload.as_bytes().to_vec()),
        replay: None,
    }
}

fn sent(p: &MemoryPublisher) -> Vec<String> {
    p.sent()
        .iter()
        .filter(|r| r.topic.ends_with("events.v1"))
        .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
        .collect()
}

fn push(r: &Rig, change: Rebalance) {
    r.stage.io.rebalances.lock().unwrap().push(change);
}

fn assigned(partition: i32) -> Rebalance {
    Rebalance::Assigned {
        topic: "t.opsmantik.tracking.v1".into(),
        partition,
    }
}

#[tokio::test]
async fn state_follows_assignment_restore_records_revoke_and_reassign() {
    let snapshots = MemorySnapshots::default();
    let mut r = rig(&snapshots);
    push(&r, assigned(0));
    r.stage.tick().await.unwrap();
    assert_eq!(
        r.stage.partition(0).map(Keyed::len),
        Some(0),
        "assigned: held, empty"
    );
    r.stage
        .handle(&[rec(0, 0, "a@10"), rec(0, 1, "a@20"), rec(0, 2, "b@30")])
        .await
        .unwrap();
    assert_eq!(r.stage.partition(0).unwrap().get("a"), Some(&2));
    push(
        &r,
        Rebalance::Revoked {
            topic: "t.opsmantik.tracking.v1".into(),
            partition: 0,
        },
    );
    r.stage.tick().await.unwrap();
    assert!(r.stage.partition(0).is_none(), "revoked: dropped");
    push(&r, assigned(0));
    r.stage.tick().await.unwrap();
    let p = r.stage.partition(0).expect("reassigned: restored");
    assert_eq!(
        (p.get("a"), p.get("b"), p.watermark()),
        (Some(&2), Some(&1), 30)
    );
    // The broker re-delivers from an older committed offset: records the state reflects are skipped.
    r.stage
        .handle(&[rec(0, 1, "a@20"), rec(0, 2, "b@30"), rec(0, 3, "a@40")])
        .await
        .unwrap();
    assert_eq!(
        r.stage.partition(0).unwrap().get("a"),
        Some(&3),
        "offset 3 counted once, 1-2 not again"
    );
}

#[tokio::test]
async fn event_timers_fire_in_event_time_order_before_the_record_that_passes_them() {
    let mut r = rig(&MemorySnapshots::default());
    r.stage
        .handle(&[rec(0, 0, "c@180"), rec(0, 1, "a@100"), rec(0, 2, "b@150")])
        .await
        .unwrap();
    assert!(
        sent(&r.publisher).is_empty(),
        "nothing due at watermark 180"
    );
    // `a` is due at 200, `b` at 250 and `c` at 280; a record at 450 passes all three.
    r.stage.handle(&[rec(0, 3, "d@450")]).await.unwrap();
    assert_eq!(
        sent(&r.publisher),
        vec!["expired:a:1", "expired:b:1", "expired:c:1"]
    );
    // A record exactly at a timer's time (d's, 550) is handled before the timer would fire: it moves it.
    r.stage.handle(&[rec(0, 4, "d@550")]).await.unwrap();
    assert_eq!(sent(&r.publisher).len(), 3);
    r.stage.handle(&[rec(0, 5, "e@700")]).await.unwrap();
    assert_eq!(sent(&r.publisher)[3], "expired:d:2");
}

#[tokio::test]
async fn deletes_reach_the_snapshot_and_stay_deleted_after_restore() {
    let snapshots = MemorySnapshots::default();
    let mut r = rig(&snapshots);
    r.stage
        .handle(&[rec(2, 0, "a@100"), rec(2, 1, "b@150")])
        .await
        .unwrap();
    assert_eq!(r.snapshots.keys("counter", 2), 2);
    r.stage.handle(&[rec(2, 2, "c@220")]).await.unwrap(); // a expires (due 200)
    assert_eq!(sent(&r.publisher), vec!["expired:a:1"]);
    assert_eq!(
        r.snapshots.keys("counter", 2),
        2,
        "b and c stored, a deleted"
    );
    // A new instance over the same snapshots: `a` does not come back, `b` still expires on time.
    let mut again = rig(&snapshots);
    again.stage.handle(&[rec(2, 3, "z@260")]).await.unwrap();
    let p = again.stage.partition(2).unwrap();
    assert_eq!((p.get("a"), p.get("b"), p.get("c")), (None, None, Some(&1)));
    assert_eq!(sent(&again.publisher), vec!["expired:b:1"]);
}

#[tokio::test]
async fn wall_timers_fire_on_idle_ticks() {
    let mut r = rig(&MemorySnapshots::default());
    r.stage.handle(&[rec(1, 0, "w1@5")]).await.unwrap();
    r.stage.tick().await.unwrap();
    assert!(sent(&r.publisher).is_empty());
    r.clock.advance(1_000);
    r.stage.tick().await.unwrap();
    assert_eq!(sent(&r.publisher), vec!["expired:w1:1"]);
    assert_eq!(r.snapshots.keys("counter", 1), 0);
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dlq_and_the_partition_moves_on() {
    let mut r = rig(&MemorySnapshots::default());
    r.stage
        .handle(&[rec(0, 0, "garbage"), rec(0, 1, "a@1")])
        .await
        .unwrap();
    let dlq: Vec<_> = r
        .publisher
        .sent()
        .into_iter()
        .filter(|o| o.topic.ends_with("dlq.v1"))
        .collect();
    assert_eq!(dlq.len(), 1);
    assert_eq!(r.stage.partition(0).unwrap().get("a"), Some(&1));
    assert_eq!(
        r.stage
            .partition(0)
            .unwrap()
            .next_offset("t.opsmantik.tracking.v1"),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_store_outage_holds_the_batch_until_it_is_back() {
    let snapshots = MemorySnapshots::default();
    let mut r = rig(&snapshots);
    snapshots.fail(true);
    let healer = snapshots.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        healer.fail(false);
    });
    r.stage.handle(&[rec(0, 0, "a@1")]).await.unwrap();
    assert_eq!(
        snapshots.keys("counter", 0),
        1,
        "saved once the store came back"
    );
}
