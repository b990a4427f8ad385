//! `POST /api/sync` through the real router with an in-memory publisher: what a client sees for good and
//! bad input, and that nothing is published for bad input. (The end-to-end tests in `tests/` do the same
//! against the real broker.)

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use opsmantik_ingest::app::state::AppState;
use opsmantik_ingest::router;
use opsmantik_ingest::sites::Site;
use opsmantik_runtime::kafka::{Delivery, MemoryPublisher, OutRecord, Publisher};
use opsmantik_schemas::{decode, Topics, TrackingHit};
use serde_json::Value;
use tower::ServiceExt;

fn state(publisher: Arc<dyn Publisher>) -> AppState {
    let state = AppState::for_tests(publisher, Topics::new("t"));
    let site = |public_id: &str| Site {
        id: format!("id-{public_id}"),
        public_id: public_id.into(),
        name: public_id.into(),
        domain: "x.example".into(),
        allowed_origins: vec!["https://shop.example".into()],
        secret: "secret".into(),
        time_zone: "Europe/Istanbul".into(),
        ..Default::default()
    };
    state.sites.load(vec![site("a"), site("site1")]);
    state
}

async fn call(app: axum::Router, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("user-agent", "test-agent")
        .body(Body::from(body))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_valid_hit_is_published_keyed_by_site_and_visitor() {
    let publisher = Arc::new(MemoryPublisher::new());
    let app = router(state(publisher.clone()), 64 * 1024);
    let body = br#"{"s":"site1","u":"https://x.com/","sid":"S1","meta":{"fp":"F1"},"extra":true}"#
        .to_vec();
    let (status, json) = call(app, "POST", "/api/sync", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        serde_json::json!({"ok": true, "score": 0, "status": "synced", "count": 1})
    );
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "t.opsmantik.tracking.v1");
    assert_eq!(sent[0].key, b"site1:F1");
    let hit: TrackingHit = decode(&sent[0].payload).unwrap();
    assert_eq!(
        (
            hit.site.as_str(),
            hit.session_id.as_str(),
            hit.visitor.as_str()
        ),
        ("site1", "S1", "F1")
    );
    assert_eq!(hit.user_agent.as_deref(), Some("test-agent"));
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_reason_and_nothing_is_published() {
    let publisher = Arc::new(MemoryPublisher::new());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "invalid_json"),
        (br#"{"u":"x","sid":"b"}"#.to_vec(), "missing_field"),
        (br#"{"s":"a","u":"x"}"#.to_vec(), "missing_field"),
        (br#"{"s":"a","sid":"b"}"#.to_vec(), "missing_field"),
        (
            br#"{"s":"a","u":"x","sid":"b","ev":true}"#.to_vec(),
            "invalid_field",
        ),
        (
            format!(
                r#"{{"s":"a","u":"x","sid":"b","meta":{{"pad":"{}"}}}}"#,
                "x".repeat(70_000)
            )
            .into_bytes(),
            "payload_too_large",
        ),
    ];
    for (body, code) in cases {
        let (status, json) = call(
            router(state(publisher.clone()), 64 * 1024),
            "POST",
            "/api/sync",
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert_eq!(json["ok"], false);
        assert_eq!(json["error"]["code"], code, "{json}");
        assert!(!json["error"]["message"].as_str().unwrap().is_empty());
    }
    assert!(publisher.sent().is_empty());
}

#[tokio::test]
async fn a_broker_failure_is_a_503_never_a_200() {
    let publisher = Arc::new(MemoryPublisher::new());
    publisher.fail_from(0);
    let body = br#"{"s":"a","u":"x","sid":"b"}"#.to_vec();
    let (status, json) = call(
        router(state(publisher), 64 * 1024),
        "POST",
        "/api/sync",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"]["code"], "broker_unavailable");
}

/// A broker that never acknowledges.
struct Stalled;

impl Publisher for Stalled {
    fn publish_batch(&self, _: Vec<OutRecord>) -> BoxFuture<'_, Vec<Delivery>> {
        Box::pin(futures::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_broker_is_a_503_after_the_publish_timeout() {
    let body = br#"{"s":"a","u":"x","sid":"b"}"#.to_vec();
    let started = tokio::time::Instant::now();
    let (status, _) = call(
        router(state(Arc::new(Stalled)), 64 * 1024),
        "POST",
        "/api/sync",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn other_methods_and_paths_get_json_errors() {
    let app = || router(state(Arc::new(MemoryPublisher::new())), 64 * 1024);
    let (status, json) = call(app(), "PUT", "/api/sync", vec![]).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, json) = call(app(), "GET", "/nope", vec![]).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, json) = call(app(), "GET", "/api/health", vec![]).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("healthy"))
    );
}

#[tokio::test]
async fn a_batch_is_published_whole_or_refused_naming_the_bad_hit() {
    let publisher = Arc::new(MemoryPublisher::new());
    let app = || router(state(publisher.clone()), 64 * 1024);
    let hit = |u: &str| format!(r#"{{"s":"site1","u":"{u}","sid":"S1","meta":{{"fp":"F1"}}}}"#);
    let batch = format!(
        r#"{{"events":[{},{},{}]}}"#,
        hit("/a"),
        hit("/b"),
        hit("/c")
    );
    let (status, json) = call(app(), "POST", "/api/sync?_ts=1", batch.into_bytes()).await;
    assert_eq!(
        (status, json["count"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{json}"
    );
    let urls: Vec<String> = publisher
        .sent()
        .iter()
        .map(|r| decode::<TrackingHit>(&r.payload).unwrap().url)
        .collect();
    assert_eq!(urls, ["/a", "/b", "/c"]);
    let bad = format!(r#"{{"events":[{},{{"s":"site1","sid":"S1"}}]}}"#, hit("/d"));
    let (status, json) = call(app(), "POST", "/api/sync", bad.into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["message"], "events[1]: field `u` is required");
    assert_eq!(
        publisher.sent().len(),
        3,
        "nothing of a refused batch is published"
    );
}

#[tokio::test]
async fn hits_without_analytics_consent_are_not_stored() {
    let publisher = Arc::new(MemoryPublisher::new());
    let app = router(state(publisher.clone()), 64 * 1024);
    let body = r#"{"s":"site1","u":"/a","sid":"S1","consent_scopes":["marketing"]}"#;
    let req = Request::builder()
        .method("POST")
        .uri("/api/sync")
        .header("content-type", "text/plain")
        .body(Body::from(body))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["x-opsmantik-consent-missing"], "analytics");
    let mixed = r#"{"events":[{"s":"site1","u":"/a","sid":"S1","consent_scopes":["analytics"]},
        {"s":"site1","u":"/b","sid":"S1","consent_scopes":[]}]}"#;
    let app = router(state(publisher.clone()), 64 * 1024);
    let (status, json) = call(app, "POST", "/api/sync", mixed.as_bytes().to_vec()).await;
    assert_eq!((status, json["count"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(publisher.sent().len(), 1, "only the consented hit");
}
