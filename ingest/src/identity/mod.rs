//! Sign-in (seed 003): e-mail codes → a JWT and a dashboard session cookie; `me`; logout. Codes are stored
//! only as SHA-256 hashes. Users, keys and the access check live in `auth`; this feature only signs in.

pub mod codes;
pub mod handlers;
pub mod mailer;

/// Sign-in settings.
#[derive(Debug, Clone, clap::Args)]
pub struct IdentityConfig {
    /// Requests per minute per client IP on the sign-in endpoints.
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
    /// Development only: write sign-in codes to the log at info level (refused with `--production`).
    #[arg(
        long = "dev-print-codes",
        env = "DEV_PRINT_CODES",
        default_value_t = false
    )]
    pub dev_print_codes: bool,
}

impl IdentityConfig {
    pub fn for_tests() -> Self {
        Self {
            auth_rate_per_minute: 100,
            smtp_url: String::new(),
            smtp_from: "no-reply@opsmantik.local".into(),
            dev_print_codes: false,
        }
    }
}

/// Sign-in state shared by handlers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub auth_rate_per_minute: u32,
    pub mailer: mailer::Mailer,
}

impl Identity {
    pub fn from_config(config: &IdentityConfig) -> Result<Self, String> {
        Ok(Self {
            auth_rate_per_minute: config.auth_rate_per_minute,
            mailer: mailer::Mailer::from_config(config)?,
        })
    }
}
