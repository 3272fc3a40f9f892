//! Cost through the API (issue 15): named providers from a configuration file, each call's
//! usage priced by the configured table (cached and reasoning tokens visible), the job's
//! cost the sum of its calls'; `budget.max_cost_usd` stops a job before a call would cross
//! it; a tenant at its daily spend quota has new jobs refused and its running job stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hone_domain::{TenantId, Usd};
use hone_store::TenantQuotas;
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// Dollars per million tokens of the test model: input, cached input, output.
const PRICE: (f64, f64, f64) = (2.0, 0.5, 8.0);

/// One fake call's cost: 100 prompt tokens of which 40 cached, 20 completion tokens.
fn call_cost() -> f64 {
    (60.0 * PRICE.0 + 40.0 * PRICE.1 + 20.0 * PRICE.2) / 1e6
}

/// A service whose configuration file names the fake model `local` and prices `m-priced`.
async fn app_with_prices(
    backend: Backend,
    model: &FakeModel,
) -> Option<(TestApp, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hone.toml");
    let (input, cache_read, output) = PRICE;
    let text = format!(
        "[providers.local]\nbase_url = \"{}\"\nmax_concurrency = 4\n\n\
         [prices.m-priced]\ninput = {input}\noutput = {output}\ncache_read = {cache_read}\n",
        model.base_url
    );
    std::fs::write(&file, text).expect("config file");
    let path = file.display().to_string();
    let app = TestApp::start_with(backend, model, &["--config", &path]).await?;
    Some((app, dir))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

async fn each_call_is_priced_and_the_job_costs_their_sum(backend: Backend) {
    let model = FakeModel::start(crate::self_correction::brain()).await;
    let Some((app, _dir)) = app_with_prices(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let mut spec = crate::self_correction::spec();
    spec["actor"] = json!({"provider": "local", "model": "m-priced"});
    spec["critic"] = json!({"provider": "openai", "model": "m-priced"});
    let (id, job) = app.run_job(&spec).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let mut sum = 0.0;
    let mut calls = 0;
    for attempt in attempts["items"].as_array().expect("items") {
        for role in ["actor", "critic"] {
            let usage = &attempt[role]["usage"];
            assert_eq!(usage["cache_read_tokens"], 40, "{usage}");
            assert_eq!(usage["reasoning_tokens"], 5, "{usage}");
            let cost = usage["cost_usd"].as_f64().expect("cost_usd");
            assert!(close(cost, call_cost()), "{cost} != {}", call_cost());
            sum += cost;
            calls += 1;
        }
        assert_eq!(attempt["actor"]["provider"], "local");
    }
    assert_eq!(calls, 4, "two iterations of actor and critic");
    let total = job["usage"]["cost_usd"].as_f64().expect("job cost");
    assert!(close(total, sum), "{total} != {sum}");
    assert_eq!(job["usage"]["cache_read_tokens"], 4 * 40);
    assert_eq!(job["usage"]["reasoning_tokens"], 4 * 5);
}

on_both!(
    each_call_is_priced_and_the_job_costs_their_sum_on_sqlite,
    each_call_is_priced_and_the_job_costs_their_sum_on_postgres,
    each_call_is_priced_and_the_job_costs_their_sum
);

/// Wrong code every time, failing differently each time (no `no_progress` stop).
async fn wrong_model() -> FakeModel {
    let n = Arc::new(AtomicUsize::new(0));
    FakeModel::start(Arc::new(move |_: &str, _: &str| {
        let n = n.fetch_add(1, Ordering::SeqCst);
        format!("```python\nraise ValueError('attempt {n}')\n```")
    }))
    .await
}

fn failing_job(extra: Value) -> Value {
    let mut job = json!({"task": "t", "tests": "assert True", "critic": null,
                         "max_iterations": 10,
                         "actor": {"provider": "local", "model": "m-priced"}});
    if let (Some(j), Some(e)) = (job.as_object_mut(), extra.as_object()) {
        j.extend(e.clone());
    }
    job
}

#[tokio::test]
async fn a_cost_budget_stops_the_job_before_a_call_would_cross_it() {
    let model = wrong_model().await;
    let (app, _dir) = app_with_prices(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    // Three calls cost 0.0009; a fourth would make 0.0012.
    let max = 3.5 * call_cost();
    let (_, done) = app
        .run_job(&failing_job(json!({"budget": {"max_cost_usd": max}})))
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["outcome"]["reason"], "budget_exhausted", "{done}");
    assert_eq!(done["iterations"], 3, "{done}");
    let spent = done["usage"]["cost_usd"].as_f64().expect("cost");
    assert!(close(spent, 3.0 * call_cost()), "{spent}");
    assert!(spent <= max);
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cost budget"), "{message}");
    let kept = done["spec"]["budget"]["max_cost_usd"]
        .as_f64()
        .expect("kept");
    assert!(close(kept, max), "kept as given: {kept}");
}

#[tokio::test]
async fn a_tenant_at_its_daily_spend_quota_is_refused_new_jobs() {
    let model = wrong_model().await;
    let (app, _dir) = app_with_prices(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let quota = Usd::from_dollars(1.5 * call_cost());
    let quotas = TenantQuotas {
        max_cost_usd_per_day: Some(quota),
        ..TenantQuotas::default()
    };
    let tenant = TenantId::parse("default").expect("tenant");
    assert!(store.set_quotas(&tenant, quotas).await.expect("set"));
    let (_, done) = app.run_job(&failing_job(json!({}))).await;
    assert_eq!(done["outcome"]["reason"], "budget_exhausted", "{done}");
    assert_eq!(
        done["iterations"], 2,
        "the second call reached the quota: {done}"
    );
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("daily spend quota"), "{message}");

    let refused = app.submit(&failing_job(json!({}))).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["quota"], "cost_usd_per_day");
    let limit = refused.body["limit"].as_f64().expect("limit");
    assert!(close(limit, quota.dollars()), "{limit}");
    assert!(refused.headers.contains_key("retry-after"));
    let usage = store.tenant_usage(Some(&tenant)).await.expect("usage");
    assert_eq!(
        usage[0].cost_usd_today,
        Usd::from_dollars(2.0 * call_cost())
    );
}

/// `hone serve` with `args` and `env`, expected to refuse to start: its stderr.
pub(crate) fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["serve", "--database-url", &db, "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("HONE_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .expect("run hone");
    assert!(!out.status.success(), "it started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_environment_overrides_the_configuration_file_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hone.toml");
    std::fs::write(
        &file,
        "[providers.local]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .expect("file");
    let path = file.display().to_string();
    let err = refused_start(
        &["--config", &path],
        &[("HONE_PROVIDERS__LOCAL__BASE_URL", "ftp://elsewhere")],
    );
    assert!(err.contains("providers.local.base_url"), "{err}");
    assert!(err.contains("ftp://elsewhere"), "the variable won: {err}");
    let err = refused_start(&["--config", "/nonexistent/hone.toml"], &[]);
    assert!(err.contains("/nonexistent/hone.toml is missing"), "{err}");
    std::fs::write(&file, "[providers.local]\nbase_url = 3\n").expect("file");
    let err = refused_start(&["--config", &path], &[]);
    assert!(err.contains("hone.toml"), "names the file: {err}");
}
