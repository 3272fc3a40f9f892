//! A fake model server, OpenAI-compatible and Anthropic Messages: a real HTTP listener on 127.0.0.1:0 whose answers are
//! decided by a function of the request, and which records every request it gets.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

/// Decides the answer text from the request's messages (system prompt, user prompt).
pub type Brain = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// Decides how long to wait before answering, from the user prompt (waits never block a
/// thread: the fake must not stall the test's runtime).
pub type Delay = Arc<dyn Fn(&str) -> std::time::Duration + Send + Sync>;

/// A running fake model server.
#[derive(Clone)]
pub struct FakeModel {
    /// Base URL to use as `OPENAI_BASE_URL`.
    pub base_url: String,
    /// Every request body received, in order.
    pub requests: Arc<Mutex<Vec<Value>>>,
    /// When each request arrived (unix ms), in the same order as `requests`.
    pub arrivals: Arc<Mutex<Vec<i64>>>,
    /// Requests being answered now, and the most there ever were at once.
    pub in_flight: Arc<InFlight>,
}

/// Counts the requests a fake is answering.
#[derive(Default)]
pub struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    /// The most requests answered at once so far.
    pub most: std::sync::atomic::AtomicUsize,
}

/// One request being answered; dropping it ends it.
struct Answering(Arc<InFlight>);

impl Answering {
    fn start(counter: &Arc<InFlight>) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = counter.now.fetch_add(1, SeqCst) + 1;
        counter.most.fetch_max(now, SeqCst);
        Self(counter.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct FakeState {
    brain: Brain,
    delay: Delay,
    requests: Arc<Mutex<Vec<Value>>>,
    arrivals: Arc<Mutex<Vec<i64>>>,
    in_flight: Arc<InFlight>,
}

/// A brain answer that makes the fake fail the request with this status instead.
pub const FAIL_WITH_500: &str = "<http 500>";
/// A brain answer that makes the fake refuse the request with `401`, echoing the key it was
/// sent (as some gateways do).
pub const FAIL_WITH_401_ECHO: &str = "<http 401 echo>";

async fn completions(
    State(s): State<FakeState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let _answering = Answering::start(&s.in_flight);
    {
        let mut requests = s.requests.lock().expect("lock");
        requests.push(body.clone());
        let now = hone_domain::Timestamp::now().as_millis();
        s.arrivals.lock().expect("lock").push(now);
    }
    let text_of = |role: &str| -> String {
        body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == role)
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    tokio::time::sleep((s.delay)(&text_of("user"))).await;
    let answer = (s.brain)(&text_of("system"), &text_of("user"));
    if answer == FAIL_WITH_500 {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response();
    }
    if answer == FAIL_WITH_401_ECHO {
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let key = sent.trim_start_matches("Bearer ");
        let message = format!("Incorrect API key provided: {key}. You sent: Authorization: {sent}");
        let body = json!({"error": {"message": message}});
        return (axum::http::StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                  "prompt_tokens_details": {"cached_tokens": 40},
                  "completion_tokens_details": {"reasoning_tokens": 5}}
    }))
    .into_response()
}

/// The same brain behind the Anthropic Messages API (`POST /v1/messages`): the system prompt
/// is top-level, and a request with a forced tool gets the brain's JSON as the tool's input.
async fn messages(
    State(s): State<FakeState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let _answering = Answering::start(&s.in_flight);
    s.requests.lock().expect("lock").push(body.clone());
    let now = hone_domain::Timestamp::now().as_millis();
    s.arrivals.lock().expect("lock").push(now);
    if headers.get("anthropic-version").is_none() || headers.get("x-api-key").is_none() {
        let error = json!({"type": "error", "error": {"type": "authentication_error",
                           "message": "x-api-key and anthropic-version are required"}});
        return (axum::http::StatusCode::UNAUTHORIZED, Json(error)).into_response();
    }
    // Content is a string or a list of text blocks, the system prompt too.
    let text = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    };
    let user: String = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .map(|m| text(&m["content"]))
        .collect::<Vec<_>>()
        .join("\n");
    let system = text(&body["system"]);
    let system = system.as_str();
    tokio::time::sleep((s.delay)(&user)).await;
    let answer = (s.brain)(system, &user);
    let content = match body["tool_choice"]["name"].as_str() {
        Some(name) => {
            let input: Value = serde_json::from_str(&answer).unwrap_or(json!({}));
            json!([{"type": "tool_use", "id": "toolu_fake", "name": name, "input": input}])
        }
        None => json!([{"type": "text", "text": answer}]),
    };
    Json(json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"],
        "content": content, "stop_reason": "end_turn",
        "usage": {"input_tokens": 90, "output_tokens": 20, "cache_read_input_tokens": 10},
    }))
    .into_response()
}

impl FakeModel {
    /// The base URL to use as `ANTHROPIC_BASE_URL` (the same server).
    pub fn anthropic_url(&self) -> String {
        self.base_url.trim_end_matches("/v1").to_owned()
    }

    /// Starts a server answering with `brain` at once.
    pub async fn start(brain: Brain) -> Self {
        Self::start_slow(brain, Arc::new(|_: &str| std::time::Duration::ZERO)).await
    }

    /// Starts a server answering with `brain` after `delay`.
    pub async fn start_slow(brain: Brain, delay: Delay) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        let state = FakeState {
            brain,
            delay,
            requests: requests.clone(),
            arrivals: arrivals.clone(),
            in_flight: in_flight.clone(),
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/messages", post(messages))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake model");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{addr}/v1"),
            requests,
            arrivals,
            in_flight,
        }
    }

    /// Requests whose system prompt contains `needle`.
    pub fn requests_with_system(&self, needle: &str) -> Vec<Value> {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| {
                // OpenAI: the first message; Anthropic: the top-level system blocks.
                let system = match &r["system"] {
                    Value::Null => r["messages"][0]["content"].to_string(),
                    blocks => blocks.to_string(),
                };
                system.contains(needle)
            })
            .cloned()
            .collect()
    }
}
