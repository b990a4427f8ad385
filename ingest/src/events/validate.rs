//! Validation of one product event in either dialect. Pure; a problem names its field.

use serde_json::{Map, Value};

use crate::http::dialect::Dialect;
use crate::http::fields::{self, StringProblem, StringRule};

const MAX_NAME: usize = 100;
const MAX_ID: usize = 128;
const MAX_METADATA_BYTES: usize = 10 * 1024;

/// A field's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn problem(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A valid event, before the edge gives it an id.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    pub event_name: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub timestamp_ms: i64,
    pub metadata_json: String,
    pub payload_json: Option<String>,
    pub priority: Option<i32>,
    /// `idempotency_key` (002) or `eventId` (003): the client's id for deduplication.
    pub client_id: Option<String>,
}

fn text(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, Problem> {
    fields::string(obj, field, StringRule::chars(max, required))
        .map(|s| s.map(str::to_string))
        .map_err(|p| match p {
            StringProblem::Missing => problem(field, format!("{field} is required")),
            StringProblem::NotAString => problem(field, format!("{field} must be a string")),
            StringProblem::TooLong { max, .. } => {
                problem(field, format!("{field} must be at most {max} characters"))
            }
        })
}

fn object(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, Problem> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => {
            let s = v.to_string();
            if s.len() > MAX_METADATA_BYTES {
                Err(problem(
                    field,
                    format!("{field} must be at most {MAX_METADATA_BYTES} bytes"),
                ))
            } else {
                Ok(Some(s))
            }
        }
        Some(_) => Err(problem(field, format!("{field} must be an object"))),
    }
}

fn time(
    obj: &Map<String, Value>,
    field: &str,
    required: bool,
    now_ms: i64,
) -> Result<i64, Problem> {
    match text(obj, field, 64, required)? {
        None => Ok(now_ms),
        Some(t) => fields::rfc3339_ms(&t).map_err(|e| problem(field, format!("{field} {e}"))),
    }
}

/// An id or name chosen by the client: bounded, without control or bidi-override characters.
fn id(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, Problem> {
    let value = text(obj, field, max, required)?;
    if let Some(v) = &value {
        fields::client_text(v, usize::MAX).map_err(|e| problem(field, format!("{field} {e}")))?;
    }
    Ok(value)
}

/// Validates one event object of `dialect`.
pub fn validate(dialect: Dialect, event: &Value, now_ms: i64) -> Result<ValidEvent, Problem> {
    let Value::Object(obj) = event else {
        return Err(problem("event", "each event must be a JSON object"));
    };
    match dialect {
        Dialect::EventApi => Ok(ValidEvent {
            event_name: id(obj, "event_name", MAX_NAME, true)?.unwrap_or_default(),
            user_id: id(obj, "user_id", MAX_ID, false)?.unwrap_or_default(),
            session_id: None,
            timestamp_ms: time(obj, "timestamp", false, now_ms)?,
            metadata_json: object(obj, "metadata")?.unwrap_or_else(|| "{}".into()),
            payload_json: None,
            priority: None,
            client_id: id(obj, "idempotency_key", MAX_ID, false)?,
        }),
        Dialect::EventProcessor => {
            let priority = match obj.get("priority") {
                None | Some(Value::Null) => 1,
                // The seed documents 1–10; its reference load test sends 0–3, so 0 is accepted too.
                Some(v) => v.as_i64().filter(|p| (0..=10).contains(p)).ok_or_else(|| {
                    problem("priority", "priority must be an integer from 0 to 10")
                })? as i32,
            };
            Ok(ValidEvent {
                event_name: id(obj, "eventType", MAX_NAME, true)?.unwrap_or_default(),
                user_id: id(obj, "userId", MAX_ID, true)?.unwrap_or_default(),
                session_id: id(obj, "sessionId", MAX_ID, true)?,
                timestamp_ms: time(obj, "timestamp", true, now_ms)?,
                metadata_json: object(obj, "metadata")?.unwrap_or_else(|| "{}".into()),
                payload_json: object(obj, "payload")?,
                priority: Some(priority),
                client_id: id(obj, "eventId", MAX_ID, false)?.filter(|id| !id.is_empty()),
            })
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
