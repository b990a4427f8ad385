//! The dashboard (docs/dashboard.md): a web app served by the edge at [`PATH`], its files built into the binary
//! (`assets/`, no build step, nothing fetched at run time). The page uses only the public HTTP API, signed in
//! with the session cookie. Every file is revalidated on each load (ETag, 304), so a new edge version shows at
//! once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::app::state::AppState;
use crate::http::asset::Asset;
use crate::http::error::ApiError;

/// Where the dashboard lives.
pub const PATH: &str = "/app/";
const CACHE_CONTROL: &str = "no-cache";
/// The page may load only its own files and call only its own edge.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const FILES: [(&str, &str, &str); 10] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    ("app.js", JS, include_str!("assets/app.js")),
    ("api.js", JS, include_str!("assets/api.js")),
    ("ui.js", JS, include_str!("assets/ui.js")),
    ("sites.js", JS, include_str!("assets/sites.js")),
    ("overview.js", JS, include_str!("assets/overview.js")),
    ("queue.js", JS, include_str!("assets/queue.js")),
    ("events.js", JS, include_str!("assets/events.js")),
    ("ops.js", JS, include_str!("assets/ops.js")),
];
const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: LazyLock<Vec<(&'static str, Asset)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, kind, text)| (*name, Asset::new(*text, kind)))
        .collect()
});

/// The dashboard's files by name (for the size budget test).
pub fn assets() -> &'static [(&'static str, Asset)] {
    &ASSETS
}

/// `GET /`, `GET /app`, `GET /app/`, `GET /app/{file}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to(PATH) }))
        .route("/app", get(|| async { Redirect::to(PATH) }))
        .route("/app/", get(index))
        .route("/app/{file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some((_, asset)) = ASSETS.iter().find(|(n, _)| *n == name) else {
        return ApiError::not_found("not_found", "no such dashboard file").into_response();
    };
    let mut response = asset.serve(headers, CACHE_CONTROL);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests;
