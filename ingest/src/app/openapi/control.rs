//! Seed 001: sites, members, keys, the call queue and conversion export, realtime stats and summary,
//! operations (reconcile, dead letters). Signed-in members by role, or the site's API key where the access
//! matrix (docs/access.md) says so.

#![allow(dead_code, non_snake_case, clippy::large_enum_variant)] // shapes and operations for the document, never built

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A site as its members see it (never its secret).
#[derive(ToSchema, Serialize)]
pub struct SiteView {
    id: String,
    public_id: String,
    name: String,
    domain: String,
    allowed_origins: Vec<String>,
    time_zone: String,
    currency: String,
    default_deal_value: f64,
    require_signed_calls: bool,
    oci_conversion_name: String,
    /// In `GET /api/sites`: the caller's role.
    role: Option<String>,
    /// At creation only: the signing secret, shown once.
    secret: Option<String>,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "name": "Shop", "domain": "https://shop.example/landing" }))]
pub struct NewSite {
    name: String,
    /// A host name or URL (cut to its host).
    domain: String,
    allowed_origins: Option<Vec<String>>,
    time_zone: Option<String>,
}

/// `POST /api/sites/create` and `POST /api/create-test-site`.
#[derive(ToSchema, Serialize)]
pub struct SiteCreated {
    success: bool,
    site: SiteView,
    message: Option<String>,
    /// `create-test-site`: whether it was made now.
    created: Option<bool>,
}

#[derive(ToSchema, Serialize)]
pub struct Sites {
    ok: bool,
    sites: Vec<SiteView>,
}

#[derive(ToSchema, Serialize)]
pub struct OneSite {
    ok: bool,
    site: SiteView,
}

/// Any of the members; `secret` and ids are not changeable.
#[derive(ToSchema, Serialize)]
pub struct SitePatch {
    name: Option<String>,
    domain: Option<String>,
    allowed_origins: Option<Vec<String>>,
    time_zone: Option<String>,
    currency: Option<String>,
    default_deal_value: Option<f64>,
    require_signed_calls: Option<bool>,
    oci_conversion_name: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct Rotated {
    ok: bool,
    secret: String,
    previous_secret_valid_until: String,
}

#[derive(ToSchema, Serialize)]
pub struct SiteStatusData {
    site_id: String,
    status: String,
    last_event_at: Option<String>,
    last_session_id: Option<String>,
    last_source: Option<String>,
    last_event_category: Option<String>,
    last_event_action: Option<String>,
    siteId: String,
    receiving: bool,
    lastEventAt: Option<String>,
    lastSession: Option<Value>,
}

#[derive(ToSchema, Serialize)]
pub struct SiteStatus {
    success: bool,
    data: SiteStatusData,
}

#[derive(ToSchema, Serialize)]
pub struct Keys {
    ok: bool,
    keys: Vec<crate::auth::keys::Listed>,
}

#[derive(ToSchema, Serialize)]
pub struct Revoked {
    ok: bool,
    revoked: String,
}

#[derive(ToSchema, Serialize)]
pub struct Member {
    user_id: String,
    email: String,
    role: String,
}

#[derive(ToSchema, Serialize)]
pub struct Members {
    ok: bool,
    members: Vec<Member>,
}

#[derive(ToSchema, Serialize)]
pub struct Removed {
    ok: bool,
    removed: String,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "email": "colleague@example.com", "site_id": "demo", "role": "viewer" }))]
pub struct Invite {
    email: String,
    site_id: String,
    /// `viewer`, `editor`, `owner`.
    role: String,
}

#[derive(ToSchema, Serialize)]
pub struct Invited {
    success: bool,
    outcome: String,
    member: Member,
}

#[derive(ToSchema, Serialize)]
pub struct InviteAuditQuery {
    siteId: String,
    limit: Option<u32>,
    offset: Option<u32>,
    emailQuery: Option<String>,
    outcome: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct InviteAuditPage {
    total: u64,
    rows: Vec<Value>,
}

#[derive(ToSchema, Serialize)]
pub struct InviteAudit {
    ok: bool,
    audit: InviteAuditPage,
}

/// Today's overlay counts of the site (its local day); one member per metric.
#[derive(ToSchema, Serialize)]
pub struct RealtimeData {
    siteId: String,
    date: String,
    timeZone: String,
    events: u64,
    sessions: u64,
    conversions: u64,
    calls: u64,
    matched_calls: u64,
    confirmed_calls: u64,
    junk_calls: u64,
}

#[derive(ToSchema, Serialize)]
pub struct Realtime {
    success: bool,
    data: RealtimeData,
}

#[derive(ToSchema, Serialize)]
pub struct RangeUtc {
    fromIso: String,
    toIso: String,
}

/// Overlay estimates, exact counts and drift per metric.
#[derive(ToSchema, Serialize)]
pub struct Reconcile {
    ok: bool,
    siteId: String,
    date: String,
    timeZone: String,
    rangeUtc: RangeUtc,
    redis: Value,
    db: Value,
    drift: Value,
}

/// A call in the queue (with its matched session when known).
#[derive(ToSchema, Serialize)]
pub struct Call {
    id: String,
    version: i64,
    site_id: String,
    /// `intent`, `junk`, `confirmed`, `qualified`, `real`, `suspicious`, `cancelled`.
    status: String,
    lead_score: f64,
    created_at: String,
    updated_at: String,
    confirmed_at: Option<String>,
    oci_status: Option<String>,
    click: Option<Value>,
    session: Option<Value>,
}

#[derive(ToSchema, Serialize)]
pub struct Queue {
    ok: bool,
    site_id: String,
    calls: Vec<Call>,
    next_cursor: Option<String>,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "status": "junk" }))]
pub struct StatusChange {
    status: String,
    lead_score: Option<f64>,
    /// The version the caller saw; a stale one → 409.
    version: Option<i64>,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "sale_amount": 1500, "currency": "TRY", "lead_score": 90 }))]
pub struct Seal {
    sale_amount: Option<f64>,
    currency: Option<String>,
    lead_score: Option<f64>,
    version: Option<i64>,
}

#[derive(ToSchema, Serialize)]
pub struct Changed {
    ok: bool,
    success: bool,
    call: Value,
}

#[derive(ToSchema, Serialize)]
pub struct SiteRef {
    siteId: Option<String>,
    site_id: Option<String>,
    minAgeHours: Option<u32>,
    limit: Option<u32>,
}

#[derive(ToSchema, Serialize)]
pub struct Updated {
    ok: bool,
    updated: u64,
}

/// A conversion of the export batch (JSON form of the CSV row).
#[derive(ToSchema, Serialize)]
pub struct Conversion {
    call_id: String,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "site_id": "demo", "call_ids": ["c1"] }))]
pub struct Ack {
    site_id: String,
    call_ids: Vec<String>,
}

#[derive(ToSchema, Serialize)]
pub struct Acked {
    ok: bool,
    site_id: String,
    updated: u64,
    batch_id: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct DlqList {
    ok: bool,
    count: u64,
    items: Vec<crate::dlq::view::Item>,
}

#[derive(ToSchema, Serialize)]
pub struct Replayed {
    ok: bool,
    id: String,
    replay_count: u32,
}

#[derive(ToSchema, Serialize)]
pub struct ReplayAudit {
    id: String,
    dlq_id: String,
    replayed_by_user_id: Option<String>,
    replayed_by_email: Option<String>,
    replayed_at: String,
    replay_count_after: Option<u32>,
    error_if_failed: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct DlqAudit {
    ok: bool,
    count: u64,
    items: Vec<ReplayAudit>,
}
