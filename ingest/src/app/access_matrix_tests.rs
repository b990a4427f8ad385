//! The access matrix (`docs/access.md`) lists every route of the router, and nothing else.

use std::collections::BTreeSet;
use std::path::Path;

const MATRIX: &str = include_str!("../../../docs/access.md");

/// `(method, path)` of every row of the matrix.
pub fn matrix_rows() -> Vec<(String, String)> {
    let start = MATRIX
        .find("<!-- access-matrix:start -->")
        .expect("matrix start marker");
    let end = MATRIX
        .find("<!-- access-matrix:end -->")
        .expect("matrix end marker");
    MATRIX[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 3
                && cells[1].chars().all(|c| c.is_ascii_uppercase())
                && !cells[1].is_empty())
            .then(|| (cells[1].to_string(), cells[2].to_string()))
        })
        .collect()
}

/// Every path given to `.route(` in the edge's sources.
fn routed_paths(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read source dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            routed_paths(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("access_matrix_tests.rs")
        {
            let src = std::fs::read_to_string(&path).expect("read source");
            let mut rest = src.as_str();
            while let Some(i) = rest.find(".route(") {
                rest = &rest[i + ".route(".len()..];
                let quoted = rest.trim_start();
                if let Some(q) = quoted.strip_prefix('"') {
                    if let Some(end) = q.find('"') {
                        out.insert(q[..end].to_string());
                    }
                }
            }
        }
    }
}

#[test]
fn access_matrix_lists_every_route() {
    let mut routed = BTreeSet::new();
    routed_paths(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut routed,
    );
    assert!(routed.len() > 20, "found only {routed:?}");
    let listed: BTreeSet<String> = matrix_rows().into_iter().map(|(_, p)| p).collect();
    let missing: Vec<&String> = routed.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/access.md: {missing:?}"
    );
    let stale: Vec<&String> = listed.difference(&routed).collect();
    assert!(
        stale.is_empty(),
        "docs/access.md lists routes the router lacks: {stale:?}"
    );
    for (method, _) in matrix_rows() {
        assert!(
            ["GET", "POST", "PATCH", "DELETE", "PUT"].contains(&method.as_str()),
            "{method}"
        );
    }
}
