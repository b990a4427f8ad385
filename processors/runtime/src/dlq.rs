//! Dead-letter routing: turns a record a stage cannot process into a `DeadLetter` on `opsmantik.dlq.v1`,
//! keyed by the source key, with a reason code from the fixed set.

use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{encode, CodecError, DeadLetter, Topic, Topics};

use crate::kafka::{Incoming, OutRecord};
use crate::now_ms;

/// Builds the dead letter for `source`.
pub fn dead_letter(
    source: &Incoming,
    reason: Reason,
    detail: impl Into<String>,
    stage: &str,
) -> DeadLetter {
    DeadLetter {
        source_topic: source.topic.clone(),
        source_partition: source.partition,
        source_offset: source.offset,
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
        };
        let letter = dead_letter(&src, Reason::Undecodable, "bad magic", "sessionizer");
        let rec = dead_letter_record(&Topics::new("ns"), &letter).unwrap();
        assert_eq!(rec.topic, "ns.opsmantik.dlq.v1");
        assert_eq!(rec.key, b"site:fp");
        let back: DeadLetter = decode(&rec.payload).unwrap();
        assert_eq!(back.payload, vec![1, 2, 3]);
        assert_eq!(back.reason, "undecodable");
        assert_eq!(back.id(), "t:4:99:sessionizer");
    }
}
