//! Static assets built into the binary (the tracker, the dashboard): each held plain and gzip-compressed once
//! per process, with a strong ETag; answered gzipped when the client takes it, 304 on a matching
//! `If-None-Match`.

use std::io::Write;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

/// An asset as served: its bytes, their gzip form (empty if compression failed) and its ETag.
#[derive(Debug)]
pub struct Asset {
    pub plain: Bytes,
    pub gzip: Bytes,
    pub etag: String,
    pub content_type: &'static str,
}

impl Asset {
    pub fn new(plain: impl Into<Bytes>, content_type: &'static str) -> Self {
        let plain: Bytes = plain.into();
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        let gzip = gz
            .write_all(&plain)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        let digest = Sha256::digest(&plain);
        Self {
            etag: format!("\"{}\"", hex::encode(&digest[..12])),
            plain,
            gzip: Bytes::from(gzip),
            content_type,
        }
    }

    /// The answer to a GET with `headers`, with `cache_control`; the caller adds headers of its own.
    pub fn serve(&self, headers: &HeaderMap, cache_control: &'static str) -> Response {
        let mut response = if matches_etag(headers, &self.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else if accepts_gzip(headers) && !self.gzip.is_empty() {
            let mut r = self.gzip.clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            self.plain.clone().into_response()
        };
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, etag);
        }
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
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
