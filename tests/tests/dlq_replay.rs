//! The dead-letter routes end to end, with the real binaries: poison records on the tracking topic (bytes that
//! are not Avro, a record of the wrong type) and a webhook delivery its receiver refused are listed with their
//! reasons; a replay of a poison record fails again and says so (`replay_count` 1, the stage's error); the
//! refused delivery, replayed after the receiver is fixed, arrives once — and a second replay adds nothing;
//! the audit names the admin who replayed what. Non-admins get 403.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{grant_admin, sign_in};
use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::receiver::Receiver;
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{run_for_code, wait_for, Binary, Env, Pipeline};
use opsmantik_runtime::kafka::{KafkaPublisher, OutRecord};
use opsmantik_schemas::{encode, samples, Topic};
use serde_json::{json, Value};

const ADMIN: &str = "ops@dlq.example";

struct Ops {
    p: Pipeline,
    admin: String,
}

impl Ops {
    async fn get(&self, path: &str) -> Reply {
        send(self.p.http.get(self.p.url(path)).bearer_auth(&self.admin)).await
    }

    async fn replay(&self, id: &str) -> Reply {
        // Ids hold only `:`, `.`, `-`, `_` and alphanumerics: safe in a query as they are.
        let url = self.p.url(&format!("/api/sync/dlq/replay?id={id}"));
        send(self.p.http.post(url).bearer_auth(&self.admin)).await
    }

    /// Waits until the list with `query` has `n` items and returns them.
    async fn listed(&self, query: &str, n: usize) -> Vec<Value> {
        let path = format!("/api/sync/dlq/list?{query}");
        wait_for(
            &format!("{n} dead letters for {query}"),
            Duration::from_secs(90),
            || async {
                let r = self.get(&path).await;
                match r.body["items"].as_array() {
                    Some(items) if r.status == 200 && items.len() == n => Ok(items.clone()),
                    _ => Err(format!("{} {}", r.status, r.body)),
                }
            },
        )
        .await
        .unwrap()
    }

    /// Waits until dead letter `id` shows `count` replays and returns it.
    async fn replayed(&self, query: &str, id: &str, count: u64) -> Value {
        let path = format!("/api/sync/dlq/list?{query}");
        wait_for(
            &format!("{id} replayed {count}×"),
            Duration::from_secs(60),
            || async {
                let r = self.get(&path).await;
                let item = r.body["items"].as_array().and_then(|items| {
                    items
                        .iter()
                        .find(|i| i["id"] == id && i["replay_count"] == count)
                        .cloned()
                });
                item.ok_or_else(|| r.body.to_string())
            },
        )
        .await
        .unwrap()
    }
}

