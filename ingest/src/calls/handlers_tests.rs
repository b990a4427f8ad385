//! The call queue in process: the router over the in-memory ledger and publisher.

use opsmantik_runtime::accounts::Role;
use opsmantik_runtime::sites::Site;
use opsmantik_schemas::{decode, CallRecord};
use serde_json::{json, Value};

use super::store::SessionFacts;
use crate::app::test_client::{Reply, TestApp};
use crate::auth::keys::Scope;

const HOUR: i64 = 3_600_000;

fn intent(site: &Site, id: &str, age_ms: i64, session: Option<&str>) -> CallRecord {
    let at = opsmantik_runtime::now_ms() - age_ms;
    CallRecord {
        call_id: id.into(),
        version: 1,
        site: site.public_id.clone(),
        status: "intent".into(),
        session_id: session.map(String::from),
        phone_number: "+905550000000".into(),
        action: "phone".into(),
        lead_score: 40,
        created_at: at,
        updated_at: at,
        ..CallRecord::default()
    }
}

struct Desk {
    app: TestApp,
    site: Site,
    editor: String,
    viewer: String,
}

fn desk() -> Desk {
    let app = TestApp::new();
    let site = app.site("shop");
    let editor = app
        .memory
        .auth
        .add_member(&site, "ed@shop.example", Role::Editor);
    let viewer = app
        .memory
        .auth
        .add_member(&site, "vi@shop.example", Role::Viewer);
    Desk {
        app,
        site,
        editor,
        viewer,
    }
}

impl Desk {
    async fn as_(&self, cookie: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.app
            .send(method, path, &[("cookie", cookie)], body)
            .await
    }

    fn published(&self) -> Vec<CallRecord> {
        self.app
            .published("calls.v1")
            .iter()
            .map(|r| decode(&r.payload).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn an_editor_seals_an_intent_once_and_the_queue_shows_it_at_once() {
    let d = desk();
    d.app
        .memory
        .calls
        .absorb(intent(&d.site, "c1", HOUR, Some("s1")));
    d.app.memory.calls.add_session(
        "shop",
        SessionFacts {
            session_id: "s1".into(),
            entry_url: "https://shop.example/?gclid=G".into(),
            gclid: "G".into(),
            ..SessionFacts::default()
        },
    );
    let seal = json!({ "sale_amount": 1500, "currency": "TRY" });
    let r = d
        .as_(&d.editor, "POST", "/api/calls/c1/seal", Some(seal.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["call"]["status"].as_str(),
            r.body["call"]["sale_amount"].as_f64(),
            r.body["call"]["currency"].as_str()
        ),
        (Some("confirmed"), Some(1500.0), Some("TRY"))
    );
    let again = d
        .as_(&d.editor, "POST", "/api/calls/c1/seal", Some(seal))
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["error"].as_str()),
        (409, Some("not_an_intent"))
    );
    let queue = d
        .as_(&d.viewer, "GET", "/api/calls?siteId=shop", None)
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let call = &queue.body["calls"][0];
    assert_eq!(
        (call["status"].as_str(), call["version"].as_i64()),
        (Some("confirmed"), Some(2))
    );
    assert_eq!(
        call["session"]["entry_url"],
        "https://shop.example/?gclid=G"
    );
    let published = d.published();
    assert_eq!(published.len(), 1, "one new version on the calls topic");
    assert_eq!(
        (published[0].version, published[0].oci_status.as_deref()),
        (2, Some("sealed"))
    );
    assert!(!d.app.published("audit.v1").is_empty(), "audited");
}

#[tokio::test]
async fn viewers_and_keys_may_not_work_the_queue_and_outsiders_see_no_call() {
    let d = desk();
    d.app.memory.calls.absorb(intent(&d.site, "c1", HOUR, None));
    let body = Some(json!({ "status": "junk" }));
    let viewer = d
        .as_(&d.viewer, "POST", "/api/intents/c1/status", body.clone())
        .await;
    assert_eq!(viewer.status, 403);
    let key = d.app.memory.auth.add_key(&d.site, &Scope::ALL);
    let by_key = d
        .app
        .with_key("POST", "/api/intents/c1/status", &key, body.clone())
        .await;
    assert_eq!(by_key.status, 403);
    let other = d.app.site("other");
    let outsider = d
        .app
        .memory
        .auth
        .add_member(&other, "boss@other.example", Role::Owner);
    let r = d
        .as_(&outsider, "POST", "/api/intents/c1/status", body.clone())
        .await;
    let unknown = d
        .as_(&outsider, "POST", "/api/intents/nope/status", body)
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body),
        (404, &unknown.body),
        "the same 404 as for no call"
    );
    assert!(d.published().is_empty());
}

