//! The handler with in-memory writer and publisher: batching per table, bisecting poison rows, retries.

use std::sync::Arc;

use opsmantik_runtime::kafka::MemoryPublisher;
use opsmantik_schemas::{encode, samples};

use super::*;
use crate::writer::MemoryWriter;

struct SharedWriter(Arc<MemoryWriter>);

impl RowWriter for SharedWriter {
    fn write<'a>(
        &'a self,
        rows: &'a Rows,
    ) -> futures::future::BoxFuture<'a, Result<(), WriteError>> {
        self.0.write(rows)
    }
}

fn setup() -> (SinkHandler, Arc<MemoryWriter>, Arc<MemoryPublisher>) {
    let writer = Arc::new(MemoryWriter::default());
    let publisher = Arc::new(MemoryPublisher::new());
    let handler = SinkHandler {
        writer: Box::new(SharedWriter(writer.clone())),
        io: StageIo::for_tests(STAGE, Box::new(publisher.clone()), "t"),
    };
    (handler, writer, publisher)
}

fn event(offset: i64, id: &str) -> Incoming {
    let e = SessionEvent {
        event_id: id.into(),
        ..samples::session_event()
    };
    Incoming {
        topic: "t.opsmantik.events.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: Some(encode(&e).unwrap()),
        replay: None,
    }
}

fn written_event_ids(writer: &MemoryWriter) -> Vec<String> {
    writer
        .written()
        .into_iter()
        .flat_map(|r| match r {
            Rows::Events(v) => v.into_iter().map(|e| e.event_id).collect::<Vec<_>>(),
            _ => vec![],
        })
        .collect()
}

#[tokio::test]
async fn one_insert_per_table_per_batch() {
    let (mut h, writer, publisher) = setup();
    let state = Incoming {
        topic: "t.opsmantik.sessions.v1".into(),
        partition: 1,
        offset: 0,
        key: None,
        payload: Some(encode(&samples::session_state()).unwrap()),
        replay: None,
    };
    h.handle(&[event(0, "a"), state, event(1, "b")])
        .await
        .unwrap();
    assert_eq!(writer.calls(), 2);
    assert_eq!(written_event_ids(&writer), vec!["a", "b"]);
    assert!(publisher.sent().is_empty());
}

#[tokio::test]
async fn a_refused_row_is_isolated_and_dead_lettered_the_rest_lands() {
    let (mut h, writer, publisher) = setup();
    writer.poison("e5");
    let batch: Vec<_> = (0..8).map(|i| event(i, &format!("e{i}"))).collect();
    h.handle(&batch).await.unwrap();
    let mut ids = written_event_ids(&writer);
    ids.sort();
    assert_eq!(ids, vec!["e0", "e1", "e2", "e3", "e4", "e6", "e7"]);
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    let letter: DeadLetter = decode(&sent[0].payload).unwrap();
    assert_eq!(
        (letter.reason.as_str(), letter.source_offset),
        ("store_rejected", 5)
    );
    assert!(letter.detail.contains("Code: 117"));
}

#[tokio::test]
async fn undecodable_records_are_dead_lettered() {
    let (mut h, writer, publisher) = setup();
    let mut bad = event(3, "x");
    bad.payload = Some(b"not avro at all".to_vec());
    h.handle(&[bad, event(4, "ok")]).await.unwrap();
    assert_eq!(written_event_ids(&writer), vec!["ok"]);
    let letter: DeadLetter = decode(&publisher.sent()[0].payload).unwrap();
    assert_eq!(
        (letter.reason.as_str(), letter.source_offset),
        ("undecodable", 3)
    );
}

#[tokio::test(start_paused = true)]
async fn transport_errors_are_retried_not_dead_lettered() {
    let (mut h, writer, publisher) = setup();
    writer.fail_transport(3);
    h.handle(&[event(0, "a")]).await.unwrap();
    assert_eq!(written_event_ids(&writer), vec!["a"]);
    assert_eq!(writer.calls(), 4);
    assert!(publisher.sent().is_empty());
}
