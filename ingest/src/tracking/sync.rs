//! `POST /api/sync` (seed 000): validate → `TrackingHit` → `opsmantik.tracking.v1` → 200 after the ack.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::now_ms;
use opsmantik_schemas::{encode, Topic, TrackingHit};
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::http::error::ApiError;
use crate::http::extract::LimitedBody;
use crate::ops::metrics;
use crate::sites::Lookup;
use crate::tracking::event_time::event_time;
use crate::tracking::payload::{validate, SyncHit};

const ROUTE: &str = "sync";

/// CDN country headers, in the order they are trusted (the first present wins).
const GEO_HEADERS: &[&str] = &[
    "cf-ipcountry",
    "x-vercel-ip-country",
    "cloudfront-viewer-country",
    "x-country-code",
];

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Json<Value>, ApiError> {
    let received_at = now_ms();
    metrics::stage().received(1);
    let hit = validate(&body).map_err(|e| {
        metrics::rejected(ROUTE, e.code);
        ApiError::bad_request(e.code, e.message)
    })?;
    if hit.unknown_fields > 0 {
        metrics::unknown_fields(hit.unknown_fields);
    }
    let site = match state.sites.get(&hit.site) {
        Lookup::Found(s) => s,
        Lookup::Unknown => {
            metrics::rejected(ROUTE, "unknown_site");
            return Err(ApiError::bad_request(
                "unknown_site",
                "`s` is not a known site",
            ));
        }
        Lookup::NotLoaded => {
            return Err(ApiError::unavailable(
                crate::http::error::Shape::Tracking,
                "sites_unavailable",
                &"site list not loaded",
            ))
        }
    };
    state.cors.check(&headers, &site)?;
    let mut record = tracking_hit(hit, received_at, &headers);
    record.site = site.public_id.clone();
    let payload = encode(&record).map_err(|e| {
        ApiError::unavailable(crate::http::error::Shape::Tracking, "encode_failed", &e)
    })?;
    let out = OutRecord {
        topic: state.topics.name(Topic::Tracking),
        key: record.key().into_bytes(),
        payload,
    };
    state.publish(out, ROUTE).await?;
    let score = current_score(&state, &record).await;
    Ok(Json(
        json!({ "ok": true, "score": score, "status": "synced" }),
    ))
}

/// `GET /api/sync?diag=1`: which country the edge would record and which geo headers were present.
/// Any other GET is a 405, as for every method but POST and OPTIONS.
pub async fn diag(
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if q.get("diag").map(String::as_str) != Some("1") {
        return Err(ApiError::new(
            crate::http::error::Shape::Tracking,
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use POST (GET only with ?diag=1)",
        ));
    }
    let present: Vec<&str> = GEO_HEADERS
        .iter()
        .copied()
        .filter(|h| headers.contains_key(*h))
        .collect();
    Ok(Json(
        json!({ "geo": geo_country(&headers), "headers_present": present, "order": GEO_HEADERS }),
    ))
}

/// The lead score of the session this hit continues, from the visitor index (0 for a new session). The
/// read is bounded: a slow or absent Redis costs at most 50 ms and answers 0.
async fn current_score(state: &AppState, hit: &TrackingHit) -> i32 {
    let read = opsmantik_runtime::visitor_index::read(&state.redis, &hit.site, &hit.visitor);
    match tokio::time::timeout(std::time::Duration::from_millis(50), read).await {
        Ok(Ok(Some(e))) if e.last_seen_ms >= hit.event_time - 30 * 60 * 1000 => e.lead_score,
        _ => 0,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// The first CDN country header present, upper-cased; `XX` (unknown) is treated as absent.
pub fn geo_country(headers: &HeaderMap) -> Option<String> {
    GEO_HEADERS
        .iter()
        .filter_map(|h| header(headers, h))
        .map(|c| c.to_ascii_uppercase())
        .find(|c| c.len() == 2 && c != "XX")
}

/// The hit's event id. A hit that carries the client's event time `ts` is identified by what the client sent
/// (site, visitor, session, `ts`, category, action, label, URL), so a client that re-sends it after a lost
/// answer gets the same id and it counts once (the sessionizer skips a repeated id, tables deduplicate by id).
/// Without `ts` two identical hits cannot be told from a retry, so each gets a fresh time-ordered id.
fn hit_id(hit: &SyncHit, visitor: &str) -> String {
    let Some(ts) = hit.ts else {
        return uuid::Uuid::now_v7().to_string();
    };
    let name = serde_json::json!([
        hit.site,
        visitor,
        hit.session_id,
        ts,
        hit.category,
        hit.action,
        hit.label,
        hit.url
    ]);
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.to_string().as_bytes()).to_string()
}

fn tracking_hit(hit: SyncHit, received_at: i64, headers: &HeaderMap) -> TrackingHit {
    let visitor = hit
        .fingerprint
        .clone()
        .unwrap_or_else(|| hit.session_id.clone());
    TrackingHit {
        event_id: hit_id(&hit, &visitor),
        event_time: event_time(received_at, hit.ts, hit.st),
        received_at,
        site: hit.site,
        visitor,
        session_id: hit.session_id,
        session_month: hit.session_month,
        url: hit.url,
        referrer: hit.referrer,
        category: hit.category,
        action: hit.action,
        label: hit.label,
        value: hit.value,
        fingerprint: hit.fingerprint,
        gclid: hit.gclid,
        gbraid: hit.gbraid,
        wbraid: hit.wbraid,
        duration_sec: hit.duration_sec,
        meta_json: hit.meta_json,
        user_agent: header(headers, "user-agent"),
        geo_country: geo_country(headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn geo_takes_the_first_documented_header_present() {
        let mut h = HeaderMap::new();
        h.insert("x-vercel-ip-country", HeaderValue::from_static("de"));
        assert_eq!(geo_country(&h).as_deref(), Some("DE"));
        h.insert("cf-ipcountry", HeaderValue::from_static("XX"));
        assert_eq!(geo_country(&h).as_deref(), Some("DE"), "XX means unknown");
        h.insert("cf-ipcountry", HeaderValue::from_static("TR"));
        assert_eq!(geo_country(&h).as_deref(), Some("TR"));
    }

    #[test]
    fn the_visitor_is_the_fingerprint_else_the_session() {
        let hit = validate(br#"{"s":"a","u":"x","sid":"S"}"#).unwrap();
        assert_eq!(tracking_hit(hit, 1, &HeaderMap::new()).key(), "a:S");
        let hit = validate(br#"{"s":"a","u":"x","sid":"S","meta":{"fp":"F"}}"#).unwrap();
        assert_eq!(tracking_hit(hit, 1, &HeaderMap::new()).key(), "a:F");
    }

    #[test]
    fn a_resent_hit_keeps_its_id_when_it_carries_its_event_time() {
        let body =
            br#"{"s":"a","u":"x","sid":"S","ea":"view","meta":{"fp":"F","ts":1000,"st":1000}}"#;
        let id = |b: &[u8], at| tracking_hit(validate(b).unwrap(), at, &HeaderMap::new()).event_id;
        assert_eq!(id(body, 5), id(body, 9_000), "the same hit re-sent later");
        let next =
            br#"{"s":"a","u":"x","sid":"S","ea":"view","meta":{"fp":"F","ts":1001,"st":1001}}"#;
        assert_ne!(id(body, 5), id(next, 5), "another hit a millisecond later");
        let untimed = br#"{"s":"a","u":"x","sid":"S"}"#;
        assert_ne!(id(untimed, 5), id(untimed, 5), "no ts: never merged");
    }
}
