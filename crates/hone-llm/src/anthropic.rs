//! The Anthropic Messages API client: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version`, the system prompt top-level, `max_tokens` always sent, consecutive
//! turns of one role merged (the API wants them alternating). Retries on 429, 529
//! (overloaded), 408, 5xx and network errors, honouring `retry-after` ([`crate::http`]).
//! Structured output (the critique) is a forced tool call whose `input_schema` is the JSON
//! schema: the tool's input is the answer.

use std::time::Duration;

use async_trait::async_trait;
use hone_domain::Usage;
use hone_domain::prompt::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Attempt, RetryPolicy, client, describe, hint, retry_after, shown, with_retries};
use crate::{ChatModel, ChatRequest, ChatResponse, LlmError, snippet};

/// The public API's base URL.
pub const ANTHROPIC_PUBLIC_URL: &str = "https://api.anthropic.com";
/// The API version hone speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Where and how to reach Anthropic.
#[derive(Clone)]
pub struct AnthropicConfig {
    /// Base URL, e.g. `https://api.anthropic.com`; `/v1/messages` is appended.
    pub base_url: String,
    /// Sent as `x-api-key`.
    pub api_key: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// The most tokens an answer may have (the API requires a number).
    pub max_tokens: u32,
}

impl std::fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

/// A client of the Anthropic Messages API.
pub struct Anthropic {
    http: reqwest::Client,
    url: String,
    shown_url: String,
    api_key: Option<String>,
    retry: RetryPolicy,
    max_tokens: u32,
}

impl Anthropic {
    /// A client for `config`.
    pub fn new(config: AnthropicConfig) -> Result<Self, LlmError> {
        let http = client(config.timeout)?;
        let url = format!("{}/v1/messages", config.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            shown_url: shown(&url),
            url,
            api_key: config.api_key,
            retry: config.retry,
            max_tokens: config.max_tokens.max(1),
        })
    }

    async fn try_once(&self, body: &Value) -> Result<ChatResponse, Attempt> {
        let mut req = self
            .http
            .post(&self.url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(body);
        if let Some(key) = &self.api_key {
            req = req.header("x-api-key", key);
        }
        let resp = req.send().await.map_err(|e| Attempt::Transient {
            why: format!("cannot reach {}: {}", self.shown_url, describe(&e)),
            retry_after: None,
        })?;
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let text = resp.text().await.map_err(|e| Attempt::Transient {
            why: format!("reading the answer failed: {}", e.without_url()),
            retry_after: None,
        })?;
        if (200..300).contains(&status) {
            return parse_message(&text).map_err(Attempt::Fatal);
        }
        let message = error_message(&text);
        if matches!(status, 408 | 429 | 529) || status >= 500 {
            return Err(Attempt::Transient {
                why: format!("HTTP {status}: {message}"),
                retry_after: after,
            });
        }
        Err(Attempt::Fatal(LlmError::Fatal {
            status,
            message: format!("{message}{}", hint(status)),
        }))
    }
}

/// The `error.message` of an Anthropic error body, or the body cut short.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(snippet))
        .unwrap_or_else(|| snippet(text))
}

