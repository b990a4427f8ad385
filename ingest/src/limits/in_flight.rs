//! A bound on requests in flight: past it the edge answers 503 `overloaded` (with `Retry-After: 1`) at once
//! instead of queueing work it cannot finish in time. Health and metrics are outside it, so an overloaded
//! edge can still say so.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::http::error::{ApiError, Shape};

/// Permits for requests in flight.
#[derive(Debug, Clone)]
pub struct InFlight(pub Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Middleware: a permit for the request's whole life, or 503.
pub async fn layer(State(limit): State<InFlight>, request: Request, next: Next) -> Response {
    let Ok(_permit) = limit.0.try_acquire() else {
        crate::ops::metrics::rejected("edge", "overloaded");
        let e = ApiError::new(
            Shape::Tracking,
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the edge is at its limit of requests in flight; retry shortly",
        );
        return e.with_retry_after(1).into_response();
    };
    next.run(request).await
}
