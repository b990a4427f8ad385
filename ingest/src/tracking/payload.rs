//! Validation of the `POST /api/sync` payload (seed 000 and the OpsMantik tracker's wire format): one hit, or
//! `{"events": [1..100 hits]}`; abbreviated keys, required `s`, `sid`, `u`/`url`, typed optional fields, `meta`
//! kept whole, `consent_scopes` (top level or in `meta`) read and kept. Pure: bytes in, [`SyncHit`]s or a
//! [`ValidationError`] (naming the event's index in a batch) out.

use serde_json::{Map, Value};

use crate::http::fields::{self, StringProblem, StringRule};

/// Top-level keys the edge understands; anything else is ignored and counted.
const KNOWN: &[&str] = &[
    "s",
    "u",
    "url",
    "sid",
    "sm",
    "ec",
    "ea",
    "el",
    "ev",
    "meta",
    "r",
    "ts",
    "st",
    "consent_scopes",
];
/// Most hits in one `{"events": [...]}` batch.
pub const MAX_BATCH: usize = 100;
const MAX_ID_LEN: usize = 128;
const MAX_TEXT_LEN: usize = 8192;

/// A valid hit, before the edge adds its own context (receive time, headers).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncHit {
    pub site: String,
    pub url: String,
    pub session_id: String,
    pub session_month: Option<String>,
    pub category: String,
    pub action: String,
    pub label: Option<String>,
    pub value: Option<f64>,
    pub referrer: Option<String>,
    pub fingerprint: Option<String>,
    pub gclid: Option<String>,
    pub gbraid: Option<String>,
    pub wbraid: Option<String>,
    pub duration_sec: Option<i64>,
    /// Client event time and send time (ms), from the top level or `meta`.
    pub ts: Option<i64>,
    pub st: Option<i64>,
    pub meta_json: String,
    pub unknown_fields: usize,
    /// `consent_scopes` was sent and lacks `analytics`: the hit must not be stored.
    pub consent_missing: bool,
    /// `meta.intent_stamp`: the tracker's id of a click.
    pub intent_stamp: Option<String>,
    /// `meta` reports engagement (`active_sec` or `duration_sec`), which changes from one real hit to the next.
    pub reports_engagement: bool,
}

/// Why a payload was refused; `code` is stable, `message` names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub message: String,
}

fn invalid(field: &str, what: &str) -> ValidationError {
    ValidationError {
        code: "invalid_field",
        message: format!("field `{field}` {what}"),
    }
}

fn missing(field: &str) -> ValidationError {
    ValidationError {
        code: "missing_field",
        message: format!("field `{field}` is required"),
    }
}

/// A string field, worded as the tracking routes word problems.
pub fn string_field(
    obj: &Map<String, Value>,
    field: &str,
    rule: StringRule,
) -> Result<Option<String>, ValidationError> {
    fields::string(obj, field, rule)
        .map(|s| s.map(str::to_string))
        .map_err(|p| match p {
            StringProblem::Missing => missing(field),
            StringProblem::NotAString => invalid(field, "must be a string"),
            StringProblem::TooLong { max, .. } => {
                invalid(field, &format!("is longer than {max} bytes"))
            }
        })
}

fn opt_string(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    string_field(obj, field, StringRule::bytes(max, false))
}

/// A required id chosen by the client (site, session): no control or bidi-override characters.
fn required_id(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let s = string_field(obj, field, StringRule::bytes(max, true))?.unwrap_or_default();
    fields::client_text(&s, max).map_err(|e| invalid(field, &e))?;
    Ok(s)
}

fn opt_number(obj: &Map<String, Value>, field: &str) -> Result<Option<f64>, ValidationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(field, "must be a finite number")),
        Some(_) => Err(invalid(field, "must be a number")),
    }
}

fn opt_millis(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, ValidationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as i64)
            })
            .filter(|v| *v >= 0)
            .map(Some)
            .ok_or_else(|| invalid(field, "must be milliseconds since the epoch")),
        Some(_) => Err(invalid(
            field,
            "must be a number (milliseconds since the epoch)",
        )),
    }
}

