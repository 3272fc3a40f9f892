//! Pages within bounds: list items are summaries (no `files`, `starter_code`, `tests`,
//! `test_cases` or system prompts, which `GET /v1/jobs/{id}` keeps), and `include=spec`
//! pages whole specs within a byte budget that shortens the page and says so with
//! `next_cursor`. On both databases: the summaries are cut by the store's SQL.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// A spec carrying `files` of 256 KiB each, and every other size-bearing field.
fn heavy(task: &str, files: usize) -> Value {
    let files: serde_json::Map<String, Value> = (0..files)
        .map(|i| (format!("f{i}.txt"), Value::String("x".repeat(256 * 1024))))
        .collect();
    json!({
        "task": task,
        "tests": "assert True",
        "starter_code": "def f():\n    pass\n",
        "files": files,
        "max_iterations": 1,
        "actor": {"system_prompt": "You write Python."},
        "critic": {"system_prompt": "You review Python."},
    })
}

async fn pages(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        return;
    };
    let mut ids = BTreeSet::new();
    for i in 0..5 {
        // 12 files of 256 KiB: 3 MiB a spec, so two fit in a page's 8 MiB and three do not.
        let reply = app.submit(&heavy(&format!("job {i}"), 12)).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.insert(reply.body["id"].as_str().expect("id").to_owned());
    }

    let list = app.get("/v1/jobs?limit=500").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for item in items {
        let spec = &item["spec"];
        for gone in ["files", "starter_code", "tests", "test_cases"] {
            assert!(spec.get(gone).is_none(), "{gone} in a summary");
        }
        assert!(spec["actor"].get("system_prompt").is_none());
        assert!(spec["critic"].get("system_prompt").is_none());
        assert!(spec["task"].as_str().is_some_and(|t| t.starts_with("job ")));
        assert_eq!(spec["max_iterations"], 1);
    }
    assert!(list.body["next_cursor"].is_null());
    let one = items[0]["id"].as_str().expect("id");
    let whole = app.get(&format!("/v1/jobs/{one}")).await;
    assert_eq!(
        whole.body["spec"]["files"].as_object().map(|f| f.len()),
        Some(12)
    );
    assert_eq!(whole.body["spec"]["tests"], "assert True");
    assert_eq!(
        whole.body["spec"]["actor"]["system_prompt"],
        "You write Python."
    );

    // Whole specs, a budget at a time: pages of two, then one, each job once.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/v1/jobs?include=spec&limit=500".to_owned();
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().expect("items");
        sizes.push(items.len());
        for item in items {
            assert_eq!(item["spec"]["files"].as_object().map(|f| f.len()), Some(12));
            assert_eq!(item["spec"]["tests"], "assert True");
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/jobs?include=spec&limit=500&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), ids);

    let bad = app.get("/v1/jobs?include=files").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["errors"][0]["field"], "include");
}

on_both!(
    list_items_are_summaries_and_whole_specs_come_within_a_budget_on_sqlite,
    list_items_are_summaries_and_whole_specs_come_within_a_budget_on_postgres,
    pages
);
