//! Who is calling: the API key (`x-api-key` or `Authorization: Bearer`) names a site. Until the event-API
//! issue stores keys, they come from config (`CALLFLOW_API_KEYS=key=site,...`); only their SHA-256 is kept.
//! The guard middleware authenticates, rate-limits per key and adds the rate-limit headers to the response.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::CallflowError;
use crate::identity::codes::sha256_hex;
use crate::identity::keys::presented_key;
use crate::metrics;
use crate::rate_limit::KeyLimiter;
use crate::request_id::RequestId;

/// The authenticated caller, in the request's extensions after the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub site: String,
}

/// Accepted keys, by hash.
#[derive(Debug, Default, Clone)]
pub struct ApiKeys {
    sites: HashMap<String, String>,
}

impl ApiKeys {
    /// Parses `key=site,key=site`; empty means no keys (every callflow request is refused).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut sites = HashMap::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, site) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not key=site"))?;
            if key.len() < 16 || site.is_empty() {
                return Err("API keys need at least 16 characters and a site".into());
            }
            sites.insert(sha256_hex(key), site.to_string());
        }
        Ok(Self { sites })
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The site of `key`, if it is a known key.
    pub fn site_of(&self, key: &str) -> Option<&str> {
        self.sites.get(&sha256_hex(key)).map(String::as_str)
    }
}

/// What the guard needs.
#[derive(Debug, Clone)]
pub struct Guard {
    pub keys: Arc<ApiKeys>,
    pub limiter: Arc<KeyLimiter>,
}

/// Middleware: 401 without a valid key, 429 past the key's rate, rate-limit headers on every answer to a
/// known key.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    let refuse = |status, code: &'static str, message: &str| {
        metrics::rejected("callflow", code);
        CallflowError::new(status, code, message, &request_id)
    };
    let Some(key) = presented_key(request.headers()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "MISSING_API_KEY",
            "an API key is required (x-api-key)",
        )
        .into_response();
    };
    let Some(site) = guard.keys.site_of(&key).map(str::to_string) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "the API key is not valid",
        )
        .into_response();
    };
    // Buckets are keyed by the key's hash, so raw keys are not kept in the limiter's memory.
    let decision = guard.limiter.check(&sha256_hex(&key));
    let mut response = if decision.allowed {
        request.extensions_mut().insert(Caller { site });
        next.run(request).await
    } else {
        let mut e = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "rate limit exceeded; retry later",
        );
        e.retry_after = Some(decision.retry_after);
        e.into_response()
    };
    decision.apply(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_sites_by_hash() {
        let keys = ApiKeys::parse("k_aaaaaaaaaaaaaaaa=site_a, k_bbbbbbbbbbbbbbbb=site_b").unwrap();
        assert_eq!(keys.site_of("k_aaaaaaaaaaaaaaaa"), Some("site_a"));
        assert_eq!(keys.site_of("k_bbbbbbbbbbbbbbbb"), Some("site_b"));
        assert_eq!(keys.site_of("nope"), None);
        assert!(ApiKeys::parse("short=site").is_err());
        assert!(ApiKeys::parse("no-equals-sign-here").is_err());
        assert!(ApiKeys::parse("").unwrap().is_empty());
    }
}
