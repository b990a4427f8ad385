//! The handler against an in-memory publisher: outputs, dead letters, and retry when the broker fails.

use std::sync::Arc;

use opsmantik_runtime::kafka::MemoryPublisher;
use opsmantik_schemas::{samples, DeadLetter, SessionEvent, SessionState};

use super::*;

fn handler(publisher: Arc<MemoryPublisher>) -> SessionizerHandler {
    SessionizerHandler::new(StageIo::for_tests("test", Box::new(publisher), "t"), None)
}

fn incoming(offset: i64, payload: Vec<u8>) -> Incoming {
    Incoming {
        topic: "t.opsmantik.tracking.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: Some(payload),
    }
}

fn hit(n: u32, t: i64) -> Vec<u8> {
    let h = TrackingHit {
        event_id: format!("e{n}"),
        event_time: t,
        ..samples::tracking_hit()
    };
    encode(&h).unwrap()
}

#[tokio::test]
async fn a_batch_yields_every_event_one_state_per_session_and_dead_letters() {
    let publisher = Arc::new(MemoryPublisher::new());
    let mut h = handler(publisher.clone());
    let batch = vec![
        incoming(0, hit(1, 1_000)),
        incoming(1, b"garbage!!!!!".to_vec()),
        incoming(2, hit(2, 2_000)),
    ];
    h.handle(&batch).await.unwrap();
    let sent = publisher.sent();
    let of = |topic: &str| sent.iter().filter(|r| r.topic == topic).collect::<Vec<_>>();
    let events = of("t.opsmantik.events.v1");
    let states = of("t.opsmantik.sessions.v1");
    let dlq = of("t.opsmantik.dlq.v1");
    assert_eq!(events.len(), 2);
    assert_eq!(states.len(), 1);
    let state: SessionState = decode(&states[0].payload).unwrap();
    assert_eq!((state.version, state.events), (2, 2));
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
    let mut h = handler(publisher.clone());
    h.handle(&[incoming(0, hit(1, 1_000))]).await.unwrap();
    assert_eq!(
        publisher.sent().len(),
        2,
        "the event and the state, once each"
    );
}
