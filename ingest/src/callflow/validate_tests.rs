use super::*;

fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn the_seed_example_is_valid() {
    let e = validate_event(
        br#"{"callId":"call-12345-abcde","eventType":"initiated","timestamp":"2024-01-15T10:30:00Z",
            "metadata":{"callerNumber":"+1234567890","direction":"inbound"}}"#,
    )
    .unwrap();
    assert_eq!(e.call_id, "call-12345-abcde");
    assert_eq!(e.timestamp_ms, 1_705_314_600_000);
    assert!(e.metadata_json.contains("callerNumber"));
    assert_eq!(format_time(e.timestamp_ms), "2024-01-15T10:30:00Z");
    assert_eq!(format_time(1_705_314_600_123), "2024-01-15T10:30:00.123Z");
}

#[test]
fn every_problem_is_reported_with_its_field() {
    let errors =
        validate_event(br#"{"eventType":"exploded","timestamp":"yesterday","metadata":[1]}"#)
            .unwrap_err();
    assert_eq!(
        fields(&errors),
        vec!["callId", "eventType", "timestamp", "metadata"]
    );
    assert!(errors[1]
        .message
        .contains("initiated, ringing, answered, hold, resumed, transferred, ended, failed"));
    assert_eq!(validate_event(b"nope").unwrap_err()[0].field, "body");
    assert_eq!(
        fields(
            &validate_event(
                br#"{"callId":7,"eventType":"ended","timestamp":"2024-01-15T10:30:00Z"}"#
            )
            .unwrap_err()
        ),
        vec!["callId"]
    );
    let offset = validate_event(
        br#"{"callId":"c","eventType":"ended","timestamp":"2024-01-15T12:30:00+02:00"}"#,
    )
    .unwrap();
    assert_eq!(
        offset.timestamp_ms, 1_705_314_600_000,
        "offsets are honoured"
    );
}

#[test]
fn queries_default_and_bound_the_limit() {
    assert_eq!(validate_query(&query(&[])).unwrap().limit, 100);
    assert_eq!(
        validate_query(&query(&[("limit", "1000")])).unwrap().limit,
        1000
    );
    for bad in ["0", "1001", "-1", "ten"] {
        assert_eq!(
            fields(&validate_query(&query(&[("limit", bad)])).unwrap_err()),
            vec!["limit"]
        );
    }
    let errors = validate_query(&query(&[
        ("eventType", "x"),
        ("startTime", "2024-01-02T00:00:00Z"),
        ("endTime", "2024-01-01T00:00:00Z"),
    ]))
    .unwrap_err();
    assert_eq!(fields(&errors), vec!["eventType", "startTime"]);
}

#[test]
fn event_ids_are_checked_for_shape() {
    assert!(validate_event_id("evt-0190a0b0-0000-7000-8000-000000000001").is_ok());
    assert!(validate_event_id("evt-nope").is_err());
    assert!(validate_event_id("0190a0b0-0000-7000-8000-000000000001").is_err());
}

#[test]
fn the_scope_binds_site_and_filters() {
    let q = validate_query(&query(&[("callId", "c1")])).unwrap();
    assert_ne!(q.scope("a"), q.scope("b"));
    let other = validate_query(&query(&[("callId", "c2")])).unwrap();
    assert_ne!(q.scope("a"), other.scope("a"));
    let limit_only = validate_query(&query(&[("callId", "c1"), ("limit", "5")])).unwrap();
    assert_eq!(
        q.scope("a"),
        limit_only.scope("a"),
        "the page size may change between pages"
    );
}
