//! Tenants' quotas through the API: a tenant at its queued-jobs quota gets `429` naming it
//! while another tenant goes on; a tenant whose jobs spent the day's tokens gets `429` with
//! `Retry-After`, and its running job stops with `budget_exhausted`.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::TenantId;
use hone_store::TenantQuotas;
use serde_json::{Value, json};

use crate::access::{key_in_database, spec};
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

async fn set_quotas(app: &TestApp, tenant: &str, quotas: TenantQuotas) {
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let tenant = TenantId::parse(tenant).expect("tenant");
    assert!(store.set_quotas(&tenant, quotas).await.expect("set quotas"));
}

async fn a_tenant_at_its_queued_quota_is_refused_and_another_is_not(backend: Backend) {
    // The model answers after 10 s: the first job runs, the rest wait in the queue.
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "print(1)".to_owned()),
        Arc::new(|_: &str| Duration::from_secs(10)),
    )
    .await;
    let Some(app) = TestApp::start_with(backend, &model, &["--max-running-per-tenant", "1"]).await
    else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let other = client_with(&key_in_database(&app, "tenant-b").await);
    set_quotas(
        &app,
        "default",
        TenantQuotas {
            max_queued_jobs: Some(2),
            max_tokens_per_day: None,
            max_cost_usd_per_day: None,
        },
    )
    .await;
    // One job runs (and, at one running job a tenant, no other starts for 10 s), so the
    // queue holds still while the test fills it.
    let first = app.submit(&spec()).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for _ in 0..100 {
        if app.get(&format!("/v1/jobs/{first}")).await.body["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut refused = None;
    for _ in 0..5 {
        let reply = app.submit(&spec()).await;
        if reply.status == 429 {
            refused = Some(reply);
            break;
        }
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    let refused = refused.expect("the quota refused a submission");
    assert_eq!(refused.body["type"], "urn:hone:problem:quota-exceeded");
    assert_eq!(refused.body["quota"], "queued_jobs");
    assert_eq!(refused.body["limit"], 2);
    let queued = app.get("/v1/jobs?status=queued").await.body["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(queued, 2, "the refusal stored nothing");
    let batch = app
        .post_json(
            "/v1/jobs/batch",
            json!({"items": [spec()]}).to_string(),
            &[],
        )
        .await;
    assert_eq!(batch.status, 429, "{}", batch.body);

    let reply = other
        .post(format!("{}/v1/jobs", app.base))
        .json(&spec())
        .send()
        .await
        .expect("submit");
    assert_eq!(reply.status().as_u16(), 202, "tenant B has no quota");
}

on_both!(
    a_tenant_at_its_queued_quota_is_refused_and_another_is_not_on_sqlite,
    a_tenant_at_its_queued_quota_is_refused_and_another_is_not_on_postgres,
    a_tenant_at_its_queued_quota_is_refused_and_another_is_not
);

#[tokio::test]
async fn spent_daily_tokens_stop_running_jobs_and_refuse_new_ones() {
    // Wrong code every time: the job would iterate 5 times; each model call costs 120 tokens.
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nraise SystemExit(1)\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    set_quotas(
        &app,
        "default",
        TenantQuotas {
            max_queued_jobs: None,
            max_tokens_per_day: Some(200),
            max_cost_usd_per_day: None,
        },
    )
    .await;
    let job = json!({"task": "t", "tests": "assert True", "critic": null, "max_iterations": 5});
    let id = app.submit(&job).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let done: Value = app.wait_finished(&id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["outcome"]["reason"], "budget_exhausted", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("daily quota of 200"), "{message}");
    assert_eq!(
        done["iterations"], 2,
        "120 tokens, then 240 >= 200: no third"
    );

    let refused = app.submit(&job).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["quota"], "tokens_per_day");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!(
        (1..=86_400).contains(&retry),
        "until the next UTC day: {retry}"
    );
}
