//! The one error kind of the edge, rendered in the shape of the seed that documents the route. Every refusal
//! carries a status, a stable machine code and a human message (and the fields at fault, and `Retry-After`
//! for 429s); 5xx bodies never carry internals.
//!
//! | shape | routes | body |
//! | --- | --- | --- |
//! | [`Shape::Tracking`] | seed 000 tracking, our own reads | `{ok: false, error: {code, message}}` |
//! | [`Shape::Control`] | seed 001 control plane | `{ok: false, error: code, message}` |
//! | [`Shape::EventApi`] | seed 002 | `{error: code, message, code: status, field?}` |
//! | [`Shape::Seed003`] | seed 003 | `{success: false, error: {code, message, details?: [{field}]}}` |
//! | [`Shape::Callflow`] | seed 004 | `{statusCode, error: {code, message, details: [{field, message}]}, requestId}` |

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::dialect::Dialect;
use super::request_id::RequestId;
use crate::auth::AuthError;

/// Which seed's shape an error is answered in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Tracking,
    Control,
    EventApi,
    Seed003,
    /// Seed 004, with the request's id (echoed in the body and logged).
    Callflow(RequestId),
}

impl From<Dialect> for Shape {
    fn from(d: Dialect) -> Self {
        match d {
            Dialect::EventApi => Shape::EventApi,
            Dialect::EventProcessor => Shape::Seed003,
        }
    }
}

impl Shape {
    /// The label of `edge_requests_rejected_total` for refusals in this shape.
    const fn route(&self) -> &'static str {
        match self {
            Shape::Tracking => "tracking",
            Shape::Control => "control",
            Shape::EventApi | Shape::Seed003 => "events",
            Shape::Callflow(_) => "callflow",
        }
    }
}

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

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub shape: Shape,
    pub status: StatusCode,
    /// The machine code as the shape's seed spells it (`invalid_field`, `VALIDATION_ERROR`, …).
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds for `Retry-After` (429s).
    pub retry_after: Option<u64>,
    /// Fields added to a control answer's body (e.g. a conflict's `current_version`).
    pub extra: Option<Box<serde_json::Map<String, Value>>>,
}

impl ApiError {
    /// A refusal in `shape`, counted in `edge_requests_rejected_total` (tracking routes count their own,
    /// by route).
    pub fn new(
        shape: impl Into<Shape>,
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let shape = shape.into();
        if shape != Shape::Tracking && status.is_client_error() {
            crate::ops::metrics::rejected(shape.route(), code);
        }
        Self {
            shape,
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            extra: None,
        }
    }

