//! Seeds 002 and 003: the event API in both dialects (one path each, told apart by the body), analytics,
//! ingestion stats, sign-in by e-mail code and API keys.

#![allow(dead_code, non_snake_case, clippy::large_enum_variant)] // shapes and operations for the document, never built

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::errors::{EventApiError, Seed003Error};

/// Seed 002's event.
#[derive(ToSchema, Serialize)]
pub struct EventApiEvent {
    /// Required, ≤ 100 characters.
    event_name: String,
    user_id: Option<String>,
    /// ISO 8601; default now.
    timestamp: Option<String>,
    /// ≤ 10 KB.
    metadata: Option<Value>,
    /// A retry with the same key counts once.
    idempotency_key: Option<String>,
}

/// Seed 003's event.
#[derive(ToSchema, Serialize)]
pub struct ProcessorEvent {
    eventType: String,
    userId: String,
    sessionId: String,
    timestamp: String,
    metadata: Option<Value>,
    payload: Option<Value>,
    /// 1–10 (default 1).
    priority: Option<i32>,
    /// Custom id; generated when absent.
    eventId: Option<String>,
}

/// Either dialect: seed 002 (`event_name`) or seed 003 (`eventType`).
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum EventBody {
    EventApi(EventApiEvent),
    Processor(ProcessorEvent),
}

/// Seed 003's batch.
#[derive(ToSchema, Serialize)]
pub struct ProcessorBatch {
    events: Vec<ProcessorEvent>,
}

/// Seed 002's array (≤ 100 events, 1 MB) or seed 003's `{events}` (≤ 1000).
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum BatchBody {
    EventApi(Vec<EventApiEvent>),
    Processor(ProcessorBatch),
}

/// Seed 002: `{event_id, status: accepted|duplicate}`.
#[derive(ToSchema, Serialize)]
pub struct EventApiAnswer {
    event_id: String,
    status: String,
}

#[derive(ToSchema, Serialize)]
pub struct ProcessorAnswerData {
    eventId: String,
    accepted: bool,
    duplicate: bool,
    message: String,
}

/// Seed 003: `{success, data: {eventId, accepted, duplicate, message}}` (202 new, 200 duplicate).
#[derive(ToSchema, Serialize)]
pub struct ProcessorAnswer {
    success: bool,
    data: ProcessorAnswerData,
}

#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum EventAnswer {
    EventApi(EventApiAnswer),
    Processor(ProcessorAnswer),
}

/// A batch element's outcome (seed 002 dialect).
#[derive(ToSchema, Serialize)]
pub struct BatchResult {
    index: u32,
    event_id: Option<String>,
    /// `accepted`, `duplicate`, `rejected`, `failed`.
    status: String,
    error: Option<Value>,
}

#[derive(ToSchema, Serialize)]
pub struct EventApiBatchAnswer {
    accepted: u32,
    duplicates: u32,
    rejected: u32,
    failed: u32,
    results: Vec<BatchResult>,
}

#[derive(ToSchema, Serialize)]
pub struct BatchError {
    index: u32,
    field: Option<String>,
    message: String,
}

#[derive(ToSchema, Serialize)]
pub struct ProcessorBatchData {
    accepted: u32,
    duplicates: u32,
    rejected: u32,
    failed: u32,
    total: u32,
    eventIds: Vec<String>,
    errors: Vec<BatchError>,
    message: String,
}

#[derive(ToSchema, Serialize)]
pub struct ProcessorBatchAnswer {
    success: bool,
    data: ProcessorBatchData,
}

#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum BatchAnswer {
    EventApi(EventApiBatchAnswer),
    Processor(ProcessorBatchAnswer),
}

/// A refusal in the request's dialect.
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum EventError {
    EventApi(EventApiError),
    Processor(Seed003Error),
}

#[derive(ToSchema, Serialize)]
pub struct Bucket {
    timestamp: String,
    count: u64,
}

/// Seed 002's event counts.
#[derive(ToSchema, Serialize)]
pub struct EventCounts {
    count: u64,
    unique_users: u64,
    time_buckets: Vec<Bucket>,
}

