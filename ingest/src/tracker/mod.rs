//! Our own browser tracker, `tracker.js` (this folder), served at [`PATH`]: compacted (comment lines and
//! indentation dropped), gzip-compressed once per process, with a strong ETag and caching headers (an hour
//! fresh, a day stale while revalidating, 304 on a matching `If-None-Match`). Public and cross-origin
//! readable (`crossorigin` script tags and subresource integrity work). Wire contract: docs/tracker.md.

use std::io::Write;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

/// Where the edge serves the tracker. Stable: site snippets point at it.
pub const PATH: &str = "/tracker.js";
const SOURCE: &str = include_str!("tracker.js");
const CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

/// The tracker as served: compacted, its gzip form (empty if compression failed) and its ETag.
#[derive(Debug)]
pub struct Asset {
    pub plain: Bytes,
    pub gzip: Bytes,
    pub etag: String,
}

static ASSET: LazyLock<Asset> = LazyLock::new(|| asset(SOURCE));

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

fn asset(source: &str) -> Asset {
    let plain = compact(source);
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    let gzip = gz
        .write_all(plain.as_bytes())
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    let digest = Sha256::digest(plain.as_bytes());
    Asset {
        etag: format!("\"{}\"", hex::encode(&digest[..12])),
        plain: Bytes::from(plain),
        gzip: Bytes::from(gzip),
    }
}

/// `GET /tracker.js`.
pub async fn get(headers: HeaderMap) -> Response {
    let asset = served();
    let mut response = if matches_etag(&headers, &asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(&headers) && !asset.gzip.is_empty() {
        let mut r = asset.gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        asset.plain.clone().into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Whether `Accept-Encoding` takes gzip (a `q=0` refuses it).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests;
