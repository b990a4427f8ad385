//! HTTP errors of the edge: one type, one `IntoResponse`, a stable machine code and a human message.
//! Body: `{ "ok": false, "error": { "code": "...", "message": "..." } }`. 5xx bodies never carry internals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
        }
    }

    /// The broker did not acknowledge in time: the client should retry; nothing was accepted.
    pub fn broker_unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "broker_unavailable",
            message: "the event could not be stored right now; retry later".into(),
        }
    }

    /// A dependency failed; the detail goes to the log, not to the client.
    pub fn unavailable(code: &'static str, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(code, error = %detail, "dependency failure");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code,
            message: "a backing service is unavailable; retry later".into(),
        }
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        Self {
            status: e.status(),
            code: e.snake_code(),
            message: e.message().into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "ok": false, "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}
