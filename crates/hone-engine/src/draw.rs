//! An iteration's code and its run: one answer from the actor, or, for a job with
//! `candidates: n`, n answers drawn in parallel and all run in the sandbox at once, the
//! first run that passes stopping the others (nothing beats a pass), and the best run
//! going on to the critic (most checks passed; the earliest among equals). A draw whose
//! call fails goes on with the answers that came back.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use hone_domain::candidate::best;
use hone_domain::{Candidate, Execution, ExecutionStatus, Feedback, ModelCall};
use hone_sandbox::verify;
use tracing::Instrument;

use crate::budget::{CostMeter, Role};
use crate::job::Halt;
use crate::{Engine, steps};

/// Runs `code` in the sandbox, with the run's span and metrics.
pub(crate) async fn run_code(
    engine: &Engine,
    spec: &hone_domain::JobSpec,
    iteration: u32,
    code: &str,
) -> Result<Execution, Halt> {
    let span = crate::observe::sandbox_span(spec.language);
    async {
        let started = std::time::Instant::now();
        let ran = verify::execute(engine.sandbox.as_ref(), &engine.runtimes, spec, code).await;
        let status = ran.as_ref().map_or("error", |e| e.status.as_str());
        crate::observe::sandbox_run(spec.language, status, started.elapsed());
        if iteration == 1
            && let Ok(e) = &ran
        {
            crate::observe::first_attempt(e.status == ExecutionStatus::Passed);
        }
        ran.map_err(Halt::Sandbox)
    }
    .instrument(span)
    .await
}

/// What drawing several answers produced.
pub(crate) struct Drawn {
    /// Every answer, the chosen one marked.
    pub candidates: Vec<Candidate>,
    /// The chosen answer's code.
    pub code: String,
    /// The chosen answer's call.
    pub call: ModelCall,
    /// The chosen answer's run.
    pub execution: Execution,
}

/// Draws `n` answers in parallel, runs them all, and picks the best run. Each call's cost
/// is charged to `meter`.
pub(crate) async fn draw(
    engine: &Engine,
    job: hone_domain::JobId,
    spec: &hone_domain::JobSpec,
    iteration: u32,
    previous: Option<(&str, &Feedback)>,
    lessons: &[hone_domain::lesson::Lesson],
    meter: &mut CostMeter,
) -> Result<Drawn, Halt> {
    let n = usize::try_from(spec.candidates).unwrap_or(1).max(1);
    let asked = (0..n).map(|_| steps::write_code(&engine.providers, job, spec, previous, lessons));
    let answers = futures_util::future::join_all(asked).await;
    // A call that failed (after its retries) is left out: the answers that came back were
    // paid for and go on, so their cost is recorded; only when none came back does the
    // iteration stop with the error.
    let mut written = Vec::with_capacity(n);
    let mut failed = None;
    for answer in answers {
        match answer {
            Ok((code, call)) => {
                meter.charge(Role::Actor, call.usage.cost_usd);
                written.push((code, call));
            }
            Err(e) => {
                tracing::warn!(error = %e, "a candidate's model call failed; going on without it");
                failed.get_or_insert(e);
            }
        }
    }
    if let (true, Some(e)) = (written.is_empty(), failed) {
        return Err(Halt::Model(e));
    }
    let n = written.len();
    let mut runs: Vec<Option<Execution>> = vec![None; n];
    let mut running: FuturesUnordered<_> = written
        .iter()
        .enumerate()
        .map(|(i, (code, _))| async move { (i, run_code(engine, spec, iteration, code).await) })
        .collect();
    while let Some((i, ran)) = running.next().await {
        let execution = ran?;
        let passed = execution.status == ExecutionStatus::Passed;
        if let Some(slot) = runs.get_mut(i) {
            *slot = Some(execution);
        }
        if passed {
            // The runs still going are dropped, which kills their processes.
            break;
        }
    }
    drop(running);
    let views: Vec<Option<&Execution>> = runs.iter().map(Option::as_ref).collect();
    let chosen = best(&views).unwrap_or(0);
    let (code, call) = written
        .get(chosen)
        .cloned()
        .ok_or_else(|| Halt::Model(hone_llm::LlmError::Decode("no answer was drawn".to_owned())))?;
    // The loop above stores a run before it can stop, so the best has one; were it
    // missing, running it again is the honest answer.
    let execution = match runs.get(chosen).cloned().flatten() {
        Some(e) => e,
        None => run_code(engine, spec, iteration, &code).await?,
    };
    let candidates = written
        .into_iter()
        .zip(runs)
        .enumerate()
        .map(|(i, ((code, actor), execution))| Candidate {
            code,
            actor,
            execution,
            chosen: i == chosen,
        })
        .collect();
    Ok(Drawn {
        candidates,
        code,
        call,
        execution,
    })
}
