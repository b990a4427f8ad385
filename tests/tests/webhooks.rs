//! Rules and webhooks end to end with the real binaries (edge, rules processor, webhook sink) and real
//! receivers on loopback: exactly the matching events are delivered, signed; a receiver that is down gets
//! everything once it is up, a 400 is not retried, a receiver that never answers is given up — while a
//! healthy one keeps receiving on time; killing the processor and the sink mid-stream loses nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::HashSet;
use std::time::{Duration, Instant};

use opsmantik_e2e::http::send;
use opsmantik_e2e::receiver::Receiver;
use opsmantik_e2e::{free_port, wait_for, Binary, Env, Pipeline};
use opsmantik_rules::processor::delivery_id;
use opsmantik_rules::webhook::{body_signature_ok, header_signature};
use serde_json::{json, Value};

const SECRET: &str = "receiver-secret-1";

/// Settings that make retries and timeouts short enough for a test.
const FAST: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8"),
    ("WEBHOOK_TIMEOUT_MS", "1500"),
    ("WEBHOOK_RETRY_INITIAL_MS", "300"),
    ("WEBHOOK_RETRY_MAX_MS", "2000"),
    ("WEBHOOK_MAX_ATTEMPTS", "30"),
    ("WEBHOOK_MAX_AGE_MS", "30000"),
    ("RULES_REFRESH_MS", "200"),
];

struct Bench {
    env: Env,
    p: Pipeline,
    key: String,
}

async fn bench(name: &str) -> anyhow::Result<Bench> {
    let env = Env::new(name).await?;
    let (_, key) = env.site_with_key(name).await?;
    let mut p = Pipeline::start_with(&env, FAST).await?;
    p.start_stage(Binary::Rules);
    p.start_stage(Binary::WebhookSink);
    Ok(Bench { env, p, key })
}

impl Bench {
    async fn post(&self, path: &str, body: Value) -> opsmantik_e2e::http::Reply {
        send(
            self.p
                .http
                .post(self.p.url(path))
                .header("x-api-key", &self.key)
                .json(&body),
        )
        .await
    }

