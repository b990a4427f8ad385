//! The OpenAPI 3.1 document of every route the edge serves (`GET /openapi.json`) and Swagger UI over it
//! (`GET /docs`, assets compiled in: no download at build or run time).
//!
//! Operations and shapes are Rust items (`utoipa`) in this folder, one file per group of seeds; the handlers'
//! own answer types (`dlq::view::Item`, `auth::keys::Listed`, `analytics::summary::Summary`) are used as
//! they are. Three tests keep the document honest: the router's routes and the document's operations are
//! the same set (`tests.rs`), every request example of the seeds validates against its documented schema,
//! and every answer the end-to-end suite receives validates against the documented answer of its status
//! (`opsmantik_e2e::contract`). See docs/api.md.

mod apis;
mod control;
mod control_paths;
mod errors;
mod events;
mod tracking;

use axum::Router;
use serde_json::{json, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

/// Routes served by the documentation itself (not given to `.route(` in the sources).
pub const ROUTES: [(&str, &str); 2] = [("GET", "/openapi.json"), ("GET", "/docs")];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "OpsMantik",
        description = "Tracking, events, calls and conversions: the five API documents OpsMantik serves at once \
                       (seeds 000–004) and its control plane. Errors come in the shape of the seed that documents \
                       the route. Access per route and caller: docs/access.md.",
        license(name = "See the repository")
    ),
    modifiers(&Security),
    tags(
        (name = "tracking", description = "Seed 000: browser trackers (public, CORS per site)"),
        (name = "events", description = "Seeds 002 and 003: the event API, both dialects"),
        (name = "analytics", description = "Counts and metrics"),
        (name = "accounts", description = "Sign-in by e-mail code, API keys"),
        (name = "sites", description = "Seed 001: sites, members, keys"),
        (name = "calls", description = "Seed 001: the call queue and Google Ads offline-conversion export"),
        (name = "automation", description = "Seed 002: webhooks and rules"),
        (name = "callflow", description = "Seed 004: call-flow events"),
        (name = "operations", description = "Health, metrics, dead letters, drift, this document"),
        (name = "dashboard", description = "The web app served by the edge (docs/dashboard.md)"),
    ),
    paths(
        tracking::sync, tracking::sync_diag, tracking::call_event, tracking::call_event_v2, tracking::health,
        tracking::ready, tracking::live, tracking::metrics, tracking::tracker, tracking::openapi, tracking::docs,
        tracking::root, tracking::app, tracking::app_page, tracking::app_file,
        events::single, events::batch, events::analytics_events, events::analytics_metrics, events::stats,
        events::request_code, events::verify, events::me, events::logout, events::api_key,
        control_paths::create_site, control_paths::create_test_site, control_paths::my_sites,
        control_paths::get_site, control_paths::patch_site, control_paths::rotate_secret,
        control_paths::site_status, control_paths::list_keys, control_paths::revoke_key,
        control_paths::list_members, control_paths::remove_member, control_paths::invite,
        control_paths::invite_audit, control_paths::realtime, control_paths::reconcile, control_paths::summary,
        control_paths::queue, control_paths::intent_status, control_paths::seal, control_paths::auto_approve,
        control_paths::export, control_paths::export_batch, control_paths::ack, control_paths::dlq_list,
        control_paths::dlq_replay, control_paths::dlq_audit,
        apis::create_webhook, apis::list_webhooks, apis::get_webhook, apis::delete_webhook, apis::deliveries,
        apis::create_rule, apis::list_rules, apis::get_rule, apis::patch_rule, apis::delete_rule,
        apis::store_callflow, apis::list_callflow, apis::get_callflow,
    )
)]
struct ApiDoc;

/// The security schemes the operations name.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        let header = |name: &str, what: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
        };
        c.add_security_scheme("api_key", header("x-api-key", "A site's API key (`evp_…`)"));
        c.add_security_scheme(
            "bearer_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("evp_ API key")
                    .description(Some("Seed 002: the API key after `Authorization: Bearer`"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A signed-in user's token from `POST /api/auth/verify`",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::sessions::COOKIE,
                "The dashboard's session cookie (set by `POST /api/auth/verify`)",
            ))),
        );
        c.add_security_scheme(
            "call_signature",
            header(
                "X-Ops-Signature",
                "Hex HMAC-SHA256 with the site's secret over `<X-Ops-Timestamp>.<raw body>` (docs/tracking.md)",
            ),
        );
    }
}

/// Routes outside the API router, so outside its per-IP refusal limit (`limits::ip::refusals_layer`).
const OUTSIDE_REFUSAL_LIMIT: [&str; 14] = [
    "/api/sync",
    "/api/call-event",
    "/api/call-event/v2",
    "/api/health",
    "/api/ready",
    "/api/live",
    "/metrics",
    "/tracker.js",
    "/openapi.json",
    "/docs",
    "/",
    "/app",
    "/app/",
    "/app/{file}",
];

/// Every API route may also answer the per-IP refusal limit's 429 (too many 401s from one address), which
/// comes before the route and so in the tracking shape: each such operation's 429 says so.
fn refusal_limit(doc: &mut Value) {
    let tracking = json!({ "$ref": "#/components/schemas/TrackingError" });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths {
        if OUTSIDE_REFUSAL_LIMIT.contains(&path.as_str()) {
            continue;
        }
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let schema = match responses
                .get("429")
                .and_then(|r| r.pointer("/content/application~1json/schema"))
            {
                Some(own) => json!({ "oneOf": [own, tracking] }),
                None => tracking.clone(),
            };
            responses.insert(
                "429".into(),
                json!({
                    "description": "Rate limited (`Retry-After`): the route's own limit in its shape, or the per-IP \
                                    limit on refused requests in the tracking shape",
                    "content": { "application/json": { "schema": schema } },
                }),
            );
        }
    }
}

/// The document, as served.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    refusal_limit(&mut doc);
    doc
}

/// `/openapi.json` and `/docs`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::from(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", document()))
        .with_state(())
}

#[cfg(test)]
mod tests;
