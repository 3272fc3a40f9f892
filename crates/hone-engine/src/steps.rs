//! The model calls of an iteration: the actor writes code, the critic reviews it (with one
//! repair request when its answer cannot be parsed).

use std::time::Instant;

use tracing::Instrument;

use hone_domain::extract::extract_code;
use hone_domain::lesson::Lesson;
use hone_domain::prompt::{self, Message};
use hone_domain::spec::{JobSpec, ModelSpec};
use hone_domain::{Critique, Execution, Feedback, JobId, ModelCall, Usage};
use hone_llm::{ChatRequest, LlmError, Providers};

use crate::observe;

/// Asks the actor for code; `previous` is the last iteration's code and feedback, `lessons`
/// what earlier repaired jobs learned (a `memory` job's first iteration).
pub async fn write_code(
    providers: &Providers,
    job: JobId,
    spec: &JobSpec,
    previous: Option<(&str, &Feedback)>,
    lessons: &[Lesson],
) -> Result<(String, ModelCall), LlmError> {
    let messages = prompt::actor_messages_with(spec, previous, lessons);
    let (answer, call) = ask(providers, job, &spec.actor, "actor", messages, None).await?;
    Ok((extract_code(&answer, spec.language), call))
}

/// Asks the critic to review `code` and its run.
pub async fn review(
    providers: &Providers,
    job: JobId,
    spec: &JobSpec,
    critic: &ModelSpec,
    code: &str,
    execution: &Execution,
) -> Result<(Critique, ModelCall), LlmError> {
    let mut messages = prompt::critic_messages(spec, code, execution);
    let schema = Some(("critique".to_owned(), Critique::json_schema()));
    let (answer, mut call) = ask(
        providers,
        job,
        critic,
        "critic",
        messages.clone(),
        schema.clone(),
    )
    .await?;
    if let Some(critique) = Critique::parse_answer(&answer) {
        return Ok((critique, call));
    }
    messages.push(prompt::assistant(&answer));
    messages.push(prompt::critic_repair_message());
    let (repaired, repair_call) = ask(providers, job, critic, "critic", messages, schema).await?;
    call.latency_ms += repair_call.latency_ms;
    call.usage.add(repair_call.usage);
    let critique =
        Critique::parse_answer(&repaired).unwrap_or_else(|| Critique::unparsable(repaired));
    Ok((critique, call))
}

async fn ask(
    providers: &Providers,
    job: JobId,
    model: &ModelSpec,
    role: &'static str,
    messages: Vec<Message>,
    schema: Option<(String, serde_json::Value)>,
) -> Result<(String, ModelCall), LlmError> {
    let client = providers.get(&model.provider)?;
    let span = observe::chat_span(&model.provider, &model.model, role, model.temperature);
    async move {
        let started = Instant::now();
        let answered = client
            .chat(ChatRequest {
                job: Some(job),
                model: model.model.clone(),
                messages,
                temperature: model.temperature,
                schema,
            })
            .await;
        let took = started.elapsed();
        let response = match answered {
            Ok(r) => r,
            Err(e) => {
                let label = providers.prices().label(&model.model);
                observe::model_call(&model.provider, label, role, Err(()), took);
                return Err(e);
            }
        };
        let call = ModelCall {
            provider: model.provider.clone(),
            model: model.model.clone(),
            latency_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            usage: Usage {
                cost_usd: providers
                    .prices()
                    .cost(&model.model, &response.usage, response.cost),
                ..response.usage
            },
        };
        let label = providers.prices().label(&model.model);
        observe::model_call(&model.provider, label, role, Ok(&call), took);
        // Model text may hold NUL characters: cleaned once here, for every provider.
        Ok((hone_domain::text::clean_owned(response.content), call))
    }
    .instrument(span)
    .await
}
