//! Our own browser tracker, `tracker.js` (this folder), served at [`PATH`]: compacted (comment lines and
//! indentation dropped), gzip-compressed once per process, with a strong ETag and caching headers (an hour
//! fresh, a day stale while revalidating, 304 on a matching `If-None-Match`). Public and cross-origin
//! readable (`crossorigin` script tags and subresource integrity work). Wire contract: docs/tracker.md.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::http::asset::Asset;

/// Where the edge serves the tracker. Stable: site snippets point at it.
pub const PATH: &str = "/tracker.js";
const SOURCE: &str = include_str!("tracker.js");
const CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

static ASSET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(compact(SOURCE), "application/javascript; charset=utf-8"));

/// The served form of the tracker.
pub fn served() -> &'static Asset {
    &ASSET
}

/// `source` without whole-line `//` comments, indentation and blank lines. `tracker.js` is written for it: no
/// template literals and no string continued on the next line.
pub fn compact(source: &str) -> String {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `GET /tracker.js`: public and readable from any origin.
pub async fn get(headers: HeaderMap) -> Response {
    let mut response = served().serve(&headers, CACHE_CONTROL);
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

#[cfg(test)]
mod tests;
