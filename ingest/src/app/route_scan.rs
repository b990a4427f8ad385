//! Tests' view of the router: every `(method, path)` given to `.route(` in the edge's sources, plus the
//! documentation's own routes. The access matrix and the OpenAPI document are both held to this set.

use std::collections::BTreeSet;
use std::path::Path;

/// The methods of a `.route(` call's method router (`get(h).post(h)`), in its text.
fn methods(call: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut end = call.len();
    for (i, c) in call.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    let call = &call[..end];
    ["get", "post", "patch", "delete", "put"]
        .into_iter()
        .filter(|m| {
            call.match_indices(&format!("{m}(")).any(|(i, _)| {
                i == 0
                    || !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
                    || call[..i].ends_with("routing::")
            })
        })
        .map(str::to_ascii_uppercase)
        .collect()
}

fn scan(dir: &Path, out: &mut BTreeSet<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read source dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("access_matrix_tests.rs")
            && !path.ends_with("route_scan.rs")
        {
            let src = std::fs::read_to_string(&path).expect("read source");
            let mut rest = src.as_str();
            while let Some(i) = rest.find(".route(") {
                rest = &rest[i + ".route(".len()..];
                let Some(q) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                let Some(end) = q.find('"') else { continue };
                for m in methods(&q[end + 1..]) {
                    out.insert((m, q[..end].to_string()));
                }
            }
        }
    }
}

/// Every `(method, path)` the edge serves.
pub fn routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    scan(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.extend(
        super::openapi::ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string())),
    );
    out
}

#[test]
fn the_scan_finds_every_route_with_its_methods() {
    let all = routes();
    assert!(all.len() >= 60, "{all:?}");
    for expected in [
        ("POST", "/api/sync"),
        ("GET", "/api/sync"),
        ("PATCH", "/api/v1/rules/{id}"),
        ("DELETE", "/api/v1/rules/{id}"),
    ] {
        assert!(
            all.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?}"
        );
    }
}

#[test]
fn methods_are_read_from_the_method_router() {
    assert_eq!(methods(", get(a::b).post(c::d))\n.route("), ["GET", "POST"]);
    assert_eq!(methods(",\n  delete(keys::revoke),\n)"), ["DELETE"]);
    assert_eq!(methods(", post(budget_get(x)))"), ["POST"]);
}
