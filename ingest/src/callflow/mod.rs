//! The Callflow API (seed 004): store call-flow events (`POST /callflow/events` → `opsmantik.callflow.v1` →
//! ClickHouse), list them with filters and signed page tokens, fetch one by id. The site's API keys (the one
//! key system) and a per-key rate limit guard every route; errors use the seed's shape with the request id.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod store;
pub mod token;
pub mod validate;

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use crate::app::state::AppState;
use crate::limits::Rule;
use auth::Guard;

/// Callflow settings.
#[derive(Debug, Clone, clap::Args)]
pub struct CallflowConfig {
    /// Sustained requests per second per key.
    #[arg(
        long = "callflow-rate-per-second",
        env = "CALLFLOW_RATE_PER_SECOND",
        default_value_t = 100
    )]
    pub rate_per_second: u32,
    /// Burst size per key.
    #[arg(
        long = "callflow-rate-burst",
        env = "CALLFLOW_RATE_BURST",
        default_value_t = 200
    )]
    pub rate_burst: u32,
    /// Secret that signs page tokens; set the same value on every edge instance. Empty: a random secret per
    /// process (tokens then only work on the instance that issued them).
    #[arg(
        long = "page-token-secret",
        env = "PAGE_TOKEN_SECRET",
        default_value = ""
    )]
    pub page_token_secret: String,
}

/// Callflow state shared by handlers.
#[derive(Debug, Clone)]
pub struct CallflowState {
    /// The per-key rate (sustained rate, burst).
    pub rule: Rule,
    pub token_secret: Arc<Vec<u8>>,
}

impl CallflowState {
    pub fn from_config(config: &CallflowConfig) -> Result<Self, String> {
        let per_second =
            NonZeroU32::new(config.rate_per_second).ok_or("callflow rate must be above 0")?;
        let burst = NonZeroU32::new(config.rate_burst).ok_or("callflow burst must be above 0")?;
        let token_secret = if config.page_token_secret.is_empty() {
            tracing::warn!(
                "PAGE_TOKEN_SECRET is empty: page tokens are valid on this instance only"
            );
            uuid::Uuid::new_v4().as_bytes().to_vec()
        } else {
            config.page_token_secret.as_bytes().to_vec()
        };
        Ok(Self {
            rule: Rule::per_second_with_burst(
                "callflow",
                u64::from(per_second.get()),
                u64::from(burst.get()),
            ),
            token_secret: Arc::new(token_secret),
        })
    }
}

impl CallflowConfig {
    /// The seed's default rate, a fixed token secret.
    pub fn for_tests() -> Self {
        Self {
            rate_per_second: 100,
            rate_burst: 200,
            page_token_secret: "test page token secret".into(),
        }
    }
}

/// The callflow routes, behind the key guard.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/callflow/events",
            post(handlers::create).get(handlers::list),
        )
        .route("/callflow/events/{event_id}", get(handlers::get_one))
        .layer(from_fn_with_state(
            Guard {
                state: state.clone(),
                rule: state.callflow.rule,
            },
            auth::guard,
        ))
}
