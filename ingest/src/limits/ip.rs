//! Per-client-IP limits, as route layers: every request of the tracking endpoints (seed 000: `/api/sync`
//! 100/min, `/api/call-event*` 50/min), and the refused requests of every other API route (floods of
//! made-up keys and tokens), counted by the shared [`Limiter`]. The client IP is the socket peer unless the peer is a trusted proxy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Limiter, Rule};
use crate::http::error::{ApiError, Shape};

/// Which proxies' `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpAddr>>);

impl TrustedProxies {
    /// `trusted`: comma-separated IPs.
    pub fn parse(trusted: &str) -> Result<Self, String> {
        let list = trusted
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("TRUSTED_PROXIES: `{s}` is not an IP address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(Arc::new(list)))
    }

    /// The client IP: the socket peer, unless the peer is a trusted proxy — then the right-most address of
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.0.contains(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|h| h.split(','))
            .rev()
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .find(|a| !self.0.contains(a))
            .unwrap_or(peer)
    }
}

/// A route's per-IP limit, for the middleware.
#[derive(Debug, Clone)]
pub struct IpLimit {
    pub limiter: Limiter,
    pub proxies: TrustedProxies,
    pub rule: Rule,
}

/// The client IP of a request, if the server was started with connect info.
pub fn client_ip(request: &Request, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(proxies.client_ip(peer, forwarded))
}

/// Middleware: 429 with `Retry-After` past the route's per-IP limit (a limit of 0 = unlimited).
pub async fn layer(State(limit): State<IpLimit>, request: Request, next: Next) -> Response {
    if limit.rule.limit == 0 {
        return next.run(request).await;
    }
    let Some(ip) = client_ip(&request, &limit.proxies) else {
        return next.run(request).await;
    };
    let decision = limit.limiter.check(&limit.rule, &ip.to_string(), 1);
    if decision.allowed {
        return next.run(request).await;
    }
    too_many(&limit, decision.retry_after)
}

/// Middleware for the API routes: only *refused* requests (401) count against the client IP; past the
/// limit every API request from that IP gets 429 until the window slides. Authenticated traffic — a server
/// sending thousands of events a minute with its key — is limited per key instead, never here.
pub async fn refusals_layer(
    State(limit): State<IpLimit>,
    request: Request,
    next: Next,
) -> Response {
    if limit.rule.limit == 0 {
        return next.run(request).await;
    }
    let Some(ip) = client_ip(&request, &limit.proxies).map(|ip| ip.to_string()) else {
        return next.run(request).await;
    };
    let decision = limit.limiter.peek(&limit.rule, &ip);
    if !decision.allowed {
        return too_many(&limit, decision.retry_after);
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        limit.limiter.check(&limit.rule, &ip, 1);
    }
    response
}

fn too_many(limit: &IpLimit, retry_after: u64) -> Response {
    crate::ops::metrics::rejected(limit.rule.name, "rate_limited");
    let message = format!(
        "too many requests from this address (at most {} per {} s); retry later",
        limit.rule.limit,
        limit.rule.window_ms / 1000
    );
    ApiError::rate_limited(Shape::Tracking, message, retry_after).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let p = TrustedProxies::parse("10.0.0.9, 10.0.0.8").unwrap();
        let xff = Some("203.0.113.7, 198.51.100.2, 10.0.0.8");
        assert_eq!(
            p.client_ip(ip("192.0.2.1"), xff),
            ip("192.0.2.1"),
            "untrusted peer"
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.9"), xff),
            ip("198.51.100.2"),
            "right-most untrusted hop"
        );
        assert_eq!(p.client_ip(ip("10.0.0.9"), None), ip("10.0.0.9"));
        assert!(TrustedProxies::parse("not-an-ip").is_err());
    }
}
