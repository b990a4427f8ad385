use super::*;
use serde_json::json;

const NOW: i64 = 1_706_608_800_000; // 2024-01-30T10:00:00Z

#[test]
fn seed_002_defaults_and_limits() {
    let e = validate(
        Dialect::EventApi,
        &json!({"event_name": "user_signed_up"}),
        NOW,
    )
    .unwrap();
    assert_eq!(
        (e.timestamp_ms, e.user_id.as_str(), e.metadata_json.as_str()),
        (NOW, "", "{}")
    );
    let e = validate(
        Dialect::EventApi,
        &json!({"event_name": "a", "user_id": "u", "timestamp": "2024-01-30T10:00:00Z", "idempotency_key": "k1", "metadata": {"plan": "pro"}}),
        0,
    )
    .unwrap();
    assert_eq!((e.timestamp_ms, e.client_id.as_deref()), (NOW, Some("k1")));
    let long = "x".repeat(101);
    assert_eq!(
        validate(Dialect::EventApi, &json!({"event_name": long}), NOW)
            .unwrap_err()
            .field,
        "event_name"
    );
    assert_eq!(
        validate(Dialect::EventApi, &json!({}), NOW)
            .unwrap_err()
            .field,
        "event_name"
    );
    let big = json!({"event_name": "a", "metadata": {"pad": "y".repeat(10 * 1024)}});
    assert_eq!(
        validate(Dialect::EventApi, &big, NOW).unwrap_err().field,
        "metadata"
    );
    assert_eq!(
        validate(
            Dialect::EventApi,
            &json!({"event_name": "a", "timestamp": "now"}),
            NOW
        )
        .unwrap_err()
        .field,
        "timestamp"
    );
}

#[test]
fn seed_003_requires_its_fields() {
    let ok = json!({"eventType": "click", "userId": "u", "sessionId": "s", "timestamp": "2024-01-30T10:00:00Z", "priority": 3, "eventId": "evt_1", "payload": {"b": 1}});
    let e = validate(Dialect::EventProcessor, &ok, 0).unwrap();
    assert_eq!(
        (e.priority, e.client_id.as_deref(), e.session_id.as_deref()),
        (Some(3), Some("evt_1"), Some("s"))
    );
    for missing in ["eventType", "userId", "sessionId", "timestamp"] {
        let mut v = ok.clone();
        v.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            validate(Dialect::EventProcessor, &v, 0).unwrap_err().field,
            missing
        );
    }
    let mut v = ok.clone();
    v["priority"] = json!(11);
    assert_eq!(
        validate(Dialect::EventProcessor, &v, 0).unwrap_err().field,
        "priority"
    );
    v["priority"] = json!(-1);
    assert!(validate(Dialect::EventProcessor, &v, 0).is_err());
    v["priority"] = json!(0);
    assert_eq!(
        validate(Dialect::EventProcessor, &v, 0).unwrap().priority,
        Some(0),
        "the seed's load test sends 0"
    );
    assert_eq!(
        validate(Dialect::EventProcessor, &json!([1]), 0)
            .unwrap_err()
            .field,
        "event"
    );
}
