//! Edge settings: listen address, body limit, publish timeout, and the external systems.

use std::net::SocketAddr;
use std::time::Duration;

use crate::auth::AuthConfig;
use crate::callflow::CallflowConfig;
use crate::identity::IdentityConfig;
use opsmantik_runtime::config::{ClickHouseConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::redis::RedisConfig;

/// Everything the edge reads from flags and environment.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik HTTP edge")]
pub struct EdgeConfig {
    /// Address to listen on.
    #[arg(long, env = "EDGE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Largest accepted request body on the tracking endpoints (bytes).
    #[arg(long, env = "EDGE_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Longest a write waits for the broker's acknowledgement before answering 503 (ms).
    #[arg(long, env = "EDGE_PUBLISH_TIMEOUT_MS", default_value_t = 5000)]
    pub publish_timeout_ms: u64,
    /// Origins allowed on the tracking endpoints for every site, comma separated (each site adds its own).
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,
    /// Internal addresses webhooks may reach anyway, comma-separated addresses or CIDRs (e.g. `127.0.0.0/8`
    /// for tests); everything else internal is refused (`opsmantik_runtime::outbound`).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value = "")]
    pub webhook_allow_private: String,
    /// How often the edge reloads the sites from Redis (ms).
    #[arg(long, env = "SITE_REFRESH_MS", default_value_t = 2000)]
    pub site_refresh_ms: u64,
    /// Most visitors the edge's replica of the visitor index holds (about 150 bytes each).
    #[arg(long, env = "VISITOR_REPLICA_CAPACITY", default_value_t = 500_000)]
    pub visitor_replica_capacity: usize,
    /// Production mode: refuse to start with development settings (`--dev-print-codes`, empty or
    /// development secrets, a session cookie without `Secure`).
    #[arg(long, env = "OPSMANTIK_PRODUCTION", default_value_t = false)]
    pub production: bool,
    #[command(flatten)]
    pub server: ServerLimits,
    #[command(flatten)]
    pub limits: TrackingLimits,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub callflow: CallflowConfig,
    #[command(flatten)]
    pub identity: IdentityConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub clickhouse: ClickHouseConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// What one connection and one request may take of the edge.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerLimits {
    /// Requests in flight at once; past it, 503 `overloaded` (health and metrics excepted).
    #[arg(long, env = "EDGE_MAX_IN_FLIGHT", default_value_t = 4096)]
    pub max_in_flight: usize,
    /// How long a client may take to send a request's head (ms); then the connection is closed.
    #[arg(long, env = "EDGE_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// How long a client may take to send a request's body (ms); then the request fails with a 4xx.
    #[arg(long, env = "EDGE_BODY_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub body_read_timeout_ms: u64,
}

impl ServerLimits {
    pub fn for_tests() -> Self {
        Self {
            max_in_flight: 4096,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
        }
    }
}

/// Per-client-IP limits (0 = unlimited).
#[derive(Debug, Clone, clap::Args)]
pub struct TrackingLimits {
    /// `/api/sync` requests per minute per client IP.
    #[arg(long, env = "RATE_LIMIT_SYNC_PER_MINUTE", default_value_t = 100)]
    pub sync_per_minute: u64,
    /// `/api/call-event*` requests per minute per client IP.
    #[arg(long, env = "RATE_LIMIT_CALL_EVENT_PER_MINUTE", default_value_t = 50)]
    pub call_event_per_minute: u64,
    /// Refused (401) requests per minute per client IP on the API routes; past it, every API request from
    /// that IP gets 429 until the window slides.
    #[arg(long, env = "RATE_LIMIT_REFUSED_PER_MINUTE", default_value_t = 60)]
    pub refused_per_minute: u64,
    /// Proxies (comma-separated IPs) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
}

impl EdgeConfig {
    pub fn site_refresh(&self) -> Duration {
        Duration::from_millis(self.site_refresh_ms.max(100))
    }

    pub fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }

    /// In production mode, every reason the settings are development settings; empty when fine.
    pub fn production_problems(&self) -> Vec<String> {
        if !self.production {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.identity.dev_print_codes {
            problems.push("--dev-print-codes writes sign-in codes to the log".to_string());
        }
        for (name, value) in [
            ("JWT_SECRET", &self.auth.jwt_secret),
            ("PAGE_TOKEN_SECRET", &self.callflow.page_token_secret),
        ] {
            if let Some(why) = development_secret(value) {
                problems.push(format!("{name} {why}"));
            }
        }
        if !self.auth.cookie_secure {
            problems.push("COOKIE_SECURE must be set (session cookies over HTTPS only)".into());
        }
        problems
    }
}

/// Why `secret` is a development secret: empty, short, or one of the run command's (`dev-…`).
fn development_secret(secret: &str) -> Option<&'static str> {
    if secret.starts_with("dev-") || secret.contains("development") {
        Some("is a development secret")
    } else if secret.len() < 32 {
        Some("must be at least 32 characters")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::EdgeConfig::command().debug_assert();
    }

    #[test]
    fn production_mode_refuses_development_settings() {
        use clap::Parser;
        let strong = "x".repeat(40);
        let parse = |args: &[&str]| {
            let mut all = vec!["edge"];
            all.extend_from_slice(args);
            super::EdgeConfig::try_parse_from(all).unwrap()
        };
        assert!(parse(&["--dev-print-codes"])
            .production_problems()
            .is_empty());
        let dev = parse(&[
            "--production",
            "--dev-print-codes",
            "--jwt-secret",
            "dev-jwt",
        ]);
        assert_eq!(
            dev.production_problems().len(),
            4,
            "{:?}",
            dev.production_problems()
        );
        let good = parse(&[
            "--production",
            "--jwt-secret",
            &strong,
            "--page-token-secret",
            &strong,
            "--cookie-secure",
        ]);
        assert!(
            good.production_problems().is_empty(),
            "{:?}",
            good.production_problems()
        );
    }
}
