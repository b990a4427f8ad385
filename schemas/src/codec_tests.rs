//! Codec and contract tests: round trips, `.avsc` ↔ Rust agreement, schema evolution, garbage input.

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;

use super::*;
use crate::samples;

fn field_names_of_schema(schema: &Schema) -> Vec<String> {
    match schema {
        Schema::Record(r) => r.fields.iter().map(|f| f.name.clone()).collect(),
        other => panic!("not a record: {other:?}"),
    }
}

fn field_names_of_value(value: &Value) -> Vec<String> {
    match value {
        Value::Record(fields) => fields.iter().map(|(n, _)| n.clone()).collect(),
        other => panic!("not a record value: {other:?}"),
    }
}

/// The `.avsc` and the Rust type agree: same fields in the same order, and every field's value
/// (all options set, and all options empty) validates against the schema and survives a round trip; the
/// direct encoder and the value-based reference write the same bytes.
fn assert_contract<T: AvroRecord + PartialEq + std::fmt::Debug + Clone>(full: T, sparse: T) {
    let schema = schema_of::<T>();
    for sample in [full, sparse] {
        let value = apache_avro::to_value(&sample).unwrap();
        assert_eq!(
            field_names_of_value(&value),
            field_names_of_schema(schema),
            "{}",
            T::FULL_NAME
        );
        assert!(
            value.validate(schema),
            "{} sample does not validate",
            T::FULL_NAME
        );
        let bytes = encode(&sample).unwrap();
        assert_eq!(bytes[..2], MAGIC);
        assert_eq!(
            bytes,
            encode_via_value(&sample).unwrap(),
            "{}: the direct encoder writes what the value-based one writes",
            T::FULL_NAME
        );
        assert_eq!(decode::<T>(&bytes).unwrap(), sample);
        assert_same_decoding::<T>(&bytes);
    }
}

/// The direct reader and the value-based decoder agree on `bytes`, and on every truncation of it and a
/// corruption of each of its bytes whatever the direct reader accepts, the value-based one reads the same.
/// (The converse does not hold: the value-based reader accepts a body cut inside its last optional fields.)
fn assert_same_decoding<T: AvroRecord + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    assert_eq!(
        decode::<T>(bytes).unwrap(),
        decode_via_value::<T>(bytes).unwrap()
    );
    let same = |b: &[u8], what: &str| {
        if let Ok(direct) = decode::<T>(b) {
            assert_eq!(
                Some(direct),
                decode_via_value::<T>(b).ok(),
                "{} {what}",
                T::FULL_NAME
            );
        }
    };
    for cut in HEADER_LEN..bytes.len() {
        same(&bytes[..cut], &format!("cut at {cut}"));
    }
    for i in HEADER_LEN..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut bad = bytes.to_vec();
            bad[i] ^= flip;
            same(&bad, &format!("byte {i} ^ {flip:#x}"));
        }
    }
}

#[test]
fn every_record_round_trips_and_matches_its_avsc() {
    assert_contract(samples::tracking_hit(), samples::tracking_hit_sparse());
    assert_contract(samples::session_event(), samples::session_event_sparse());
    assert_contract(samples::session_state(), samples::session_state_sparse());
    assert_contract(samples::call_intent(), samples::call_intent_sparse());
    assert_contract(samples::call_record(), samples::call_record_sparse());
    assert_contract(samples::product_event(), samples::product_event_sparse());
    assert_contract(samples::call_flow_event(), samples::call_flow_event());
    assert_contract(samples::webhook_delivery(), samples::webhook_delivery());
    assert_contract(samples::dead_letter(), samples::dead_letter_sparse());
    assert_contract(samples::audit_record(), samples::audit_record());
}

#[test]
fn every_avsc_file_is_listed_and_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/avro");
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "avsc"))
        .collect();
    assert_eq!(
        files.len(),
        current_schemas().len(),
        "an .avsc is not wired into the codec"
    );
    for (name, text) in current_schemas() {
        let schema = Schema::parse_str(text).unwrap();
        assert_eq!(full_name(&schema), name);
    }
}

#[test]
fn header_matches_the_avro_single_object_spec() {
    use apache_avro::GenericSingleObjectWriter;
    let hit = samples::tracking_hit();
    let schema = schema_of::<TrackingHit>();
    let mut writer = GenericSingleObjectWriter::new_with_capacity(schema, 1024).unwrap();
    let mut reference = Vec::new();
    let value = apache_avro::to_value(&hit)
        .unwrap()
        .resolve(schema)
        .unwrap();
    writer.write_value(value, &mut reference).unwrap();
    assert_eq!(encode(&hit).unwrap(), reference);
}

