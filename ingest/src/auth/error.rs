//! Why a caller was refused. One kind for every route; `ApiError::auth` answers it in the shape of the
//! route's seed.

use axum::http::StatusCode;

/// A refusal (or a failure to decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No key, token or session cookie at all.
    Missing,
    /// A key-only route without a key.
    MissingKey,
    /// An API key that is unknown or revoked.
    InvalidKey,
    /// A JWT that does not verify or has expired, or a session cookie that is unknown or ended.
    InvalidToken,
    /// The route is for signed-in users; an API key cannot call it.
    UserRequired,
    /// The site does not exist *or* the caller has nothing to do with it: the two answer alike, so an
    /// outsider cannot tell which sites exist.
    NotFound,
    /// The caller may see the site but not do this (a viewer editing, a key without the scope, …).
    Forbidden(&'static str),
    /// The account store did not answer.
    Unavailable,
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Missing
            | AuthError::MissingKey
            | AuthError::InvalidKey
            | AuthError::InvalidToken
            | AuthError::UserRequired => StatusCode::UNAUTHORIZED,
            AuthError::NotFound => StatusCode::NOT_FOUND,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The seed-003 style machine code (upper case); the control routes use it lower-cased.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "UNAUTHORIZED",
            AuthError::MissingKey => "MISSING_API_KEY",
            AuthError::InvalidKey => "INVALID_API_KEY",
            AuthError::InvalidToken => "UNAUTHORIZED",
            AuthError::UserRequired => "UNAUTHORIZED",
            AuthError::NotFound => "NOT_FOUND",
            AuthError::Forbidden(_) => "FORBIDDEN",
            AuthError::Unavailable => "AUTH_STORE_ERROR",
        }
    }

    /// The same code in the lower-case shape of the tracking and control routes.
    pub fn snake_code(&self) -> &'static str {
        match self {
            AuthError::Missing | AuthError::InvalidToken | AuthError::UserRequired => {
                "unauthorized"
            }
            AuthError::MissingKey => "missing_api_key",
            AuthError::InvalidKey => "invalid_api_key",
            AuthError::NotFound => "not_found",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::Unavailable => "auth_store_error",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            AuthError::Missing => {
                "sign in (Bearer token or session cookie) or send an API key (x-api-key)"
            }
            AuthError::MissingKey => "an API key is required (x-api-key or Authorization: Bearer)",
            AuthError::InvalidKey => "the API key is invalid or revoked",
            AuthError::InvalidToken => "the token or session is invalid or expired",
            AuthError::UserRequired => "this route needs a signed-in user, not an API key",
            AuthError::NotFound => "no such site",
            AuthError::Forbidden(why) => why,
            AuthError::Unavailable => "the account store is unavailable; retry later",
        }
    }
}

impl From<redis::RedisError> for AuthError {
    fn from(e: redis::RedisError) -> Self {
        tracing::error!(error = %e, "account store failed");
        AuthError::Unavailable
    }
}
