//! The seed-003 response shapes: `{ "success": true, "data" }` and
//! `{ "success": false, "error": { "code", "message", "details"? } }`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// A seed-003 error.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for `Retry-After` (429s).
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        crate::ops::metrics::rejected("api", code);
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// A dependency failed: logged, not shown.
    pub fn internal(code: &'static str, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(code, error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "internal error; retry later",
        )
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = d;
        }
        let mut response = (
            self.status,
            Json(json!({ "success": false, "error": error })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// A seed-003 success.
pub fn success(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({ "success": true, "data": data }))).into_response()
}
