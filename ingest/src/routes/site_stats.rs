//! Per-site dashboards: `GET /api/stats/realtime?siteId=` (today so far, from the Redis overlay, in the site's
//! time zone) and `GET /api/sites/{id}/status` (last event and session, receiving or not, from ClickHouse).
//! Both take the site's API key (`x-api-key`) until dashboard sessions exist; a key of another site gets 403.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::overlay::{self, local_day, METRICS};
use opsmantik_runtime::sites::{Lookup, Site};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::events::dialect::Dialect;
use crate::events::handlers::authenticate;
use crate::events::reply::EventError;
use crate::state::AppState;

/// A site counts as receiving when its last event arrived within this long.
const RECEIVING_WITHIN_SECS: i64 = 3600;

async fn authorized_site(
    state: &AppState,
    headers: &HeaderMap,
    site_key: &str,
) -> Result<std::sync::Arc<Site>, EventError> {
    let d = Dialect::EventProcessor;
    let key = authenticate(state, headers, d).await?;
    let site = match state.sites.get(site_key) {
        Lookup::Found(s) => s,
        _ => {
            return Err(EventError::new(
                d,
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "no such site",
            ))
        }
    };
    if key.site != site.public_id && key.site != site.id {
        return Err(EventError::new(
            d,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this API key does not belong to that site",
        ));
    }
    Ok(site)
}

#[derive(Debug, Deserialize)]
pub struct RealtimeQuery {
    #[serde(rename = "siteId")]
    site_id: Option<String>,
}

pub async fn realtime(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RealtimeQuery>,
) -> Response {
    let Some(site_key) = q.site_id.filter(|s| !s.is_empty()) else {
        return EventError::invalid(Dialect::EventProcessor, "siteId", "siteId is required")
            .into_response();
    };
    let site = match authorized_site(&state, &headers, &site_key).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let day = local_day(opsmantik_runtime::now_ms(), &site.time_zone);
    match overlay::counts(&state.redis, &site.public_id, &day).await {
        Ok(counts) => {
            let mut body =
                json!({ "siteId": site.public_id, "date": day, "timeZone": site.time_zone });
            for (metric, n) in METRICS.iter().zip(counts) {
                body[*metric] = json!(n);
            }
            Json(json!({ "success": true, "data": body })).into_response()
        }
        Err(e) => EventError::internal(Dialect::EventProcessor, &e).into_response(),
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LastSession {
    session_id: String,
    started_at: u32,
    last_seen_at: u32,
}

fn iso(secs: i64) -> Value {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let site = match authorized_site(&state, &headers, &id).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let last_event: Result<u32, _> = state
        .clickhouse
        .query("SELECT toUInt32(max(received_at)) FROM events WHERE site = ?")
        .bind(&site.public_id)
        .fetch_one()
        .await;
    let last_session: Result<Option<LastSession>, _> = state
        .clickhouse
        .query(
            "SELECT session_id, toUInt32(started_at) AS started_at, toUInt32(last_seen_at) AS last_seen_at \
             FROM sessions FINAL WHERE site = ? ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(&site.public_id)
        .fetch_optional()
        .await;
    let (last_event, last_session) = match (last_event, last_session) {
        (Ok(e), Ok(s)) => (e, s),
        (Err(e), _) | (_, Err(e)) => {
            return EventError::internal(Dialect::EventProcessor, &e).into_response()
        }
    };
    let now = chrono::Utc::now().timestamp();
    let last_event = (last_event > 0).then_some(i64::from(last_event));
    let receiving = last_event.is_some_and(|t| now - t <= RECEIVING_WITHIN_SECS);
    Json(json!({
        "success": true,
        "data": {
            "siteId": site.public_id,
            "receiving": receiving,
            "lastEventAt": last_event.map_or(Value::Null, iso),
            "lastSession": last_session.map(|s| json!({
                "sessionId": s.session_id,
                "startedAt": iso(i64::from(s.started_at)),
                "lastSeenAt": iso(i64::from(s.last_seen_at)),
            })),
        }
    }))
    .into_response()
}
