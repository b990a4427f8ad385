//! Responses of the event routes in each dialect's documented shape.
//! Seed 002 errors: `{ "error": "<code>", "message", "code": <status> }`; seed 003 errors:
//! `{ "success": false, "error": { "code", "message", "details"? } }`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::http::dialect::Dialect;
use crate::http::seed003::Failure;

/// An error of the event routes, answered in `dialect`'s shape.
#[derive(Debug, Clone)]
pub struct EventError {
    pub dialect: Dialect,
    pub status: StatusCode,
    /// Seed-003 code (`VALIDATION_ERROR`, `MISSING_API_KEY`, ...); seed 002 gets its lower-case form.
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for `Retry-After` (429s).
    pub retry_after: Option<u64>,
}

impl EventError {
    pub fn new(
        dialect: Dialect,
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        crate::ops::metrics::rejected("events", code);
        Self {
            dialect,
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 429 past a rate limit, with `Retry-After`.
    pub fn rate_limited(dialect: Dialect, message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                dialect,
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                message,
            )
        }
    }

    /// An access refusal, in `dialect`'s shape.
    pub fn auth(dialect: Dialect, e: crate::auth::AuthError) -> Self {
        Self::new(dialect, e.status(), e.code(), e.message())
    }

    pub fn invalid(dialect: Dialect, field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(
                dialect,
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                message,
            )
        }
    }

    pub fn internal(dialect: Dialect, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "event ingestion failed");
        Self::new(
            dialect,
            StatusCode::SERVICE_UNAVAILABLE,
            "INGESTION_ERROR",
            "the events could not be stored right now; retry later",
        )
    }
}

impl IntoResponse for EventError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after;
        let mut response = self.render();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl EventError {
    fn render(self) -> Response {
        match self.dialect {
            Dialect::EventApi => {
                let error = if self.code == "VALIDATION_ERROR" {
                    "invalid_request".to_string()
                } else {
                    self.code.to_ascii_lowercase()
                };
                let mut body = json!({ "error": error, "message": self.message, "code": self.status.as_u16() });
                if let Some(f) = self.field {
                    body["field"] = json!(f);
                }
                (self.status, Json(body)).into_response()
            }
            Dialect::EventProcessor => {
                let mut f = Failure {
                    status: self.status,
                    code: self.code,
                    message: self.message,
                    details: None,
                    retry_after: None,
                };
                if let Some(field) = self.field {
                    f = f.with_details(json!([{ "field": field }]));
                }
                f.into_response()
            }
        }
    }
}
