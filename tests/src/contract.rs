//! The one validator of the OpenAPI document (`opsmantik_ingest::app::openapi::document()`): request bodies
//! against their documented schema (the seeds' examples), and every answer the end-to-end suite receives
//! against the documented answer of its status — `send` and the pipeline's helpers call [`check_answer`], so
//! a route that answers what its document does not say fails whichever test saw it.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Value};

/// The document as JSON, and a compiled validator per schema pointer.
struct Contract {
    doc: Value,
    validators: std::sync::Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| Contract {
        doc: opsmantik_ingest::app::openapi::document(),
        validators: Default::default(),
    })
}

/// The documented path template matching `path` (`/api/sites/abc/keys` → `/api/sites/{id}/keys`).
pub fn template(path: &str) -> Option<String> {
    let paths = contract().doc["paths"].as_object()?;
    if paths.contains_key(path) {
        return Some(path.to_string());
    }
    let parts: Vec<&str> = path.split('/').collect();
    paths
        .keys()
        .find(|t| {
            let tp: Vec<&str> = t.split('/').collect();
            tp.len() == parts.len()
                && tp
                    .iter()
                    .zip(&parts)
                    .all(|(a, b)| a == b || (a.starts_with('{') && !b.is_empty()))
        })
        .cloned()
}

/// What `instance` breaks of the schema at JSON pointer `at` in the document (empty: valid).
fn errors_at(at: &str, instance: &Value) -> Vec<String> {
    let c = contract();
    let validator = {
        let mut cache = c.validators.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(at) {
            Some(v) => v.clone(),
            None => {
                // A `$ref` is a URI: the braces of path templates are percent-encoded in its fragment.
                let fragment = at.replace('{', "%7B").replace('}', "%7D");
                let root = json!({ "$ref": format!("#{fragment}"), "components": c.doc["components"], "paths": c.doc["paths"] });
                match jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&root)
                {
                    Ok(v) => {
                        let v = std::sync::Arc::new(v);
                        cache.insert(at.to_string(), v.clone());
                        v
                    }
                    Err(e) => return vec![format!("schema at {at} does not compile: {e}")],
                }
            }
        }
    };
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// What `body` breaks of the documented request body of `method path` (`Err` when none is documented).
pub fn request_errors(method: &str, path: &str, body: &Value) -> Result<Vec<String>, String> {
    let op = format!("/paths/{}/{}", escape(path), method.to_ascii_lowercase());
    let schema = format!("{op}/requestBody/content/application~1json/schema");
    if contract().doc.pointer(&schema).is_none() {
        return Err(format!(
            "no JSON request body documented for {method} {path}"
        ));
    }
    Ok(errors_at(&schema, body))
}

/// What an answer breaks of the document: its status must be documented for `method url`, and a JSON body
/// must validate against the documented JSON schema of that status. Paths the document does not know (a test's
/// own receivers, the 404 fallback) are not the document's business.
pub fn answer_errors(method: &str, url: &str, status: u16, body: &Value) -> Vec<String> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let Some(template) = template(path) else {
        return Vec::new();
    };
    let op = format!(
        "/paths/{}/{}",
        escape(&template),
        method.to_ascii_lowercase()
    );
    let doc = &contract().doc;
    if doc.pointer(&op).is_none() {
        return Vec::new(); // a method the route does not have: the router's 405
    }
    let response = format!("{op}/responses/{status}");
    let Some(documented) = doc.pointer(&response) else {
        return vec![format!(
            "{method} {template}: status {status} is not documented"
        )];
    };
    let json = documented
        .pointer("/content/application~1json/schema")
        .is_some();
    if !json || body.is_null() {
        return Vec::new();
    }
    errors_at(
        &format!("{response}/content/application~1json/schema"),
        body,
    )
    .into_iter()
    .map(|e| format!("{method} {template} {status}: {e}"))
    .collect()
}

/// Panics (failing the test that saw it) when an answer breaks the document.
pub fn check_answer(method: &str, url: &str, status: u16, body: &Value) {
    let errors = answer_errors(method, url, status, body);
    assert!(
        errors.is_empty(),
        "the answer breaks the OpenAPI document:\n{}\nbody: {body}",
        errors.join("\n")
    );
}
