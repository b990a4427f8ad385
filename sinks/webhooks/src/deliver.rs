//! One attempt of one delivery: the POST with its headers, through a client whose resolver applies the
//! outbound policy after DNS (an IP-literal URL is checked before the request, redirects are not followed), and
//! what the answer means.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_rules::webhook::header_signature;
use opsmantik_runtime::outbound::Policy;
use opsmantik_schemas::WebhookDelivery;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx.
    Delivered { status: u16 },
    /// A failure worth another try: network, timeout, 408, 429, 5xx (with the receiver's `Retry-After`).
    Retry {
        status: u16,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good: another 4xx, or an address the policy forbids.
    Refused { status: u16, error: String },
}

/// The resolver that refuses names resolving to internal addresses.
struct Checked(Policy);

impl Resolve for Checked {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !policy.permits(a.ip())) {
                return Err(format!(
                    "{} resolves to {}, an internal address",
                    name.as_str(),
                    bad.ip()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Sends deliveries.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the client has no useful Debug
pub struct Sender {
    client: reqwest::Client,
    policy: Policy,
}

impl Sender {
    pub fn new(policy: Policy, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Checked(policy.clone())))
            .user_agent("OpsMantik-Webhooks/1")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, policy })
    }

    /// POSTs `d` signed with `secret` at `now_secs`; the outcome and how long it took.
    pub async fn send(
        &self,
        d: &WebhookDelivery,
        secret: &str,
        now_secs: i64,
    ) -> (Outcome, Duration) {
        let started = Instant::now();
        match self.policy.target(&d.url) {
            Err(e) => {
                return (
                    Outcome::Refused {
                        status: 0,
                        error: format!("url {e}"),
                    },
                    started.elapsed(),
                )
            }
            Ok((host, _)) => {
                if let Ok(ip) = host.parse::<IpAddr>() {
                    if !self.policy.permits(ip) {
                        let error = format!("{ip} is an internal address");
                        return (Outcome::Refused { status: 0, error }, started.elapsed());
                    }
                }
            }
        }
        let answer = self
            .client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("x-opsmantik-delivery-id", &d.delivery_id)
            .header("x-opsmantik-timestamp", now_secs)
            .header(
                "x-opsmantik-signature",
                header_signature(secret, now_secs, d.body.as_bytes()),
            )
            .body(d.body.clone())
            .send()
            .await;
        let outcome = match answer {
            Ok(r) => classify(r.status().as_u16(), retry_after(r.headers())),
            Err(e) => network(&e),
        };
        (outcome, started.elapsed())
    }
}

fn network(e: &reqwest::Error) -> Outcome {
    let mut error = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        error = format!("{error}: {s}");
        source = s.source();
    }
    if error.contains("internal address") {
        return Outcome::Refused { status: 0, error };
    }
    let error = if e.is_timeout() {
        format!("timeout: {error}")
    } else {
        error
    };
    Outcome::Retry {
        status: 0,
        error,
        retry_after: None,
    }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// What a status means.
pub fn classify(status: u16, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered { status },
        408 | 429 | 500..=599 => Outcome::Retry {
            status,
            error: format!("HTTP {status}"),
            retry_after,
        },
        _ => Outcome::Refused {
            status,
            error: format!("HTTP {status}: not retried"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_throttling_and_server_errors_are_retried() {
        assert_eq!(classify(204, None), Outcome::Delivered { status: 204 });
        for s in [408, 429, 500, 503] {
            assert!(matches!(classify(s, None), Outcome::Retry { .. }), "{s}");
        }
        for s in [301, 400, 401, 404, 410] {
            assert!(matches!(classify(s, None), Outcome::Refused { .. }), "{s}");
        }
        let told = classify(429, Some(Duration::from_secs(7)));
        assert!(
            matches!(told, Outcome::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_before_any_request() {
        let sender = Sender::new(Policy::new("", false).unwrap(), Duration::from_secs(1)).unwrap();
        let d = WebhookDelivery {
            url: "http://169.254.169.254/latest/meta-data".into(),
            ..opsmantik_schemas::samples::webhook_delivery()
        };
        let (outcome, _) = sender.send(&d, "s", 0).await;
        assert!(
            matches!(outcome, Outcome::Refused { status: 0, .. }),
            "{outcome:?}"
        );
        let by_name = WebhookDelivery {
            url: "http://localhost:9/".into(),
            ..d
        };
        let (outcome, _) = sender.send(&by_name, "s", 0).await;
        assert!(
            matches!(outcome, Outcome::Refused { ref error, .. } if error.contains("internal")),
            "{outcome:?}"
        );
    }
}
