use std::collections::BTreeSet;

use serde_json::Value;

fn doc() -> Value {
    super::document()
}

#[test]
fn the_document_and_the_router_have_the_same_routes() {
    let doc = doc();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .into_iter()
                .flatten()
                .filter(|(m, _)| ["get", "post", "patch", "delete", "put"].contains(&m.as_str()))
                .map(|(m, _)| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    let routed = crate::app::route_scan::routes();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes the document lacks: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented routes the router lacks: {unrouted:?}"
    );
}

#[test]
fn every_operation_says_who_may_call_it_and_what_it_answers() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("schemes");
    for s in [
        "api_key",
        "bearer_key",
        "bearer",
        "session_cookie",
        "call_signature",
    ] {
        assert!(schemes.contains_key(s), "{s}");
    }
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let what = format!("{method} {path}");
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: no security"));
            for req in security
                .iter()
                .flat_map(|r| r.as_object())
                .flat_map(|r| r.keys())
            {
                assert!(schemes.contains_key(req), "{what}: unknown scheme {req}");
            }
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{what}"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: no success"
            );
            // Every refusal has a body in its seed's shape; only redirects and 304 have none.
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        r["content"]["application/json"]["schema"].is_object(),
                        "{what} {status}"
                    );
                }
            }
            let secured = security
                .iter()
                .any(|r| r.as_object().is_some_and(|o| !o.is_empty()));
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{what}: secured without a documented 401"
                );
            }
        }
    }
}

#[test]
fn api_routes_document_the_refusal_limits_429_in_the_tracking_shape() {
    let doc = doc();
    let events = &doc["paths"]["/api/v1/events"]["post"]["responses"]["429"];
    let one_of = events["content"]["application/json"]["schema"]["oneOf"]
        .as_array()
        .expect("oneOf");
    assert_eq!(one_of[1]["$ref"], "#/components/schemas/TrackingError");
    let me = &doc["paths"]["/api/auth/me"]["get"]["responses"]["429"];
    assert_eq!(
        me["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TrackingError"
    );
    assert!(doc["paths"]["/api/health"]["get"]["responses"]["429"].is_null());
}
