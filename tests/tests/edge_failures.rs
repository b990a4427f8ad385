//! The real edge binary when things go wrong: bad input, an unreachable broker, an unreachable ClickHouse.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::{Duration, Instant};

use opsmantik_e2e::{free_port, wait_for, Binary, Service};
use opsmantik_ingest::sites::{self, NewSite};
use opsmantik_runtime::redis::{RedisConfig, Store};
use serde_json::{json, Value};

/// A lone edge with a site and an API key of its own.
struct Lone {
    _service: Service,
    base: String,
    site: String,
    key: String,
}

/// Starts a lone edge (no topics or database needed) with `extra` environment variables.
async fn start_edge(brokers: &str, tag: &str, extra: &[(&str, &str)]) -> anyhow::Result<Lone> {
    let port = free_port();
    let prefix = format!("{tag}_{}:", uuid::Uuid::new_v4().simple());
    let store = Store::new(&RedisConfig {
        url: opsmantik_e2e::redis_url(),
        key_prefix: prefix.clone(),
    })?;
    let new = NewSite {
        public_id: None,
        name: tag.into(),
        domain: "x.example".into(),
        allowed_origins: vec![],
        time_zone: None,
    };
    let site = sites::create(&store, new).await?;
    let key = unlimited_key(&store, &site).await?;
    let site = site.public_id;
    let mut vars: Vec<(String, String)> = vec![
        ("KAFKA_BROKERS".into(), brokers.into()),
        ("TOPIC_NAMESPACE".into(), tag.into()),
        ("EDGE_ADDR".into(), format!("127.0.0.1:{port}")),
        ("REDIS_KEY_PREFIX".into(), prefix),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let service = Service::start(Binary::Edge, &vars, tag);
    let base = format!("http://127.0.0.1:{port}");
    let health = format!("{base}/api/health");
    wait_for("edge health", Duration::from_secs(30), || {
        let url = health.clone();
        async move {
            reqwest::get(&url)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    Ok(Lone {
        _service: service,
        base,
        site,
        key,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_down_means_503_within_5_seconds_never_200() -> anyhow::Result<()> {
    // Nothing listens on this port: the broker is "down".
    let dead_broker = format!("127.0.0.1:{}", free_port());
    let edge = start_edge(&dead_broker, "e2e_broker_down", &[]).await?;
    let (base, site) = (edge.base.clone(), edge.site.clone());
    let started = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{base}/api/sync"))
        .json(&json!({"s": site, "u": "https://x/", "sid": "S"}))
        .send()
        .await?;
    let elapsed = started.elapsed();
    assert_eq!(r.status().as_u16(), 503);
    assert!(
        elapsed < Duration::from_millis(5500),
        "answered after {elapsed:?}"
    );
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "broker_unavailable");

    let health = reqwest::get(format!("{base}/api/health")).await?;
    assert_eq!(health.status().as_u16(), 503);
    let health: Value = health.json().await?;
    assert_eq!(
        (
            health["status"].as_str(),
            health["services"]["broker"]["status"].as_str()
        ),
        (Some("unhealthy"), Some("down"))
    );
    assert_eq!(
        reqwest::get(format!("{base}/api/ready"))
            .await?
            .status()
            .as_u16(),
        503
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_400_naming_the_reason() -> anyhow::Result<()> {
    let edge = start_edge(&opsmantik_e2e::brokers(), "e2e_bad_input", &[]).await?;
    let base = edge.base.clone();
    let http = reqwest::Client::new();
    let url = format!("{base}/api/sync");
    let big = format!(
        r#"{{"s":"a","u":"x","sid":"b","meta":{{"pad":"{}"}}}}"#,
        "x".repeat(65 * 1024)
    );
    let cases = [
        ("{\"s\":", "invalid_json", "not valid JSON"),
        (r#"{"u":"x","sid":"b"}"#, "missing_field", "`s`"),
        (r#"{"s":"a","u":"x"}"#, "missing_field", "`sid`"),
        (r#"{"s":"a","sid":"b"}"#, "missing_field", "`u`"),
        (r#"{"s":"a","u":"x","sid":["b"]}"#, "invalid_field", "`sid`"),
        (big.as_str(), "payload_too_large", "size limit"),
        // Each of these used to be stored changed, or stored at all.
        (
            r#"{"s":"a","s":"b","u":"x","sid":"c"}"#,
            "invalid_json",
            "duplicate key `s`",
        ),
        (
            r#"{"s":"a","u":"x","sid":"c","ev":9007199254740993}"#,
            "invalid_json",
            "as a string",
        ),
        (
            r#"{"s":"a","u":"x","sid":"c\u0000"}"#,
            "invalid_field",
            "`sid`",
        ),
        (
            r#"{"s":"a\u202e","u":"x","sid":"c"}"#,
            "invalid_field",
            "`s`",
        ),
        (
            r#"{"s":"a","u":"x","sid":"c","sm":"2026-13-45"}"#,
            "invalid_field",
            "`sm`",
        ),
    ];
    for (body, code, mentions) in cases {
        let r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 400, "{code}");
        let json: Value = r.json().await?;
        assert_eq!(json["error"]["code"], code);
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(mentions),
            "{json}"
        );
    }
    let r = http.get(&url).send().await?;
    assert_eq!(r.status().as_u16(), 405);

    // The event API: a time storage cannot hold, a duplicate key, an id with a NUL.
    let events = format!("{base}/api/v1/events");
    for (body, field) in [
        (
            r#"{"eventType":"a","userId":"u","sessionId":"s","timestamp":"2106-01-02T00:00:00Z"}"#,
            "timestamp",
        ),
        (r#"{"event_name":"a","event_name":"b"}"#, "body"),
        (r#"{"event_name":"a","user_id":"u\u0000"}"#, "user_id"),
    ] {
        let r = http
            .post(&events)
            .header("x-api-key", &edge.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 400, "{body}");
        let json: Value = r.json().await?;
        assert!(json.to_string().contains(field), "{body}: {json}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_down_means_analytics_error_not_wrong_numbers() -> anyhow::Result<()> {
    let dead_clickhouse = format!("http://127.0.0.1:{}", free_port());
    let edge = start_edge(
        &opsmantik_e2e::brokers(),
        "e2e_ch_down",
        &[("CLICKHOUSE_URL", &dead_clickhouse)],
    )
    .await?;
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/api/v1/analytics/metrics?timeRange=1h",
            edge.base
        ))
        .header("x-api-key", &edge.key)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 503);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "ANALYTICS_ERROR");
    let r = http
        .get(format!("{}/api/v1/analytics/events?period=1h", edge.base))
        .header("x-api-key", &edge.key)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 503);
    let body: Value = r.json().await?;
    assert_eq!(body["error"], "analytics_error");
    Ok(())
}

/// A key of `site` without a rate limit (an admin's grant), for floods.
async fn unlimited_key(
    store: &opsmantik_runtime::redis::Store,
    site: &sites::Site,
) -> anyhow::Result<String> {
    use opsmantik_ingest::auth::keys::{create, NewKey, Scope};
    let new = NewKey {
        site_public_id: &site.public_id,
        site_id: &site.id,
        user_id: "admin",
        name: "test",
        rate_per_minute: 0,
        scopes: &Scope::ALL,
    };
    Ok(create(store, new).await?.0)
}

/// Reads until the server closes the connection or `within` passes; returns what came and whether it
/// closed.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> (String, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_and_requests_in_flight_are_bounded() -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let edge = start_edge(
        &opsmantik_e2e::brokers(),
        "e2e_slow_clients",
        &[
            ("EDGE_HEADER_READ_TIMEOUT_MS", "500"),
            ("EDGE_BODY_READ_TIMEOUT_MS", "1500"),
            ("EDGE_MAX_IN_FLIGHT", "1"),
        ],
    )
    .await?;
    let addr = edge.base.trim_start_matches("http://").to_string();

    // A connection that sends nothing, and one with half a request head: both closed after the header
    // timeout, not kept open.
    let mut silent = tokio::net::TcpStream::connect(&addr).await?;
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection stays open");
    let started = Instant::now();
    let mut half_head = tokio::net::TcpStream::connect(&addr).await?;
    half_head
        .write_all(b"POST /api/sync HTTP/1.1\r\nHost: edge\r\n")
        .await?;
    let (_, closed) = read_until_closed(&mut half_head, Duration::from_secs(5)).await;
    assert!(
        closed,
        "a connection holding half a request head stays open"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));

    // Half a body holds the one permit; meanwhile another request is turned away with 503.
    let mut half_body = tokio::net::TcpStream::connect(&addr).await?;
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: edge\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"event_",
        edge.key
    );
    half_body.write_all(head.as_bytes()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let me = format!("{}/api/auth/me", edge.base);
    let r = reqwest::get(&me).await?;
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "overloaded");
    let health = reqwest::get(format!("{}/api/live", edge.base)).await?;
    assert_eq!(
        health.status().as_u16(),
        200,
        "liveness is outside the limit"
    );

    // The half body times out with a 4xx; the permit is free again.
    let (answer, _) = read_until_closed(&mut half_body, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    let r = reqwest::get(&me).await?;
    assert_eq!(r.status().as_u16(), 401, "answered again (no credentials)");
    Ok(())
}
