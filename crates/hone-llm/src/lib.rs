//! hone's model clients. [`ChatModel`] is the one seam; [`OpenAiCompatible`] speaks
//! `POST {base}/chat/completions` (OpenAI, vLLM, llama.cpp, Ollama, LiteLLM, ...) and
//! [`Anthropic`] the Messages API, both with the retries of `http`,
//! and [`Replay`] answers from a JSONL transcript for tests and demos. [`Providers`] maps the
//! names jobs use to clients, with the [`Prices`] their calls cost.
//!
//! API keys are held only inside the clients: they never reach an error, a log line or the
//! database.

mod anthropic;
mod http;
mod limit;
mod openai;
mod prices;
mod record;
mod replay;
mod scrub;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use hone_domain::prompt::Message;
use hone_domain::{Usage, Usd};
use serde_json::Value;

pub use anthropic::{ANTHROPIC_PUBLIC_URL, ANTHROPIC_VERSION, Anthropic, AnthropicConfig};
pub use http::RetryPolicy;
pub use limit::Limited;
pub use openai::{OpenAiCompatible, OpenAiConfig};
pub use prices::Prices;
pub use record::Recording;
pub use replay::Replay;
pub use scrub::Scrubber;

/// The `openai` provider's default base URL: the public OpenAI API, which needs a key.
pub const OPENAI_PUBLIC_URL: &str = "https://api.openai.com/v1";

/// One chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The job the call is for: the replay provider replays each job's transcript from its
    /// start.
    pub job: Option<hone_domain::JobId>,
    /// The model name the provider knows.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    pub temperature: f64,
    /// A JSON schema (name, schema) the answer must follow, where the provider supports it.
    pub schema: Option<(String, Value)>,
}

/// The provider's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The text of the first choice.
    pub content: String,
    /// Tokens counted by the provider (`cost_usd` left zero: see `cost`).
    pub usage: Usage,
    /// The call's price as the provider reported it, where it does (OpenRouter's
    /// `usage.cost`, LiteLLM's `x-litellm-response-cost`); else the price table decides.
    pub cost: Option<Usd>,
}

impl ChatResponse {
    /// An answer without a reported price.
    pub fn new(content: String, usage: Usage) -> Self {
        Self {
            content,
            usage,
            cost: None,
        }
    }
}

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider refused the request in a way a retry cannot fix (401, 403, 404, 400, 422):
    /// the job fails with this message.
    #[error("the model provider refused the request ({status}): {message}")]
    Fatal {
        /// The HTTP status.
        status: u16,
        /// The provider's explanation, cut short.
        message: String,
    },
    /// Rate limits, server errors or network failures persisted through every retry.
    #[error("the model provider is unavailable after {attempts} tries: {last}")]
    Unavailable {
        /// How many requests were made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The answer was not a chat completion.
    #[error("the model provider's answer could not be read: {0}")]
    Decode(String),
    /// The replay transcript has no entry for this request.
    #[error("the replay transcript has no unused answer matching this request")]
    ReplayExhausted,
    /// The job names a provider that is not configured.
    #[error("unknown model provider {0:?}")]
    UnknownProvider(String),
}

impl LlmError {
    /// Whether retrying the job later could help (infrastructure), as opposed to a fatal
    /// configuration or request error.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A chat model.
#[async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// Sends one request (with the client's own retries) and returns the first choice.
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError>;
}

/// The configured providers, by the name jobs use (`openai`, `replay`, ...), and the price
/// table their calls are costed by.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: HashMap<String, Arc<dyn ChatModel>>,
    prices: Arc<Prices>,
    scrubber: Scrubber,
}

impl Providers {
    /// No providers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider key (or any secret) to remove from error text ([`Providers::scrub`]).
    pub fn add_secret(&mut self, secret: &str) {
        self.scrubber.add(secret);
    }

    /// `text` (a provider's error) without any configured key or credential-shaped token.
    pub fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub(text)
    }

    /// Adds (or replaces) a provider.
    pub fn insert(&mut self, name: impl Into<String>, model: Arc<dyn ChatModel>) {
        self.by_name.insert(name.into(), model);
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn ChatModel>, LlmError> {
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| LlmError::UnknownProvider(name.to_owned()))
    }

    /// Sets the price table.
    pub fn set_prices(&mut self, prices: Prices) {
        self.prices = Arc::new(prices);
    }

    /// The price table.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// The configured names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Cuts provider text for an error message.
pub(crate) fn snippet(text: &str) -> String {
    let text = hone_domain::text::clean(text.trim());
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}
