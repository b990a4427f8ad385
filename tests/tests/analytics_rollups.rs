//! The analytics rollups on the local ClickHouse 18.16 (migration 0013): a window answered from the rollups
//! equals the same window answered from the raw rows — with a redelivered batch, before and after the
//! sealer ran, and after a late event and another redelivery reach a sealed quarter-hour.

use opsmantik_e2e::Env;
use opsmantik_ingest::analytics::buckets::Period;
use opsmantik_ingest::analytics::queries::Filter;
use opsmantik_ingest::analytics::rollup;
use opsmantik_ingest::analytics::store::{Window, WindowQuery};

const COLUMNS: &str =
    "site, timestamp_ms, event_id, event_name, user_id, session_id, metadata_json, \
                       payload_json, priority, idempotency_key, dialect, received_at_ms";

/// `n` events of `site` from `first` on, one every 97 seconds going back in time: 3 names, 9 users (the
/// 10th event of each ten has none), 12 sessions.
async fn insert(env: &Env, site: &str, first: u64, n: u64, newest_ms: i64) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO product_events ({COLUMNS}) SELECT '{site}', {newest_ms} - number * 97000, \
         concat('ev-', toString(number)), ['view','click','buy'][number % 3 + 1], \
         if(number % 10 = 9, '', concat('u', toString(number % 9))), concat('s', toString(number % 12)), \
         '{{}}', '', 1, '', 'event_processor', {newest_ms} FROM numbers({first}, {n})"
    );
    env.ch().query(&sql).execute().await?;
    Ok(())
}

async fn both(env: &Env, q: &WindowQuery<'_>) -> anyhow::Result<(Window, Window)> {
    let ch = env.ch();
    let rolled = rollup::window(&ch, q, 0).await?;
    let raw = rollup::raw(&ch, q).await?;
    Ok((rolled, raw))
}

fn assert_same(rolled: &Window, raw: &Window, when: &str) {
    assert_eq!(rolled.totals, raw.totals, "totals {when}");
    assert_eq!(rolled.buckets, raw.buckets, "buckets {when}");
    assert_eq!(rolled.by_type, raw.by_type, "by type {when}");
    let users = |w: &Window| {
        w.top_users
            .iter()
            .map(|u| (u.user_id.clone(), u.events, u.last_ms))
            .collect::<Vec<_>>()
    };
    assert_eq!(users(rolled), users(raw), "top users {when}");
}

#[tokio::test]
async fn rollups_answer_what_the_raw_rows_answer_through_seals_late_events_and_redeliveries(
) -> anyhow::Result<()> {
    let env = Env::new("analytics_rollups").await?;
    let now_s = u32::try_from(opsmantik_e2e::now_ms() / 1000)?;
    // The newest event a quarter-hour and a bit ago, the rest over the day before it.
    let newest_ms = i64::from(now_s) * 1000 - 1_000_000;
    insert(&env, "shop", 0, 800, newest_ms).await?;
    insert(&env, "shop", 100, 50, newest_ms).await?; // a redelivered batch
    insert(&env, "other", 0, 30, newest_ms).await?; // another site's events stay out
    let filter = Filter::default();
    let named = Filter {
        event_name: Some("click".into()),
        user_contains: None,
    };
    for period in [Period::H24, Period::D7] {
        for (f, top_users) in [(&filter, true), (&named, false)] {
            let q = WindowQuery {
                site: "shop",
                period,
                from: period.starts(now_s)[0],
                to: now_s,
                filter: f,
                top_users,
            };
            let (rolled, raw) = both(&env, &q).await?;
            assert!(raw.totals.events > 100, "{:?}", raw.totals);
            assert_same(&rolled, &raw, "before sealing");
        }
    }
    let q = WindowQuery {
        site: "shop",
        period: Period::D7,
        from: Period::D7.starts(now_s)[0],
        to: now_s,
        filter: &filter,
        top_users: true,
    };
    let before = rollup::raw(&env.ch(), &q).await?;
    assert_eq!(
        before.totals.events, 800,
        "the redelivered batch counts once"
    );

    // Seal what settled (10 s without data), then the answers still agree.
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    rollup::seal(&env.ch()).await?;
    let seals = env
        .count("SELECT count() FROM product_quarter_seals WHERE site = 'shop'")
        .await?;
    assert!(seals > 100, "seals written: {seals}");
    let (rolled, raw) = both(&env, &q).await?;
    assert_same(&rolled, &raw, "after sealing");

    // A late event lands in a sealed quarter-hour (5,000 s before the newest, among sealed ones), and a
    // sealed batch is redelivered: +1, not +51.
    insert(&env, "shop", 800, 1, newest_ms - 5_000_000 + 800 * 97_000).await?;
    insert(&env, "shop", 200, 50, newest_ms).await?;
    let (rolled, raw) = both(&env, &q).await?;
    assert_eq!(raw.totals.events, 801);
    assert_same(&rolled, &raw, "after a late event into a sealed quarter");
    env.cleanup().await
}
