//! Structured logs (`tracing`) and the Prometheus exporter.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::TelemetryConfig;
use crate::RuntimeError;

/// Installs the global log subscriber (text or JSON lines). Safe to call more than once.
pub fn init_logs(config: &TelemetryConfig) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Installs the global metrics recorder and returns a handle that renders the Prometheus text format
/// (the edge serves it on its own `/metrics` route).
pub fn install_recorder() -> Result<PrometheusHandle, RuntimeError> {
    PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| RuntimeError::Config(format!("metrics recorder: {e}")))
}

/// Installs the global metrics recorder with its own HTTP listener serving `/metrics` on `addr`
/// (processors and sinks).
pub fn serve_metrics(addr: std::net::SocketAddr) -> Result<(), RuntimeError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| RuntimeError::Config(format!("metrics listener on {addr}: {e}")))
}

/// The process-wide Prometheus handle: installs the recorder on first use. `None` when another recorder
/// was installed first (then metrics go there).
pub fn prometheus_handle() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| install_recorder().ok()).clone()
}
