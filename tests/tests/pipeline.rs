//! One tracker hit all the way through: HTTP → broker → sessionizer → broker → ClickHouse sink → ClickHouse
//! → read endpoint, with the real binaries and the local stack.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::{hit, wait_for, Env, Pipeline};

const MIN: i64 = 60_000;
const LANDING: Duration = Duration::from_secs(90);

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct SessionRow {
    visitor: String,
    session_id: String,
    client_session_id: String,
    events: i64,
    pageviews: i64,
    duration_sec: i64,
    entry_url: String,
    exit_url: String,
    lead_score: i32,
    lead_reasons: Vec<String>,
}

async fn wait_for_counts(env: &Env, sessions: u64, events: u64) -> anyhow::Result<()> {
    wait_for("sessions and events in ClickHouse", LANDING, || async {
        let s = env
            .count("SELECT count() FROM sessions FINAL")
            .await
            .map_err(|e| e.to_string())?;
        let e = env
            .count("SELECT uniqExact(event_id) FROM events")
            .await
            .map_err(|e| e.to_string())?;
        // Sessions reach their final version last: wait for the event totals inside them too.
        let inside = env
            .count("SELECT toUInt64(sum(events)) FROM sessions FINAL")
            .await
            .map_err(|e| e.to_string())?;
        if (s, e, inside) == (sessions, events, events) {
            Ok(())
        } else {
            Err(format!(
                "sessions={s} events={e} events_in_sessions={inside}"
            ))
        }
    })
    .await
}

