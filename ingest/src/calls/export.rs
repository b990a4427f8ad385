//! The offline-conversion routes (seed 001): `GET /api/oci/export` (the CSV; marks what it gives as
//! uploaded, so a second export gives only what is new), `GET /api/oci/export-batch` (the same selection as
//! JSON for a Google Ads script; no side effect) and `POST /api/oci/ack` (the script's receipt: marks those
//! calls uploaded). Editors, owners, admins, and keys with the `export` scope.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::sites::Site;
use opsmantik_schemas::CallRecord;
use serde::Deserialize;
use serde_json::{json, Value};

use super::change;
use super::oci::{self, Conversion};
use super::workflow::{self, Change};
use crate::app::state::AppState;
use crate::auth::access::{self, Need};
use crate::auth::principal::Caller;
use crate::auth::Principal;
use crate::http::error::ApiError;
use crate::http::reply::{object, ok};

/// Most call ids one receipt may name.
const MAX_ACK: usize = 1000;

/// `?siteId=`.
#[derive(Debug, Deserialize)]
pub struct SiteParam {
    #[serde(rename = "siteId")]
    site_id: Option<String>,
    /// `GET /api/oci/export` only: a batch exported before, to download again.
    batch: Option<String>,
}

/// How far back a batch can be downloaded again.
const REDOWNLOAD_DAYS: i64 = 31;

async fn site_of(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
) -> Result<Arc<Site>, ApiError> {
    let key = key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::invalid("siteId", "is required"))?;
    Ok(access::site(state, who, key, Need::EXPORT).await?)
}

/// Today's due calls of `site` with their conversions, and how many were skipped for want of a click id.
async fn selection(
    state: &AppState,
    site: &Site,
) -> Result<(Vec<(CallRecord, Conversion)>, usize), ApiError> {
    let window = oci::day_window(opsmantik_runtime::now_ms(), &site.time_zone);
    let calls = state
        .stores
        .calls
        .confirmed_between(&site.public_id, window)
        .await?;
    let due: Vec<_> = calls.into_iter().filter(oci::due).collect();
    let total = due.len();
    let rows: Vec<_> = due
        .into_iter()
        .filter_map(|c| oci::conversion(&c, site).map(|conv| (c, conv)))
        .collect();
    let skipped = total - rows.len();
    Ok((rows, skipped))
}

/// Marks `calls` uploaded in a new batch; the conversions of those stored, and the batch id.
async fn mark_uploaded(
    state: &AppState,
    who: &Principal,
    site: &Site,
    calls: Vec<CallRecord>,
) -> Result<(Vec<String>, String), ApiError> {
    let batch = uuid::Uuid::now_v7().to_string();
    let by = who.actor();
    let change = Change {
        by: &by,
        at: opsmantik_runtime::now_ms(),
    };
    let pairs = calls
        .into_iter()
        .map(|c| {
            let next = workflow::uploaded(&c, &batch, &change);
            (c, next)
        })
        .collect();
    let stored = change::many(state, who, "oci_uploaded", site, pairs).await?;
    Ok((stored.into_iter().map(|c| c.call_id).collect(), batch))
}

/// `GET /api/oci/export?siteId`.
pub async fn csv(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<SiteParam>,
) -> Result<Response, ApiError> {
    let site = site_of(&state, &who, q.site_id.as_deref()).await?;
    if let Some(batch) = q.batch.filter(|b| !b.is_empty()) {
        return again(&state, &site, &batch).await;
    }
    let (rows, skipped) = selection(&state, &site).await?;
    let (calls, conversions): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    let (stored, batch) = mark_uploaded(&state, &who, &site, calls).await?;
    // A call changed by someone else in between is left for the next export.
    let exported: Vec<Conversion> = conversions
        .into_iter()
        .filter(|c| stored.contains(&c.call_id))
        .collect();
    Ok(csv_file(&site, &exported, skipped, &batch))
}

/// `GET /api/oci/export?siteId&batch=<id>`: a batch of the last 31 days again (a download that was lost);
/// marks nothing. 404 for a batch the site does not have.
async fn again(state: &AppState, site: &Site, batch: &str) -> Result<Response, ApiError> {
    let now = opsmantik_runtime::now_ms();
    let window = (now - REDOWNLOAD_DAYS * 86_400_000, now + 1);
    let calls = state
        .stores
        .calls
        .confirmed_between(&site.public_id, window)
        .await?;
    let rows: Vec<Conversion> = calls
        .iter()
        .filter(|c| c.oci_batch_id.as_deref() == Some(batch))
        .filter_map(|c| oci::conversion(c, site))
        .collect();
    if rows.is_empty() {
        return Err(ApiError::new(
            crate::http::error::Shape::Control,
            StatusCode::NOT_FOUND,
            "not_found",
            "no such export batch in the last 31 days",
        ));
    }
    Ok(csv_file(site, &rows, 0, batch))
}

/// The CSV answer with its headers.
fn csv_file(site: &Site, rows: &[Conversion], skipped: usize, batch: &str) -> Response {
    let mut response = oci::csv(rows).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"opsmantik_oci_{}.csv\"",
        site.public_id
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "x-opsmantik-skipped-no-click-id",
        HeaderValue::from(skipped),
    );
    h.insert("x-opsmantik-exported", HeaderValue::from(rows.len()));
    if let Ok(v) = HeaderValue::from_str(batch) {
        h.insert("x-opsmantik-batch-id", v);
    }
    response
}

/// `GET /api/oci/export-batch?siteId`: the same selection as JSON; changes nothing.
pub async fn batch(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<SiteParam>,
) -> Result<Response, ApiError> {
    let site = site_of(&state, &who, q.site_id.as_deref()).await?;
    let (rows, skipped) = selection(&state, &site).await?;
    let conversions: Vec<Value> = rows
        .into_iter()
        .map(|(c, conv)| {
            let mut v = json!(conv);
            v["call_id"] = json!(c.call_id);
            v
        })
        .collect();
    let mut response = Json(Value::Array(conversions)).into_response();
    response.headers_mut().insert(
        "x-opsmantik-skipped-no-click-id",
        HeaderValue::from(skipped),
    );
    Ok(response)
}

/// `POST /api/oci/ack {site_id, call_ids[]}`: marks those of the site's due calls uploaded; others are
/// ignored (not counted).
pub async fn ack(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let site = site_of(&state, &who, m.get("site_id").and_then(Value::as_str)).await?;
    let ids: Vec<&str> = match m.get("call_ids").and_then(Value::as_array) {
        Some(a) if a.len() <= MAX_ACK => a.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(ApiError::invalid(
                "call_ids",
                format!("may name at most {MAX_ACK} calls"),
            ))
        }
        None => {
            return Err(ApiError::invalid(
                "call_ids",
                "must be an array of call ids",
            ))
        }
    };
    let found = futures::future::join_all(ids.iter().map(|id| state.stores.calls.get(id))).await;
    let mut calls = Vec::new();
    for call in found {
        if let Some(c) = call?.filter(|c| c.site == site.public_id && oci::due(c)) {
            calls.push(c);
        }
    }
    let (stored, batch) = mark_uploaded(&state, &who, &site, calls).await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "site_id": site.public_id, "updated": stored.len(), "batch_id": batch }),
    ))
}
