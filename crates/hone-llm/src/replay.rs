//! The `replay` provider: answers from a JSONL transcript, for tests and `hone demo`.
//!
//! Each line is `{"match": "text", "content": "answer", "usage": {...}}`. A request gets the
//! first unused entry whose `match` (optional) occurs in the request's messages; entries are
//! used once, so a transcript replays a conversation in order.

use std::path::Path;

use async_trait::async_trait;
use hone_domain::Usage;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::{ChatModel, ChatRequest, ChatResponse, LlmError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default, rename = "match")]
    needle: Option<String>,
    content: String,
    #[serde(default)]
    usage: Option<Usage>,
}

/// Answers from a recorded transcript.
pub struct Replay {
    entries: Mutex<Vec<(Entry, bool)>>,
}

impl Replay {
    /// Parses a transcript; the error names the bad line.
    pub fn from_jsonl(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            entries.push((entry, false));
        }
        Ok(Self {
            entries: Mutex::new(entries),
        })
    }

    /// Reads a transcript file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_jsonl(&text)
    }
}

#[async_trait]
impl ChatModel for Replay {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let haystack: String = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut entries = self.entries.lock().await;
        let (entry, used) = entries
            .iter_mut()
            .find(|(e, used)| !*used && e.needle.as_deref().is_none_or(|n| haystack.contains(n)))
            .ok_or(LlmError::ReplayExhausted)?;
        *used = true;
        let usage = entry.usage.unwrap_or_else(|| {
            let prompt = u64::try_from(haystack.len() / 4).unwrap_or(0);
            let completion = u64::try_from(entry.content.len() / 4).unwrap_or(0);
            Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                total_tokens: prompt + completion,
            }
        });
        Ok(ChatResponse {
            content: entry.content.clone(),
            usage,
        })
    }
}
