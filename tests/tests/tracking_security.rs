//! The tracking endpoints' guards through the real edge: sites, fail-closed CORS, call events matched from
//! the visitor index, signatures, stale and replayed signatures; and the sites command line.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::http::{send, Reply};
use opsmantik_e2e::{hit, run_to_end, wait_for, Binary, Env, Pipeline};
use opsmantik_ingest::auth::signature::sign;
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example";
const GLOBAL: &str = "https://global.example";
const MIN: i64 = 60_000;

async fn sync_from(p: &Pipeline, origin: Option<&str>, body: &Value) -> Reply {
    let mut req = p.http.post(p.url("/api/sync")).json(body);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    send(req).await
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_is_fail_closed_per_site() -> anyhow::Result<()> {
    let env = Env::new("cors").await?;
    let a = env.create_site("a", &[SHOP]).await?.public_id;
    let _b = env.create_site("b", &["https://b.example"]).await?;
    let p = Pipeline::start_with(&env, &[("ALLOWED_ORIGINS", GLOBAL)]).await?;
    let body = json!({ "s": a, "u": "https://shop.example/", "sid": "S" });

    let ok = sync_from(&p, Some(SHOP), &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.headers["access-control-allow-origin"], SHOP);
    assert_eq!(ok.headers["vary"], "Origin");
    assert_eq!(
        ok.headers["access-control-expose-headers"], "Retry-After",
        "trackers can read how long to back off"
    );
    assert_eq!(
        sync_from(&p, Some(GLOBAL), &body).await.status,
        200,
        "the global list is allowed for every site"
    );
    assert_eq!(
        sync_from(&p, None, &body).await.status,
        200,
        "no Origin: not a browser cross-origin request"
    );
    for denied in ["https://evil.example", "https://b.example"] {
        let r = sync_from(&p, Some(denied), &body).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (403, Some("origin_not_allowed")),
            "{denied}"
        );
        assert!(
            !r.headers.contains_key("access-control-allow-origin"),
            "{denied}"
        );
    }

    let preflight = |origin: &str| {
        send(
            p.http
                .request(reqwest::Method::OPTIONS, p.url("/api/sync"))
                .header("origin", origin)
                .header("access-control-request-method", "POST"),
        )
    };
    let r = preflight(SHOP).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["access-control-allow-origin"], SHOP);
    assert!(r.headers["access-control-allow-methods"]
        .to_str()?
        .contains("POST"));
    let r = preflight("https://evil.example").await;
    assert_eq!(r.status, 403);
    assert!(!r.headers.contains_key("access-control-allow-origin"));

    let r = sync_from(
        &p,
        Some(SHOP),
        &json!({ "s": "nope", "u": "x", "sid": "S" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("unknown_site"))
    );
    assert_eq!(send(p.http.get(p.url("/api/sync"))).await.status, 405);
    assert_eq!(send(p.http.put(p.url("/api/sync"))).await.status, 405);
    let diag = send(
        p.http
            .get(p.url("/api/sync?diag=1"))
            .header("x-vercel-ip-country", "de")
            .header("cf-ipcountry", "TR"),
    )
    .await;
    assert_eq!(diag.status, 200);
    assert_eq!(diag.body["geo"], "TR");
    assert_eq!(
        diag.body["headers_present"],
        json!(["cf-ipcountry", "x-vercel-ip-country"])
    );

    drop(p);
    env.cleanup().await
}

fn click(site: &str, fp: &str, action: &str) -> Value {
    json!({ "event_id": uuid::Uuid::new_v4().to_string(), "site_id": site, "phone_number": "+905550000000",
        "fingerprint": fp, "action": action, "url": "https://shop.example/contact" })
}

