//! `POST /api/auth/request-code`, `POST /api/auth/verify`, `GET /api/auth/me`, `POST /api/auth/api-key`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::codes::{self, Check};
use super::jwt::Claims;
use super::keys;
use super::reply::{success, Failure};
use crate::state::AppState;

/// The signed-in user of a request (`Authorization: Bearer <jwt>`).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "a Bearer token is required",
                )
            })?;
        state
            .identity
            .jwt
            .verify(token.trim())
            .map(AuthUser)
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "the token is invalid or expired",
                )
            })
    }
}

/// The socket peer, when the server was started with connect info (absent in in-process router tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

fn parse_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, Failure> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Failure::validation("body must be a JSON object")),
    }
}

fn string_field<'a>(m: &'a serde_json::Map<String, Value>, f: &str) -> Result<&'a str, Failure> {
    m.get(f)
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::validation(format!("`{f}` is required and must be a string")))
}

fn email_of(m: &serde_json::Map<String, Value>) -> Result<String, Failure> {
    let email = string_field(m, "email")?.trim().to_ascii_lowercase();
    if codes::valid_email(&email) {
        Ok(email)
    } else {
        Err(Failure::validation("`email` is not a valid email address"))
    }
}

fn store_error(e: redis::RedisError) -> Failure {
    Failure::internal("AUTH_STORE_ERROR", &e)
}

fn too_many(what: &str) -> Failure {
    Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!("too many {what}; retry later"),
    )
}

/// Limits auth requests per client IP (fixed one-minute window in Redis: auth is low-volume).
async fn limit_ip(state: &AppState, peer: Option<SocketAddr>) -> Result<(), Failure> {
    let ip = peer
        .map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let key = state.redis.key(&["auth", "ip", &ip]);
    let n = codes::count_in_window(&state.redis, &key, 60)
        .await
        .map_err(store_error)?;
    if n > u64::from(state.identity.auth_rate_per_minute) {
        return Err(too_many("requests from this address"));
    }
    Ok(())
}

pub async fn request_code(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    limit_ip(&state, peer).await?;
    let email = email_of(&parse_body(&body)?)?;
    let per_email = state.redis.key(&["auth", "codes_sent", &email]);
    if codes::count_in_window(&state.redis, &per_email, codes::CODE_TTL_SECS)
        .await
        .map_err(store_error)?
        > codes::CODES_PER_EMAIL
    {
        return Err(too_many("codes for this email"));
    }
    let code = codes::new_code();
    codes::store_code(&state.redis, &email, &code)
        .await
        .map_err(store_error)?;
    state
        .identity
        .mailer
        .send_code(&email, &code)
        .await
        .map_err(|e| Failure::internal("CODE_DELIVERY_ERROR", &e))?;
    Ok(success(
        StatusCode::OK,
        json!({ "message": format!("Verification code sent to {email}") }),
    ))
}

pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    limit_ip(&state, peer).await?;
    let m = parse_body(&body)?;
    let email = email_of(&m)?;
    let code = string_field(&m, "code")?;
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Failure::validation("`code` must be 6 digits"));
    }
    if codes::check_code(&state.redis, &email, code)
        .await
        .map_err(store_error)?
        != Check::Valid
    {
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_CODE",
            "the code is wrong or expired",
        ));
    }
    let user = codes::user_for(&state.redis, &email)
        .await
        .map_err(store_error)?;
    let token = state
        .identity
        .jwt
        .issue(&user.id, &user.email, &user.role)
        .map_err(|e| Failure::internal("TOKEN_ERROR", &e))?;
    Ok(success(
        StatusCode::OK,
        json!({ "token": token, "user": { "id": user.id, "email": user.email, "role": user.role } }),
    ))
}

pub async fn me(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Response, Failure> {
    let user = codes::user_for(&state.redis, &claims.email)
        .await
        .map_err(store_error)?;
    Ok(success(
        StatusCode::OK,
        json!({ "id": user.id, "email": user.email, "role": user.role, "createdAt": user.created_at }),
    ))
}

/// Creates an API key for the caller's project (`project_id`, default: the user's own project, named by
/// the user id); `rate_limit_per_minute` overrides the default rate (0 = unlimited).
pub async fn create_api_key(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let m = if body.is_empty() {
        serde_json::Map::new()
    } else {
        parse_body(&body)?
    };
    let name = m.get("name").and_then(Value::as_str).unwrap_or("API key");
    let project = match m.get("project_id") {
        None | Some(Value::Null) => claims.sub.clone(),
        Some(Value::String(p)) if !p.is_empty() && p.len() <= 128 => p.clone(),
        Some(_) => {
            return Err(Failure::validation(
                "`project_id` must be a string of 1 to 128 characters",
            ))
        }
    };
    let rate = match m.get("rate_limit_per_minute") {
        None | Some(Value::Null) => state.identity.default_key_rate,
        Some(v) => v
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| {
                Failure::validation("`rate_limit_per_minute` must be a non-negative integer")
            })?,
    };
    let key = keys::create(&state.redis, &project, &claims.sub, name, rate)
        .await
        .map_err(|e| Failure::internal("API_KEY_GENERATION_ERROR", &e))?;
    Ok(success(
        StatusCode::OK,
        json!({ "apiKey": key, "projectId": project, "message": "API key generated successfully" }),
    ))
}
