//! The access matrix (`docs/access.md`) lists every route of the router, and nothing else.

use std::collections::BTreeSet;

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

#[test]
fn access_matrix_lists_every_route() {
    let routed: BTreeSet<(String, String)> = super::route_scan::routes();
    assert!(routed.len() > 20, "found only {routed:?}");
    let listed: BTreeSet<(String, String)> = matrix_rows().into_iter().collect();
    let missing: Vec<&(String, String)> = routed.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/access.md: {missing:?}"
    );
    let stale: Vec<&(String, String)> = listed.difference(&routed).collect();
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
