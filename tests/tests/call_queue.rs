//! The call queue to conversions, end to end with the real binaries: an ad click becomes a session, a phone
//! click a matched call in the operator's queue; the operator seals it; the offline-conversion export gives it
//! once; a Google Ads script pulls and acknowledges the next one. And: 50 concurrent seals of one call across
//! two edges — one wins; the ledger's rules on real Redis.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use futures::future::{join_all, BoxFuture};
use opsmantik_e2e::accounts::{create_site, new_key, sign_in};
use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{now_ms, run_for_code, run_to_end, wait_for, Binary, Env, Pipeline};
use opsmantik_ingest::calls::oci::HEADER;
use opsmantik_ingest::calls::store::{check_ledger, LiveCalls};
use opsmantik_runtime::call_ledger;
use opsmantik_schemas::CallRecord;
use serde_json::{json, Value};

const GCLID: &str = "Cj0KCQiA-queue-e2e";

/// A signed-in owner and their site on a running pipeline.
struct Desk {
    env: Env,
    p: Pipeline,
    owner: String,
    site: String,
}

async fn desk(name: &str) -> anyhow::Result<Desk> {
    let env = Env::new(name).await?;
    let (smtp, inbox) = Inbox::start().await?;
    let p = Pipeline::start_with(&env, &[("SMTP_URL", smtp.as_str())]).await?;
    let owner = sign_in(&p, &inbox, "owner@queue.example").await?;
    let site = create_site(&p, &owner, "queue").await?;
    Ok(Desk {
        env,
        p,
        owner,
        site,
    })
}

impl Desk {
    async fn post(&self, path: &str, body: Value) -> Reply {
        send(
            self.p
                .http
                .post(self.p.url(path))
                .bearer_auth(&self.owner)
                .json(&body),
        )
        .await
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.p
            .http
            .get(self.p.url(path))
            .bearer_auth(&self.owner)
            .send()
            .await
            .unwrap()
    }

