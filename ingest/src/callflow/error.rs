//! The seed-004 success envelope. (Its errors are `ApiError`s in `Shape::Callflow`.)

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The success envelope of seed 004: `{ "statusCode", "body" }`.
pub fn envelope(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        Json(json!({ "statusCode": status.as_u16(), "body": body })),
    )
        .into_response()
}
