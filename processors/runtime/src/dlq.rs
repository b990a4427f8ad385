//! Dead-letter routing: turns a record a stage cannot process into a `DeadLetter` on `opsmantik.dlq.v1`,
//! keyed by the source key, with a reason code from the fixed set.

use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{encode, CodecError, DeadLetter, LetterId, Topic, Topics};

use crate::kafka::{Incoming, OutRecord};
use crate::now_ms;

/// Builds the dead letter for `source`. A record replayed from the DLQ that fails again is filed under the
/// original dead letter's id (its topic, partition and offset) with the replay's count.
pub fn dead_letter(
    source: &Incoming,
    reason: Reason,
    detail: impl Into<String>,
    stage: &str,
) -> DeadLetter {
    let original = source
        .replay
        .as_ref()
        .and_then(|r| Some((LetterId::parse(&r.of)?, r.count)));
    let (source_topic, source_partition, source_offset, replay_count) = match original {
        Some((id, count)) => (
            id.topic,
            id.partition,
            id.offset,
            i32::try_from(count).unwrap_or(i32::MAX),
        ),
        None => (source.topic.clone(), source.partition, source.offset, 0),
    };
    DeadLetter {
        source_topic,
        source_partition,
        source_offset,
        replay_count,
        key: source.key.clone(),
        payload: source.payload.clone().unwrap_or_default(),
        reason: reason.code().to_string(),
        detail: detail.into(),
        stage: stage.to_string(),
        failed_at: now_ms(),
    }
}

/// The record to publish for a dead letter.
pub fn dead_letter_record(topics: &Topics, letter: &DeadLetter) -> Result<OutRecord, CodecError> {
    Ok(OutRecord {
        topic: topics.name(Topic::Dlq),
        key: letter.key.clone().unwrap_or_default(),
        payload: encode(letter)?,
        replay: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmantik_schemas::decode;

    #[test]
    fn dead_letter_keeps_source_bytes_and_reason() {
        let src = Incoming {
            topic: "t".into(),
            partition: 4,
            offset: 99,
            key: Some(b"site:fp".to_vec()),
            payload: Some(vec![1, 2, 3]),
            replay: None,
        };
        let letter = dead_letter(&src, Reason::Undecodable, "bad magic", "sessionizer");
        let rec = dead_letter_record(&Topics::new("ns"), &letter).unwrap();
        assert_eq!(rec.topic, "ns.opsmantik.dlq.v1");
        assert_eq!(rec.key, b"site:fp");
        let back: DeadLetter = decode(&rec.payload).unwrap();
        assert_eq!(back.payload, vec![1, 2, 3]);
        assert_eq!(back.reason, "undecodable");
        assert_eq!(back.id(), "t:4:99:sessionizer");
        assert_eq!(back.replay_count, 0);
    }

    #[test]
    fn a_replay_that_fails_again_keeps_the_original_id() {
        let src = Incoming {
            topic: "t".into(),
            partition: 0,
            offset: 500,
            key: None,
            payload: Some(vec![9]),
            replay: Some(crate::kafka::Replay {
                of: "t:4:99:sessionizer".into(),
                count: 2,
            }),
        };
        let letter = dead_letter(&src, Reason::Invalid, "still bad", "sessionizer");
        assert_eq!(letter.id(), "t:4:99:sessionizer");
        assert_eq!(letter.replay_count, 2);
        assert_eq!(letter.detail, "still bad");
    }
}
