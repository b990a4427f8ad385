//! Our own tracker (`/tracker.js`) in a real browser — Debian's Chromium driven by `playwright-core`
//! (`tests/browser/journey.mjs`) — against the whole pipeline. The site's pages come from a server of its own
//! (another origin than the edge, so CORS is real), which is also the site's first-party proxy: it signs the
//! tracker's call events with the site secret and forwards them to `/api/call-event/v2`.
//!
//! The visit: a landing page from a Google ad (gclid, UTM), scroll to the bottom, a tel: click, a WhatsApp
//! click, a second page, an in-app navigation, the tab closed. What must land in ClickHouse: three page views,
//! one session with its gclid, UTM and engagement, exactly two calls matched to it (each click reported by a
//! conversion hit and by a signed call event, converging on one call), and the close beacon's session end.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use opsmantik_e2e::{visit, wait_for, Env, Pipeline};
use serde_json::Value;

const GCLID: &str = "Cj0KCQiA-browser-journey";

/// The site's own server: its pages, and its call-event proxy.
#[derive(Clone)]
struct SiteServer {
    edge: String,
    site: String,
    secret: String,
    http: reqwest::Client,
    /// The edge's answers to the proxied call events.
    forwarded: Arc<Mutex<Vec<u16>>>,
}

fn page(s: &SiteServer, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><title>{title}</title><link rel=\"icon\" href=\"data:,\">\
         <script async src=\"{edge}/tracker.js\" data-site=\"{site}\" data-proxy=\"/opsmantik/call-event\" \
         data-consent=\"analytics,marketing\"></script></head>\
         <body style=\"margin:0\">{body}</body></html>",
        edge = s.edge,
        site = s.site,
    ))
}

async fn landing(State(s): State<SiteServer>) -> Html<String> {
    page(
        &s,
        "Landing",
        "<div style=\"height:3000px\">Spring sale</div>\
         <a id=\"call\" href=\"tel:+90 532 123 45 67\">Call us</a> \
         <a id=\"whatsapp\" href=\"https://wa.me/905321234567?text=Hello\">WhatsApp</a> \
         <a id=\"next\" href=\"/second.html\">Next</a>",
    )
}

async fn second(State(s): State<SiteServer>) -> Html<String> {
    page(&s, "Second", "<p>Our prices</p>")
}

