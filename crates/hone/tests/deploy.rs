//! The deployment artefacts (`Dockerfile`, `docker-compose.yml`, `deploy/`) pass the checks
//! of the tools that own their formats (`scripts/check-deploy`), every metric the Grafana
//! dashboard and the alert rules query is one hone exports, and the image installs what the
//! README tells a host to install.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).expect(path)
}

#[test]
fn the_artefacts_pass_their_formats_checks() {
    let status = Command::new(root().join("scripts/check-deploy"))
        .env("HONE_BIN", env!("CARGO_BIN_EXE_hone"))
        .status()
        .expect("run scripts/check-deploy");
    assert!(status.success(), "scripts/check-deploy failed");
}

/// Every `hone_…` metric name in `text`, without a histogram's series suffix.
fn metrics_named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("hone_") {
        let start = i + at;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if boundary {
            let name = &text[start..end];
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            out.insert(base.to_owned());
        }
        i = end.max(start + 5);
    }
    out
}

#[test]
fn dashboards_and_alerts_query_only_exported_metrics() {
    let exported: BTreeSet<&str> = hone_domain::metric::ALL.iter().map(|m| m.0).collect();
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/hone.json"))
            .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    for panel in panels {
        let exprs: Vec<&str> = panel["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .map(|t| t["expr"].as_str().expect("expr"))
            .collect();
        let named: BTreeSet<String> = exprs.iter().flat_map(|e| metrics_named(e)).collect();
        assert!(
            !named.is_empty(),
            "panel {} queries no hone metric",
            panel["title"]
        );
        for m in &named {
            assert!(
                exported.contains(m.as_str()),
                "panel {}: {m} is not exported",
                panel["title"]
            );
        }
    }
    let alerts = metrics_named(&read("deploy/prometheus/alerts.yml"));
    assert!(alerts.len() >= 4, "{alerts:?}");
    for m in &alerts {
        assert!(
            exported.contains(m.as_str()),
            "alert rules: {m} is not exported"
        );
    }
}

#[test]
fn the_image_installs_what_the_readme_says_and_runs_hone() {
    let dockerfile = read("Dockerfile");
    let readme = read("README.md");
    assert!(readme.contains("apt-get install -y bubblewrap python3 python3-pip nodejs"));
    for package in ["bubblewrap", "python3", "nodejs"] {
        assert!(dockerfile.contains(package), "the image lacks {package}");
    }
    assert!(dockerfile.contains("tini"));
    assert!(dockerfile.contains("cargo build --release -p hone"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hone"]"#));
}
