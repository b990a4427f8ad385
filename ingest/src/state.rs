//! The one state every handler shares, built once at start-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use opsmantik_runtime::kafka::{OutRecord, Publisher};
use opsmantik_schemas::Topics;

use crate::callflow::CallflowState;
use crate::error::ApiError;

/// Shared handler state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub publisher: Arc<dyn Publisher>,
    pub topics: Topics,
    pub clickhouse: clickhouse::Client,
    pub prometheus: Option<PrometheusHandle>,
    pub publish_timeout: Duration,
    pub started: Instant,
    pub callflow: CallflowState,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("topics", &self.topics)
            .finish()
    }
}

impl AppState {
    /// Publishes one record and waits for the broker's acknowledgement, at most `publish_timeout`.
    pub async fn publish(&self, record: OutRecord, route: &'static str) -> Result<(), ApiError> {
        let sent = tokio::time::timeout(
            self.publish_timeout,
            self.publisher.publish_batch(vec![record]),
        )
        .await;
        match sent {
            Ok(results) if results.iter().all(Result::is_ok) && !results.is_empty() => {
                crate::metrics::stage().sent(1);
                Ok(())
            }
            Ok(results) => {
                let detail = results.into_iter().find_map(Result::err);
                tracing::warn!(route, error = ?detail, "publish failed");
                crate::metrics::publish_failed(route);
                Err(ApiError::broker_unavailable())
            }
            Err(_elapsed) => {
                tracing::warn!(route, "publish timed out");
                crate::metrics::publish_failed(route);
                Err(ApiError::broker_unavailable())
            }
        }
    }
}
