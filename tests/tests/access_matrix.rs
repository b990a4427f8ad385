//! The access matrix of `docs/access.md`, walked cell by cell through the real edge (with the real broker,
//! ClickHouse and Redis behind it): for every route and every kind of caller, the status class the table
//! promises. Plus the sharp edges of the access layer the table cannot show: session cookies and logout,
//! `bearer` in any case, scopes, revocation, rates only admins may grant, and that an outsider cannot tell
//! a real site from a made-up one.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{create_site, grant_admin, sign_in};
use opsmantik_e2e::http::{send, Reply};
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

/// Creates a key of `site` as `token`'s user with `extra` settings; returns it.
async fn new_key(p: &Pipeline, token: &str, site: &str, extra: Value) -> String {
    let r = key_request(p, token, site, extra).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]["apiKey"].as_str().unwrap().to_string()
}

async fn key_request(p: &Pipeline, token: &str, site: &str, extra: Value) -> Reply {
    let mut body = json!({ "name": "matrix", "project_id": site });
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    send(
        p.http
            .post(p.url("/api/auth/api-key"))
            .bearer_auth(token)
            .json(&body),
    )
    .await
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
        (_, path) => (path.replace("{id}", a).replace("{site}", a), None),
    };
    let mut req = p.http.request(row.method.clone(), p.url(&path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    Ok(req)
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

#[tokio::test(flavor = "multi_thread")]
async fn sessions_scopes_revocation_and_rates_hold() -> anyhow::Result<()> {
    let env = Env::new("access_edges").await?;
    let (smtp, inbox) = Inbox::start().await?;
    let p = Pipeline::start_with(&env, &[("SMTP_URL", smtp.as_str())]).await?;
    let owner = sign_in(&p, &inbox, "owner@edges.example").await?;
    let site = create_site(&p, &owner, "edges").await?;

    // The session cookie set by verify signs the dashboard in; logout ends it on the server.
    let r = send(
        p.http
            .post(p.url("/api/auth/request-code"))
            .json(&json!({ "email": "owner@edges.example" })),
    )
    .await;
    assert_eq!(r.status, 200);
    let code = inbox.code_for("owner@edges.example").unwrap();
    let r = send(
        p.http
            .post(p.url("/api/auth/verify"))
            .json(&json!({ "email": "owner@edges.example", "code": code })),
    )
    .await;
    let set_cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let mine = send(p.http.get(p.url("/api/sites")).header("cookie", &cookie)).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["sites"][0]["public_id"], site.as_str());
    assert_eq!(mine.body["sites"][0]["role"], "owner");
    let out = send(
        p.http
            .post(p.url("/api/auth/logout"))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(out.status, 200);
    assert!(out.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let after = send(p.http.get(p.url("/api/sites")).header("cookie", &cookie)).await;
    assert_eq!(
        after.status, 401,
        "the ended session no longer works: {}",
        after.body
    );

    // `bearer` in lower case works for JWTs as for keys.
    let r = send(
        p.http
            .get(p.url("/api/auth/me"))
            .header("authorization", format!("bearer {owner}")),
    )
    .await;
    assert_eq!(
        (r.status, r.body["data"]["email"].as_str()),
        (200, Some("owner@edges.example"))
    );

    // A key without the `read` scope may write but not read; the refusal names the scope.
    let ingest_only = new_key(&p, &owner, &site, json!({ "scopes": ["ingest"] })).await;
    let r = send(
        p.http
            .post(p.url("/api/v1/events"))
            .header("x-api-key", &ingest_only)
            .json(&json!({ "event_name": "a" })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        p.http
            .get(p.url(&format!("/api/sites/{site}/status")))
            .header("x-api-key", &ingest_only),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body.to_string().contains("`read` scope"), "{}", r.body);
    let r = key_request(&p, &owner, &site, json!({ "scopes": ["write"] })).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    // Rates above the default, or unlimited, are an admin's decision.
    for rate in [0, 5000] {
        let r = key_request(&p, &owner, &site, json!({ "rate_limit_per_minute": rate })).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "rate {rate}: {}",
            r.body
        );
    }
    let admin = sign_in(&p, &inbox, "root@edges.example").await?;
    grant_admin(&env, "root@edges.example")?;
    let r = key_request(&p, &admin, &site, json!({ "rate_limit_per_minute": 5000 })).await;
    assert_eq!(
        (r.status, r.body["data"]["rateLimitPerMinute"].as_u64()),
        (200, Some(5000)),
        "{}",
        r.body
    );

    // Listing shows ids, names, prefixes and scopes, never the key; revoking stops the key.
    let listed = send(
        p.http
            .get(p.url(&format!("/api/sites/{site}/keys")))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(listed.status, 200);
    assert!(
        !listed.body.to_string().contains(&ingest_only),
        "a key is never listed"
    );
    let entry = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == json!(["ingest"]))
        .unwrap()
        .clone();
    assert_eq!(entry["prefix"].as_str().unwrap(), &ingest_only[..8]);
    let url = p.url(&format!(
        "/api/sites/{site}/keys/{}",
        entry["id"].as_str().unwrap()
    ));
    assert_eq!(
        send(p.http.delete(&url).bearer_auth(&owner)).await.status,
        200
    );
    assert_eq!(
        send(p.http.delete(&url).bearer_auth(&owner)).await.status,
        404,
        "already revoked"
    );
    let r = send(
        p.http
            .post(p.url("/api/v1/events"))
            .header("x-api-key", &ingest_only)
            .json(&json!({ "event_name": "a" })),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_api_key")),
        "{}",
        r.body
    );

    // The members list names them; the last owner can neither leave nor be demoted.
    let members = send(
        p.http
            .get(p.url(&format!("/api/sites/{site}/members")))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(
        members.body["members"][0]["email"], "owner@edges.example",
        "{}",
        members.body
    );
    let owner_id = members.body["members"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let url_self = p.url(&format!("/api/sites/{site}/members/{owner_id}"));
    let r = send(p.http.delete(&url_self).bearer_auth(&owner)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (409, Some("last_owner"))
    );
    let demote = json!({ "email": "owner@edges.example", "site_id": site, "role": "viewer" });
    let r = send(
        p.http
            .post(p.url("/api/customers/invite"))
            .bearer_auth(&owner)
            .json(&demote),
    )
    .await;
    assert_eq!(r.status, 409);

    // Rotating the secret answers the new one once; the old one stays valid for the grace period.
    let r = send(
        p.http
            .post(p.url(&format!("/api/sites/{site}/rotate-secret")))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["secret"].as_str().unwrap().len(), 64);
    assert!(r.body["previous_secret_valid_until"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let r = send(
        p.http
            .get(p.url(&format!("/api/sites/{site}")))
            .bearer_auth(&owner),
    )
    .await;
    assert!(r.body["site"].get("secret").is_none(), "never shown again");

    // Every control action is in the audit log in ClickHouse.
    wait_for("audit rows", Duration::from_secs(90), || async {
        let actions = env
            .ch()
            .query("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .fetch_all::<String>()
            .await
            .map_err(|e| e.to_string())?;
        let want = [
            "admin_granted",
            "key_created",
            "key_revoked",
            "secret_rotated",
            "site_created",
        ];
        if want.iter().all(|a| actions.iter().any(|x| x == a)) {
            Ok(())
        } else {
            Err(format!("{actions:?}"))
        }
    })
    .await?;

    drop(p);
    env.cleanup().await
}
