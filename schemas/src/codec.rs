//! Avro single-object encoding (`C3 01` + CRC-64-AVRO fingerprint, little-endian + body) for every record.
//!
//! The encoder always writes the current schema. The decoder reads the writer's fingerprint, finds that schema
//! among every schema version the project ever shipped (`schemas/avro/` and `schemas/avro/history/`), and
//! resolves the body into the current schema of the requested type, so older producers keep working. A body
//! written with the current schema itself (nearly every one) is read field by field by `direct`, without
//! resolution.
//! It never panics on bad input: every failure is a [`CodecError`].

use std::collections::HashMap;
use std::sync::OnceLock;

use apache_avro::rabin::Rabin;
use apache_avro::{from_avro_datum, from_value, write_avro_datum_ref, Schema};

use crate::records::{
    AuditRecord, AvroRecord, CallFlowEvent, CallIntent, CallRecord, DeadLetter, ProductEvent,
    SessionEvent, SessionState, TrackingHit, WebhookDelivery,
};

/// The two marker bytes that open every single-object encoded value.
pub const MAGIC: [u8; 2] = [0xC3, 0x01];
const HEADER_LEN: usize = 10;

/// Older schema versions that may still be on the wire, oldest first per record.
const HISTORY: &[&str] = &[
    include_str!("../avro/history/tracking_hit.v1.avsc"),
    include_str!("../avro/history/call_intent.v1.avsc"),
    include_str!("../avro/history/call_record.v1.avsc"),
    include_str!("../avro/history/call_record.v2.avsc"),
    include_str!("../avro/history/session_state.v1.avsc"),
    include_str!("../avro/history/dead_letter.v1.avsc"),
];

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("value is {0} bytes, shorter than the 10-byte single-object header")]
    TooShort(usize),
    #[error("value does not start with the Avro single-object marker C3 01")]
    BadMagic,
    #[error("no known schema has fingerprint {0:016x}")]
    UnknownFingerprint(u64),
    #[error("value was written as {written}, expected {expected}")]
    WrongRecord {
        written: String,
        expected: &'static str,
    },
    #[error("avro body does not match its schema: {0}")]
    Body(String),
    #[error("record does not fit its schema: {0}")]
    Encode(String),
}

impl CodecError {
    /// Decoding errors are data errors: retrying the same bytes cannot succeed.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

struct Known {
    full_name: String,
    schema: Schema,
    /// Whether this is the current schema of its record: read directly, without resolution.
    current: bool,
}

struct Registry {
    by_fingerprint: HashMap<u64, Known>,
    current: HashMap<&'static str, (Schema, [u8; HEADER_LEN])>,
}

fn current_schemas() -> [(&'static str, &'static str); 10] {
    [
        (TrackingHit::FULL_NAME, TrackingHit::SCHEMA),
        (SessionEvent::FULL_NAME, SessionEvent::SCHEMA),
        (SessionState::FULL_NAME, SessionState::SCHEMA),
        (CallIntent::FULL_NAME, CallIntent::SCHEMA),
        (CallRecord::FULL_NAME, CallRecord::SCHEMA),
        (ProductEvent::FULL_NAME, ProductEvent::SCHEMA),
        (CallFlowEvent::FULL_NAME, CallFlowEvent::SCHEMA),
        (WebhookDelivery::FULL_NAME, WebhookDelivery::SCHEMA),
        (DeadLetter::FULL_NAME, DeadLetter::SCHEMA),
        (AuditRecord::FULL_NAME, AuditRecord::SCHEMA),
    ]
}

/// Parses a schema shipped in this crate. The texts are compiled in and covered by tests, so a parse
/// failure is a build defect, not a runtime condition.
fn parse_shipped(text: &str) -> Schema {
    #[allow(clippy::expect_used)]
    Schema::parse_str(text).expect("schemas shipped in schemas/avro parse (tested)")
}

/// The 64-bit CRC-64-AVRO fingerprint of a schema's parsing canonical form.
pub fn fingerprint(schema: &Schema) -> u64 {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    let mut le = [0u8; 8];
    le.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(le)
}

fn full_name(schema: &Schema) -> String {
    match schema {
        Schema::Record(r) => r.name.fullname(None),
        other => format!("{other:?}"),
    }
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut by_fingerprint = HashMap::new();
        let mut current = HashMap::new();
        for (name, text) in current_schemas() {
            let schema = parse_shipped(text);
            let fp = fingerprint(&schema);
            let mut header = [0u8; HEADER_LEN];
            header[..2].copy_from_slice(&MAGIC);
            header[2..].copy_from_slice(&fp.to_le_bytes());
            current.insert(name, (schema.clone(), header));
            by_fingerprint.insert(
                fp,
                Known {
                    full_name: name.to_string(),
                    schema,
                    current: true,
                },
            );
        }
        for text in HISTORY {
            let schema = parse_shipped(text);
            let full_name = full_name(&schema);
            let fp = fingerprint(&schema);
            let known = Known {
                full_name,
                schema,
                current: false,
            };
            by_fingerprint.insert(fp, known);
        }
        Registry {
            by_fingerprint,
            current,
        }
    })
}

