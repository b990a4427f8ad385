//! The OpenAPI document against what it describes: the edge serves the document the code generates; every
//! request example of the five seeds validates against the schema documented for its route; Swagger UI at
//! `/docs` renders in Chromium, offline, without console errors (screenshot in `target/e2e-logs/`). That
//! every answer the end-to-end suite receives matches the document is checked by `send` in every test
//! (`opsmantik_e2e::contract`).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use opsmantik_e2e::contract::request_errors;
use opsmantik_e2e::http::send;
use opsmantik_e2e::{Env, Pipeline};
use serde_json::Value;

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/seeds");

/// `(method, path)` an operation heading, an `http` block's first line or a `curl` line names.
fn operation(line: &str) -> Option<(String, String)> {
    let line = line.trim().trim_start_matches('#').trim();
    if let Some(rest) = line.strip_prefix("curl -X ") {
        let (method, rest) = rest.split_once(' ')?;
        let url = rest
            .trim()
            .trim_matches(|c| c == '"' || c == '\\' || c == ' ');
        let path = url.split("{stage}").nth(1)?.split(['?', '"']).next()?;
        return Some((method.to_string(), path.to_string()));
    }
    let cleaned: String = line.chars().filter(|c| *c != '`').collect();
    let cleaned = cleaned.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    let (method, path) = cleaned.split_once(' ')?;
    let path = path.split_whitespace().next()?;
    (["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&method) && path.starts_with('/'))
        .then(|| (method.to_string(), path.to_string()))
}

/// The first JSON value starting at or after line `from` (in a `json` block, an `http` block's body, or a
/// curl `-d '…'`), with the line after it.
fn json_from(lines: &[&str], from: usize) -> Option<(Value, usize)> {
    for start in from..lines.len() {
        let l = lines[start].trim_start();
        let opening = l.strip_prefix("-d '").unwrap_or(l);
        if !(opening.starts_with('{') || opening.starts_with('[')) {
            continue;
        }
        let mut text = opening.to_string();
        for (end, line) in lines.iter().enumerate().skip(start + 1) {
            if let Ok(v) = serde_json::from_str::<Value>(text.trim_end_matches('\'')) {
                return Some((v, end));
            }
            text.push('\n');
            text.push_str(
                line.trim_end()
                    .trim_end_matches('\'')
                    .trim_end_matches(" \\"),
            );
        }
        return None;
    }
    None
}

/// Every request example of a seed: `(method, path, body)`.
fn examples(text: &str) -> Vec<(String, String, Value)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((method, path)) = operation(lines[i]) else {
            i += 1;
            continue;
        };
        // The example belongs to this operation if it comes before the next heading and before any answer.
        let mut j = i + 1;
        let mut found = None;
        while j < lines.len() && !lines[j].starts_with('#') && operation(lines[j]).is_none() {
            let l = lines[j].to_ascii_lowercase();
            if l.contains("response") {
                break;
            }
            if l.contains("request body")
                || l.contains("-d '")
                || l.starts_with("content-type")
                || l.trim().is_empty()
            {
                if let Some((v, end)) = json_from(&lines, j) {
                    if (end - j) < 40
                        && lines[j..end]
                            .iter()
                            .all(|x| !x.to_ascii_lowercase().contains("response"))
                    {
                        found = Some(v);
                        break;
                    }
                }
            }
            j += 1;
        }
        if let Some(v) = found {
            if method != "GET" {
                out.push((method, path.replace("[id]", "{id}"), v));
            }
        }
        i += 1;
    }
    out
}

