//! `POST /api/v1/events` and `POST /api/v1/events/batch`: parse → dialect → API key → validate → per-key
//! rate → edge dedup → publish (pipelined) → answer in the dialect's shape.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::now_ms;
use opsmantik_schemas::{encode, ProductEvent, Topic};
use serde_json::{json, Value};

use super::dedup::Claim;
use super::validate::{validate, ValidEvent};
use super::MAX_BATCH_EVENTS;
use crate::app::state::AppState;
use crate::auth;
use crate::auth::keys::{KeyRecord, Scope};
use crate::http::dialect::{self, Dialect};
use crate::http::error::ApiError;
use crate::http::reply::success;
use crate::limits::Rule;

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Accepted(String),
    Duplicate(String),
    Rejected { field: String, message: String },
    Failed(String),
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let body = body.map_err(|e| {
        let msg = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body exceeds 1 MB".to_string()
        } else {
            e.body_text()
        };
        ApiError::field(Dialect::EventApi, "body", msg)
    })?;
    crate::http::fields::json::parse(&body).map_err(|e| {
        ApiError::field(
            Dialect::EventApi,
            "body",
            format!("body is not valid JSON: {e}"),
        )
    })
}

/// The caller's key, if it carries `scope`; refusals answered in `dialect`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    dialect: Dialect,
    scope: Scope,
) -> Result<KeyRecord, ApiError> {
    auth::api_key(state, headers, scope)
        .await
        .map_err(|e| ApiError::auth(dialect, e))
}

fn event_id(dialect: Dialect, site: &str, client_id: Option<&str>) -> String {
    match (dialect, client_id) {
        // Deterministic: the same idempotency key of the same site is the same event downstream too.
        (Dialect::EventApi, Some(k)) => {
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{site}:{k}").as_bytes())
                .to_string()
        }
        (Dialect::EventApi, None) => uuid::Uuid::now_v7().to_string(),
        (Dialect::EventProcessor, Some(id)) => id.to_string(),
        (Dialect::EventProcessor, None) => format!("evt_{}", uuid::Uuid::now_v7().simple()),
    }
}

/// Rate-checks, deduplicates and publishes `valid` (index, event); returns an outcome per index.
async fn ingest(
    state: &AppState,
    key: &KeyRecord,
    dialect: Dialect,
    valid: Vec<(usize, ValidEvent)>,
    outcomes: &mut [Option<Outcome>],
) -> Result<(), ApiError> {
    let rule = Rule::per_minute("events", u64::from(key.rate_per_minute));
    let decision = state.limiter.check(&rule, &key.id, valid.len() as u64);
    if !decision.allowed {
        return Err(ApiError::rate_limited(
            dialect,
            format!(
                "this API key may send {} events per minute",
                key.rate_per_minute
            ),
            decision.retry_after,
        ));
    }
    let site = &key.site;
    let ids: Vec<String> = valid
        .iter()
        .map(|(_, e)| event_id(dialect, site, e.client_id.as_deref()))
        .collect();
    let claims: Vec<(String, String)> = valid
        .iter()
        .zip(&ids)
        .filter_map(|((_, e), id)| e.client_id.clone().map(|c| (c, id.clone())))
        .collect();
    let earlier = state.stores.dedup.claim(site, &claims).await.unwrap_or_else(|e| {
        // Fail open: ids are deterministic, so ClickHouse still deduplicates what the edge could not.
        tracing::warn!(error = %e, "dedup store unavailable; accepting without edge deduplication");
        metrics::counter!("edge_dedup_unavailable_total").increment(1);
        vec![Claim::New; claims.len()]
    });
    let mut earlier = earlier.into_iter();
    let received_at = now_ms();
    let mut records = Vec::new();
    let mut sent = Vec::new();
    let mut in_request = std::collections::HashMap::new();
    for ((index, e), id) in valid.into_iter().zip(ids) {
        if let Some(client_id) = &e.client_id {
            // New or pending (a request that never confirmed): published, under the same deterministic id —
            // unless this request already carries it.
            let claim = earlier.next();
            let first = match claim {
                Some(Claim::Done(first)) => Some(first),
                _ => in_request.get(client_id).cloned(),
            };
            if let Some(first) = first {
                outcomes[index] = Some(Outcome::Duplicate(first));
                continue;
            }
            in_request.insert(client_id.clone(), id.clone());
        }
        let client_id = e.client_id.clone();
        let record = product_event(site, dialect, &id, e, received_at);
        let payload = encode(&record).map_err(|err| ApiError::ingestion(dialect, &err))?;
        records.push(OutRecord {
            topic: state.topics.name(Topic::ProductEvents),
            key: format!("{site}:{}", record.user_id).into_bytes(),
            payload,
            replay: None,
        });
        sent.push((index, id, client_id));
    }
    let results = state.publish_many(records, "events").await;
    settle(state, site, sent, results, outcomes).await;
    Ok(())
}

