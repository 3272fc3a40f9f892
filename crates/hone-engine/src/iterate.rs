//! The self-correction loop, read as its steps: resume from the stored attempts, check the
//! budgets (the job's tokens, time and dollars, and its tenant's daily quotas), run one iteration (actor,
//! sandbox, critic, each stored before the next and reused when already stored), then record
//! the decision. The decisions themselves are the pure functions of [`crate::plan`].

use hone_domain::{
    Attempt, AttemptStatus, Critique, Execution, Feedback, JobId, JobStatus, Outcome,
    OutcomeReason, Timestamp,
};
use hone_store::{
    ActorOutput, AttemptDecision, Claimed, CritiqueRecord, ExecutionRecord, FinishJob,
    QuotaExceeded,
};
use tracing::Instrument;

use crate::budget::{CostMeter, Role};
use crate::job::{Halt, best_code, failure, no_progress};
use crate::lease::{LeaseKeeper, Stop};
use crate::plan::{self, Decision, Resume};
use crate::{Engine, draw, memory, steps};

fn accepted(iteration: u32, code: Option<String>) -> FinishJob {
    FinishJob {
        status: JobStatus::Succeeded,
        outcome: Outcome {
            reason: OutcomeReason::Accepted,
            accepted_iteration: Some(iteration),
            code,
            message: None,
        },
    }
}

/// Runs the job from its first undecided iteration to a decision on the whole job.
pub(crate) async fn iterate(
    engine: &Engine,
    claimed: &Claimed,
    keeper: &LeaseKeeper,
) -> Result<FinishJob, Halt> {
    let store = &engine.store;
    let lease = &claimed.lease;
    let job = &claimed.job;
    let spec = &job.spec;
    let attempts = store
        .list_attempts(&claimed.tenant, job.id)
        .await?
        .unwrap_or_default();
    let mut progress = match plan::resume(attempts) {
        Resume::Accepted { iteration, code } => return Ok(accepted(iteration, code)),
        Resume::From(progress) => *progress,
    };
    let limit = engine.config.no_progress_limit;
    if plan::stuck_on_resume(&progress, limit, spec.max_iterations)
        && let Some((_, feedback)) = &progress.previous
    {
        return Ok(no_progress(engine, claimed, feedback).await);
    }
    let mut tokens = job.usage.total_tokens;
    let mut meter = CostMeter::new(spec.budget.max_cost_usd, job.usage.cost_usd);
    let started = job.started_at.unwrap_or_else(Timestamp::now);
    for iteration in progress.next..=spec.max_iterations {
        if keeper.stop() != Stop::No {
            return Err(Halt::Stop(keeper.stop()));
        }
        if let Some(why) = plan::spent_budget(spec, tokens, started, Timestamp::now()) {
            return Ok(failure(
                JobStatus::Failed,
                OutcomeReason::BudgetExhausted,
                best_code(engine, claimed).await,
                format!(
                    "the job's {why} budget is spent after {} iterations",
                    iteration - 1
                ),
            ));
        }
        if let Some(quota) = store.daily_quota_spent(&claimed.tenant).await? {
            let what = match quota {
                QuotaExceeded::CostPerDay { limit } => format!("spend quota of {limit}"),
                QuotaExceeded::TokensPerDay { limit } => format!("quota of {limit} model tokens"),
                QuotaExceeded::QueuedJobs { limit } => format!("quota of {limit} queued jobs"),
            };
            return Ok(failure(
                JobStatus::Failed,
                OutcomeReason::BudgetExhausted,
                best_code(engine, claimed).await,
                format!(
                    "the tenant's daily {what} is spent after {} iterations",
                    iteration - 1
                ),
            ));
        }
        let partial = progress.partial.take().filter(|a| a.iteration == iteration);
        let started = std::time::Instant::now();
        let ran = one_iteration(
            engine,
            claimed,
            iteration,
            partial.as_ref(),
            progress.previous.as_ref(),
            &mut meter,
        )
        .instrument(tracing::info_span!("iteration", hone.iteration = iteration))
        .await?;
        crate::observe::iteration(spec.language, started.elapsed());
        tokens += ran.tokens;
        let previous_feedback = progress.previous.as_ref().map(|(_, f)| f);
        match plan::decide(
            spec,
            iteration,
            &ran.execution,
            ran.critique.as_ref(),
            previous_feedback,
            limit,
        ) {
            Decision::Accepted => {
                store
                    .finish_attempt(
                        lease,
                        AttemptDecision {
                            iteration,
                            status: AttemptStatus::Accepted,
                            feedback: None,
                        },
                    )
                    .await?;
                if iteration > 1 {
                    memory::remember(engine, claimed).await;
                }
                return Ok(accepted(iteration, Some(ran.code)));
            }
            Decision::Stuck(feedback) => {
                store
                    .finish_attempt(
                        lease,
                        AttemptDecision {
                            iteration,
                            status: AttemptStatus::Failed,
                            feedback: Some(&feedback),
                        },
                    )
                    .await?;
                return Ok(no_progress(engine, claimed, &feedback).await);
            }
            Decision::Retry(feedback) => {
                store
                    .finish_attempt(
                        lease,
                        AttemptDecision {
                            iteration,
                            status: AttemptStatus::Failed,
                            feedback: Some(&feedback),
                        },
                    )
                    .await?;
                progress.previous = Some((ran.code, feedback));
            }
        }
    }
    Ok(failure(
        JobStatus::Failed,
        OutcomeReason::MaxIterations,
        best_code(engine, claimed).await,
        format!(
            "no attempt was accepted in {} iterations",
            spec.max_iterations
        ),
    ))
}

