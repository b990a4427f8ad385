//! The drift check against known traffic: the overlay's estimates beside ClickHouse's exact counts for the
//! site's day, through the real pipeline; admins only.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{grant_admin, sign_in};
use opsmantik_e2e::http::send;
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{hit, wait_for, Env, Pipeline};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn known_traffic_reconciles_within_the_overlays_error() -> anyhow::Result<()> {
    let env = Env::new("reconcile").await?;
    let site = env.create_site("drift", &[]).await?.public_id;
    let (smtp, inbox) = Inbox::start().await?;
    let p = Pipeline::start_with(&env, &[("SMTP_URL", smtp.as_str())]).await?;
    let admin = sign_in(&p, &inbox, "ops@drift.example").await?;
    grant_admin(&env, "ops@drift.example")?;
    let plain = sign_in(&p, &inbox, "someone@drift.example").await?;
    // 10 visitors × 3 pages, and 4 of them click a phone number.
    for v in 0..10 {
        for page in 0..3 {
            let h = hit(
                &site,
                &format!("fp{v}"),
                &format!("s{v}"),
                &format!("https://drift.example/{page}"),
                60_000 - page * 10_000,
                "p",
            );
            assert_eq!(
                send(p.http.post(p.url("/api/sync")).json(&h)).await.status,
                200
            );
        }
    }
    for v in 0..4 {
        let click = json!({ "event_id": uuid::Uuid::new_v4().to_string(), "site_id": site, "phone_number": "+905550000000", "fingerprint": format!("fp{v}"), "action": "phone", "url": "https://drift.example/2" });
        assert_eq!(
            send(p.http.post(p.url("/api/call-event")).json(&click))
                .await
                .status,
            200
        );
    }
    let url = p.url(&format!("/api/stats/reconcile?siteId={site}"));
    let report: Value = wait_for(
        "the traffic counted on both sides",
        Duration::from_secs(90),
        || async {
            let r = send(p.http.get(&url).bearer_auth(&admin)).await;
            let (db, redis) = (&r.body["db"], &r.body["redis"]);
            let landed = (
                db["events"].as_u64(),
                db["sessions"].as_u64(),
                db["calls"].as_u64(),
                redis["calls"].as_u64(),
            );
            if landed == (Some(30), Some(10), Some(4), Some(4)) {
                Ok(r.body.clone())
            } else {
                Err(r.body.to_string())
            }
        },
    )
    .await?;
    for (metric, drift) in report["drift"].as_object().unwrap() {
        let exact = report["db"][metric].as_i64().unwrap();
        let bound = (exact as f64 * 0.02).ceil() as i64; // HyperLogLog: within about 1 %
        assert!(
            drift.as_i64().unwrap().abs() <= bound,
            "{metric}: drift {drift} against {exact}"
        );
    }
    assert!(report["rangeUtc"]["fromIso"].is_string() && report["db"]["method"].is_string());
    let refused = send(p.http.get(&url).bearer_auth(&plain)).await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (403, Some("forbidden"))
    );
    drop(p);
    env.cleanup().await
}
