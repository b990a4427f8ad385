//! Dead letters for operators (seed 001's DLQ routes and `opsmantik-admin dlq`): list them with their reason
//! and replays, replay one (its record goes back to its source topic, for the stage that refused it), and the
//! audit of every replay. Global admins only. See `docs/operations.md`.

pub mod handlers;
pub mod replay;
pub mod store;
pub mod view;

use axum::routing::{get, post};
use axum::Router;

use crate::app::state::AppState;

/// The dead-letter routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sync/dlq/list", get(handlers::list))
        .route("/api/sync/dlq/replay", post(handlers::replay))
        .route("/api/sync/dlq/audit", get(handlers::audit))
}
