//! Seed 002's webhooks and rules, and seed 004's Callflow API.

#![allow(dead_code, non_snake_case, clippy::large_enum_variant)] // shapes and operations for the document, never built

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::errors::{CallflowError, EventApiError};

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "url": "https://api.example.com/webhook", "events": ["user_signed_up", "purchase_completed"], "secret": "webhook-secret" }))]
pub struct NewWebhook {
    /// https (http only to addresses allowed by `WEBHOOK_ALLOW_PRIVATE`, outside production).
    url: String,
    events: Vec<String>,
    /// 8–256 characters; signs every delivery.
    secret: String,
    project_id: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct Webhook {
    id: String,
    url: String,
    events: Vec<String>,
    /// Unix milliseconds.
    created_at: i64,
}

#[derive(ToSchema, Serialize)]
pub struct Webhooks {
    webhooks: Vec<Webhook>,
}

#[derive(ToSchema, Serialize)]
pub struct Deleted {
    id: String,
    deleted: bool,
}

#[derive(ToSchema, Serialize)]
pub struct Deliveries {
    webhook_id: String,
    deliveries: Vec<crate::automation::webhooks::Attempt>,
    next_cursor: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct Action {
    /// `webhook`.
    r#type: String,
    webhook_id: String,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "name": "High Value Purchase", "conditions": { "event_name": "purchase_completed", "metadata.amount": { "$gt": 500 } }, "actions": [{ "type": "webhook", "webhook_id": "uuid" }] }))]
pub struct NewRule {
    /// ≤ 100 characters.
    name: String,
    /// Field paths to a value (`$eq`) or operators `$eq $ne $gt $gte $lt $lte $in $exists $contains`
    /// (docs/webhooks.md).
    conditions: Value,
    actions: Vec<Action>,
    enabled: Option<bool>,
    project_id: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct RulePatch {
    name: Option<String>,
    conditions: Option<Value>,
    actions: Option<Vec<Action>>,
    enabled: Option<bool>,
}

#[derive(ToSchema, Serialize)]
pub struct Rule {
    id: String,
    name: String,
    conditions: Value,
    actions: Vec<Action>,
    enabled: bool,
    version: i64,
    /// Unix milliseconds.
    created_at: i64,
    updated_at: i64,
}

#[derive(ToSchema, Serialize)]
pub struct Rules {
    rules: Vec<Rule>,
}

#[derive(ToSchema, Serialize)]
#[schema(example = json!({ "callId": "call-12345-abcde", "eventType": "initiated", "timestamp": "2024-01-15T10:30:00Z", "metadata": { "callerNumber": "+1234567890", "calledNumber": "+0987654321", "direction": "inbound" } }))]
pub struct NewCallflowEvent {
    callId: String,
    /// `initiated`, `ringing`, `answered`, `ended`, … (docs/api.md).
    eventType: String,
    /// ISO 8601.
    timestamp: String,
    metadata: Option<Value>,
}

#[derive(ToSchema, Serialize)]
pub struct Stored {
    message: String,
    eventId: String,
    callId: String,
    timestamp: String,
}

#[derive(ToSchema, Serialize)]
pub struct StoredEnvelope {
    statusCode: u16,
    body: Stored,
}

#[derive(ToSchema, Serialize)]
pub struct CallflowEvent {
    eventId: String,
    callId: String,
    eventType: String,
    timestamp: String,
    metadata: Value,
    createdAt: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct CallflowPage {
    events: Vec<CallflowEvent>,
    count: u32,
    nextToken: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct PageEnvelope {
    statusCode: u16,
    body: CallflowPage,
}

#[derive(ToSchema, Serialize)]
pub struct EventEnvelope {
    statusCode: u16,
    body: CallflowEvent,
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "automation",
    request_body(content = NewWebhook, content_type = "application/json"),
    responses((status = 201, body = Webhook), (status = 400, body = EventApiError), (status = 401, body = EventApiError),
              (status = 403, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn create_webhook() {}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "automation", params(("project_id" = Option<String>, Query)),
    responses((status = 200, body = Webhooks), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn list_webhooks() {}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Webhook), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 404, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn get_webhook() {}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 404, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn delete_webhook() {}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "automation",
    description = "Every attempt, newest first.",
    params(("id" = String, Path), ("status" = Option<String>, Query), ("limit" = Option<u32>, Query),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Deliveries), (status = 400, body = EventApiError), (status = 401, body = EventApiError),
              (status = 403, body = EventApiError), (status = 404, body = EventApiError), (status = 429, body = EventApiError),
              (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn deliveries() {}

#[utoipa::path(post, path = "/api/v1/rules", tag = "automation",
    request_body(content = NewRule, content_type = "application/json"),
    responses((status = 201, body = Rule), (status = 400, body = EventApiError), (status = 401, body = EventApiError),
              (status = 403, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn create_rule() {}

#[utoipa::path(get, path = "/api/v1/rules", tag = "automation", params(("project_id" = Option<String>, Query)),
    responses((status = 200, body = Rules), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn list_rules() {}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Rule), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 404, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn get_rule() {}

#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    request_body(content = RulePatch, content_type = "application/json"),
    responses((status = 200, body = Rule), (status = 400, body = EventApiError), (status = 401, body = EventApiError),
              (status = 403, body = EventApiError), (status = 404, body = EventApiError), (status = 429, body = EventApiError),
              (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn patch_rule() {}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 401, body = EventApiError), (status = 403, body = EventApiError),
              (status = 404, body = EventApiError), (status = 429, body = EventApiError), (status = 503, body = EventApiError)),
    security(("api_key" = []), ("bearer_key" = [])))]
fn delete_rule() {}

#[utoipa::path(post, path = "/callflow/events", tag = "callflow",
    request_body(content = NewCallflowEvent, content_type = "application/json"),
    responses((status = 201, body = StoredEnvelope), (status = 400, body = CallflowError), (status = 401, body = CallflowError),
              (status = 403, body = CallflowError), (status = 413, body = CallflowError), (status = 429, body = CallflowError),
              (status = 503, body = CallflowError)),
    security(("api_key" = [])))]
fn store_callflow() {}

#[utoipa::path(get, path = "/callflow/events", tag = "callflow",
    params(("callId" = Option<String>, Query), ("eventType" = Option<String>, Query),
           ("startTime" = Option<String>, Query), ("endTime" = Option<String>, Query),
           ("limit" = Option<u32>, Query, description = "1–1000, default 100"), ("nextToken" = Option<String>, Query)),
    responses((status = 200, body = PageEnvelope), (status = 400, body = CallflowError), (status = 401, body = CallflowError),
              (status = 403, body = CallflowError), (status = 429, body = CallflowError), (status = 503, body = CallflowError)),
    security(("api_key" = [])))]
fn list_callflow() {}

#[utoipa::path(get, path = "/callflow/events/{event_id}", tag = "callflow", params(("event_id" = String, Path)),
    responses((status = 200, body = EventEnvelope), (status = 400, body = CallflowError), (status = 401, body = CallflowError), (status = 403, body = CallflowError),
              (status = 404, body = CallflowError), (status = 429, body = CallflowError), (status = 503, body = CallflowError)),
    security(("api_key" = [])))]
fn get_callflow() {}