/// A prompt-cache breakpoint: the prompt up to this block is cached for five minutes.
fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// The request body: top-level system prompt, alternating turns (a turn of several
/// messages is one text block each), the forced tool for a schema, and prompt-cache
/// breakpoints after the system prompt and after the job's stable prefix (the message
/// marked [`Message::cache_break`]).
fn body(request: &ChatRequest, max_tokens: u32) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in request.messages.iter().filter(|m| m.role != Role::System) {
        let role = if m.role == Role::Assistant {
            "assistant"
        } else {
            "user"
        };
        let mut block = json!({"type": "text", "text": m.content});
        if m.cache_break {
            block["cache_control"] = ephemeral();
        }
        match turns.last_mut() {
            Some((last, blocks)) if *last == role => blocks.push(block),
            _ => turns.push((role, vec![block])),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": max_tokens,
        "messages": messages,
        "temperature": request.temperature.clamp(0.0, 1.0),
    });
    if !system.is_empty() {
        body["system"] = json!([{"type": "text", "text": system.join("\n\n"),
                                 "cache_control": ephemeral()}]);
    }
    if let Some((name, schema)) = &request.schema {
        body["tools"] = json!([{
            "name": name,
            "description": "Give the answer in this structure.",
            "input_schema": schema,
        }]);
        body["tool_choice"] = json!({"type": "tool", "name": name});
    }
    body
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Block {
    #[serde(rename = "text")]
    Text { text: String },
    #[serde(rename = "tool_use")]
    ToolUse { input: Value },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

/// The answer: a forced tool call's input as JSON text, else the text blocks joined.
fn parse_message(text: &str) -> Result<ChatResponse, LlmError> {
    let message: WireMessage = serde_json::from_str(text)
        .map_err(|e| LlmError::Decode(format!("{e}: {}", snippet(text))))?;
    let tool = message.content.iter().find_map(|b| match b {
        Block::ToolUse { input } => Some(input.to_string()),
        _ => None,
    });
    let content = match tool {
        Some(json) => json,
        None => {
            let texts: Vec<&str> = message
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            if texts.is_empty() {
                return Err(LlmError::Decode("the answer has no text".to_owned()));
            }
            texts.join("")
        }
    };
    let usage = message.usage.map_or(Usage::default(), |u| {
        // Anthropic counts cached prompt tokens apart from `input_tokens`; all were read.
        let prompt = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
        Usage {
            prompt_tokens: prompt,
            completion_tokens: u.output_tokens,
            total_tokens: prompt + u.output_tokens,
            cache_read_tokens: u.cache_read_input_tokens,
            cache_write_tokens: u.cache_creation_input_tokens,
            ..Usage::default()
        }
    });
    Ok(ChatResponse::new(content, usage))
}

#[async_trait]
impl ChatModel for Anthropic {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = body(&request, self.max_tokens);
        with_retries(self.retry, || self.try_once(&body)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_domain::prompt::Message;

    fn m(role: Role, content: &str) -> Message {
        Message::new(role, content.to_owned())
    }

    #[test]
    fn the_system_prompt_is_top_level_and_turns_alternate() {
        let request = ChatRequest {
            job: None,
            model: "claude-x".to_owned(),
            messages: vec![
                m(Role::System, "be brief"),
                m(Role::User, "a").stable(),
                m(Role::User, "b"),
                m(Role::Assistant, "c"),
                m(Role::User, "d"),
            ],
            temperature: 1.5,
            schema: Some(("critique".to_owned(), json!({"type": "object"}))),
        };
        let b = body(&request, 512);
        assert_eq!(b["system"][0]["text"], "be brief");
        assert_eq!(b["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(b["max_tokens"], 512);
        assert_eq!(b["temperature"], 1.0, "Anthropic takes 0 to 1");
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["role"].as_str())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        let first = &b["messages"][0]["content"];
        assert_eq!(first[0]["text"], "a");
        assert_eq!(
            first[0]["cache_control"]["type"], "ephemeral",
            "the stable prefix"
        );
        assert_eq!(first[1], json!({"type": "text", "text": "b"}));
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "critique"})
        );
        assert_eq!(b["tools"][0]["input_schema"], json!({"type": "object"}));
    }

    #[test]
    fn a_tool_answer_is_its_input_and_cached_tokens_count_as_prompt() {
        let r = parse_message(
            r#"{"content":[{"type":"tool_use","id":"t","name":"critique","input":{"verdict":"approve"}}],
                "usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":1}}"#,
        )
        .map_err(|e| e.to_string());
        let r = r.as_ref().map(|r| {
            (
                r.content.as_str(),
                r.usage.prompt_tokens,
                r.usage.total_tokens,
            )
        });
        assert_eq!(r, Ok((r#"{"verdict":"approve"}"#, 111, 116)));
        assert!(parse_message(r#"{"content":[]}"#).is_err());
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            ),
            "invalid x-api-key"
        );
    }
}
