//! Sign-in in process: codes, the JWT, the session cookie, `me` and logout over in-memory stores.

use serde_json::json;

use crate::app::test_client::{Reply, TestApp};
use crate::identity::codes::CodeStore;
use crate::identity::mailer::Mailer;

const EMAIL: &str = "ops@example.com";

async fn verify(app: &TestApp, code: &str) -> Reply {
    let body = json!({ "email": EMAIL, "code": code });
    app.send("POST", "/api/auth/verify", &[], Some(body)).await
}

fn cookie(r: &Reply) -> String {
    let set = r.headers["set-cookie"].to_str().unwrap_or_default();
    set.split(';').next().unwrap_or_default().to_string()
}

async fn request_code(app: &TestApp) -> Reply {
    let body = json!({ "email": EMAIL });
    app.send("POST", "/api/auth/request-code", &[], Some(body))
        .await
}

#[tokio::test]
async fn development_mode_answers_the_code_and_nothing_else_does() {
    let dev = TestApp::with(|s| s.identity.mailer = Mailer::DevPrint);
    let sent = request_code(&dev).await;
    let code = sent.body["data"]["dev_code"].as_str().unwrap_or_default();
    assert_eq!(code.len(), 6, "{}", sent.body);
    assert_eq!(verify(&dev, code).await.status.as_u16(), 200);

    let quiet = request_code(&TestApp::new()).await;
    assert_eq!(quiet.status.as_u16(), 200);
    assert!(
        quiet.body["data"].get("dev_code").is_none(),
        "{}",
        quiet.body
    );
}

#[tokio::test]
async fn a_code_signs_in_once_and_logout_ends_the_session() {
    let app = TestApp::new();
    let sent = app
        .send(
            "POST",
            "/api/auth/request-code",
            &[],
            Some(json!({ "email": EMAIL })),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.body);
    assert_eq!(
        verify(&app, "000000").await.status.as_u16(),
        401,
        "a wrong code"
    );
    // The mailed code is only stored as a hash; put a known one in its place.
    app.memory.codes.store_code(EMAIL, "123456").await.unwrap();
    let ok = verify(&app, "123456").await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    assert_eq!(ok.body["data"]["user"]["email"], EMAIL);
    assert_eq!(
        verify(&app, "123456").await.status.as_u16(),
        401,
        "a code works once"
    );

    let session = cookie(&ok);
    let me = app
        .send("GET", "/api/auth/me", &[("cookie", &session)], None)
        .await;
    assert_eq!(
        (me.status.as_u16(), me.body["data"]["email"].as_str()),
        (200, Some(EMAIL))
    );
    let token = format!("Bearer {}", ok.body["data"]["token"].as_str().unwrap());
    let by_token = app
        .send("GET", "/api/auth/me", &[("authorization", &token)], None)
        .await;
    assert_eq!(by_token.status.as_u16(), 200);

    let out = app
        .send("POST", "/api/auth/logout", &[("cookie", &session)], None)
        .await;
    assert_eq!(out.status.as_u16(), 200);
    let after = app
        .send("GET", "/api/auth/me", &[("cookie", &session)], None)
        .await;
    assert_eq!(after.status.as_u16(), 401, "the cookie no longer works");
}

#[tokio::test]
async fn a_code_is_void_after_five_wrong_attempts() {
    let app = TestApp::new();
    app.memory.codes.store_code(EMAIL, "123456").await.unwrap();
    for _ in 0..5 {
        assert_eq!(verify(&app, "654321").await.status.as_u16(), 401);
    }
    assert_eq!(
        verify(&app, "123456").await.status.as_u16(),
        401,
        "too late for the right one"
    );
}

#[tokio::test]
async fn malformed_sign_ins_name_their_field() {
    let app = TestApp::new();
    let r = app
        .send(
            "POST",
            "/api/auth/request-code",
            &[],
            Some(json!({ "email": "nope" })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    let r = app
        .send(
            "POST",
            "/api/auth/verify",
            &[],
            Some(json!({ "email": EMAIL, "code": "12" })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(r.body.to_string().contains("code"), "{}", r.body);
}
