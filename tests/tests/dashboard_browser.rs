//! The dashboard (`/app/`) in a real browser — Debian's Chromium driven by `playwright-core`
//! (`tests/browser/dashboard.mjs`) — against the whole pipeline: an owner signs in with the development code,
//! creates a site, allows the site's origin, creates a key and invites a viewer; a visitor from a Google ad
//! browses the site with our tracker and clicks the phone number; the owner watches the overview count it,
//! finds the matched call in the queue, seals it and downloads the conversion CSV. The viewer then sees the
//! queue without a seal button, and the API refuses the viewer's seal. Screenshots of every screen land in
//! `target/dashboard-screenshots/` (listed in docs/dashboard.md).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::HashMap;

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use opsmantik_e2e::{accounts, Env, Pipeline};
use serde_json::Value;

const GCLID: &str = "Cj0KCQiA-dashboard-journey";
const OWNER: &str = "owner@dashboard.example";
const VIEWER: &str = "viewer@dashboard.example";

/// A page of the site, with our tracker for the site named in `?site=` (the site is created in the browser).
fn page(edge: &str, q: &HashMap<String, String>, title: &str, body: &str) -> Html<String> {
    let site = q.get("site").map(String::as_str).unwrap_or_default();
    let site: String = site
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    Html(format!(
        "<!doctype html><html><head><title>{title}</title><link rel=\"icon\" href=\"data:,\">\
         <script async src=\"{edge}/tracker.js\" data-site=\"{site}\" data-consent=\"analytics,marketing\">\
         </script></head><body>{body}</body></html>"
    ))
}

async fn site_server(edge: String) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let second = edge.clone();
    let app = Router::new()
        .route(
            "/landing.html",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                let next = format!(
                    "/second.html?site={}",
                    q.get("site").cloned().unwrap_or_default()
                );
                page(
                    &edge,
                    &q,
                    "Landing",
                    &format!(
                    "<h1>Spring sale</h1><a id=\"call\" href=\"tel:+90 532 123 45 67\">Call us</a> \
                     <a id=\"next\" href=\"{next}\">Next</a>"
                ),
                )
            }),
        )
        .route(
            "/second.html",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                page(&second, &q, "Second", "<p>Our prices</p>")
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(origin)
}

fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

fn text<'a>(report: &'a Value, pointer: &str) -> &'a str {
    report
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Sign-in, the site's screens and the overview, as the owner saw them.
fn owner_saw(report: &Value) {
    assert!(
        text(report, "/devCodeShown").contains("your code is"),
        "{report}"
    );
    assert_eq!(report["secretShown"], true);
    assert_eq!(report["statusBefore"], "No traffic yet");
    assert!(
        text(report, "/statusAfter").starts_with("Receiving events"),
        "{report}"
    );
    assert_eq!(
        report["unlabelled"],
        serde_json::json!([]),
        "every field labelled"
    );
    assert_eq!(report["eventsStatus"], 200);
    assert!(
        text(report, "/overview/sources").contains("google"),
        "{report}"
    );
    // Cumulative layout shift of the overview while it loads and refreshes: "good" is under 0.1.
    let shift = report["overview"]["layoutShift"].as_f64().unwrap();
    assert!(shift < 0.1, "the overview does not jump: {shift}");
}

/// The call: its score explained, a stale seal refused in words, the seal, and the CSV's one row.
fn call_worked(report: &Value) {
    assert!(
        report["scoreReasons"].as_u64().unwrap() > 0,
        "score shown with its reasons"
    );
    assert_eq!(report["otherChange"], 200, "another operator's change");
    assert!(
        text(report, "/conflictNotice").contains("it is now at version"),
        "the stale seal is refused with the call's version: {report}"
    );
    let rows = csv_rows(text(report, "/csv"));
    assert_eq!(rows.len(), 2, "the header and the sealed call: {rows:?}");
    assert_eq!(rows[0][0], "Google Click ID");
    let row = (
        rows[1][0].as_str(),
        rows[1][5].as_str(),
        rows[1][6].as_str(),
    );
    assert_eq!(row, (GCLID, "1500.00", "TRY"));
}

/// The viewer's queue, on a desktop and a phone.
fn viewer_saw(report: &Value) {
    assert_eq!(report["viewerSealButtons"], 0, "{report}");
    assert_eq!(report["viewerDirectSeal"], 403, "the API refuses a viewer");
    assert!(
        !text(report, "/viewerNav").contains("Operations"),
        "a viewer has no operations screen"
    );
    assert_eq!(
        report["phoneOverflow"], false,
        "the queue fits a phone's width"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_works_a_matched_call_from_sign_in_to_export_and_a_viewer_cannot_seal(
) -> anyhow::Result<()> {
    let env = Env::new("dashboard_browser").await?;
    let p = Pipeline::start_with(&env, &[("DEV_PRINT_CODES", "true")]).await?;
    // The owner is also a global admin, so the walk reaches the operations screen.
    accounts::grant_admin(&env, OWNER)?;
    let origin = site_server(p.base_url.clone()).await?;
    let shots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/dashboard-screenshots"
    );
    let report: Value = opsmantik_e2e::browser::run(
        "dashboard.mjs",
        &[
            ("EDGE_URL", &p.base_url),
            ("SITE_ORIGIN", &origin),
            ("OWNER", OWNER),
            ("VIEWER", VIEWER),
            ("GCLID", GCLID),
            ("SHOTS", shots),
        ],
    )
    .await?;
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    owner_saw(&report);
    call_worked(&report);
    viewer_saw(&report);
    for shot in report["shots"].as_array().unwrap() {
        let size = std::fs::metadata(shot.as_str().unwrap())?.len();
        assert!(size > 10_000, "{shot} is a real screenshot ({size} bytes)");
    }
    assert_eq!(report["shots"].as_array().unwrap().len(), 9);
    env.cleanup().await
}
