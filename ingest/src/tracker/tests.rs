//! Serving the tracker: size budget, compaction, compression, caching.

use std::io::Read;

use flate2::read::GzDecoder;

use super::*;
use crate::app::test_client::TestApp;

/// The budget from docs/tracker.md: the served tracker, gzipped, stays under 8 KB.
const GZIP_BUDGET: usize = 8 * 1024;

#[test]
fn the_served_tracker_is_under_its_gzip_budget_and_smaller_than_its_source() {
    let asset = served();
    println!(
        "tracker.js: source {} B, served {} B, gzipped {} B",
        SOURCE.len(),
        asset.plain.len(),
        asset.gzip.len()
    );
    assert!(
        !asset.gzip.is_empty() && asset.gzip.len() < GZIP_BUDGET,
        "tracker.js gzipped is {} bytes",
        asset.gzip.len()
    );
    assert!(
        asset.plain.len() < SOURCE.len() * 3 / 4,
        "compaction drops comments and indentation"
    );
    let mut unzipped = Vec::new();
    GzDecoder::new(&asset.gzip[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, asset.plain, "the gzip form is the plain form");
}

#[test]
fn compaction_drops_comment_lines_and_indentation_but_keeps_code_and_urls() {
    let source = "// header\n(function () {\n    // inside\n    var u = 'https://wa.me/1'; // tail\n\n})();\n";
    assert_eq!(
        compact(source),
        "(function () {\nvar u = 'https://wa.me/1'; // tail\n})();"
    );
}

#[test]
fn the_tracker_source_keeps_the_rules_compaction_relies_on() {
    assert!(!compact(SOURCE).contains('`'), "no template literals");
    for line in SOURCE.lines() {
        assert!(
            !line.trim_end().ends_with('\\'),
            "no string runs on to the next line: {line}"
        );
    }
}

#[tokio::test]
async fn it_is_served_gzipped_when_asked_with_caching_headers_and_revalidates() {
    let app = TestApp::new();
    let zipped = app
        .send("GET", PATH, &[("accept-encoding", "gzip, br")], None)
        .await;
    assert_eq!(zipped.status, 200);
    let header = |r: &crate::app::test_client::Reply, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert_eq!(
        header(&zipped, "content-type"),
        "application/javascript; charset=utf-8"
    );
    assert!(header(&zipped, "cache-control").contains("max-age=3600"));
    assert_eq!(zipped.bytes, served().gzip);
    let plain = app
        .send("GET", PATH, &[("accept-encoding", "gzip;q=0")], None)
        .await;
    assert_eq!(header(&plain, "content-encoding"), "");
    assert!(String::from_utf8_lossy(&plain.bytes).contains("/api/sync?_ts="));
    let etag = header(&zipped, "etag");
    let again = app
        .send("GET", PATH, &[("if-none-match", &etag)], None)
        .await;
    assert_eq!((again.status.as_u16(), again.bytes.len()), (304, 0));
    let stale = app
        .send("GET", PATH, &[("if-none-match", "\"other\"")], None)
        .await;
    assert_eq!(stale.status, 200);
}