#[tokio::test(flavor = "multi_thread")]
async fn call_events_match_recent_sessions_and_a_resent_signed_request_is_a_noop(
) -> anyhow::Result<()> {
    let env = Env::new("calls").await?;
    let site = env.create_site("calls", &[SHOP]).await?;
    let s = site.public_id.as_str();
    let p = Pipeline::start(&env).await?;

    // A visitor whose last page was 10 minutes ago, and one whose last page was 45 minutes ago.
    assert_eq!(
        p.post(
            "/api/sync",
            &hit(s, "recent", "S1", "https://shop.example/", 10 * MIN, "p")
        )
        .await?
        .0,
        200
    );
    assert_eq!(
        p.post(
            "/api/sync",
            &hit(s, "stale", "S2", "https://shop.example/", 45 * MIN, "p")
        )
        .await?
        .0,
        200
    );
    let matched = wait_for("the visitor index", Duration::from_secs(60), || async {
        let (_, body) = p
            .post("/api/call-event", &click(s, "recent", "whatsapp"))
            .await
            .map_err(|e| e.to_string())?;
        if body["status"] == "matched" {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    })
    .await?;
    assert_eq!(matched["session_id"], "S1");
    assert!(matched["lead_score"].is_number());
    let (_, late) = p
        .post("/api/call-event", &click(s, "stale", "phone"))
        .await?;
    assert_eq!(
        late,
        json!({ "status": "unmatched" }),
        "a click 45 minutes after the last page"
    );
    let (_, nobody) = p
        .post("/api/call-event", &click(s, "never-seen", "phone"))
        .await?;
    assert_eq!(nobody["status"], "unmatched");
    // The call-matcher's records land in ClickHouse: matched to S1, or unmatched.
    wait_for("call records", Duration::from_secs(60), || async {
        let count = |sql: &'static str| env.count(sql);
        let matched = count(
            "SELECT count() FROM calls FINAL WHERE session_id = 'S1' AND action = 'whatsapp'",
        )
        .await
        .map_err(|e| e.to_string())?;
        let unmatched =
            count("SELECT count() FROM calls FINAL WHERE visitor = 'stale' AND session_id = ''")
                .await
                .map_err(|e| e.to_string())?;
        if matched >= 1 && unmatched == 1 {
            Ok(())
        } else {
            Err(format!("matched={matched} unmatched={unmatched}"))
        }
    })
    .await?;
    let (status, bad) = p
        .post("/api/call-event", &click(s, "recent", "fax"))
        .await?;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );

    // v2: signed with the site secret over "<timestamp>.<body>"; the timestamp in `X-Ops-Ts` (the OpsMantik
    // tracker's header; `X-Ops-Timestamp` is accepted too, see the matrix test).
    let v2 = |body: String, ts: Option<String>, sig: Option<String>| {
        let mut req = p
            .http
            .post(p.url("/api/call-event/v2"))
            .header("content-type", "text/plain")
            .header("x-ops-site-id", s)
            .body(body);
        if let Some(t) = ts {
            req = req.header("x-ops-ts", t);
        }
        if let Some(s) = sig {
            req = req.header("x-ops-signature", s);
        }
        send(req)
    };
    let body = click(s, "recent", "phone").to_string();
    let now = (chrono::Utc::now().timestamp()).to_string();
    let good = sign(&site.secret, &now, body.as_bytes());
    let r = v2(body.clone(), None, None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("missing_signature"))
    );
    let r = v2(
        body.clone(),
        Some(now.clone()),
        Some(sign("wrong secret", &now, body.as_bytes())),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );
    let old = (chrono::Utc::now().timestamp() - 600).to_string();
    let r = v2(
        body.clone(),
        Some(old.clone()),
        Some(sign(&site.secret, &old, body.as_bytes())),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("stale_signature"))
    );
    let r = v2(body.clone(), Some(now.clone()), Some(good.clone())).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("matched")),
        "{}",
        r.body
    );
    // The same signed request again — in any spelling of the signature — is a retry: 200 noop, nothing new.
    for again in [good.clone(), good.to_uppercase(), format!("sha256={good}")] {
        let r = v2(body.clone(), Some(now.clone()), Some(again)).await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (200, Some("noop")),
            "{}",
            r.body
        );
        assert_eq!(r.body["session_id"], "S1");
    }
    let other_site = p
        .http
        .post(p.url("/api/call-event/v2"))
        .header("x-ops-site-id", "someone-else")
        .header("x-ops-ts", now.clone())
        .header("x-ops-signature", good.clone())
        .body(body)
        .send()
        .await?;
    assert_eq!(
        other_site.status().as_u16(),
        401,
        "X-Ops-Site-Id must name the body's site"
    );

    // A site that requires signed call events refuses the unsigned route.
    let mut strict = site.clone();
    strict.require_signed_calls = true;
    opsmantik_ingest::sites::save(&env.redis()?, &strict).await?;
    wait_for(
        "the site setting at the edge",
        Duration::from_secs(10),
        || async {
            let (status, body) = p
                .post("/api/call-event", &click(s, "recent", "phone"))
                .await
                .map_err(|e| e.to_string())?;
            if (status, body["error"]["code"].as_str()) == (401, Some("signature_required")) {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
    .await?;

    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sites_command_creates_and_lists_without_showing_secrets() -> anyhow::Result<()> {
    let prefix = format!("e2e_sites_{}:", uuid::Uuid::new_v4().simple());
    let vars = vec![
        ("REDIS_URL".to_string(), opsmantik_e2e::redis_url()),
        ("REDIS_KEY_PREFIX".to_string(), prefix),
    ];
    let (ok, out) = run_to_end(
        Binary::Admin,
        &vars,
        &[
            "sites",
            "create",
            "--name",
            "Shop",
            "--domain",
            "shop.example",
            "--origin",
            SHOP,
        ],
    );
    assert!(ok, "{out}");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap().to_string())
            .unwrap()
    };
    let (public_id, secret) = (field("public_id:"), field("secret:"));
    assert_eq!(secret.len(), 64);
    let (ok, listed) = run_to_end(Binary::Admin, &vars, &["sites", "list"]);
    assert!(ok);
    assert!(
        listed.contains(&public_id) && listed.contains("Europe/Istanbul") && listed.contains(SHOP)
    );
    assert!(!listed.contains(&secret), "list never shows the secret");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_moves_site_records_of_older_versions_to_their_hash_tagged_keys() -> anyhow::Result<()>
{
    let env = Env::new("site_keys").await?;
    let site = env.create_site("old", &[]).await?;
    // Put the record where versions before the `{id}` hash tag kept it.
    let store = env.redis()?;
    let mut c = store.conn().await?;
    let new_key = store.key(&["site", &format!("{{{}}}", site.id)]);
    let _: () = redis::cmd("RENAME")
        .arg(&new_key)
        .arg(store.key(&["site", &site.id]))
        .query_async(&mut c)
        .await?;
    assert!(opsmantik_ingest::sites::list(&store).await?.is_empty());
    let (ok, out) = run_to_end(Binary::Admin, &env.vars(), &["setup"]);
    assert!(ok && out.contains("hash-tagged keys: 1"), "{out}");
    assert_eq!(opsmantik_ingest::sites::list(&store).await?, vec![site]);
    let (ok, out) = run_to_end(Binary::Admin, &env.vars(), &["setup"]);
    assert!(
        ok && out.contains("hash-tagged keys: 0"),
        "idempotent: {out}"
    );
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn per_ip_limits_are_shared_by_every_edge() -> anyhow::Result<()> {
    let env = Env::new("ip_limit").await?;
    let site = env.create_site("limits", &[]).await?.public_id;
    let p = Pipeline::start_with(&env, &[("RATE_LIMIT_SYNC_PER_MINUTE", "10")]).await?;
    let (_edge2, base2) = p.start_extra_edge().await?;
    // Counts live in one-minute windows: stay clear of a window boundary.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let body = hit(&site, "fp", "S", "https://shop.example/", 0, "x");
    for _ in 0..6 {
        assert_eq!(p.post("/api/sync", &body).await?.0, 200);
    }
    // The second edge sees this client once; from its next sync (every second) it knows the global count.
    let first = send(p.http.post(format!("{base2}/api/sync")).json(&body)).await;
    assert_eq!(first.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut allowed = 0;
    let mut limited = None;
    for _ in 0..10 {
        let r = send(p.http.post(format!("{base2}/api/sync")).json(&body)).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
        allowed += 1;
    }
    assert_eq!(
        allowed, 3,
        "the second edge knows the first one's 6 requests: 7 used, 3 left"
    );
    let r = limited.unwrap();
    assert_eq!(r.body["error"]["code"], "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry));
    drop(p);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_realtime_overlay_and_site_status_show_today() -> anyhow::Result<()> {
    let env = Env::new("realtime").await?;
    let (site, key) = env.site_with_key("realtime").await?;
    let (other, other_key) = env.site_with_key("other").await?;
    let (site, other) = (site.public_id, other.public_id);
    let p = Pipeline::start(&env).await?;

    let mut conversion = hit(&site, "v1", "S1", "https://shop.example/contact", 0, "call");
    conversion["ec"] = json!("conversion");
    conversion["ea"] = json!("phone");
    for h in [
        hit(&site, "v1", "S1", "https://shop.example/", MIN, "a"),
        conversion,
        hit(&site, "v2", "S2", "https://shop.example/", 0, "b"),
    ] {
        assert_eq!(p.post("/api/sync", &h).await?.0, 200);
    }
    let url = format!("/api/stats/realtime?siteId={site}");
    let today = wait_for("the realtime overlay", Duration::from_secs(60), || async {
        let r = send(p.http.get(p.url(&url)).header("x-api-key", &key)).await;
        let d = &r.body["data"];
        if (
            d["events"].as_u64(),
            d["sessions"].as_u64(),
            d["conversions"].as_u64(),
        ) == (Some(3), Some(2), Some(1))
        {
            Ok(d.clone())
        } else {
            Err(r.body.to_string())
        }
    })
    .await?;
    assert_eq!(today["timeZone"], "Europe/Istanbul");
    // The conversion click became an intent, then a call matched to its session.
    wait_for(
        "the conversion click as a matched call",
        Duration::from_secs(60),
        || async {
            let r = send(p.http.get(p.url(&url)).header("x-api-key", &key)).await;
            let d = &r.body["data"];
            if (d["calls"].as_u64(), d["matched_calls"].as_u64()) == (Some(1), Some(1)) {
                Ok(())
            } else {
                Err(r.body.to_string())
            }
        },
    )
    .await?;

    // Another tenant's key learns nothing: the same 404 as for a site that does not exist.
    let r = send(p.http.get(p.url(&url)).header("x-api-key", &other_key)).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let r = send(
        p.http
            .get(p.url("/api/stats/realtime?siteId=no-such-site"))
            .header("x-api-key", &other_key),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(
        p.http
            .get(p.url("/api/stats/realtime"))
            .header("x-api-key", &key),
    )
    .await;
    assert_eq!(r.status, 400);

    let status = wait_for("the site status", Duration::from_secs(60), || async {
        let r = send(
            p.http
                .get(p.url(&format!("/api/sites/{site}/status")))
                .header("x-api-key", &key),
        )
        .await;
        if r.body["data"]["receiving"] == true && !r.body["data"]["lastSession"].is_null() {
            Ok(r.body)
        } else {
            Err(r.body.to_string())
        }
    })
    .await?;
    assert!(status["data"]["lastEventAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // The seed-era fields: every hit came from Google (no UTM), so that is the last session's source.
    let d = &status["data"];
    assert_eq!(d["status"], "Receiving events");
    assert_eq!(d["site_id"], site.as_str());
    assert_eq!(d["last_event_at"], d["lastEventAt"]);
    assert_eq!(d["last_session_id"], d["lastSession"]["sessionId"]);
    assert_eq!(d["last_source"], "https://www.google.com/");
    let category = d["last_event_category"].as_str().unwrap_or_default();
    assert!(["interaction", "conversion"].contains(&category), "{d}");
    let quiet = send(
        p.http
            .get(p.url(&format!("/api/sites/{other}/status")))
            .header("x-api-key", &other_key),
    )
    .await;
    assert_eq!(
        (
            quiet.body["data"]["receiving"].as_bool(),
            quiet.body["data"]["lastSession"].is_null()
        ),
        (Some(false), true)
    );
    assert_eq!(quiet.body["data"]["status"], "No traffic yet");
    assert!(quiet.body["data"]["last_event_category"].is_null());

    drop(p);
    env.cleanup().await
}
