//! Per-client-IP rate limits of the tracking endpoints (seed 000: `/api/sync` 100/min, `/api/call-event*`
//! 50/min), shared by every edge instance through Redis without a Redis round trip per request.
//!
//! Each instance counts locally in fixed one-minute windows and, every second, adds what it counted to the
//! shared counter (`INCRBY`, pipelined for all active keys) and learns the global total. A request is allowed
//! while `last known global total + not yet synced local count` is under the limit, so the instances together
//! overshoot by at most what arrives between two syncs — including the first second in which an instance
//! sees a client (it starts from its own count and learns the others' at its next sync). If Redis is down, each instance limits on its own
//! count (fail open) and `edge_rate_limit_sync_failures_total` says so.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opsmantik_runtime::redis::Store;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// The counter key: (route, client IP, minute).
type Key = (&'static str, IpAddr, u64);

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    /// Global total after the last sync (all instances, ours included).
    synced: u64,
    /// Counted here since the last sync.
    pending: u64,
}

/// The shared limiter of one edge instance.
#[derive(Debug, Clone)]
pub struct IpLimiter {
    counts: Arc<Mutex<HashMap<Key, Count>>>,
    trusted_proxies: Arc<Vec<IpAddr>>,
}

fn minute_now() -> (u64, u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 60, 60 - secs % 60)
}

impl IpLimiter {
    /// `trusted` are the proxies (comma-separated IPs) whose `X-Forwarded-For` is believed.
    pub fn new(trusted: &str) -> Result<Self, String> {
        let trusted_proxies = trusted
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("TRUSTED_PROXIES: `{s}` is not an IP address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            counts: Arc::default(),
            trusted_proxies: Arc::new(trusted_proxies),
        })
    }

    /// The client IP: the socket peer, unless the peer is a trusted proxy — then the right-most address of
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|h| h.split(','))
            .rev()
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .find(|a| !self.trusted_proxies.contains(a))
            .unwrap_or(peer)
    }

    /// Counts one request; `Err(seconds until the window ends)` when over `limit`.
    pub fn check(&self, route: &'static str, ip: IpAddr, limit: u64) -> Result<(), u64> {
        let (minute, left) = minute_now();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry((route, ip, minute)).or_default();
        if c.synced + c.pending >= limit {
            return Err(left);
        }
        c.pending += 1;
        Ok(())
    }

    /// One sync with Redis: adds every pending count to the shared counters and learns the totals.
    pub async fn sync(&self, store: &Store) -> redis::RedisResult<()> {
        let (minute, _) = minute_now();
        let batch: Vec<(Key, u64)> = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            counts.retain(|k, _| k.2 + 1 >= minute);
            counts
                .iter_mut()
                .map(|(k, c)| (*k, std::mem::take(&mut c.pending)))
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for ((route, ip, m), n) in &batch {
            let key = store.key(&["ratelimit", route, &ip.to_string(), &m.to_string()]);
            pipe.incr(&key, *n).expire(&key, 120).ignore();
        }
        let totals: Result<Vec<u64>, _> = match store.conn().await {
            Ok(mut c) => pipe.query_async(&mut c).await,
            Err(e) => Err(e),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match totals {
            Ok(totals) => {
                for ((key, _), total) in batch.iter().zip(totals) {
                    if let Some(c) = counts.get_mut(key) {
                        c.synced = total;
                    }
                }
                Ok(())
            }
            Err(e) => {
                // Keep counting locally: put the unsynced counts back.
                for (key, n) in batch {
                    if let Some(c) = counts.get_mut(&key) {
                        c.synced += n;
                    }
                }
                Err(e)
            }
        }
    }

    /// Syncs every second until `shutdown`.
    pub fn spawn_sync(&self, store: Store, shutdown: CancellationToken) {
        let limiter = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => if let Err(e) = limiter.sync(&store).await {
                        metrics::counter!("edge_rate_limit_sync_failures_total").increment(1);
                        tracing::debug!(error = %e, "rate-limit sync failed; limiting on local counts");
                    },
                }
            }
        });
    }
}

/// A route's limit, for the middleware.
#[derive(Debug, Clone)]
pub struct RouteLimit {
    pub limiter: IpLimiter,
    pub route: &'static str,
    pub per_minute: u64,
}

/// Middleware: 429 with `Retry-After` past the route's per-IP limit (0 = unlimited).
pub async fn layer(State(limit): State<RouteLimit>, request: Request, next: Next) -> Response {
    if limit.per_minute == 0 {
        return next.run(request).await;
    }
    let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(request).await;
    };
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = limit.limiter.client_ip(peer, forwarded);
    match limit.limiter.check(limit.route, ip, limit.per_minute) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            crate::metrics::rejected(limit.route, "rate_limited");
            let mut r = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: format!(
                    "at most {} requests per minute from one address",
                    limit.per_minute
                ),
            }
            .into_response();
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(retry_after));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn counts_locally_up_to_the_limit_per_route_and_ip() {
        let l = IpLimiter::new("").unwrap();
        for _ in 0..3 {
            assert!(l.check("sync", ip("10.0.0.1"), 3).is_ok());
        }
        let retry = l.check("sync", ip("10.0.0.1"), 3).unwrap_err();
        assert!((1..=60).contains(&retry));
        assert!(
            l.check("sync", ip("10.0.0.2"), 3).is_ok(),
            "another address"
        );
        assert!(
            l.check("call_event", ip("10.0.0.1"), 3).is_ok(),
            "another route"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = IpLimiter::new("10.0.0.9, 10.0.0.8").unwrap();
        let xff = Some("203.0.113.7, 198.51.100.2, 10.0.0.8");
        assert_eq!(
            l.client_ip(ip("192.0.2.1"), xff),
            ip("192.0.2.1"),
            "untrusted peer: its own address"
        );
        assert_eq!(
            l.client_ip(ip("10.0.0.9"), xff),
            ip("198.51.100.2"),
            "right-most untrusted hop"
        );
        assert_eq!(l.client_ip(ip("10.0.0.9"), None), ip("10.0.0.9"));
        assert!(IpLimiter::new("not-an-ip").is_err());
    }
}
