//! Callflow errors in the seed-004 shape:
//! `{ "statusCode", "error": { "code", "message", "details": [{ "field", "message" }] }, "requestId" }`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::http::request_id::RequestId;

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A callflow error answered to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct CallflowError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    pub request_id: RequestId,
    /// Seconds until a rate-limited caller may retry.
    pub retry_after: Option<u64>,
}

impl CallflowError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        request_id: &RequestId,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            request_id: request_id.clone(),
            retry_after: None,
        }
    }

    pub fn validation(
        message: impl Into<String>,
        details: Vec<FieldError>,
        request_id: &RequestId,
    ) -> Self {
        Self {
            details,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                message,
                request_id,
            )
        }
    }

    /// A dependency failed; the detail goes to the log under the request id, not to the client.
    pub fn unavailable(detail: &dyn std::fmt::Display, request_id: &RequestId) -> Self {
        tracing::error!(request_id = %request_id.0, error = %detail, "callflow dependency failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "a backing service is unavailable; retry later",
            request_id,
        )
    }
}

impl IntoResponse for CallflowError {
    fn into_response(self) -> Response {
        // Refusals of unauthenticated or over-limit callers are what floods look like: counted in
        // metrics, logged at debug. Requests of known keys are logged with their id, for support.
        if matches!(self.status.as_u16(), 401 | 429) {
            tracing::debug!(request_id = %self.request_id.0, status = self.status.as_u16(), code = self.code,
                "callflow request refused");
        } else {
            tracing::info!(request_id = %self.request_id.0, status = self.status.as_u16(), code = self.code,
                "callflow request refused");
        }
        let body = json!({
            "statusCode": self.status.as_u16(),
            "error": { "code": self.code, "message": self.message, "details": self.details },
            "requestId": self.request_id.0,
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        response
    }
}

/// The success envelope of seed 004: `{ "statusCode", "body" }`.
pub fn envelope(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        Json(json!({ "statusCode": status.as_u16(), "body": body })),
    )
        .into_response()
}
