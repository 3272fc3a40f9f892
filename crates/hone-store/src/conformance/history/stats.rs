//! Stats: over a known set of jobs (different models, iteration counts, errors, critiques,
//! durations and days), every figure equals the one computed here from the jobs' and
//! attempts' own records; jobs outside the window and other tenants' jobs never count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hone_domain::{
    AttemptStatus, Category, Critique, CritiqueIssue, ExecutionStatus, JobId, JobSpec, JobStatus,
    ModelCall, Outcome, OutcomeReason, Severity, Timestamp, Traceback, Usage, Verdict,
};
use serde_json::json;

use crate::conformance::fixtures::{execution, tenant};
use crate::{
    ActorOutput, AttemptDecision, Bucket, ClaimJobs, Clock, CritiqueRecord, Enqueued,
    ExecutionRecord, FinishJob, GroupBy, JobFilter, ManualClock, NewJob, Stats, StatsQuery, Store,
};

fn call(model: &str, tokens: u64) -> ModelCall {
    ModelCall {
        provider: "fake".into(),
        model: model.into(),
        latency_ms: 1,
        usage: Usage {
            prompt_tokens: tokens,
            completion_tokens: tokens / 2,
            total_tokens: tokens + tokens / 2,
            ..Usage::default()
        },
    }
}

/// Runs job `i` to its end: `runs[k]` is iteration k+1's result (`None`: passed).
async fn run_job(store: &Arc<dyn Store>, clock: &ManualClock, i: usize, runs: &[Option<&str>]) {
    let model = ["m-a", "m-b"][i % 2];
    let tag = ["t1", "t2"][i % 2];
    let spec = JobSpec::parse(&json!({"task": format!("job {i}"), "tests": "pass",
        "actor": {"model": model}, "tags": [tag]}))
    .expect("spec");
    let new = NewJob::new(JobId::new(), tenant(), spec);
    assert!(matches!(
        store.enqueue_job(new).await,
        Ok(Enqueued::Created(_))
    ));
    clock.advance(Duration::from_millis(100 * (i as u64 + 1)));
    let claim = ClaimJobs {
        worker: "w".into(),
        limit: 1,
        lease_ms: 600_000,
        per_tenant: None,
        serves: None,
    };
    let lease = store
        .claim_jobs(claim)
        .await
        .expect("claim")
        .remove(0)
        .lease;
    for (k, run) in runs.iter().enumerate() {
        let it = k as u32 + 1;
        store.start_attempt(&lease, it).await.expect("start");
        let actor = call(model, 10 * (i as u64 + 1));
        let code = ActorOutput {
            iteration: it,
            code: "x",
            call: &actor,
            candidates: &[],
            lessons: &[],
        };
        store.record_actor_output(&lease, code).await.expect("code");
        let mut e = execution(if run.is_some() {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Passed
        });
        e.traceback = run.map(|t| Traceback {
            error_type: t.into(),
            message: "m".into(),
            frames: Vec::new(),
        });
        store
            .record_execution(
                &lease,
                ExecutionRecord {
                    iteration: it,
                    execution: &e,
                },
            )
            .await
            .expect("run");
        if i.is_multiple_of(3) {
            let issue = |severity, category| CritiqueIssue {
                severity,
                category,
                description: "d".into(),
                fix: None,
            };
            let critique = Critique {
                verdict: Verdict::Revise,
                summary: "s".into(),
                issues: vec![
                    issue(Severity::Major, Category::EdgeCase),
                    issue(Severity::Minor, Category::Style),
                ],
                raw: None,
            };
            let review = call("critic-m", 7);
            store
                .record_critique(
                    &lease,
                    CritiqueRecord {
                        iteration: it,
                        critique: &critique,
                        call: &review,
                    },
                )
                .await
                .expect("critique");
        }
        let status = if run.is_some() {
            AttemptStatus::Failed
        } else {
            AttemptStatus::Accepted
        };
        store
            .finish_attempt(
                &lease,
                AttemptDecision {
                    iteration: it,
                    status,
                    feedback: None,
                },
            )
            .await
            .expect("decide");
        clock.advance(Duration::from_millis(1000 * (i as u64 + 1)));
    }
    let passed = runs.last().is_some_and(Option::is_none);
    let (status, reason) = if passed {
        (JobStatus::Succeeded, OutcomeReason::Accepted)
    } else {
        (JobStatus::Failed, OutcomeReason::MaxIterations)
    };
    let outcome = Outcome {
        reason,
        accepted_iteration: None,
        code: None,
        message: None,
    };
    store
        .finish_job(&lease, FinishJob { status, outcome })
        .await
        .expect("finish");
}

