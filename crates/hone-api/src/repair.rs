//! `GET /v1/stats/repair?since=&until=`: how well the self-correction loop repairs, per
//! actor model and language, over the caller's decided jobs (succeeded or failed) created in
//! the window (by default the last 30 days): the first attempt's pass rate against the final
//! success rate (the lift), success by iteration, what a solved task costs, how often the
//! no-progress rule ended a job, and which critique categories preceded a fix. The store
//! computes the sums ([`hone_store::Store::repair_stats`]); the rates are derived here.

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::FieldError;
use hone_store::RepairGroup;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;
use crate::stats::{time, window};

/// `part / whole`, or `None` when there is no whole.
fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Jobs shown lessons, or not: how many, how many succeeded, in how many iterations.
fn split(s: &hone_store::Solved) -> Value {
    json!({"jobs": s.jobs, "succeeded": s.succeeded,
           "final_success_rate": rate(s.succeeded, s.jobs),
           "mean_iterations_per_solved": rate(s.iterations, s.succeeded)})
}

/// One group's figures, rates derived.
fn group(g: &RepairGroup) -> Value {
    let first = rate(g.first_passed, g.decided);
    let last = rate(g.succeeded, g.decided);
    let mut solved = 0;
    let by_iteration: Vec<Value> = g
        .solved_at
        .iter()
        .map(|&(iteration, n)| {
            solved += n;
            json!({"iteration": iteration, "solved": n, "solved_so_far_rate": rate(solved, g.decided)})
        })
        .collect();
    let no_progress = g
        .ends
        .iter()
        .find(|(reason, _)| reason == "no_progress")
        .map_or(0, |(_, n)| *n);
    let per_solved = |total: f64| (g.succeeded > 0).then(|| total / g.succeeded as f64);
    let categories: Vec<Value> = g
        .categories
        .iter()
        .map(|c| {
            json!({"category": c.category, "issues": c.issues, "followed_by_fix": c.fixed,
                   "fix_rate": rate(c.fixed, c.issues)})
        })
        .collect();
    json!({
        "model": g.model,
        "language": g.language,
        "jobs": g.decided,
        "first_attempt_passed": g.first_passed,
        "succeeded": g.succeeded,
        "first_attempt_pass_rate": first,
        "final_success_rate": last,
        "lift": first.zip(last).map(|(f, l)| l - f),
        "success_by_iteration": by_iteration,
        "mean_iterations_per_solved": per_solved(g.solved_iterations as f64),
        "mean_tokens_per_solved": per_solved(g.solved_tokens as f64),
        "mean_cost_usd_per_solved": per_solved(g.solved_cost.dollars()),
        "no_progress": no_progress,
        "no_progress_rate": rate(no_progress, g.decided),
        "ends": g.ends.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "critique_categories": categories,
        "memory": {"with_lessons": split(&g.with_lessons), "without_lessons": split(&g.without_lessons)},
    })
}

/// Answers a repair analytics request.
pub async fn repair(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = Vec::new();
    let (mut since, mut until) = (None, None);
    for (k, v) in &query {
        match k.as_str() {
            "since" => since = time(k, v, &mut errors),
            "until" => until = time(k, v, &mut errors),
            other => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    let (since, until) = window(since, until, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let groups = state.store.repair_stats(&tenant, since, until).await?;
    Ok(Json(json!({
        "since": since,
        "until": until,
        "groups": groups.iter().map(group).collect::<Vec<_>>(),
    })))
}
