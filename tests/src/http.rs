//! A test's view of an HTTP answer: status, headers and JSON body (`Null` when the body is not JSON).

use serde_json::Value;

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Sends `req`; panics when the request cannot be sent at all, or when the answer breaks the edge's OpenAPI
/// document (`contract`): the test then fails loudly.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let (client, request) = req.build_split();
    #[allow(clippy::expect_used)]
    let request = request.expect("request built");
    let (method, url) = (request.method().to_string(), request.url().to_string());
    #[allow(clippy::expect_used)]
    let r = client.execute(request).await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    crate::contract::check_answer(&method, &url, status, &body);
    Reply {
        status,
        headers,
        body,
    }
}
