//! Repair analytics (issue 16): `GET /v1/stats/repair` over a known set of jobs equals the
//! figures computed here from the jobs' own records (`GET /v1/jobs` and their attempts).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::access::key_in_database;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

/// One group's figures as the records give them: `(model, language)` → figures.
#[derive(Debug, Default)]
struct Reference {
    jobs: u64,
    first_passed: u64,
    succeeded: u64,
    solved_at: BTreeMap<u64, u64>,
    iterations: u64,
    tokens: u64,
    no_progress: u64,
    ends: BTreeMap<String, u64>,
    /// category → (issues, fixed)
    categories: BTreeMap<String, (u64, u64)>,
}

/// Whether two JSON values are equal, numbers within a rounding error (JSON parsing need not
/// round the last bit the way the server's arithmetic did).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

macro_rules! assert_same {
    ($got:expr, $want:expr, $ctx:expr) => {
        assert!(same(&$got, &$want), "{} != {}: {}", $got, $want, $ctx)
    };
}

fn rate(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!(part as f64 / whole as f64)
    }
}

async fn reference(app: &TestApp) -> BTreeMap<(String, String), Reference> {
    let jobs = app.get("/v1/jobs?limit=100").await.body;
    let mut groups = BTreeMap::<(String, String), Reference>::new();
    for job in jobs["items"].as_array().expect("items") {
        let status = job["status"].as_str().unwrap_or_default();
        if status != "succeeded" && status != "failed" {
            continue;
        }
        let key = (
            job["spec"]["actor"]["model"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            job["spec"]["language"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let id = job["id"].as_str().expect("id");
        let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
        let attempts = attempts["items"].as_array().expect("attempts").clone();
        let g = groups.entry(key).or_default();
        g.jobs += 1;
        let passed = |a: &Value| a["execution"]["status"] == "passed";
        if attempts.first().is_some_and(passed) {
            g.first_passed += 1;
        }
        let reason = job["outcome"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if reason == "no_progress" {
            g.no_progress += 1;
        }
        *g.ends.entry(reason).or_default() += 1;
        if status == "succeeded" {
            let its = job["iterations"].as_u64().expect("iterations");
            g.succeeded += 1;
            *g.solved_at.entry(its).or_default() += 1;
            g.iterations += its;
            g.tokens += job["usage"]["total_tokens"].as_u64().expect("tokens");
        }
        for pair in attempts.windows(2) {
            let (a, next) = (&pair[0], &pair[1]);
            if a["status"] != "failed" {
                continue;
            }
            for issue in a["critique"]["issues"].as_array().into_iter().flatten() {
                let category = issue["category"].as_str().expect("category").to_owned();
                let c = g.categories.entry(category).or_default();
                c.0 += 1;
                c.1 += u64::from(passed(next));
            }
        }
    }
    groups
}

async fn repair_analytics_equal_the_figures_from_the_records(backend: Backend) {
    let model = FakeModel::start(crate::self_correction::brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let with = |model: &str, tests: Option<&str>, max: u32| {
        let mut spec = crate::self_correction::spec();
        spec["actor"] = json!({"model": model});
        spec["max_iterations"] = json!(max);
        if let Some(tests) = tests {
            spec["tests"] = json!(tests);
        }
        spec
    };
    let specs = [
        with("m-a", None, 4),                 // repaired at iteration 2
        with("m-a", None, 4),                 // again
        with("m-a", Some("assert True"), 4),  // right the first time
        with("m-a", Some("assert False"), 4), // never: the same failure until no progress
        with("m-a", Some("assert False"), 2), // never, out of iterations first
        with("m-b", Some("assert True"), 4),  // another model, right the first time
    ];
    for spec in &specs {
        let (_, job) = app.run_job(spec).await;
        assert!(
            job["status"] == "succeeded" || job["status"] == "failed",
            "{job}"
        );
    }
    let want = reference(&app).await;
    let got = app.get("/v1/stats/repair").await;
    assert_eq!(got.status, 200, "{}", got.body);
    let groups = got.body["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), want.len(), "{}", got.body);
    assert_eq!(groups[0]["model"], "m-a", "most jobs first");
    for g in groups {
        let key = (
            g["model"].as_str().expect("model").to_owned(),
            g["language"].as_str().expect("language").to_owned(),
        );
        let r = &want[&key];
        assert_eq!(g["jobs"], r.jobs, "{g}");
        assert_same!(
            g["first_attempt_pass_rate"],
            rate(r.first_passed, r.jobs),
            g
        );
        assert_same!(g["final_success_rate"], rate(r.succeeded, r.jobs), g);
        let lift = r.succeeded as f64 / r.jobs as f64 - r.first_passed as f64 / r.jobs as f64;
        assert_same!(g["lift"], json!(lift), g);
        let mut so_far = 0;
        let by_iteration: Vec<Value> = r
            .solved_at
            .iter()
            .map(|(i, n)| {
                so_far += n;
                json!({"iteration": i, "solved": n, "solved_so_far_rate": rate(so_far, r.jobs)})
            })
            .collect();
        assert_same!(g["success_by_iteration"], json!(by_iteration), g);
        assert_same!(
            g["mean_iterations_per_solved"],
            rate(r.iterations, r.succeeded),
            g
        );
        assert_same!(g["mean_tokens_per_solved"], rate(r.tokens, r.succeeded), g);
        assert_eq!(g["no_progress"], r.no_progress, "{g}");
        assert_same!(g["no_progress_rate"], rate(r.no_progress, r.jobs), g);
        assert_same!(g["ends"], json!(r.ends), g);
        let categories: BTreeMap<String, (u64, u64)> = g["critique_categories"]
            .as_array()
            .expect("categories")
            .iter()
            .map(|c| {
                let k = c["category"].as_str().expect("category").to_owned();
                let n = (
                    c["issues"].as_u64().unwrap_or(0),
                    c["followed_by_fix"].as_u64().unwrap_or(0),
                );
                (k, n)
            })
            .collect();
        assert_eq!(categories, r.categories, "{g}");
    }
    // The known set in plain numbers: five m-a jobs, one right at once, two repaired.
    let a = &want[&("m-a".to_owned(), "python".to_owned())];
    assert_eq!((a.jobs, a.first_passed, a.succeeded), (5, 1, 3), "{a:?}");
    assert_eq!(
        a.categories["edge_case"].1, 2,
        "two critiques were followed by a fix"
    );
    assert_eq!(a.no_progress, 1, "{a:?}");
    // A bad window changes nothing and says why; another tenant sees nothing.
    for bad in [
        "?since=yesterday",
        "?since=2030-01-01T00:00:00Z",
        "?group_by=model",
    ] {
        let got = app.get(&format!("/v1/stats/repair{bad}")).await;
        assert_eq!(got.status, 400, "{bad}: {}", got.body);
    }
    let other = client_with(&key_in_database(&app, "tenant-b").await);
    let theirs: Value = other
        .get(format!("{}/v1/stats/repair", app.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(theirs["groups"], json!([]));
}

on_both!(
    repair_analytics_equal_the_figures_from_the_records_on_sqlite,
    repair_analytics_equal_the_figures_from_the_records_on_postgres,
    repair_analytics_equal_the_figures_from_the_records
);
