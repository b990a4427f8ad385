//! The operator's actions on one call (seed 001): `POST /api/intents/{id}/status` and
//! `POST /api/calls/{id}/seal`. Editors, owners and admins; API keys may not. Both take an optional `version`
//! (409 `CONCURRENCY_CONFLICT` with `current_version` when the call moved on).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_schemas::CallRecord;
use serde_json::{json, Map, Value};

use super::change;
use super::queue::view;
use super::workflow::{self, Change, Refusal, STATUSES};
use crate::app::state::AppState;
use crate::auth::principal::Caller;
use crate::http::error::ApiError;
use crate::http::fields;
use crate::http::reply::{object, ok};

fn lead_score(m: &Map<String, Value>) -> Result<Option<i32>, ApiError> {
    match m.get("lead_score") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|s| (0..=100).contains(s))
            .map(|s| Some(s as i32))
            .ok_or_else(|| ApiError::invalid("lead_score", "must be an integer from 0 to 100")),
    }
}

fn version(m: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match m.get("version") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|v| *v > 0)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("version", "must be a positive integer")),
    }
}

fn now() -> i64 {
    opsmantik_runtime::now_ms()
}

/// `POST /api/intents/{id}/status {status, lead_score?, version?}`.
pub async fn status(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let status = match m.get("status").and_then(Value::as_str) {
        Some(s) if STATUSES.contains(&s) => s.to_string(),
        _ => {
            return Err(ApiError::invalid(
                "status",
                format!("Invalid status: must be one of {}", STATUSES.join(", ")),
            ))
        }
    };
    let (score, expected) = (lead_score(&m)?, version(&m)?);
    let by = who.actor();
    let (call, _) = change::one(&state, &who, &id, expected, "call_status", |call, _| {
        let change = Change { by: &by, at: now() };
        Ok(workflow::set_status(call, &status, score, &change))
    })
    .await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "success": true, "call": view(&call, None) }),
    ))
}

/// `POST /api/calls/{id}/seal {sale_amount, currency?, lead_score?, version?}`: only from `intent`.
pub async fn seal(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let amount = match m.get("sale_amount") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| ApiError::invalid("sale_amount", "must be a number or null"))
                .and_then(|a| fields::amount(a).map_err(|e| ApiError::invalid("sale_amount", e)))?,
        ),
    };
    let currency = match m.get("currency") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => {
            Some(fields::currency(c).map_err(|e| ApiError::invalid("currency", e))?)
        }
        Some(_) => return Err(ApiError::invalid("currency", "must be a string")),
    };
    let (score, expected) = (lead_score(&m)?, version(&m)?);
    let by = who.actor();
    let (call, _) = change::one(&state, &who, &id, expected, "call_sealed", |call, site| {
        let currency = currency
            .clone()
            .unwrap_or_else(|| site_currency(&site.currency));
        let change = Change { by: &by, at: now() };
        workflow::seal(call, amount, &currency, score, &change).map_err(|r| refused(call, r))
    })
    .await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "success": true, "call": {
            "id": call.call_id, "version": call.version, "sale_amount": call.sale_amount,
            "currency": call.currency, "status": call.status,
            "confirmed_at": call.confirmed_at.map(opsmantik_runtime::iso_ms),
        }}),
    ))
}

/// The site's currency, else the default (TRY).
fn site_currency(currency: &str) -> String {
    if currency.is_empty() {
        opsmantik_runtime::sites::DEFAULT_CURRENCY.into()
    } else {
        currency.to_string()
    }
}

fn refused(call: &CallRecord, r: Refusal) -> ApiError {
    match r {
        Refusal::NotIntent(status) => ApiError::new(
            crate::http::error::Shape::Control,
            StatusCode::CONFLICT,
            "not_an_intent",
            format!("only an intent can be sealed; this call is {status}"),
        )
        .with_extra(json!({ "current_version": call.version, "status": status })),
    }
}