/// Visitor A browses three pages within ten minutes: one session.
/// Visitor B comes back after 32 minutes with the same `sid`: two sessions, the second with a derived id.
#[tokio::test(flavor = "multi_thread")]
async fn two_visitors_become_sessions_events_and_a_summary() -> anyhow::Result<()> {
    let env = Env::new("two_visitors").await?;
    let (site, key) = env.site_with_key("two_visitors").await?;
    let site = site.public_id.as_str();
    let p = Pipeline::start(&env).await?;
    let journey = [
        hit(
            site,
            "fpA",
            "SA",
            "https://shop.example/?utm_source=google&gclid=G1",
            20 * MIN,
            "a1",
        ),
        hit(
            site,
            "fpA",
            "SA",
            "https://shop.example/products",
            15 * MIN,
            "a2",
        ),
        hit(
            site,
            "fpA",
            "SA",
            "https://shop.example/contact",
            10 * MIN,
            "a3",
        ),
        hit(site, "fpB", "SB", "https://shop.example/", 60 * MIN, "b1"),
        hit(
            site,
            "fpB",
            "SB",
            "https://shop.example/again",
            28 * MIN,
            "b2",
        ),
    ];
    for h in &journey {
        let (status, body) = p.post("/api/sync", h).await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"ok": true, "score": 0, "status": "synced", "count": 1})
        );
    }
    wait_for_counts(&env, 3, 5).await?;

    let rows: Vec<SessionRow> = env
        .ch()
        .query("SELECT ?fields FROM sessions FINAL WHERE site = ? ORDER BY visitor, started_at")
        .bind(site)
        .fetch_all()
        .await?;
    assert_eq!(rows.len(), 3);
    let a = &rows[0];
    assert_eq!(
        (
            a.visitor.as_str(),
            a.session_id.as_str(),
            a.events,
            a.pageviews
        ),
        ("fpA", "SA", 3, 3)
    );
    assert!(
        (599..=601).contains(&a.duration_sec),
        "10 minutes between first and last page: {}",
        a.duration_sec
    );
    assert_eq!(
        a.entry_url,
        "https://shop.example/?utm_source=google&gclid=G1"
    );
    assert_eq!(a.exit_url, "https://shop.example/contact");
    let (b1, b2) = (&rows[1], &rows[2]);
    assert_eq!((b1.session_id.as_str(), b1.events), ("SB", 1));
    assert_ne!(b2.session_id, "SB", "a 32-minute gap splits the session");
    assert_eq!((b2.client_session_id.as_str(), b2.events), ("SB", 1));

    let (score, reasons) = (a.lead_score, a.lead_reasons.clone());
    assert_eq!(
        score,
        30 + 20 + 10,
        "paid click, 10 minutes engaged, 3 pages: {reasons:?}"
    );
    assert_eq!(
        reasons,
        ["paid_click:+30", "engagement:+20", "pageviews:+10"]
    );

    let utm: String = env
        .ch()
        .query("SELECT utm_source FROM sessions FINAL WHERE session_id = 'SA'")
        .fetch_one()
        .await?;
    assert_eq!(utm, "google");

    let summary_url = format!("/api/v1/sites/{site}/summary");
    let (status, summary) = p.get(&summary_url).await?;
    assert_eq!(status, 401, "no credentials, no counts: {summary}");
    let (status, summary) = p.get_as(&summary_url, Some(&key)).await?;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["site"], site);
    assert_eq!(summary["events"], 5);
    assert_eq!(summary["pageviews"], 5);
    assert_eq!(summary["sessions"], 3);
    assert_eq!(summary["visitors"], 2);
    // The overview's parts: every hour of the last day, the events spread over them; where sessions came from.
    let series = summary["series"].as_array().unwrap();
    assert_eq!(
        (summary["bucket"].as_str(), series.len()),
        (Some("hour"), 25)
    );
    let in_series: u64 = series.iter().map(|b| b["events"].as_u64().unwrap()).sum();
    assert_eq!(in_series, 5, "{summary}");
    // Where sessions came from: the UTM source, else the referrer's host (most sessions first).
    assert_eq!(
        summary["sources"],
        serde_json::json!([{ "value": "www.google.com", "sessions": 2 }, { "value": "google", "sessions": 1 }])
    );
    let (status, other) = p
        .get_as("/api/v1/sites/another_site/summary", Some(&key))
        .await?;
    assert_eq!(
        (status, other["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    // The visitor's next hit is answered with its session's current score (from the visitor index, which the
    // overlay keeps from the sessions topic: it may trail ClickHouse by a moment).
    let redis = env.redis()?;
    wait_for("the visitor index", LANDING, || async {
        match opsmantik_runtime::visitor_index::read(&redis, site, "fpA").await {
            Ok(Some(e)) if e.lead_score == 60 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    let (_, next) = p
        .post(
            "/api/sync",
            &hit(
                site,
                "fpA",
                "SA",
                "https://shop.example/more",
                5 * MIN,
                "a4",
            ),
        )
        .await?;
    assert_eq!(next["score"], 60);

    drop(p);
    env.cleanup().await
}

/// The sink is killed (SIGKILL) mid-stream and restarted: every hit lands exactly once as far as any
/// deduplicating reader can tell, and none is lost.
#[tokio::test(flavor = "multi_thread")]
async fn killing_the_sink_mid_stream_loses_nothing_and_counts_nothing_twice() -> anyhow::Result<()>
{
    let env = Env::new("sink_kill").await?;
    let (site, key) = env.site_with_key("sink_kill").await?;
    let site = site.public_id.as_str();
    let mut p = Pipeline::start(&env).await?;
    const VISITORS: usize = 20;
    const PER_VISITOR: usize = 20;
    const TOTAL: usize = VISITORS * PER_VISITOR;
    let hits: Vec<_> = (0..PER_VISITOR)
        .flat_map(|round| {
            (0..VISITORS).map(move |v| {
                let i = round * VISITORS + v;
                // Each visitor's hits one minute apart, oldest first: one session per visitor.
                let ago = (PER_VISITOR - round) as i64 * MIN;
                hit(
                    site,
                    &format!("fp{v}"),
                    &format!("S{v}"),
                    "https://shop.example/",
                    ago,
                    &format!("hit-{i}"),
                )
            })
        })
        .collect();

    let (first, second) = hits.split_at(TOTAL / 2);
    post_all(&p, first).await?;
    wait_for("some rows landed before the kill", LANDING, || async {
        match env.count("SELECT count() FROM events").await {
            Ok(n) if n > 0 => Ok(n),
            Ok(n) => Err(format!("{n} rows")),
            Err(e) => Err(e.to_string()),
        }
    })
    .await?;
    p.sink.take().expect("sink running").kill();
    post_all(&p, second).await?;
    // The local broker (tansu 0.6) hands a dead member's partitions to a newcomer only if the newcomer joins
    // after the dead member's session expired; a supervisor's restart delay does the same in production.
    tokio::time::sleep(Duration::from_millis(env.kafka.session_timeout_ms + 1_000)).await;
    p.restart_sink();

    wait_for_counts(&env, VISITORS as u64, TOTAL as u64).await?;
    assert_eq!(
        env.count("SELECT count() FROM events FINAL").await?,
        TOTAL as u64
    );
    let labels_once = env
        .count("SELECT count() FROM (SELECT label FROM events FINAL GROUP BY label HAVING count() = 1)")
        .await?;
    assert_eq!(
        labels_once, TOTAL as u64,
        "every hit exactly once after deduplication"
    );
    let (_, summary) = p
        .get_as(&format!("/api/v1/sites/{site}/summary"), Some(&key))
        .await?;
    assert_eq!(summary["events"], TOTAL);
    assert_eq!(summary["sessions"], VISITORS);

    drop(p);
    env.cleanup().await
}

async fn post_all(p: &Pipeline, hits: &[serde_json::Value]) -> anyhow::Result<()> {
    // Visitors in parallel, each visitor's hits in order (the edge keys them to one partition).
    for chunk in hits.chunks(20) {
        let sends = chunk.iter().map(|h| p.post("/api/sync", h));
        for result in futures::future::join_all(sends).await {
            let (status, body) = result?;
            assert_eq!(status, 200, "{body}");
        }
    }
    Ok(())
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Versioned {
    session_id: String,
    version: i64,
    events: i64,
    pageviews: i64,
}

/// The sessionizer is killed (SIGKILL) mid-stream and restarted: from its per-partition snapshots it
/// continues every open session, so the session table ends up exactly as without the kill.
#[tokio::test(flavor = "multi_thread")]
async fn killing_the_sessionizer_mid_stream_leaves_the_same_sessions() -> anyhow::Result<()> {
    let env = Env::new("sessionizer_kill").await?;
    let site = env.create_site("sessionizer_kill", &[]).await?.public_id;
    let mut p = Pipeline::start(&env).await?;
    const VISITORS: usize = 10;
    const ROUNDS: usize = 12;
    let round = |r: usize| -> Vec<serde_json::Value> {
        (0..VISITORS)
            .map(|v| {
                let ago = (ROUNDS - r) as i64 * MIN;
                hit(
                    &site,
                    &format!("fp{v}"),
                    &format!("S{v}"),
                    "https://shop.example/",
                    ago,
                    &format!("r{r}v{v}"),
                )
            })
            .collect()
    };
    let first: Vec<_> = (0..ROUNDS / 2).flat_map(round).collect();
    let second: Vec<_> = (ROUNDS / 2..ROUNDS).flat_map(round).collect();
    post_all(&p, &first).await?;
    wait_for("the first half sessionized", LANDING, || async {
        match env
            .count("SELECT toUInt64(sum(events)) FROM sessions FINAL")
            .await
        {
            Ok(n) if n >= (VISITORS * ROUNDS / 2) as u64 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    // Let the consumer commit the first half's offsets (every second), so the restart resumes after them and
    // only the snapshots can tell it about the open sessions.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    p.sessionizer.take().expect("sessionizer running").kill();
    post_all(&p, &second).await?;
    // See killing_the_sink_mid_stream…: the local broker needs the dead member's session to expire first.
    tokio::time::sleep(Duration::from_millis(env.kafka.session_timeout_ms + 1_000)).await;
    p.restart_sessionizer();

    wait_for_counts(&env, VISITORS as u64, (VISITORS * ROUNDS) as u64).await?;
    let rows: Vec<Versioned> = env
        .ch()
        .query("SELECT ?fields FROM sessions FINAL ORDER BY session_id")
        .fetch_all()
        .await?;
    assert_eq!(rows.len(), VISITORS);
    for (v, r) in rows.iter().enumerate() {
        assert_eq!(
            r.session_id,
            format!("S{v}"),
            "one session per visitor, no split by the restart"
        );
        assert_eq!(
            (r.version, r.events, r.pageviews),
            (ROUNDS as i64, ROUNDS as i64, ROUNDS as i64),
            "{r:?}"
        );
    }
    drop(p);
    env.cleanup().await
}
