//! The router: every feature's routes merged, with the cross-cutting layers (CORS on tracking, per-IP
//! limits, body limits, request ids, tracing).

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use super::state::AppState;
use crate::http::error::ApiError;
use crate::limits::{self, Rule};
use crate::{
    analytics, automation, callflow, calls, control, dashboard, dlq, events, identity, ops,
    tracker, tracking,
};

/// Builds the router over `state`.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let ip = |rule| from_fn_with_state(state.ip_limit(rule), limits::ip::layer);
    let sync = Rule::per_minute("sync", state.limits.sync_per_minute);
    let call_event = Rule::per_minute("call_event", state.limits.call_event_per_minute);
    let tracking = Router::new()
        .route(
            "/api/sync",
            post(tracking::sync::post)
                .get(tracking::sync::diag)
                .options(preflight)
                .route_layer(ip(sync)),
        )
        .route(
            "/api/call-event",
            post(tracking::call_event::v1)
                .options(preflight)
                .route_layer(ip(call_event)),
        )
        .route(
            "/api/call-event/v2",
            post(tracking::call_event::v2)
                .options(preflight)
                .route_layer(ip(call_event)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.cors.clone(),
            crate::http::cors::layer,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    let events = Router::new()
        .route("/api/v1/events", post(events::handlers::single))
        .route("/api/v1/events/batch", post(events::handlers::batch))
        .layer(DefaultBodyLimit::max(events::MAX_BATCH_BYTES));
    // Refused (401) requests count against the client IP on every API route: past the limit, floods of
    // made-up keys or tokens are cut off before they cost a lookup. Health checks are not limited.
    let api = Router::new()
        .merge(events)
        .merge(callflow::routes(&state))
        .merge(control::routes())
        .merge(calls::routes())
        .merge(automation::routes())
        .merge(dlq::routes())
        .route("/api/v1/analytics/events", get(analytics::handlers::events))
        .route(
            "/api/v1/analytics/metrics",
            get(analytics::handlers::metrics),
        )
        .route("/api/v1/events/stats", get(analytics::handlers::stats))
        .route("/api/stats/realtime", get(analytics::site_stats::realtime))
        .route("/api/stats/reconcile", get(analytics::reconcile::get))
        .route("/api/sites/{id}/status", get(analytics::site_stats::status))
        .route(
            "/api/auth/request-code",
            post(identity::handlers::request_code),
        )
        .route("/api/auth/verify", post(identity::handlers::verify))
        .route("/api/auth/me", get(identity::handlers::me))
        .route("/api/auth/logout", post(identity::handlers::logout))
        .route("/api/v1/sites/{site}/summary", get(analytics::summary::get))
        .route_layer(from_fn_with_state(
            state.ip_limit(Rule::per_minute("refused", state.limits.refused_per_minute)),
            limits::ip::refusals_layer,
        ));
    // Every request but health and metrics holds a permit while in flight, and must send its body in time.
    let body_timeout = std::time::Duration::from_millis(state.server.body_read_timeout_ms);
    let in_flight = limits::in_flight::InFlight::new(state.server.max_in_flight);
    let guarded = Router::new()
        .merge(tracking)
        .merge(api)
        .layer(from_fn_with_state(in_flight, limits::in_flight::layer))
        .layer(RequestBodyTimeoutLayer::new(body_timeout));
    Router::new()
        .merge(guarded)
        .route("/api/health", get(ops::health::health))
        .route("/api/ready", get(ops::health::ready))
        .route("/api/live", get(ops::health::live))
        .route("/metrics", get(ops::health::metrics))
        .route("/tracker.js", get(tracker::get))
        .merge(dashboard::routes())
        .merge(super::openapi::routes())
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                crate::http::error::Shape::Tracking,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
        })
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(crate::http::request_id::assign))
        .with_state(state)
}

/// Preflights are answered by the CORS layer; this only runs if the layer let one through.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The log span of a request, carrying its id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<crate::http::request_id::RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}
