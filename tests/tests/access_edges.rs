//! The sharp edges of the access layer that the matrix (`access_matrix.rs`) cannot show: session cookies
//! and logout, `bearer` in any case, scopes, revocation, rates only admins may grant, the last owner, secret
//! rotation, and the audit log in ClickHouse — through the real edge, broker, sink, ClickHouse and Redis.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::accounts::{create_site, grant_admin, key_request, new_key, sign_in};
use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::smtp::Inbox;
use opsmantik_e2e::{wait_for, Env, Pipeline};
use serde_json::json;

/// `method path` as the signed-in user of `token`.
async fn as_user(p: &Pipeline, method: reqwest::Method, path: &str, token: &str) -> Reply {
    send(p.http.request(method, p.url(path)).bearer_auth(token)).await
}

/// Waits until `audit_log` in ClickHouse holds every one of `actions`.
async fn audited(env: &Env, actions: &[&str]) -> anyhow::Result<()> {
    wait_for("audit rows", Duration::from_secs(90), || async {
        let seen = env
            .ch()
            .query("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .fetch_all::<String>()
            .await
            .map_err(|e| e.to_string())?;
        if actions.iter().all(|a| seen.iter().any(|x| x == a)) {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await
}

/// A pipeline with a mail catcher, a signed-in owner and the owner's site.
async fn owner_and_site(test: &str) -> anyhow::Result<(Env, Pipeline, Inbox, String, String)> {
    let env = Env::new(test).await?;
    let (smtp, inbox) = Inbox::start().await?;
    let p = Pipeline::start_with(&env, &[("SMTP_URL", smtp.as_str())]).await?;
    let owner = sign_in(&p, &inbox, "owner@edges.example").await?;
    let site = create_site(&p, &owner, "edges").await?;
    Ok((env, p, inbox, owner, site))
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_sessions_end_at_logout_and_bearer_works_in_any_case() -> anyhow::Result<()> {
    let (env, p, inbox, owner, site) = owner_and_site("access_sessions").await?;
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

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_admin_only_rates_listing_and_revocation() -> anyhow::Result<()> {
    let (env, p, inbox, owner, site) = owner_and_site("access_keys").await?;
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
    let listed = as_user(
        &p,
        reqwest::Method::GET,
        &format!("/api/sites/{site}/keys"),
        &owner,
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
    assert!(
        entry["last_used_at"].is_string(),
        "the key was used: {entry}"
    );
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
    audited(&env, &["admin_granted", "key_created", "key_revoked"]).await?;

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn members_invites_secret_rotation_and_their_audit() -> anyhow::Result<()> {
    let (env, p, _inbox, owner, site) = owner_and_site("access_site").await?;
    // The members list names them; the last owner can neither leave nor be demoted.
    let members = as_user(
        &p,
        reqwest::Method::GET,
        &format!("/api/sites/{site}/members"),
        &owner,
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
    let r = as_user(
        &p,
        reqwest::Method::POST,
        &format!("/api/sites/{site}/rotate-secret"),
        &owner,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["secret"].as_str().unwrap().len(), 64);
    assert!(r.body["previous_secret_valid_until"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let r = as_user(
        &p,
        reqwest::Method::GET,
        &format!("/api/sites/{site}"),
        &owner,
    )
    .await;
    assert!(r.body["site"].get("secret").is_none(), "never shown again");

    // Invitations: 20 an hour per inviter and site (the refused demotion above was one); every attempt is in
    // the site's invite log with its outcome.
    let mut accepted = 0;
    let limited = loop {
        let body = json!({ "email": format!("guest{accepted}@edges.example"), "site_id": site });
        let r = send(
            p.http
                .post(p.url("/api/customers/invite"))
                .bearer_auth(&owner)
                .json(&body),
        )
        .await;
        if r.status == 429 {
            break r;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        accepted += 1;
        assert!(accepted <= 20, "no limit");
    };
    assert_eq!(accepted, 19);
    assert_eq!(limited.body["error"], "rate_limited");
    assert!(limited.headers["retry-after"].to_str()?.parse::<u64>()? > 60);
    let audit = |query: serde_json::Value| {
        let req = p
            .http
            .post(p.url("/api/customers/invite-audit"))
            .bearer_auth(&owner)
            .json(&query);
        async move { send(req).await }
    };
    let r = audit(json!({ "siteId": site, "outcome": "rate_limited_actor" })).await;
    assert_eq!(r.body["audit"]["total"], 1, "{}", r.body);
    // guest1 and guest10–guest19 (the last one refused), newest first, five a page.
    let r = audit(json!({ "siteId": site, "emailQuery": "guest1", "limit": 5 })).await;
    assert_eq!(r.body["audit"]["total"], 11, "{}", r.body);
    let rows = r.body["audit"]["rows"].as_array().unwrap();
    assert_eq!(
        (rows.len(), rows[0]["email"].as_str()),
        (5, Some("guest19@edges.example"))
    );
    assert_eq!(rows[0]["outcome"], "rate_limited_actor");
    assert_eq!(rows[1]["outcome"], "membership_created");
    let r = audit(json!({ "siteId": site, "limit": 500 })).await;
    assert_eq!(r.status, 400, "limit is 1 to 200");
    audited(&env, &["member_invited", "secret_rotated", "site_created"]).await?;

    drop(p);
    env.cleanup().await
}
