//! Per-site dashboards: `GET /api/stats/realtime?siteId=` (today so far, from the Redis overlay, in the site's
//! time zone) and `GET /api/sites/{id}/status` (last event and session, receiving or not, from ClickHouse).
//! Both take a `read` key of the site or a member's session (JWT or cookie); anyone else gets the same 404
//! whether or not the site exists.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::overlay::{self, local_day, METRICS};
use opsmantik_runtime::sites::Site;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::auth::{self, Need};
use crate::http::dialect::Dialect;
use crate::http::error::ApiError;

/// A site counts as receiving when its last event arrived within this long.
const RECEIVING_WITHIN_SECS: i64 = 3600;

/// The site, if the caller (a `read` key of the site or a member's session) may read it.
async fn authorized_site(
    state: &AppState,
    headers: &HeaderMap,
    site_key: &str,
) -> Result<std::sync::Arc<Site>, ApiError> {
    let d = Dialect::EventProcessor;
    let who = auth::identify(state, headers)
        .await
        .map_err(|e| ApiError::auth(d, e))?;
    auth::access::site(state, &who, site_key, Need::READ)
        .await
        .map_err(|e| ApiError::auth(d, e))
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
        return ApiError::field(Dialect::EventProcessor, "siteId", "siteId is required")
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
        Err(e) => ApiError::ingestion(Dialect::EventProcessor, &e).into_response(),
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LastSession {
    session_id: String,
    started_at: u32,
    last_seen_at: u32,
    source: String,
}

#[derive(Debug, Default, clickhouse::Row, Deserialize)]
struct LastEvent {
    received_at: u32,
    category: String,
    action: String,
}

fn iso(secs: i64) -> Value {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

const LAST_EVENT: &str =
    "SELECT toUInt32(received_at) AS received_at, category, action FROM events \
     WHERE site = ? ORDER BY received_at DESC, event_time DESC LIMIT 1";

/// The last session's source: its UTM source, else the referrer, else `direct`.
const LAST_SESSION: &str = "SELECT session_id, toUInt32(started_at) AS started_at, \
     toUInt32(last_seen_at) AS last_seen_at, \
     if(utm_source != '', utm_source, if(referrer != '', referrer, 'direct')) AS source \
     FROM sessions FINAL WHERE site = ? ORDER BY last_seen_at DESC LIMIT 1";

/// `GET /api/sites/{id}/status`: the seed-era fields (`site_id`, `status`, `last_event_at`,
/// `last_session_id`, `last_source`, `last_event_category`, `last_event_action`) and the earlier ones.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let site = match authorized_site(&state, &headers, &id).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let ch = &state.clickhouse;
    let last_event = ch
        .query(LAST_EVENT)
        .bind(&site.public_id)
        .fetch_optional::<LastEvent>();
    let last_session = ch
        .query(LAST_SESSION)
        .bind(&site.public_id)
        .fetch_optional::<LastSession>();
    let (last_event, last_session) = match tokio::join!(last_event, last_session) {
        (Ok(e), Ok(s)) => (e.unwrap_or_default(), s),
        (Err(e), _) | (_, Err(e)) => {
            return ApiError::ingestion(Dialect::EventProcessor, &e).into_response()
        }
    };
    let now = chrono::Utc::now().timestamp();
    let at = (last_event.received_at > 0).then_some(i64::from(last_event.received_at));
    let receiving = at.is_some_and(|t| now - t <= RECEIVING_WITHIN_SECS);
    let or_null = |s: String| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s)
        }
    };
    Json(json!({
        "success": true,
        "data": {
            "site_id": site.public_id,
            "status": if receiving { "Receiving events" } else { "No traffic yet" },
            "last_event_at": at.map_or(Value::Null, iso),
            "last_session_id": last_session.as_ref().map(|s| s.session_id.clone()),
            "last_source": last_session.as_ref().map(|s| s.source.clone()),
            "last_event_category": if at.is_some() { or_null(last_event.category) } else { Value::Null },
            "last_event_action": if at.is_some() { or_null(last_event.action) } else { Value::Null },
            "siteId": site.public_id,
            "receiving": receiving,
            "lastEventAt": at.map_or(Value::Null, iso),
            "lastSession": last_session.map(|s| json!({
                "sessionId": s.session_id,
                "startedAt": iso(i64::from(s.started_at)),
                "lastSeenAt": iso(i64::from(s.last_seen_at)),
            })),
        }
    }))
    .into_response()
}
