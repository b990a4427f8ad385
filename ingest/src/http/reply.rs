//! Success answers shared by features — seed 003's `{ "success": true, "data" }`, seed 001's
//! `{ "ok": true, … }` — and the JSON-object body of seed-001 routes. Refusals are `ApiError`s.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::http::error::ApiError;

/// A seed-003 success.
pub fn success(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({ "success": true, "data": data }))).into_response()
}

/// `{ "ok": true, …fields }` with `status` (seed 001).
pub fn ok(status: StatusCode, fields: Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    (status, Json(body)).into_response()
}

/// The JSON object of a request body, or a 400 saying why not (seed 001's shape).
pub fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match crate::http::fields::json::parse(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid("body", "must be a JSON object")),
        Err(e) => Err(ApiError::invalid("body", format!("is not valid JSON: {e}"))),
    }
}
