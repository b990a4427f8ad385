//! One visit of the public OpsMantik tracker (`../shared/fixtures/opsmantik-tracker-session.jsonl`), replayed
//! request by request over real HTTP through the whole pipeline: `text/plain` hits, `{events}` batches,
//! signed call events with `X-Ops-Ts`/`X-Ops-Site-Id`, preflights, re-sent outbox batches and the unload
//! beacon. The rows that must come out: two page views, one session with its gclid and UTM, exactly two calls
//! (a tel: and a WhatsApp click, each reported twice by the tracker) matched to that session.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use opsmantik_e2e::{visit, Env, Pipeline};
use serde_json::Value;

const FIXTURE: &str = include_str!("../../../shared/fixtures/opsmantik-tracker-session.jsonl");
/// The site the recording was made for (its `X-Ops-Site-Id`).
const SITE: &str = "acc-real-tracker";
const ORIGIN: &str = "https://tracker-replay.example";
/// The recording browser's User-Agent (as its call events carry it in `ua`).
const RECORDED_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";

/// One recorded request with the placeholders filled in and, for call events, a fresh signature.
fn request(p: &Pipeline, line: &Value, secret: &str) -> reqwest::RequestBuilder {
    let fill = |s: &str| {
        s.replace("{{SITE}}", SITE)
            .replace("{{PAGE_ORIGIN}}", ORIGIN)
    };
    let body = fill(line["body"].as_str().unwrap());
    let method = line["method"].as_str().unwrap().parse().unwrap();
    let mut req = p
        .http
        .request(method, p.url(line["path"].as_str().unwrap()));
    let ts = chrono::Utc::now().timestamp().to_string();
    // The browser sends its User-Agent on every request (the recording lists only the headers that differ).
    req = req.header("user-agent", RECORDED_UA);
    for (name, value) in line["headers"].as_object().unwrap() {
        let value = match name.as_str() {
            "X-Ops-Ts" => ts.clone(),
            "X-Ops-Signature" => {
                opsmantik_ingest::auth::signature::sign(secret, &ts, body.as_bytes())
            }
            _ => fill(value.as_str().unwrap()),
        };
        req = req.header(name.as_str(), value);
    }
    req.body(body)
}

async fn count(env: &Env, sql: &str) -> Result<u64, String> {
    env.count(sql).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_visit_of_the_real_tracker_gives_its_page_views_session_and_two_calls(
) -> anyhow::Result<()> {
    let env = Env::new("tracker_replay").await?;
    let new = opsmantik_ingest::sites::NewSite {
        public_id: Some(SITE.into()),
        name: "replay".into(),
        domain: "tracker-replay.example".into(),
        allowed_origins: vec![ORIGIN.into()],
        time_zone: None,
    };
    let site = opsmantik_ingest::sites::create(&env.redis()?, new).await?;
    let p = Pipeline::start(&env).await?;
    for raw in FIXTURE.lines().filter(|l| !l.trim().is_empty()) {
        let line: Value = serde_json::from_str(raw)?;
        let r = request(&p, &line, &site.secret).send().await?;
        let status = r.status().as_u16();
        let answer = r.text().await?;
        assert!(
            (200..300).contains(&status),
            "{} {} → {status} {answer}",
            line["method"],
            line["path"]
        );
        if line["path"] == "/api/call-event/v2" && line["method"] == "POST" {
            assert!(answer.contains("\"status\""), "{answer}");
        }
    }
    // Two page views, one session, two calls both matched, three session ends (ten sends of them).
    visit::landed(&env, [2, 1, 2, 2, 3]).await?;
    let (gclid, source, pageviews, active, scroll) = visit::session(&env).await?;
    assert_eq!(
        (gclid.as_str(), source.as_str(), pageviews),
        ("Cj0KCQiA-example-86adbdc01e", "google", 2)
    );
    assert_eq!(
        (active, scroll),
        (25, 100),
        "engagement from heartbeats and session ends"
    );
    assert_eq!(
        visit::call_numbers(&env).await?,
        ["+905321234567", "whatsapp:+905321234567"]
    );
    let conversions = count(
        &env,
        "SELECT uniqExact(event_id) FROM events WHERE category = 'conversion'",
    )
    .await;
    assert_eq!(conversions, Ok(2), "re-sent conversions count once");
    let with_context = count(
        &env,
        "SELECT countIf(intent_stamp != '' AND page_url != '' AND user_agent != '') FROM calls FINAL",
    )
    .await;
    assert_eq!(
        with_context,
        Ok(2),
        "the tracker's click context is kept on the calls"
    );
    drop(p);
    env.cleanup().await
}
