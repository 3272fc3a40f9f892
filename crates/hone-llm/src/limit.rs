//! A provider's concurrency limit: at most N calls in flight from this process, the rest
//! wait their turn in order, so a burst of jobs queues here instead of becoming a storm of
//! 429s at the provider.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::{ChatModel, ChatRequest, ChatResponse, LlmError};

/// A provider behind a concurrency limit.
pub struct Limited {
    inner: Arc<dyn ChatModel>,
    permits: Arc<Semaphore>,
}

impl Limited {
    /// `inner`, with at most `max` calls in flight (at least 1).
    pub fn new(inner: Arc<dyn ChatModel>, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

#[async_trait]
impl ChatModel for Limited {
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| LlmError::Unavailable {
                attempts: 0,
                last: "the provider's concurrency limit was closed".to_owned(),
            })?;
        self.inner.chat(request).await
    }
}
