//! The access matrix of `docs/access.md`, walked cell by cell through the real edge (with the real broker,
//! ClickHouse and Redis behind it): for every route and every kind of caller, the status class the table
//! promises; and that an outsider cannot tell a real site from a made-up one. The edges the table cannot
//! show are in `access_edges.rs`.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{create_site, grant_admin, new_key, sign_in};
use opsmantik_e2e::http::send;
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{hit, wait_for, Env, Pipeline};
use reqwest::Method;
use serde_json::{json, Value};

const MATRIX: &str = include_str!("../../docs/access.md");
const COLUMNS: [&str; 8] = [
    "anonymous",
    "key",
    "other key",
    "viewer",
    "editor",
    "owner",
    "other owner",
    "admin",
];

/// One row of the matrix.
#[derive(Debug)]
struct Row {
    method: Method,
    path: String,
    expected: Vec<String>,
}

fn rows() -> Vec<Row> {
    let start = MATRIX.find("<!-- access-matrix:start -->").unwrap();
    let end = MATRIX.find("<!-- access-matrix:end -->").unwrap();
    MATRIX[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let method = Method::from_bytes(cells.get(1)?.as_bytes()).ok()?;
            let upper = cells[1].bytes().all(|b| b.is_ascii_uppercase());
            if cells.len() != COLUMNS.len() + 4 || !upper {
                return None;
            }
            Some(Row {
                method,
                path: cells[2].to_string(),
                expected: cells[3..3 + COLUMNS.len()]
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            })
        })
        .collect()
}

/// A caller of the matrix.
#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    Key(String),
    User(String),
}

/// Site A with its members, site B with its owner, keys of both, an admin.
struct World {
    env: Env,
    p: Pipeline,
    inbox: Inbox,
    site_a: String,
    site_a_id: String,
    callers: Vec<Caller>,
    callflow_event: String,
}

