//! The access layer every feature calls: the one API-key system (scoped, per site), signed-in users (JWT
//! or session cookie), and the access check (`access::site`). Features never authenticate on their own.
//!
//! Not here: the sign-in flow (codes, mail) lives in `identity`; managing sites, members and keys lives
//! in `control`. Both use this module.

pub mod access;
pub mod error;
pub mod jwt;
pub mod keys;
pub mod principal;
pub mod sessions;
pub mod signature;
pub mod store;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use access::Need;
pub use error::AuthError;
pub use principal::{api_key, identify, Caller, Principal, SignedIn};

/// Authentication settings.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// HS256 secret for JWTs; the same value on every edge instance. Empty: random per process
    /// (refused with `--production`).
    #[arg(long = "jwt-secret", env = "JWT_SECRET", default_value = "")]
    pub jwt_secret: String,
    /// Lifetime of a JWT and of a dashboard session (seconds).
    #[arg(
        long = "jwt-ttl-seconds",
        env = "JWT_TTL_SECONDS",
        default_value_t = 86_400
    )]
    pub jwt_ttl_seconds: u64,
    /// Events per minute of a new API key; higher rates are for admins to grant.
    #[arg(
        long = "api-key-default-rate",
        env = "API_KEY_DEFAULT_RATE",
        default_value_t = 1000
    )]
    pub default_key_rate: u32,
    /// Mark the session cookie `Secure` (HTTPS only). Forced on with `--production`.
    #[arg(long = "cookie-secure", env = "COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,
}

impl AuthConfig {
    pub fn for_tests() -> Self {
        Self {
            jwt_secret: "test jwt secret".into(),
            jwt_ttl_seconds: 3600,
            default_key_rate: 1000,
            cookie_secure: false,
        }
    }
}

/// Authentication state shared by handlers.
#[derive(Debug, Clone)]
pub struct AuthState {
    pub jwt: Arc<jwt::JwtKeys>,
    pub keys: Arc<keys::KeyCache>,
    pub session_ttl_secs: u64,
    pub cookie_secure: bool,
    pub default_key_rate: u32,
}

impl AuthState {
    pub fn from_config(config: &AuthConfig) -> Self {
        let secret = if config.jwt_secret.is_empty() {
            tracing::warn!(
                "JWT_SECRET is empty: tokens are valid on this instance, until it restarts"
            );
            uuid::Uuid::new_v4().to_string()
        } else {
            config.jwt_secret.clone()
        };
        Self {
            jwt: Arc::new(jwt::JwtKeys::new(secret.as_bytes(), config.jwt_ttl_seconds)),
            keys: Arc::new(keys::KeyCache::default()),
            session_ttl_secs: config.jwt_ttl_seconds,
            cookie_secure: config.cookie_secure,
            default_key_rate: config.default_key_rate,
        }
    }
}

/// Hex SHA-256: how keys, codes and session ids are stored.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}
