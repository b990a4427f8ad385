//! The whole pipeline for one test: edge, sessionizer, call-matcher, ClickHouse sink and Redis overlay on the
//! test's [`Env`].

use std::time::Duration;

use serde_json::Value;

use crate::{free_port, wait_for, Binary, Env, Service};

/// The three running services and an HTTP client for the edge.
#[derive(Debug)]
pub struct Pipeline {
    pub edge: Option<Service>,
    pub sessionizer: Option<Service>,
    pub call_matcher: Option<Service>,
    pub sink: Option<Service>,
    pub overlay: Option<Service>,
    /// Not started by `start`: the tests of rules and webhooks start them (`start_stage`).
    pub rules: Option<Service>,
    pub webhooks: Option<Service>,
    pub base_url: String,
    pub http: reqwest::Client,
    /// The settings every binary of this pipeline runs with.
    pub vars: Vec<(String, String)>,
    tag: String,
}

impl Pipeline {
    /// Starts every service and waits until the edge answers its health check.
    pub async fn start(env: &Env) -> anyhow::Result<Self> {
        Self::start_with(env, &[]).await
    }

    /// Like [`start`](Self::start), with extra environment variables for every service.
    pub async fn start_with(env: &Env, extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port();
        let mut vars = env.vars();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars.push(("EDGE_ADDR".into(), format!("127.0.0.1:{port}")));
        let mut p = Self {
            edge: Some(Service::start(Binary::Edge, &vars, &env.name)),
            sessionizer: Some(Service::start(Binary::Sessionizer, &vars, &env.name)),
            call_matcher: Some(Service::start(Binary::CallMatcher, &vars, &env.name)),
            sink: Some(Service::start(Binary::ClickHouseSink, &vars, &env.name)),
            overlay: Some(Service::start(Binary::RedisOverlay, &vars, &env.name)),
            rules: None,
            webhooks: None,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // The edge closes keep-alive connections idle for its header timeout (10 s): a client must
                // let go of them first, or it may reuse one as it closes.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()?,
            vars,
            tag: env.name.clone(),
        };
        p.wait_healthy().await?;
        Ok(p)
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let url = format!("{}/api/health", self.base_url);
        let http = self.http.clone();
        wait_for("edge health", Duration::from_secs(30), || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("status {}", r.status())),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await
    }

    /// Starts a second edge on the same stack slice; returns it and its base URL.
    pub async fn start_extra_edge(&self) -> anyhow::Result<(Service, String)> {
        let port = free_port();
        let mut vars = self.vars.clone();
        vars.push(("EDGE_ADDR".into(), format!("127.0.0.1:{port}")));
        let edge = Service::start(Binary::Edge, &vars, &format!("{}-2", self.tag));
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/api/health");
        let http = self.http.clone();
        wait_for("second edge health", Duration::from_secs(30), || {
            let (http, url) = (http.clone(), health.clone());
            async move {
                http.get(&url)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        Ok((edge, base))
    }

    /// Kills the edge (SIGKILL) and starts a new one on the same address.
    pub async fn restart_edge(&mut self) -> anyhow::Result<()> {
        if let Some(edge) = self.edge.take() {
            edge.kill();
        }
        self.edge = Some(Service::start(Binary::Edge, &self.vars, &self.tag));
        self.wait_healthy().await
    }

    /// Starts a fresh sessionizer process (after the old one was killed).
    pub fn restart_sessionizer(&mut self) {
        self.start_stage(Binary::Sessionizer);
    }

    /// Starts a fresh sink process (after the old one was killed).
    pub fn restart_sink(&mut self) {
        self.start_stage(Binary::ClickHouseSink);
    }

    fn slot(&mut self, stage: Binary) -> &mut Option<Service> {
        match stage {
            Binary::Sessionizer => &mut self.sessionizer,
            Binary::CallMatcher => &mut self.call_matcher,
            Binary::ClickHouseSink => &mut self.sink,
            Binary::RedisOverlay => &mut self.overlay,
            Binary::Rules => &mut self.rules,
            Binary::WebhookSink => &mut self.webhooks,
            _ => &mut self.edge,
        }
    }

    /// Kills a consuming stage with SIGKILL (a crash: no flush, no commit).
    pub fn kill_stage(&mut self, stage: Binary) {
        if let Some(service) = self.slot(stage).take() {
            service.kill();
        }
    }

    /// Starts a fresh process of a consuming stage.
    pub fn start_stage(&mut self, stage: Binary) {
        let service = Service::start(stage, &self.vars, &self.tag);
        *self.slot(stage) = Some(service);
    }

    /// The edge's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Posts a JSON body to `path`, returning status and parsed body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let r = crate::http::send(
            self.http
                .post(format!("{}{path}", self.base_url))
                .json(body),
        )
        .await;
        Ok((r.status, r.body))
    }

    /// GETs `path`, returning status and parsed body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.get_as(path, None).await
    }

    /// Gets `path` with the API key `key` (`x-api-key`), if any.
    pub async fn get_as(&self, path: &str, key: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.get(format!("{}{path}", self.base_url));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let r = crate::http::send(req).await;
        Ok((r.status, r.body))
    }
}

/// A tracker hit for `site`, visitor fingerprint `fp`, session `sid`, that happened `ago_ms` before it is
/// sent (the client's `ts`/`st` pair: the edge sets its event time back by that much).
pub fn hit(site: &str, fp: &str, sid: &str, url: &str, ago_ms: i64, label: &str) -> Value {
    let st = crate::now_ms();
    serde_json::json!({
        "s": site, "u": url, "sid": sid, "ec": "interaction", "ea": "view", "el": label,
        "meta": { "fp": fp, "ts": st - ago_ms, "st": st }, "r": "https://www.google.com/"
    })
}
