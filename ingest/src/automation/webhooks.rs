//! `POST/GET /api/v1/webhooks`, `GET/DELETE /api/v1/webhooks/{id}`, `GET /api/v1/webhooks/{id}/deliveries`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::automation::{Kind, Webhook};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body_object, created, find, invalid, key, listed, remove, D};
use crate::app::state::AppState;
use crate::auth::keys::Scope;
use crate::http::error::ApiError;
use crate::http::fields;

const MAX_EVENTS: usize = 50;
const SECRET_LEN: std::ops::RangeInclusive<usize> = 8..=256;

/// A webhook as shown (never its secret).
pub fn view(w: &Webhook) -> Value {
    json!({ "id": w.id, "url": w.url, "events": w.events, "created_at": w.created_at })
}

fn events(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let list = v
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("events", "events must be a list of event names"))?;
    if list.is_empty() || list.len() > MAX_EVENTS {
        return Err(invalid(
            "events",
            format!("events must name 1 to {MAX_EVENTS} events"),
        ));
    }
    list.iter()
        .map(|e| {
            e.as_str()
                .ok_or_else(|| "must hold strings".to_string())
                .and_then(|s| fields::text(s, 100))
                .map_err(|m| invalid("events", format!("events: {m}")))
        })
        .collect()
}

/// `POST /api/v1/webhooks {url, events[], secret}` → 201.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Ingest).await?;
    let m = body_object(&body)?;
    let url = m
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("url", "url is required"))?;
    if url.len() > 2048 {
        return Err(invalid("url", "url must be at most 2048 characters"));
    }
    state
        .outbound
        .resolve(url)
        .await
        .map_err(|e| invalid("url", format!("url {e}")))?;
    let events = events(m.get("events"))?;
    let secret = m.get("secret").and_then(Value::as_str).unwrap_or_default();
    if !SECRET_LEN.contains(&secret.len()) {
        return Err(invalid("secret", "secret must be 8 to 256 characters"));
    }
    let hook = Webhook {
        id: uuid::Uuid::now_v7().to_string(),
        site: key.site.clone(),
        url: url.to_string(),
        events,
        secret: secret.to_string(),
        created_at: opsmantik_runtime::now_ms(),
    };
    let detail = json!({ "webhook_id": hook.id, "url": hook.url });
    created(
        &state,
        &key,
        Kind::Webhook,
        (&hook.id, &hook),
        detail,
        view(&hook),
    )
    .await
}

/// `GET /api/v1/webhooks?project_id`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    listed::<Webhook>(&state, &headers, &q, Kind::Webhook, |w| w.created_at, view).await
}

/// `GET /api/v1/webhooks/{id}`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Read).await?;
    let hook: Webhook = find(&state, Kind::Webhook, &key.site, &id).await?;
    Ok(Json(view(&hook)).into_response())
}

/// `DELETE /api/v1/webhooks/{id}`: rules naming it skip it from then on.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    remove(&state, &headers, Kind::Webhook, &id).await
}

/// The delivery log's query.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    limit: Option<u32>,
    /// `<attempted_at ms>:<delivery id>:<attempt>` of the last row shown.
    cursor: Option<String>,
}

/// One attempt as logged (`status`: `delivered`, `retrying`, `failed`, `dead`).
#[derive(Debug, Clone, clickhouse::Row, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Attempt {
    delivery_id: String,
    event_id: String,
    rule_id: String,
    attempt: u32,
    status: String,
    http_status: u16,
    latency_ms: u32,
    error: String,
    attempted_at_ms: i64,
}

const STATUSES: [&str; 4] = ["delivered", "retrying", "failed", "dead"];

/// `GET /api/v1/webhooks/{id}/deliveries?status&limit&cursor`: every attempt, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Read).await?;
    find::<Webhook>(&state, Kind::Webhook, &key.site, &id).await?;
    let status = q.status.filter(|s| !s.is_empty());
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(invalid(
            "status",
            format!("status must be one of {}", STATUSES.join(", ")),
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(invalid("limit", "limit must be 1 to 500"));
    }
    let before = match q
        .cursor
        .as_deref()
        .map(|c| c.split_once(':').map(|(t, _)| t.parse::<i64>()))
    {
        None => i64::MAX,
        Some(Some(Ok(t))) => t,
        Some(_) => return Err(invalid("cursor", "cursor is not one this route gave")),
    };
    let rows: Vec<Attempt> = state
        .clickhouse
        .query(
            "SELECT delivery_id, event_id, rule_id, attempt, status, http_status, latency_ms, error, \
             attempted_at_ms FROM webhook_deliveries WHERE site = ? AND webhook_id = ? \
             AND attempted_at_ms < ? AND (? = '' OR status = ?) \
             ORDER BY attempted_at_ms DESC, delivery_id, attempt LIMIT ?",
        )
        .bind(&key.site)
        .bind(&id)
        .bind(before)
        .bind(status.clone().unwrap_or_default())
        .bind(status.unwrap_or_default())
        .bind(limit)
        .fetch_all()
        .await
        .map_err(|e| ApiError::unavailable(D, "store_unavailable", &e))?;
    let next = (rows.len() == limit as usize)
        .then(|| {
            rows.last()
                .map(|r| format!("{}:{}:{}", r.attempted_at_ms, r.delivery_id, r.attempt))
        })
        .flatten();
    Ok(Json(json!({ "webhook_id": id, "deliveries": rows, "next_cursor": next })).into_response())
}
