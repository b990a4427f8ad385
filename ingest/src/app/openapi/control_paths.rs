//! Seed 001's operations (the shapes are in `control`).

#![allow(dead_code)] // operations for the document, never called

use super::control::*;
use super::errors::{ControlError, Seed003Error, TrackingError};
use crate::analytics::summary::Summary;

#[utoipa::path(post, path = "/api/sites/create", tag = "sites",
    request_body(content = NewSite, content_type = "application/json"),
    responses((status = 201, description = "Created; the caller owns it; the secret is shown once", body = SiteCreated),
              (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 409, description = "Public id taken", body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn create_site() {}

#[utoipa::path(post, path = "/api/create-test-site", tag = "sites",
    description = "The caller's test site, made once (201) or found again (200).",
    responses((status = 200, body = SiteCreated), (status = 201, body = SiteCreated),
              (status = 401, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn create_test_site() {}

#[utoipa::path(get, path = "/api/sites", tag = "sites", description = "The caller's sites, with their role.",
    responses((status = 200, body = Sites), (status = 401, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn my_sites() {}

#[utoipa::path(get, path = "/api/sites/{id}", tag = "sites",
    params(("id" = String, Path, description = "Public id or id")),
    responses((status = 200, body = OneSite), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, description = "No such site, or not the caller's", body = ControlError),
              (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn get_site() {}

#[utoipa::path(patch, path = "/api/sites/{id}", tag = "sites", description = "Owners and admins.",
    params(("id" = String, Path)),
    request_body(content = SitePatch, content_type = "application/json"),
    responses((status = 200, body = OneSite), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn patch_site() {}

#[utoipa::path(post, path = "/api/sites/{id}/rotate-secret", tag = "sites",
    description = "A new signing secret; the previous one stays valid 24 h.",
    params(("id" = String, Path)),
    responses((status = 200, body = Rotated), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn rotate_secret() {}

#[utoipa::path(get, path = "/api/sites/{id}/status", tag = "sites", description = "Is the site receiving events?",
    params(("id" = String, Path)),
    responses((status = 200, body = SiteStatus), (status = 401, body = Seed003Error), (status = 403, body = Seed003Error),
              (status = 404, body = Seed003Error), (status = 503, body = Seed003Error)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn site_status() {}

#[utoipa::path(get, path = "/api/sites/{id}/keys", tag = "sites", description = "Owners and admins; never the keys.",
    params(("id" = String, Path)),
    responses((status = 200, body = Keys), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn list_keys() {}

#[utoipa::path(delete, path = "/api/sites/{id}/keys/{key_id}", tag = "sites",
    params(("id" = String, Path), ("key_id" = String, Path, description = "The key's short id (16 hex)")),
    responses((status = 200, body = Revoked), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn revoke_key() {}

#[utoipa::path(get, path = "/api/sites/{id}/members", tag = "sites", params(("id" = String, Path)),
    responses((status = 200, body = Members), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn list_members() {}

#[utoipa::path(delete, path = "/api/sites/{id}/members/{user_id}", tag = "sites",
    description = "Owners and admins; the last owner stays (409).",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Removed), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 409, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn remove_member() {}

#[utoipa::path(post, path = "/api/customers/invite", tag = "sites",
    request_body(content = Invite, content_type = "application/json"),
    responses((status = 200, body = Invited), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 409, body = ControlError),
              (status = 429, description = "Too many invitations (`Retry-After`)", body = ControlError),
              (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn invite() {}

#[utoipa::path(post, path = "/api/customers/invite-audit", tag = "sites",
    request_body(content = InviteAuditQuery, content_type = "application/json"),
    responses((status = 200, body = InviteAudit), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn invite_audit() {}

#[utoipa::path(get, path = "/api/stats/realtime", tag = "analytics",
    description = "Today's counts from the realtime overlay (the site's local day).",
    params(("siteId" = String, Query)),
    responses((status = 200, body = Realtime), (status = 400, body = Seed003Error), (status = 401, body = Seed003Error),
              (status = 403, body = Seed003Error), (status = 404, body = Seed003Error), (status = 503, body = Seed003Error)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn realtime() {}

#[utoipa::path(get, path = "/api/stats/reconcile", tag = "operations",
    description = "Global admins: overlay vs exact counts for a local day (docs/operations.md).",
    params(("siteId" = String, Query), ("date" = Option<String>, Query, description = "YYYY-MM-DD, default today")),
    responses((status = 200, body = Reconcile), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn reconcile() {}

#[utoipa::path(get, path = "/api/v1/sites/{site}/summary", tag = "analytics",
    params(("site" = String, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = Summary), (status = 400, body = TrackingError), (status = 401, body = TrackingError),
              (status = 403, body = TrackingError), (status = 404, body = TrackingError), (status = 503, body = TrackingError)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn summary() {}

#[utoipa::path(get, path = "/api/calls", tag = "calls", description = "The call queue, newest first (docs/calls.md).",
    params(("siteId" = String, Query), ("status" = Option<String>, Query), ("from" = Option<String>, Query),
           ("to" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Queue), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn queue() {}

#[utoipa::path(post, path = "/api/intents/{id}/status", tag = "calls", description = "Editors and up.",
    params(("id" = String, Path, description = "The call's id")),
    request_body(content = StatusChange, content_type = "application/json"),
    responses((status = 200, body = Changed), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError),
              (status = 409, description = "`CONCURRENCY_CONFLICT`, with `current_version`", body = ControlError),
              (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn intent_status() {}

#[utoipa::path(post, path = "/api/calls/{id}/seal", tag = "calls", description = "Confirm an intent with its value.",
    params(("id" = String, Path)),
    request_body(content = Seal, content_type = "application/json"),
    responses((status = 200, body = Changed), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError),
              (status = 409, description = "Not an intent, or a stale version", body = ControlError),
              (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn seal() {}

#[utoipa::path(post, path = "/api/jobs/auto-approve", tag = "calls",
    request_body(content = SiteRef, content_type = "application/json"),
    responses((status = 200, body = Updated), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn auto_approve() {}

#[utoipa::path(get, path = "/api/oci/export", tag = "calls",
    description = "Google Ads offline-conversion CSV of today's sealed calls (marks them uploaded); `X-OpsMantik-Batch-Id`.",
    params(("siteId" = String, Query), ("batch" = Option<String>, Query, description = "A batch to download again")),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String),
              (status = 400, body = ControlError), (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn export() {}

#[utoipa::path(get, path = "/api/oci/export-batch", tag = "calls",
    description = "The same selection as JSON, not marked (acknowledge with `/api/oci/ack`).",
    params(("siteId" = String, Query)),
    responses((status = 200, body = Vec<Conversion>), (status = 400, body = ControlError),
              (status = 401, body = ControlError), (status = 403, body = ControlError),
              (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn export_batch() {}

#[utoipa::path(post, path = "/api/oci/ack", tag = "calls",
    request_body(content = Ack, content_type = "application/json"),
    responses((status = 200, body = Acked), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = []), ("api_key" = [])))]
fn ack() {}

#[utoipa::path(get, path = "/api/sync/dlq/list", tag = "operations", description = "Global admins.",
    params(("limit" = Option<u32>, Query), ("offset" = Option<u64>, Query), ("siteDbId" = Option<String>, Query),
           ("reason" = Option<String>, Query), ("stage" = Option<String>, Query),
           ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = DlqList), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn dlq_list() {}

#[utoipa::path(post, path = "/api/sync/dlq/replay", tag = "operations",
    description = "Global admins: the record goes back to its source topic for the stage that refused it.",
    params(("id" = String, Query)),
    responses((status = 200, body = Replayed), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 404, body = ControlError),
              (status = 422, description = "`replay_failed`: it cannot go back", body = ControlError),
              (status = 503, description = "`replay_failed`: the broker did not take it", body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn dlq_replay() {}

#[utoipa::path(get, path = "/api/sync/dlq/audit", tag = "operations", description = "Global admins.",
    params(("limit" = Option<u32>, Query), ("offset" = Option<u64>, Query), ("dlqId" = Option<String>, Query)),
    responses((status = 200, body = DlqAudit), (status = 400, body = ControlError), (status = 401, body = ControlError),
              (status = 403, body = ControlError), (status = 503, body = ControlError)),
    security(("bearer" = []), ("session_cookie" = [])))]
fn dlq_audit() {}
