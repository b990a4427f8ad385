//! The control plane (seed 001): sites, members and their invitations, API keys — for signed-in users,
//! checked by `auth::access` on every route. Records live in Redis; every action is also an audit record
//! on `opsmantik.audit.v1`.

pub mod keys;
pub mod members;
pub mod sites;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::state::AppState;

/// The control routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sites/create", post(sites::create))
        .route("/api/create-test-site", post(sites::create_test_site))
        .route("/api/sites", get(sites::mine))
        .route("/api/sites/{id}", get(sites::get).patch(sites::patch))
        .route("/api/sites/{id}/rotate-secret", post(sites::rotate_secret))
        .route("/api/sites/{id}/keys", get(keys::list))
        .route("/api/sites/{id}/keys/{key_id}", delete(keys::revoke))
        .route("/api/auth/api-key", post(keys::create))
        .route("/api/sites/{id}/members", get(members::list))
        .route("/api/sites/{id}/members/{user_id}", delete(members::remove))
        .route("/api/customers/invite", post(members::invite))
        .route("/api/customers/invite-audit", post(members::invite_audit))
}
