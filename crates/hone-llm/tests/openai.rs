//! The OpenAI-compatible client against a fake provider over real HTTP.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hone_domain::prompt::{Message, Role};
use hone_llm::{
    ChatModel, ChatRequest, LlmError, OpenAiCompatible, OpenAiConfig, Replay, RetryPolicy,
};
use serde_json::{Value, json};

/// Answers each request with the next scripted (status, body); counts requests.
#[derive(Clone)]
struct Script {
    steps: Arc<Vec<(u16, Value)>>,
    seen: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn handler(State(s): State<Script>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let n = s.seen.fetch_add(1, Ordering::SeqCst);
    s.bodies.lock().expect("lock").push((headers, body));
    let (status, body) = s.steps.get(n).cloned().unwrap_or((500, json!({})));
    let mut resp = (StatusCode::from_u16(status).expect("status"), Json(body)).into_response();
    if status == 429 {
        resp.headers_mut()
            .insert("retry-after", "0".parse().expect("header"));
    }
    resp
}

async fn serve(steps: Vec<(u16, Value)>) -> (String, Script) {
    let script = Script {
        steps: Arc::new(steps),
        seen: Arc::new(AtomicUsize::new(0)),
        bodies: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(handler))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), script)
}

fn client(base_url: String) -> OpenAiCompatible {
    OpenAiCompatible::new(OpenAiConfig {
        base_url,
        api_key: Some("sk-secret-test-key".into()),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        },
    })
    .expect("client")
}

fn request(schema: bool) -> ChatRequest {
    ChatRequest {
        job: None,
        model: "m".into(),
        messages: vec![Message::new(Role::User, "hi".into())],
        temperature: 0.0,
        schema: schema.then(|| ("critique".to_owned(), json!({"type": "object"}))),
    }
}

fn completion(text: &str) -> Value {
    json!({"choices": [{"message": {"role": "assistant", "content": text}}],
           "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}})
}

#[tokio::test]
async fn transient_failures_are_retried_and_usage_is_counted() {
    let (url, script) = serve(vec![
        (500, json!({})),
        (429, json!({})),
        (200, completion("hello")),
    ])
    .await;
    let answer = client(url).chat(request(false)).await.expect("answer");
    assert_eq!(answer.content, "hello");
    assert_eq!(answer.usage.total_tokens, 10);
    assert_eq!(script.seen.load(Ordering::SeqCst), 3);
    let bodies = script.bodies.lock().expect("lock");
    let auth = bodies[0].0.get("authorization").expect("auth header");
    assert_eq!(auth, "Bearer sk-secret-test-key");
}

#[tokio::test]
async fn auth_errors_are_fatal_at_once_and_never_echo_the_key() {
    let (url, script) = serve(vec![(401, json!({"error": {"message": "bad key"}}))]).await;
    let err = client(url).chat(request(false)).await.expect_err("fatal");
    assert!(matches!(err, LlmError::Fatal { status: 401, .. }));
    assert!(!err.to_string().contains("sk-secret"));
    assert!(err.to_string().contains("API key"));
    assert_eq!(script.seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_retries() {
    let (url, script) = serve(vec![]).await;
    let err = client(url)
        .chat(request(false))
        .await
        .expect_err("unavailable");
    assert!(
        matches!(err, LlmError::Unavailable { attempts: 4, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert_eq!(script.seen.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn structured_output_falls_back_when_the_server_rejects_it() {
    let (url, script) = serve(vec![
        (400, json!({"error": "response_format unsupported"})),
        (200, completion("{}")),
    ])
    .await;
    client(url).chat(request(true)).await.expect("answer");
    let bodies = script.bodies.lock().expect("lock");
    assert!(bodies[0].1.get("response_format").is_some());
    assert!(bodies[1].1.get("response_format").is_none());
}

#[tokio::test]
async fn replay_answers_in_order_and_by_match() {
    let replay = Replay::from_jsonl(
        "{\"match\": \"IndexError\", \"content\": \"fixed\"}\n{\"content\": \"first\"}\n",
    )
    .expect("transcript");
    assert_eq!(
        replay.chat(request(false)).await.expect("first").content,
        "first"
    );
    let mut with_tb = request(false);
    with_tb.messages[0].content = "Traceback ... IndexError".into();
    assert_eq!(replay.chat(with_tb).await.expect("second").content, "fixed");
    assert!(matches!(
        replay.chat(request(false)).await,
        Err(LlmError::ReplayExhausted)
    ));
    assert!(Replay::from_jsonl("{\"contents\": 1}").is_err());
}

#[tokio::test]
async fn an_unreachable_provider_is_named_with_the_cause_and_never_the_key() {
    // A port nobody listens on: bind one, note it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = client(format!("http://127.0.0.1:{port}/v1"))
        .chat(request(false))
        .await
        .expect_err("nobody listens");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "cannot reach http://127.0.0.1:{port}/v1/chat/completions"
        )),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains("sk-secret-test-key"), "{text}");
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_failure() {
    let err = client("http://hone-test.invalid/v1".to_owned())
        .chat(request(false))
        .await
        .expect_err("no such host");
    assert!(err.to_string().contains("DNS lookup failed"), "{err}");
}

#[tokio::test]
async fn every_job_replays_the_transcript_from_its_start() {
    let replay =
        hone_llm::Replay::from_jsonl("{\"content\": \"first\"}\n{\"content\": \"second\"}\n")
            .expect("transcript");
    for _ in 0..2 {
        let job = Some(hone_domain::JobId::new());
        let mut req = request(false);
        req.job = job;
        assert_eq!(replay.chat(req.clone()).await.expect("1").content, "first");
        assert_eq!(replay.chat(req.clone()).await.expect("2").content, "second");
        assert!(
            replay.chat(req).await.is_err(),
            "the transcript is used up for this job"
        );
    }
}
