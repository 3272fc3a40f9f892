//! Prompt caching (issue 15): every call of a role in a job starts with the same bytes (the
//! system prompt, then the task and its tests); OpenAI requests carry the job's
//! `prompt_cache_key`, Anthropic requests put `cache_control` breakpoints after the system
//! prompt and after that stable prefix; and the cached tokens the providers report show in
//! the usage.

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};
use crate::self_correction::{brain, spec};

#[tokio::test]
async fn openai_calls_share_a_prefix_and_the_jobs_cache_key() {
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let (id, job) = app.run_job(&spec()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    for role in ["expert", "code reviewer"] {
        let calls = model.requests_with_system(role);
        assert_eq!(calls.len(), 2, "{role}: two iterations");
        for call in &calls {
            assert_eq!(call["prompt_cache_key"], json!(format!("hone-{id}")));
        }
        // System prompt and task, byte for byte; what changes comes after.
        let prefix =
            |call: &serde_json::Value| call["messages"].as_array().map(|m| m[..2].to_vec());
        assert_eq!(prefix(&calls[0]), prefix(&calls[1]), "{role}");
        assert_ne!(calls[0]["messages"], calls[1]["messages"]);
    }
    assert_eq!(
        job["usage"]["cache_read_tokens"],
        4 * 40,
        "the cached tokens reported"
    );
}

#[tokio::test]
async fn anthropic_calls_mark_the_system_prompt_and_the_task_for_the_cache() {
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start_anthropic(&model).await;
    let mut spec = spec();
    spec["actor"] = json!({"provider": "anthropic", "model": "claude-sonnet-4-5"});
    spec["critic"] = json!({"provider": "anthropic", "model": "claude-sonnet-4-5"});
    let (_, job) = app.run_job(&spec).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    for role in ["expert", "code reviewer"] {
        let calls = model.requests_with_system(role);
        assert_eq!(calls.len(), 2, "{role}");
        for call in &calls {
            assert_eq!(call["system"][0]["cache_control"]["type"], "ephemeral");
            let first = &call["messages"][0]["content"];
            assert_eq!(first[0]["cache_control"]["type"], "ephemeral", "{call}");
            assert!(
                first[0]["text"]
                    .as_str()
                    .expect("text")
                    .starts_with("## Task")
            );
            assert!(
                first[1]["cache_control"].is_null(),
                "only the stable prefix"
            );
        }
        assert_eq!(
            calls[0]["messages"][0]["content"][0], calls[1]["messages"][0]["content"][0],
            "{role}: the same task block in both iterations"
        );
    }
    assert_eq!(job["usage"]["cache_read_tokens"], 4 * 10, "{job}");
}
