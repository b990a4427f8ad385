//! A poison record on the tracking topic goes to the DLQ (and on to ClickHouse) with a reason code, and the
//! partition keeps flowing behind it.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::{hit, wait_for, Env, Pipeline};
use opsmantik_runtime::kafka::{KafkaPublisher, OutRecord};
use opsmantik_schemas::Topic;

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Letter {
    source_topic: String,
    stage: String,
    reason: String,
    payload: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_is_dead_lettered_and_does_not_block_its_partition() -> anyhow::Result<()> {
    let env = Env::new("poison").await?;
    let site = env.create_site("poison", &[]).await?.public_id;
    let p = Pipeline::start(&env).await?;
    let publisher = KafkaPublisher::new(&env.kafka)?;
    // Same key as the visitor below: same partition, and the poison comes first.
    publisher
        .publish_one(OutRecord {
            topic: env.kafka.topics().name(Topic::Tracking),
            key: format!("{site}:fpP").into_bytes(),
            payload: b"this is not avro".to_vec(),
            replay: None,
        })
        .await?;
    let (status, _) = p
        .post(
            "/api/sync",
            &hit(&site, "fpP", "SP", "https://x/", 0, "after"),
        )
        .await?;
    assert_eq!(status, 200);

    wait_for(
        "the hit behind the poison record",
        Duration::from_secs(90),
        || async {
            match env
                .count("SELECT uniqExact(event_id) FROM events WHERE label = 'after'")
                .await
            {
                Ok(1) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await?;
    let letters: Vec<Letter> = wait_for(
        "the dead letter in ClickHouse",
        Duration::from_secs(90),
        || async {
            let rows: Vec<Letter> = env
                .ch()
                .query("SELECT ?fields FROM dead_letters FINAL")
                .fetch_all()
                .await
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                Err("none yet".into())
            } else {
                Ok(rows)
            }
        },
    )
    .await?;
    assert_eq!(letters.len(), 1);
    let l = &letters[0];
    assert_eq!(l.source_topic, env.kafka.topics().name(Topic::Tracking));
    assert_eq!(
        (l.stage.as_str(), l.reason.as_str()),
        ("sessionizer", "undecodable")
    );
    let raw: String = env
        .ch()
        .query("SELECT unhex(payload) FROM dead_letters")
        .fetch_one()
        .await?;
    assert_eq!(raw, "this is not avro", "the raw bytes are kept for replay");
    assert_eq!(l.payload.len(), "this is not avro".len() * 2);

    drop(p);
    env.cleanup().await
}
