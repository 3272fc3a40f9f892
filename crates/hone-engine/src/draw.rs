//! An iteration's answer: the job's `candidates` answers (one unless it asks for more)
//! drawn from the actor in parallel. One answer is the answer; several are all run at once,
//! the first run that passes stopping the others (nothing beats a pass), and the best run
//! is chosen (most checks passed; the earliest among equals). A drawn call that fails is left
//! out while others came back.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use hone_domain::candidate::best;
use hone_domain::{Candidate, Execution, ExecutionStatus, JobSpec, ModelCall};
use tracing::Instrument;

use crate::Engine;
use crate::kind::{Ask, Kind};
use crate::meter::{Meter, Role};
use crate::outcome::Halt;

/// Runs `answer` by the job's kind, with the run's span and metrics.
pub(crate) async fn run(
    engine: &Engine,
    kind: &dyn Kind,
    spec: &JobSpec,
    iteration: u32,
    answer: &str,
) -> Result<Execution, Halt> {
    let span = crate::observe::sandbox_span(spec.language);
    async {
        let started = std::time::Instant::now();
        let ran = kind.run(engine, spec, answer).await;
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

/// What a draw produced.
pub(crate) struct Drawn {
    /// Every answer, the chosen one marked; empty when one answer was asked for.
    pub candidates: Vec<Candidate>,
    /// The chosen answer.
    pub code: String,
    /// The chosen answer's call.
    pub call: ModelCall,
    /// The chosen answer's run, when answers were run to choose among them.
    pub execution: Option<Execution>,
}

/// Draws the job's `candidates` answers in parallel, each call charged to `meter`; when
/// there are several, runs them all and chooses the best run.
pub(crate) async fn draw(
    engine: &Engine,
    kind: &dyn Kind,
    ask: Ask<'_>,
    iteration: u32,
    meter: &mut Meter,
) -> Result<Drawn, Halt> {
    let n = ask.spec.candidates;
    let asked = (0..n).map(|_| kind.write(engine, ask));
    let answers = futures_util::future::join_all(asked).await;
    // A call that failed (after its retries) is left out: the answers that came back were
    // paid for and go on, so their cost is recorded; only when none came back does the
    // iteration stop with the error.
    let mut written = Vec::new();
    let mut failed = None;
    for answer in answers {
        match answer {
            Ok((code, call)) => {
                meter.charge(Role::Actor, &call);
                written.push((code, call));
            }
            Err(e) => {
                if n > 1 {
                    tracing::warn!(error = %e, "a candidate's model call failed; going on without it");
                }
                failed.get_or_insert(e);
            }
        }
    }
    if let (true, Some(e)) = (written.is_empty(), failed) {
        return Err(Halt::Model(e));
    }
    if n == 1
        && let Some((code, call)) = written.pop()
    {
        return Ok(Drawn {
            candidates: Vec::new(),
            code,
            call,
            execution: None,
        });
    }
    choose(engine, kind, ask.spec, iteration, written).await
}

/// Runs every written answer (stopping at the first pass) and picks the best run.
async fn choose(
    engine: &Engine,
    kind: &dyn Kind,
    spec: &JobSpec,
    iteration: u32,
    written: Vec<(String, ModelCall)>,
) -> Result<Drawn, Halt> {
    let mut runs: Vec<Option<Execution>> = vec![None; written.len()];
    let mut running: FuturesUnordered<_> = written
        .iter()
        .enumerate()
        .map(|(i, (code, _))| async move { (i, run(engine, kind, spec, iteration, code).await) })
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
        None => run(engine, kind, spec, iteration, &code).await?,
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
        execution: Some(execution),
    })
}