impl World {
    async fn build(env: Env) -> anyhow::Result<Self> {
        let (smtp, inbox) = Inbox::start().await?;
        let p = Pipeline::start_with(&env, &[("SMTP_URL", smtp.as_str())]).await?;
        let owner = sign_in(&p, &inbox, "owner@a.example").await?;
        let site_a = create_site(&p, &owner, "site-a").await?;
        let other_owner = sign_in(&p, &inbox, "owner@b.example").await?;
        let site_b = create_site(&p, &other_owner, "site-b").await?;
        for (email, role) in [
            ("viewer@a.example", "viewer"),
            ("editor@a.example", "editor"),
        ] {
            let r = send(
                p.http
                    .post(p.url("/api/customers/invite"))
                    .bearer_auth(&owner)
                    .json(&json!({ "email": email, "site_id": site_a, "role": role })),
            )
            .await;
            assert_eq!(
                (r.status, r.body["outcome"].as_str()),
                (200, Some("membership_created")),
                "{}",
                r.body
            );
        }
        let viewer = sign_in(&p, &inbox, "viewer@a.example").await?;
        let editor = sign_in(&p, &inbox, "editor@a.example").await?;
        let admin = sign_in(&p, &inbox, "root@ops.example").await?;
        grant_admin(&env, "root@ops.example")?;
        let key_a = new_key(&p, &owner, &site_a, json!({})).await;
        let key_b = new_key(&p, &other_owner, &site_b, json!({})).await;
        let site_a_id = send(
            p.http
                .get(p.url(&format!("/api/sites/{site_a}")))
                .bearer_auth(&owner),
        )
        .await
        .body["site"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let callflow_event = landed_callflow_event(&p, &key_a).await?;
        let callers = vec![
            Caller::Anonymous,
            Caller::Key(key_a),
            Caller::Key(key_b),
            Caller::User(viewer),
            Caller::User(editor),
            Caller::User(owner),
            Caller::User(other_owner),
            Caller::User(admin),
        ];
        Ok(Self {
            env,
            p,
            inbox,
            site_a,
            site_a_id,
            callers,
            callflow_event,
        })
    }

    fn owner(&self) -> &str {
        match &self.callers[5] {
            Caller::User(t) => t,
            _ => unreachable!(),
        }
    }
}

/// A call-flow event of site A that has landed (so reading it by id is a real read).
async fn landed_callflow_event(p: &Pipeline, key: &str) -> anyhow::Result<String> {
    let body = json!({ "callId": "matrix-call", "eventType": "initiated", "timestamp": chrono::Utc::now().to_rfc3339() });
    let r = send(
        p.http
            .post(p.url("/callflow/events"))
            .header("x-api-key", key)
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["body"]["eventId"].as_str().unwrap().to_string();
    let url = p.url(&format!("/callflow/events/{id}"));
    wait_for(
        "the call-flow event in ClickHouse",
        Duration::from_secs(90),
        || async {
            let r = send(p.http.get(&url).header("x-api-key", key)).await;
            if r.status == 200 {
                Ok(())
            } else {
                Err(r.body.to_string())
            }
        },
    )
    .await?;
    Ok(id)
}

/// The request of `row` for the `n`-th call, with a body that makes sense for the route.
async fn request(w: &World, row: &Row, n: usize) -> anyhow::Result<reqwest::RequestBuilder> {
    let a = &w.site_a;
    let p = &w.p;
    let now = chrono::Utc::now();
    let (path, body): (String, Option<Value>) = match (row.method.as_str(), row.path.as_str()) {
        ("POST", "/api/sync") => (
            row.path.clone(),
            Some(hit(
                a,
                &format!("fp{n}"),
                &format!("s{n}"),
                "https://site-a.example/",
                0,
                "m",
            )),
        ),
        ("GET", "/api/sync") => ("/api/sync?diag=1".into(), None),
        ("POST", "/api/call-event") => (
            row.path.clone(),
            Some(
                json!({ "event_id": uuid::Uuid::new_v4().to_string(), "site_id": a, "phone_number": "+905550000000", "fingerprint": format!("fp{n}"), "action": "phone", "url": "https://site-a.example/contact" }),
            ),
        ),
        ("POST", "/api/call-event/v2") => return signed_call_event(w, n).await,
        ("POST", "/api/auth/request-code") => (
            row.path.clone(),
            Some(json!({ "email": format!("walker{n}@example.com") })),
        ),
        ("POST", "/api/auth/verify") => {
            let email = format!("verifier{n}@example.com");
            let r = send(
                p.http
                    .post(p.url("/api/auth/request-code"))
                    .json(&json!({ "email": email })),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            (
                row.path.clone(),
                Some(json!({ "email": email, "code": w.inbox.code_for(&email).unwrap() })),
            )
        }
        ("POST", "/api/auth/api-key") => (
            row.path.clone(),
            Some(json!({ "name": format!("k{n}"), "project_id": a })),
        ),
        ("POST", "/api/sites/create") => (
            row.path.clone(),
            Some(json!({ "name": format!("walk{n}"), "domain": format!("walk{n}.example") })),
        ),
        ("PATCH", "/api/sites/{id}") => {
            (format!("/api/sites/{a}"), Some(json!({ "name": "Site A" })))
        }
        ("DELETE", "/api/sites/{id}/keys/{key_id}") => {
            let key = new_key(p, w.owner(), a, json!({})).await;
            let key_id = &opsmantik_ingest::auth::sha256_hex(&key)[..16];
            (format!("/api/sites/{a}/keys/{key_id}"), None)
        }
        ("DELETE", "/api/sites/{id}/members/{user_id}") => {
            let r = send(p.http.post(p.url("/api/customers/invite")).bearer_auth(w.owner()).json(
                &json!({ "email": format!("leaver{n}@example.com"), "site_id": a, "role": "viewer" }),
            ))
            .await;
            let user = r.body["member"]["user_id"].as_str().unwrap().to_string();
            (format!("/api/sites/{a}/members/{user}"), None)
        }
        ("POST", "/api/customers/invite") => (
            row.path.clone(),
            Some(
                json!({ "email": format!("invitee{n}@example.com"), "site_id": a, "role": "viewer" }),
            ),
        ),
        ("POST", "/api/customers/invite-audit") => (row.path.clone(), Some(json!({ "siteId": a }))),
        ("GET", "/api/stats/realtime") => (format!("/api/stats/realtime?siteId={a}"), None),
        ("GET", "/api/calls") => (format!("/api/calls?siteId={a}"), None),
        ("GET", "/api/stats/reconcile") => (format!("/api/stats/reconcile?siteId={a}"), None),
        ("GET", "/api/sync/dlq/list") => (format!("/api/sync/dlq/list?siteDbId={a}"), None),
        ("POST", "/api/sync/dlq/replay") => (
            "/api/sync/dlq/replay?id=opsmantik.tracking.v1:0:0:nobody".into(),
            None,
        ),
        ("POST", "/api/intents/{id}/status") => (
            format!("/api/intents/{}/status", queued_call(w, n).await?),
            Some(json!({ "status": "qualified" })),
        ),
        ("POST", "/api/calls/{id}/seal") => (
            format!("/api/calls/{}/seal", queued_call(w, n).await?),
            Some(json!({ "sale_amount": 100 })),
        ),
        ("POST", "/api/jobs/auto-approve") => (row.path.clone(), Some(json!({ "siteId": a }))),
        ("GET", "/api/oci/export") | ("GET", "/api/oci/export-batch") => {
            (format!("{}?siteId={a}", row.path), None)
        }
        ("POST", "/api/v1/webhooks") => (row.path.clone(), Some(webhook_body())),
        ("GET", "/api/v1/webhooks") | ("GET", "/api/v1/rules") => {
            (format!("{}?project_id={a}", row.path), None)
        }
        ("GET", "/api/v1/webhooks/{id}")
        | ("DELETE", "/api/v1/webhooks/{id}")
        | ("GET", "/api/v1/webhooks/{id}/deliveries") => (
            row.path.replace(
                "{id}",
                &automation(w, "/api/v1/webhooks", webhook_body()).await,
            ),
            None,
        ),
        ("POST", "/api/v1/rules") => {
            let hook = automation(w, "/api/v1/webhooks", webhook_body()).await;
            (row.path.clone(), Some(rule_body(&hook)))
        }
        ("GET", "/api/v1/rules/{id}")
        | ("PATCH", "/api/v1/rules/{id}")
        | ("DELETE", "/api/v1/rules/{id}") => {
            let hook = automation(w, "/api/v1/webhooks", webhook_body()).await;
            let rule = automation(w, "/api/v1/rules", rule_body(&hook)).await;
            (
                row.path.replace("{id}", &rule),
                Some(json!({ "enabled": false })),
            )
        }
        ("POST", "/api/oci/ack") => (
            row.path.clone(),
            Some(json!({ "site_id": a, "call_ids": [] })),
        ),
        ("POST", "/api/v1/events") => (
            row.path.clone(),
            Some(json!({ "event_name": "matrix_walk" })),
        ),
        ("POST", "/api/v1/events/batch") => (
            row.path.clone(),
            Some(json!([{ "event_name": "matrix_walk" }])),
        ),
        ("GET", "/api/v1/analytics/events") => {
            (format!("/api/v1/analytics/events?project_id={a}"), None)
        }
        ("POST", "/callflow/events") => (
            row.path.clone(),
            Some(
                json!({ "callId": format!("walk-{n}"), "eventType": "initiated", "timestamp": now.to_rfc3339() }),
            ),
        ),
        ("GET", "/callflow/events/{event_id}") => {
            (format!("/callflow/events/{}", w.callflow_event), None)
        }
        ("GET", "/app/{file}") => ("/app/app.js".to_string(), None),
        (_, path) => (path.replace("{id}", a).replace("{site}", a), None),
    };
    let mut req = p.http.request(row.method.clone(), p.url(&path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    Ok(req)
}

fn webhook_body() -> Value {
    json!({ "url": "https://203.0.113.10/hook", "events": ["purchase_completed"], "secret": "matrix-secret" })
}

fn rule_body(webhook: &str) -> Value {
    json!({ "name": "big", "conditions": { "event_name": "purchase_completed" }, "actions": [{ "type": "webhook", "webhook_id": webhook }] })
}

/// A webhook or rule of site A created with A's key; its id.
async fn automation(w: &World, path: &str, body: Value) -> String {
    let Caller::Key(key) = &w.callers[1] else {
        unreachable!()
    };
    let r = send(
        w.p.http
            .post(w.p.url(path))
            .header("x-api-key", key)
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A fresh intent of site A in the call ledger, entered the way the overlay enters the call-matcher's calls.
async fn queued_call(w: &World, n: usize) -> anyhow::Result<String> {
    let call = opsmantik_schemas::CallRecord {
        call_id: format!("matrix-call-{n}"),
        version: 1,
        site: w.site_a.clone(),
        status: "intent".into(),
        created_at: opsmantik_e2e::now_ms(),
        ..Default::default()
    };
    opsmantik_runtime::call_ledger::absorb(&w.env.redis()?, std::slice::from_ref(&call)).await?;
    Ok(call.call_id)
}

/// A call event signed with site A's current secret (read from the store: rotations happen during the walk).
async fn signed_call_event(w: &World, n: usize) -> anyhow::Result<reqwest::RequestBuilder> {
    let site = opsmantik_ingest::sites::get(&w.env.redis()?, &w.site_a_id)
        .await?
        .unwrap();
    let body = json!({ "event_id": uuid::Uuid::new_v4().to_string(), "site_id": w.site_a, "phone_number": "+905550000001", "fingerprint": format!("fp{n}"), "action": "whatsapp", "url": "https://site-a.example/contact" }).to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = opsmantik_ingest::auth::signature::sign(&site.secret, &ts, body.as_bytes());
    Ok(w.p
        .http
        .post(w.p.url("/api/call-event/v2"))
        .header("content-type", "application/json")
        .header("x-ops-timestamp", ts)
        .header("x-ops-signature", sig)
        .body(body))
}

fn class(status: u16) -> String {
    if (200..300).contains(&status) {
        "2xx".into()
    } else {
        status.to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cell_of_the_access_matrix_answers_as_documented() -> anyhow::Result<()> {
    let w = World::build(Env::new("access_matrix").await?).await?;
    let rows = rows();
    assert!(rows.len() >= 30, "the matrix has {} rows", rows.len());
    let mut wrong = Vec::new();
    let mut n = 0;
    for row in &rows {
        for (column, caller) in COLUMNS.iter().zip(&w.callers) {
            n += 1;
            let mut req = request(&w, row, n).await?;
            req = match caller {
                Caller::Anonymous => req,
                Caller::Key(k) => req.header("x-api-key", k),
                Caller::User(t) => req.bearer_auth(t),
            };
            let r = send(req).await;
            let expected = &row.expected[COLUMNS.iter().position(|c| c == column).unwrap()];
            if &class(r.status) != expected {
                wrong.push(format!(
                    "{} {} as {column}: expected {expected}, got {} {}",
                    row.method, row.path, r.status, r.body
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {n} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // An outsider cannot tell a real site from a made-up one: the same status and body.
    let outsider = &w.callers[6];
    let Caller::User(t) = outsider else {
        unreachable!()
    };
    let real = send(
        w.p.http
            .get(w.p.url(&format!("/api/sites/{}", w.site_a)))
            .bearer_auth(t),
    )
    .await;
    let fake = send(
        w.p.http
            .get(w.p.url("/api/sites/0123456789abcdef0123456789abcdef"))
            .bearer_auth(t),
    )
    .await;
    assert_eq!((real.status, &real.body), (fake.status, &fake.body));
    let Caller::Key(key_b) = &w.callers[2] else {
        unreachable!()
    };
    let real = send(
        w.p.http
            .get(w.p.url(&format!("/api/sites/{}/status", w.site_a)))
            .header("x-api-key", key_b),
    )
    .await;
    let fake = send(
        w.p.http
            .get(w.p.url("/api/sites/s000000000000/status"))
            .header("x-api-key", key_b),
    )
    .await;
    assert_eq!((real.status, &real.body), (fake.status, &fake.body));

    drop(w.p);
    w.env.cleanup().await
}
