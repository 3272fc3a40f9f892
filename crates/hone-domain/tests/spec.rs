//! The job spec's validation, as a client meets it.

#![expect(
    clippy::expect_used,
    reason = "test helper: a failure is a failed test"
)]

use hone_domain::spec::{Acceptance, JobSpec, Language};
use serde_json::json;

fn fields(value: serde_json::Value) -> Vec<String> {
    JobSpec::parse(&value)
        .expect_err("spec should be rejected")
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_minimal_spec_gets_every_default() {
    let spec = JobSpec::parse(&json!({"task": "print hello"})).unwrap();
    assert_eq!(spec.language, Language::Python);
    assert_eq!(spec.acceptance, Acceptance::Critic);
    assert_eq!(spec.max_iterations, 5);
    assert_eq!(spec.limits.timeout_ms, 10_000);
    assert_eq!(spec.actor.provider, "openai");
    assert!(spec.critic.is_some());
}

#[test]
fn tests_make_tests_the_default_acceptance() {
    let spec =
        JobSpec::parse(&json!({"task": "t", "tests": "assert True", "critic": null})).unwrap();
    assert_eq!(spec.acceptance, Acceptance::Tests);
    assert!(spec.critic.is_none());
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let got = fields(json!({
        "language": "cobol",
        "max_iterations": 0,
        "limits": {"timeout_ms": "fast", "bogus": 1},
        "surprise": true,
        "files": {"../etc/passwd": "x"},
        "test_cases": [{"stdin": "1"}],
        "webhook": {"url": "ftp://x"}
    }));
    for want in [
        "task",
        "language",
        "max_iterations",
        "limits.timeout_ms",
        "limits.bogus",
        "surprise",
        "files.../etc/passwd",
        "test_cases[0].expected_stdout",
        "webhook.url",
    ] {
        assert!(got.iter().any(|f| f == want), "missing {want} in {got:?}");
    }
}

#[test]
fn iteration_bounds_are_enforced() {
    assert_eq!(
        fields(json!({"task": "t", "max_iterations": 1000})),
        ["max_iterations"]
    );
    assert!(JobSpec::parse(&json!({"task": "t", "max_iterations": 50})).is_ok());
}

#[test]
fn acceptance_must_be_satisfiable() {
    assert_eq!(fields(json!({"task": "t", "critic": null})), ["acceptance"]);
    assert_eq!(
        fields(json!({"task": "t", "acceptance": "tests"})),
        ["acceptance"]
    );
}

#[test]
fn non_objects_are_rejected() {
    assert!(JobSpec::parse(&json!([1, 2])).is_err());
    assert_eq!(fields(json!({"task": ""})), ["task"]);
    assert_eq!(fields(json!({"task": 5})), ["task"]);
}

#[test]
fn integral_numbers_count_as_integers_as_json_schema_says() {
    let spec = JobSpec::parse(&json!({"task": "t", "max_iterations": 7.0, "priority": -3.0}))
        .expect("7.0 is an integer");
    assert_eq!(spec.max_iterations, 7);
    assert_eq!(spec.priority, -3);
    assert_eq!(
        fields(json!({"task": "t", "max_iterations": 7.5})),
        ["max_iterations"]
    );
}
