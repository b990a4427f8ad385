//! Analytics at volume: 10 million product events of one site over the last 7 days (generated inside
//! ClickHouse, 1 % of them stored twice, as a redelivered batch would be), then p50 / p95 of what a client
//! waits for over HTTP from a release edge: seed 003 `GET /api/v1/analytics/metrics` (24h, 7d) uncached and
//! cached, and seed 002 `GET /api/v1/analytics/events` (24h, 7d). Baseline, same run, same window: the
//! cheapest question ClickHouse can answer about those rows (`SELECT count()` over the site's window, over
//! HTTP), so the ratio is what deduplicated, bucketed, ranked answers cost on top of reading the range.
//! "Uncached" is proven: after each such request the edge's cache entry is deleted, and it must have existed.
//! Run: `deploy/local/bench`, or `cargo bench -p opsmantik-e2e --bench analytics` (`BENCH_SMOKE=1`).

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use opsmantik_e2e::bench::{percentile, scale, start_server, Row, Server};
use opsmantik_e2e::{Binary, Env};

const WEEK_MS: u64 = 7 * 24 * 3600 * 1000;

/// `n` events of `site` spread evenly over the last 7 days (5 event names, 50,000 users, sessions of 20
/// events), plus every 100th one inserted a second time with the same id and timestamp.
async fn load(env: &Env, site: &str, n: u64) -> anyhow::Result<()> {
    let columns = "site, timestamp_ms, event_id, event_name, user_id, session_id, metadata_json, \
                   payload_json, priority, idempotency_key, dialect, received_at_ms";
    let now_ms = opsmantik_e2e::now_ms();
    let select = format!(
        "SELECT '{site}', {now_ms} - intDiv(number * {WEEK_MS}, {n}), concat('ev-', toString(number)), \
         ['page_view','click','signup','purchase','search'][number % 5 + 1], \
         concat('u', toString(intHash32(number) % 50000)), concat('s', toString(intDiv(number, 20))), \
         '{{\"page\":\"/pricing\"}}', '', 1, '', 'event_processor', {now_ms} FROM numbers({n})"
    );
    let insert = format!("INSERT INTO product_events ({columns}) {select}");
    let ch = env.ch();
    ch.query(&insert).execute().await?;
    ch.query(&format!("{insert} WHERE number % 100 = 0"))
        .execute()
        .await?;
    Ok(())
}

/// Hands out read keys of the site, a new one before the analytics rate of the current one runs out.
struct Keys<'a> {
    env: &'a Env,
    site: &'a opsmantik_ingest::sites::Site,
    current: String,
    used: u32,
    per_key: u32,
}

impl<'a> Keys<'a> {
    async fn new(
        env: &'a Env,
        site: &'a opsmantik_ingest::sites::Site,
        per_key: u32,
    ) -> anyhow::Result<Self> {
        let current = env.create_key(site).await?;
        Ok(Self {
            env,
            site,
            current,
            used: 0,
            per_key,
        })
    }

    async fn next(&mut self) -> anyhow::Result<String> {
        if self.used == self.per_key {
            self.current = self.env.create_key(self.site).await?;
            self.used = 0;
        }
        self.used += 1;
        Ok(self.current.clone())
    }
}

/// Deletes the edge's cached metrics answers of this test; how many there were.
async fn drop_cache(env: &Env) -> anyhow::Result<usize> {
    let mut c = env.redis()?.conn().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*cache:metrics*", env.name))
        .query_async(&mut c)
        .await?;
    if !keys.is_empty() {
        redis::cmd("DEL")
            .arg(&keys)
            .query_async::<()>(&mut c)
            .await?;
    }
    Ok(keys.len())
}

