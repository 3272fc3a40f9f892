//! The `replay` provider: answers from a JSONL transcript, for tests and `hone demo`.
//!
//! Each line is `{"match": "text", "content": "answer", "usage": {...}}`. A request gets the
//! first entry not yet used *by its job* whose `match` (optional) occurs in the request's
//! messages; so every job replays the transcript from its start, and the same example can be
//! submitted again and again. Requests without a job share one conversation.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use async_trait::async_trait;
use hone_domain::{JobId, Usage};
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

/// How many jobs' progress through the transcript is remembered; the oldest is forgotten
/// beyond it (a forgotten job that asks again starts from the top).
const MAX_CONVERSATIONS: usize = 10_000;

/// Answers from a recorded transcript.
pub struct Replay {
    entries: Vec<Entry>,
    conversations: Mutex<Conversations>,
}

/// Which entries each job has used, oldest job first.
#[derive(Default)]
struct Conversations {
    used: HashMap<Option<JobId>, Vec<bool>>,
    order: VecDeque<Option<JobId>>,
}

impl Conversations {
    fn used(&mut self, job: Option<JobId>, entries: usize) -> &mut Vec<bool> {
        if !self.used.contains_key(&job) {
            if self.order.len() >= MAX_CONVERSATIONS
                && let Some(oldest) = self.order.pop_front()
            {
                self.used.remove(&oldest);
            }
            self.order.push_back(job);
        }
        self.used.entry(job).or_insert_with(|| vec![false; entries])
    }
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
            entries.push(entry);
        }
        Ok(Self {
            entries,
            conversations: Mutex::new(Conversations::default()),
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
        let mut conversations = self.conversations.lock().await;
        let used = conversations.used(request.job, self.entries.len());
        let (i, entry) = self
            .entries
            .iter()
            .enumerate()
            .find(|(i, e)| {
                !used.get(*i).copied().unwrap_or(true)
                    && e.needle.as_deref().is_none_or(|n| haystack.contains(n))
            })
            .ok_or(LlmError::ReplayExhausted)?;
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let usage = entry.usage.unwrap_or_else(|| {
            let prompt = u64::try_from(haystack.len() / 4).unwrap_or(0);
            let completion = u64::try_from(entry.content.len() / 4).unwrap_or(0);
            Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                total_tokens: prompt + completion,
                ..Usage::default()
            }
        });
        // A recorded price is the provider's report, replayed as such.
        let cost = Some(usage.cost_usd).filter(|c| *c != hone_domain::Usd::ZERO);
        Ok(ChatResponse {
            content: entry.content.clone(),
            usage: Usage {
                cost_usd: hone_domain::Usd::ZERO,
                ..usage
            },
            cost,
        })
    }
}
