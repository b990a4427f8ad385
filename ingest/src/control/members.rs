//! Members (seed 001): `POST /api/customers/invite {email, site_id, role}` (owners and admins) and
//! `POST /api/customers/invite-audit {siteId, limit, offset, emailQuery?, outcome?}` (members); also
//! `GET /api/sites/{id}/members` (members) and `DELETE /api/sites/{id}/members/{userId}` (owners). A site
//! always keeps one owner: the last one cannot be removed or demoted (409 `last_owner`).
//!
//! Invites are limited to 20 per hour per inviter and site and 60 per hour per client IP. Every attempt that reaches the site writes an audit row with its outcome to
//! the site's invite log in Redis (newest first, the last 10,000 kept) and an `AuditRecord`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::accounts::{self, Role};
use redis::AsyncCommands;
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::audit;
use crate::auth::{access, Caller, Need, Principal};
use crate::http::error::{ApiError, Shape};
use crate::http::extract::ClientAddr;
use crate::http::fields::valid_email;
use crate::http::reply::{object, ok};
use crate::limits::Rule;

const PER_ACTOR: Rule = Rule::per_hour("invites_actor", 20);
const PER_IP: Rule = Rule::per_hour("invites_ip", 60);
const LOG_LENGTH: isize = 10_000;

fn log_key(state: &AppState, site_id: &str) -> String {
    state.redis.site_key("site", site_id, "invite_audit")
}

/// Appends one row to the site's invite log.
async fn log_attempt(
    state: &AppState,
    site_id: &str,
    who: &Principal,
    email: &str,
    role: &str,
    outcome: &str,
) -> Result<(), ApiError> {
    let row = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "site_id": site_id,
        "inviter": who.actor(),
        "email": email,
        "role": role,
        "outcome": outcome,
        "created_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    let key = log_key(state, site_id);
    let mut c = state.redis.conn().await?;
    redis::pipe()
        .lpush(&key, row.to_string())
        .ltrim(&key, 0, LOG_LENGTH - 1)
        .query_async::<()>(&mut c)
        .await?;
    Ok(())
}

/// Both hourly limits; `Some((outcome, retry after))` names the one that refused.
fn limited(
    state: &AppState,
    site_id: &str,
    who: &Principal,
    peer: Option<SocketAddr>,
) -> Option<(&'static str, u64)> {
    let actor = format!("{}@{site_id}", who.actor());
    let d = state.limiter.check(&PER_ACTOR, &actor, 1);
    if !d.allowed {
        return Some(("rate_limited_actor", d.retry_after));
    }
    let ip = peer.map_or_else(|| "unknown".into(), |p| p.ip().to_string());
    let d = state.limiter.check(&PER_IP, &ip, 1);
    (!d.allowed).then_some(("rate_limited_ip", d.retry_after))
}

/// `POST /api/customers/invite`.
pub async fn invite(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(peer): ClientAddr,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let site_key = m.get("site_id").and_then(Value::as_str).unwrap_or_default();
    let site = access::site(&state, &who, site_key, Need::OWN).await?;
    let email = m
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let role_name = m.get("role").and_then(Value::as_str).unwrap_or("viewer");
    let Some(role) = Role::parse(role_name).filter(|_| valid_email(&email)) else {
        log_attempt(&state, &site.id, &who, &email, role_name, "invalid_request").await?;
        return Err(if valid_email(&email) {
            ApiError::invalid("role", "must be one of viewer, editor, owner")
        } else {
            ApiError::invalid("email", "must be a valid e-mail address")
        });
    };
    if let Some((outcome, retry_after)) = limited(&state, &site.id, &who, peer) {
        log_attempt(&state, &site.id, &who, &email, role.as_str(), outcome).await?;
        return Err(ApiError::rate_limited(
            Shape::Control,
            "too many invitations; retry later",
            retry_after,
        ));
    }
    let user = accounts::user_for(&state.redis, &email).await?;
    if role != Role::Owner {
        keep_an_owner(&state, &site.id, &user.id).await?;
    }
    let before = accounts::set_member(&state.redis, &site.id, &user.id, role).await?;
    let outcome = match before {
        None => "membership_created",
        Some(r) if r == role => "membership_unchanged",
        Some(_) => "membership_updated",
    };
    log_attempt(&state, &site.id, &who, &email, role.as_str(), outcome).await?;
    audit::record(
        &state,
        &who,
        "member_invited",
        &site.id,
        json!({ "user_id": user.id, "role": role.as_str(), "outcome": outcome }),
    )
    .await;
    Ok(ok(
        StatusCode::OK,
        json!({ "success": true, "outcome": outcome, "member": { "user_id": user.id, "email": email, "role": role.as_str() } }),
    ))
}

