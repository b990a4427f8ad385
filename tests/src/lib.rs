//! End-to-end harness: runs the real binaries (`opsmantik-edge`, `opsmantik-sessionizer`,
//! `opsmantik-clickhouse-sink`) against the local stack from `deploy/local/stack up`.
//!
//! Every test gets its own [`Env`]: a topic namespace and a ClickHouse database of its own, so tests run in
//! parallel and never see each other's data. Child processes are killed when their [`Service`] is dropped.
//! Connection settings come from `KAFKA_BROKERS` and `CLICKHOUSE_URL` (the stack's defaults otherwise).

pub mod accounts;
pub mod bench;
pub mod broker;
pub mod browser;
pub mod contract;
pub mod http;
mod pipeline;
pub mod receiver;
mod service;
pub mod smtp;
pub mod traffic;
pub mod visit;

use std::future::Future;
use std::time::{Duration, Instant};

use opsmantik_runtime::config::{ClickHouseConfig, KafkaConfig};

pub use pipeline::{hit, Pipeline};
pub use service::{free_port, run_for_code, run_to_end, Binary, Service};

/// Kafka and ClickHouse addresses of the local stack.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn clickhouse_url() -> String {
    std::env::var("CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

/// One test's isolated slice of the stack.
#[derive(Debug)]
pub struct Env {
    pub name: String,
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
}

impl Env {
    /// Creates the topics and the database (with migrations) for a test called `test`.
    pub async fn new(test: &str) -> anyhow::Result<Self> {
        Self::on_brokers(test, &brokers()).await
    }

    /// Like [`new`](Self::new), on the broker(s) at `brokers` (e.g. a [`broker::PrivateBroker`]).
    pub async fn on_brokers(test: &str, brokers: &str) -> anyhow::Result<Self> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("e2e_{test}_{}", &suffix[..8]);
        let kafka = KafkaConfig::for_tests(brokers, &name);
        let clickhouse = ClickHouseConfig::for_tests(&clickhouse_url(), &name);
        opsmantik_runtime::kafka::create_topics(&kafka).await?;
        opsmantik_runtime::clickhouse::migrate(&clickhouse).await?;
        Ok(Self {
            name,
            kafka,
            clickhouse,
        })
    }

    /// Environment variables that point a binary at this test's topics and database.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("KAFKA_BROKERS".into(), self.kafka.brokers.clone()),
            ("TOPIC_NAMESPACE".into(), self.kafka.namespace.clone()),
            ("CLICKHOUSE_URL".into(), self.clickhouse.url.clone()),
            (
                "CLICKHOUSE_DATABASE".into(),
                self.clickhouse.database.clone(),
            ),
            ("BATCH_MAX_WAIT_MS".into(), "200".into()),
            (
                "KAFKA_SESSION_TIMEOUT_MS".into(),
                self.kafka.session_timeout_ms.to_string(),
            ),
            ("REDIS_URL".into(), redis_url()),
            ("SITE_REFRESH_MS".into(), "200".into()),
            // Tests send from one address; the per-IP limits have tests of their own.
            ("RATE_LIMIT_SYNC_PER_MINUTE".into(), "0".into()),
            ("RATE_LIMIT_CALL_EVENT_PER_MINUTE".into(), "0".into()),
            ("RATE_LIMIT_REFUSED_PER_MINUTE".into(), "0".into()),
            ("REDIS_KEY_PREFIX".into(), format!("{}:", self.name)),
            ("JWT_SECRET".into(), format!("jwt-secret-{}", self.name)),
            (
                "RUST_LOG".into(),
                std::env::var("E2E_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ];
        // E2E_KAFKA_DEBUG=cgrp,... turns on librdkafka's debug logs in every binary.
        if let Ok(debug) = std::env::var("E2E_KAFKA_DEBUG") {
            vars.push(("KAFKA_DEBUG".into(), debug));
        }
        vars
    }

    /// This test's Redis (its own key prefix).
    pub fn redis(&self) -> anyhow::Result<opsmantik_runtime::redis::Store> {
        let config = opsmantik_runtime::redis::RedisConfig {
            url: redis_url(),
            key_prefix: format!("{}:", self.name),
        };
        Ok(opsmantik_runtime::redis::Store::new(&config)?)
    }

    /// Creates a site (before the pipeline starts, or at most `SITE_REFRESH_MS` before it is used).
    pub async fn create_site(
        &self,
        name: &str,
        origins: &[&str],
    ) -> anyhow::Result<opsmantik_ingest::sites::Site> {
        let new = opsmantik_ingest::sites::NewSite {
            public_id: None,
            name: name.to_string(),
            domain: format!("{name}.example"),
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            time_zone: None,
        };
        Ok(opsmantik_ingest::sites::create(&self.redis()?, new).await?)
    }

    /// Creates an API key of `site` with every scope and the default rate (as its owner would).
    pub async fn create_key(&self, site: &opsmantik_ingest::sites::Site) -> anyhow::Result<String> {
        use opsmantik_ingest::auth::keys::{self, NewKey, Scope};
        let new = NewKey {
            site_public_id: &site.public_id,
            site_id: &site.id,
            user_id: "test-owner",
            name: "test key",
            rate_per_minute: 1000,
            scopes: &Scope::ALL,
        };
        Ok(keys::create(&self.redis()?, new).await?.0)
    }

    /// A new site and a key of it.
    pub async fn site_with_key(
        &self,
        name: &str,
    ) -> anyhow::Result<(opsmantik_ingest::sites::Site, String)> {
        let site = self.create_site(name, &[]).await?;
        let key = self.create_key(&site).await?;
        Ok((site, key))
    }

    /// A ClickHouse client on this test's database.
    pub fn ch(&self) -> clickhouse::Client {
        opsmantik_runtime::clickhouse::client(&self.clickhouse)
    }

    /// Runs a query returning one number.
    pub async fn count(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(self.ch().query(sql).fetch_one::<u64>().await?)
    }

    /// Drops the test's database (topics stay; the broker's memory engine forgets them on restart).
    pub async fn cleanup(self) -> anyhow::Result<()> {
        opsmantik_runtime::clickhouse::drop_database(&self.clickhouse).await?;
        Ok(())
    }
}

/// Polls `probe` every 250 ms until it returns `Ok`, or fails after `timeout` with the last state seen.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    wait_for_every(what, timeout, Duration::from_millis(250), probe).await
}

/// [`wait_for`], polling every `every` (for timings that need a finer resolution).
pub async fn wait_for_every<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(last) if started.elapsed() > timeout => {
                anyhow::bail!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    opsmantik_runtime::now_ms()
}
