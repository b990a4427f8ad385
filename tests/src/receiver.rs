//! A webhook receiver on loopback for the tests: records every request it gets, and answers as told — a
//! status, or never (the sender's timeout).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub delivery_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
    pub at: Instant,
}

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Received>>>,
    /// The status to answer; 0: never answer.
    answer: Arc<AtomicU16>,
}

/// A running receiver; stops when dropped.
#[allow(missing_debug_implementations)]
pub struct Receiver {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    s.seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            delivery_id: header("x-opsmantik-delivery-id"),
            timestamp: header("x-opsmantik-timestamp").parse().unwrap_or(0),
            signature: header("x-opsmantik-signature"),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
    match s.answer.load(Ordering::SeqCst) {
        0 => std::future::pending().await,
        code => StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

impl Receiver {
    /// Starts on a free loopback port, answering `status` (0: never).
    pub async fn start(status: u16) -> anyhow::Result<Self> {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await?, status)
    }

    /// Starts on `port` (a receiver that was down comes up).
    pub async fn start_at(port: u16, status: u16) -> anyhow::Result<Self> {
        Self::start_on(
            tokio::net::TcpListener::bind(("127.0.0.1", port)).await?,
            status,
        )
    }

    fn start_on(listener: tokio::net::TcpListener, status: u16) -> anyhow::Result<Self> {
        let url = format!("http://{}/hook", listener.local_addr()?);
        let shared = Shared::default();
        shared.answer.store(status, Ordering::SeqCst);
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, shared, task })
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The distinct delivery ids received (what a receiver that dedupes processes).
    pub fn ids(&self) -> HashSet<String> {
        self.received().into_iter().map(|r| r.delivery_id).collect()
    }
}
