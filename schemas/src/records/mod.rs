//! Rust types for every Avro record of the topic catalog.
//!
//! Each type mirrors its `schemas/avro/<record>.avsc` field for field; the tests in `crate::codec` prove the two
//! agree. Times are `i64` milliseconds since the Unix epoch (UTC). Free-form JSON (`meta`, `metadata`) travels
//! as JSON text so any key survives.

mod calls;
mod misc;
mod sessions;
mod tracking;

pub use calls::{CallIntent, CallRecord, ClickContext};
pub use misc::{AuditRecord, CallFlowEvent, DeadLetter, LetterId, ProductEvent, WebhookDelivery};
pub use sessions::{SessionEvent, SessionState};
pub use tracking::TrackingHit;

/// Implemented by every record type: names the record and its current schema text.
pub trait AvroRecord: serde::Serialize + serde::de::DeserializeOwned {
    /// Full Avro name (`namespace.Name`), as in the `.avsc`.
    const FULL_NAME: &'static str;
    /// The current schema, verbatim from `schemas/avro/`.
    const SCHEMA: &'static str;
}

macro_rules! avro_record {
    ($ty:ty, $name:literal, $file:literal) => {
        impl $crate::records::AvroRecord for $ty {
            const FULL_NAME: &'static str = concat!("opsmantik.", $name);
            const SCHEMA: &'static str = include_str!(concat!("../../avro/", $file));
        }
    };
}
pub(crate) use avro_record;
