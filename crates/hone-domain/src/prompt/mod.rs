//! The actor's and the critic's prompts, and the feedback that carries one iteration's failure
//! into the next. Each prompt is ordered for prompt caching: the system prompt, then what is
//! the same in every call of the role in a job (the task and its tests, a message marked
//! [`Message::stable`]), then what changes (attempts, code, runs).

mod actor;
mod critic;
mod feedback;
mod trajectory;

use serde::{Deserialize, Serialize};

use crate::spec::JobSpec;

pub use actor::{actor_messages, actor_messages_with};
pub use critic::{assistant, critic_messages, critic_repair_message};
pub use feedback::{build_feedback, failure_signature, what_went_wrong};
pub use trajectory::{Turn, trajectory};

/// The longest tail of stderr or stdout put into a prompt.
const TAIL_BYTES: usize = 4_000;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The request.
    User,
    /// A previous answer.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
    /// The prompt up to and including this message is the same in every call of this role
    /// in the job: a provider's prompt cache may keep it (Anthropic's `cache_control`
    /// breakpoint goes here). Not part of the message itself.
    #[serde(skip)]
    pub cache_break: bool,
}

impl Message {
    /// A message.
    pub fn new(role: Role, content: String) -> Self {
        Self {
            role,
            content,
            cache_break: false,
        }
    }

    /// The message, marked as the end of the job's stable prompt prefix.
    pub fn stable(mut self) -> Self {
        self.cache_break = true;
        self
    }
}

/// The end of `text`, at most `max` bytes, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// A service's own system prompts, used where a job sets none: for every language, or for
/// one (`actor.python.md` beats `actor.md`). Loaded by the binary from `HONE_PROMPTS_DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptDefaults {
    /// The actor's, by language name, `""` for every language.
    pub actor: std::collections::BTreeMap<String, String>,
    /// The critic's, the same way.
    pub critic: std::collections::BTreeMap<String, String>,
}

impl PromptDefaults {
    /// Fills the system prompts `spec` leaves unset; a job's own always wins.
    pub fn apply(&self, spec: &mut JobSpec) {
        let lang = spec.language.as_str();
        let pick = |map: &std::collections::BTreeMap<String, String>| {
            map.get(lang).or_else(|| map.get("")).cloned()
        };
        if spec.actor.system_prompt.is_none() {
            spec.actor.system_prompt = pick(&self.actor);
        }
        if let Some(critic) = spec.critic.as_mut()
            && critic.system_prompt.is_none()
        {
            critic.system_prompt = pick(&self.critic);
        }
    }
}
