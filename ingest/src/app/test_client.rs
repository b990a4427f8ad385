//! In-process tests of the whole router over in-memory stores and publisher: requests go through every
//! layer (request id, limits, access checks) exactly as over HTTP, without a socket, Redis or ClickHouse.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use opsmantik_runtime::kafka::MemoryPublisher;
use opsmantik_runtime::sites::Site;
use opsmantik_schemas::Topics;
use serde_json::Value;
use tower::ServiceExt;

use super::state::AppState;
use super::stores::InMemory;

/// An answer: status, headers, JSON body (`Null` when not JSON) and the raw body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

/// The router over in-memory stores, with handles on them.
#[allow(missing_debug_implementations)] // the router has no Debug
pub struct TestApp {
    router: axum::Router,
    pub memory: InMemory,
    pub publisher: Arc<MemoryPublisher>,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// Like [`new`](Self::new), with the state changed by `change` first (e.g. another mailer).
    pub fn with(change: impl FnOnce(&mut AppState)) -> Self {
        let publisher = Arc::new(MemoryPublisher::new());
        let (mut state, memory) = AppState::in_memory(publisher.clone(), Topics::new("t"));
        change(&mut state);
        Self {
            router: crate::router(state, 64 * 1024),
            memory,
            publisher,
        }
    }

    /// A site known to the account store.
    pub fn site(&self, public_id: &str) -> Site {
        let site = Site {
            id: format!("id-{public_id}"),
            public_id: public_id.into(),
            name: public_id.into(),
            domain: format!("{public_id}.example"),
            secret: "secret".into(),
            time_zone: "UTC".into(),
            ..Default::default()
        };
        self.memory.auth.add_site(site.clone());
        site
    }

    /// Sends `method path` with `headers` and a JSON `body`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        #[allow(clippy::expect_used)]
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).expect("a valid request"))
            .await
            .expect("the router answers");
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            bytes: bytes.to_vec(),
        }
    }

    /// Sends `method path` with API key `key` and an optional JSON `body`.
    pub async fn with_key(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> Reply {
        self.send(method, path, &[("x-api-key", key)], body).await
    }

    /// Records published to the topic whose name ends with `suffix`.
    pub fn published(&self, suffix: &str) -> Vec<opsmantik_runtime::kafka::OutRecord> {
        self.publisher
            .sent()
            .into_iter()
            .filter(|r| r.topic.ends_with(suffix))
            .collect()
    }
}
