//! The analytics runtime SQL (the rollups' seal and reads, the raw-row reads, the summary's reads), written out to
//! `schemas/runtime/analytics.sql` so CI's `ch-compat` runs it on current ClickHouse too (18.16 runs it in the
//! e2e tests). The file must equal what the code builds:
//! regenerate it with `UPDATE_RUNTIME_SQL=1 cargo test -p opsmantik-ingest --lib rollup_sql`.

use std::collections::HashSet;

use super::*;
use crate::analytics::buckets::Period;
use crate::analytics::queries::Filter;
use crate::analytics::{breakdown, summary};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../schemas/runtime/analytics.sql"
);

/// `sql` with each `?` replaced by its value as the client binds it: numbers bare, text quoted.
fn render((sql, args): (String, Vec<String>)) -> String {
    let mut args = args.into_iter();
    let mut out = String::new();
    for (i, part) in sql.split('?').enumerate() {
        if i > 0 {
            let value = args.next().unwrap_or_default();
            if value.parse::<i64>().is_ok() {
                // Numbers are bound unquoted.
                out.push_str(&value);
            } else {
                out.push_str(&format!(
                    "'{}'",
                    value.replace('\\', "\\\\").replace('\'', "\\'")
                ));
            }
        }
        out.push_str(part);
    }
    assert!(args.next().is_none(), "more values than placeholders");
    out
}

fn statements() -> Vec<(String, String)> {
    let named = Filter {
        event_name: Some("signup".into()),
        user_contains: None,
    };
    let any = Filter::default();
    let user = Filter {
        event_name: None,
        user_contains: Some("u-".into()),
    };
    let mut out = vec![("seal".to_string(), seal_sql())];
    for (label, period, filter) in [
        ("7d", Period::D7, &any),
        ("24h, one event name", Period::H24, &named),
    ] {
        let q = WindowQuery {
            site: "site-1",
            period,
            from: 1_796_001_300,
            to: 1_796_605_000,
            filter,
            top_users: true,
        };
        let quarters: HashSet<u32> = [1_796_604_300].into();
        let candidates = vec!["u-1".to_string(), "u'2".to_string()];
        out.extend([
            (
                format!("quarter counts, {label}"),
                render(quarter_counts_sql(&q)),
            ),
            (
                format!("open counts, {label}"),
                render(open_counts_sql(&q, &quarters)),
            ),
            (format!("uniques, {label}"), render(uniques_sql(&q))),
            (
                format!("top candidates, {label}"),
                render(candidates_sql(&q)),
            ),
            (
                format!("top users, {label}"),
                render(candidate_figures_sql(&q, candidates)),
            ),
        ]);
    }
    for (label, period, filter) in [
        ("15m", Period::M15, &named),
        ("1h, user filter", Period::H1, &user),
    ] {
        let (site, from, to) = ("site-1", 1_796_601_400, 1_796_605_000);
        out.extend([
            (
                format!("raw totals, {label}"),
                render(queries::totals_sql(site, from, to, filter)),
            ),
            (
                format!("raw buckets, {label}"),
                render(queries::per_bucket_sql(site, period, from, to, filter)),
            ),
            (
                format!("raw by name, {label}"),
                render(queries::by_type_sql(site, from, to, filter)),
            ),
            (
                format!("raw top users, {label}"),
                render(queries::top_users_sql(site, from, to, filter)),
            ),
        ]);
    }
    out.extend(summary_statements());
    out
}

/// The summary's overview reads (`breakdown.rs`).
fn summary_statements() -> Vec<(String, String)> {
    let bound = |sql: &str| {
        let args = ["site-1", "1796001300", "1796605000"].map(String::from);
        render((sql.to_string(), args.to_vec()))
    };
    let mut out = vec![
        ("summary counts".to_string(), bound(summary::EVENT_COUNTS)),
        (
            "summary sessions".to_string(),
            bound(summary::SESSION_COUNT),
        ),
        (
            "summary calls".to_string(),
            render((
                breakdown::CALLS_SQL.to_string(),
                ["site-1", "1796001300000", "1796605000000"]
                    .map(String::from)
                    .to_vec(),
            )),
        ),
        (
            "summary series, hourly".to_string(),
            bound(&breakdown::series_sql("hour")),
        ),
        (
            "summary series, daily".to_string(),
            render((
                breakdown::series_sql("day"),
                ["Europe/Istanbul", "site-1", "1796001300", "1796605000"]
                    .map(String::from)
                    .to_vec(),
            )),
        ),
    ];
    for d in breakdown::DIMENSIONS {
        out.push((format!("summary top {d}"), bound(&breakdown::top_sql(d))));
    }
    out
}

#[test]
fn rollup_sql_file_matches_the_code() {
    let mut text = String::from(
        "-- Generated by ingest/src/analytics/rollup_sql_tests.rs from the analytics runtime SQL (do not edit):\n\
         -- CI runs it through ch-compat after the migrations, on current ClickHouse.\n",
    );
    for (label, sql) in statements() {
        text.push_str(&format!("\n-- {label}\n{sql};\n"));
    }
    if std::env::var("UPDATE_RUNTIME_SQL").is_ok_and(|v| v == "1") {
        std::fs::write(FILE, &text).expect("write the runtime SQL file");
    }
    let on_disk = std::fs::read_to_string(FILE).unwrap_or_default();
    assert!(
        on_disk == text,
        "schemas/runtime/analytics.sql differs from the code: regenerate it (UPDATE_RUNTIME_SQL=1)"
    );
}
