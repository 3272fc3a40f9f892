//! The client commands' exit statuses, from the real binary: a failed job, a refused
//! request, an unreachable service, bad input and a bad command line each have their own
//! (`hone::client::failure`), a closed pipe ends quietly, `hone jobs` says when there is
//! nothing, and `submit --watch` ends with the failure's reason.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

fn hone(app: Option<&TestApp>, url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
    cmd.args(args)
        .env("HONE_URL", url)
        .env_remove("HONE_API_KEY");
    if let Some(app) = app {
        cmd.env("HONE_API_KEY", &app.key);
    }
    cmd.output().expect("run hone")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_failure_has_its_own_exit_status() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nraise SystemExit(3)\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let url = app.base.clone();

    // Nothing yet: a header and a word, status 0.
    let empty = tokio::task::block_in_place(|| hone(Some(&app), &url, &["jobs"]));
    assert_eq!(empty.status.code(), Some(0), "{}", text(&empty.stderr));
    let out = text(&empty.stdout);
    assert!(out.starts_with("JOB "), "{out}");
    assert!(out.contains("no jobs"), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let failing = dir.path().join("failing.json");
    let mut f = std::fs::File::create(&failing).expect("file");
    writeln!(
        f,
        r#"{{"task": "exit", "tests": "pass", "critic": null, "max_iterations": 1}}"#
    )
    .expect("write");
    let failing = failing.to_str().expect("path");
    let watched =
        tokio::task::block_in_place(|| hone(Some(&app), &url, &["submit", failing, "--watch"]));
    assert_eq!(
        watched.status.code(),
        Some(1),
        "a failed job: {}",
        text(&watched.stderr)
    );
    let out = text(&watched.stdout);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("  ") && last.contains("iteration"),
        "{out}"
    );

    let invalid = dir.path().join("invalid.json");
    std::fs::write(&invalid, r#"{"language": "cobol"}"#).expect("write");
    let cases: Vec<(Vec<String>, String, u8, &str)> = vec![
        (
            vec!["submit".into(), invalid.display().to_string()],
            url.clone(),
            3,
            "language",
        ),
        (
            vec!["show".into(), "01a25237-d7e6-700a-9503-075e279de127".into()],
            url.clone(),
            3,
            "404",
        ),
        (
            vec!["submit".into(), "/no/such/file.json".into()],
            url.clone(),
            5,
            "cannot read",
        ),
        (
            vec!["show".into(), "not-an-id!".into()],
            url.clone(),
            5,
            "not a job id",
        ),
        (
            vec!["jobs".into()],
            "localhost:8080".into(),
            5,
            "http://localhost:8080",
        ),
        (vec!["jobs".into()], format!("{url}/v1"), 5, "without /v1"),
        (
            vec!["jobs".into()],
            "http://127.0.0.1:9".into(),
            4,
            "cannot reach",
        ),
        (
            vec!["jobs".into(), "--bogus".into()],
            url.clone(),
            64,
            "--bogus",
        ),
    ];
    for (args, url, want, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = tokio::task::block_in_place(|| hone(Some(&app), &url, &args));
        let err = text(&got.stderr);
        assert_eq!(
            got.status.code(),
            Some(i32::from(want)),
            "{args:?} {url}: {err}"
        );
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let help = tokio::task::block_in_place(|| hone(None, &url, &["jobs", "--help"]));
    assert_eq!(help.status.code(), Some(0));

    // A reader that closed its end: no "Broken pipe", status 0.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["jobs", "--json"])
        .env("HONE_URL", &url)
        .env("HONE_API_KEY", &app.key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let closed = tokio::task::block_in_place(|| child.wait_with_output()).expect("wait");
    assert_eq!(closed.status.code(), Some(0), "{}", text(&closed.stderr));
    assert!(!text(&closed.stderr).contains("Broken pipe"));
}
