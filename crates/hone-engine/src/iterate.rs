//! The self-correction loop, read as its steps: resume from the stored attempts, check the
//! budgets (the job's tokens, time and dollars, and its tenant's daily quotas, all measured
//! by one [`Meter`]), run one iteration (the actor's answer, its run, the critic's review,
//! each stored before the next and reused when already stored), then record the decision.
//! The decisions themselves are the pure functions of [`crate::plan`]; what differs between
//! kinds of job is behind [`Kind`].

use std::ops::ControlFlow;

use hone_domain::{Attempt, AttemptStatus, Critique, Execution, Feedback, JobId, Timestamp};
use hone_store::{ActorOutput, AttemptDecision, Claimed, CritiqueRecord, ExecutionRecord};
use tracing::Instrument;

use crate::kind::{Ask, Kind, Review};
use crate::lease::{LeaseKeeper, Stop};
use crate::meter::{Limits, Meter, Role};
use crate::outcome::{End, Halt};
use crate::plan::budget::{self, Exhausted};
use crate::plan::{self, Decision, Resume};
use crate::{Engine, draw, memory};

/// Runs the job from its first undecided iteration to a decision on the whole job.
pub(crate) async fn iterate(
    engine: &Engine,
    kind: &dyn Kind,
    claimed: &Claimed,
    keeper: &LeaseKeeper,
) -> Result<End, Halt> {
    let job = &claimed.job;
    let spec = &job.spec;
    let attempts = engine
        .store
        .list_attempts(&claimed.tenant, job.id)
        .await?
        .unwrap_or_default();
    let mut progress = match plan::resume(attempts) {
        Resume::Accepted { iteration, code } => return Ok(End::Accepted { iteration, code }),
        Resume::From(progress) => *progress,
    };
    let limit = engine.config.no_progress_limit;
    if plan::stuck_on_resume(&progress, limit, spec.max_iterations)
        && let Some((_, feedback)) = &progress.previous
    {
        return Ok(End::NoProgress(feedback.clone()));
    }
    let started = job.started_at.unwrap_or_else(Timestamp::now);
    let mut meter = Meter::new(Limits::of(spec), started, &job.usage);
    for iteration in progress.next..=spec.max_iterations {
        if keeper.stop() != Stop::No {
            return Err(Halt::Stop(keeper.stop()));
        }
        let quota = engine.store.daily_quota_spent(&claimed.tenant).await?;
        if let Some(why) = budget::before_iteration(&meter, Timestamp::now(), quota) {
            let done = iteration - 1;
            return Ok(End::Exhausted { why, done });
        }
        let partial = progress.partial.take().filter(|a| a.iteration == iteration);
        let clock = std::time::Instant::now();
        let step = Step {
            engine,
            kind,
            claimed,
            iteration,
            partial: partial.as_ref(),
        };
        let ran = match step
            .run(progress.previous.as_ref(), &mut meter)
            .instrument(tracing::info_span!("iteration", hone.iteration = iteration))
            .await?
        {
            Ok(ran) => ran,
            Err(end) => return Ok(end),
        };
        crate::observe::iteration(spec.language, clock.elapsed());
        match step.decide(ran, progress.previous.as_ref(), limit).await? {
            ControlFlow::Break(end) => return Ok(end),
            ControlFlow::Continue(previous) => progress.previous = Some(previous),
        }
    }
    Ok(End::MaxIterations(spec.max_iterations))
}

/// What an iteration produced.
struct Ran {
    code: String,
    execution: Execution,
    critique: Option<Critique>,
}

/// One iteration of one job.
#[derive(Clone, Copy)]
struct Step<'a> {
    engine: &'a Engine,
    kind: &'a dyn Kind,
    claimed: &'a Claimed,
    iteration: u32,
    /// The iteration as stored, when it was started before: its stored steps are reused.
    partial: Option<&'a Attempt>,
}