/// The first-party proxy: signs the call event as received and forwards it.
async fn proxy(State(s): State<SiteServer>, body: Bytes) -> (StatusCode, String) {
    let ts = chrono::Utc::now().timestamp().to_string();
    let signature = opsmantik_ingest::auth::signature::sign(&s.secret, &ts, &body);
    let answer = s
        .http
        .post(format!("{}/api/call-event/v2", s.edge))
        .header("content-type", "application/json")
        .header("x-ops-site-id", &s.site)
        .header("x-ops-ts", ts)
        .header("x-ops-signature", signature)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(r) => {
            let status = r.status();
            s.forwarded.lock().unwrap().push(status.as_u16());
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// Runs the journey in Chromium; its JSON report.
async fn journey(scenario: &str, landing: &str, edge: &str) -> anyhow::Result<Value> {
    opsmantik_e2e::browser::run(
        "journey.mjs",
        &[
            ("SCENARIO", scenario),
            ("LANDING_URL", landing),
            ("EDGE_URL", edge),
        ],
    )
    .await
}

async fn count(env: &Env, sql: &str) -> Result<u64, String> {
    env.count(sql).await.map_err(|e| e.to_string())
}

/// A site served from its own origin (with its proxy) and the pipeline, for one journey.
struct Stage {
    env: Env,
    pipeline: Pipeline,
    server: SiteServer,
    origin: String,
}

async fn stage(name: &str) -> anyhow::Result<Stage> {
    let env = Env::new(name).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let new = opsmantik_ingest::sites::NewSite {
        public_id: None,
        name: "browser journey".into(),
        domain: "127.0.0.1".into(),
        allowed_origins: vec![origin.clone()],
        time_zone: None,
    };
    let site = opsmantik_ingest::sites::create(&env.redis()?, new).await?;
    let pipeline = Pipeline::start(&env).await?;
    let server = SiteServer {
        edge: pipeline.base_url.clone(),
        site: site.public_id.clone(),
        secret: site.secret.clone(),
        http: reqwest::Client::new(),
        forwarded: Arc::default(),
    };
    let app = Router::new()
        .route("/landing.html", get(landing))
        .route("/second.html", get(second))
        .route("/opsmantik/call-event", post(proxy))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Stage {
        env,
        pipeline,
        server,
        origin,
    })
}

/// The edge's answers the page saw, as `(path, status)`.
fn answers(report: &Value) -> Vec<(String, u64)> {
    report["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let path = a["url"].as_str().unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default().to_string();
            (path, a["status"].as_u64().unwrap_or(0))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visit_with_our_tracker_in_chromium_lands_its_views_session_and_two_calls(
) -> anyhow::Result<()> {
    let Stage {
        env,
        pipeline: p,
        server,
        origin,
    } = stage("tracker_browser").await?;
    let url = format!(
        "{origin}/landing.html?gclid={GCLID}&utm_source=google&utm_medium=cpc&utm_campaign=spring_sale"
    );
    let report = journey("visit", &url, &p.base_url).await?;
    assert_eq!(report["errors"], serde_json::json!([]), "no page errors");
    let answers = answers(&report);
    assert!(
        answers.contains(&("/tracker.js".into(), 200)),
        "the tracker was served: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(_, status)| (200..300).contains(status)),
        "every hit accepted: {answers:?}"
    );
    assert_eq!(
        *server.forwarded.lock().unwrap(),
        [200, 200],
        "both clicks signed by the proxy and accepted"
    );

    visit::landed(&env, [3, 1, 2, 2, 2]).await?;
    let (gclid, source, pageviews, active, scroll) = visit::session(&env).await?;
    assert_eq!(
        (gclid.as_str(), source.as_str(), pageviews),
        (GCLID, "google", 3)
    );
    assert!(
        active >= 1 && scroll == 100,
        "engagement: {active} s active, {scroll}% scrolled"
    );
    assert_eq!(
        visit::call_numbers(&env).await?,
        ["+905321234567", "whatsapp:+905321234567"]
    );
    let stamped = count(
        &env,
        "SELECT countIf(intent_stamp != '' AND gclid != '' AND user_agent LIKE '%Chrome%') FROM calls FINAL",
    )
    .await;
    assert_eq!(stamped, Ok(2), "the clicks' context is on the calls");
    let closed = count(
        &env,
        "SELECT count() FROM events WHERE action = 'session_end' AND url LIKE '%/app/step-2' \
         AND meta_json LIKE '%\"exit_page\":\"%/app/step-2\"%'",
    )
    .await;
    assert_eq!(
        closed,
        Ok(1),
        "the close beacon's session end, from the in-app page"
    );
    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn through_an_outage_and_a_429_the_outbox_delivers_each_hit_once_at_its_own_time(
) -> anyhow::Result<()> {
    let Stage {
        env,
        pipeline: p,
        origin,
        ..
    } = stage("tracker_outage").await?;
    let report = journey("outage", &format!("{origin}/landing.html"), &p.base_url).await?;
    assert_eq!(report["errors"], serde_json::json!([]), "no page errors");
    let statuses: Vec<u64> = answers(&report)
        .into_iter()
        .filter(|(path, _)| path == "/api/sync")
        .map(|(_, status)| status)
        .collect();
    // Told to wait, then a batch refused for its bad hit, then the hits one by one.
    assert!(
        statuses.first() == Some(&429) && statuses.contains(&400) && statuses.contains(&200),
        "{statuses:?}"
    );
    wait_for(
        "the queued hits in ClickHouse",
        Duration::from_secs(60),
        || async {
            let seen = count(
                &env,
                "SELECT uniqExact(event_id) FROM events WHERE action IN ('view', 'signup_started')",
            )
            .await?;
            if seen == 2 {
                Ok(())
            } else {
                Err(format!("{seen} of the 2 good hits"))
            }
        },
    )
    .await?;
    let refused = count(&env, "SELECT count() FROM events WHERE action = 'custom'").await;
    assert_eq!(refused, Ok(0), "the bad hit is dropped alone");
    // Queued at least 5 s while the edge was unreachable: the stored time is when the page sent it.
    let queued = count(
        &env,
        "SELECT countIf(dateDiff('second', event_time, received_at) >= 4) FROM events \
         WHERE action IN ('view', 'signup_started')",
    )
    .await;
    assert_eq!(queued, Ok(2), "event time survives the outbox");
    drop(p);
    env.cleanup().await
}
