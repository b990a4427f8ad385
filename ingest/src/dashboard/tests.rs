//! Serving the dashboard: every file with its type and the page's security headers, the first-load budget,
//! revalidation, and nothing served that is not one of its files.

use super::*;
use crate::app::test_client::TestApp;

/// The first-load budget: everything the page loads, gzipped, under 200 KB.
const FIRST_LOAD_BUDGET: usize = 200 * 1024;

#[test]
fn the_whole_dashboard_gzipped_is_under_its_first_load_budget() {
    let total: usize = assets().iter().map(|(_, a)| a.gzip.len()).sum();
    assert!(
        total > 0 && total < FIRST_LOAD_BUDGET,
        "{total} bytes gzipped"
    );
}

#[test]
fn every_module_the_page_imports_is_served() {
    let served: Vec<&str> = assets().iter().map(|(n, _)| *n).collect();
    for (name, _, text) in FILES {
        for import in text.split("from './").skip(1) {
            let file = import.split('\'').next().unwrap_or_default();
            assert!(served.contains(&file), "{name} imports {file}, not served");
        }
    }
}

#[tokio::test]
async fn files_come_with_their_type_a_strict_policy_and_revalidate() {
    let app = TestApp::new();
    let root = app.send("GET", "/", &[], None).await;
    assert_eq!(root.status.as_u16(), 303);
    assert_eq!(root.headers["location"], PATH);
    let page = app.send("GET", "/app/", &[], None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .contains("script-src 'self'"));
    let script = app.send("GET", "/app/app.js", &[], None).await;
    assert_eq!(script.headers["content-type"], JS);
    let etag = script.headers["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let again = app
        .send("GET", "/app/app.js", &[("if-none-match", &etag)], None)
        .await;
    assert_eq!(again.status.as_u16(), 304);
    let missing = app.send("GET", "/app/secrets.txt", &[], None).await;
    assert_eq!(missing.status.as_u16(), 404, "{}", missing.body);
}
