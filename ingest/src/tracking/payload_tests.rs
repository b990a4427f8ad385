use super::*;

fn ok(body: &str) -> SyncHit {
    validate(body.as_bytes()).unwrap()
}

fn err(body: &str) -> ValidationError {
    validate(body.as_bytes()).unwrap_err()
}

#[test]
fn the_seed_payload_is_accepted() {
    let hit = ok(
        r#"{"s":"site1","u":"https://x.com/a","sid":"0d6c","sm":"2026-01-01","ec":"interaction",
        "ea":"view","el":"hero","ev":3,"meta":{"fp":"fp1","gclid":"G","duration_sec":120,"x":{"y":1}},"r":"https://g.co"}"#,
    );
    assert_eq!(
        (hit.site.as_str(), hit.session_id.as_str(), hit.url.as_str()),
        ("site1", "0d6c", "https://x.com/a")
    );
    assert_eq!(hit.fingerprint.as_deref(), Some("fp1"));
    assert_eq!(hit.gclid.as_deref(), Some("G"));
    assert_eq!(hit.duration_sec, Some(120));
    assert_eq!(hit.value, Some(3.0));
    assert!(
        hit.meta_json.contains(r#""x":{"y":1}"#),
        "meta keeps arbitrary keys"
    );
    assert_eq!(hit.unknown_fields, 0);
}

#[test]
fn url_may_be_long_form_and_defaults_fill_in() {
    let hit = ok(r#"{"s":"a","url":"https://x","sid":"b","future_key":1,"other":2}"#);
    assert_eq!(hit.url, "https://x");
    assert_eq!(
        (hit.category.as_str(), hit.action.as_str()),
        ("interaction", "view")
    );
    assert_eq!(hit.unknown_fields, 2);
    assert_eq!(hit.meta_json, "{}");
}

#[test]
fn missing_required_fields_are_named() {
    assert_eq!(
        err(r#"{"u":"x","sid":"b"}"#).message,
        "field `s` is required"
    );
    assert_eq!(
        err(r#"{"s":"a","u":"x"}"#).message,
        "field `sid` is required"
    );
    assert_eq!(
        err(r#"{"s":"a","sid":"b"}"#).message,
        "field `u` is required"
    );
    assert_eq!(err(r#"{"s":" ","u":"x","sid":"b"}"#).code, "missing_field");
}

#[test]
fn wrong_types_are_named() {
    assert_eq!(
        err(r#"{"s":1,"u":"x","sid":"b"}"#).message,
        "field `s` must be a string"
    );
    assert_eq!(
        err(r#"{"s":"a","u":"x","sid":"b","ev":true}"#).message,
        "field `ev` must be a number"
    );
    // The tracker sends `ev` as a number, a string or null.
    assert_eq!(
        ok(r#"{"s":"a","u":"x","sid":"b","ev":"3"}"#).value,
        Some(3.0)
    );
    assert_eq!(ok(r#"{"s":"a","u":"x","sid":"b","ev":"50%"}"#).value, None);
    assert_eq!(
        err(r#"{"s":"a","u":"x","sid":"b","meta":[]}"#).message,
        "field `meta` must be an object"
    );
    assert_eq!(
        err(r#"{"s":"a","u":"x","sid":"b","meta":{"fp":7}}"#).message,
        "field `meta.fp` must be a string"
    );
    assert_eq!(
        err(r#"{"s":"a","u":"x","sid":"b","ts":"yesterday"}"#).code,
        "invalid_field"
    );
}

#[test]
fn malformed_json_is_refused() {
    assert_eq!(err("{not json").code, "invalid_json");
    assert_eq!(err("[1,2]").code, "invalid_json");
    assert_eq!(err("").code, "invalid_json");
}

#[test]
fn client_times_come_from_top_level_or_meta() {
    let hit = ok(r#"{"s":"a","u":"x","sid":"b","meta":{"ts":1000,"st":2000}}"#);
    assert_eq!((hit.ts, hit.st), (Some(1000), Some(2000)));
    let hit = ok(r#"{"s":"a","u":"x","sid":"b","ts":5,"st":6,"meta":{"ts":1000}}"#);
    assert_eq!((hit.ts, hit.st), (Some(5), Some(6)));
}

#[test]
fn a_batch_is_validated_per_hit_and_names_the_bad_one() {
    let hit = |s: &str, u: &str| format!(r#"{{"s":"{s}","u":"{u}","sid":"S"}}"#);
    let body = format!(r#"{{"events":[{},{}]}}"#, hit("a", "x"), hit("a", "y"));
    let hits = validate_all(body.as_bytes()).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.url.as_str()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    let bad = format!(r#"{{"events":[{},{{"s":"a","sid":"S"}}]}}"#, hit("a", "x"));
    let e = validate_all(bad.as_bytes()).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        ("missing_field", "events[1]: field `u` is required")
    );
    let mixed = format!(r#"{{"events":[{},{}]}}"#, hit("a", "x"), hit("b", "x"));
    assert_eq!(
        validate_all(mixed.as_bytes()).unwrap_err().code,
        "batch_mixed_sites"
    );
    assert_eq!(
        validate_all(br#"{"events":[]}"#).unwrap_err().code,
        "invalid_field"
    );
    let many = format!(
        r#"{{"events":[{}]}}"#,
        vec![hit("a", "x"); MAX_BATCH + 1].join(",")
    );
    assert_eq!(
        validate_all(many.as_bytes()).unwrap_err().code,
        "invalid_field"
    );
}

#[test]
fn consent_without_analytics_is_marked_and_consent_is_kept() {
    let h = ok(r#"{"s":"a","u":"x","sid":"b","consent_scopes":["marketing"]}"#);
    assert!(h.consent_missing);
    assert!(
        h.meta_json.contains(r#""consent_scopes":["marketing"]"#),
        "kept on the stored hit"
    );
    let h = ok(r#"{"s":"a","u":"x","sid":"b","meta":{"consent_scopes":["analytics"]}}"#);
    assert!(!h.consent_missing);
    assert!(
        !ok(r#"{"s":"a","u":"x","sid":"b"}"#).consent_missing,
        "no scopes sent: no opinion"
    );
    assert_eq!(
        err(r#"{"s":"a","u":"x","sid":"b","consent_scopes":"all"}"#).message,
        "field `consent_scopes` must be an array of strings"
    );
}
