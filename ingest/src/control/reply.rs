//! Success answers and body parsing of the control routes (seed 001 shapes): `{ "ok": true, … }`; refusals
//! are `ApiError`s in `Shape::Control`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::http::error::ApiError;

/// `{ "ok": true, …fields }` with `status`.
pub fn ok(status: StatusCode, fields: Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    (status, Json(body)).into_response()
}

/// The JSON object of a request body, or a 400 saying why not.
pub fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match crate::http::fields::json::parse(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid("body", "must be a JSON object")),
        Err(e) => Err(ApiError::invalid("body", format!("is not valid JSON: {e}"))),
    }
}
