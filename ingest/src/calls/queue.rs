//! The operator's queue: `GET /api/calls?siteId&status&from&to&limit&cursor` — the site's calls, newest
//! first, each with its matched session (entry URL, UTM, click ids, device, geo), lead score and reasons,
//! status and amounts. Read from the call ledger, so an operator's change shows at once; the sessions from
//! ClickHouse. Viewers and up, keys with `read`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::iso_ms;
use opsmantik_schemas::CallRecord;
use serde::Deserialize;
use serde_json::{json, Value};

use super::store::SessionFacts;
use super::workflow::STATUSES;
use crate::app::state::AppState;
use crate::auth::access::{self, Need};
use crate::auth::principal::Caller;
use crate::http::error::ApiError;
use crate::http::fields;
use crate::http::reply::ok;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// Calls read per ledger round trip while filling a page, and how many round trips at most.
const CHUNK: usize = 100;
const MAX_CHUNKS: usize = 20;

/// The query.
#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(rename = "siteId")]
    site_id: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// A call as the queue shows it, with its matched session when known.
pub fn view(c: &CallRecord, session: Option<&SessionFacts>) -> Value {
    let ctx = c.context.clone().unwrap_or_default();
    json!({
        "id": c.call_id, "version": c.version, "site_id": c.site, "status": c.status,
        "phone_number": c.phone_number, "action": c.action,
        "lead_score": c.lead_score, "lead_reasons": c.lead_reasons,
        "sale_amount": c.sale_amount, "currency": c.currency,
        "gclid": c.gclid, "wbraid": c.wbraid, "gbraid": c.gbraid,
        "created_at": iso_ms(c.created_at), "updated_at": iso_ms(c.updated_at),
        "confirmed_at": c.confirmed_at.map(iso_ms), "cancelled_at": c.cancelled_at.map(iso_ms),
        "confirmed_by": c.confirmed_by, "oci_status": c.oci_status, "oci_batch_id": c.oci_batch_id,
        "click": { "page_url": ctx.page_url, "intent_stamp": ctx.intent_stamp, "user_agent": ctx.user_agent },
        "session_id": c.session_id,
        "session": session.map(|s| json!({
            "id": s.session_id, "entry_url": s.entry_url, "referrer": s.referrer,
            "utm": { "source": s.utm_source, "medium": s.utm_medium, "campaign": s.utm_campaign,
                     "term": s.utm_term, "content": s.utm_content },
            "gclid": s.gclid, "wbraid": s.wbraid, "gbraid": s.gbraid,
            "device": s.device, "browser": s.browser, "os": s.os, "geo_country": s.geo_country,
            "started_at": iso_ms(i64::from(s.started_at) * 1000), "pageviews": s.pageviews,
            "events": s.events, "active_sec": s.active_sec,
        })),
    })
}

fn time(field: &str, v: Option<&String>) -> Result<Option<i64>, ApiError> {
    v.map(|t| fields::rfc3339_ms(t).map_err(|e| ApiError::invalid(field, e)))
        .transpose()
}

/// A page position: the last call shown (`<created_at ms>:<call id>`).
fn cursor(v: Option<&String>) -> Result<Option<(i64, String)>, ApiError> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this route gave");
    v.map(|c| {
        let (ts, id) = c.split_once(':').ok_or_else(bad)?;
        Ok((ts.parse().map_err(|_| bad())?, id.to_string()))
    })
    .transpose()
}

/// What one page asks for.
struct Page {
    range: (i64, i64),
    after: Option<(i64, String)>,
    status: Option<String>,
    limit: usize,
}

fn page(p: &Params) -> Result<Page, ApiError> {
    let status = p.status.clone().filter(|s| !s.is_empty());
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::invalid("status", "Invalid status"));
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let after = cursor(p.cursor.as_ref())?;
    let from = time("from", p.from.as_ref())?.unwrap_or(0);
    let to = time("to", p.to.as_ref())?.unwrap_or(i64::MAX);
    let to = after.as_ref().map_or(to, |(ts, _)| to.min(*ts));
    Ok(Page {
        range: (from, to),
        after,
        status,
        limit,
    })
}

/// Reads the ledger in chunks until the page is full: the calls (one more than the limit if there are more)
/// and the last call read.
async fn fill(
    state: &AppState,
    site: &str,
    p: &Page,
) -> Result<(Vec<CallRecord>, Option<CallRecord>), ApiError> {
    let (mut out, mut last, mut skip) = (Vec::new(), None, 0);
    for _ in 0..MAX_CHUNKS {
        let chunk = state
            .stores
            .calls
            .created_between(site, p.range, skip, CHUNK)
            .await?;
        skip += chunk.len();
        let done = chunk.len() < CHUNK;
        for c in chunk {
            // Calls with the cursor's time come in descending id order; those up to the cursor were shown.
            let seen = p
                .after
                .as_ref()
                .is_some_and(|(ts, id)| c.created_at == *ts && c.call_id >= *id);
            let wanted = p.status.as_ref().is_none_or(|s| *s == c.status);
            if !seen && wanted && out.len() <= p.limit {
                out.push(c.clone());
            }
            last = Some(c);
        }
        if done || out.len() > p.limit {
            return Ok((out, None));
        }
    }
    Ok((out, last))
}

/// `GET /api/calls`.
pub async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let site_key = params.site_id.clone().unwrap_or_default();
    if site_key.is_empty() {
        return Err(ApiError::invalid("siteId", "is required"));
    }
    let site = access::site(&state, &who, &site_key, Need::READ).await?;
    let p = page(&params)?;
    let (mut calls, scanned_to) = fill(&state, &site.public_id, &p).await?;
    let more = calls.len() > p.limit;
    calls.truncate(p.limit);
    let resume = if more {
        calls.last().cloned()
    } else {
        scanned_to
    };
    let ids: Vec<String> = calls.iter().filter_map(|c| c.session_id.clone()).collect();
    let sessions: HashMap<String, SessionFacts> =
        state.stores.calls.sessions(&site.public_id, &ids).await?;
    let shown: Vec<Value> = calls
        .iter()
        .map(|c| view(c, c.session_id.as_ref().and_then(|s| sessions.get(s))))
        .collect();
    Ok(ok(
        StatusCode::OK,
        json!({
            "site_id": site.public_id, "calls": shown,
            "next_cursor": resume.map(|c| format!("{}:{}", c.created_at, c.call_id)),
        }),
    ))
}