/// 409 when `user_id` is the site's only owner (a change would leave the site without one).
async fn keep_an_owner(state: &AppState, site_id: &str, user_id: &str) -> Result<(), ApiError> {
    let members = accounts::members(&state.redis, site_id).await?;
    let owners: Vec<&String> = members
        .iter()
        .filter(|(_, r)| *r == Role::Owner)
        .map(|(u, _)| u)
        .collect();
    if owners == [user_id] {
        return Err(ApiError::new(
            Shape::Control,
            StatusCode::CONFLICT,
            "last_owner",
            "a site keeps at least one owner: make someone else owner first",
        ));
    }
    Ok(())
}

/// `GET /api/sites/{id}/members`: the members with their e-mail and role.
pub async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::MEMBER).await?;
    let mut out = Vec::new();
    for (user_id, role) in accounts::members(&state.redis, &site.id).await? {
        let email = accounts::user_by_id(&state.redis, &user_id)
            .await?
            .map(|u| u.email);
        out.push(json!({ "user_id": user_id, "email": email, "role": role.as_str() }));
    }
    Ok(ok(StatusCode::OK, json!({ "members": out })))
}

/// `DELETE /api/sites/{id}/members/{user_id}`: owners (and admins).
pub async fn remove(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::OWN).await?;
    keep_an_owner(&state, &site.id, &user_id).await?;
    let Some(role) = accounts::remove_member(&state.redis, &site.id, &user_id).await? else {
        return Err(ApiError::new(
            Shape::Control,
            StatusCode::NOT_FOUND,
            "not_found",
            "no such member of this site",
        ));
    };
    audit::record(
        &state,
        &who,
        "member_removed",
        &site.id,
        json!({ "user_id": user_id, "role": role.as_str() }),
    )
    .await;
    Ok(ok(StatusCode::OK, json!({ "removed": user_id })))
}

/// `POST /api/customers/invite-audit`.
pub async fn invite_audit(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let site_key = m.get("siteId").and_then(Value::as_str).unwrap_or_default();
    let site = access::site(&state, &who, site_key, Need::MEMBER).await?;
    let limit = match m.get("limit") {
        None | Some(Value::Null) => 50,
        Some(v) => v
            .as_u64()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "must be an integer from 1 to 200"))?,
    } as usize;
    let offset = match m.get("offset") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|o| *o <= 1_000_000)
            .ok_or_else(|| ApiError::invalid("offset", "must be a non-negative integer"))?,
    } as usize;
    let email_query = m
        .get("emailQuery")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let outcome = m.get("outcome").and_then(Value::as_str);
    let mut c = state.redis.conn().await?;
    let raw: Vec<String> = c
        .lrange(log_key(&state, &site.id), 0, LOG_LENGTH - 1)
        .await?;
    let matching: Vec<Value> = raw
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(r).ok())
        .filter(|r| {
            email_query
                .as_deref()
                .is_none_or(|q| r["email"].as_str().is_some_and(|e| e.contains(q)))
        })
        .filter(|r| outcome.is_none_or(|o| r["outcome"] == o))
        .collect();
    let total = matching.len();
    let rows: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    Ok(ok(
        StatusCode::OK,
        json!({ "audit": { "total": total, "rows": rows } }),
    ))
}
