//! The OpenAI-compatible client: `POST {base}/chat/completions`, non-streaming, with retries
//! on 429, 5xx and network errors (exponential backoff with jitter, `Retry-After` honoured).

use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use hone_domain::Usage;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ChatModel, ChatRequest, ChatResponse, LlmError, snippet};

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: usize,
    /// The first backoff.
    pub min_delay: Duration,
    /// The longest backoff (and the longest `Retry-After` honoured).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

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
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| LlmError::Decode(format!("cannot build the HTTP client: {e}")))?;
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

/// One try's failure, before the retry decision.
#[derive(Debug)]
enum Attempt {
    /// Retry (after `retry_after` if the provider said so).
    Transient {
        why: String,
        retry_after: Option<Duration>,
    },
    /// Do not retry.
    Fatal(LlmError),
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
}

/// A URL as errors show it: no user info (a key could hide there), no query.
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "the configured base URL (not a valid URL)".to_owned(),
    }
}

/// Why a request got no answer, in words an operator can act on: refused, DNS, TLS, timeout,
/// followed by the innermost cause. reqwest errors carry no header, so no key is shown.
fn describe(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        causes.push(s.to_string());
        source = s.source();
    }
    let all = causes.join(": ").to_ascii_lowercase();
    let kind = if e.is_timeout() {
        "timed out"
    } else if refused || all.contains("connection refused") {
        "connection refused"
    } else if all.contains("dns error") || all.contains("failed to lookup") {
        "DNS lookup failed"
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        "TLS failed"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match causes.last() {
        Some(inner) => format!("{kind} ({})", crate::snippet(inner)),
        None => kind.to_owned(),
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

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
        let text = resp.text().await.map_err(|e| Attempt::Transient {
            why: format!("reading the answer failed: {}", e.without_url()),
            retry_after: None,
        })?;
        if status.is_success() {
            return parse_completion(&text).map_err(Attempt::Fatal);
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
        let hint = match status.as_u16() {
            401 => " (check the provider's API key)",
            403 => " (the API key may lack access to this model)",
            404 => " (check the base URL and the model name)",
            _ => "",
        };
        Err(Attempt::Fatal(LlmError::Fatal {
            status: status.as_u16(),
            message: format!("{}{hint}", snippet(&text)),
        }))
    }

    async fn send(&self, body: Value) -> Result<ChatResponse, LlmError> {
        let mut tries = 0u32;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let max_delay = self.retry.max_delay;
        let result = (|| {
            tries += 1;
            self.try_once(&body)
        })
        .retry(backoff)
        .when(|e| matches!(e, Attempt::Transient { .. }))
        .adjust(move |e, planned| match e {
            Attempt::Transient {
                retry_after: Some(after),
                ..
            } => planned.map(|_| (*after).min(max_delay)),
            _ => planned,
        })
        .notify(|e, wait| tracing::warn!(error = ?e, ?wait, "model call failed; retrying"))
        .await;
        result.map_err(|e| match e {
            Attempt::Fatal(e) => e,
            Attempt::Transient { why, .. } => LlmError::Unavailable {
                attempts: tries,
                last: why,
            },
        })
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
    let usage = completion.usage.map_or(Usage::default(), |u| Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: if u.total_tokens > 0 {
            u.total_tokens
        } else {
            u.prompt_tokens + u.completion_tokens
        },
    });
    Ok(ChatResponse { content, usage })
}

#[async_trait]
impl ChatModel for OpenAiCompatible {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut body = json!({
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
        });
        if let Some((name, schema)) = &request.schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": name, "strict": true, "schema": schema},
            });
            match self.send(body.clone()).await {
                // Servers without structured output reject the field: ask again without it;
                // the caller parses tolerantly.
                Err(LlmError::Fatal {
                    status: 400 | 422, ..
                }) => {
                    if let Some(obj) = body.as_object_mut() {
                        obj.remove("response_format");
                    }
                }
                other => return other,
            }
        }
        self.send(body).await
    }
}
