//! The call queue to conversions (seed 001): the operator's queue (`GET /api/calls`), status changes and the
//! seal, auto-approval of low-risk stale intents, and the offline-conversion export for Google Ads.
//!
//! Where a call's current state lives: the call ledger in Redis (`opsmantik_runtime::call_ledger`). The
//! call-matcher's calls enter it through the Redis overlay; every change here is a compare-and-set on the
//! call's version there, then the new version on `opsmantik.calls.v1` (ClickHouse keeps them all), then an
//! audit record. Any edge sees the same ledger, so an operator reads their own write at once and two
//! operators never lose an update (docs/calls.md).

pub mod actions;
pub mod auto_approve;
pub mod change;
pub mod export;
pub mod oci;
pub mod queue;
pub mod store;
pub mod workflow;

#[cfg(test)]
mod handlers_tests;

use axum::routing::{get, post};
use axum::Router;

use crate::app::state::AppState;

/// The call-queue routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/calls", get(queue::list))
        .route("/api/intents/{id}/status", post(actions::status))
        .route("/api/calls/{id}/seal", post(actions::seal))
        .route("/api/jobs/auto-approve", post(auto_approve::handle))
        .route("/api/oci/export", get(export::csv))
        .route("/api/oci/export-batch", get(export::batch))
        .route("/api/oci/ack", post(export::ack))
}
