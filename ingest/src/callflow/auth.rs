//! Who is calling: an API key of the one key system (`x-api-key` or `Authorization: Bearer`), which names
//! the site; writes need the `ingest` scope, reads `read`. The guard middleware authenticates, rate-limits
//! per key and adds the rate-limit headers to the response.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::state::AppState;
use crate::auth::{self, keys::Scope, AuthError};
use crate::http::error::{ApiError, Shape};
use crate::http::request_id::RequestId;
use crate::limits::Rule;

/// The authenticated caller, in the request's extensions after the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub site: String,
}

/// What the guard needs.
#[derive(Debug, Clone)]
pub struct Guard {
    pub state: AppState,
    pub rule: Rule,
}

/// Middleware: 401 without a valid key, 429 past the key's rate, rate-limit headers on every answer to a
/// known key.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    let shape = Shape::Callflow(request_id);
    let scope = if request.method() == axum::http::Method::POST {
        Scope::Ingest
    } else {
        Scope::Read
    };
    let key = match auth::api_key(&guard.state, request.headers(), scope).await {
        Ok(key) => key,
        Err(AuthError::Unavailable) => {
            return ApiError::unavailable(shape, "SERVICE_UNAVAILABLE", &"account store")
                .into_response()
        }
        Err(e) => return ApiError::auth(shape, e).into_response(),
    };
    let site = key.site.clone();
    // Counted by the key's hash, so raw keys are not kept in the limiter's memory.
    let decision = guard.state.limiter.check(&guard.rule, &key.id, 1);
    let mut response = if decision.allowed {
        request.extensions_mut().insert(Caller { site });
        next.run(request).await
    } else {
        let message = "rate limit exceeded; retry later";
        ApiError::rate_limited(shape, message, decision.retry_after).into_response()
    };
    decision.apply(response.headers_mut());
    response
}
