//! Who is calling: an API key (`x-api-key`, or an `evp_` token after `Authorization: Bearer`), a signed-in
//! user (a JWT after `Bearer`, any case, or the dashboard's session cookie), or nobody. Users are read
//! live from the account store, so revoking an admin takes effect on the next request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use opsmantik_runtime::accounts::{self, User};

use super::keys::{self, KeyRecord};
use super::{sessions, AuthError};
use crate::app::state::AppState;
use crate::http::error::ApiError;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Key(KeyRecord),
    User(User),
    /// An operator's scheduled job run from the command line with the deployment's own credentials
    /// (`opsmantik-admin auto-approve`); never a request's caller.
    Job(&'static str),
}

impl Principal {
    /// Who did it, for audit records: `user:<id>`, `key:<short id>` or `job:<name>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Key(k) => format!("key:{}", k.key_id()),
            Principal::User(u) => format!("user:{}", u.id),
            Principal::Job(name) => format!("job:{name}"),
        }
    }
}

/// Identifies the caller of a request with `headers`.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Principal, AuthError> {
    let store = state.stores.auth.as_ref();
    if let Some(key) = keys::presented_key(headers) {
        return keys::lookup(store, &state.auth.keys, &key)
            .await?
            .map(Principal::Key)
            .ok_or(AuthError::InvalidKey);
    }
    // (the user's e-mail, the user id the credential names if it names one)
    let (email, id) = if let Some(token) = keys::bearer(headers) {
        let claims = state
            .auth
            .jwt
            .verify(token)
            .ok_or(AuthError::InvalidToken)?;
        (claims.email, Some(claims.sub))
    } else if let Some(cookie) = sessions::presented(headers) {
        let email = store.session_email(cookie).await?;
        (email.ok_or(AuthError::InvalidToken)?, None)
    } else {
        return Err(AuthError::Missing);
    };
    store
        .user_by_email(&email)
        .await?
        .filter(|u| id.as_ref().is_none_or(|id| *id == u.id))
        .map(Principal::User)
        .ok_or(AuthError::InvalidToken)
}

/// The request's API key, if it carries `scope` (event API, analytics, Callflow: key-only routes).
pub async fn api_key(
    state: &AppState,
    headers: &HeaderMap,
    scope: keys::Scope,
) -> Result<KeyRecord, AuthError> {
    if keys::presented_key(headers).is_none() {
        return Err(AuthError::MissingKey);
    }
    match identify(state, headers).await? {
        Principal::Key(key) => {
            let need = super::Need {
                role: accounts::Role::Owner,
                scope: Some(scope),
            };
            super::access::decide(super::access::Relation::Key(&key), need)?;
            Ok(key)
        }
        Principal::User(_) | Principal::Job(_) => Err(AuthError::InvalidKey),
    }
}

/// Extractor: any authenticated caller (401 in the control shape otherwise).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        identify(state, &parts.headers)
            .await
            .map(Caller)
            .map_err(ApiError::from)
    }
}

/// Extractor: a signed-in user (JWT or session cookie); API keys are refused.
#[derive(Debug, Clone)]
pub struct SignedIn(pub User);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match identify(state, &parts.headers).await {
            Ok(Principal::User(u)) => Ok(SignedIn(u)),
            Ok(Principal::Key(_) | Principal::Job(_)) => Err(AuthError::UserRequired.into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Extractor: a global admin. Anyone else authenticated gets 403 `forbidden` (seed 001's admin-only routes),
/// nobody 401.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match identify(state, &parts.headers).await? {
            Principal::User(u) if u.is_admin() => Ok(Admin(u)),
            _ => Err(ApiError::new(
                crate::http::error::Shape::Control,
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "only global admins may do this",
            )),
        }
    }
}
