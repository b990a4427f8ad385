//! The three callflow endpoints (seed 004). Thin: extract → validate → publish or read → envelope.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::now_ms;
use opsmantik_schemas::{encode, CallFlowEvent, Topic};
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::envelope;
use super::store::StoredEvent;
use super::token::{self, Cursor};
use super::validate::{
    format_time, validate_event, validate_event_id, validate_query, EVENT_ID_PREFIX,
};
use crate::app::state::AppState;
use crate::http::error::{ApiError, FieldError, Shape};
use crate::http::request_id::RequestId;

const ROUTE: &str = "callflow";

fn invalid(message: &str, details: Vec<FieldError>, rid: &RequestId) -> ApiError {
    let shape = Shape::Callflow(rid.clone());
    ApiError::new(shape, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message).with_details(details)
}

/// A dependency failed: 503, the detail logged under the request id.
fn unavailable(detail: &dyn std::fmt::Display, rid: &RequestId) -> ApiError {
    tracing::error!(request_id = %rid.0, error = %detail, "callflow dependency failure");
    ApiError::unavailable(Shape::Callflow(rid.clone()), "SERVICE_UNAVAILABLE", detail)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// `POST /callflow/events` → 201 after the broker acknowledged.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rid: RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !is_json(&headers) {
        let detail = FieldError::new("Content-Type", "Content-Type must be application/json");
        return Err(invalid("Invalid request", vec![detail], &rid));
    }
    let body = body.map_err(|e| {
        let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body exceeds the size limit".to_string()
        } else {
            e.body_text()
        };
        invalid(
            "Invalid request body",
            vec![FieldError::new("body", message)],
            &rid,
        )
    })?;
    let new =
        validate_event(&body).map_err(|details| invalid("Invalid request body", details, &rid))?;
    let record = CallFlowEvent {
        event_id: format!("{EVENT_ID_PREFIX}{}", uuid::Uuid::now_v7()),
        call_id: new.call_id,
        site: caller.site,
        event_type: new.event_type,
        timestamp: new.timestamp_ms,
        created_at: now_ms(),
        metadata_json: new.metadata_json,
    };
    let payload = encode(&record).map_err(|e| unavailable(&e, &rid))?;
    let out = OutRecord {
        topic: state.topics.name(Topic::Callflow),
        key: record.call_id.clone().into_bytes(),
        payload,
        replay: None,
    };
    state
        .publish(out, ROUTE)
        .await
        .map_err(|e| unavailable(&e.message, &rid))?;
    Ok(envelope(
        StatusCode::CREATED,
        json!({
            "message": "Event stored successfully",
            "eventId": record.event_id,
            "callId": record.call_id,
            "timestamp": format_time(record.timestamp),
        }),
    ))
}

fn event_json(e: StoredEvent, with_created_at: bool) -> Value {
    let metadata: Value = serde_json::from_str(&e.metadata_json).unwrap_or_else(|_| json!({}));
    let mut v = json!({
        "eventId": e.event_id,
        "callId": e.call_id,
        "eventType": e.event_type,
        "timestamp": format_time(e.timestamp_ms),
        "metadata": metadata,
    });
    if with_created_at {
        v["createdAt"] = Value::String(format_time(e.created_at_ms));
    }
    v
}

/// `GET /callflow/events` → a page of events in (timestamp, event id) order.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rid: RequestId,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let q = validate_query(&raw)
        .map_err(|details| invalid("Invalid query parameters", details, &rid))?;
    let scope = q.scope(&caller.site);
    let after = match &q.next_token {
        None => None,
        Some(t) => Some(
            token::open(&state.callflow.token_secret, &scope, t).map_err(|e| {
                invalid(
                    "Invalid query parameters",
                    vec![FieldError::new("nextToken", e.to_string())],
                    &rid,
                )
            })?,
        ),
    };
    let mut rows = state
        .stores
        .callflow
        .list(&caller.site, &q, after.as_ref(), q.limit + 1)
        .await
        .map_err(|e| unavailable(&e, &rid))?;
    let next_token = if rows.len() > q.limit {
        rows.truncate(q.limit);
        rows.last().map(|last| {
            let cursor = Cursor {
                timestamp_ms: last.timestamp_ms,
                event_id: last.event_id.clone(),
            };
            token::issue(&state.callflow.token_secret, &scope, &cursor)
        })
    } else {
        None
    };
    let events: Vec<Value> = rows.into_iter().map(|e| event_json(e, false)).collect();
    Ok(envelope(
        StatusCode::OK,
        json!({ "events": events, "count": events.len(), "nextToken": next_token }),
    ))
}

/// `GET /callflow/events/{eventId}` → the event with `createdAt`, or 404.
pub async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rid: RequestId,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    validate_event_id(&event_id).map_err(|d| invalid("Invalid event ID format", vec![d], &rid))?;
    let found = state
        .stores
        .callflow
        .get(&caller.site, &event_id)
        .await
        .map_err(|e| unavailable(&e, &rid))?;
    match found {
        Some(e) => Ok(envelope(StatusCode::OK, event_json(e, true))),
        None => Err(ApiError::new(
            Shape::Callflow(rid),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("event {event_id} does not exist"),
        )),
    }
}

#[cfg(test)]
#[path = "handlers_tests.rs"]
mod tests;
