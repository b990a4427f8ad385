//! Seed 000 (tracking, public), health and the edge's own public files.

#![allow(dead_code, non_snake_case, clippy::large_enum_variant)] // shapes and operations for the document, never built

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::errors::TrackingError;

/// `ev`: a number, a numeric string (a non-numeric string carries no value), or null.
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum EventValue {
    Number(f64),
    Text(String),
}

/// One tracker hit (seed 000's abbreviated keys; the OpsMantik tracker's wire format, DESIGN §6). `u` or `url`
/// is required.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "s": "demo", "u": "https://example.com/pricing?gclid=abc", "sid": "0f8c5a52-7b7e-4c1e-9b0a-3d4f5e6a7b8c", "sm": "2026-11-01", "ec": "interaction", "ea": "view", "meta": { "fp": "f1", "gclid": "abc", "duration_sec": 120 }, "r": "https://google.com/" }))]
pub struct Hit {
    /// The site's public id.
    s: String,
    /// The page's full URL (`url` is taken too).
    u: Option<String>,
    url: Option<String>,
    /// The tab's session id.
    sid: String,
    /// Session month, `YYYY-MM-01`.
    sm: Option<String>,
    /// Category: `interaction`, `conversion`, `system` (default `interaction`).
    ec: Option<String>,
    /// Action: `view`, `click`, `scroll`, `heartbeat`, … (default `view`).
    ea: Option<String>,
    el: Option<String>,
    ev: Option<EventValue>,
    /// Kept whole: `fp` (fingerprint), `gclid`/`wbraid`/`gbraid`, `duration_sec`, `intent_*`, …
    meta: Option<Value>,
    /// Referrer.
    r: Option<String>,
    /// When it happened on the client (Unix ms) …
    ts: Option<i64>,
    /// … and when the client sent it (Unix ms): the edge sets the event time back by `st − ts`.
    st: Option<i64>,
    /// Consent scopes; without `analytics` the hit is acknowledged and not stored.
    consent_scopes: Option<Vec<String>>,
}

/// A batch of the OpsMantik tracker: 1–100 hits.
#[derive(ToSchema, Serialize)]
pub struct HitBatch {
    events: Vec<Hit>,
}

/// One hit or a batch (also sent as `text/plain` by `sendBeacon`).
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum SyncBody {
    One(Hit),
    Batch(HitBatch),
}

/// `200` of `POST /api/sync`.
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "ok": true, "score": 0, "status": "synced", "count": 1 }))]
pub struct Synced {
    ok: bool,
    /// The lead score of the session the (last) hit continues.
    score: f64,
    status: String,
    /// How many hits were taken.
    count: u32,
}

/// `GET /api/sync?diag=1`.
#[derive(ToSchema, Serialize)]
pub struct GeoDiag {
    geo: Option<String>,
    headers_present: Vec<String>,
    order: Vec<String>,
}

/// A phone or WhatsApp click (seed 000).
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "event_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "site_id": "demo", "phone_number": "+905551112233", "fingerprint": "f1", "action": "phone", "url": "https://example.com/contact" }))]
pub struct CallEvent {
    event_id: Option<String>,
    site_id: String,
    phone_number: Option<String>,
    fingerprint: String,
    /// `phone` or `whatsapp`.
    action: Option<String>,
    url: Option<String>,
    ads_context: Option<Value>,
}

/// The answer to a call event: `matched` with the session and its score, `unmatched`, or `noop` for a signed
/// request seen before (then `call_id`).
#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "status": "matched", "session_id": "0f8c5a52-7b7e-4c1e-9b0a-3d4f5e6a7b8c", "lead_score": 85 }))]
pub struct CallAnswer {
    status: String,
    session_id: Option<String>,
    lead_score: Option<f64>,
    call_id: Option<String>,
}

/// A dependency's state in `/api/health`.
#[derive(ToSchema, Serialize)]
pub struct Dependency {
    status: String,
    latency_ms: u64,
}

#[derive(ToSchema, Serialize)]
pub struct Dependencies {
    broker: Dependency,
    clickhouse: Dependency,
    redis: Dependency,
}

/// `GET /api/health` (seeds 000 and 003): `healthy`, `degraded` (a store down) or `unhealthy` (broker down, 503).
#[derive(ToSchema, Serialize)]
pub struct Health {
    status: String,
    version: String,
    timestamp: String,
    uptime: u64,
    services: Dependencies,
}

#[derive(ToSchema, Serialize)]
pub struct Ready {
    ready: bool,
}

#[derive(ToSchema, Serialize)]
pub struct Live {
    live: bool,
}

#[utoipa::path(post, path = "/api/sync", tag = "tracking",
    description = "Tracker hits (seed 000). CORS fail-closed per site; 100/min per IP. Also `text/plain` (beacons).",
    request_body(content = SyncBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Taken (or acknowledged without consent)", body = Synced),
        (status = 400, description = "Invalid payload; names the field", body = TrackingError),
        (status = 403, description = "Origin not allowed for the site", body = TrackingError),
        (status = 413, description = "Body too large", body = TrackingError),
        (status = 429, description = "Rate limited (`Retry-After`)", body = TrackingError),
        (status = 503, description = "Not stored; retry", body = TrackingError),
    ),
    security(()))]
