//! Answers of the control routes (seed 001 shapes): `{ "ok": true, … }` and
//! `{ "ok": false, "error": "<code>", "message": "…" }`, with `Retry-After` on 429.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::AuthError;

/// A refused or failed control request.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ControlError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        crate::ops::metrics::rejected("control", code);
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 naming the field and what is wrong with it.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("`{field}` {message}"),
        )
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }
}

impl From<AuthError> for ControlError {
    fn from(e: AuthError) -> Self {
        Self::new(e.status(), e.snake_code(), e.message())
    }
}

impl From<redis::RedisError> for ControlError {
    fn from(e: redis::RedisError) -> Self {
        AuthError::from(e).into()
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = json!({ "ok": false, "error": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// `{ "ok": true, …fields }` with `status`.
pub fn ok(status: StatusCode, fields: Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    (status, Json(body)).into_response()
}

/// The JSON object of a request body, or a 400 saying why not.
pub fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ControlError> {
    match crate::http::fields::json::parse(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ControlError::invalid("body", "must be a JSON object")),
        Err(e) => Err(ControlError::invalid(
            "body",
            format!("is not valid JSON: {e}"),
        )),
    }
}