fn nearest_rank(mut v: Vec<u64>, p: usize) -> Option<u64> {
    v.sort_unstable();
    let rank = (v.len() * p).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

/// Every figure equals the reference computed from the records.
pub async fn stats_equal_the_records(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    let before = clock.now();
    let plans: [&[Option<&str>]; 6] = [
        &[None],
        &[Some("IndexError"), None],
        &[Some("IndexError"), Some("KeyError")],
        &[Some("AssertionError"), Some("IndexError"), None],
        &[None],
        &[Some("KeyError")],
    ];
    let mut ended = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        run_job(&store, &clock, i, plan).await;
        ended.push(clock.now());
        clock.advance(Duration::from_secs(3600 * 7));
    }
    // One job still queued: it is never folded, and counts all the same.
    let open =
        JobSpec::parse(&json!({"task": "open", "tests": "pass", "tags": ["t1"]})).expect("spec");
    let open = NewJob::new(JobId::new(), tenant(), open);
    assert!(matches!(
        store.enqueue_job(open).await,
        Ok(Enqueued::Created(_))
    ));
    let until = Timestamp::from_millis(clock.now().as_millis() + 1);
    let q = StatsQuery {
        since: before,
        until,
        bucket: Bucket::Day,
        group_by: Some(GroupBy::Model),
    };
    let want = reference(&store, q).await;
    // The same figures before the compactor ran, while it folds, and after.
    assert_eq!(store.stats(&tenant(), q).await.expect("stats"), want);
    let mut folded = 0;
    loop {
        let n = store.fold_stats(2).await.expect("fold");
        if n == 0 {
            break;
        }
        folded += n;
        assert_eq!(store.stats(&tenant(), q).await.expect("stats"), want);
    }
    assert_eq!(
        folded, 6,
        "every ended job is folded once, the queued one never"
    );
    let got = store.stats(&tenant(), q).await.expect("stats");
    assert_eq!(got, want);
    assert_eq!(got.totals.jobs, 7);
    assert_eq!(got.totals.queued, 1);
    assert_eq!(got.first_attempt_passed, 2);
    assert_eq!(got.top_errors[0], ("IndexError".to_owned(), 3));
    let empty = StatsQuery {
        since: until,
        until: Timestamp::from_millis(until.as_millis() + 1000),
        ..q
    };
    assert_eq!(
        store
            .stats(&tenant(), empty)
            .await
            .expect("stats")
            .totals
            .jobs,
        0
    );
    let tags = StatsQuery {
        group_by: Some(GroupBy::Tag),
        bucket: Bucket::Hour,
        ..q
    };
    let by_tag = store.stats(&tenant(), tags).await.expect("stats");
    let names: Vec<&str> = by_tag.groups.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["t1", "t2"]);
    assert_eq!(
        by_tag.series.len(),
        7,
        "seven hours with jobs, the others left out"
    );
    assert_eq!(by_tag, reference(&store, tags).await);
    // Retention takes the pruned jobs out of the rollups: the first three ended before
    // the cut.
    let cut = Timestamp::from_millis(ended[2].as_millis() + 1);
    assert_eq!(store.prune_batch(cut, 100).await.expect("prune"), 3);
    let after = store.stats(&tenant(), q).await.expect("stats");
    assert_eq!(after.totals.jobs, 4);
    assert_eq!(after, reference(&store, q).await);
    assert_eq!(
        store.stats(&tenant(), tags).await.expect("stats"),
        reference(&store, tags).await
    );
}

