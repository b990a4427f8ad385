//! Seeds 002 and 003 through the real edge, broker, sink, ClickHouse and Redis: sign-in, API keys, both
//! ingestion dialects, duplicates (also across an edge restart), analytics, rate limits, health.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{create_site, new_key, sign_in};
use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{wait_for, Env, Pipeline};
use serde_json::{json, Value};

async fn post(p: &Pipeline, path: &str, key: Option<&str>, body: &Value) -> Reply {
    let mut req = p.http.post(p.url(path)).json(body);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    send(req).await
}

async fn get(p: &Pipeline, path: &str, key: &str) -> Reply {
    send(p.http.get(p.url(path)).header("x-api-key", key)).await
}

async fn start(env: &Env) -> anyhow::Result<(Pipeline, Inbox)> {
    let (smtp, inbox) = Inbox::start().await?;
    let p = Pipeline::start_with(env, &[("SMTP_URL", smtp.as_str())]).await?;
    Ok((p, inbox))
}

async fn events_in_clickhouse(env: &Env, n: u64) -> anyhow::Result<()> {
    wait_for(
        "product events in ClickHouse",
        Duration::from_secs(90),
        || async {
            match env
                .count("SELECT uniqExact(event_id) FROM product_events")
                .await
            {
                Ok(c) if c == n => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_with_an_emailed_code_and_get_an_api_key() -> anyhow::Result<()> {
    let env = Env::new("auth").await?;
    let (p, inbox) = start(&env).await?;

    let r = post(
        &p,
        "/api/auth/request-code",
        None,
        &json!({ "email": "not-an-email" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    post(
        &p,
        "/api/auth/request-code",
        None,
        &json!({ "email": "ana@example.com" }),
    )
    .await;
    let r = post(
        &p,
        "/api/auth/verify",
        None,
        &json!({ "email": "ana@example.com", "code": "12ab56" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let code = inbox.code_for("ana@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(
        &p,
        "/api/auth/verify",
        None,
        &json!({ "email": "ana@example.com", "code": wrong }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("INVALID_CODE"))
    );

    let token = sign_in(&p, &inbox, "ana@example.com").await?;
    let r = send(p.http.get(p.url("/api/auth/me")).bearer_auth(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            r.body["data"]["email"].as_str(),
            r.body["data"]["role"].as_str()
        ),
        (Some("ana@example.com"), Some("USER"))
    );
    let r = send(p.http.get(p.url("/api/auth/me"))).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let r = send(
        p.http
            .get(p.url("/api/auth/me"))
            .bearer_auth("forged.token.value"),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        p.http
            .post(p.url("/api/auth/api-key"))
            .json(&json!({ "name": "x" })),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );

    // A used code cannot be used again.
    let r = post(
        &p,
        "/api/auth/verify",
        None,
        &json!({ "email": "ana@example.com", "code": inbox.code_for("ana@example.com").unwrap() }),
    )
    .await;
    assert_eq!(r.status, 401);

    let shop = create_site(&p, &token, "shop").await?;
    let key = new_key(&p, &token, &shop, json!({ "name": "Production API Key" })).await;
    let r = post(
        &p,
        "/api/v1/events",
        Some(&key),
        &json!({ "event_name": "user_signed_up" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("accepted"))
    );

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn both_dialects_land_once_and_analytics_count_them() -> anyhow::Result<()> {
    let env = Env::new("dialects").await?;
    let (p, inbox) = start(&env).await?;
    let token = sign_in(&p, &inbox, "ops@example.com").await?;
    let site_a = create_site(&p, &token, "site-a").await?;
    let site_b = create_site(&p, &token, "site-b").await?;
    let key = new_key(&p, &token, &site_a, json!({})).await;
    let other = new_key(&p, &token, &site_b, json!({})).await;

    // Seed 002, single and duplicate.
    let e1 = json!({ "event_name": "user_signed_up", "user_id": "u1", "metadata": { "plan": "pro" }, "idempotency_key": "k-1" });
    let r1 = post(&p, "/api/v1/events", Some(&key), &e1).await;
    assert_eq!(
        (r1.status, r1.body["status"].as_str()),
        (200, Some("accepted"))
    );
    let r2 = post(&p, "/api/v1/events", Some(&key), &e1).await;
    assert_eq!(
        (r2.status, r2.body["status"].as_str()),
        (200, Some("duplicate"))
    );
    assert_eq!(r1.body["event_id"], r2.body["event_id"]);

    // Seed 003, single and duplicate.
    let e2 = json!({ "eventType": "click", "userId": "u2", "sessionId": "s1", "timestamp": "2030-01-01T00:00:00Z", "eventId": "evt_custom_1" });
    let mut e2 = e2;
    e2["timestamp"] = json!(chrono::Utc::now().to_rfc3339());
    let r = post(&p, "/api/v1/events", Some(&key), &e2).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!({ "eventId": "evt_custom_1", "accepted": true, "duplicate": false, "message": "Event accepted for processing" })
    );
    let r = post(&p, "/api/v1/events", Some(&key), &e2).await;
    assert_eq!(
        (r.status, r.body["data"]["duplicate"].as_bool()),
        (200, Some(true))
    );

    // Batches: 002 array with one bad event; 003 object.
    let r = post(
        &p,
        "/api/v1/events/batch",
        Some(&key),
        &json!([
            { "event_name": "page_view", "user_id": "u1" },
            { "event_name": "x".repeat(101) },
            { "event_name": "page_view", "user_id": "u3" },
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r.body["results"][1]["error"]["field"], "event_name");
    let now = chrono::Utc::now().to_rfc3339();
    let r = post(&p, "/api/v1/events/batch", Some(&key), &json!({ "events": [
        { "eventType": "page_view", "userId": "u2", "sessionId": "s1", "timestamp": now },
        { "eventType": "purchase", "userId": "u2", "sessionId": "s2", "timestamp": now },
        { "eventType": "click", "userId": "u2", "sessionId": "s1", "timestamp": now, "eventId": "evt_custom_1" },
    ]})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        (
            r.body["data"]["accepted"].as_u64(),
            r.body["data"]["duplicates"].as_u64(),
            r.body["data"]["total"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    // Another site's event.
    post(
        &p,
        "/api/v1/events",
        Some(&other),
        &json!({ "event_name": "page_view", "user_id": "zed" }),
    )
    .await;

    // Errors, in each dialect's shape.
    let r = post(&p, "/api/v1/events", None, &json!({ "event_name": "a" })).await;
    assert_eq!(
        (r.status, r.body["error"].as_str(), r.body["code"].as_u64()),
        (401, Some("missing_api_key"), Some(401))
    );
    let r = post(
        &p,
        "/api/v1/events",
        Some("evp_nope"),
        &json!({ "eventType": "a" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("INVALID_API_KEY"))
    );
    let r = post(
        &p,
        "/api/v1/events",
        Some(&key),
        &json!({ "eventType": "a", "userId": "u" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    assert_eq!(r.body["error"]["details"][0]["field"], "sessionId");
    let r = post(
        &p,
        "/api/v1/events",
        Some(&key),
        &json!({ "event_name": "a", "metadata": { "pad": "y".repeat(11 * 1024) } }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str(), r.body["field"].as_str()),
        (400, Some("invalid_request"), Some("metadata"))
    );
    let too_many: Vec<Value> = (0..1001).map(|_| json!({ "event_name": "a" })).collect();
    let r = post(
        &p,
        "/api/v1/events/batch",
        Some(&key),
        &Value::Array(too_many),
    )
    .await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("events")));
    let big: Vec<Value> = (0..200)
        .map(|_| json!({ "event_name": "a", "metadata": { "pad": "z".repeat(6000) } }))
        .collect();
    let r = post(&p, "/api/v1/events/batch", Some(&key), &Value::Array(big)).await;
    assert_eq!(r.status, 400, "a body over 1 MB");

    // site_a has: k-1, evt_custom_1, 2 page views (002), page_view + purchase (003) = 6; site_b 1.
    events_in_clickhouse(&env, 7).await?;
    let r = get(
        &p,
        &format!("/api/v1/analytics/events?project_id={site_a}&period=15m"),
        &key,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["count"].as_u64(), r.body["unique_users"].as_u64()),
        (Some(6), Some(3))
    );
    let buckets = r.body["time_buckets"].as_array().unwrap();
    assert_eq!(
        buckets.len(),
        15,
        "one-minute buckets for 15m, empty ones as 0"
    );
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        6
    );
    assert!(r.headers.contains_key("x-ratelimit-remaining"));
    let r = get(
        &p,
        &format!("/api/v1/analytics/events?project_id={site_a}&period=24h&event_name=page_view"),
        &key,
    )
    .await;
    assert_eq!(
        (
            r.body["count"].as_u64(),
            r.body["time_buckets"].as_array().unwrap().len()
        ),
        (Some(3), 96)
    );
    let r = get(
        &p,
        &format!("/api/v1/analytics/events?project_id={site_a}"),
        &other,
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (403, Some("forbidden")),
        "a key of site B cannot read site A"
    );

    let r = get(&p, "/api/v1/analytics/metrics?timeRange=15m", &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (
            d["totalEvents"].as_u64(),
            d["uniqueUsers"].as_u64(),
            d["uniqueSessions"].as_u64()
        ),
        (Some(6), Some(3), Some(2))
    );
    let by_type: Vec<(String, f64)> = d["eventsByType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["eventType"].as_str().unwrap().to_string(),
                t["percentage"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_type[0], ("page_view".to_string(), 50.0));
    assert_eq!(d["topUsers"][0]["userId"], "u2");
    assert_eq!(d["topUsers"][0]["eventCount"], 3);
    assert_eq!(d["avgEventsPerUser"], 2.0);
    let r = get(
        &p,
        "/api/v1/analytics/metrics?timeRange=15m&userId=u",
        &other,
    )
    .await;
    assert_eq!(
        r.body["data"]["totalEvents"], 0,
        "site B sees only its own events"
    );
    let partial = get(&p, "/api/v1/analytics/metrics?timeRange=1h&userId=2", &key).await;
    assert_eq!(
        partial.body["data"]["totalEvents"], 3,
        "userId matches partially"
    );

    // The metrics are cached for 10 s: a new event shows up only after that.
    post(
        &p,
        "/api/v1/events",
        Some(&key),
        &json!({ "event_name": "late", "user_id": "u9" }),
    )
    .await;
    events_in_clickhouse(&env, 8).await?;
    let cached = get(&p, "/api/v1/analytics/metrics?timeRange=15m", &key).await;
    assert_eq!(cached.body["data"]["totalEvents"], 6);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let fresh = get(&p, "/api/v1/analytics/metrics?timeRange=15m", &key).await;
    assert_eq!(fresh.body["data"]["totalEvents"], 7);

    let r = get(&p, "/api/v1/events/stats", &key).await;
    assert_eq!(
        (r.status, r.body["data"]["totalIngested"].as_u64()),
        (200, Some(7))
    );
    assert!(r.body["data"]["ingestionRate"].as_f64().unwrap() > 0.0);

    // Seed 002 analytics: 10 requests a minute per key. 2 were used above and the bucket refilled one every
    // 6 s during the 10-s cache wait, so 8 to 10 more pass, then 429 with Retry-After.
    let mut passed = 0;
    let mut limited = None;
    for _ in 0..12 {
        let r = get(&p, "/api/v1/analytics/events?period=1h", &key).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        passed += 1;
    }
    let limited = limited.expect("the analytics route is rate limited");
    assert!(
        (8..=10).contains(&passed),
        "{passed} passed before the limit"
    );
    assert_eq!(limited.body["error"], "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_is_caught_across_an_edge_restart_and_counted_once() -> anyhow::Result<()> {
    let env = Env::new("dedup_restart").await?;
    let (mut p, inbox) = start(&env).await?;
    let token = sign_in(&p, &inbox, "dup@example.com").await?;
    let site_d = create_site(&p, &token, "site-d").await?;
    let key = new_key(&p, &token, &site_d, json!({ "rate_limit_per_minute": 5 })).await;
    let event = json!({ "eventType": "purchase", "userId": "u", "sessionId": "s", "timestamp": chrono::Utc::now().to_rfc3339(), "eventId": "order-42" });
    assert_eq!(
        post(&p, "/api/v1/events", Some(&key), &event).await.status,
        202
    );
    p.restart_edge().await?;
    let r = post(&p, "/api/v1/events", Some(&key), &event).await;
    assert_eq!(
        (r.status, r.body["data"]["duplicate"].as_bool()),
        (200, Some(true))
    );
    events_in_clickhouse(&env, 1).await?;
    assert_eq!(
        env.count("SELECT count() FROM product_events FINAL")
            .await?,
        1
    );

    // The key's own rate (5 events a minute, counted per edge instance: 1 used since the restart): a batch
    // of 5 is over it.
    let batch: Vec<Value> = (0..5)
        .map(|i| json!({ "event_name": "e", "idempotency_key": format!("b{i}") }))
        .collect();
    let r = post(&p, "/api/v1/events/batch", Some(&key), &Value::Array(batch)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (429, Some("rate_limited"))
    );

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_each_dependency() -> anyhow::Result<()> {
    let env = Env::new("health").await?;
    let p = Pipeline::start(&env).await?;
    let r = send(p.http.get(p.url("/api/health"))).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("healthy")),
        "{}",
        r.body
    );
    for s in ["broker", "clickhouse", "redis"] {
        assert_eq!(r.body["services"][s]["status"], "up", "{s}");
    }
    assert!(r.body["version"].as_str().unwrap().starts_with('v'));
    assert_eq!(
        send(p.http.get(p.url("/api/ready"))).await.body,
        json!({ "ready": true })
    );
    assert_eq!(
        send(p.http.get(p.url("/api/live"))).await.body,
        json!({ "live": true })
    );
    // The analytics sealer reports its rounds (it runs once at start, then every 15 s).
    sealer_reports(&p, "ok").await?;
    drop(p);

    // ClickHouse and Redis unreachable: degraded (tracking still flows). The broker-down case (unhealthy,
    // not ready) is in edge_failures.rs.
    let dead = |port: u16| format!("127.0.0.1:{port}");
    let p = Pipeline::start_with(
        &env,
        &[
            (
                "CLICKHOUSE_URL",
                &format!("http://{}", dead(opsmantik_e2e::free_port())),
            ),
            (
                "REDIS_URL",
                &format!("redis://{}", dead(opsmantik_e2e::free_port())),
            ),
        ],
    )
    .await?;
    let r = send(p.http.get(p.url("/api/health"))).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("degraded")),
        "{}",
        r.body
    );
    assert_eq!(
        (
            r.body["services"]["clickhouse"]["status"].as_str(),
            r.body["services"]["redis"]["status"].as_str()
        ),
        (Some("down"), Some("down"))
    );
    sealer_reports(&p, "failed").await?;
    drop(p);
    env.cleanup().await
}

/// Waits until the edge's `/metrics` counts a sealer round with `outcome`.
async fn sealer_reports(p: &Pipeline, outcome: &str) -> anyhow::Result<()> {
    let line = format!("edge_rollup_seals_total{{outcome=\"{outcome}\"}}");
    wait_for(&line, Duration::from_secs(30), || async {
        let reply = p.http.get(p.url("/metrics")).send().await;
        let metrics = match reply {
            Ok(r) => r.text().await.map_err(|e| e.to_string())?,
            Err(e) => return Err(e.to_string()),
        };
        match metrics.lines().any(|l| l.starts_with(&line)) {
            true => Ok(()),
            false => Err(metrics
                .lines()
                .filter(|l| l.contains("rollup"))
                .collect::<Vec<_>>()
                .join("; ")),
        }
    })
    .await
}

/// The two-step claims of edge deduplication hold on Redis exactly as on the in-memory store the in-process
/// tests use (`SET … NX GET`, confirm, release).
#[tokio::test]
async fn redis_dedup_claims_are_pending_until_confirmed() -> anyhow::Result<()> {
    let env = Env::new("dedup_claims").await?;
    let store = opsmantik_ingest::events::dedup::RedisDedup(env.redis()?);
    let lifecycle = opsmantik_ingest::events::dedup::check_lifecycle(&store).await;
    assert_eq!(lifecycle, Ok(()));
    env.cleanup().await
}
