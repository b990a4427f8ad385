//! The local broker keeps what it acknowledged: a consumer resuming inside a record batch reads every record,
//! and a broker killed with SIGKILL comes back with every acknowledged record and committed offset. Both fail on
//! tansu's memory engine (it skips the rest of a batch and forgets everything on restart), which is why the
//! local stack runs the SQLite engine.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use opsmantik_e2e::broker::PrivateBroker;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn client(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("broker.address.family", "v4");
    c
}

async fn create_topic(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client(brokers).create()?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for r in admin.create_topics([&new], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| anyhow::anyhow!("create {t}: {e}"))?;
    }
    Ok(())
}

/// Produces `n` records round-robin over `partitions` and waits for every acknowledgement.
async fn produce(brokers: &str, topic: &str, partitions: i32, n: usize) -> anyhow::Result<()> {
    let producer: FutureProducer = client(brokers)
        .set("linger.ms", "50")
        .set("acks", "all")
        .create()?;
    let sends = (0..n).map(|i| {
        let payload = format!("r{i}");
        let producer = &producer;
        async move {
            let record = FutureRecord::to(topic)
                .partition(i as i32 % partitions)
                .key("k")
                .payload(&payload);
            producer
                .send(record, Duration::from_secs(10))
                .await
                .map_err(|(e, _)| anyhow::anyhow!("record {i} not acknowledged: {e}"))
        }
    });
    futures::future::try_join_all(sends).await?;
    Ok(())
}

fn consumer(brokers: &str, group: &str) -> anyhow::Result<BaseConsumer> {
    Ok(client(brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?)
}

/// Reads from `start` (per partition) until `want` records arrived or 30 s passed: (partition, offset) → payload.
fn read(
    c: &BaseConsumer,
    topic: &str,
    start: &[(i32, Offset)],
    want: usize,
) -> anyhow::Result<BTreeMap<(i32, i64), String>> {
    let mut tpl = TopicPartitionList::new();
    for (p, o) in start {
        tpl.add_partition_offset(topic, *p, *o)?;
    }
    c.assign(&tpl)?;
    let mut got = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < deadline {
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m?;
            let payload = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            got.insert((m.partition(), m.offset()), payload);
        }
    }
    Ok(got)
}

#[tokio::test]
async fn a_consumer_resuming_inside_a_record_batch_reads_every_record() -> anyhow::Result<()> {
    let brokers = opsmantik_e2e::brokers();
    let topic = format!("e2e_midbatch_{}", uuid::Uuid::new_v4().simple());
    create_topic(&brokers, &topic, 1).await?;
    // Ten records sent together (linger) travel as one record batch.
    produce(&brokers, &topic, 1, 10).await?;
    let group = format!("{topic}.group");
    let first = consumer(&brokers, &group)?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(5))?;
    first.assign(&tpl)?;
    first.commit(&tpl, CommitMode::Sync)?;
    drop(first);

    let resumed = consumer(&brokers, &group)?;
    let got = read(&resumed, &topic, &[(0, Offset::Stored)], 5)?;
    let offsets: Vec<i64> = got.keys().map(|(_, o)| *o).collect();
    assert_eq!(
        offsets,
        vec![5, 6, 7, 8, 9],
        "resuming at offset 5 reads 5..=9"
    );
    assert_eq!(got[&(0, 5)], "r5");
    Ok(())
}

#[tokio::test]
async fn a_broker_killed_and_restarted_keeps_every_acknowledged_record_and_offset(
) -> anyhow::Result<()> {
    let mut broker = PrivateBroker::start("sigkill")?;
    let brokers = broker.brokers();
    let (topic, partitions, n) = ("durable", 3, 3_000);
    create_topic(&brokers, topic, partitions).await?;
    produce(&brokers, topic, partitions, n).await?;
    let committer = consumer(&brokers, "readers")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Offset(500))?;
    }
    committer.assign(&tpl)?;
    committer.commit(&tpl, CommitMode::Sync)?;
    drop(committer);

    broker.kill();
    broker.restart()?;

    let fresh = consumer(&brokers, "fresh")?;
    let all: Vec<(i32, Offset)> = (0..partitions).map(|p| (p, Offset::Beginning)).collect();
    let got = read(&fresh, topic, &all, n)?;
    assert_eq!(
        got.len(),
        n,
        "every acknowledged record is back after SIGKILL"
    );
    let mut payloads: Vec<&String> = got.values().collect();
    payloads.sort();
    payloads.dedup();
    assert_eq!(payloads.len(), n, "no record twice, none missing");
    for p in 0..partitions {
        let (_, high) = fresh.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        assert_eq!(
            high,
            i64::from(n as i32 / partitions),
            "exact high watermark of partition {p}"
        );
    }

    let resumed = consumer(&brokers, "readers")?;
    let stored: Vec<(i32, Offset)> = (0..partitions).map(|p| (p, Offset::Stored)).collect();
    let rest = read(&resumed, topic, &stored, n - 1_500)?;
    assert_eq!(
        rest.len(),
        n - 1_500,
        "the group resumes at its committed offsets"
    );
    assert!(
        rest.keys().all(|(_, o)| *o >= 500),
        "nothing before the commit is re-read"
    );
    Ok(())
}