/// What one iteration produced.
struct Ran {
    code: String,
    execution: Execution,
    critique: Option<Critique>,
    /// Tokens spent by this run's model calls (none for steps reused from the store).
    tokens: u64,
}

/// Runs iteration `iteration`: the actor's code, its run, the critic's review. Each step is
/// stored before the next, and a step already stored in `partial` is reused.
async fn one_iteration(
    engine: &Engine,
    claimed: &Claimed,
    iteration: u32,
    partial: Option<&Attempt>,
    previous: Option<&(String, Feedback)>,
    meter: &mut CostMeter,
) -> Result<Ran, Halt> {
    let store = &engine.store;
    let lease = &claimed.lease;
    let job = &claimed.job;
    let spec = &job.spec;
    let mut tokens = 0;
    // The actor's calls are the iteration's first: refused by the budget, the iteration
    // does not start.
    let calls = u64::from(spec.candidates.max(1));
    if partial.and_then(|a| a.code.as_ref()).is_none()
        && let Some(why) = meter.check_calls(Role::Actor, calls)
    {
        return Err(Halt::Budget(why));
    }
    if partial.is_none() {
        store.start_attempt(lease, iteration).await?;
    }
    let prev = previous.map(|(c, f)| (c.as_str(), f));
    let lessons = match partial.and_then(|a| a.code.as_ref()) {
        None if previous.is_none() => memory::recall(engine, claimed).await,
        _ => Vec::new(),
    };
    let shown: Vec<JobId> = lessons.iter().map(|l| l.job_id).collect();
    // The code, and its run when candidates were drawn (they are run to be compared).
    let (code, ran) = match partial.and_then(|a| a.code.clone()) {
        Some(code) => (code, None),
        None if spec.candidates > 1 => {
            let drawn = draw::draw(engine, job.id, spec, iteration, prev, &lessons, meter).await?;
            tokens += drawn
                .candidates
                .iter()
                .map(|c| c.actor.usage.total_tokens)
                .sum::<u64>();
            store
                .record_actor_output(
                    lease,
                    ActorOutput {
                        iteration,
                        code: &drawn.code,
                        call: &drawn.call,
                        candidates: &drawn.candidates,
                        lessons: &shown,
                    },
                )
                .await?;
            (drawn.code, Some(drawn.execution))
        }
        None => {
            let (code, call) = steps::write_code(&engine.providers, job.id, spec, prev, &lessons)
                .await
                .map_err(Halt::Model)?;
            tokens += call.usage.total_tokens;
            meter.charge(Role::Actor, call.usage.cost_usd);
            store
                .record_actor_output(
                    lease,
                    ActorOutput {
                        iteration,
                        code: &code,
                        call: &call,
                        candidates: &[],
                        lessons: &shown,
                    },
                )
                .await?;
            (code, None)
        }
    };
    let execution = match partial.and_then(|a| a.execution.clone()) {
        Some(e) => e,
        None => {
            let e = match ran {
                Some(e) => e,
                None => draw::run_code(engine, spec, iteration, &code).await?,
            };
            store
                .record_execution(
                    lease,
                    ExecutionRecord {
                        iteration,
                        execution: &e,
                    },
                )
                .await?;
            e
        }
    };
    // Tests that do not compile fail every code: the job ends blaming them, not the actor.
    if let Some(why) = hone_domain::broken_tests::tests_do_not_compile(spec.language, &execution) {
        return Err(Halt::BrokenTests(why));
    }
    let critique = match (&spec.critic, partial.and_then(|a| a.critique.clone())) {
        (None, _) => None,
        (Some(_), Some(c)) => Some(c),
        (Some(critic), None) => {
            if let Some(why) = meter.check(Role::Critic) {
                return Err(Halt::Budget(why));
            }
            let (c, call) =
                steps::review(&engine.providers, job.id, spec, critic, &code, &execution)
                    .await
                    .map_err(Halt::Model)?;
            tokens += call.usage.total_tokens;
            meter.charge(Role::Critic, call.usage.cost_usd);
            store
                .record_critique(
                    lease,
                    CritiqueRecord {
                        iteration,
                        critique: &c,
                        call: &call,
                    },
                )
                .await?;
            Some(c)
        }
    };
    Ok(Ran {
        code,
        execution,
        critique,
        tokens,
    })
}