#[derive(ToSchema, Serialize)]
pub struct TimeRange {
    start: String,
    end: String,
}

#[derive(ToSchema, Serialize)]
pub struct TypeCount {
    eventType: String,
    count: u64,
    percentage: f64,
}

#[derive(ToSchema, Serialize)]
pub struct TopUser {
    userId: String,
    eventCount: u64,
    lastEventAt: String,
    eventTypes: Vec<String>,
}

#[derive(ToSchema, Serialize)]
pub struct MetricsData {
    totalEvents: u64,
    timeRange: TimeRange,
    eventsByType: Vec<TypeCount>,
    topUsers: Vec<TopUser>,
    eventsOverTime: Vec<Bucket>,
    avgEventsPerUser: f64,
    uniqueUsers: u64,
    uniqueSessions: u64,
}

/// Seed 003's analytics metrics.
#[derive(ToSchema, Serialize)]
pub struct Metrics {
    success: bool,
    data: MetricsData,
}

#[derive(ToSchema, Serialize)]
pub struct StatsData {
    ingestionRate: f64,
    totalIngested: u64,
    timestamp: String,
}

/// Seed 003's ingestion stats.
#[derive(ToSchema, Serialize)]
pub struct Stats {
    success: bool,
    data: StatsData,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "email": "user@example.com" }))]
pub struct CodeRequest {
    email: String,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "email": "user@example.com", "code": "123456" }))]
pub struct Verify {
    email: String,
    code: String,
}

#[derive(ToSchema, Serialize)]
pub struct MessageData {
    message: String,
}

#[derive(ToSchema, Serialize)]
pub struct Message {
    success: bool,
    data: MessageData,
}

#[derive(ToSchema, Serialize)]
pub struct UserView {
    id: String,
    email: String,
    /// `USER` or `ADMIN`.
    role: String,
}

#[derive(ToSchema, Serialize)]
pub struct TokenData {
    /// A JWT for `Authorization: Bearer` (the session cookie is set too).
    token: String,
    user: UserView,
}

#[derive(ToSchema, Serialize)]
pub struct Token {
    success: bool,
    data: TokenData,
}

#[derive(ToSchema, Serialize)]
pub struct MeData {
    id: String,
    email: String,
    role: String,
    createdAt: String,
}

#[derive(ToSchema, Serialize)]
pub struct Me {
    success: bool,
    data: MeData,
}

/// Seed 003's key request (all optional); `project_id` names the site (required when the caller owns several).
#[derive(ToSchema, Serialize)]
pub struct KeyRequest {
    project_id: Option<String>,
    name: Option<String>,
    /// Any of `ingest`, `read`, `export` (default all).
    scopes: Option<Vec<String>>,
    /// Events per minute (default 1000; more, or 0 = unlimited, only by an admin).
    rate_limit_per_minute: Option<u32>,
}

#[derive(ToSchema, Serialize)]
pub struct KeyData {
    /// Shown once.
    apiKey: String,
    projectId: String,
    keyId: String,
    scopes: Vec<String>,
    rateLimitPerMinute: u32,
    message: String,
}

#[derive(ToSchema, Serialize)]
pub struct KeyCreated {
    success: bool,
    data: KeyData,
}

#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    description = "One event, in seed 002's or seed 003's dialect (answered in the same dialect).",
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Seed 002: accepted or duplicate; seed 003: duplicate", body = EventAnswer),
        (status = 202, description = "Seed 003: accepted", body = ProcessorAnswer),
        (status = 400, description = "Invalid event", body = EventError),
        (status = 401, description = "No or unknown API key", body = EventError),
        (status = 403, description = "The key lacks `ingest` or names another project", body = EventError),
        (status = 413, description = "Body too large", body = EventError),
        (status = 429, description = "Over the key's rate (`Retry-After`)", body = EventError),
        (status = 503, description = "Not stored; retry", body = EventError),
    ),
    security(("api_key" = []), ("bearer_key" = [])))]
fn single() {}

