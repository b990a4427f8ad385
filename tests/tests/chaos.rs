//! The chaos suite: continuous known traffic while the edge, the sessionizer, the call-matcher, the ClickHouse
//! sink, the overlay and the broker itself are each killed with SIGKILL and restarted. After the pipeline
//! drains, ClickHouse holds exactly the ground truth (deduplicated reads), the overlay is within its documented
//! error, nothing is in the DLQ, and no acknowledged hit is missing.
//!
//! Shortened by default (CI); `CHAOS_VISITORS`, `CHAOS_SECONDS` and `CHAOS_RATE` scale it up (the full run's
//! figures are in docs/reliability.md).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::traffic::{self, Plan, Truth};
use opsmantik_e2e::{wait_for, Binary, Env, Pipeline};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (second of the run, what happens); restarts of consumers come one session timeout after their kill, as a
/// supervisor's restart delay would (docs/local-stack.md).
fn schedule(seconds: u64, session_timeout_s: u64) -> Vec<(u64, Step)> {
    let at = |fraction: u64| seconds * fraction / 100;
    let mut steps = vec![];
    for (i, stage) in [
        Binary::Sessionizer,
        Binary::CallMatcher,
        Binary::ClickHouseSink,
        Binary::RedisOverlay,
    ]
    .into_iter()
    .enumerate()
    {
        let kill = at(10 + 7 * i as u64);
        steps.push((kill, Step::Kill(stage)));
        steps.push((kill + session_timeout_s + 1, Step::Start(stage)));
    }
    steps.push((at(65), Step::RestartEdge));
    steps.push((at(80), Step::RestartBroker));
    steps.sort_by_key(|(t, _)| *t);
    steps
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Kill(Binary),
    Start(Binary),
    RestartEdge,
    RestartBroker,
}

async fn count(env: &Env, sql: &str) -> Result<u64, String> {
    env.count(sql).await.map_err(|e| e.to_string())
}

/// Waits until ClickHouse holds every acknowledged hit, session, call and product event.
async fn drained(env: &Env, truth: &Truth, visitors: u64) -> anyhow::Result<()> {
    let hits = truth.total_hits();
    wait_for("the pipeline to drain into ClickHouse", Duration::from_secs(240), || async {
        let seen = (
            count(env, "SELECT uniqExact(event_id) FROM events").await?,
            count(env, "SELECT count() FROM sessions FINAL").await?,
            count(env, "SELECT toUInt64(sum(events)) FROM sessions FINAL").await?,
            count(env, "SELECT count() FROM calls FINAL").await?,
            count(env, "SELECT uniqExact(event_id) FROM product_events").await?,
        );
        let want = (hits, visitors, hits, truth.clicks, truth.events);
        if seen == want {
            Ok(())
        } else {
            Err(format!("(events, sessions, events in sessions, calls, product events): seen {seen:?}, want {want:?}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stage_and_the_broker_killed_in_turn_lose_nothing_and_count_nothing_twice(
) -> anyhow::Result<()> {
    let visitors = setting("CHAOS_VISITORS", 60);
    let seconds = setting("CHAOS_SECONDS", 30);
    let rate = setting("CHAOS_RATE", 80);
    let mut broker = PrivateBroker::start("chaos")?;
    let env = Env::on_brokers("chaos", &broker.brokers()).await?;
    let (site, key) = env.site_with_key("chaos").await?;
    let mut p = Pipeline::start(&env).await?;
    let plan = Plan {
        base_url: p.base_url.clone(),
        site: site.public_id.clone(),
        key: key.clone(),
        visitors: visitors as usize,
        seconds,
        hits_per_second: rate,
        click_every: 10,
        // At most ~10 event API events a second: the key's default rate is 1,000 a minute.
        event_every: 25.max(rate as usize / 10),
    };
    let sending = tokio::spawn(traffic::run(plan));
    let started = tokio::time::Instant::now();
    for (second, step) in schedule(seconds, env.kafka.session_timeout_ms / 1000) {
        tokio::time::sleep_until(started + Duration::from_secs(second)).await;
        eprintln!("chaos: {second:>3} s {step:?}");
        match step {
            Step::Kill(stage) => p.kill_stage(stage),
            Step::Start(stage) => p.start_stage(stage),
            Step::RestartEdge => p.restart_edge().await?,
            Step::RestartBroker => broker.restart()?,
        }
    }
    let truth = sending.await??;
    eprintln!(
        "chaos: traffic done in {:?}: {} hits, {} clicks, {} events, {} requests retried",
        truth.took,
        truth.total_hits(),
        truth.clicks,
        truth.events,
        truth.retried
    );
    let traffic_done = std::time::Instant::now();
    drained(&env, &truth, visitors).await?;
    eprintln!(
        "chaos: drained {:?} after the traffic",
        traffic_done.elapsed()
    );
    exact(&env, &truth).await?;
    overlay_within_its_error(&p, &site.public_id, &key, &truth).await?;
    drop(p);
    env.cleanup().await
}

/// Per visitor one session holding exactly the hits the edge acknowledged for it; every click matched;
/// nothing dead-lettered.
async fn exact(env: &Env, truth: &Truth) -> anyhow::Result<()> {
    let rows: Vec<(String, i64)> = env
        .ch()
        .query("SELECT visitor, events FROM sessions FINAL ORDER BY visitor")
        .fetch_all()
        .await?;
    for (visitor, events) in rows {
        let v: usize = visitor.trim_start_matches("fp").parse()?;
        assert_eq!(events as u64, truth.hits[v], "hits of {visitor}");
    }
    let matched = count(env, "SELECT countIf(session_id != '') FROM calls FINAL").await;
    assert_eq!(
        matched,
        Ok(truth.clicks),
        "every click matched to its session"
    );
    let dead = count(env, "SELECT count() FROM dead_letters").await;
    assert_eq!(dead, Ok(0), "nothing in the DLQ");
    Ok(())
}

/// The overlay counts with HyperLogLog: within 2% of the exact count (docs/tracking.md says about 1%).
async fn overlay_within_its_error(
    p: &Pipeline,
    site: &str,
    key: &str,
    truth: &Truth,
) -> anyhow::Result<()> {
    let url = format!("/api/stats/realtime?siteId={site}");
    let (status, stats) = p.get_as(&url, Some(key)).await?;
    assert_eq!(status, 200, "{stats}");
    let overlay = stats["data"]["events"].as_f64().unwrap_or(0.0);
    let exact = truth.total_hits() as f64;
    assert!(
        (overlay - exact).abs() <= exact * 0.02 + 1.0,
        "overlay {overlay} vs {exact}"
    );
    Ok(())
}