    /// Adds `extra`'s fields to a control answer's body.
    pub fn with_extra(mut self, extra: Value) -> Self {
        if let Value::Object(m) = extra {
            self.extra = Some(Box::new(m));
        }
        self
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Tracking: 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Shape::Tracking, StatusCode::BAD_REQUEST, code, message)
    }

    /// Tracking: 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Shape::Tracking, StatusCode::NOT_FOUND, code, message)
    }

    /// Tracking: the broker did not acknowledge in time; the client should retry; nothing was accepted.
    pub fn broker_unavailable() -> Self {
        Self::new(
            Shape::Tracking,
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unavailable",
            "the event could not be stored right now; retry later",
        )
    }

    /// A dependency failed: 503 with `code`; the detail goes to the log, not to the client.
    pub fn unavailable(
        shape: impl Into<Shape>,
        code: &'static str,
        detail: &dyn std::fmt::Display,
    ) -> Self {
        tracing::error!(code, error = %detail, "dependency failure");
        Self::new(
            shape,
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "a backing service is unavailable; retry later",
        )
    }

    /// 500 with `code`: something of ours failed; logged, not shown.
    pub fn internal(
        shape: impl Into<Shape>,
        code: &'static str,
        detail: &dyn std::fmt::Display,
    ) -> Self {
        tracing::error!(code, error = %detail, "request failed");
        Self::new(
            shape,
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "internal error; retry later",
        )
    }

    /// Seeds 002/003: 503 `INGESTION_ERROR`, nothing was stored; the detail goes to the log.
    pub fn ingestion(shape: impl Into<Shape>, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "event ingestion failed");
        Self::new(
            shape,
            StatusCode::SERVICE_UNAVAILABLE,
            "INGESTION_ERROR",
            "the events could not be stored right now; retry later",
        )
    }

    /// 400 `VALIDATION_ERROR` naming `field` (seeds 002–004).
    pub fn field(shape: impl Into<Shape>, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            shape,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            message.clone(),
        )
        .with_details(vec![FieldError::new(field, message)])
    }

    /// Control: 400 `invalid_request` saying what is wrong with `field`.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            Shape::Control,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("`{field}` {message}"),
        )
        .with_details(vec![FieldError::new(field, message.to_string())])
    }

    /// 429 with `Retry-After`, coded as the shape's seed spells it.
    pub fn rate_limited(
        shape: impl Into<Shape>,
        message: impl Into<String>,
        retry_after: u64,
    ) -> Self {
        let shape = shape.into();
        let code = match shape {
            Shape::Tracking | Shape::Control => "rate_limited",
            _ => "RATE_LIMITED",
        };
        Self::new(shape, StatusCode::TOO_MANY_REQUESTS, code, message).with_retry_after(retry_after)
    }

    /// An access refusal in `shape` (counted in `edge_requests_rejected_total`; logged at debug only:
    /// refusals are what floods look like).
    pub fn auth(shape: impl Into<Shape>, e: AuthError) -> Self {
        let shape = shape.into();
        let code = match shape {
            Shape::Tracking | Shape::Control => e.snake_code(),
            _ => e.code(),
        };
        if shape == Shape::Tracking {
            crate::ops::metrics::rejected("tracking", code);
        }
        tracing::debug!(code, "refused");
        Self::new(shape, e.status(), code, e.message())
    }

    /// The same refusal in seed 003's shape and codes (for its routes that share extractors with the
    /// control plane).
    pub fn into_seed003(mut self, fallback: &'static str) -> Self {
        self.code = match self.status {
            StatusCode::BAD_REQUEST => "VALIDATION_ERROR",
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
            _ => fallback,
        };
        self.shape = Shape::Seed003;
        self
    }

    fn body(&self) -> Value {
        let (code, message) = (self.code, self.message.as_str());
        match &self.shape {
            Shape::Tracking => {
                json!({ "ok": false, "error": { "code": code, "message": message } })
            }
            Shape::Control => {
                let mut body = json!({ "ok": false, "error": code, "message": message });
                for (k, v) in self.extra.iter().flat_map(|m| m.iter()) {
                    body[k.as_str()] = v.clone();
                }
                body
            }
            Shape::EventApi => {
                let error = if code == "VALIDATION_ERROR" {
                    "invalid_request".to_string()
                } else {
                    code.to_ascii_lowercase()
                };
                let mut body =
                    json!({ "error": error, "message": message, "code": self.status.as_u16() });
                if let Some(d) = self.details.first() {
                    body["field"] = json!(d.field);
                }
                body
            }
            Shape::Seed003 => {
                let mut error = json!({ "code": code, "message": message });
                if !self.details.is_empty() {
                    let fields: Vec<Value> = self
                        .details
                        .iter()
                        .map(|d| json!({ "field": d.field }))
                        .collect();
                    error["details"] = Value::Array(fields);
                }
                json!({ "success": false, "error": error })
            }
            Shape::Callflow(rid) => json!({
                "statusCode": self.status.as_u16(),
                "error": { "code": code, "message": message, "details": self.details },
                "requestId": rid.0,
            }),
        }
    }

    /// Callflow answers are logged with their request id (for support); refusals of unauthenticated or
    /// over-limit callers — what floods look like — at debug only.
    fn log(&self) {
        let Shape::Callflow(rid) = &self.shape else {
            return;
        };
        let (status, code) = (self.status.as_u16(), self.code);
        if matches!(status, 401 | 429) {
            tracing::debug!(request_id = %rid.0, status, code, "callflow request refused");
        } else {
            tracing::info!(request_id = %rid.0, status, code, "callflow request refused");
        }
    }
}

/// Control routes use `?` on the access check and the account store.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::auth(Shape::Control, e)
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        AuthError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refusal_in_each_seeds_shape() {
        let body = |e: ApiError| e.body();
        let rid = RequestId("req-1".into());
        let f = |s: Shape| ApiError::field(s, "userId", "userId is required");
        assert_eq!(
            body(f(Shape::EventApi)),
            json!({ "error": "invalid_request", "message": "userId is required", "code": 400, "field": "userId" })
        );
        assert_eq!(
            body(f(Shape::Seed003)),
            json!({ "success": false, "error": { "code": "VALIDATION_ERROR", "message": "userId is required", "details": [{ "field": "userId" }] } })
        );
        assert_eq!(
            body(f(Shape::Callflow(rid))),
            json!({ "statusCode": 400, "error": { "code": "VALIDATION_ERROR", "message": "userId is required",
                "details": [{ "field": "userId", "message": "userId is required" }] }, "requestId": "req-1" })
        );
        assert_eq!(
            body(ApiError::invalid("name", "must not be empty")),
            json!({ "ok": false, "error": "invalid_request", "message": "`name` must not be empty" })
        );
        assert_eq!(
            body(ApiError::bad_request(
                "missing_field",
                "field `s` is required"
            )),
            json!({ "ok": false, "error": { "code": "missing_field", "message": "field `s` is required" } })
        );
        let limited = ApiError::rate_limited(Shape::Control, "slow down", 7);
        assert_eq!(
            (limited.code, limited.retry_after),
            ("rate_limited", Some(7))
        );
        let r = limited.into_response();
        assert_eq!(r.headers()["retry-after"], "7");
        assert_eq!(
            ApiError::auth(Shape::Seed003, AuthError::MissingKey).code,
            "MISSING_API_KEY"
        );
        assert_eq!(ApiError::from(AuthError::NotFound).code, "not_found");
    }
}
