//! Bad input gets a problem document naming what is wrong, and stores nothing.

use std::sync::Arc;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

async fn app() -> (TestApp, FakeModel) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    (app, model)
}

fn fields(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn each_bad_submission_is_refused_with_the_fields_named_and_nothing_is_stored() {
    let (app, model) = app().await;
    let cases = [
        (json!({"language": "python"}), vec!["task"]),
        (json!({"task": "t", "language": "cobol"}), vec!["language"]),
        (
            json!({"task": "t", "max_iterations": 0}),
            vec!["max_iterations"],
        ),
        (
            json!({"task": "t", "max_iterations": 1000}),
            vec!["max_iterations"],
        ),
        (json!({"task": "t", "colour": "blue"}), vec!["colour"]),
        (
            json!({"task": "t", "limits": {"timeout_ms": -5}}),
            vec!["limits.timeout_ms"],
        ),
        (
            json!({"language": 3, "tests": 4}),
            vec!["task", "language", "tests"],
        ),
    ];
    for (spec, want) in cases {
        let reply = app.submit(&spec).await;
        assert_eq!(reply.status, 422, "{spec}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(reply.body["status"], 422);
        let got = fields(&reply.body);
        for w in want {
            assert!(
                got.iter().any(|g| g == w),
                "{spec}: {w} not named in {got:?}"
            );
        }
    }

    let not_json = app.submit_raw("{\"task\": ".to_owned(), &[]).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.body["type"], "urn:hone:problem:malformed-json");

    let deep = format!(
        "{{\"task\": \"t\", \"metadata\": {}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(app.submit_raw(deep, &[]).await.status, 400);

    let huge = json!({"task": "x".repeat(17 * 1024 * 1024)}).to_string();
    let too_large = app.submit_raw(huge, &[]).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.headers["content-type"],
        "application/problem+json"
    );

    let listed = app.get("/v1/jobs").await;
    assert_eq!(listed.body["items"], json!([]), "nothing may be stored");
    assert!(model.requests.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn one_answer_names_every_bad_field_and_says_which_field_was_meant() {
    let (app, _model) = app().await;
    let reply = app
        .submit(&json!({"language": "cobol", "actor": {"provider": "nope", "model": ""}}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let got = fields(&reply.body);
    for want in ["task", "language", "actor.provider", "actor.model"] {
        assert!(got.iter().any(|g| g == want), "{want} not named in {got:?}");
    }
    let typo = app
        .submit(&json!({"task": "t", "tets": "assert True"}))
        .await;
    assert_eq!(typo.status, 422);
    assert_eq!(typo.body["errors"][0]["field"], "tets");
    assert_eq!(
        typo.body["errors"][0]["message"],
        "unknown field; did you mean \"tests\"?"
    );
    let far = app.submit(&json!({"task": "t", "colour": "blue"})).await;
    assert_eq!(far.body["errors"][0]["message"], "unknown field");
    let nested = app
        .submit(&json!({"task": "t", "limits": {"timeout": 5}}))
        .await;
    assert_eq!(nested.body["errors"][0]["field"], "limits.timeout");
    assert!(
        nested.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("timeout_ms")),
        "{}",
        nested.body
    );
}

#[tokio::test]
async fn wrong_media_type_unknown_routes_and_methods_are_problems_too() {
    let (app, _model) = app().await;
    let form = app
        .http
        .post(format!("{}/v1/jobs", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("task=x")
        .send()
        .await
        .expect("send");
    assert_eq!(form.status().as_u16(), 415);
    let missing = app.get("/v1/nothing-here").await;
    assert_eq!(
        (missing.status, &missing.body["status"]),
        (404, &json!(404))
    );
    let wrong_method = app
        .http
        .delete(format!("{}/v1/jobs", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(wrong_method.status().as_u16(), 405);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );
    let bad_query = app.get("/v1/jobs?status=done&limit=0&cursor=zzz").await;
    assert_eq!(bad_query.status, 400);
    let mut got = fields(&bad_query.body);
    got.sort();
    assert_eq!(got, ["cursor", "limit", "status"]);
    assert_eq!(app.get("/v1/jobs/not-a-uuid").await.status, 404);
    assert_eq!(
        app.get("/v1/jobs/01935f4e-0000-7000-8000-000000000000/attempts")
            .await
            .status,
        404
    );
}
