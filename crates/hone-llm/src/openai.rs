//! The OpenAI-compatible client: `POST {base}/chat/completions`, non-streaming, with retries
//! on 429, 5xx and network errors ([`crate::http`]).

use std::time::Duration;

use async_trait::async_trait;
use hone_domain::{Usage, Usd};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Attempt, RetryPolicy, client, describe, hint, retry_after, shown, with_retries};
use crate::{ChatModel, ChatRequest, ChatResponse, LlmError, snippet};

/// Where and how to reach the provider.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A client of one OpenAI-compatible endpoint.
pub struct OpenAiCompatible {
    http: reqwest::Client,
    url: String,
    /// `url` without user info or query, for error messages.
    shown_url: String,
    api_key: Option<String>,
    retry: RetryPolicy,
}

impl OpenAiCompatible {
    /// A client for `config`.
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let http = client(config.timeout)?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            shown_url: shown(&url),
            url,
            api_key: config.api_key,
            retry: config.retry,
        })
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// The call's price in dollars, where the server reports one (OpenRouter).
    #[serde(default)]
    cost: Option<f64>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    /// Tokens written to the cache, where the server counts them (OpenRouter, LiteLLM).
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The header LiteLLM's proxy reports a call's price in, in dollars.
const LITELLM_COST: &str = "x-litellm-response-cost";

impl OpenAiCompatible {
    async fn try_once(&self, body: &Value) -> Result<ChatResponse, Attempt> {
        let mut req = self.http.post(&self.url).json(body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| Attempt::Transient {
            why: format!("cannot reach {}: {}", self.shown_url, describe(&e)),
            retry_after: None,
        })?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        let header_cost = resp
            .headers()
            .get(LITELLM_COST)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let text = resp.text().await.map_err(|e| Attempt::Transient {
            why: format!("reading the answer failed: {}", e.without_url()),
            retry_after: None,
        })?;
        if status.is_success() {
            let mut response = parse_completion(&text).map_err(Attempt::Fatal)?;
            response.cost = response.cost.or(header_cost.map(Usd::from_dollars));
            return Ok(response);
        }
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            return Err(Attempt::Transient {
                why: format!("HTTP {}: {}", status.as_u16(), snippet(&text)),
                retry_after: after,
            });
        }
        Err(Attempt::Fatal(LlmError::Fatal {
            status: status.as_u16(),
            message: format!("{}{}", snippet(&text), hint(status.as_u16())),
        }))
    }

    async fn send(&self, body: Value) -> Result<ChatResponse, LlmError> {
        with_retries(self.retry, || self.try_once(&body)).await
    }
}

fn parse_completion(text: &str) -> Result<ChatResponse, LlmError> {
    let completion: Completion = serde_json::from_str(text)
        .map_err(|e| LlmError::Decode(format!("{e}: {}", snippet(text))))?;
    let content = completion
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .ok_or_else(|| LlmError::Decode("the answer has no choices".to_owned()))?;
    let Some(u) = completion.usage else {
        return Ok(ChatResponse::new(content, Usage::default()));
    };
    let prompt = u.prompt_tokens_details.as_ref();
    let usage = Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: if u.total_tokens > 0 {
            u.total_tokens
        } else {
            u.prompt_tokens + u.completion_tokens
        },
        cache_read_tokens: prompt.and_then(|d| d.cached_tokens).unwrap_or(0),
        cache_write_tokens: prompt.and_then(|d| d.cache_write_tokens).unwrap_or(0),
        reasoning_tokens: u
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
        ..Usage::default()
    };
    Ok(ChatResponse {
        content,
        usage,
        cost: u.cost.filter(|c| c.is_finite()).map(Usd::from_dollars),
    })
}

/// The fields a request may carry that not every OpenAI-compatible server takes: a server
/// that refuses the request with them is asked again without them.
const OPTIONAL: [&str; 2] = ["response_format", "prompt_cache_key"];

#[async_trait]
impl ChatModel for OpenAiCompatible {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut body = json!({
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
        });
        // Every call of a job shares its prompt prefix: the key routes them to the same
        // cache (OpenAI's prompt caching).
        if let Some(job) = request.job {
            body["prompt_cache_key"] = json!(format!("hone-{job}"));
        }
        if let Some((name, schema)) = &request.schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": name, "strict": true, "schema": schema},
            });
        }
        if OPTIONAL.iter().all(|k| body.get(k).is_none()) {
            return self.send(body).await;
        }
        match self.send(body.clone()).await {
            // Servers without structured output or prompt-cache keys reject the fields: ask
            // again without them; the caller parses tolerantly.
            Err(LlmError::Fatal {
                status: 400 | 422, ..
            }) => {
                if let Some(obj) = body.as_object_mut() {
                    for k in OPTIONAL {
                        obj.remove(k);
                    }
                }
            }
            other => return other,
        }
        self.send(body).await
    }
}
