//! Exporting jobs whose programs printed a lot: each job has one reviewed attempt whose run
//! printed 2 MiB of stdout and 2 MiB of stderr. The process's resident memory while
//! `GET /v1/exports/critiques` streams to a slow reader, against reading the same pages as
//! the export did before issue 31 (each page's attempts whole, output included).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_domain::{
    AttemptStatus, Critique, Execution, ExecutionStatus, JobId, JobSpec, JobStatus, ModelCall,
    Outcome, OutcomeReason, TenantId, Usage, Verdict,
};
use hone_store::{
    ActorOutput, AttemptDecision, ClaimJobs, CritiqueRecord, ExecutionRecord, FinishJob, ListJobs,
    NewJob, Store,
};
use serde_json::json;

use crate::memory::during;

/// Each stream's bytes.
const OUTPUT: usize = 2 * 1024 * 1024;
/// The export's page, as the service reads it.
const PAGE: u32 = 100;

fn call() -> ModelCall {
    ModelCall {
        provider: "bench".into(),
        model: "m".into(),
        latency_ms: 1,
        usage: Usage::default(),
    }
}

/// Stores `n` finished jobs, each with one critiqued attempt whose run printed 4 MiB.
pub(super) async fn load(store: &Arc<dyn Store>, n: usize) -> anyhow::Result<()> {
    let execution = Execution {
        status: ExecutionStatus::Failed,
        exit_code: Some(1),
        signal: None,
        duration_ms: 5,
        cpu_time_ms: None,
        peak_memory_kb: None,
        stdout: "o".repeat(OUTPUT),
        stderr: "e".repeat(OUTPUT),
        stdout_truncated: false,
        stderr_truncated: false,
        traceback: None,
        test_cases: Vec::new(),
        message: None,
    };
    let critique = Critique {
        verdict: Verdict::Revise,
        summary: "it prints too much".into(),
        issues: Vec::new(),
        raw: None,
    };
    for i in 0..n {
        let spec = JobSpec::parse(&json!({"task": format!("job {i}"), "tests": "assert True"}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let job = NewJob::new(JobId::new(), TenantId::default_tenant(), spec);
        store.enqueue_job(job).await?;
        let claim = ClaimJobs {
            worker: "bench".into(),
            limit: 1,
            lease_ms: 600_000,
            per_tenant: None,
            serves: None,
        };
        let lease = store
            .claim_jobs(claim)
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("nothing to claim"))?
            .lease;
        store.start_attempt(&lease, 1).await?;
        let output = ActorOutput {
            iteration: 1,
            code: "print('x' * 10**6)",
            call: &call(),
            candidates: &[],
            lessons: &[],
        };
        store.record_actor_output(&lease, output).await?;
        let run = ExecutionRecord {
            iteration: 1,
            execution: &execution,
        };
        store.record_execution(&lease, run).await?;
        let review = CritiqueRecord {
            iteration: 1,
            critique: &critique,
            call: &call(),
        };
        store.record_critique(&lease, review).await?;
        let decision = AttemptDecision {
            iteration: 1,
            status: AttemptStatus::Failed,
            feedback: None,
        };
        store.finish_attempt(&lease, decision).await?;
        let outcome = Outcome {
            reason: OutcomeReason::MaxIterations,
            accepted_iteration: None,
            code: None,
            message: None,
        };
        let finish = FinishJob {
            status: JobStatus::Failed,
            outcome,
        };
        store.finish_job(&lease, finish).await?;
    }
    Ok(())
}

/// Streams `url` to its end, waiting `pause` after each chunk: records and bytes.
async fn slowly(http: &reqwest::Client, url: &str, pause: Duration) -> anyhow::Result<(u64, u64)> {
    let mut resp = http.get(url).send().await?;
    anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
    let (mut records, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len() as u64;
        records += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        tokio::time::sleep(pause).await;
    }
    Ok((records, bytes))
}

/// `GET /v1/exports/critiques` to its end, read as fast as the client can or slowly.
pub(super) async fn stream(
    base: &str,
    http: &reqwest::Client,
    jobs: usize,
    slow: bool,
) -> anyhow::Result<()> {
    let url = format!("{base}/exports/critiques");
    let (what, pause) = if slow {
        (
            "GET /v1/exports/critiques, a slow reader (5 ms a chunk)",
            Duration::from_millis(5),
        )
    } else {
        (
            "GET /v1/exports/critiques, a reader as fast as it can",
            Duration::ZERO,
        )
    };
    let started = Instant::now();
    let (got, r) = during(slowly(http, &url, pause)).await;
    let (records, bytes) = got?;
    anyhow::ensure!(records == jobs as u64, "{records} records from {jobs} jobs");
    println!(
        "  {what:<58} {records:>5} records, {:>6.2} MiB in {:>6.2} s; resident +{:.1} MiB \
         ({:.0} MiB at most)",
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64(),
        r.grew_mib(),
        r.peak as f64 / 1024.0
    );
    Ok(())
}

/// Every page of jobs with its attempts read whole, output included, as the exports read
/// them before issue 31.
pub(super) async fn before(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (got, r) = during(async {
        let tenant = TenantId::default_tenant();
        let (mut read, mut before) = (0usize, None);
        loop {
            let query = ListJobs {
                limit: PAGE,
                before,
                ..Default::default()
            };
            let page = store.list_jobs(&tenant, query).await?;
            // A page's attempts held together, output included: the old read.
            let mut held = Vec::new();
            for job in &page.items {
                held.push(store.list_attempts(&tenant, job.id).await?);
            }
            read += std::hint::black_box(held).len();
            match page.next {
                Some(next) => before = Some(next),
                None => return anyhow::Ok(read),
            }
        }
    })
    .await;
    let read = got?;
    println!(
        "  {:<58} {read:>5} jobs read in {:>6.2} s; resident +{:.1} MiB ({:.0} MiB at most)",
        "before: each page's attempts read whole, output included",
        started.elapsed().as_secs_f64(),
        r.grew_mib(),
        r.peak as f64 / 1024.0
    );
    Ok(())
}