fn product_event(
    site: &str,
    dialect: Dialect,
    id: &str,
    e: ValidEvent,
    received_at: i64,
) -> ProductEvent {
    ProductEvent {
        event_id: id.to_string(),
        site: site.to_string(),
        user_id: e.user_id,
        session_id: e.session_id,
        event_name: e.event_name,
        timestamp: e.timestamp_ms,
        received_at,
        metadata_json: e.metadata_json,
        payload_json: e.payload_json,
        priority: e.priority,
        idempotency_key: e.client_id,
        dialect: dialect.name().to_string(),
    }
}

/// Records each sent event's outcome, then confirms the claims of those the broker acknowledged and releases
/// those of the rest.
async fn settle(
    state: &AppState,
    site: &str,
    sent: Vec<(usize, String, Option<String>)>,
    results: Vec<Result<(), ()>>,
    outcomes: &mut [Option<Outcome>],
) {
    let (mut confirmed, mut released) = (Vec::new(), Vec::new());
    for ((index, id, client_id), result) in sent.into_iter().zip(results) {
        outcomes[index] = Some(match result {
            Ok(()) => {
                confirmed.extend(client_id.map(|c| (c, id.clone())));
                Outcome::Accepted(id)
            }
            Err(()) => {
                released.extend(client_id);
                Outcome::Failed(id)
            }
        });
    }
    let dedup = &state.stores.dedup;
    if let Err(e) = dedup.confirm(site, &confirmed).await {
        // The pending claims expire in 30 s; until then a retry is published again (same id).
        tracing::warn!(error = %e, "could not confirm dedup claims");
    }
    if let Err(e) = dedup.release(site, &released).await {
        tracing::warn!(error = %e, "could not release dedup claims of failed events");
    }
}

