//! The Anthropic client against a fake Messages API over real HTTP: the headers, the body,
//! retries on 529 and 429 honouring `retry-after`, and a refusal's message.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hone_domain::prompt::{Message, Role};
use hone_llm::{Anthropic, AnthropicConfig, ChatModel, ChatRequest, LlmError, RetryPolicy};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

#[derive(Clone)]
struct Fake {
    steps: Arc<Vec<(u16, Value)>>,
    seen: Seen,
}

async fn messages(State(f): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let n = {
        let mut seen = f.seen.lock().expect("lock");
        seen.push((headers, body));
        seen.len() - 1
    };
    let (status, body) = f.steps.get(n).cloned().unwrap_or((500, json!({})));
    let mut resp = (StatusCode::from_u16(status).expect("status"), Json(body)).into_response();
    if status == 529 || status == 429 {
        resp.headers_mut()
            .insert("retry-after", "0".parse().expect("header"));
    }
    resp
}

async fn serve(steps: Vec<(u16, Value)>) -> (Anthropic, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/v1/messages", axum::routing::post(messages))
        .with_state(Fake {
            steps: Arc::new(steps),
            seen: seen.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Anthropic::new(AnthropicConfig {
        base_url: format!("http://{addr}"),
        api_key: Some("sk-ant-test".to_owned()),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        },
        max_tokens: 1024,
    })
    .expect("client");
    (client, seen)
}

fn request(schema: bool) -> ChatRequest {
    ChatRequest {
        job: None,
        model: "claude-sonnet-test".to_owned(),
        messages: vec![
            Message::new(Role::System, "You write Python.".to_owned()),
            Message::new(Role::User, "add(a, b)".to_owned()),
        ],
        temperature: 0.2,
        schema: schema.then(|| ("critique".to_owned(), json!({"type": "object"}))),
    }
}

fn overloaded() -> (u16, Value) {
    (
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
}

#[tokio::test]
async fn a_message_survives_overload_and_rate_limits() {
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-test",
        "content": [{"type": "text", "text": "```python\ndef add(a, b):\n    return a + b\n```"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 20, "output_tokens": 12, "cache_read_input_tokens": 0},
    });
    let (client, seen) = serve(vec![
        overloaded(),
        (
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
        ),
        (200, answer),
    ])
    .await;
    let r = client.chat(request(false)).await.expect("an answer");
    assert!(r.content.contains("return a + b"));
    assert_eq!(
        (
            r.usage.prompt_tokens,
            r.usage.completion_tokens,
            r.usage.total_tokens
        ),
        (20, 12, 32)
    );
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 3, "two retries");
    let (headers, body) = &seen[2];
    assert_eq!(headers["x-api-key"], "sk-ant-test");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert!(headers.get("authorization").is_none());
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "You write Python.",
                "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "add(a, b)"}]}])
    );
}

#[tokio::test]
async fn the_critique_is_a_forced_tool_call() {
    let answer = json!({
        "content": [{"type": "tool_use", "id": "t1", "name": "critique",
                     "input": {"verdict": "approve", "summary": "fine", "issues": []}}],
        "usage": {"input_tokens": 5, "output_tokens": 7},
    });
    let (client, seen) = serve(vec![(200, answer)]).await;
    let r = client.chat(request(true)).await.expect("an answer");
    let critique: Value = serde_json::from_str(&r.content).expect("JSON");
    assert_eq!(critique["verdict"], "approve");
    let body = &seen.lock().expect("lock")[0].1;
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "critique"})
    );
}

#[tokio::test]
async fn refusals_are_fatal_and_persistent_overload_is_unavailable() {
    let (client, _) = serve(vec![(
        401,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    )])
    .await;
    match client.chat(request(false)).await {
        Err(LlmError::Fatal {
            status: 401,
            message,
        }) => {
            assert!(message.contains("invalid x-api-key"), "{message}");
            assert!(
                message.contains("check the provider's API key"),
                "{message}"
            );
            assert!(!message.contains("sk-ant-test"));
        }
        other => panic!("expected a fatal 401, got {other:?}"),
    }
    let (client, seen) = serve(vec![overloaded(), overloaded(), overloaded(), overloaded()]).await;
    match client.chat(request(false)).await {
        Err(e @ LlmError::Unavailable { attempts: 4, .. }) => assert!(e.is_transient()),
        other => panic!("expected unavailable after 4 tries, got {other:?}"),
    }
    assert_eq!(seen.lock().expect("lock").len(), 4);
}