#[tokio::test]
async fn statuses_are_checked_and_a_stale_version_is_a_conflict_with_the_current_one() {
    let d = desk();
    d.app.memory.calls.absorb(intent(&d.site, "c1", HOUR, None));
    let bad = d
        .as_(
            &d.editor,
            "POST",
            "/api/intents/c1/status",
            Some(json!({ "status": "won" })),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .contains("Invalid status"),
        "{}",
        bad.body
    );
    let first = json!({ "status": "qualified", "lead_score": 80, "version": 1 });
    let ok = d
        .as_(
            &d.editor,
            "POST",
            "/api/intents/c1/status",
            Some(first.clone()),
        )
        .await;
    assert_eq!(
        (ok.status.as_u16(), ok.body["success"].as_bool()),
        (200, Some(true)),
        "{}",
        ok.body
    );
    assert!(ok.body["call"]["confirmed_at"].is_string());
    let stale = d
        .as_(&d.editor, "POST", "/api/intents/c1/status", Some(first))
        .await;
    assert_eq!(
        (
            stale.status.as_u16(),
            stale.body["error"].as_str(),
            stale.body["current_version"].as_i64()
        ),
        (409, Some("CONCURRENCY_CONFLICT"), Some(2))
    );
    let score = json!({ "status": "junk", "lead_score": 101 });
    assert_eq!(
        d.as_(&d.editor, "POST", "/api/intents/c1/status", Some(score))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn the_export_gives_todays_sealed_calls_once_and_counts_those_without_click_ids() {
    let d = desk();
    for (id, gclid) in [("c1", Some("G1")), ("c2", None)] {
        let mut c = intent(&d.site, id, HOUR, None);
        c.gclid = gclid.map(String::from);
        d.app.memory.calls.absorb(c);
        let r = d
            .as_(
                &d.editor,
                "POST",
                &format!("/api/calls/{id}/seal"),
                Some(json!({ "sale_amount": 1500 })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let key = d.app.memory.auth.add_key(&d.site, &[Scope::Export]);
    let batch = d
        .app
        .with_key("GET", "/api/oci/export-batch?siteId=shop", &key, None)
        .await;
    assert_eq!(
        batch.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        batch.body
    );
    assert_eq!(
        (
            batch.body[0]["gclid"].as_str(),
            batch.body[0]["value"].as_f64()
        ),
        (Some("G1"), Some(1500.0))
    );
    let first = d
        .as_(&d.editor, "GET", "/api/oci/export?siteId=shop", None)
        .await;
    assert_eq!(first.status, 200);
    let csv = String::from_utf8(first.bytes.clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], super::oci::HEADER);
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with("G1,,,Sealed Lead,") && lines[1].ends_with(",1500.00,TRY"),
        "{}",
        lines[1]
    );
    assert_eq!(first.headers["x-opsmantik-skipped-no-click-id"], "1");
    assert_eq!(first.headers["content-type"], "text/csv; charset=utf-8");
    assert!(first.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("opsmantik_oci_shop.csv"));
    let second = d
        .as_(&d.editor, "GET", "/api/oci/export?siteId=shop", None)
        .await;
    assert_eq!(
        String::from_utf8(second.bytes).unwrap().lines().count(),
        1,
        "only the header"
    );
    let after = d
        .app
        .with_key("GET", "/api/oci/export-batch?siteId=shop", &key, None)
        .await;
    assert_eq!(
        after.body,
        json!([]),
        "uploaded calls are not offered again"
    );
}

#[tokio::test]
async fn a_receipt_marks_the_named_due_calls_of_its_site_uploaded() {
    let d = desk();
    let mut c = intent(&d.site, "c1", HOUR, None);
    c.gclid = Some("G".into());
    d.app.memory.calls.absorb(c);
    d.as_(
        &d.editor,
        "POST",
        "/api/calls/c1/seal",
        Some(json!({ "sale_amount": null })),
    )
    .await;
    let key = d.app.memory.auth.add_key(&d.site, &[Scope::Export]);
    let ack = json!({ "site_id": "shop", "call_ids": ["c1", "nope"] });
    let r = d
        .app
        .with_key("POST", "/api/oci/ack", &key, Some(ack.clone()))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["updated"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    assert!(r.body["batch_id"].is_string());
    let again = d
        .app
        .with_key("POST", "/api/oci/ack", &key, Some(ack))
        .await;
    assert_eq!(again.body["updated"], 0);
    let read_only = d.app.memory.auth.add_key(&d.site, &[Scope::Read]);
    let refused = d
        .app
        .with_key("GET", "/api/oci/export-batch?siteId=shop", &read_only, None)
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn auto_approve_confirms_exactly_the_stale_low_risk_intents() {
    let d = desk();
    // (id, age in hours, from an ad, active seconds, events)
    let table = [
        ("old-ad-engaged", 25, true, 30, 3),
        ("young-ad-engaged", 23, true, 30, 3),
        ("old-no-ad", 25, false, 30, 3),
        ("old-ad-brief", 25, true, 5, 3),
        ("old-ad-one-event", 25, true, 30, 1),
    ];
    for (id, hours, ad, active, events) in table {
        let session = format!("s-{id}");
        d.app
            .memory
            .calls
            .absorb(intent(&d.site, id, hours * HOUR, Some(&session)));
        d.app.memory.calls.add_session(
            "shop",
            SessionFacts {
                session_id: session,
                gclid: if ad { "G".into() } else { String::new() },
                active_sec: active,
                events,
                ..SessionFacts::default()
            },
        );
    }
    let run = json!({ "siteId": "shop", "minAgeHours": 24 });
    let r = d
        .as_(
            &d.editor,
            "POST",
            "/api/jobs/auto-approve",
            Some(run.clone()),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["updated"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    let approved: Vec<String> = d.published().into_iter().map(|c| c.call_id).collect();
    assert_eq!(approved, ["old-ad-engaged"]);
    let again = d
        .as_(&d.editor, "POST", "/api/jobs/auto-approve", Some(run))
        .await;
    assert_eq!(again.body["updated"], 0, "nothing left to approve");
    let bad = d
        .as_(
            &d.editor,
            "POST",
            "/api/jobs/auto-approve",
            Some(json!({ "siteId": "shop", "limit": 501 })),
        )
        .await;
    assert_eq!(bad.status, 400);
}
