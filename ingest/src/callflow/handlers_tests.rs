//! Callflow reads in process: the router over in-memory stores (stored events as the sink would land them).

use serde_json::Value;

use crate::app::test_client::TestApp;
use crate::auth::keys::Scope;
use crate::callflow::store::StoredEvent;

fn stored(n: i64, call: &str) -> StoredEvent {
    StoredEvent {
        call_id: call.into(),
        timestamp_ms: 1_795_000_000_000 + n * 1_000,
        event_id: format!("evt-00000000-0000-4000-8000-{n:012}"),
        event_type: "call_started".into(),
        metadata_json: r#"{"agent":"a1"}"#.into(),
        created_at_ms: 1_795_000_000_000,
    }
}

fn ids(body: &Value) -> Vec<String> {
    body["body"]["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["eventId"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_site_pages_through_its_own_events_only() {
    let app = TestApp::new();
    let (mine, theirs) = (app.site("mine"), app.site("theirs"));
    for n in 1..=5 {
        app.memory.callflow.insert("mine", stored(n, "call-1"));
    }
    app.memory.callflow.insert("theirs", stored(9, "call-1"));
    let key = app.memory.auth.add_key(&mine, &[Scope::Read]);
    let page = app
        .with_key("GET", "/callflow/events?limit=3", &key, None)
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    assert_eq!(ids(&page.body).len(), 3);
    let token = page.body["body"]["nextToken"].as_str().unwrap().to_string();
    let rest = app
        .with_key(
            "GET",
            &format!("/callflow/events?limit=3&nextToken={token}"),
            &key,
            None,
        )
        .await;
    let rest_ids = ids(&rest.body);
    assert_eq!(rest_ids.len(), 2, "{}", rest.body);
    assert!(
        rest_ids.iter().all(|id| !id.ends_with("000000000009")),
        "the other site's event stays hidden"
    );
    assert_eq!(rest.body["body"]["nextToken"], Value::Null);

    let other_key = app.memory.auth.add_key(&theirs, &[Scope::Read]);
    let one = stored(2, "call-1").event_id;
    let hidden = app
        .with_key("GET", &format!("/callflow/events/{one}"), &other_key, None)
        .await;
    assert_eq!(
        hidden.status.as_u16(),
        404,
        "another site's event does not exist for it"
    );
    let found = app
        .with_key("GET", &format!("/callflow/events/{one}"), &key, None)
        .await;
    assert_eq!(found.status.as_u16(), 200);
    assert_eq!(found.body["body"]["metadata"]["agent"], "a1");
}

#[tokio::test]
async fn reads_need_a_read_key() {
    let app = TestApp::new();
    let site = app.site("mine");
    let ingest = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    let none = app.send("GET", "/callflow/events", &[], None).await;
    assert_eq!(none.status.as_u16(), 401);
    let wrong = app.with_key("GET", "/callflow/events", &ingest, None).await;
    assert_eq!(wrong.status.as_u16(), 403, "{}", wrong.body);
}
