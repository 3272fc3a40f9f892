//! Retention through the real service: `prune` deletes exactly the finished jobs before the
//! cut, leaves no row of theirs behind in any table (attempts, events, webhook outbox and
//! delivery tries, tags, labels, the SQLite search index), and a running job is untouched
//! and goes on to finish.

use std::sync::Arc;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// Rows of every table that holds a job's data, whose job is not in `jobs` (left behind).
const ORPHANS: &[(&str, &str)] = &[
    (
        "attempts",
        "SELECT count(*) FROM attempts WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "events",
        "SELECT count(*) FROM events WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "webhook_outbox",
        "SELECT count(*) FROM webhook_outbox WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "webhook_deliveries",
        "SELECT count(*) FROM webhook_deliveries WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "job_tags",
        "SELECT count(*) FROM job_tags WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "job_labels",
        "SELECT count(*) FROM job_labels WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
];

/// SQLite's search index: entries whose key names no job.
const SQLITE_ORPHANS: &[(&str, &str)] = &[
    (
        "job_search",
        "SELECT count(*) FROM job_search WHERE job_id NOT IN (SELECT id FROM jobs)",
    ),
    (
        "jobs_fts",
        "SELECT (SELECT count(*) FROM jobs_fts) - (SELECT count(*) FROM job_search)",
    ),
];

async fn count(backend: Backend, url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
    }
}

async fn prune_leaves_nothing_behind(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, user: &str| {
        if user.contains("slow") {
            "```python\nimport time\ntime.sleep(4)\nprint('ok')\n```".to_owned()
        } else {
            "```python\nprint('ok')\n```".to_owned()
        }
    }))
    .await;
    let Some(app) =
        TestApp::start_with(backend, &model, &["--webhook-allow-private", "true"]).await
    else {
        return;
    };
    let mut done = Vec::new();
    for i in 0..3 {
        let r = app
            .submit(&json!({
                "task": format!("quick job {i}"), "tests": "pass", "critic": null,
                "tags": ["old", "batch"], "metadata": {"run": i.to_string()},
                "webhook": {"url": "http://127.0.0.1:9/hook", "events": ["job.started", "job.finished"]},
            }))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().expect("id").to_owned();
        assert_eq!(app.wait_finished(&id).await["status"], "succeeded");
        done.push(id);
    }
    // A delivery try to the closed port is recorded before the prune.
    for _ in 0..100 {
        let d = app
            .get(&format!("/v1/jobs/{}/webhook-deliveries", done[0]))
            .await;
        if d.body["items"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let slow = app
        .submit(&json!({"task": "slow job", "tests": "pass", "critic": null, "tags": ["old"]}))
        .await;
    let slow_id = slow.body["id"].as_str().expect("id").to_owned();
    for _ in 0..100 {
        if app.get(&format!("/v1/jobs/{slow_id}")).await.body["status"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let store = hone::store::connect(&app.db_url).await.expect("store");
    let cut = hone_domain::Timestamp::from_millis(hone_domain::Timestamp::now().as_millis() + 1);
    assert_eq!(store.count_prunable(cut).await.expect("count"), 3);
    for (table, sql) in ORPHANS {
        let sql = sql.replace("NOT IN", "IN");
        assert!(
            count(backend, &app.db_url, &sql).await > 0,
            "{table} holds the jobs' rows"
        );
    }
    let pruned = hone::prune::prune(store.as_ref(), cut)
        .await
        .expect("prune");
    assert_eq!(pruned, 3);

    for id in &done {
        assert_eq!(app.get(&format!("/v1/jobs/{id}")).await.status, 404);
    }
    let mut checks = ORPHANS.to_vec();
    if matches!(backend, Backend::Sqlite) {
        checks.extend_from_slice(SQLITE_ORPHANS);
    }
    for (table, sql) in checks {
        assert_eq!(
            count(backend, &app.db_url, sql).await,
            0,
            "rows left in {table}"
        );
    }
    let tagged = app.get("/v1/jobs?tag=old").await;
    assert_eq!(tagged.body["items"].as_array().map(Vec::len), Some(1));
    let found = app.get("/v1/jobs?q=quick").await;
    assert_eq!(found.body["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(app.wait_finished(&slow_id).await["status"], "succeeded");
}

on_both!(
    prune_leaves_nothing_behind_on_sqlite,
    prune_leaves_nothing_behind_on_postgres,
    prune_leaves_nothing_behind
);

/// `HONE_RETENTION_DAYS`' task prunes at once when it starts, and stops when told.
#[tokio::test]
async fn the_retention_task_prunes_at_start_and_stops() {
    use sqlx::Connection;
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nprint('ok')\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let r = app
        .submit(&json!({"task": "old job", "tests": "pass", "critic": null}))
        .await;
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.wait_finished(&id).await["status"], "succeeded");
    let fresh = app
        .submit(&json!({"task": "new job", "tests": "pass", "critic": null}))
        .await;
    let fresh = fresh.body["id"].as_str().expect("id").to_owned();
    app.wait_finished(&fresh).await;
    let two_days_ago = hone_domain::Timestamp::now().as_millis() - 2 * 86_400_000;
    let mut conn = sqlx::SqliteConnection::connect(&app.db_url)
        .await
        .expect("sqlite");
    sqlx::query("UPDATE jobs SET finished_at = $1 WHERE id = $2")
        .bind(two_days_ago)
        .bind(&id)
        .execute(&mut conn)
        .await
        .expect("age the job");
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let stop = tokio::time::sleep(std::time::Duration::from_millis(500));
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        hone::prune::retention(store, 1, stop),
    )
    .await
    .expect("the task stops when told");
    assert_eq!(app.get(&format!("/v1/jobs/{id}")).await.status, 404);
    assert_eq!(app.get(&format!("/v1/jobs/{fresh}")).await.status, 200);
}