fn current<T: AvroRecord>() -> &'static (Schema, [u8; HEADER_LEN]) {
    #[allow(clippy::expect_used)]
    registry()
        .current
        .get(T::FULL_NAME)
        .expect("every AvroRecord is listed in current_schemas (tested)")
}

/// The current schema of a record type.
pub fn schema_of<T: AvroRecord>() -> &'static Schema {
    &current::<T>().0
}

/// Encodes a record with its current schema in single-object encoding.
///
/// The record is serialized straight into the buffer against its schema (no intermediate Avro `Value`, no
/// schema resolution per record): the hot path of every producer. `codec_tests` hold it byte-equal to the
/// value-based encoder for every record type.
pub fn encode<T: AvroRecord>(record: &T) -> Result<Vec<u8>, CodecError> {
    let (schema, header) = current::<T>();
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(header);
    write_avro_datum_ref(schema, record, &mut out)
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(out)
}

/// The value-based encoder (`to_value`, resolve, write): slower, kept as the reference [`encode`] is tested
/// against.
#[cfg(test)]
pub(crate) fn encode_via_value<T: AvroRecord>(record: &T) -> Result<Vec<u8>, CodecError> {
    let (schema, header) = current::<T>();
    let value = apache_avro::to_value(record).map_err(|e| CodecError::Encode(e.to_string()))?;
    let value = value
        .resolve(schema)
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    let body =
        apache_avro::to_avro_datum(schema, value).map_err(|e| CodecError::Encode(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(header);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a single-object encoded value written with any known version of `T`'s schema.
pub fn decode<T: AvroRecord>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_with(bytes, true)
}

/// [`decode`] with every body resolved through an Avro `Value`, whatever its writer's schema: the reference
/// the direct reader is tested against.
#[cfg(test)]
pub(crate) fn decode_via_value<T: AvroRecord>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_with(bytes, false)
}

/// Decodes `bytes`; a body written with the current schema is read directly when `direct`.
fn decode_with<T: AvroRecord>(bytes: &[u8], direct: bool) -> Result<T, CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::TooShort(bytes.len()));
    }
    if bytes[..2] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let mut fp = [0u8; 8];
    fp.copy_from_slice(&bytes[2..HEADER_LEN]);
    let fp = u64::from_le_bytes(fp);
    let writer = registry()
        .by_fingerprint
        .get(&fp)
        .ok_or(CodecError::UnknownFingerprint(fp))?;
    if writer.full_name != T::FULL_NAME {
        return Err(CodecError::WrongRecord {
            written: writer.full_name.clone(),
            expected: T::FULL_NAME,
        });
    }
    let mut body = &bytes[HEADER_LEN..];
    let record = if direct && writer.current {
        crate::direct::read::<T>(&writer.schema, &mut body)
            .map_err(|e| CodecError::Body(e.to_string()))?
    } else {
        read_resolved::<T>(&writer.schema, &mut body)?
    };
    if !body.is_empty() {
        return Err(CodecError::Body(format!("{} trailing bytes", body.len())));
    }
    Ok(record)
}

/// Reads a body written with `writer` into `T`'s current schema, resolving through an Avro `Value`.
fn read_resolved<T: AvroRecord>(writer: &Schema, body: &mut &[u8]) -> Result<T, CodecError> {
    let value = from_avro_datum(writer, body, Some(schema_of::<T>()))
        .map_err(|e| CodecError::Body(e.to_string()))?;
    from_value(&value).map_err(|e| CodecError::Body(e.to_string()))
}

/// The `site` field of a single-object encoded record of any known type, if it has one (dead letters are
/// filed under the site of the record they carry).
pub fn site_of(bytes: &[u8]) -> Option<String> {
    let fp = u64::from_le_bytes(bytes.get(2..HEADER_LEN)?.try_into().ok()?);
    if bytes.get(..2)? != MAGIC {
        return None;
    }
    let writer = registry().by_fingerprint.get(&fp)?;
    let mut body = &bytes[HEADER_LEN..];
    match from_avro_datum(&writer.schema, &mut body, None).ok()? {
        apache_avro::types::Value::Record(fields) => {
            fields.into_iter().find_map(|(name, v)| match v {
                apache_avro::types::Value::String(s) if name == "site" => Some(s),
                _ => None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
