//! `openapi.yaml` describes exactly the routes the router serves, and each documented route
//! is really routed (not answered by the fallback).

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::collections::BTreeSet;

use hone_api::health::OPENAPI_YAML;

fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_norway::Value = serde_norway::from_str(OPENAPI_YAML).expect("valid YAML");
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_mapping())
        .expect("paths");
    let mut out = BTreeSet::new();
    for (path, ops) in paths {
        let path = path.as_str().expect("path string").to_owned();
        for (method, _) in ops.as_mapping().expect("operations") {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            if method != "PARAMETERS" {
                out.insert((method, path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let served: BTreeSet<(String, String)> = hone_api::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let documented = documented();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in openapi.yaml but not served: {unserved:?}"
    );
}
