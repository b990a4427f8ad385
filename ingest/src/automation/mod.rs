//! Webhooks and rules (seed 002): the site's API key manages them — `ingest` scope to create, change and
//! delete, `read` to list and read (and the delivery log). Records live in Redis
//! (`opsmantik_runtime::automation`), every change is audited, and the rules processor and the webhook sink
//! pick changes up within seconds (docs/webhooks.md). Answers and refusals in seed 002's shape.

pub mod rules;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use axum::Router;
use opsmantik_runtime::automation::{self, Kind};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::audit;
use crate::auth::keys::{KeyRecord, Scope};
use crate::auth::Principal;
use crate::http::dialect::Dialect;
use crate::http::error::ApiError;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/webhooks/{id}",
            get(webhooks::get).delete(webhooks::delete),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/v1/rules", get(rules::list).post(rules::create))
        .route(
            "/api/v1/rules/{id}",
            get(rules::get).patch(rules::patch).delete(rules::delete),
        )
}

const D: Dialect = Dialect::EventApi;

/// The caller's key with `scope`; refusals in seed 002's shape.
async fn key(state: &AppState, headers: &HeaderMap, scope: Scope) -> Result<KeyRecord, ApiError> {
    crate::auth::api_key(state, headers, scope)
        .await
        .map_err(|e| ApiError::auth(D, e))
}

/// 400 naming `field`.
fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::field(D, field, message)
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        D,
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

/// A `project_id` naming another site than the key's: 403, as on the analytics routes.
fn check_project(key: &KeyRecord, project: Option<&String>) -> Result<(), ApiError> {
    match project {
        Some(p) if *p != key.site && *p != key.site_id => Err(ApiError::new(
            D,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this API key does not belong to that project",
        )),
        _ => Ok(()),
    }
}

fn store_error(e: redis::RedisError) -> ApiError {
    ApiError::unavailable(D, "store_unavailable", &e)
}

/// The JSON object of a body, or 400.
fn body_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match crate::http::fields::json::parse(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid("body", "body must be a JSON object")),
        Err(e) => Err(invalid("body", format!("body is not valid JSON: {e}"))),
    }
}

async fn record(state: &AppState, key: &KeyRecord, action: &str, detail: Value) {
    audit::record(
        state,
        &Principal::Key(key.clone()),
        action,
        &key.site_id,
        detail,
    )
    .await;
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Webhook => "webhook",
        Kind::Rule => "rule",
    }
}

/// The record `id` of `site`, or 404.
async fn find<T: DeserializeOwned>(
    state: &AppState,
    kind: Kind,
    site: &str,
    id: &str,
) -> Result<T, ApiError> {
    automation::get(&state.redis, kind, site, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found(noun(kind)))
}

/// The key's site's records of `kind` (`read` scope; `project_id`, when given, must be that site), each
/// through `view`, oldest first, under `field`.
async fn listed<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    kind: Kind,
    created: fn(&T) -> i64,
    view: fn(&T) -> Value,
) -> Result<Response, ApiError> {
    let key = key(state, headers, Scope::Read).await?;
    check_project(&key, q.get("project_id"))?;
    let mut records: Vec<T> = automation::list(&state.redis, kind, &key.site)
        .await
        .map_err(store_error)?;
    records.sort_by_key(created);
    let shown: Vec<Value> = records.iter().map(view).collect();
    let field = format!("{}s", noun(kind));
    Ok(Json(json!({ field: shown })).into_response())
}

/// Deletes the key's site's record `id` of `kind` (`ingest` scope), audited.
async fn remove(
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
    id: &str,
) -> Result<Response, ApiError> {
    let key = key(state, headers, Scope::Ingest).await?;
    if !automation::delete(&state.redis, kind, &key.site, id)
        .await
        .map_err(store_error)?
    {
        return Err(not_found(noun(kind)));
    }
    let what = noun(kind);
    record(
        state,
        &key,
        &format!("{what}_deleted"),
        json!({ format!("{what}_id"): id }),
    )
    .await;
    Ok(Json(json!({ "id": id, "deleted": true })).into_response())
}

/// Stores a new record of `kind` for the key's site, audited; 201 with `shown`.
async fn created<T: serde::Serialize>(
    state: &AppState,
    key: &KeyRecord,
    kind: Kind,
    (id, new): (&str, &T),
    detail: Value,
    shown: Value,
) -> Result<Response, ApiError> {
    automation::put(&state.redis, kind, &key.site, id, new)
        .await
        .map_err(store_error)?;
    record(state, key, &format!("{}_created", noun(kind)), detail).await;
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}
