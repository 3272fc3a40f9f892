//! Recording: a provider whose every answer is also written, per job, as a line of the
//! `replay` provider's transcript format. `HONE_RECORD_DIR=DIR` makes `DIR/<job id>.jsonl`
//! for each job; serve that file with `HONE_REPLAY_FILE` and submit the same spec naming
//! `replay`, and the real session runs again without the provider: a regression test.
//!
//! Each line's `match` is the first line of the request's system prompt (the actor's and the
//! critic's differ), so the replay answers each role in the order it was asked; `usage` is
//! the provider's, with the call's cost (the provider's report, else the price table's for
//! the model asked), which the replay reports again: a replayed job costs what the real one
//! did.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use hone_domain::prompt::Role;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::{ChatModel, ChatRequest, ChatResponse, LlmError};

/// A provider whose answers are recorded.
pub struct Recording {
    inner: Arc<dyn ChatModel>,
    dir: PathBuf,
    prices: crate::Prices,
    /// One writer at a time, so lines never interleave.
    lock: tokio::sync::Mutex<()>,
}

impl Recording {
    /// `inner`, recording into `dir` (created if missing), its calls priced by `prices`.
    pub fn new(
        inner: Arc<dyn ChatModel>,
        dir: PathBuf,
        prices: crate::Prices,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            inner,
            dir,
            prices,
            lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// The first line of the request's system prompt, at most 200 characters.
fn needle(request: &ChatRequest) -> Option<String> {
    let system = request.messages.iter().find(|m| m.role == Role::System)?;
    let first = system.content.lines().find(|l| !l.trim().is_empty())?;
    Some(first.chars().take(200).collect())
}

#[async_trait]
impl ChatModel for Recording {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let name = request
            .job
            .map_or_else(|| "no-job".to_owned(), |j| j.to_string());
        let needle = needle(&request);
        let model = request.model.clone();
        let response = self.inner.chat(request).await?;
        let usage = hone_domain::Usage {
            cost_usd: self.prices.cost(&model, &response.usage, response.cost),
            ..response.usage
        };
        let line = json!({"match": needle, "content": response.content, "usage": usage});
        let path = self.dir.join(format!("{name}.jsonl"));
        let _one = self.lock.lock().await;
        // The worker's runtime must not block on the disk: tokio's file I/O.
        let written = async {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await?;
            file.write_all(format!("{line}\n").as_bytes()).await?;
            file.flush().await
        }
        .await;
        if let Err(e) = written {
            // The answer is good; only the recording failed.
            tracing::warn!(path = %path.display(), error = %e, "cannot record a model answer");
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Replay;
    use hone_domain::Usage;
    use hone_domain::prompt::Message;

    /// Answers "actor N" or "critic N", counting its calls.
    struct Scripted(std::sync::atomic::AtomicUsize);

    #[async_trait]
    impl ChatModel for Scripted {
        async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let role = if needle(&request).is_some_and(|s| s.contains("reviewer")) {
                "critic"
            } else {
                "actor"
            };
            Ok(ChatResponse {
                content: format!("{role} {n}"),
                usage: Usage {
                    prompt_tokens: 10,
                    completion_tokens: n as u64,
                    total_tokens: 10 + n as u64,
                    ..Usage::default()
                },
                cost: None,
            })
        }
    }

    fn request(job: hone_domain::JobId, system: &str, user: &str) -> ChatRequest {
        ChatRequest {
            job: Some(job),
            model: "m".to_owned(),
            messages: vec![
                Message::new(Role::System, format!("{system}\nmore rules")),
                Message::new(Role::User, user.to_owned()),
            ],
            temperature: 0.0,
            schema: None,
        }
    }

    #[tokio::test]
    async fn a_recorded_session_replays_the_same_answers() {
        let dir = std::env::temp_dir().join(format!("hone-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let inner = Arc::new(Scripted(std::sync::atomic::AtomicUsize::new(0)));
        let recording =
            Recording::new(inner, dir.clone(), crate::Prices::empty()).map_err(|e| e.to_string());
        let Ok(recording) = recording else {
            panic!("cannot make {}", dir.display());
        };
        let job = hone_domain::JobId::new();
        let calls = [
            ("You write code.", "task"),
            ("You are a code reviewer.", "status: failed"),
            ("You write code.", "task, what went wrong"),
            ("You are a code reviewer.", "status: passed"),
        ];
        let mut live = Vec::new();
        for (system, user) in calls {
            let r = recording
                .chat(request(job, system, user))
                .await
                .map_err(|e| e.to_string());
            live.push(r.map(|r| (r.content, r.usage)));
        }
        let text = std::fs::read_to_string(dir.join(format!("{job}.jsonl"))).unwrap_or_default();
        assert_eq!(text.lines().count(), 4, "{text}");
        let replay = Replay::from_jsonl(&text).map_err(|e| e.to_string());
        let Ok(replay) = replay else {
            panic!("the recording is a transcript: {text}");
        };
        let again = hone_domain::JobId::new();
        for ((system, user), recorded) in calls.into_iter().zip(live) {
            let r = replay
                .chat(request(again, system, user))
                .await
                .map_err(|e| e.to_string());
            assert_eq!(r.map(|r| (r.content, r.usage)), recorded);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
