//! A new user's first hour: jobs that cannot run are refused at submission with what to set;
//! the README's replay example works again and again; split processes refuse SQLite; the
//! signing secrets stay few however often they are rotated.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn messages(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_owned(),
                e["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn model() -> FakeModel {
    FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await
}

#[tokio::test]
async fn unknown_and_unconfigured_providers_are_refused_with_what_to_set() {
    let model = model().await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let reply = app
        .submit(&json!({"task": "t", "tests": "assert True",
                        "actor": {"provider": "gemini"}, "critic": {"provider": "replay"}}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let errors = messages(&reply.body);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "actor.provider");
    assert!(
        errors[0].1.contains("unknown provider \"gemini\""),
        "{errors:?}"
    );
    assert!(errors[0].1.contains("openai, replay"), "{errors:?}");
    assert_eq!(errors[1].0, "critic.provider");
    assert!(errors[1].1.contains("HONE_REPLAY_FILE"), "{errors:?}");
    assert_eq!(app.get("/v1/jobs").await.body["items"], json!([]));
}

#[tokio::test]
async fn the_public_openai_endpoint_without_a_key_is_refused_at_submission() {
    let model = model().await;
    // The helper passes a key and the fake's URL; point back at the public default, no key.
    let flags = ["--openai-base-url", hone_llm::OPENAI_PUBLIC_URL];
    let app = TestApp::start_with_key(Backend::Sqlite, &model, &flags, None)
        .await
        .expect("sqlite app");
    let reply = app
        .submit(&json!({"task": "t", "tests": "assert True"}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let errors = messages(&reply.body);
    assert!(
        errors
            .iter()
            .any(|(f, m)| f == "actor.provider" && m.contains("set OPENAI_API_KEY")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_language_whose_runtime_failed_its_check_is_refused() {
    let model = model().await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--node", "/nonexistent/node"])
        .await
        .expect("sqlite app");
    let reply = app
        .submit(&json!({"task": "t", "language": "javascript", "tests": "1", "critic": null}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let errors = messages(&reply.body);
    assert_eq!(errors[0].0, "language");
    assert!(
        errors[0].1.contains("no working javascript runtime"),
        "{errors:?}"
    );
    let ok = app
        .submit(&json!({"task": "t", "tests": "assert True", "critic": null}))
        .await;
    assert_eq!(ok.status, 202, "python still works: {}", ok.body);
}

#[tokio::test]
async fn the_readme_replay_example_can_be_submitted_again_and_again() {
    let model = model().await;
    let transcript = root().join("examples/parse-logs.replay.jsonl");
    let flags = ["--replay-file", transcript.to_str().expect("path")];
    let app = TestApp::start_with(Backend::Sqlite, &model, &flags)
        .await
        .expect("sqlite app");
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/parse-logs.json")).expect("example"),
    )
    .expect("json");
    for round in 0..2 {
        let submitted = app.submit(&spec).await;
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        let id = submitted.body["id"].as_str().expect("id");
        let job = app.wait_finished(id).await;
        assert_eq!(job["status"], "succeeded", "round {round}: {job}");
        assert_eq!(job["iterations"], 2, "round {round}");
    }
}

#[tokio::test]
async fn split_processes_refuse_sqlite_and_say_to_use_serve() {
    for role in ["api", "worker"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hone"))
            .args([role, "--database-url", "sqlite::memory:"])
            .env("HONE_LOG", "error")
            .output()
            .expect("run hone");
        assert!(!out.status.success(), "{role} started on SQLite");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("hone serve"), "{role}: {stderr}");
    }
}

#[tokio::test]
async fn rotations_beyond_the_cap_retire_the_oldest_secret() {
    let model = model().await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--webhook-max-secrets", "2"])
        .await
        .expect("sqlite app");
    let mut last = Value::Null;
    for _ in 0..50 {
        last = app.post("/v1/webhook-secret/rotate").await.body;
    }
    let items = last["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{last}");
    assert_eq!(app.get("/v1/webhook-secret").await.body, last);
}

async fn api_processes_starting_together_store_one_bootstrap_key(
    store: std::sync::Arc<dyn hone_store::Store>,
) {
    let key = crate::helpers::admin_key();
    let args = hone::config::AccessArgs {
        bootstrap_key: Some(key.parse().expect("secret")),
        key_file: None,
        rate_reads_per_min: 0,
        rate_writes_per_min: 0,
        tenant_reads_per_min: 0,
        tenant_writes_per_min: 0,
        max_keys_per_tenant: 100,
        session_secret: None,
    };
    let starts = (0..8).map(|_| {
        let (store, args) = (store.clone(), args.clone());
        tokio::spawn(async move {
            hone::access::ensure_admin_key(store.as_ref(), &args, "postgres://unused").await
        })
    });
    for start in starts.collect::<Vec<_>>() {
        start.await.expect("task").expect("every start succeeds");
    }
    let keys = store.list_keys(None).await.expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].prefix, hone_domain::apikey::shown_prefix(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_processes_starting_together_store_one_bootstrap_key_on_postgres() {
    let Some(url) = hone_store_postgres::testing::fresh_database().await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let store = hone::store::connect(&url).await.expect("store");
    api_processes_starting_together_store_one_bootstrap_key(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_processes_starting_together_store_one_bootstrap_key_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    let store = hone::store::connect(&url).await.expect("store");
    api_processes_starting_together_store_one_bootstrap_key(store).await;
}