/// Milliseconds each of `samples` GETs of `path` took (sorted); every answer must be 200.
async fn timed_gets(
    http: &reqwest::Client,
    edge: &Server,
    path: &str,
    keys: &mut Keys<'_>,
    samples: usize,
    uncached: Option<&Env>,
) -> anyhow::Result<Vec<f64>> {
    let mut took = Vec::with_capacity(samples);
    for _ in 0..samples {
        let key = keys.next().await?;
        let started = Instant::now();
        let answer = http
            .get(format!("{}{path}", edge.base))
            .header("x-api-key", key)
            .send()
            .await?;
        let status = answer.status();
        let body = answer.bytes().await?;
        took.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            status == 200,
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if let Some(env) = uncached {
            anyhow::ensure!(drop_cache(env).await? == 1, "{path} was not cached");
        }
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

/// Milliseconds ClickHouse takes to count the site's rows of the last `secs` (sorted).
async fn baseline(env: &Env, site: &str, secs: u64, samples: usize) -> anyhow::Result<Vec<f64>> {
    let sql = format!(
        "SELECT count() FROM product_events WHERE site = '{site}' \
         AND event_time >= toDateTime(toUnixTimestamp(now()) - {secs})"
    );
    // One client, so every sample reuses its connection as the edge's client does.
    let ch = env.ch();
    let mut took = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        ch.query(&sql).fetch_one::<u64>().await?;
        took.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

/// Waits until the edge's sealer has sealed every quarter-hour of the site (it seals what has had no data
/// for 10 s, every 15 s); how long that took.
async fn wait_sealed(env: &Env, site: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let groups = env
        .count(&format!(
            "SELECT count() FROM (SELECT DISTINCT quarter, event_name FROM product_quarters WHERE site = '{site}')"
        ))
        .await?;
    loop {
        let sealed = env
            .count(&format!(
                "SELECT count() FROM (SELECT DISTINCT quarter, event_name FROM product_quarter_seals WHERE site = '{site}')"
            ))
            .await?;
        if sealed >= groups {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            started.elapsed().as_secs() < 180,
            "sealed {sealed} of {groups} quarter-hours"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn row(path: String, ours: &[f64], base: &[f64], note: &str) -> Row {
    Row {
        path,
        ours: percentile(ours, 0.95),
        baseline: Some(percentile(base, 0.95)),
        unit: "ms p95",
        p50_ms: Some(percentile(ours, 0.5)),
        p99_ms: Some(percentile(ours, 0.99)),
        note: note.to_string(),
        ..Row::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::new("bench_analytics").await?;
    let site = env.create_site("analytics", &[]).await?;
    let n: u64 = scale(10_000_000, 200_000);
    load(&env, &site.public_id, n).await?;
    let mut vars = env.vars();
    vars.push(("RUST_LOG".into(), "warn".into()));
    let edge = start_server(Binary::Edge, &vars, &env.name).await?;
    let sealing = wait_sealed(&env, &site.public_id).await?;
    println!(
        "# loaded {n} events; the edge sealed their quarter-hours {sealing:.1} s after it started"
    );
    let http = reqwest::Client::new();
    let samples = scale(20, 3);
    let volume = format!("{:.1}M events", n as f64 / 1e6);
    // Seed 003 reads: 60 a minute per key; seed 002 counts: 10.
    let (mut reads, mut counts) = (
        Keys::new(&env, &site, 50).await?,
        Keys::new(&env, &site, 8).await?,
    );
    for (period, secs) in [("24h", 86_400), ("7d", 604_800)] {
        let base = baseline(&env, &site.public_id, secs, samples).await?;
        let metrics = format!("/api/v1/analytics/metrics?timeRange={period}");
        drop_cache(&env).await?; // the previous period's cached answer
        let uncached = timed_gets(&http, &edge, &metrics, &mut reads, samples, Some(&env)).await?;
        row(
            format!("analytics metrics {period}, uncached"),
            &uncached,
            &base,
            &volume,
        )
        .report();
        timed_gets(&http, &edge, &metrics, &mut reads, 1, None).await?; // fills the cache
        let cached = timed_gets(&http, &edge, &metrics, &mut reads, samples, None).await?;
        row(
            format!("analytics metrics {period}, cached"),
            &cached,
            &base,
            &volume,
        )
        .report();
        let events = format!("/api/v1/analytics/events?period={period}");
        let counted = timed_gets(&http, &edge, &events, &mut counts, samples, None).await?;
        row(
            format!("seed 002 counts {period} (no cache)"),
            &counted,
            &base,
            &volume,
        )
        .report();
    }
    drop(edge);
    env.cleanup().await
}