/// Parses and validates a payload: one hit, or a batch.
pub fn validate_all(body: &[u8]) -> Result<Vec<SyncHit>, ValidationError> {
    let obj = object(
        crate::http::fields::json::parse(body).map_err(|e| ValidationError {
            code: "invalid_json",
            message: format!("body is not valid JSON: {e}"),
        })?,
    )?;
    let Some(events) = obj.get("events") else {
        return Ok(vec![hit(&obj)?]);
    };
    let Value::Array(events) = events else {
        return Err(invalid("events", "must be an array of hits"));
    };
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(invalid(
            "events",
            &format!("must hold 1 to {MAX_BATCH} hits"),
        ));
    }
    let hits = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            object(e.clone())
                .and_then(|o| hit(&o))
                .map_err(|e| at_index(e, i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if hits.iter().any(|h| h.site != hits[0].site) {
        return Err(ValidationError {
            code: "batch_mixed_sites",
            message: "every hit of a batch must have the same `s`".into(),
        });
    }
    Ok(hits)
}

/// Parses and validates a single-hit payload (tests).
#[cfg(test)]
pub fn validate(body: &[u8]) -> Result<SyncHit, ValidationError> {
    let mut hits = validate_all(body)?;
    match (hits.pop(), hits.is_empty()) {
        (Some(h), true) => Ok(h),
        _ => Err(invalid("events", "is not allowed here")),
    }
}

fn object(value: Value) -> Result<Map<String, Value>, ValidationError> {
    match value {
        Value::Object(o) => Ok(o),
        _ => Err(ValidationError {
            code: "invalid_json",
            message: "a hit must be a JSON object".into(),
        }),
    }
}

fn at_index(mut e: ValidationError, index: usize) -> ValidationError {
    e.message = format!("events[{index}]: {}", e.message);
    e
}

/// `consent_scopes` from the top level or `meta`: `Some(has analytics)` when sent.
fn consent(
    obj: &Map<String, Value>,
    meta: &Map<String, Value>,
) -> Result<Option<bool>, ValidationError> {
    match obj
        .get("consent_scopes")
        .or_else(|| meta.get("consent_scopes"))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(scopes)) => Ok(Some(scopes.iter().any(|s| s == "analytics"))),
        Some(_) => Err(invalid("consent_scopes", "must be an array of strings")),
    }
}

/// `ev`: a number, a numeric string, or null (a non-numeric string carries no value).
fn event_value(obj: &Map<String, Value>) -> Result<Option<f64>, ValidationError> {
    match obj.get("ev") {
        Some(Value::String(s)) => Ok(s.trim().parse::<f64>().ok().filter(|f| f.is_finite())),
        _ => opt_number(obj, "ev"),
    }
}

/// Validates one hit.
fn hit(obj: &Map<String, Value>) -> Result<SyncHit, ValidationError> {
    let empty = Map::new();
    let meta = match obj.get("meta") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid("meta", "must be an object")),
    };
    let url = match (
        opt_string(obj, "u", MAX_TEXT_LEN)?,
        opt_string(obj, "url", MAX_TEXT_LEN)?,
    ) {
        (Some(u), _) | (None, Some(u)) if !u.trim().is_empty() => u,
        _ => return Err(missing("u")),
    };
    let duration_sec = match opt_number(meta, "duration_sec").map_err(|e| prefixed(e, "meta."))? {
        Some(d) if d < 0.0 => return Err(invalid("meta.duration_sec", "must not be negative")),
        d => d.map(|d| d as i64),
    };
    let meta_str = |f: &str| opt_string(meta, f, MAX_ID_LEN * 4).map_err(|e| prefixed(e, "meta."));
    let consent = consent(obj, meta)?;
    // Consent travels with the stored hit: kept in its meta when sent at the top level.
    let mut stored_meta = meta.clone();
    if let Some(scopes) = obj.get("consent_scopes") {
        stored_meta.insert("consent_scopes".into(), scopes.clone());
    }
    Ok(SyncHit {
        site: required_id(obj, "s", MAX_ID_LEN)?,
        session_id: required_id(obj, "sid", MAX_ID_LEN)?,
        url,
        session_month: opt_string(obj, "sm", 32)?
            .map(|m| crate::http::fields::month(&m).map(|()| m))
            .transpose()
            .map_err(|e| invalid("sm", &e))?,
        category: opt_string(obj, "ec", MAX_ID_LEN)?.unwrap_or_else(|| "interaction".into()),
        action: opt_string(obj, "ea", MAX_ID_LEN)?.unwrap_or_else(|| "view".into()),
        label: opt_string(obj, "el", MAX_TEXT_LEN)?,
        value: event_value(obj)?,
        referrer: opt_string(obj, "r", MAX_TEXT_LEN)?,
        fingerprint: meta_str("fp")?
            .filter(|f| !f.is_empty())
            .map(|f| crate::http::fields::client_text(&f, MAX_ID_LEN * 4).map(|()| f))
            .transpose()
            .map_err(|e| invalid("meta.fp", &e))?,
        gclid: meta_str("gclid")?,
        gbraid: meta_str("gbraid")?,
        wbraid: meta_str("wbraid")?,
        duration_sec,
        ts: opt_millis(obj, "ts")?.or(opt_millis(meta, "ts").map_err(|e| prefixed(e, "meta."))?),
        st: opt_millis(obj, "st")?.or(opt_millis(meta, "st").map_err(|e| prefixed(e, "meta."))?),
        meta_json: Value::Object(stored_meta).to_string(),
        unknown_fields: obj.keys().filter(|k| !KNOWN.contains(&k.as_str())).count(),
        consent_missing: consent == Some(false),
        intent_stamp: meta_str("intent_stamp")?,
        reports_engagement: duration_sec.is_some()
            || meta.get("active_sec").is_some_and(Value::is_number),
    })
}

fn prefixed(mut e: ValidationError, prefix: &str) -> ValidationError {
    e.message = e
        .message
        .replacen("field `", &format!("field `{prefix}"), 1);
    e
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
