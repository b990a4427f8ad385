//! Webhooks and rules in process: what is refused before anything is stored.

use serde_json::json;

use crate::app::test_client::TestApp;
use crate::auth::keys::Scope;

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_at_creation() {
    let app = TestApp::new();
    let site = app.site("shop");
    let key = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://localhost/hook",
        "ftp://hooks.example/",
    ] {
        let body = json!({ "url": url, "events": ["purchase_completed"], "secret": "long-enough" });
        let r = app
            .with_key("POST", "/api/v1/webhooks", &key, Some(body))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["field"].as_str()),
            (400, Some("url")),
            "{url}: {}",
            r.body
        );
    }
    let short = json!({ "url": "https://203.0.113.10/", "events": ["x"], "secret": "short" });
    let r = app
        .with_key("POST", "/api/v1/webhooks", &key, Some(short))
        .await;
    assert_eq!(r.body["field"], "secret");
    let anonymous = app
        .send("POST", "/api/v1/webhooks", &[], Some(json!({})))
        .await;
    assert_eq!(anonymous.status, 401);
    let read_only = app.memory.auth.add_key(&site, &[Scope::Read]);
    let r = app
        .with_key("POST", "/api/v1/webhooks", &read_only, Some(json!({})))
        .await;
    assert_eq!(r.status, 403, "creating needs the ingest scope");
}

#[tokio::test]
async fn rules_that_cannot_run_are_refused_with_the_path_and_reason() {
    let app = TestApp::new();
    let site = app.site("shop");
    let key = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    let rule = |conditions| json!({ "name": "r", "conditions": conditions, "actions": [{ "type": "webhook", "webhook_id": "w" }] });
    let r = app
        .with_key(
            "POST",
            "/api/v1/rules",
            &key,
            Some(rule(json!({ "metadata.amount": { "$gt": "lots" } }))),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"], "conditions.metadata.amount: $gt needs a number",
        "{}",
        r.body
    );
    let r = app
        .with_key(
            "POST",
            "/api/v1/rules",
            &key,
            Some(rule(json!({ "metadata.a": { "$regex": "x" } }))),
        )
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("$regex is not an operator"),
        "{}",
        r.body
    );
    let r = app
        .with_key(
            "POST",
            "/api/v1/rules",
            &key,
            Some(json!({ "name": "r", "conditions": {} })),
        )
        .await;
    assert_eq!(r.body["field"], "actions");
}
