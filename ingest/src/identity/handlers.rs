//! `POST /api/auth/request-code`, `POST /api/auth/verify`, `GET /api/auth/me`, `POST /api/auth/logout`.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::codes::{self, Check};
use super::mailer::Mailer;
use crate::auth::{sessions, sha256_hex, SignedIn};
use crate::http::error::{ApiError, Shape};
use crate::http::reply::success;
use crate::limits::Rule;

/// Sign-in codes per e-mail address.
const CODES_RULE: Rule = Rule::per("auth_codes", codes::CODES_PER_EMAIL, codes::CODE_TTL_SECS);
use crate::app::state::AppState;
use crate::http::extract::ClientAddr;

/// 400 `VALIDATION_ERROR` in seed 003's shape.
fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(
        Shape::Seed003,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        message,
    )
}

fn parse_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match crate::http::fields::json::parse(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(validation("body must be a JSON object")),
    }
}

fn string_field<'a>(m: &'a serde_json::Map<String, Value>, f: &str) -> Result<&'a str, ApiError> {
    m.get(f)
        .and_then(Value::as_str)
        .ok_or_else(|| validation(format!("`{f}` is required and must be a string")))
}

fn email_of(m: &serde_json::Map<String, Value>) -> Result<String, ApiError> {
    let email = string_field(m, "email")?.trim().to_ascii_lowercase();
    if crate::http::fields::valid_email(&email) {
        Ok(email)
    } else {
        Err(validation("`email` is not a valid email address"))
    }
}

fn store_error(e: redis::RedisError) -> ApiError {
    ApiError::internal(Shape::Seed003, "AUTH_STORE_ERROR", &e)
}

fn too_many(what: &str, retry_after: u64) -> ApiError {
    ApiError::new(
        Shape::Seed003,
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!("too many {what}; retry later"),
    )
    .with_retry_after(retry_after)
}

/// Limits sign-in requests per client IP.
fn limit_ip(state: &AppState, peer: Option<SocketAddr>) -> Result<(), ApiError> {
    let ip = peer.map_or_else(|| "unknown".into(), |p| p.ip().to_string());
    let rule = Rule::per_minute("auth_ip", u64::from(state.identity.auth_rate_per_minute));
    let d = state.limiter.check(&rule, &ip, 1);
    if !d.allowed {
        return Err(too_many("requests from this address", d.retry_after));
    }
    Ok(())
}

pub async fn request_code(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    limit_ip(&state, peer)?;
    let email = email_of(&parse_body(&body)?)?;
    // Counted by the address's hash: e-mail addresses stay out of Redis key names.
    let d = state.limiter.check(&CODES_RULE, &sha256_hex(&email), 1);
    if !d.allowed {
        return Err(too_many("codes for this email", d.retry_after));
    }
    let code = codes::new_code();
    state
        .stores
        .codes
        .store_code(&email, &code)
        .await
        .map_err(store_error)?;
    state
        .identity
        .mailer
        .send_code(&email, &code)
        .await
        .map_err(|e| ApiError::internal(Shape::Seed003, "CODE_DELIVERY_ERROR", &e))?;
    let mut answer = json!({ "message": format!("Verification code sent to {email}") });
    if matches!(state.identity.mailer, Mailer::DevPrint) {
        // Development only (production refuses to start with it): the dashboard shows the code.
        answer["dev_code"] = json!(code);
    }
    Ok(success(StatusCode::OK, answer))
}

/// Checks the code; answers the JWT and sets the dashboard session cookie.
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    limit_ip(&state, peer)?;
    let m = parse_body(&body)?;
    let email = email_of(&m)?;
    let code = string_field(&m, "code")?;
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(validation("`code` must be 6 digits"));
    }
    if state
        .stores
        .codes
        .check_code(&email, code)
        .await
        .map_err(store_error)?
        != Check::Valid
    {
        return Err(ApiError::new(
            Shape::Seed003,
            StatusCode::UNAUTHORIZED,
            "INVALID_CODE",
            "the code is wrong or expired",
        ));
    }
    let user = state
        .stores
        .auth
        .user_for(&email)
        .await
        .map_err(store_error)?;
    let token = state
        .auth
        .jwt
        .issue(&user.id, &user.email, &user.role)
        .map_err(|e| ApiError::internal(Shape::Seed003, "TOKEN_ERROR", &e))?;
    let ttl = state.auth.session_ttl_secs;
    let session = state
        .stores
        .auth
        .start_session(&user.email, ttl)
        .await
        .map_err(store_error)?;
    let mut response = success(
        StatusCode::OK,
        json!({ "token": token, "user": { "id": user.id, "email": user.email, "role": user.role } }),
    );
    response.headers_mut().insert(
        "set-cookie",
        sessions::set_cookie(Some(&session), ttl, state.auth.cookie_secure),
    );
    Ok(response)
}

/// The signed-in user (seed 003 shape, refusals included).
pub async fn me(signed_in: Result<SignedIn, ApiError>) -> Result<Response, ApiError> {
    let SignedIn(user) = signed_in.map_err(|e| e.into_seed003("UNAUTHORIZED"))?;
    Ok(success(
        StatusCode::OK,
        json!({ "id": user.id, "email": user.email, "role": user.role, "createdAt": user.created_at }),
    ))
}

/// Ends the session of the cookie (if any) and clears the cookie. Always 200: logging out twice is fine.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(id) = sessions::presented(&headers) {
        state
            .stores
            .auth
            .end_session(id)
            .await
            .map_err(store_error)?;
    }
    let mut response = success(StatusCode::OK, json!({ "message": "signed out" }));
    let clear: HeaderValue = sessions::set_cookie(None, 0, state.auth.cookie_secure);
    response.headers_mut().insert("set-cookie", clear);
    Ok(response)
}

#[cfg(test)]
#[path = "handlers_tests.rs"]
mod tests;