impl Step<'_> {
    /// The actor's answer, its run and the critic's review, each stored before the next;
    /// an ending instead when the job cannot go on (its budget, its broken tests).
    async fn run(
        self,
        previous: Option<&(String, Feedback)>,
        meter: &mut Meter,
    ) -> Result<Result<Ran, End>, Halt> {
        let stored = self.partial.and_then(|a| a.code.clone());
        let (code, drawn_run) = match stored {
            Some(code) => (code, None),
            None => match self.write(previous, meter).await? {
                Ok(written) => written,
                Err(why) => return Ok(Err(self.exhausted(why))),
            },
        };
        let execution = self.execute(&code, drawn_run).await?;
        // Checks that cannot pass fail every answer: the job ends blaming them, not the actor.
        let spec = &self.claimed.job.spec;
        if let Some(why) = self.kind.broken_checks(spec, &execution) {
            return Ok(Err(End::BrokenTests(why)));
        }
        let critique = match self.review(&code, &execution, meter).await? {
            Ok(critique) => critique,
            Err(why) => return Ok(Err(self.exhausted(why))),
        };
        Ok(Ok(Ran {
            code,
            execution,
            critique,
        }))
    }

    fn exhausted(self, why: Exhausted) -> End {
        End::Exhausted {
            why,
            done: self.iteration - 1,
        }
    }

    /// Opens the iteration and stores the actor's answer (with the run that chose it, when
    /// candidates were drawn). The actor's calls are the iteration's first: refused by the
    /// budget, the iteration does not start.
    async fn write(
        self,
        previous: Option<&(String, Feedback)>,
        meter: &mut Meter,
    ) -> Result<Result<(String, Option<Execution>), Exhausted>, Halt> {
        let (engine, claimed) = (self.engine, self.claimed);
        let spec = &claimed.job.spec;
        if let Some(why) = budget::before_calls(meter, Role::Actor, u64::from(spec.candidates)) {
            return Ok(Err(why));
        }
        if self.partial.is_none() {
            engine
                .store
                .start_attempt(&claimed.lease, self.iteration)
                .await?;
        }
        let lessons = match previous {
            None => memory::recall(engine, claimed).await,
            Some(_) => Vec::new(),
        };
        let ask = Ask {
            job: claimed.job.id,
            spec,
            previous: previous.map(|(c, f)| (c.as_str(), f)),
            lessons: &lessons,
        };
        let drawn = draw::draw(engine, self.kind, ask, self.iteration, meter).await?;
        let shown: Vec<JobId> = lessons.iter().map(|l| l.job_id).collect();
        let output = ActorOutput {
            iteration: self.iteration,
            code: &drawn.code,
            call: &drawn.call,
            candidates: &drawn.candidates,
            lessons: &shown,
        };
        engine
            .store
            .record_actor_output(&claimed.lease, output)
            .await?;
        Ok(Ok((drawn.code, drawn.execution)))
    }

    /// The stored run, or the answer's run (the draw's, or a new one), stored.
    async fn execute(self, code: &str, drawn: Option<Execution>) -> Result<Execution, Halt> {
        if let Some(stored) = self.partial.and_then(|a| a.execution.clone()) {
            return Ok(stored);
        }
        let spec = &self.claimed.job.spec;
        let execution = match drawn {
            Some(e) => e,
            None => draw::run(self.engine, self.kind, spec, self.iteration, code).await?,
        };
        let record = ExecutionRecord {
            iteration: self.iteration,
            execution: &execution,
        };
        self.engine
            .store
            .record_execution(&self.claimed.lease, record)
            .await?;
        Ok(execution)
    }

    /// The stored critique, or the critic's review, stored; none without a critic.
    async fn review(
        self,
        code: &str,
        execution: &Execution,
        meter: &mut Meter,
    ) -> Result<Result<Option<Critique>, Exhausted>, Halt> {
        let (engine, claimed) = (self.engine, self.claimed);
        let spec = &claimed.job.spec;
        let Some(critic) = &spec.critic else {
            return Ok(Ok(None));
        };
        if let Some(stored) = self.partial.and_then(|a| a.critique.clone()) {
            return Ok(Ok(Some(stored)));
        }
        if let Some(why) = budget::before_calls(meter, Role::Critic, 1) {
            return Ok(Err(why));
        }
        let review = Review {
            job: claimed.job.id,
            spec,
            critic,
            answer: code,
            run: execution,
        };
        let (critique, call) = self
            .kind
            .review(engine, review)
            .await
            .map_err(Halt::Model)?;
        meter.charge(Role::Critic, &call);
        let record = CritiqueRecord {
            iteration: self.iteration,
            critique: &critique,
            call: &call,
        };
        engine.store.record_critique(&claimed.lease, record).await?;
        Ok(Ok(Some(critique)))
    }

    /// Decides the iteration and stores the decision: the job's ending, or the answer and
    /// feedback the next iteration starts from.
    async fn decide(
        self,
        ran: Ran,
        previous: Option<&(String, Feedback)>,
        limit: u32,
    ) -> Result<ControlFlow<End, (String, Feedback)>, Halt> {
        let (engine, claimed, iteration) = (self.engine, self.claimed, self.iteration);
        let previous_feedback = previous.map(|(_, f)| f);
        let decision = plan::decide(
            &claimed.job.spec,
            iteration,
            &ran.execution,
            ran.critique.as_ref(),
            previous_feedback,
            limit,
        );
        let (status, feedback) = match &decision {
            Decision::Accepted => (AttemptStatus::Accepted, None),
            Decision::Stuck(f) | Decision::Retry(f) => (AttemptStatus::Failed, Some(f)),
        };
        let record = AttemptDecision {
            iteration,
            status,
            feedback,
        };
        engine.store.finish_attempt(&claimed.lease, record).await?;
        Ok(match decision {
            Decision::Accepted => {
                if iteration > 1 {
                    memory::remember(engine, claimed).await;
                }
                let code = Some(ran.code);
                ControlFlow::Break(End::Accepted { iteration, code })
            }
            Decision::Stuck(feedback) => ControlFlow::Break(End::NoProgress(feedback)),
            Decision::Retry(feedback) => ControlFlow::Continue((ran.code, feedback)),
        })
    }
}