#[test]
fn every_history_version_is_readable_by_the_current_schema() {
    for text in HISTORY {
        let old = Schema::parse_str(text).unwrap();
        let name = full_name(&old);
        let (new, _) = registry().current.get(name.as_str()).unwrap();
        SchemaCompatibility::can_read(&old, new).unwrap_or_else(|e| {
            panic!("{name}: current schema cannot read its previous version: {e}")
        });
    }
}

#[test]
fn tracking_hit_written_with_v1_decodes_with_current() {
    let old = Schema::parse_str(HISTORY[0]).unwrap();
    let current_hit = samples::tracking_hit();
    // Build a v1 value: the current record without the fields v2 added.
    let Value::Record(fields) = apache_avro::to_value(&current_hit).unwrap() else {
        panic!("record expected")
    };
    let v1_names = field_names_of_schema(&old);
    let v1 = Value::Record(
        fields
            .into_iter()
            .filter(|(n, _)| v1_names.contains(n))
            .collect(),
    );
    let v1 = v1.resolve(&old).unwrap();
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&fingerprint(&old).to_le_bytes());
    bytes.extend_from_slice(&apache_avro::to_avro_datum(&old, v1).unwrap());

    let decoded: TrackingHit = decode(&bytes).unwrap();
    assert_eq!(decoded.event_id, current_hit.event_id);
    assert_eq!(decoded.meta_json, current_hit.meta_json);
    assert_eq!(
        decoded.user_agent, None,
        "field added in v2 takes its default"
    );
    assert_eq!(decoded.geo_country, None);
}

#[test]
fn garbage_gives_typed_errors_not_panics() {
    assert!(matches!(
        decode::<TrackingHit>(b""),
        Err(CodecError::TooShort(0))
    ));
    assert!(matches!(
        decode::<TrackingHit>(b"{\"s\":\"x\"}xxxx"),
        Err(CodecError::BadMagic)
    ));
    let unknown = [0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert!(matches!(
        decode::<TrackingHit>(&unknown),
        Err(CodecError::UnknownFingerprint(_))
    ));

    let event = encode(&samples::session_event()).unwrap();
    assert!(matches!(
        decode::<TrackingHit>(&event),
        Err(CodecError::WrongRecord { .. })
    ));

    let good = encode(&samples::tracking_hit()).unwrap();
    assert!(matches!(
        decode::<TrackingHit>(&good[..good.len() / 2]),
        Err(CodecError::Body(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        decode::<TrackingHit>(&trailing),
        Err(CodecError::Body(_))
    ));
    // Every truncation and a pseudo-random corruption of every byte: an error or a value, never a panic.
    for cut in 0..good.len() {
        let _ = decode::<TrackingHit>(&good[..cut]);
    }
    for i in HEADER_LEN..good.len() {
        let mut bad = good.clone();
        bad[i] = bad[i].wrapping_mul(31).wrapping_add(7);
        let _ = decode::<TrackingHit>(&bad);
    }
}

#[test]
fn site_of_reads_any_record_and_never_panics() {
    let hit = samples::tracking_hit();
    assert_eq!(site_of(&encode(&hit).unwrap()), Some(hit.site.clone()));
    let call = samples::call_record();
    assert_eq!(site_of(&encode(&call).unwrap()), Some(call.site.clone()));
    assert_eq!(site_of(&encode(&samples::dead_letter()).unwrap()), None);
    assert_eq!(site_of(b"this is not avro"), None);
    let good = encode(&hit).unwrap();
    for cut in 0..good.len() {
        let _ = site_of(&good[..cut]);
    }
}

#[test]
fn dead_letter_ids_parse_back() {
    let letter = samples::dead_letter();
    let id = crate::LetterId::parse(&letter.id()).unwrap();
    assert_eq!(
        (
            id.topic.as_str(),
            id.partition,
            id.offset,
            id.stage.as_str()
        ),
        ("opsmantik.tracking.v1", 2, 42, "sessionizer")
    );
    for bad in ["", "t:1:2", "t:x:2:s", "t:1:2:", ":1:2:s"] {
        assert_eq!(crate::LetterId::parse(bad), None, "{bad}");
    }
}
