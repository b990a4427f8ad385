//! `POST /api/sync` (seed 000 and the OpsMantik tracker): one hit or a batch `{"events": [...]}` → validate
//! every hit → `TrackingHit`s → `opsmantik.tracking.v1` in one pipelined produce → 200 after every ack. Hits
//! whose `consent_scopes` lack `analytics` are not stored (a request holding only such hits gets 204 with
//! `x-opsmantik-consent-missing: analytics`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::now_ms;
use opsmantik_schemas::{encode, Topic, TrackingHit};
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::http::error::ApiError;
use crate::http::extract::LimitedBody;
use crate::ops::metrics;
use crate::tracking::event_time::event_time;
use crate::tracking::payload::{validate_all, SyncHit};

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
) -> Result<Response, ApiError> {
    let received_at = now_ms();
    let hits = validate_all(&body).map_err(|e| {
        metrics::rejected(ROUTE, e.code);
        ApiError::bad_request(e.code, e.message)
    })?;
    metrics::stage().received(hits.len());
    let unknown: usize = hits.iter().map(|h| h.unknown_fields).sum();
    if unknown > 0 {
        metrics::unknown_fields(unknown);
    }
    let site = super::site_of(&state, &headers, &hits[0].site, "s", ROUTE)?;
    let (kept, refused): (Vec<SyncHit>, Vec<SyncHit>) =
        hits.into_iter().partition(|h| !h.consent_missing);
    for _ in &refused {
        metrics::rejected(ROUTE, "consent_missing");
    }
    if kept.is_empty() {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(
            "x-opsmantik-consent-missing",
            HeaderValue::from_static("analytics"),
        );
        return Ok(r);
    }
    let hits: Vec<TrackingHit> = kept
        .into_iter()
        .map(|h| TrackingHit {
            // The site's public id, however the client named it.
            site: site.public_id.clone(),
            ..tracking_hit(h, received_at, &headers)
        })
        .collect();
    let records = hits
        .iter()
        .map(|h| record_of(&state, h))
        .collect::<Result<Vec<_>, _>>()?;
    let results = state.publish_many(records, ROUTE).await;
    if results.iter().any(Result::is_err) {
        return Err(ApiError::broker_unavailable());
    }
    let count = hits.len();
    let score = match hits.last() {
        Some(last) => current_score(&state, last).await,
        None => 0,
    };
    let answer = json!({ "ok": true, "score": score, "status": "synced", "count": count });
    Ok(Json(answer).into_response())
}

/// The broker record of `hit`.
fn record_of(state: &AppState, hit: &TrackingHit) -> Result<OutRecord, ApiError> {
    let payload = encode(hit).map_err(|e| {
        ApiError::unavailable(crate::http::error::Shape::Tracking, "encode_failed", &e)
    })?;
    Ok(OutRecord {
        topic: state.topics.name(Topic::Tracking),
        key: hit.key().into_bytes(),
        payload,
        replay: None,
    })
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

/// The lead score of the session this hit continues, from the edge's replica of the visitor index (0 for a
/// new session): no Redis round trip once the edge has met the visitor. A first read is bounded: a slow or
/// absent Redis costs at most 50 ms and answers 0.
async fn current_score(state: &AppState, hit: &TrackingHit) -> i32 {
    let read = state.visitors.get(&hit.site, &hit.visitor);
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

/// How wide the receive-time bucket is that identifies a hit sent without its client time.
const RESEND_BUCKET_MS: i64 = 5_000;

/// The hit's event id, a UUID v5 of what identifies the hit to its client, so a client that re-sends it (after
/// a lost answer, or from its outbox) gets the same id and it counts once (the session rules skip a repeated
/// id, tables deduplicate by id):
/// - a click the tracker stamped (`meta.intent_stamp`): site, visitor, category, action and the stamp — one
///   click, one event, however its meta changed between sends;
/// - a hit with its client time `ts`: what it says (site, visitor, session, category, action, label, URL) and `ts`;
/// - an untimed `system` hit reporting engagement (a session end or heartbeat with `active_sec` or
///   `duration_sec`): what it says and its whole `meta` — the engagement figures tell one real hit from the next;
/// - otherwise: what it says, its whole `meta`, and the 5-second receive-time bucket.
///
/// What this can merge by mistake: without `ts`, two hits of one visitor identical in every field *and* meta
/// within the same 5 s — a pair that carries no more than one hit; two engagement reports with the same
/// figures on the same URL of one session (no second of activity between them). What still counts twice: any
/// other identical untimed hit re-sent more than 5 s later (or across a bucket boundary).
fn hit_id(hit: &SyncHit, visitor: &str, received_at: i64) -> String {
    let says = json!([
        hit.site,
        visitor,
        hit.session_id,
        hit.category,
        hit.action,
        hit.label,
        hit.url
    ]);
    let name = match (&hit.intent_stamp, hit.ts) {
        (Some(stamp), _) => json!(["click", hit.site, visitor, hit.category, hit.action, stamp]),
        (None, Some(ts)) => json!(["ts", says, ts]),
        (None, None) if hit.category == "system" && hit.reports_engagement => {
            json!(["engagement", says, hit.meta_json])
        }
        (None, None) => json!([
            "bucket",
            says,
            hit.meta_json,
            received_at.div_euclid(RESEND_BUCKET_MS)
        ]),
    };
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.to_string().as_bytes()).to_string()
}

fn tracking_hit(hit: SyncHit, received_at: i64, headers: &HeaderMap) -> TrackingHit {
    let visitor = hit
        .fingerprint
        .clone()
        .unwrap_or_else(|| hit.session_id.clone());
    TrackingHit {
        event_id: hit_id(&hit, &visitor, received_at),
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
    use crate::tracking::payload::validate;

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
        assert_eq!(
            id(untimed, 5_000),
            id(untimed, 9_999),
            "no ts: the same 5 s bucket"
        );
        assert_ne!(id(untimed, 9_999), id(untimed, 10_000), "the next bucket");
        let click = br#"{"s":"a","u":"x","sid":"S","ec":"conversion","ea":"phone_call","meta":{"intent_stamp":"k"}}"#;
        assert_eq!(
            id(click, 0),
            id(click, 60_000),
            "a stamped click re-sent a minute later"
        );
        let end = |active: u32| {
            format!(
                r#"{{"s":"a","u":"x","sid":"S","ec":"system","ea":"session_end","meta":{{"active_sec":{active}}}}}"#
            )
        };
        assert_ne!(
            id(end(3).as_bytes(), 0),
            id(end(25).as_bytes(), 0),
            "two session ends with other engagement are two hits, even in one bucket"
        );
        assert_eq!(
            id(end(3).as_bytes(), 0),
            id(end(3).as_bytes(), 60_000),
            "an identical engagement report re-sent a minute later"
        );
        let scroll = br#"{"s":"a","u":"x","sid":"S","ea":"scroll_depth","el":"50%","meta":{"active_sec":3}}"#;
        assert_ne!(
            id(scroll, 0),
            id(scroll, 60_000),
            "only system hits are identified by their engagement"
        );
    }
}