fn sync() {}

#[utoipa::path(get, path = "/api/sync", tag = "tracking",
    description = "`?diag=1`: the country the edge would record and the geo headers present; 405 otherwise.",
    params(("diag" = String, Query, description = "`1`")),
    responses(
        (status = 200, description = "Diagnosis", body = GeoDiag),
        (status = 405, description = "Use POST", body = TrackingError),
    ),
    security(()))]
fn sync_diag() {}

#[utoipa::path(post, path = "/api/call-event", tag = "tracking",
    description = "Unsigned phone/WhatsApp click (seed 001); refused when the site takes signed events only. 50/min per IP.",
    request_body(content = CallEvent, content_type = "application/json"),
    responses(
        (status = 200, description = "Matched or not", body = CallAnswer),
        (status = 400, description = "Invalid payload", body = TrackingError),
        (status = 401, description = "The site takes signed events only", body = TrackingError),
        (status = 403, description = "Origin not allowed", body = TrackingError),
        (status = 429, description = "Rate limited", body = TrackingError),
        (status = 503, description = "Not stored; retry", body = TrackingError),
    ),
    security(()))]
fn call_event() {}

#[utoipa::path(post, path = "/api/call-event/v2", tag = "tracking",
    description = "HMAC-signed call event (seed 000): `X-Ops-Timestamp` (Unix s) and `X-Ops-Signature` (hex HMAC-SHA256 with the site's secret, docs/tracking.md); `X-Ops-Site-Id` optional. A repeat answers `noop`.",
    request_body(content = CallEvent, content_type = "application/json"),
    params(
        ("X-Ops-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Ops-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "Matched, unmatched or noop", body = CallAnswer),
        (status = 400, description = "Invalid payload", body = TrackingError),
        (status = 401, description = "Signature missing, stale or wrong", body = TrackingError),
        (status = 403, description = "Origin not allowed", body = TrackingError),
        (status = 429, description = "Rate limited", body = TrackingError),
        (status = 503, description = "Not stored; retry", body = TrackingError),
    ),
    security(("call_signature" = [])))]
fn call_event_v2() {}

#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses(
        (status = 200, description = "Healthy or degraded", body = Health),
        (status = 503, description = "Unhealthy: the broker is unreachable", body = Health),
    ),
    security(()))]
fn health() {}

#[utoipa::path(get, path = "/api/ready", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = Ready)), security(()))]
fn ready() {}

#[utoipa::path(get, path = "/api/live", tag = "operations",
    responses((status = 200, body = Live)), security(()))]
fn live() {}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Prometheus text format.",
    responses((status = 200, description = "Metrics", content_type = "text/plain", body = String),
              (status = 404, description = "Metrics disabled", body = TrackingError)),
    security(()))]
fn metrics() {}

#[utoipa::path(get, path = "/tracker.js", tag = "tracking",
    description = "Our browser tracker (docs/tracker.md): gzip, ETag, 304 on `If-None-Match`.",
    responses((status = 200, description = "The script", content_type = "application/javascript", body = String),
              (status = 304, description = "Not modified")),
    security(()))]
fn tracker() {}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    description = "This document (OpenAPI 3.1).",
    responses((status = 200, description = "The document", body = Value)), security(()))]
fn openapi() {}

#[utoipa::path(get, path = "/docs", tag = "operations",
    description = "Swagger UI over this document (assets served by the edge; works offline).",
    responses((status = 200, description = "The page", content_type = "text/html", body = String),
              (status = 303, description = "To `/docs/`")),
    security(()))]
fn docs() {}

#[utoipa::path(get, path = "/", tag = "dashboard",
    description = "To the dashboard (`/app/`).",
    responses((status = 200, description = "The dashboard's page, for a client that follows the redirect", content_type = "text/html", body = String),
              (status = 303, description = "To `/app/`")),
    security(()))]
fn root() {}

#[utoipa::path(get, path = "/app", tag = "dashboard",
    description = "To the dashboard (`/app/`).",
    responses((status = 200, description = "The dashboard's page, for a client that follows the redirect", content_type = "text/html", body = String),
              (status = 303, description = "To `/app/`")),
    security(()))]
fn app() {}

#[utoipa::path(get, path = "/app/", tag = "dashboard",
    description = "The dashboard's page (docs/dashboard.md): public, holds no data; its data comes from this API \
                   with the signed-in user's rights. ETag, 304 on `If-None-Match`, gzip.",
    responses((status = 200, description = "The page", content_type = "text/html", body = String),
              (status = 304, description = "Not modified")),
    security(()))]
fn app_page() {}

#[utoipa::path(get, path = "/app/{file}", tag = "dashboard",
    description = "One of the dashboard's files (scripts, style), built into the edge.",
    params(("file" = String, Path, description = "e.g. `app.js`")),
    responses((status = 200, description = "The file", body = String),
              (status = 304, description = "Not modified"),
              (status = 404, description = "Not one of the dashboard's files", body = TrackingError)),
    security(()))]
fn app_file() {}
