//! `POST/GET /api/v1/rules`, `GET/PATCH/DELETE /api/v1/rules/{id}`. A rule's conditions are compiled here
//! with the same code the rules processor runs, so what is accepted runs, and what cannot run is refused with
//! its path and the reason.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opsmantik_rules::conditions::Conditions;
use opsmantik_runtime::automation::{self, Action, Kind, Rule, Webhook};
use serde_json::{json, Map, Value};

use super::{body_object, created, find, invalid, key, listed, record, remove, store_error};
use crate::app::state::AppState;
use crate::auth::keys::Scope;
use crate::http::error::ApiError;
use crate::http::fields;

const MAX_ACTIONS: usize = 10;

/// A rule as shown.
pub fn view(r: &Rule) -> Value {
    json!({
        "id": r.id, "name": r.name, "conditions": r.conditions, "actions": r.actions,
        "enabled": r.enabled, "version": r.version, "created_at": r.created_at, "updated_at": r.updated_at,
    })
}

fn name(v: Option<&Value>) -> Result<String, ApiError> {
    let n = v
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("name", "name is required"))?;
    fields::text(n, 100).map_err(|e| invalid("name", format!("name {e}")))
}

fn conditions(v: Option<&Value>) -> Result<Value, ApiError> {
    let c = v.ok_or_else(|| invalid("conditions", "conditions are required"))?;
    Conditions::compile(c).map_err(|e| invalid("conditions", e.to_string()))?;
    Ok(c.clone())
}

/// The actions, each naming a webhook of the key's site.
async fn actions(state: &AppState, site: &str, v: Option<&Value>) -> Result<Vec<Action>, ApiError> {
    let list = v
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("actions", "actions must be a list"))?;
    if list.is_empty() || list.len() > MAX_ACTIONS {
        return Err(invalid(
            "actions",
            format!("actions must hold 1 to {MAX_ACTIONS} actions"),
        ));
    }
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let field = format!("actions[{i}]");
        if a.get("type").and_then(Value::as_str) != Some("webhook") {
            return Err(invalid(&field, format!("{field}.type must be \"webhook\"")));
        }
        let id = a
            .get("webhook_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&field, format!("{field}.webhook_id is required")))?;
        let hook: Option<Webhook> = automation::get(&state.redis, Kind::Webhook, site, id)
            .await
            .map_err(store_error)?;
        if hook.is_none() {
            return Err(invalid(
                &field,
                format!("{field}.webhook_id names no webhook of this project"),
            ));
        }
        out.push(Action {
            kind: "webhook".into(),
            webhook_id: id.to_string(),
        });
    }
    Ok(out)
}

/// `POST /api/v1/rules {name, conditions, actions[]}` → 201 (enabled).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Ingest).await?;
    let m = body_object(&body)?;
    let now = opsmantik_runtime::now_ms();
    let rule = Rule {
        id: uuid::Uuid::now_v7().to_string(),
        site: key.site.clone(),
        name: name(m.get("name"))?,
        conditions: conditions(m.get("conditions"))?,
        actions: actions(&state, &key.site, m.get("actions")).await?,
        enabled: m.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let detail = json!({ "rule_id": rule.id, "name": rule.name });
    created(
        &state,
        &key,
        Kind::Rule,
        (&rule.id, &rule),
        detail,
        view(&rule),
    )
    .await
}

/// `GET /api/v1/rules?project_id`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    listed::<Rule>(&state, &headers, &q, Kind::Rule, |r| r.created_at, view).await
}

/// `GET /api/v1/rules/{id}`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Read).await?;
    let rule: Rule = find(&state, Kind::Rule, &key.site, &id).await?;
    Ok(Json(view(&rule)).into_response())
}

async fn apply(
    state: &AppState,
    site: &str,
    rule: &mut Rule,
    m: &Map<String, Value>,
) -> Result<(), ApiError> {
    for field in m.keys() {
        if !["enabled", "name", "conditions", "actions"].contains(&field.as_str()) {
            return Err(invalid(
                field,
                format!("{field} is not a field of a rule (enabled, name, conditions, actions)"),
            ));
        }
    }
    if let Some(v) = m.get("enabled") {
        rule.enabled = v
            .as_bool()
            .ok_or_else(|| invalid("enabled", "enabled must be true or false"))?;
    }
    if m.contains_key("name") {
        rule.name = name(m.get("name"))?;
    }
    if m.contains_key("conditions") {
        rule.conditions = conditions(m.get("conditions"))?;
    }
    if m.contains_key("actions") {
        rule.actions = actions(state, site, m.get("actions")).await?;
    }
    Ok(())
}

/// `PATCH /api/v1/rules/{id} {enabled?, name?, conditions?, actions?}`: a new version of the rule.
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = key(&state, &headers, Scope::Ingest).await?;
    let m = body_object(&body)?;
    let mut rule: Rule = find(&state, Kind::Rule, &key.site, &id).await?;
    apply(&state, &key.site, &mut rule, &m).await?;
    rule.version += 1;
    rule.updated_at = opsmantik_runtime::now_ms();
    automation::put(&state.redis, Kind::Rule, &rule.site, &rule.id, &rule)
        .await
        .map_err(store_error)?;
    record(
        &state,
        &key,
        "rule_changed",
        json!({ "rule_id": rule.id, "version": rule.version, "enabled": rule.enabled }),
    )
    .await;
    Ok(Json(view(&rule)).into_response())
}

/// `DELETE /api/v1/rules/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    remove(&state, &headers, Kind::Rule, &id).await
}
