//! Rate limits through real edges sharing one Redis: a key's event rate holds across two edges, and a
//! flood of made-up keys is cut off per client IP (while a valid key from one address is not) without
//! writing a log line per refusal.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::http::send;
use opsmantik_e2e::{Env, Pipeline};
use opsmantik_ingest::auth::keys::{self, NewKey, Scope};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_keys_event_rate_holds_across_two_edges() -> anyhow::Result<()> {
    let env = Env::new("key_rate").await?;
    let site = env.create_site("key-rate", &[]).await?;
    let new = NewKey {
        site_public_id: &site.public_id,
        site_id: &site.id,
        user_id: "owner",
        name: "twenty a minute",
        rate_per_minute: 20,
        scopes: &Scope::ALL,
    };
    let key = keys::create(&env.redis()?, new).await?.0;
    let p = Pipeline::start(&env).await?;
    let (_edge2, base2) = p.start_extra_edge().await?;
    let post = |base: String| {
        let req = p
            .http
            .post(format!("{base}/api/v1/events"))
            .header("x-api-key", &key)
            .json(&json!({ "event_name": "e" }));
        async move { send(req).await }
    };
    for _ in 0..12 {
        assert_eq!(post(p.base_url.clone()).await.status, 200);
    }
    // Both edges share their counts every 250 ms.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut accepted = 0;
    let mut refused = None;
    for _ in 0..12 {
        let r = post(base2.clone()).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        accepted += 1;
    }
    // 12 used on the first edge; the sliding window may have let a part of a previous window go, never more.
    assert_eq!(
        accepted, 8,
        "the second edge knows the first one's 12 events"
    );
    let r = refused.unwrap();
    assert_eq!(r.body["error"], "rate_limited");
    assert!(r.headers["retry-after"].to_str()?.parse::<u64>()? >= 1);
    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_made_up_keys_is_cut_off_per_ip_and_not_logged_line_by_line(
) -> anyhow::Result<()> {
    let env = Env::new("key_flood").await?;
    let (_, key) = env.site_with_key("flood").await?;
    let p = Pipeline::start_with(&env, &[("RATE_LIMIT_REFUSED_PER_MINUTE", "50")]).await?;
    // A server with a valid key is limited by its key only: 80 requests from one address pass.
    for _ in 0..80 {
        let r = send(
            p.http
                .post(p.url("/api/v1/events"))
                .header("x-api-key", &key)
                .json(&json!({ "event_name": "e" })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let log = p.edge.as_ref().unwrap().log.clone();
    let before = std::fs::metadata(&log)?.len();
    let mut statuses = Vec::new();
    for i in 0..300 {
        let r = send(
            p.http
                .post(p.url("/api/v1/events"))
                .header("x-api-key", format!("evp_made_up_{i}"))
                .json(&json!({ "event_name": "e" })),
        )
        .await;
        statuses.push(r.status);
    }
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(unauthorized, 50, "the first 50 refusals are looked at");
    assert_eq!(limited, 250, "the rest are cut off before any key lookup");
    let grown = std::fs::metadata(&log)?.len() - before;
    assert!(
        grown < 2_000,
        "300 refusals wrote {grown} bytes of log (one line each would be ~30 KB)"
    );
    // Counted instead: refusals by reason in the edge's metrics.
    let metrics = p.http.get(p.url("/metrics")).send().await?.text().await?;
    let counted = |reason: &str| {
        metrics.lines().any(|l| {
            l.starts_with("edge_requests_rejected_total")
                && l.contains(&format!("reason=\"{reason}\""))
        })
    };
    assert!(
        counted("rate_limited") && counted("INVALID_API_KEY"),
        "{metrics}"
    );
    drop(p);
    env.cleanup().await
}