#[test]
fn every_request_example_of_the_seeds_validates_against_its_schema() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(SEEDS).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".txt") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for (method, path, body) in examples(&text) {
            match request_errors(&method, &path, &body) {
                Ok(errors) if errors.is_empty() => checked.push(format!("{name}: {method} {path}")),
                Ok(errors) => failures.push(format!("{name}: {method} {path}: {errors:?}\n{body}")),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("validated:\n{}", checked.join("\n"));
    // The validator refuses what the schemas refuse.
    for (path, bad) in [
        ("/api/v1/rules", serde_json::json!({ "conditions": {} })),
        ("/api/sync", serde_json::json!({ "u": "https://x/" })),
        ("/api/v1/events", serde_json::json!({ "eventType": "x" })),
        (
            "/callflow/events",
            serde_json::json!({ "callId": 7, "eventType": "initiated", "timestamp": "t" }),
        ),
    ] {
        assert!(
            !request_errors("POST", path, &bad).unwrap().is_empty(),
            "{path} took {bad}"
        );
    }
    // The seeds' examples: 000 sync and call-event v2, 002 event/batch/webhook/rule, 003 event/batch/
    // request-code/verify/api-key, 004 call-flow event.
    assert!(checked.len() >= 12, "only {checked:?}");
    for must in [
        "POST /api/sync",
        "POST /api/call-event/v2",
        "POST /api/v1/rules",
        "POST /callflow/events",
        "POST /api/auth/verify",
    ] {
        assert!(
            checked.iter().any(|c| c.ends_with(must)),
            "{must} not among {checked:?}"
        );
    }
}

#[test]
fn the_answer_check_refuses_what_the_document_does_not_say() {
    use opsmantik_e2e::contract::answer_errors;
    use serde_json::json;
    let good = json!({ "ok": true, "revoked": "0123456789abcdef" });
    let url = "http://127.0.0.1:1/api/sites/s1/keys/0123456789abcdef";
    assert_eq!(
        answer_errors("DELETE", url, 200, &good),
        Vec::<String>::new()
    );
    assert!(
        !answer_errors("DELETE", url, 200, &json!({ "ok": true })).is_empty(),
        "a member missing"
    );
    assert!(
        !answer_errors("DELETE", url, 200, &json!({ "ok": "yes", "revoked": "x" })).is_empty(),
        "a wrong type"
    );
    assert!(
        !answer_errors("DELETE", url, 418, &good).is_empty(),
        "an undocumented status"
    );
    let refusal = json!({ "ok": false, "error": "forbidden", "message": "no" });
    assert_eq!(
        answer_errors("DELETE", url, 403, &refusal),
        Vec::<String>::new()
    );
    let tracking_shape = json!({ "ok": false, "error": { "code": "forbidden", "message": "no" } });
    assert!(
        !answer_errors("DELETE", url, 403, &tracking_shape).is_empty(),
        "another seed's shape"
    );
    // Not the document's business: a test's own receiver.
    assert!(answer_errors("POST", "http://127.0.0.1:1/hook", 500, &json!(1)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_edge_serves_the_document_and_swagger_ui_renders_it_offline() -> anyhow::Result<()> {
    let env = Env::new("openapi").await?;
    let p = Pipeline::start(&env).await?;
    let served = send(p.http.get(p.url("/openapi.json"))).await;
    assert_eq!(served.status, 200);
    let generated = opsmantik_ingest::app::openapi::document();
    assert_eq!(
        served.body, generated,
        "the edge serves the document the code generates"
    );

    let shot = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/e2e-logs/docs.png");
    std::fs::create_dir_all(std::path::Path::new(shot).parent().unwrap())?;
    let docs = p.url("/docs");
    let report =
        opsmantik_e2e::browser::run("docs.mjs", &[("DOCS_URL", &docs), ("SCREENSHOT", shot)])
            .await?;
    assert_eq!(report["failure"], Value::Null, "{report}");
    assert_eq!(
        report["title"].as_str().map(|t| t.starts_with("OpsMantik")),
        Some(true),
        "{report}"
    );
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "{report}");
    assert_eq!(report["failedRequests"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["externalRequests"],
        serde_json::json!([]),
        "offline: {report}"
    );
    let operations = report["operations"].as_array().unwrap();
    let documented: usize = generated["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations.len(),
        documented,
        "every operation is listed: {report}"
    );
    let sync = report["syncResponses"].as_array().unwrap();
    assert!(
        sync.iter()
            .any(|s| s.as_str().map(str::trim) == Some("200")),
        "{report}"
    );
    assert!(
        std::fs::metadata(shot)?.len() > 10_000,
        "a screenshot of the page"
    );
    env.cleanup().await
}
