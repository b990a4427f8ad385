//! Request extractors that answer bad input through [`ApiError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use crate::http::error::ApiError;

/// The raw body, within the route's `DefaultBodyLimit`; an oversized body is a 400 `payload_too_large`.
#[derive(Debug)]
pub struct LimitedBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for LimitedBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(LimitedBody(b)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                crate::ops::metrics::rejected("body", "payload_too_large");
                Err(ApiError::bad_request(
                    "payload_too_large",
                    "request body exceeds the size limit",
                ))
            }
            Err(rejection) => {
                crate::ops::metrics::rejected("body", "unreadable_body");
                Err(ApiError::bad_request(
                    "unreadable_body",
                    rejection.body_text(),
                ))
            }
        }
    }
}

/// The socket peer, when the server was started with connect info (absent in in-process router tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
