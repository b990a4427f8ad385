//! OpsMantik data contracts: Avro schemas and their Rust types, the single-object codec, the topic catalog,
//! dead-letter reason codes and the ClickHouse migrations. Nothing here does I/O.

pub mod catalog;
pub mod codec;
mod direct;
pub mod dlq;
pub mod ids;
pub mod migrations;
pub mod records;
#[doc(hidden)]
pub mod samples;

pub use catalog::{Topic, Topics};
pub use codec::{decode, encode, CodecError};
pub use records::*;

#[cfg(test)]
fn codec_schema_names() -> Vec<&'static str> {
    use records::AvroRecord;
    vec![
        TrackingHit::FULL_NAME,
        SessionEvent::FULL_NAME,
        SessionState::FULL_NAME,
        CallIntent::FULL_NAME,
        CallRecord::FULL_NAME,
        ProductEvent::FULL_NAME,
        CallFlowEvent::FULL_NAME,
        WebhookDelivery::FULL_NAME,
        DeadLetter::FULL_NAME,
        AuditRecord::FULL_NAME,
    ]
}
