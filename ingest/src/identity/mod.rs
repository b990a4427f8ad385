//! Identity (seed 003): email sign-in codes, JWTs, users, and API keys (`evp_…`) that belong to a site.
//! Everything lives in Redis; codes and keys are stored only as SHA-256 hashes.

pub mod codes;
pub mod handlers;
pub mod jwt;
pub mod keys;
pub mod mailer;
pub mod reply;

use std::sync::Arc;

/// Identity settings.
#[derive(Debug, Clone, clap::Args)]
pub struct IdentityConfig {
    /// HS256 secret for JWTs; set the same value on every edge instance. Empty: random per process.
    #[arg(long = "jwt-secret", env = "JWT_SECRET", default_value = "")]
    pub jwt_secret: String,
    /// JWT lifetime (seconds).
    #[arg(
        long = "jwt-ttl-seconds",
        env = "JWT_TTL_SECONDS",
        default_value_t = 86_400
    )]
    pub jwt_ttl_seconds: u64,
    /// Events per minute a new API key may send (0 = unlimited).
    #[arg(
        long = "api-key-default-rate",
        env = "API_KEY_DEFAULT_RATE",
        default_value_t = 1000
    )]
    pub default_key_rate: u32,
    /// Requests per minute per client IP on the auth endpoints.
    #[arg(
        long = "auth-rate-per-minute",
        env = "AUTH_RATE_PER_MINUTE",
        default_value_t = 100
    )]
    pub auth_rate_per_minute: u32,
    /// SMTP relay for sign-in codes, `smtp://host:port`; empty: codes go to the debug log.
    #[arg(long = "smtp-url", env = "SMTP_URL", default_value = "")]
    pub smtp_url: String,
    /// Sender address of sign-in mails.
    #[arg(
        long = "smtp-from",
        env = "SMTP_FROM",
        default_value = "no-reply@opsmantik.local"
    )]
    pub smtp_from: String,
}

impl IdentityConfig {
    pub fn for_tests() -> Self {
        Self {
            jwt_secret: "test jwt secret".into(),
            jwt_ttl_seconds: 3600,
            default_key_rate: 1000,
            auth_rate_per_minute: 100,
            smtp_url: String::new(),
            smtp_from: "no-reply@opsmantik.local".into(),
        }
    }
}

/// Identity state shared by handlers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub jwt: Arc<jwt::JwtKeys>,
    pub default_key_rate: u32,
    pub auth_rate_per_minute: u32,
    pub keys: Arc<keys::KeyCache>,
    pub mailer: mailer::Mailer,
}

impl Identity {
    pub fn from_config(config: &IdentityConfig) -> Result<Self, String> {
        let secret = if config.jwt_secret.is_empty() {
            tracing::warn!(
                "JWT_SECRET is empty: tokens are valid on this instance, until it restarts"
            );
            uuid::Uuid::new_v4().to_string()
        } else {
            config.jwt_secret.clone()
        };
        Ok(Self {
            jwt: Arc::new(jwt::JwtKeys::new(secret.as_bytes(), config.jwt_ttl_seconds)),
            default_key_rate: config.default_key_rate,
            auth_rate_per_minute: config.auth_rate_per_minute,
            keys: Arc::new(keys::KeyCache::default()),
            mailer: mailer::Mailer::from_url(&config.smtp_url, &config.smtp_from)?,
        })
    }
}
