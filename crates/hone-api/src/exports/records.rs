//! The records of one job, built from the job and its attempts: preference pairs, critique
//! records and the accepted trajectory.

use hone_domain::prompt::{actor_messages, trajectory};
use hone_domain::{Attempt, AttemptStatus, Job, JobStatus};
use serde_json::{Value, json};

/// How an attempt's run ended (`passed`, `failed`, ...), once it ran.
fn run_status(a: &Attempt) -> Option<&'static str> {
    a.execution.as_ref().map(|e| e.status.as_str())
}

/// The run's error as `Type: message`, when it raised one.
fn run_error(a: &Attempt) -> Option<String> {
    let t = a.execution.as_ref()?.traceback.as_ref()?;
    Some(format!("{}: {}", t.error_type, t.message))
}

/// The preference records of one job: a record per failed attempt with code, paired with
/// the accepted attempt. None for a job that did not succeed.
pub fn preferences(job: &Job, attempts: &[Attempt]) -> Vec<Value> {
    if job.status != JobStatus::Succeeded {
        return Vec::new();
    }
    let Some(chosen) = attempts
        .iter()
        .find(|a| a.status == AttemptStatus::Accepted)
    else {
        return Vec::new();
    };
    let Some(chosen_code) = &chosen.code else {
        return Vec::new();
    };
    let prompt = actor_messages(&job.spec, None);
    attempts
        .iter()
        .filter(|a| a.status == AttemptStatus::Failed)
        .filter_map(|a| {
            let code = a.code.as_ref()?;
            Some(json!({
                "job_id": job.id,
                "language": job.spec.language,
                "model": job.spec.actor.model,
                "prompt": prompt,
                "rejected": code,
                "chosen": chosen_code,
                "rejected_iteration": a.iteration,
                "chosen_iteration": chosen.iteration,
                "rejected_status": run_status(a),
                "rejected_error": run_error(a),
                "chosen_status": run_status(chosen),
                "rejected_critique": a.critique,
                "tags": job.tags,
            }))
        })
        .collect()
}

/// The critique records of one job: one per attempt the critic reviewed, labelled with
/// whether the next attempt's run passed (`null` when there was no next attempt).
pub fn critiques(job: &Job, attempts: &[Attempt]) -> Vec<Value> {
    attempts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let critique = a.critique.as_ref()?;
            let next = attempts.get(i + 1);
            let next_passed = next.and_then(run_status).map(|s| s == "passed");
            Some(json!({
                "job_id": job.id,
                "iteration": a.iteration,
                "language": job.spec.language,
                "task": job.spec.task,
                "tests": job.spec.tests,
                "code": a.code,
                "run_status": run_status(a),
                "run_error": run_error(a),
                "critique": critique,
                "critic_model": a.critic.as_ref().map(|c| &c.model),
                "next_iteration": next.map(|n| n.iteration),
                "next_passed": next_passed,
                "tags": job.tags,
            }))
        })
        .collect()
}

/// The trajectory record of an accepted job, in the chat fine-tuning format: `messages`
/// (system, user, then assistant and feedback turns alternating) with `weight` 1 on the
/// accepted answer and 0 on failed attempts, so training imitates only the fix. With
/// `metadata`, a `metadata` object traces the record back. None for a job not accepted.
pub fn trajectories(job: &Job, attempts: &[Attempt], metadata: bool) -> Vec<Value> {
    if job.status != JobStatus::Succeeded {
        return Vec::new();
    }
    let Some(turns) = trajectory(&job.spec, attempts) else {
        return Vec::new();
    };
    let messages: Vec<Value> = turns
        .iter()
        .map(|t| {
            let mut m = json!({"role": t.message.role, "content": t.message.content});
            if let Some(train) = t.train {
                m["weight"] = json!(u8::from(train));
            }
            m
        })
        .collect();
    let mut record = json!({ "messages": messages });
    if metadata {
        let turns = messages.len();
        record["metadata"] = json!({
            "job_id": job.id,
            "language": job.spec.language,
            "model": job.spec.actor.model,
            "iterations": turns.saturating_sub(1) / 2,
            "tags": job.tags,
        });
    }
    vec![record]
}
