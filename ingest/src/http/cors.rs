//! Fail-closed CORS for the tracking endpoints (seed 000): a browser request's `Origin` must be on
//! `ALLOWED_ORIGINS` or on the allowed origins of the site it writes to. A denied origin — and a denied
//! preflight — gets 403 with no `Access-Control-Allow-Origin`; every other answer carries `Vary: Origin`.
//! Requests without `Origin` (servers, SDKs) are not browser cross-origin requests and pass.
//!
//! The middleware decides what it can without the body (preflights: the global list or any site's list);
//! handlers then check the origin against the request's own site with [`Cors::allows`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::sites::{Site, SiteCache};

/// The CORS policy.
#[derive(Debug, Clone)]
pub struct Cors {
    global: Arc<Vec<String>>,
    sites: SiteCache,
}

/// The request's `Origin`, if any.
pub fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_string())
}

impl Cors {
    /// `allowed` is `ALLOWED_ORIGINS`, comma separated.
    pub fn new(allowed: &str, sites: SiteCache) -> Self {
        let global = allowed
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        Self {
            global: Arc::new(global),
            sites,
        }
    }

    /// Whether `origin` may write to `site`.
    pub fn allows(&self, origin: &str, site: &Site) -> bool {
        self.global.iter().any(|o| o == origin)
            || site
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
    }

    fn allows_any(&self, origin: &str) -> bool {
        self.global.iter().any(|o| o == origin) || self.sites.any_allows(origin)
    }

    /// A handler's check of the request's origin against its site: 403 `origin_not_allowed` when denied.
    pub fn check(&self, headers: &HeaderMap, site: &Site) -> Result<(), ApiError> {
        match origin(headers) {
            Some(o) if !self.allows(&o, site) => Err(forbidden()),
            _ => Ok(()),
        }
    }
}

fn forbidden() -> ApiError {
    crate::ops::metrics::rejected("cors", "origin_not_allowed");
    ApiError::new(
        crate::http::error::Shape::Tracking,
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "this origin may not send events here",
    )
}

/// Middleware for the tracking routes.
pub async fn layer(State(cors): State<Cors>, request: Request, next: Next) -> Response {
    let origin = origin(request.headers());
    let allowed = origin.as_deref().is_none_or(|o| cors.allows_any(o));
    if !allowed {
        return with_vary(forbidden().into_response());
    }
    if request.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(
                "Content-Type, Authorization, X-OpsMantik-Version, X-Ops-Site-Id, X-Ops-Ts, \
                 X-Ops-Signature, X-Ops-Timestamp",
            ),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
        return finish(r, origin.as_deref());
    }
    let response = next.run(request).await;
    finish(response, origin.as_deref())
}

fn with_vary(mut r: Response) -> Response {
    r.headers_mut()
        .insert("vary", HeaderValue::from_static("Origin"));
    r
}

/// Adds `Vary: Origin`, and `Access-Control-Allow-Origin` unless the handler refused the origin.
fn finish(mut r: Response, origin: Option<&str>) -> Response {
    if let Some(o) = origin {
        if r.status() != StatusCode::FORBIDDEN {
            if let Ok(v) = HeaderValue::from_str(o) {
                r.headers_mut().insert("access-control-allow-origin", v);
                // The tracker reads it to back off as told on 429.
                r.headers_mut().insert(
                    "access-control-expose-headers",
                    HeaderValue::from_static("Retry-After"),
                );
            }
        }
    }
    with_vary(r)
}
