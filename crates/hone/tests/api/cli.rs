//! The client commands against the real service: `hone submit`, `jobs`, `retry`, `cancel`
//! print what the API answered, as lines or JSON, and a refusal fails naming the fields.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hone::config::{Cli, Command};
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

fn command(args: &[&str]) -> Command {
    Cli::try_parse_from(std::iter::once("hone").chain(args.iter().copied()))
        .expect("parse")
        .command
}

async fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    match command(args) {
        Command::Submit(a) => {
            hone::client::submit(&a, false, &mut out).await?;
        }
        Command::Jobs(a) => hone::client::jobs(&a, &mut out).await?,
        Command::Cancel(a) => hone::client::cancel(&a, &mut out).await?,
        Command::Retry(a) => hone::client::retry(&a, &mut out).await?,
        Command::Show(a) => hone::client::show::show(&a, &mut out).await?,
        _ => unreachable!("a client command"),
    }
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[tokio::test]
async fn the_client_commands_submit_list_retry_and_cancel() {
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "```python\nimport time\ntime.sleep(30)\n```".to_owned()),
        Arc::new(|_: &str| Duration::from_millis(200)),
    )
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("spec.json");
    let body = json!({"task": "sleep a while", "tests": "pass", "critic": null, "tags": ["cli"]});
    std::fs::write(&spec, body.to_string()).expect("write");
    let spec = spec.to_str().expect("path");
    let service = ["--url", app.base.as_str(), "--api-key", app.key.as_str()];

    let submitted = run(&[&["submit", spec, "--output", "json"][..], &service].concat())
        .await
        .expect("submit");
    let job: Value = serde_json::from_str(submitted.trim()).expect("json");
    let id = job["id"].as_str().expect("id").to_owned();

    let listed = run(&[&["jobs", "--tag", "cli", "--q", "sleep"][..], &service].concat())
        .await
        .expect("jobs");
    assert!(listed.starts_with("JOB "), "a header first: {listed}");
    assert!(
        listed.lines().nth(1).is_some_and(|l| l.starts_with(&id)),
        "{listed}"
    );
    assert!(listed.contains("[cli] sleep a while"), "{listed}");

    let retried = run(&[&["retry", id.as_str()][..], &service].concat())
        .await
        .expect("retry");
    assert!(
        !retried.starts_with(&id) && retried.contains("queued"),
        "{retried}"
    );
    // `show` renders the job and its attempts; the attempt the worker began shows its code.
    let mut shown = String::new();
    for _ in 0..50 {
        shown = run(&[&["show", id.as_str()][..], &service].concat())
            .await
            .expect("show");
        if shown.contains("time.sleep(30)") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown.starts_with(&id), "{shown}");
    assert!(shown.contains("── attempt 1"), "{shown}");
    assert!(shown.contains("  │ import time"), "{shown}");
    let json_shown = run(&[&["show", id.as_str(), "--output", "json"][..], &service].concat())
        .await
        .expect("show json");
    let parsed: Value = serde_json::from_str(json_shown.trim()).expect("json");
    assert_eq!(parsed["job"]["id"], json!(id));
    let missing = run(&[&["show", id.as_str(), "--attempt", "99"][..], &service].concat()).await;
    assert!(
        missing
            .expect_err("none")
            .to_string()
            .contains("no attempt 99")
    );

    let cancelled = run(&[&["cancel", id.as_str()][..], &service].concat())
        .await
        .expect("cancel");
    assert!(cancelled.starts_with(&id), "{cancelled}");

    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"task": "", "max_iterations": 0}"#,
    )
    .expect("write");
    let bad = dir.path().join("bad.json");
    let refused = run(&[&["submit", bad.to_str().expect("path")][..], &service].concat()).await;
    let why = refused.expect_err("refused").to_string();
    assert!(why.starts_with("422"), "{why}");
    assert!(why.contains("task: must not be empty"), "{why}");
    assert!(why.contains("max_iterations:"), "{why}");

    let stranger = ["--url", app.base.as_str(), "--api-key", "hone_not_a_key"];
    let denied = run(&[&["jobs"][..], &stranger].concat()).await;
    assert!(denied.expect_err("401").to_string().starts_with("401"));
    let odd = run(&[&["cancel", "../../v1/keys"][..], &service].concat()).await;
    assert!(
        odd.expect_err("bad id")
            .to_string()
            .contains("is not a job id")
    );
}
