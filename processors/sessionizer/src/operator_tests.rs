//! The sessionizer on the runtime with an in-memory publisher, snapshots and clock: outputs, dead letters,
//! retry, restart from snapshots, and idle visitors leaving memory and snapshot.

use std::sync::Arc;

use opsmantik_runtime::clock::ManualClock;
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::MemoryPublisher;
use opsmantik_runtime::operator::snapshot::MemorySnapshots;
use opsmantik_runtime::stage::StageIo;
use opsmantik_schemas::{samples, DeadLetter, SessionEvent, SessionState};

use super::*;

const HOUR: i64 = 3_600_000;

fn stage(
    publisher: Arc<MemoryPublisher>,
    snapshots: &MemorySnapshots,
) -> OperatorStage<SessionOperator, MemorySnapshots> {
    let io = StageIo::for_tests(STAGE, Box::new(publisher), "t");
    OperatorStage::new(
        SessionOperator,
        io,
        snapshots.clone(),
        Arc::new(ManualClock::at(0)),
    )
}

fn incoming(offset: i64, payload: Vec<u8>) -> Incoming {
    Incoming {
        topic: "t.opsmantik.tracking.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: Some(payload),
        replay: None,
    }
}

fn hit_of(visitor: &str, n: u32, t: i64) -> Vec<u8> {
    let h = TrackingHit {
        event_id: format!("{visitor}-{n}"),
        visitor: visitor.into(),
        event_time: t,
        ..samples::tracking_hit()
    };
    encode(&h).unwrap()
}

fn hit(n: u32, t: i64) -> Vec<u8> {
    hit_of("fp-abc", n, t)
}

fn states(publisher: &MemoryPublisher) -> Vec<SessionState> {
    publisher
        .sent()
        .iter()
        .filter(|r| r.topic == "t.opsmantik.sessions.v1")
        .map(|r| decode(&r.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn a_batch_yields_every_event_one_state_per_session_and_dead_letters() {
    let publisher = Arc::new(MemoryPublisher::new());
    let mut h = stage(publisher.clone(), &MemorySnapshots::default());
    let batch = vec![
        incoming(0, hit(1, 1_000)),
        incoming(1, b"garbage!!!!!".to_vec()),
        incoming(2, hit(2, 2_000)),
    ];
    h.handle(&batch).await.unwrap();
    let sent = publisher.sent();
    let of = |topic: &str| sent.iter().filter(|r| r.topic == topic).collect::<Vec<_>>();
    let events = of("t.opsmantik.events.v1");
    let dlq = of("t.opsmantik.dlq.v1");
    assert_eq!(events.len(), 2);
    let states = states(&publisher);
    assert_eq!(states.len(), 1);
    assert_eq!((states[0].version, states[0].events), (2, 2));
    let e: SessionEvent = decode(&events[1].payload).unwrap();
    assert_eq!(e.seq, 2);
    let letter: DeadLetter = decode(&dlq[0].payload).unwrap();
    assert_eq!(
        (letter.reason.as_str(), letter.source_offset),
        ("undecodable", 1)
    );
    assert_eq!(letter.payload, b"garbage!!!!!");
}

#[tokio::test(start_paused = true)]
async fn outputs_are_retried_until_the_broker_acknowledges() {
    let publisher = Arc::new(MemoryPublisher::new());
    publisher.fail_from(0);
    let healer = publisher.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        healer.heal();
    });
    let mut h = stage(publisher.clone(), &MemorySnapshots::default());
    h.handle(&[incoming(0, hit(1, 1_000))]).await.unwrap();
    assert_eq!(
        publisher.sent().len(),
        2,
        "the event and the state, once each"
    );
}

#[tokio::test]
async fn a_restarted_sessionizer_continues_open_sessions_from_its_snapshot() {
    let snapshots = MemorySnapshots::default();
    let mut first = stage(Arc::new(MemoryPublisher::new()), &snapshots);
    first.handle(&[incoming(0, hit(1, 0))]).await.unwrap();
    drop(first);
    let publisher = Arc::new(MemoryPublisher::new());
    let mut again = stage(publisher.clone(), &snapshots);
    // Offset 0 again (the commit had not happened) and the next hit, 10 minutes later.
    again
        .handle(&[incoming(0, hit(1, 0)), incoming(1, hit(2, 600_000))])
        .await
        .unwrap();
    let s = states(&publisher);
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].version, s[0].events),
        (2, 2),
        "same session, first hit not counted twice"
    );
}

#[tokio::test]
async fn idle_visitors_leave_memory_and_snapshot_once_no_hit_can_reach_them() {
    let snapshots = MemorySnapshots::default();
    let mut h = stage(Arc::new(MemoryPublisher::new()), &snapshots);
    h.handle(&[
        incoming(0, hit_of("old", 1, 0)),
        incoming(1, hit_of("new", 1, HOUR)),
    ])
    .await
    .unwrap();
    assert_eq!((h.keys_held(), snapshots.keys(STAGE, 0)), (2, 2));
    // 24.5 h after its last hit, `old` can neither be joined nor split from: it is forgotten.
    h.handle(&[incoming(2, hit_of("new", 2, 25 * HOUR))])
        .await
        .unwrap();
    assert_eq!(h.keys_held(), 1);
    assert_eq!(snapshots.keys(STAGE, 0), 1, "the snapshot forgot it too");
}
