//! API keys of a site: `POST /api/auth/api-key {name, project_id, rate_limit_per_minute?, scopes?}`
//! (seed 003 path and answer shape), `GET /api/sites/{id}/keys`, `DELETE /api/sites/{id}/keys/{keyId}`.
//! Only the site's owners and admins manage keys; a rate above the default (or 0, unlimited) is an
//! admin's decision.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::accounts::{self, Role, User};
use opsmantik_runtime::sites::Site;
use serde_json::{json, Map, Value};

use crate::app::state::AppState;
use crate::audit;
use crate::auth::keys::{self, NewKey, Scope};
use crate::auth::{access, Caller, Need, Principal, SignedIn};
use crate::http::error::{ApiError, Shape};
use crate::http::fields;
use crate::http::reply::success;
use crate::http::reply::{object, ok};

/// The highest rate an admin may grant (events per minute); 0 means unlimited.
pub const MAX_RATE: u64 = 1_000_000;

/// A refusal of `POST /api/auth/api-key`, in seed 003's shape.
fn seed003(e: ApiError) -> ApiError {
    e.into_seed003("API_KEY_GENERATION_ERROR")
}

/// The site a key is for: `project_id`, else the caller's only owned site, else the caller's test site.
async fn project(
    state: &AppState,
    user: &User,
    m: &Map<String, Value>,
) -> Result<std::sync::Arc<Site>, ApiError> {
    let who = Principal::User(user.clone());
    match m.get("project_id") {
        Some(Value::String(p)) => return Ok(access::site(state, &who, p, Need::OWN).await?),
        None | Some(Value::Null) => {}
        Some(_) => return Err(ApiError::invalid("project_id", "must be a string")),
    }
    let mut owned = Vec::new();
    for id in accounts::sites_of(&state.redis, &user.id).await? {
        if accounts::role_of(&state.redis, &id, &user.id).await? == Some(Role::Owner) {
            owned.push(id);
        }
    }
    match owned.as_slice() {
        [only] => Ok(access::site(state, &who, only, Need::OWN).await?),
        [] => Err(ApiError::invalid(
            "project_id",
            "is required: create a site first (POST /api/sites/create)",
        )),
        _ => Err(ApiError::invalid(
            "project_id",
            "is required: you own several sites",
        )),
    }
}

fn rate(user: &User, default: u32, value: Option<&Value>) -> Result<u32, ApiError> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(default);
    };
    let r = v.as_u64().filter(|r| *r <= MAX_RATE).ok_or_else(|| {
        ApiError::invalid(
            "rate_limit_per_minute",
            format!("must be an integer from 1 to {default}"),
        )
    })?;
    if !user.is_admin() && (r == 0 || r > u64::from(default)) {
        return Err(ApiError::new(
            Shape::Control,
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`rate_limit_per_minute` above {default} (or 0, unlimited) is granted by an admin"
            ),
        ));
    }
    Ok(r as u32)
}

fn scopes(value: Option<&Value>) -> Result<Vec<Scope>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(Scope::ALL.to_vec());
    };
    let bad = || {
        ApiError::invalid(
            "scopes",
            "must be a non-empty array of ingest, read, export",
        )
    };
    let mut out: Vec<Scope> = v
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|s| s.as_str().and_then(Scope::parse).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

async fn create_inner(state: &AppState, user: &User, body: &Bytes) -> Result<Value, ApiError> {
    let m = if body.is_empty() {
        Map::new()
    } else {
        object(body)?
    };
    let name = match m.get("name") {
        None | Some(Value::Null) => "API key".to_string(),
        Some(Value::String(n)) => fields::text(n, 100).map_err(|e| ApiError::invalid("name", e))?,
        Some(_) => return Err(ApiError::invalid("name", "must be a string")),
    };
    let site = project(state, user, &m).await?;
    let rate = rate(
        user,
        state.auth.default_key_rate,
        m.get("rate_limit_per_minute"),
    )?;
    let scopes = scopes(m.get("scopes"))?;
    let new = NewKey {
        site_public_id: &site.public_id,
        site_id: &site.id,
        user_id: &user.id,
        name: &name,
        rate_per_minute: rate,
        scopes: &scopes,
    };
    let (key, record) = keys::create(&state.redis, new).await?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let who = Principal::User(user.clone());
    audit::record(
        state,
        &who,
        "key_created",
        &site.id,
        json!({ "key_id": record.key_id(), "scopes": names, "rate": rate }),
    )
    .await;
    Ok(json!({
        "apiKey": key,
        "projectId": site.public_id,
        "keyId": record.key_id(),
        "scopes": names,
        "rateLimitPerMinute": rate,
        "message": "API key generated successfully",
    }))
}

/// `POST /api/auth/api-key` (seed 003 shape).
pub async fn create(
    State(state): State<AppState>,
    signed_in: Result<SignedIn, ApiError>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let SignedIn(user) = signed_in.map_err(seed003)?;
    let data = create_inner(&state, &user, &body).await.map_err(seed003)?;
    Ok(success(StatusCode::OK, data))
}

/// `GET /api/sites/{id}/keys`: owners.
pub async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::OWN).await?;
    let keys = keys::list(&state.redis, &site.id).await?;
    Ok(ok(StatusCode::OK, json!({ "keys": keys })))
}

/// `DELETE /api/sites/{id}/keys/{keyId}`: owners; the key stops working on every edge within
/// [`keys::CACHE_TTL`].
pub async fn revoke(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::OWN).await?;
    if !keys::revoke(&state.redis, &state.auth.keys, &site.id, &key_id).await? {
        return Err(ApiError::new(
            Shape::Control,
            StatusCode::NOT_FOUND,
            "not_found",
            "this site has no such key",
        ));
    }
    audit::record(
        &state,
        &who,
        "key_revoked",
        &site.id,
        json!({ "key_id": key_id }),
    )
    .await;
    Ok(ok(StatusCode::OK, json!({ "revoked": key_id })))
}
