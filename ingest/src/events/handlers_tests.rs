//! The event API in process: the router over in-memory stores and publisher.

use opsmantik_schemas::{decode, ProductEvent};
use serde_json::json;

use crate::app::test_client::TestApp;
use crate::auth::keys::Scope;

#[tokio::test]
async fn an_event_is_published_once_and_its_retry_is_a_duplicate() {
    let app = TestApp::new();
    let site = app.site("shop");
    let key = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    let event = json!({ "event_name": "signed_up", "user_id": "u1", "idempotency_key": "k-1" });
    let first = app
        .with_key("POST", "/api/v1/events", &key, Some(event.clone()))
        .await;
    assert_eq!(
        (first.status.as_u16(), first.body["status"].as_str()),
        (200, Some("accepted"))
    );
    let again = app
        .with_key("POST", "/api/v1/events", &key, Some(event))
        .await;
    assert_eq!(again.body["status"], "duplicate");
    assert_eq!(again.body["event_id"], first.body["event_id"]);
    let published = app.published("product-events.v1");
    assert_eq!(published.len(), 1, "the retry is not published again");
    let stored: ProductEvent = decode(&published[0].payload).unwrap();
    assert_eq!(
        (stored.event_name.as_str(), stored.site.as_str()),
        ("signed_up", "shop")
    );
}

#[tokio::test]
async fn without_a_key_or_with_a_read_key_nothing_is_published() {
    let app = TestApp::new();
    let site = app.site("shop");
    let read = app.memory.auth.add_key(&site, &[Scope::Read]);
    let event = json!({ "event_name": "x" });
    let none = app
        .send("POST", "/api/v1/events", &[], Some(event.clone()))
        .await;
    assert_eq!(none.status.as_u16(), 401, "{}", none.body);
    let wrong = app
        .with_key("POST", "/api/v1/events", &read, Some(event.clone()))
        .await;
    assert_eq!(wrong.status.as_u16(), 403, "{}", wrong.body);
    let made_up = app
        .send(
            "POST",
            "/api/v1/events",
            &[("x-api-key", "evp_nope")],
            Some(event),
        )
        .await;
    assert_eq!(made_up.status.as_u16(), 401);
    assert!(app.publisher.sent().is_empty());
}

#[tokio::test]
async fn a_batch_answers_per_event_and_publishes_the_valid_ones() {
    let app = TestApp::new();
    let site = app.site("shop");
    let key = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    let batch = json!([
        { "event_name": "a", "idempotency_key": "b-1" },
        { "event_name": "" },
        { "event_name": "c", "idempotency_key": "b-1" }
    ]);
    let r = app
        .with_key("POST", "/api/v1/events/batch", &key, Some(batch))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(app.published("product-events.v1").len(), 1, "{}", r.body);
}

#[tokio::test]
async fn a_retry_after_a_request_that_died_before_confirming_is_published_not_lost() {
    use crate::events::dedup::DedupStore;
    let app = TestApp::new();
    let site = app.site("shop");
    let key = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    // An edge claimed the id, then died before the broker answered: the claim stays pending.
    let claim = [("k-9".to_string(), "whatever".to_string())];
    app.memory.dedup.claim("shop", &claim).await.unwrap();
    let event = json!({ "event_name": "paid", "idempotency_key": "k-9" });
    let retry = app
        .with_key("POST", "/api/v1/events", &key, Some(event.clone()))
        .await;
    assert_eq!(retry.body["status"], "accepted", "{}", retry.body);
    assert_eq!(app.published("product-events.v1").len(), 1);
    let again = app
        .with_key("POST", "/api/v1/events", &key, Some(event))
        .await;
    assert_eq!(again.body["status"], "duplicate", "confirmed by the retry");
}
