//! Product-event analytics in process: the three reads over events kept in memory, scoped to the key's site.

use crate::analytics::store::MemoryEvent;
use crate::app::test_client::TestApp;
use crate::auth::keys::Scope;

fn event(site: &str, id: &str, name: &str, user: &str, ago_secs: i64) -> MemoryEvent {
    let at = chrono::Utc::now().timestamp_millis() - ago_secs * 1000;
    MemoryEvent {
        site: site.into(),
        event_id: id.into(),
        event_name: name.into(),
        user_id: user.into(),
        session_id: format!("s-{user}"),
        timestamp_ms: at,
        received_ms: at,
    }
}

fn app_with_events() -> (TestApp, String) {
    let app = TestApp::new();
    let site = app.site("shop");
    app.site("other");
    let key = app.memory.auth.add_key(&site, &[Scope::Read]);
    let a = &app.memory.analytics;
    a.insert(event("shop", "e1", "view", "u1", 30));
    a.insert(event("shop", "e1", "view", "u1", 30)); // replayed: counts once
    a.insert(event("shop", "e2", "buy", "u1", 20));
    a.insert(event("shop", "e3", "view", "u2", 10));
    a.insert(event("shop", "old", "view", "u3", 3 * 3600)); // outside the last hour
    a.insert(event("other", "x1", "view", "u9", 5));
    (app, key)
}

#[tokio::test]
async fn event_counts_cover_the_period_of_the_keys_site_only() {
    let (app, key) = app_with_events();
    let r = app
        .with_key("GET", "/api/v1/analytics/events?period=1h", &key, None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        (r.body["count"].as_u64(), r.body["unique_users"].as_u64()),
        (Some(3), Some(2))
    );
    let buckets = r.body["time_buckets"].as_array().unwrap();
    let sum: u64 = buckets.iter().filter_map(|b| b["count"].as_u64()).sum();
    assert_eq!(sum, 3);
    let views = app
        .with_key(
            "GET",
            "/api/v1/analytics/events?period=1h&event_name=view",
            &key,
            None,
        )
        .await;
    assert_eq!(views.body["count"], 2);
}

#[tokio::test]
async fn metrics_and_stats_answer_in_the_seed_003_shape() {
    let (app, key) = app_with_events();
    let m = app
        .with_key("GET", "/api/v1/analytics/metrics?timeRange=1h", &key, None)
        .await;
    assert_eq!(m.status.as_u16(), 200, "{}", m.body);
    let d = &m.body["data"];
    assert_eq!(
        (d["totalEvents"].as_u64(), d["uniqueUsers"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(d["eventsByType"][0]["eventType"], "view");
    assert_eq!(d["topUsers"][0]["userId"], "u1");
    assert_eq!(d["topUsers"][0]["eventCount"], 2);
    let s = app
        .with_key("GET", "/api/v1/events/stats", &key, None)
        .await;
    assert_eq!(s.body["data"]["totalIngested"], 4, "{}", s.body);
}

#[tokio::test]
async fn analytics_need_a_read_key_of_the_site() {
    let (app, _) = app_with_events();
    let site = app.site("third");
    let ingest = app.memory.auth.add_key(&site, &[Scope::Ingest]);
    let none = app
        .send("GET", "/api/v1/analytics/metrics", &[], None)
        .await;
    assert_eq!(none.status.as_u16(), 401);
    let wrong = app
        .with_key("GET", "/api/v1/analytics/metrics", &ingest, None)
        .await;
    assert_eq!(wrong.status.as_u16(), 403, "{}", wrong.body);
}
