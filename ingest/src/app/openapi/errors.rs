//! The error bodies, one per seed's shape (`http::error`), and the small answers many routes share.

#![allow(dead_code, non_snake_case)] // shapes for the document (in the seeds' spelling), never built

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `{code, message}` of a tracking refusal.
#[derive(ToSchema, Serialize)]
pub struct CodeMessage {
    /// Stable machine code, e.g. `missing_field`, `unknown_site`, `rate_limited`.
    code: String,
    message: String,
}

/// Seed 000 tracking routes and our own reads: `{ok: false, error: {code, message}}`.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "ok": false, "error": { "code": "missing_field", "message": "field `s` is required" } }))]
pub struct TrackingError {
    ok: bool,
    error: CodeMessage,
}

/// One field at fault.
#[derive(ToSchema, Serialize)]
pub struct FieldProblem {
    field: String,
    message: String,
}

/// Seed 001 control plane: `{ok: false, error: code, message}`; a conflict adds `current_version`.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "ok": false, "error": "forbidden", "message": "only global admins may do this" }))]
pub struct ControlError {
    ok: bool,
    /// `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`, `store_unavailable`, …
    error: String,
    message: String,
    details: Option<Vec<FieldProblem>>,
    /// On 409 `CONCURRENCY_CONFLICT`: the call's version now.
    current_version: Option<i64>,
}

/// Seed 002: `{error, message, code}` (the HTTP status), with the field at fault.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "error": "invalid_request", "message": "Event name is required", "code": 400 }))]
pub struct EventApiError {
    error: String,
    message: String,
    code: u16,
    field: Option<String>,
}

/// `{field}` of a seed-003 refusal.
#[derive(ToSchema, Serialize)]
pub struct FieldName {
    field: String,
}

/// `{code, message, details?}` of a seed-003 refusal.
#[derive(ToSchema, Serialize)]
pub struct Seed003ErrorBody {
    /// `VALIDATION_ERROR`, `MISSING_API_KEY`, `INVALID_API_KEY`, `RATE_LIMITED`, `INGESTION_ERROR`, …
    code: String,
    message: String,
    details: Option<Vec<FieldName>>,
}

/// Seed 003: `{success: false, error: {code, message, details?}}`.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "success": false, "error": { "code": "VALIDATION_ERROR", "message": "eventType is required", "details": [{ "field": "eventType" }] } }))]
pub struct Seed003Error {
    success: bool,
    error: Seed003ErrorBody,
}

/// `{code, message, details}` of a seed-004 refusal.
#[derive(ToSchema, Serialize)]
pub struct CallflowErrorBody {
    code: String,
    message: String,
    details: Vec<FieldProblem>,
}

/// Seed 004: `{statusCode, error: {code, message, details}, requestId}`.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "statusCode": 400, "error": { "code": "VALIDATION_ERROR", "message": "callId is required", "details": [{ "field": "callId", "message": "callId is required" }] }, "requestId": "b0c4…" }))]
pub struct CallflowError {
    statusCode: u16,
    error: CallflowErrorBody,
    requestId: String,
}

/// Seed 001's success: `{ok: true, …}`; each route's members are listed on the route.
#[derive(ToSchema, Serialize)]
pub struct Ok {
    ok: bool,
}

/// Seed 003's success envelope `{success: true, data}`.
#[derive(ToSchema, Serialize)]
pub struct Success {
    success: bool,
    data: Value,
}
