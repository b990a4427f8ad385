//! Accounts through the real edge: sign in with the mailed code, create sites, grant admins with the CLI.

use serde_json::{json, Value};

use crate::http::{send, Reply};
use crate::smtp::Inbox;
use crate::{run_to_end, Binary, Env, Pipeline};

/// Signs `email` in (code by mail to `inbox`); returns the JWT.
pub async fn sign_in(p: &Pipeline, inbox: &Inbox, email: &str) -> anyhow::Result<String> {
    let r = send(
        p.http
            .post(p.url("/api/auth/request-code"))
            .json(&json!({ "email": email })),
    )
    .await;
    anyhow::ensure!(r.status == 200, "request-code: {} {}", r.status, r.body);
    let said = format!("Verification code sent to {email}");
    anyhow::ensure!(
        r.body["data"]["message"] == said.as_str(),
        "request-code said {}",
        r.body
    );
    let code = inbox
        .code_for(email)
        .ok_or_else(|| anyhow::anyhow!("no code mailed to {email}"))?;
    let r = send(
        p.http
            .post(p.url("/api/auth/verify"))
            .json(&json!({ "email": email, "code": code })),
    )
    .await;
    anyhow::ensure!(r.status == 200, "verify: {} {}", r.status, r.body);
    Ok(r.body["data"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Creates a site as the user of `token` (its owner); returns the public id.
pub async fn create_site(p: &Pipeline, token: &str, name: &str) -> anyhow::Result<String> {
    let r = send(
        p.http
            .post(p.url("/api/sites/create"))
            .bearer_auth(token)
            .json(&json!({ "name": name, "domain": format!("https://{name}.example/landing") })),
    )
    .await;
    anyhow::ensure!(r.status == 201, "create site: {} {}", r.status, r.body);
    // The domain is cut to its host name.
    let domain = format!("{name}.example");
    anyhow::ensure!(
        r.body["site"]["domain"] == domain.as_str(),
        "create site: {}",
        r.body
    );
    Ok(r.body["site"]["public_id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Makes `email` a global admin with `opsmantik-admin users grant-admin` (the only way there is).
pub fn grant_admin(env: &Env, email: &str) -> anyhow::Result<()> {
    let (ok, out) = run_to_end(Binary::Admin, &env.vars(), &["users", "grant-admin", email]);
    anyhow::ensure!(ok && out.contains("ADMIN"), "grant-admin failed: {out}");
    Ok(())
}

/// Creates a key of `site` as `token`'s user with `extra` settings; returns it.
pub async fn new_key(p: &Pipeline, token: &str, site: &str, extra: Value) -> String {
    let r = key_request(p, token, site, extra).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub async fn key_request(p: &Pipeline, token: &str, site: &str, extra: Value) -> Reply {
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
