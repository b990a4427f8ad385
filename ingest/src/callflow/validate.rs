//! Validation of callflow input: the event body, the list query and event ids. Pure; every problem is a
//! [`FieldError`] naming its field, and all problems of one request are reported together.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::http::error::FieldError;
use crate::http::fields::{self, StringProblem, StringRule};

/// The event types of seed 004.
pub const EVENT_TYPES: [&str; 8] = [
    "initiated",
    "ringing",
    "answered",
    "hold",
    "resumed",
    "transferred",
    "ended",
    "failed",
];
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
const MAX_CALL_ID: usize = 256;
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Event ids are `evt-` + a UUID.
pub const EVENT_ID_PREFIX: &str = "evt-";

/// A valid new event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub call_id: String,
    pub event_type: String,
    pub timestamp_ms: i64,
    pub metadata_json: String,
}

/// A valid list query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub call_id: Option<String>,
    pub event_type: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub limit: usize,
    pub next_token: Option<String>,
}

impl ListQuery {
    /// The filters as one string: a page token is only valid for the query that produced it.
    pub fn scope(&self, site: &str) -> String {
        format!(
            "{site}|{}|{}|{}|{}",
            self.call_id.as_deref().unwrap_or(""),
            self.event_type.as_deref().unwrap_or(""),
            self.start_ms.map(|v| v.to_string()).unwrap_or_default(),
            self.end_ms.map(|v| v.to_string()).unwrap_or_default(),
        )
    }
}

/// RFC 3339 → ms since the epoch, within the storable range.
pub fn parse_time(field: &str, value: &str) -> Result<i64, FieldError> {
    fields::rfc3339_ms(value).map_err(|e| FieldError::new(field, format!("{field} {e}")))
}

/// ms since the epoch → RFC 3339 UTC (`Z`, milliseconds only when there are some).
pub fn format_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

fn check_event_type(field: &str, value: &str) -> Result<(), FieldError> {
    if EVENT_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{field} must be one of: {}", EVENT_TYPES.join(", ")),
        ))
    }
}

fn check_call_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err(FieldError::new(field, format!("{field} is required")))
    } else if value.len() > MAX_CALL_ID || value.chars().any(char::is_control) {
        Err(FieldError::new(
            field,
            format!("{field} must be 1 to {MAX_CALL_ID} printable characters"),
        ))
    } else {
        Ok(())
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    let rule = StringRule::bytes(usize::MAX, true);
    match fields::string(obj, field, rule) {
        Ok(s) => s,
        Err(p) => {
            let what = match p {
                StringProblem::NotAString => "must be a string",
                _ => "is required",
            };
            errors.push(FieldError::new(field, format!("{field} {what}")));
            None
        }
    }
}

/// Validates a `POST /callflow/events` body.
pub fn validate_event(body: &[u8]) -> Result<NewEvent, Vec<FieldError>> {
    let value: Value = fields::json::parse(body).map_err(|e| {
        vec![FieldError::new(
            "body",
            format!("body is not valid JSON: {e}"),
        )]
    })?;
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new("body", "body must be a JSON object")]);
    };
    let mut errors = Vec::new();
    let call_id = required_str(&obj, "callId", &mut errors);
    if let Some(c) = call_id {
        errors.extend(check_call_id("callId", c).err());
    }
    let event_type = required_str(&obj, "eventType", &mut errors);
    if let Some(t) = event_type {
        errors.extend(check_event_type("eventType", t).err());
    }
    let timestamp = required_str(&obj, "timestamp", &mut errors).and_then(|t| {
        match parse_time("timestamp", t) {
            Ok(ms) => Some(ms),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    });
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(m @ Value::Object(_)) => m.to_string(),
        Some(_) => {
            errors.push(FieldError::new("metadata", "metadata must be an object"));
            String::new()
        }
    };
    if metadata.len() > MAX_METADATA_BYTES {
        errors.push(FieldError::new(
            "metadata",
            format!("metadata must be at most {MAX_METADATA_BYTES} bytes"),
        ));
    }
    match (call_id, event_type, timestamp) {
        (Some(c), Some(t), Some(ms)) if errors.is_empty() => Ok(NewEvent {
            call_id: c.to_string(),
            event_type: t.to_string(),
            timestamp_ms: ms,
            metadata_json: metadata,
        }),
        _ => Err(errors),
    }
}

/// Validates the `GET /callflow/events` query.
pub fn validate_query(raw: &HashMap<String, String>) -> Result<ListQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut q = ListQuery {
        limit: DEFAULT_LIMIT,
        ..ListQuery::default()
    };
    if let Some(c) = raw.get("callId") {
        match check_call_id("callId", c) {
            Ok(()) => q.call_id = Some(c.clone()),
            Err(e) => errors.push(e),
        }
    }
    if let Some(t) = raw.get("eventType") {
        match check_event_type("eventType", t) {
            Ok(()) => q.event_type = Some(t.clone()),
            Err(e) => errors.push(e),
        }
    }
    for (field, slot) in [("startTime", &mut q.start_ms), ("endTime", &mut q.end_ms)] {
        if let Some(v) = raw.get(field) {
            match parse_time(field, v) {
                Ok(ms) => *slot = Some(ms),
                Err(e) => errors.push(e),
            }
        }
    }
    if let (Some(s), Some(e)) = (q.start_ms, q.end_ms) {
        if s > e {
            errors.push(FieldError::new(
                "startTime",
                "startTime must not be after endTime",
            ));
        }
    }
    if let Some(l) = raw.get("limit") {
        match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
            _ => errors.push(FieldError::new(
                "limit",
                format!("limit must be an integer from 1 to {MAX_LIMIT}"),
            )),
        }
    }
    q.next_token = raw.get("nextToken").filter(|t| !t.is_empty()).cloned();
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(errors)
    }
}

/// Checks an event id's format (`evt-` + UUID).
pub fn validate_event_id(id: &str) -> Result<(), FieldError> {
    id.strip_prefix(EVENT_ID_PREFIX)
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .map(|_| ())
        .ok_or_else(|| FieldError::new("eventId", "eventId must look like evt-<uuid>"))
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
