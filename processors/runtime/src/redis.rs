//! Redis for the edge and the processors: connection settings, the shared connection manager, and the key layout. Keys that
//! are used together carry a `{site}` hash tag so Redis Cluster keeps them on one slot. A key prefix lets
//! tests (and side-by-side environments) share one Redis.

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

/// Redis settings.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisConfig {
    /// Redis URL.
    #[arg(
        id = "redis_url",
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub url: String,
    /// Prefix of every key this edge writes (empty in production).
    #[arg(
        long = "redis-key-prefix",
        env = "REDIS_KEY_PREFIX",
        default_value = ""
    )]
    pub key_prefix: String,
}

/// The edge's Redis handle: a connection made on first use (and retried on the next use while Redis is
/// down, so the edge starts and serves tracking without it), and the key layout.
#[derive(Clone)]
pub struct Store {
    client: ::redis::Client,
    conn: Arc<OnceCell<ConnectionManager>>,
    prefix: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Store {
    /// Checks the URL; does not connect yet.
    pub fn new(config: &RedisConfig) -> Result<Self, ::redis::RedisError> {
        Ok(Self {
            client: ::redis::Client::open(config.url.as_str())?,
            conn: Arc::new(OnceCell::new()),
            prefix: config.key_prefix.clone(),
        })
    }

    /// The shared connection (it reconnects by itself once made).
    pub async fn conn(&self) -> Result<ConnectionManager, ::redis::RedisError> {
        let cfg = ::redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(1);
        self.conn
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), cfg))
            .await
            .cloned()
    }

    /// A connection of its own for subscribing to channels (pub/sub cannot share the command connection).
    pub async fn pubsub(&self) -> Result<::redis::aio::PubSub, ::redis::RedisError> {
        self.client.get_async_pubsub().await
    }

    /// A key under this store's prefix.
    pub fn key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    /// A key of `site` with the site as hash tag.
    pub fn site_key(&self, kind: &str, site: &str, rest: &str) -> String {
        format!("{}{kind}:{{{site}}}:{rest}", self.prefix)
    }
}