    /// The visitor's visit: a landing page from an ad, a second page, then a click on `number`.
    async fn visit_and_click(&self, fp: &str, action: &str, number: &str) {
        let now = now_ms();
        for (i, page) in ["/?gclid=", "/prices?gclid="].iter().enumerate() {
            let ts = now - 60_000 + i as i64 * 20_000;
            let hit = json!({
                "s": self.site, "u": format!("https://queue.example{page}{GCLID}"), "sid": format!("sid-{fp}"),
                "ea": "view", "meta": { "fp": fp, "gclid": GCLID, "ts": ts, "st": now },
            });
            let r = send(self.p.http.post(self.p.url("/api/sync")).json(&hit)).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let click = json!({
            "event_id": uuid::Uuid::new_v4().to_string(), "site_id": self.site, "phone_number": number,
            "fingerprint": fp, "action": action, "url": "https://queue.example/prices",
        });
        let r = send(self.p.http.post(self.p.url("/api/call-event")).json(&click)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// Waits for the queue to show `n` calls matched to their sessions; returns the queue.
    async fn queue_with(&self, n: usize) -> Vec<Value> {
        wait_for(
            "the calls in the queue",
            Duration::from_secs(90),
            || async {
                let r = self.get(&format!("/api/calls?siteId={}", self.site)).await;
                let body: Value = r.json().await.map_err(|e| e.to_string())?;
                let calls = body["calls"].as_array().cloned().unwrap_or_default();
                let matched = calls
                    .iter()
                    .filter(|c| c["session"]["gclid"] == GCLID)
                    .count();
                if matched == n {
                    Ok(calls)
                } else {
                    Err(format!("{matched} of {n} matched: {body}"))
                }
            },
        )
        .await
        .unwrap()
    }

    async fn export(&self) -> (String, reqwest::header::HeaderMap) {
        let r = self
            .get(&format!("/api/oci/export?siteId={}", self.site))
            .await;
        assert_eq!(r.status(), 200);
        let headers = r.headers().clone();
        (r.text().await.unwrap(), headers)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ad_click_becomes_a_sealed_call_and_one_uploaded_conversion() -> anyhow::Result<()> {
    let d = desk("call_queue").await?;
    d.visit_and_click("fp-funnel", "phone", "+905321234567")
        .await;
    let queue = d.queue_with(1).await;
    let call = &queue[0];
    assert_eq!(
        (
            call["status"].as_str(),
            call["session"]["pageviews"].as_i64()
        ),
        (Some("intent"), Some(2))
    );
    let id = call["id"].as_str().unwrap().to_string();

    let sealed = d
        .post(
            &format!("/api/calls/{id}/seal"),
            json!({ "sale_amount": 1500, "currency": "TRY" }),
        )
        .await;
    assert_eq!(sealed.status, 200, "{}", sealed.body);
    let confirmed_at = sealed.body["call"]["confirmed_at"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = d.queue_with(1).await;
    assert_eq!(
        shown[0]["status"], "confirmed",
        "the operator reads their own write at once"
    );

    let (csv, headers) = d.export().await;
    let time =
        chrono::DateTime::parse_from_rfc3339(&confirmed_at)?.format("%Y-%m-%d %H:%M:%S+00:00");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            HEADER.to_string(),
            format!("{GCLID},,,Sealed Lead,{time},1500.00,TRY")
        ]
    );
    assert!(headers["content-disposition"]
        .to_str()?
        .contains(&format!("opsmantik_oci_{}.csv", d.site)));
    assert_eq!(
        d.export().await.0.lines().count(),
        1,
        "a second export has only the header"
    );

    // The pull strategy: a Google Ads script with an export key fetches the next conversion and acknowledges it.
    d.visit_and_click("fp-script", "whatsapp", "+905321234568")
        .await;
    let queue = d.queue_with(2).await;
    let second = queue.iter().find(|c| c["status"] == "intent").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = d
        .post(
            &format!("/api/calls/{second}/seal"),
            json!({ "sale_amount": null }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = new_key(&d.p, &d.owner, &d.site, json!({ "scopes": ["export"] })).await;
    let pull = || {
        send(
            d.p.http
                .get(d.p.url(&format!("/api/oci/export-batch?siteId={}", d.site)))
                .header("x-api-key", &key),
        )
    };
    let batch = pull().await;
    assert_eq!(
        batch.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        batch.body
    );
    assert_eq!(batch.body[0]["gclid"], GCLID);
    let ack = json!({ "site_id": d.site, "call_ids": [second] });
    let acked = send(
        d.p.http
            .post(d.p.url("/api/oci/ack"))
            .header("x-api-key", &key)
            .json(&ack),
    )
    .await;
    assert_eq!(acked.body["updated"], 1, "{}", acked.body);
    assert_eq!(pull().await.body, json!([]));

    // ClickHouse keeps every version: intent, sealed, uploaded — for both calls.
    wait_for("the versions in ClickHouse", Duration::from_secs(60), || async {
        let rows: Vec<(String, i64, String, String)> = d
            .env
            .ch()
            .query("SELECT call_id, version, status, oci_status FROM call_history ORDER BY call_id, version")
            .fetch_all()
            .await
            .map_err(|e| e.to_string())?;
        let of = |id: &str| rows.iter().filter(|r| r.0 == id).map(|r| (r.1, r.2.clone(), r.3.clone())).collect::<Vec<_>>();
        let expected = |id: &str| {
            of(id) == [(1, "intent".into(), String::new()), (2, "confirmed".into(), "sealed".into()), (3, "confirmed".into(), "uploaded".into())]
        };
        if expected(&id) && expected(&second) { Ok(()) } else { Err(format!("{rows:?}")) }
    })
    .await?;
    // Audit records land through the broker and the sink, a moment after the action.
    wait_for(
        "two seals and two uploads audited",
        Duration::from_secs(60),
        || async {
            match d
                .env
                .count(
                    "SELECT count() FROM audit_log WHERE action IN ('call_sealed', 'oci_uploaded')",
                )
                .await
            {
                Ok(4) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await?;
    drop(d.p);
    d.env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_seals_across_two_edges_confirm_once() -> anyhow::Result<()> {
    let d = desk("call_race").await?;
    let (_edge2, second) = d.p.start_extra_edge().await?;
    let call = CallRecord {
        call_id: "raced".into(),
        version: 1,
        site: d.site.clone(),
        status: "intent".into(),
        created_at: now_ms(),
        updated_at: now_ms(),
        ..CallRecord::default()
    };
    call_ledger::absorb(&d.env.redis()?, &[call]).await?;
    let seals = (0..50).map(|i| {
        let base = if i % 2 == 0 {
            d.p.base_url.clone()
        } else {
            second.clone()
        };
        let req =
            d.p.http
                .post(format!("{base}/api/calls/raced/seal"))
                .bearer_auth(&d.owner)
                .json(&json!({ "sale_amount": i }));
        async move { send(req).await.status }
    });
    let mut statuses: Vec<u16> = join_all(seals).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    wait_for("the sealed version in ClickHouse", Duration::from_secs(60), || async {
        let n = d.env.count("SELECT count() FROM call_history WHERE call_id = 'raced' AND status = 'confirmed'").await.map_err(|e| e.to_string())?;
        if n == 1 { Ok(()) } else { Err(format!("{n} confirmed versions")) }
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let versions = d
        .env
        .count("SELECT count() FROM call_history WHERE call_id = 'raced'")
        .await?;
    assert_eq!(
        versions, 1,
        "only the winner's version was published (the intent was entered directly)"
    );
    drop(d.p);
    d.env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auto_approve_job_for_cron_confirms_the_stale_ad_intent_only() -> anyhow::Result<()> {
    let d = desk("auto_approve_job").await?;
    // A visit from an ad 25 hours ago: two pages 20 s apart.
    let now = now_ms();
    for (i, page) in ["/", "/prices"].iter().enumerate() {
        let hit = json!({
            "s": d.site, "u": format!("https://queue.example{page}?gclid={GCLID}"), "sid": "sid-old",
            "ea": "view", "meta": { "fp": "fp-old", "gclid": GCLID, "ts": now - 25 * 3_600_000 + i as i64 * 20_000, "st": now },
        });
        assert_eq!(
            send(d.p.http.post(d.p.url("/api/sync")).json(&hit))
                .await
                .status,
            200
        );
    }
    wait_for("the old session in ClickHouse", Duration::from_secs(60), || async {
        let n = d.env.count("SELECT count() FROM sessions FINAL WHERE session_id = 'sid-old' AND events = 2").await.map_err(|e| e.to_string())?;
        if n == 1 { Ok(()) } else { Err("not yet".to_string()) }
    })
    .await?;
    // Its click, 25 h old, and a click of the same session 23 h old, as the call-matcher left them.
    let calls: Vec<CallRecord> = [("stale", 25), ("young", 23)]
        .into_iter()
        .map(|(id, hours)| CallRecord {
            call_id: id.into(),
            version: 1,
            site: d.site.clone(),
            status: "intent".into(),
            session_id: Some("sid-old".into()),
            lead_score: 30,
            created_at: now - hours * 3_600_000,
            updated_at: now - hours * 3_600_000,
            ..CallRecord::default()
        })
        .collect();
    call_ledger::absorb(&d.env.redis()?, &calls).await?;
    let (ok, out) = run_to_end(
        Binary::Admin,
        &d.p.vars,
        &["--json", "auto-approve", "--site", &d.site],
    );
    assert!(ok && out.contains(r#"{"approved":1}"#), "{out}");
    let redis = d.env.redis()?;
    let stale = call_ledger::get(&redis, "stale").await?.unwrap();
    assert_eq!(
        (
            stale.status.as_str(),
            stale.lead_score,
            stale.confirmed_by.as_deref()
        ),
        ("confirmed", 60, Some("job:auto_approve"))
    );
    assert!(stale
        .lead_reasons
        .last()
        .unwrap()
        .starts_with("auto_approved:"));
    assert_eq!(
        call_ledger::get(&redis, "young").await?.unwrap().status,
        "intent"
    );
    let (code, out) = run_for_code(
        Binary::Admin,
        &d.p.vars,
        &["auto-approve", "--site", "no-such-site"],
    );
    assert_eq!(code, Some(3), "not found: {out}");
    assert!(out.contains("not found: site `no-such-site`"), "{out}");
    drop(d.p);
    d.env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_redis_ledger_keeps_the_same_rules_as_the_memory_one() -> anyhow::Result<()> {
    let env = Env::new("call_ledger").await?;
    let redis = env.redis()?;
    let store = LiveCalls {
        redis: redis.clone(),
        clickhouse: env.ch(),
    };
    let absorb = move |c: CallRecord| {
        let redis = redis.clone();
        Box::pin(async move {
            call_ledger::absorb(&redis, &[c])
                .await
                .map_err(|e| e.to_string())
        }) as BoxFuture<'static, Result<(), String>>
    };
    assert_eq!(check_ledger(&store, &absorb, "ledger-site").await, Ok(()));
    env.cleanup().await
}
