//! Continuous known traffic for chaos tests: visitors browsing (tracker hits with their event time), phone and
//! WhatsApp clicks among them, and event API events — paced at a target rate, each request retried until the
//! edge answers 2xx (as a real client would after a 5xx or a refused connection), with the ground truth of what
//! was acknowledged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// What to send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub base_url: String,
    pub site: String,
    pub key: String,
    pub visitors: usize,
    pub seconds: u64,
    pub hits_per_second: u64,
    /// Every n-th hit of a visitor is a click (phone and WhatsApp in turn).
    pub click_every: usize,
    /// Every n-th request overall is also an event API event.
    pub event_every: usize,
}

/// What the edge acknowledged.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Truth {
    /// Hits per visitor (clicks included).
    pub hits: Vec<u64>,
    pub clicks: u64,
    pub events: u64,
    /// Requests that had to be sent more than once.
    pub retried: u64,
    /// From the first request to the last acknowledgement.
    pub took: Duration,
}

impl Truth {
    pub fn total_hits(&self) -> u64 {
        self.hits.iter().sum()
    }
}

fn hit_body(plan: &Plan, visitor: usize, n: usize) -> Value {
    let now = crate::now_ms();
    let click = plan.click_every > 0 && n % plan.click_every == plan.click_every - 1;
    let (ec, ea) = match (click, n / plan.click_every.max(1) % 2) {
        (false, _) => ("interaction", "view"),
        (true, 0) => ("conversion", "phone"),
        (true, _) => ("conversion", "whatsapp"),
    };
    json!({
        "s": plan.site, "u": format!("https://chaos.example/p{n}"), "sid": format!("S{visitor}"),
        "ec": ec, "ea": ea, "el": format!("v{visitor}h{n}"),
        "meta": { "fp": format!("fp{visitor}"), "ts": now, "st": now }
    })
}

/// Posts `body` until a 2xx; returns how many attempts it took. Gives up (error) after two minutes.
async fn deliver(
    http: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    body: &Value,
) -> anyhow::Result<u32> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut attempts = 0;
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{url} not accepted within two minutes"
        );
        attempts += 1;
        let mut req = http.post(url).json(body);
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return Ok(attempts),
            // Over a rate limit: wait as told, like a well-behaved client.
            Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Ok(r) if r.status().is_client_error() => {
                anyhow::bail!("{url} refused {body}: {}", r.status())
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Sends the plan's traffic and returns the ground truth once every request was acknowledged.
pub async fn run(plan: Plan) -> anyhow::Result<Truth> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()?;
    let total = plan.seconds * plan.hits_per_second;
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let retried = Arc::new(AtomicU64::new(0));
    let mut per_visitor = vec![0usize; plan.visitors];
    let (mut clicks, mut events) = (0, 0);
    let mut tasks = tokio::task::JoinSet::new();
    let started = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(
            started + Duration::from_micros(i * 1_000_000 / plan.hits_per_second),
        )
        .await;
        let visitor = i as usize % plan.visitors;
        let n = per_visitor[visitor];
        per_visitor[visitor] += 1;
        let body = hit_body(&plan, visitor, n);
        clicks += u64::from(body["ec"] == "conversion");
        let mut requests = vec![(format!("{}/api/sync", plan.base_url), None, body)];
        if plan.event_every > 0 && (i as usize).is_multiple_of(plan.event_every) {
            events += 1;
            let event = json!({ "event_name": "chaos", "user_id": format!("u{visitor}"),
                "idempotency_key": format!("chaos-{i}") });
            requests.push((
                format!("{}/api/v1/events", plan.base_url),
                Some(plan.key.clone()),
                event,
            ));
        }
        for (url, key, body) in requests {
            let permit = limit.clone().acquire_owned().await?;
            let (http, retried) = (http.clone(), retried.clone());
            tasks.spawn(async move {
                let attempts = deliver(&http, &url, key.as_deref(), &body).await;
                drop(permit);
                if attempts.as_ref().is_ok_and(|a| *a > 1) {
                    retried.fetch_add(1, Ordering::Relaxed);
                }
                attempts.map(|_| ())
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(Truth {
        hits: per_visitor.into_iter().map(|n| n as u64).collect(),
        clicks,
        events,
        retried: retried.load(Ordering::Relaxed),
        took: started.elapsed(),
    })
}