#[utoipa::path(post, path = "/api/v1/events/batch", tag = "events",
    description = "Many events; each is accepted, a duplicate, or rejected on its own.",
    request_body(content = BatchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Seed 002", body = BatchAnswer),
        (status = 202, description = "Seed 003", body = ProcessorBatchAnswer),
        (status = 400, description = "Not a batch", body = EventError),
        (status = 401, description = "No or unknown API key", body = EventError),
        (status = 403, description = "The key lacks `ingest`", body = EventError),
        (status = 413, description = "Too many events or bytes", body = EventError),
        (status = 429, description = "Over the key's rate", body = EventError),
        (status = 503, description = "Some events not stored; they are named; retry them", body = BatchAnswer),
    ),
    security(("api_key" = []), ("bearer_key" = [])))]
fn batch() {}

#[utoipa::path(get, path = "/api/v1/analytics/events", tag = "analytics",
    description = "Seed 002's event counts for the key's site.",
    params(
        ("project_id" = Option<String>, Query, description = "The site (must be the key's)"),
        ("event_name" = Option<String>, Query, description = "Only this event"),
        ("period" = Option<String>, Query, description = "`1h`, `24h`, `7d`, `30d` (bucket size follows)"),
    ),
    responses(
        (status = 200, body = EventCounts),
        (status = 400, body = EventApiError), (status = 401, body = EventApiError),
        (status = 403, body = EventApiError), (status = 429, body = EventApiError),
        (status = 503, body = EventApiError),
    ),
    security(("api_key" = []), ("bearer_key" = [])))]
fn analytics_events() {}

#[utoipa::path(get, path = "/api/v1/analytics/metrics", tag = "analytics",
    description = "Seed 003's metrics for the key's site.",
    params(
        ("timeRange" = Option<String>, Query, description = "`1h`, `24h`, `7d`, `30d`"),
        ("eventType" = Option<String>, Query), ("userId" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = Metrics),
        (status = 400, body = Seed003Error), (status = 401, body = Seed003Error),
        (status = 403, body = Seed003Error), (status = 429, body = Seed003Error),
        (status = 503, body = Seed003Error),
    ),
    security(("api_key" = []), ("bearer_key" = [])))]
fn analytics_metrics() {}

#[utoipa::path(get, path = "/api/v1/events/stats", tag = "analytics",
    responses(
        (status = 200, body = Stats),
        (status = 401, body = Seed003Error), (status = 403, body = Seed003Error),
        (status = 429, body = Seed003Error), (status = 503, body = Seed003Error),
    ),
    security(("api_key" = []), ("bearer_key" = [])))]
fn stats() {}

#[utoipa::path(post, path = "/api/auth/request-code", tag = "accounts",
    description = "Mails a 6-digit sign-in code (10 min).",
    request_body(content = CodeRequest, content_type = "application/json"),
    responses((status = 200, body = Message), (status = 400, body = Seed003Error),
              (status = 429, body = Seed003Error), (status = 503, body = Seed003Error)),
    security(()))]
fn request_code() {}

#[utoipa::path(post, path = "/api/auth/verify", tag = "accounts",
    request_body(content = Verify, content_type = "application/json"),
    responses((status = 200, description = "Signed in (also sets the session cookie)", body = Token),
              (status = 400, body = Seed003Error), (status = 401, body = Seed003Error),
              (status = 429, body = Seed003Error), (status = 503, body = Seed003Error)),
    security(()))]
fn verify() {}

#[utoipa::path(get, path = "/api/auth/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = Seed003Error), (status = 503, body = Seed003Error)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn me() {}

#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts",
    description = "Ends the session (and clears the cookie); succeeds without one.",
    responses((status = 200, body = Message)),
    security(()))]
fn logout() {}

#[utoipa::path(post, path = "/api/auth/api-key", tag = "accounts",
    description = "A new API key of a site the caller owns (seed 003 shape).",
    request_body(content = KeyRequest, content_type = "application/json"),
    responses(
        (status = 200, body = KeyCreated),
        (status = 400, body = Seed003Error), (status = 401, body = Seed003Error),
        (status = 403, body = Seed003Error), (status = 404, body = Seed003Error),
        (status = 503, body = Seed003Error),
    ),
    security(("bearer" = []), ("session_cookie" = [])))]
fn api_key() {}
