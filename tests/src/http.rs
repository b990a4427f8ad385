//! A test's view of an HTTP answer: status, headers and JSON body (`Null` when the body is not JSON).

use serde_json::Value;

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Sends `req`; panics when the request cannot be sent at all (the test then fails loudly).
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    #[allow(clippy::expect_used)]
    let r = req.send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Reply {
        status,
        headers,
        body: r.json().await.unwrap_or(Value::Null),
    }
}