/// The figures computed from the records the store returns.
async fn reference(store: &Arc<dyn Store>, q: StatsQuery) -> Stats {
    let jobs = super::filters::all(store, &tenant(), JobFilter::default()).await;
    let mut s = Stats::default();
    let mut outcomes = BTreeMap::<String, u64>::new();
    let mut iterations = BTreeMap::<u32, u64>::new();
    let mut tokens = BTreeMap::<(String, &'static str), (u64, u64)>::new();
    let mut errors = BTreeMap::<String, u64>::new();
    let (mut severities, mut categories) = (
        BTreeMap::<String, u64>::new(),
        BTreeMap::<String, u64>::new(),
    );
    let mut series = BTreeMap::<i64, crate::Counts>::new();
    let mut groups = BTreeMap::<String, crate::Counts>::new();
    let (mut durations, mut waits) = (Vec::new(), Vec::new());
    let add = |c: &mut crate::Counts, j: &hone_domain::Job| {
        c.jobs += 1;
        c.tokens += j.usage.total_tokens;
        match j.status {
            JobStatus::Queued => c.queued += 1,
            JobStatus::Running => c.running += 1,
            JobStatus::Succeeded => c.succeeded += 1,
            JobStatus::Failed => c.failed += 1,
            JobStatus::Cancelled => c.cancelled += 1,
        }
    };
    for j in &jobs {
        add(&mut s.totals, j);
        let b = j.created_at.as_millis() - j.created_at.as_millis() % q.bucket.millis();
        add(series.entry(b).or_default(), j);
        let keys = match q.group_by {
            Some(GroupBy::Model) => vec![j.spec.actor.model.clone()],
            Some(GroupBy::Language) => vec![j.spec.language.as_str().to_owned()],
            Some(GroupBy::Tag) => j.spec.tags.clone(),
            None => Vec::new(),
        };
        for k in keys {
            add(groups.entry(k).or_default(), j);
        }
        if let Some(o) = &j.outcome {
            *outcomes.entry(o.reason.as_str().to_owned()).or_default() += 1;
        }
        if j.status == JobStatus::Succeeded {
            *iterations.entry(j.iterations).or_default() += 1;
        }
        if let (Some(st), Some(f)) = (j.started_at, j.finished_at) {
            durations.push(f.millis_since(st));
        }
        if let Some(st) = j.started_at {
            waits.push(st.millis_since(j.created_at));
        }
        let attempts = store
            .list_attempts(&tenant(), j.id)
            .await
            .expect("attempts")
            .expect("job");
        let decided = matches!(j.status, JobStatus::Succeeded | JobStatus::Failed);
        if decided
            && attempts
                .first()
                .and_then(|a| a.execution.as_ref())
                .is_some_and(|e| e.status == ExecutionStatus::Passed)
        {
            s.first_attempt_passed += 1;
        }
        for a in &attempts {
            for (role, c) in [("actor", &a.actor), ("critic", &a.critic)] {
                if let Some(c) = c {
                    let t = tokens.entry((c.model.clone(), role)).or_default();
                    t.0 += c.usage.prompt_tokens;
                    t.1 += c.usage.completion_tokens;
                }
            }
            if let Some(tb) = a.execution.as_ref().and_then(|e| e.traceback.as_ref()) {
                *errors.entry(tb.error_type.clone()).or_default() += 1;
            }
            for issue in a.critique.iter().flat_map(|c| &c.issues) {
                let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                *severities.entry(name(json!(issue.severity))).or_default() += 1;
                *categories.entry(name(json!(issue.category))).or_default() += 1;
            }
        }
    }
    let ranked = |m: BTreeMap<String, u64>| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    s.outcomes = ranked(outcomes);
    s.iterations_to_success = iterations.into_iter().collect();
    let pct = |v: Vec<u64>| crate::Percentiles {
        count: v.len() as u64,
        p50: nearest_rank(v.clone(), 50),
        p95: nearest_rank(v, 95),
    };
    s.duration_ms = pct(durations);
    s.queue_wait_ms = pct(waits);
    s.tokens = tokens
        .into_iter()
        .map(|((model, role), (p, c))| crate::TokenUse {
            model,
            role,
            prompt_tokens: p,
            completion_tokens: c,
        })
        .collect();
    s.tokens.sort_by(|a, b| {
        (b.prompt_tokens + b.completion_tokens).cmp(&(a.prompt_tokens + a.completion_tokens))
    });
    s.top_errors = ranked(errors);
    s.severities = ranked(severities);
    s.categories = ranked(categories);
    s.series = series
        .into_iter()
        .map(|(b, c)| (Timestamp::from_millis(b), c))
        .collect();
    let mut g: Vec<(String, crate::Counts)> = groups.into_iter().collect();
    g.sort_by(|a, b| b.1.jobs.cmp(&a.1.jobs).then(a.0.cmp(&b.0)));
    s.groups = g;
    s
}
