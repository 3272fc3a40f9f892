//! Secrets never stored in clear by accident: a provider error that echoes the operator's key
//! is stored without it; model names refuse control characters; the SQLite database is
//! created readable by its owner only.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use serde_json::json;

use crate::fake_model::{FAIL_WITH_401_ECHO, FakeModel};
use crate::helpers::{Backend, TestApp};

/// A key shaped like no token, so only the configured-key rule can find it.
const OPERATORS_KEY: &str = "my-gateway-secret-0123456789";

#[tokio::test]
async fn a_provider_error_echoing_the_key_is_stored_without_it() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| FAIL_WITH_401_ECHO.to_owned())).await;
    let app = TestApp::start_with_key(Backend::Sqlite, &model, &[], Some(OPERATORS_KEY))
        .await
        .expect("sqlite app");
    let (id, job) = app
        .run_job(&json!({"task": "t", "tests": "assert True", "critic": null}))
        .await;
    assert_eq!(job["outcome"]["reason"], "error", "{job}");
    let message = job["outcome"]["message"].as_str().expect("message");
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("[REDACTED]"), "{message}");
    for path in [format!("/v1/jobs/{id}"), format!("/v1/jobs/{id}/events")] {
        let text = app.get(&path).await.body.to_string();
        assert!(!text.contains(OPERATORS_KEY), "{path}: {text}");
    }
}

#[tokio::test]
async fn model_names_refuse_control_characters_and_emptiness() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    for (spec, field) in [
        (
            json!({"task": "t", "actor": {"model": "gpt\u{7}-4o"}}),
            "actor.model",
        ),
        (json!({"task": "t", "actor": {"model": ""}}), "actor.model"),
        (
            json!({"task": "t", "critic": {"model": "line\nbreak"}}),
            "critic.model",
        ),
    ] {
        let reply = app.submit(&spec).await;
        assert_eq!(reply.status, 422, "{spec}");
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.body);
    }
}

#[tokio::test]
async fn the_sqlite_database_is_created_for_its_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("private.db");
    let url = format!("sqlite://{}", path.display());
    let store = hone::store::connect(&url).await.expect("store");
    store.ping().await.expect("ping");
    for file in ["private.db", "private.db-wal", "private.db-shm"] {
        let Ok(meta) = std::fs::metadata(dir.path().join(file)) else {
            continue;
        };
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }
}