pub async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match single_inner(&state, &headers, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn single_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Response> {
    let body = read_body(body).map_err(IntoResponse::into_response)?;
    let dialect = match &body {
        Value::Object(o) => dialect::of_event(o),
        _ => Dialect::EventApi,
    };
    let key = authenticate(state, headers, dialect, Scope::Ingest)
        .await
        .map_err(IntoResponse::into_response)?;
    let event = validate(dialect, &body, now_ms())
        .map_err(|p| ApiError::field(dialect, &p.field, p.message).into_response())?;
    let mut outcomes = vec![None];
    ingest(state, &key, dialect, vec![(0, event)], &mut outcomes)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(match (dialect, outcomes.pop().flatten()) {
        (Dialect::EventApi, Some(Outcome::Accepted(id))) => {
            Json(json!({ "event_id": id, "status": "accepted" })).into_response()
        }
        (Dialect::EventApi, Some(Outcome::Duplicate(id))) => {
            Json(json!({ "event_id": id, "status": "duplicate" })).into_response()
        }
        (Dialect::EventProcessor, Some(Outcome::Accepted(id))) => success(
            StatusCode::ACCEPTED,
            json!({ "eventId": id, "accepted": true, "duplicate": false, "message": "Event accepted for processing" }),
        ),
        (Dialect::EventProcessor, Some(Outcome::Duplicate(id))) => success(
            StatusCode::OK,
            json!({ "eventId": id, "accepted": false, "duplicate": true, "message": "Event already processed (duplicate)" }),
        ),
        (d, _) => ApiError::ingestion(d, &"event not acknowledged by the broker").into_response(),
    })
}

pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match batch_inner(&state, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn batch_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = read_body(body)?;
    let dialect = dialect::of_batch(&body);
    let key = authenticate(state, headers, dialect, Scope::Ingest).await?;
    let events = match (body, dialect) {
        (Value::Array(a), Dialect::EventApi) => a,
        (Value::Object(mut o), Dialect::EventProcessor) => match o.remove("events") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(ApiError::field(
                    dialect,
                    "events",
                    "events must be an array",
                ))
            }
        },
        _ => {
            return Err(ApiError::field(
                dialect,
                "body",
                "a batch is a JSON array of events (or { \"events\": [...] })",
            ))
        }
    };
    if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::field(
            dialect,
            "events",
            format!("a batch holds 1 to {MAX_BATCH_EVENTS} events"),
        ));
    }
    let now = now_ms();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut valid = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match validate(dialect, e, now) {
            Ok(v) => valid.push((i, v)),
            Err(p) => {
                outcomes[i] = Some(Outcome::Rejected {
                    field: p.field,
                    message: p.message,
                })
            }
        }
    }
    ingest(state, &key, dialect, valid, &mut outcomes).await?;
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Failed(String::new())))
        .collect();
    Ok(batch_reply(dialect, &outcomes))
}

fn batch_reply(dialect: Dialect, outcomes: &[Outcome]) -> Response {
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let accepted = count(|o| matches!(o, Outcome::Accepted(_)));
    let duplicates = count(|o| matches!(o, Outcome::Duplicate(_)));
    let rejected = count(|o| matches!(o, Outcome::Rejected { .. }));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    // Failed events were not stored: the whole answer says so, and names them, so the client retries them.
    let status = if failed > 0 {
        StatusCode::SERVICE_UNAVAILABLE
    } else if dialect == Dialect::EventApi {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let results: Vec<Value> = outcomes
        .iter()
        .enumerate()
        .map(|(index, o)| match o {
            Outcome::Accepted(id) => json!({ "index": index, "event_id": id, "status": "accepted" }),
            Outcome::Duplicate(id) => json!({ "index": index, "event_id": id, "status": "duplicate" }),
            Outcome::Rejected { field, message } => json!({ "index": index, "status": "rejected", "error": { "field": field, "message": message } }),
            Outcome::Failed(_) => json!({ "index": index, "status": "failed" }),
        })
        .collect();
    match dialect {
        Dialect::EventApi => (status, Json(json!({ "accepted": accepted, "duplicates": duplicates, "rejected": rejected, "failed": failed, "results": results }))).into_response(),
        Dialect::EventProcessor => {
            let ids: Vec<&str> = outcomes.iter().filter_map(|o| match o {
                Outcome::Accepted(id) | Outcome::Duplicate(id) => Some(id.as_str()),
                _ => None,
            }).collect();
            let errors: Vec<Value> = outcomes.iter().enumerate().filter_map(|(index, o)| match o {
                Outcome::Rejected { field, message } => Some(json!({ "index": index, "field": field, "message": message })),
                Outcome::Failed(_) => Some(json!({ "index": index, "field": null, "message": "not stored; retry" })),
                _ => None,
            }).collect();
            success(status, json!({
                "accepted": accepted, "duplicates": duplicates, "rejected": rejected, "failed": failed,
                "total": outcomes.len(), "eventIds": ids, "errors": errors,
                "message": if failed > 0 { "Batch partly stored; retry the failed events" } else { "Batch processed successfully" },
            }))
        }
    }
}

#[cfg(test)]
#[path = "handlers_tests.rs"]
mod tests;
