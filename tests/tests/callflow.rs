//! The Callflow API (seed 004) through the real edge, broker, sink and ClickHouse.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::HashSet;
use std::time::Duration;

use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::{wait_for, Env, Pipeline};
use serde_json::{json, Value};

const LANDING: Duration = Duration::from_secs(90);

/// Keys of three sites ("a", "b", "c"), as their owners would create them.
async fn three_keys(env: &Env) -> anyhow::Result<(String, String, String)> {
    Ok((
        env.site_with_key("a").await?.1,
        env.site_with_key("b").await?.1,
        env.site_with_key("c").await?.1,
    ))
}

async fn post_event(p: &Pipeline, key: &str, body: &Value) -> Reply {
    send(
        p.http
            .post(p.url("/callflow/events"))
            .header("x-api-key", key)
            .json(body),
    )
    .await
}

async fn get(p: &Pipeline, key: &str, path: &str) -> Reply {
    send(p.http.get(p.url(path)).header("x-api-key", key)).await
}

async fn stored(env: &Env, n: u64) -> anyhow::Result<()> {
    wait_for("call-flow events in ClickHouse", LANDING, || async {
        match env.count("SELECT count() FROM callflow_events FINAL").await {
            Ok(c) if c == n => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// RFC 3339 with milliseconds, `offset_ms` after `base_secs`.
fn ts(base_secs: i64, offset_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(base_secs * 1000 + offset_ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_posted_out_of_order_reads_back_in_event_time_order() -> anyhow::Result<()> {
    let env = Env::new("callflow_order").await?;
    let (key_a, key_b, _) = three_keys(&env).await?;
    let p = Pipeline::start(&env).await?;
    let flow = [
        "initiated",
        "ringing",
        "answered",
        "hold",
        "resumed",
        "transferred",
        "ended",
    ];
    let base = 1_705_314_600; // 2024-01-15T10:30:00Z
    let shuffled = [4usize, 0, 6, 2, 5, 1, 3];
    let mut ids = HashSet::new();
    for i in shuffled {
        let body = json!({"callId": "call-1", "eventType": flow[i], "timestamp": ts(base, i as i64 * 1500),
            "metadata": {"step": i}});
        let r = post_event(&p, &key_a, &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["statusCode"], 201);
        assert_eq!(r.body["body"]["message"], "Event stored successfully");
        assert_eq!(r.body["body"]["callId"], "call-1");
        assert_eq!(
            r.body["body"]["timestamp"],
            ts(base, i as i64 * 1500).replace(".000Z", "Z")
        );
        ids.insert(r.body["body"]["eventId"].as_str().unwrap().to_string());
    }
    // Another call of the same site, and the same call id at another site: neither may show up.
    post_event(
        &p,
        &key_a,
        &json!({"callId": "call-2", "eventType": "initiated", "timestamp": ts(base, 100)}),
    )
    .await;
    post_event(
        &p,
        &key_b,
        &json!({"callId": "call-1", "eventType": "failed", "timestamp": ts(base, 200)}),
    )
    .await;
    stored(&env, 9).await?;

    let r = get(&p, &key_a, "/callflow/events?callId=call-1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = r.body["body"]["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, flow, "event-time order, whatever the arrival order");
    assert_eq!(r.body["body"]["count"], 7);
    assert_eq!(r.body["body"]["nextToken"], Value::Null);
    assert_eq!(events[3]["metadata"], json!({"step": 3}));
    assert!(events
        .iter()
        .all(|e| ids.contains(e["eventId"].as_str().unwrap())));

    let answered = events[2]["eventId"].as_str().unwrap();
    let one = get(&p, &key_a, &format!("/callflow/events/{answered}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["body"]["eventType"], "answered");
    assert!(one.body["body"]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let elsewhere = get(&p, &key_b, &format!("/callflow/events/{answered}")).await;
    assert_eq!(elsewhere.status, 404, "site B cannot read site A's event");

    let b = get(&p, &key_b, "/callflow/events?eventType=failed").await;
    assert_eq!(b.body["body"]["count"], 1);
    let window = get(
        &p,
        &key_a,
        &format!(
            "/callflow/events?callId=call-1&startTime={}&endTime={}",
            ts(base, 1500),
            ts(base, 4500)
        ),
    )
    .await;
    let types: Vec<&str> = window.body["body"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ringing", "answered", "hold"],
        "the time range is inclusive at both ends"
    );

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_through_2500_events_without_gaps_or_repeats_while_events_arrive(
) -> anyhow::Result<()> {
    let env = Env::new("callflow_pages").await?;
    let (key_a, _, _) = three_keys(&env).await?;
    let p = Pipeline::start_with(
        &env,
        &[
            ("CALLFLOW_RATE_PER_SECOND", "100000"),
            ("CALLFLOW_RATE_BURST", "100000"),
        ],
    )
    .await?;
    let base = 1_705_314_600;
    let mut posted = HashSet::new();
    let bodies: Vec<Value> = (0..2500)
        // Pairs of events share a timestamp: the event id breaks the tie.
        .map(|i| json!({"callId": format!("call-{}", i % 7), "eventType": "ringing", "timestamp": ts(base, (i / 2) * 10)}))
        .collect();
    for chunk in bodies.chunks(50) {
        for r in futures::future::join_all(chunk.iter().map(|b| post_event(&p, &key_a, b))).await {
            assert_eq!(r.status, 201, "{}", r.body);
            posted.insert(r.body["body"]["eventId"].as_str().unwrap().to_string());
        }
    }
    stored(&env, 2500).await?;

    let mut seen = Vec::new();
    let mut url = "/callflow/events?limit=1000".to_string();
    let mut pages = Vec::new();
    loop {
        let r = get(&p, &key_a, &url).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let events = r.body["body"]["events"].as_array().unwrap().clone();
        assert_eq!(r.body["body"]["count"], events.len());
        pages.push(events.len());
        seen.extend(events.iter().map(|e| {
            (
                chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis(),
                e["eventId"].as_str().unwrap().to_string(),
            )
        }));
        if pages.len() == 1 {
            // New events arrive between pages: later ones show up at the end, nothing shifts.
            for i in 0..5 {
                let late = json!({"callId": "call-late", "eventType": "ended", "timestamp": ts(base + 3600, i)});
                assert_eq!(post_event(&p, &key_a, &late).await.status, 201);
            }
            stored(&env, 2505).await?;
        }
        match r.body["body"]["nextToken"].as_str() {
            Some(t) => url = format!("/callflow/events?limit=1000&nextToken={t}"),
            None => break,
        }
    }
    assert_eq!(pages, vec![1000, 1000, 505]);
    let ids: HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), seen.len(), "no event repeated");
    assert!(posted.iter().all(|id| ids.contains(id)), "no event missing");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "stable (timestamp, eventId) order"
    );

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_answers_in_the_seed_shape_with_the_logged_request_id() -> anyhow::Result<()> {
    let env = Env::new("callflow_errors").await?;
    let (key_a, key_b, key_c) = three_keys(&env).await?;
    let p = Pipeline::start_with(
        &env,
        &[
            // 5 a second with bursts of 10 (10 per sliding 2 s): room for the error cases below, whatever
            // the machine's speed, and a limit the last loop reaches.
            ("CALLFLOW_RATE_PER_SECOND", "5"),
            ("CALLFLOW_RATE_BURST", "10"),
        ],
    )
    .await?;
    let check = |r: &Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.body["statusCode"], status);
        assert_eq!(r.body["error"]["code"], code, "{}", r.body);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
        let rid = r.body["requestId"].as_str().unwrap();
        assert_eq!(r.headers["x-request-id"].to_str().unwrap(), rid);
        assert!(rid.starts_with("req-"));
    };
    let detail_fields = |r: &Reply| -> Vec<String> {
        r.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap().to_string())
            .collect()
    };

    let r = send(p.http.get(p.url("/callflow/events"))).await;
    check(&r, 401, "MISSING_API_KEY");
    let r = send(
        p.http
            .get(p.url("/callflow/events"))
            .header("x-api-key", "not-a-key-of-ours-at-all"),
    )
    .await;
    check(&r, 401, "INVALID_API_KEY");
    let r = send(p.http.get(p.url("/callflow/events")).bearer_auth(&key_a)).await;
    assert_eq!(r.status, 200, "Bearer works too");
    assert_eq!(r.headers["x-ratelimit-limit"], "5");
    assert!(
        r.headers.contains_key("x-ratelimit-remaining")
            && r.headers.contains_key("x-ratelimit-reset")
    );

    let r = post_event(
        &p,
        &key_b,
        &json!({"eventType": "exploded", "timestamp": "noon"}),
    )
    .await;
    check(&r, 400, "VALIDATION_ERROR");
    assert_eq!(detail_fields(&r), ["callId", "eventType", "timestamp"]);
    assert!(r.body["error"]["details"][1]["message"]
        .as_str()
        .unwrap()
        .contains("initiated, ringing, answered, hold, resumed, transferred, ended, failed"));
    assert!(
        r.headers.contains_key("x-ratelimit-remaining"),
        "rate-limit headers on errors too"
    );
    let logged_id = r.body["requestId"].as_str().unwrap().to_string();

    let r = send(
        p.http
            .post(p.url("/callflow/events"))
            .header("x-api-key", &key_b)
            .body("callId=1"),
    )
    .await;
    check(&r, 400, "VALIDATION_ERROR");
    assert_eq!(detail_fields(&r), ["Content-Type"]);
    let r = get(&p, &key_b, "/callflow/events?limit=5000").await;
    check(&r, 400, "VALIDATION_ERROR");
    assert_eq!(detail_fields(&r), ["limit"]);
    let r = get(&p, &key_b, "/callflow/events/not-an-id").await;
    check(&r, 400, "VALIDATION_ERROR");
    let r = get(
        &p,
        &key_b,
        "/callflow/events/evt-0190a0b0-0000-7000-8000-000000000001",
    )
    .await;
    check(&r, 404, "NOT_FOUND");

    // Page tokens: a forged one, and a real one replayed with other filters.
    let r = get(&p, &key_c, "/callflow/events?nextToken=abc.def").await;
    check(&r, 400, "VALIDATION_ERROR");
    assert_eq!(detail_fields(&r), ["nextToken"]);
    for i in 0..3 {
        post_event(
            &p,
            &key_c,
            &json!({"callId": "c", "eventType": "ended", "timestamp": ts(1_705_314_600, i)}),
        )
        .await;
    }
    stored(&env, 3).await?;
    let r = get(&p, &key_c, "/callflow/events?callId=c&limit=1").await;
    let token = r.body["body"]["nextToken"].as_str().unwrap().to_string();
    let r = get(
        &p,
        &key_c,
        &format!("/callflow/events?callId=other&nextToken={token}"),
    )
    .await;
    check(&r, 400, "VALIDATION_ERROR");
    let mut tampered = token.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let r = get(
        &p,
        &key_c,
        &format!(
            "/callflow/events?callId=c&nextToken={}",
            String::from_utf8(tampered).unwrap()
        ),
    )
    .await;
    check(&r, 400, "VALIDATION_ERROR");

    // Past the key's burst: 429 with Retry-After, while another key still passes.
    let mut limited = None;
    for _ in 0..12 {
        let r = get(&p, &key_a, "/callflow/events?limit=1").await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the 5/s key was rate limited");
    check(&r, 429, "RATE_LIMITED");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("retry-after"));

    let log = std::fs::read_to_string(&p.edge.as_ref().unwrap().log)?;
    assert!(
        log.contains(&logged_id),
        "the error's requestId is in the edge log"
    );

    drop(p);
    env.cleanup().await
}