    async fn webhook(&self, url: &str) -> String {
        let r = self
            .post(
                "/api/v1/webhooks",
                json!({ "url": url, "events": ["purchase_completed"], "secret": SECRET }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The rule of seed 002's example, sending to `webhooks`; waits until the processor has it.
    async fn rule(&self, webhooks: &[&str]) -> String {
        let actions: Vec<Value> = webhooks
            .iter()
            .map(|w| json!({ "type": "webhook", "webhook_id": w }))
            .collect();
        let body = json!({
            "name": "High Value Purchase",
            "conditions": { "event_name": "purchase_completed", "metadata.amount": { "$gt": 500 } },
            "actions": actions,
        });
        let r = self.post("/api/v1/rules", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        tokio::time::sleep(Duration::from_secs(2)).await; // picked up within RULES_REFRESH_MS
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Sends a purchase of `amount`; its event id.
    async fn purchase(&self, amount: i64) -> String {
        let r = self.post("/api/v1/events", json!({ "event_name": "purchase_completed", "user_id": "u1", "metadata": { "amount": amount } })).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["event_id"].as_str().unwrap().to_string()
    }

    async fn log(&self, sql: &str) -> u64 {
        self.env.count(sql).await.unwrap()
    }
}

async fn all_received(
    r: &Receiver,
    expected: &HashSet<String>,
    within: Duration,
) -> anyhow::Result<()> {
    wait_for("the deliveries at the receiver", within, || async {
        let ids = r.ids();
        if expected.is_subset(&ids) {
            Ok(())
        } else {
            Err(format!(
                "{} of {}",
                ids.intersection(expected).count(),
                expected.len()
            ))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_the_matching_events_are_delivered_signed() -> anyhow::Result<()> {
    let b = bench("webhooks_match").await?;
    let receiver = Receiver::start(200).await?;
    let hook = b.webhook(&receiver.url).await;
    let rule = b.rule(&[&hook]).await;
    let mut expected = HashSet::new();
    for amount in [501, 750, 10_000] {
        expected.insert(delivery_id(&b.purchase(amount).await, &rule, &hook));
    }
    for amount in [500, 20, -1] {
        b.purchase(amount).await;
    }
    b.post(
        "/api/v1/events",
        json!({ "event_name": "signed_up", "metadata": { "amount": 900 } }),
    )
    .await;
    all_received(&receiver, &expected, Duration::from_secs(60)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "exactly the three matching events: {got:?}");
    for r in &got {
        assert!(
            body_signature_ok(&r.body, SECRET),
            "body signature: {}",
            r.body
        );
        assert_eq!(
            r.signature,
            header_signature(SECRET, r.timestamp, r.body.as_bytes()),
            "header signature"
        );
        let body: Value = serde_json::from_str(&r.body)?;
        assert!(body["metadata"]["amount"].as_i64().unwrap() > 500);
        assert_eq!(
            (body["event_name"].as_str(), body["user_id"].as_str()),
            (Some("purchase_completed"), Some("u1"))
        );
    }
    wait_for("the delivery log", Duration::from_secs(30), || async {
        let r = send(
            b.p.http
                .get(b.p.url(&format!(
                    "/api/v1/webhooks/{hook}/deliveries?status=delivered"
                )))
                .header("x-api-key", &b.key),
        )
        .await;
        let n = r.body["deliveries"].as_array().map_or(0, Vec::len);
        if n == 3 {
            Ok(())
        } else {
            Err(r.body.to_string())
        }
    })
    .await?;
    drop(b.p);
    b.env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn down_refusing_and_hanging_receivers_do_not_hold_back_a_healthy_one() -> anyhow::Result<()>
{
    let b = bench("webhooks_failures").await?;
    let down_port = free_port();
    let (refusing, hanging, healthy) = (
        Receiver::start(400).await?,
        Receiver::start(0).await?,
        Receiver::start(204).await?,
    );
    let down = b
        .webhook(&format!("http://127.0.0.1:{down_port}/hook"))
        .await;
    let hooks = [
        down.clone(),
        b.webhook(&refusing.url).await,
        b.webhook(&hanging.url).await,
        b.webhook(&healthy.url).await,
    ];
    let rule = b
        .rule(&hooks.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let started = Instant::now();
    let mut events = Vec::new();
    for i in 0..5 {
        let sent = Instant::now();
        let event = b.purchase(600 + i).await;
        let id = delivery_id(&event, &rule, &hooks[3]);
        wait_for(
            "the healthy receiver, on time",
            Duration::from_secs(5),
            || async {
                if healthy.ids().contains(&id) {
                    Ok(())
                } else {
                    Err("not yet".to_string())
                }
            },
        )
        .await?;
        assert!(sent.elapsed() < Duration::from_secs(5));
        events.push(event);
    }
    // The receiver that was down comes up after 20 s and gets every delivery once.
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(started.elapsed())).await;
    let up = Receiver::start_at(down_port, 200).await?;
    let expected: HashSet<String> = events
        .iter()
        .map(|e| delivery_id(e, &rule, &down))
        .collect();
    all_received(&up, &expected, Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(up.received().len(), 5, "none twice");
    assert_eq!(refusing.received().len(), 5, "a 400 is not retried");
    // The hanging receiver: timeouts, retries, then given up at the maximum age, dead-lettered.
    wait_for("the hanging receiver's deliveries given up", Duration::from_secs(60), || async {
        let dead = b.log(&format!("SELECT count() FROM webhook_deliveries WHERE webhook_id = '{}' AND status = 'dead'", hooks[2])).await;
        if dead == 5 { Ok(()) } else { Err(format!("{dead} dead")) }
    })
    .await?;
    assert!(hanging.received().len() > 5, "retried after timeouts");
    let refused = b.log(&format!("SELECT count() FROM webhook_deliveries WHERE webhook_id = '{}' AND status = 'failed' AND error LIKE 'HTTP 400%'", hooks[1])).await;
    assert_eq!(refused, 5, "the log says why");
    wait_for(
        "the given-up deliveries in the dead-letter table",
        Duration::from_secs(30),
        || async {
            let n = b
                .log("SELECT count() FROM dead_letters WHERE reason = 'webhook_gave_up'")
                .await;
            if n == 10 {
                Ok(())
            } else {
                Err(format!("{n}"))
            }
        },
    )
    .await?;
    drop(b.p);
    b.env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_rules_processor_and_the_sink_mid_stream_loses_no_delivery(
) -> anyhow::Result<()> {
    let mut b = bench("webhooks_kill").await?;
    let receiver = Receiver::start(200).await?;
    let hook = b.webhook(&receiver.url).await;
    let rule = b.rule(&[&hook]).await;
    let mut expected = HashSet::new();
    for wave in 0..3 {
        for i in 0..10 {
            expected.insert(delivery_id(
                &b.purchase(1_000 + wave * 10 + i).await,
                &rule,
                &hook,
            ));
        }
        b.p.kill_stage(Binary::Rules);
        b.p.kill_stage(Binary::WebhookSink);
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.p.start_stage(Binary::Rules);
        b.p.start_stage(Binary::WebhookSink);
    }
    all_received(&receiver, &expected, Duration::from_secs(120)).await?;
    assert_eq!(
        receiver.ids(),
        expected,
        "every matching event delivered, nothing else"
    );
    drop(b.p);
    b.env.cleanup().await
}