/// A webhook to `url` and a rule sending every purchase to it, through the site's key.
async fn refused_purchase(p: &Pipeline, key: &str, url: &str) -> String {
    let post = |path: &str, body: Value| {
        send(
            p.http
                .post(p.url(path))
                .header("x-api-key", key)
                .json(&body),
        )
    };
    let hook = post(
        "/api/v1/webhooks",
        json!({ "url": url, "events": ["purchase_completed"], "secret": "receiver-secret" }),
    )
    .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let rule = json!({ "name": "all purchases", "conditions": { "event_name": "purchase_completed" },
        "actions": [{ "type": "webhook", "webhook_id": hook.body["id"] }] });
    assert_eq!(post("/api/v1/rules", rule).await.status, 201);
    tokio::time::sleep(Duration::from_secs(2)).await; // the processor picks the rule up
    let event = json!({ "event_name": "purchase_completed", "user_id": "u1", "metadata": { "amount": 10 } });
    let r = post("/api/v1/events", event).await;
    assert_eq!(r.status, 200, "{}", r.body);
    hook.body["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_replayed_and_audited() -> anyhow::Result<()> {
    let env = Env::new("dlq_replay").await?;
    let (site, key) = env.site_with_key("dlq").await?;
    let (smtp, inbox) = Inbox::start().await?;
    let vars = [
        ("SMTP_URL", smtp.as_str()),
        ("WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8"),
        ("RULES_REFRESH_MS", "200"),
    ];
    let mut p = Pipeline::start_with(&env, &vars).await?;
    p.start_stage(Binary::Rules);
    p.start_stage(Binary::WebhookSink);
    let admin = sign_in(&p, &inbox, ADMIN).await?;
    grant_admin(&env, ADMIN)?;
    let plain = sign_in(&p, &inbox, "someone@dlq.example").await?;
    let ops = Ops { p, admin };

    // Two poison records on the tracking topic, and a delivery its receiver refuses with 400.
    let tracking = env.kafka.topics().name(Topic::Tracking);
    let publisher = KafkaPublisher::new(&env.kafka)?;
    let poison_key = format!("{}:fpP", site.public_id).into_bytes();
    let wrong = encode(&opsmantik_schemas::ProductEvent {
        site: site.public_id.clone(),
        ..samples::product_event()
    })?;
    for payload in [b"this is not avro".to_vec(), wrong] {
        publisher
            .publish_one(OutRecord::new(
                tracking.clone(),
                poison_key.clone(),
                payload,
            ))
            .await?;
    }
    // Bytes that are not Avro on every other input topic too: each stage reading it files its own dead letter.
    let others = [Topic::ProductEvents, Topic::Callflow, Topic::CallIntents];
    for topic in others {
        let record = OutRecord::new(
            env.kafka.topics().name(topic),
            poison_key.clone(),
            b"\x00garbage".to_vec(),
        );
        publisher.publish_one(record).await?;
    }
    let refusing = Receiver::start(400).await?;
    let port: u16 = refusing
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()?;
    refused_purchase(&ops.p, &key, &refusing.url).await;

    let inputs: Vec<String> = [Topic::Tracking]
        .iter()
        .chain(&others)
        .map(|t| env.kafka.topics().name(*t))
        .collect();
    wait_for(
        "a dead letter from every input topic",
        Duration::from_secs(90),
        || async {
            let r = ops
                .get("/api/sync/dlq/list?reason=undecodable&limit=200")
                .await;
            let seen: Vec<&str> = r.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["source_topic"].as_str())
                .collect();
            let missing: Vec<&String> = inputs
                .iter()
                .filter(|t| !seen.contains(&t.as_str()))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("none yet from {missing:?}"))
            }
        },
    )
    .await?;
    let poison = ops.listed("stage=sessionizer", 2).await;
    let reasons: Vec<&str> = poison
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"undecodable") && reasons.contains(&"wrong_record"),
        "{reasons:?}"
    );
    let given_up = ops.listed("reason=webhook_gave_up", 1).await;
    let letter = given_up[0]["id"].as_str().unwrap().to_string();
    assert_eq!(given_up[0]["stage"], "webhooks");
    assert_eq!(given_up[0]["replay_count"], 0);
    assert!(
        given_up[0]["error"].as_str().unwrap().contains("HTTP 400"),
        "{}",
        given_up[0]
    );
    // Filed under the site of the record they carry: the refused delivery and the wrong record, not the bytes.
    let of_site = ops.listed(&format!("siteDbId={}", site.id), 2).await;
    assert!(
        of_site
            .iter()
            .all(|i| i["site_id"] == site.public_id.as_str()),
        "{of_site:?}"
    );
    let r = send(
        ops.p
            .http
            .get(ops.p.url("/api/sync/dlq/list"))
            .bearer_auth(&plain),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (403, Some("forbidden"))
    );

    // Replaying bytes that are not Avro fails again in the sessionizer, and the list says so.
    let bytes = poison
        .iter()
        .find(|i| i["reason"] == "undecodable")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let r = ops.replay(bytes).await;
    assert_eq!(
        (r.status, r.body["replay_count"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    let again = ops.replayed("stage=sessionizer", bytes, 1).await;
    wait_for(
        "the second failure on record",
        Duration::from_secs(60),
        || async {
            let item = ops.replayed("stage=sessionizer", bytes, 1).await;
            match item["last_replay_error"].as_str() {
                Some(e) if e.starts_with("undecodable") => Ok(()),
                _ => Err(item.to_string()),
            }
        },
    )
    .await?;
    assert!(again["last_replay_at"].is_string(), "{again}");

    // The receiver is fixed; the refused delivery, replayed twice, arrives once.
    drop(refusing);
    let fixed = wait_for("the fixed receiver up", Duration::from_secs(10), || async {
        Receiver::start_at(port, 200)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let r = ops.replay(&letter).await;
    assert_eq!(
        (r.status, r.body["replay_count"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    wait_for("the replayed delivery", Duration::from_secs(60), || async {
        match fixed.received().len() {
            1 => Ok(()),
            n => Err(format!("{n} requests")),
        }
    })
    .await?;
    assert_eq!(ops.replay(&letter).await.body["replay_count"], 2);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fixed.received().len(), 1, "a second replay sent it again");
    let item = ops.replayed("reason=webhook_gave_up", &letter, 2).await;
    assert_eq!(item["last_replay_error"], Value::Null, "{item}");

    // A made-up id, a missing id, a non-admin.
    assert_eq!(ops.replay("nope").await.status, 400);
    assert_eq!(
        ops.replay(&format!("{tracking}:0:999999:sessionizer"))
            .await
            .status,
        404
    );
    let url = ops.p.url(&format!("/api/sync/dlq/replay?id={letter}"));
    let r = send(ops.p.http.post(url).bearer_auth(&plain)).await;
    assert_eq!(r.status, 403);

    // The audit: who replayed what, newest first.
    let audit: Vec<Value> = wait_for("the replays audited", Duration::from_secs(60), || async {
        let r = ops
            .get(&format!("/api/sync/dlq/audit?dlqId={letter}"))
            .await;
        match r.body["items"].as_array() {
            Some(items) if items.len() == 2 => Ok(items.clone()),
            _ => Err(r.body.to_string()),
        }
    })
    .await?;
    assert!(audit
        .iter()
        .all(|a| a["replayed_by_email"] == ADMIN && a["dlq_id"] == letter.as_str()));
    let counts: Vec<&Value> = audit.iter().map(|a| &a["replay_count_after"]).collect();
    assert_eq!(counts, [&json!(2), &json!(1)]);
    cli_replays_what_was_not_replayed(&env, &ops, &poison).await;
    let all = ops.get("/api/sync/dlq/audit").await;
    assert_eq!(all.body["count"], 4, "{}", all.body);
    env.cleanup().await
}

/// `opsmantik-admin dlq replay`: a dry run names only the poison record never replayed; the run replays it;
/// once the stage refused it again, a second run skips both (safe to run again).
async fn cli_replays_what_was_not_replayed(env: &Env, ops: &Ops, poison: &[Value]) {
    let admin = |args: &[&str]| {
        let (code, out) = run_for_code(Binary::Admin, &env.vars(), args);
        let report: Value = serde_json::from_str(out.lines().next().unwrap_or_default())
            .unwrap_or_else(|_| panic!("{out}"));
        (code, report)
    };
    let wrong = poison
        .iter()
        .find(|i| i["reason"] == "wrong_record")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let select = [
        "--json",
        "dlq",
        "replay",
        "--stage",
        "sessionizer",
        "--since",
        "1h",
    ];
    let (code, dry) = admin(&[&select[..], &["--dry-run"]].concat());
    assert_eq!(
        (code, &dry["would_replay"]),
        (Some(0), &json!([wrong])),
        "{dry}"
    );
    let (code, run) = admin(&select);
    assert_eq!(
        (code, &run["replayed"], &run["skipped"]),
        (Some(0), &json!(1), &json!(1)),
        "{run}"
    );
    ops.replayed("stage=sessionizer", wrong, 1).await;
    wait_for(
        "the wrong record refused again",
        Duration::from_secs(60),
        || async {
            let item = ops.replayed("stage=sessionizer", wrong, 1).await;
            item["last_replay_error"]
                .as_str()
                .filter(|e| e.starts_with("wrong_record"))
                .map(drop)
                .ok_or(item.to_string())
        },
    )
    .await
    .unwrap();
    let (code, again) = admin(&select);
    assert_eq!(code, Some(0), "{again}");
    assert_eq!(
        (
            &again["replayed"],
            &again["skipped"],
            &again["skipped_failed_again"]
        ),
        (&json!(0), &json!(2), &json!(2))
    );
    let (code, listed) = admin(&["--json", "dlq", "list", "--reason", "webhook_gave_up"]);
    assert_eq!((code, &listed["count"]), (Some(0), &json!(1)), "{listed}");
    let (code, _) = admin(&["--json", "dlq", "list", "--site", "no-such-site"]);
    assert_eq!(code, Some(3));
}
