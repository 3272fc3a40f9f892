//! The sandbox benchmark: median wall time of a bare `python3` start and of the same program
//! through the sandbox, then executions per second of a 50-line program with tests on all
//! cores (the sandbox's slots, one per CPU).
//!
//! The single-run figures leave [`IDLE`] between runs, untimed, on both sides: in a job a
//! slot is idle between runs while the model answers, and the sandbox prepares the slot's
//! next bubblewrap then. The throughput figure runs back to back, with no such pause.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hone_domain::spec::{JobSpec, Limits};
use hone_domain::{ExecutionStatus, Language};
use hone_sandbox::verify::{self, Runtimes};
use hone_sandbox::{Bubblewrap, RunRequest, Sandbox, SandboxConfig, Termination, runtime};

const SEQUENTIAL_RUNS: usize = 200;
const PARALLEL_RUNS: usize = 600;
/// The untimed pause before each single run.
const IDLE: Duration = Duration::from_millis(20);

/// A 50-line program (with its tests) of the kind jobs submit.
pub(crate) const PROGRAM: &str = r#"from collections import Counter, defaultdict


def parse_logs(text):
    out = []
    for line in text.split('\n'):
        if not line.strip():
            continue
        date, level, msg = line.split(' ', 2)
        out.append({'date': date, 'level': level, 'msg': msg})
    return out


def count_levels(entries):
    return Counter(e['level'] for e in entries)


def by_date(entries):
    grouped = defaultdict(list)
    for e in entries:
        grouped[e['date']].append(e['msg'])
    return dict(grouped)


def busiest_day(entries):
    days = Counter(e['date'] for e in entries)
    if not days:
        return None
    return max(sorted(days), key=lambda d: days[d])


def warnings_and_worse(entries):
    rank = {'DEBUG': 0, 'INFO': 1, 'WARN': 2, 'ERROR': 3}
    return [e for e in entries if rank.get(e['level'], 0) >= 2]


def summary(text):
    entries = parse_logs(text)
    return {
        'count': len(entries),
        'levels': dict(count_levels(entries)),
        'busiest': busiest_day(entries),
        'alerts': len(warnings_and_worse(entries)),
    }


def render(s):
    lines = [f"{k}: {v}" for k, v in sorted(s.items())]
    return '\n'.join(lines)
"#;

/// The tests of [`PROGRAM`].
pub(crate) const TESTS: &str = r#"LOG = "2026-01-01 INFO start\n\n2026-01-01 WARN disk low\n2026-01-02 ERROR down\n"
assert parse_logs('') == []
assert len(parse_logs(LOG)) == 3
assert count_levels(parse_logs(LOG))['WARN'] == 1
assert busiest_day(parse_logs(LOG)) == '2026-01-01'
assert summary(LOG)['alerts'] == 2
assert 'count: 3' in render(summary(LOG))
"#;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `runs` bare starts of `python3 -I -B main.py` (the program: `pass`).
fn bare(python: &std::path::Path, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("main.py"), "pass\n")?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        std::thread::sleep(IDLE);
        let started = Instant::now();
        let status = std::process::Command::new(python)
            .args(["-I", "-B", "main.py"])
            .current_dir(dir.path())
            .env_clear()
            .status()?;
        samples.push(started.elapsed());
        anyhow::ensure!(status.success(), "bare python failed");
    }
    Ok(samples)
}

/// Executions per second of the 50-line program and its tests as one plain program (no
/// harness), bare processes, `cpus` at a time (the next starts as soon as any slot is free):
/// the ceiling the sandbox is measured against.
fn bare_parallel(python: &std::path::Path, cpus: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("main.py"),
        crate::pool::plain_program(PROGRAM, TESTS),
    )?;
    let took = crate::pool::run_pool(cpus, PARALLEL_RUNS, |_| {
        let out = std::process::Command::new(python)
            .args(["-I", "-B", "main.py"])
            .current_dir(dir.path())
            .env_clear()
            .output()?;
        anyhow::ensure!(out.status.success(), "bare run failed");
        Ok(())
    })?;
    Ok(PARALLEL_RUNS as f64 / took.as_secs_f64())
}

async fn sandboxed(
    sandbox: &dyn Sandbox,
    rt: &runtime::Runtime,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let request = RunRequest {
            runtime: rt.clone(),
            source: "pass\n".to_owned(),
            files: BTreeMap::new(),
            stdin: None,
            limits: Limits {
                timeout_ms: 10_000,
                memory_mb: 256,
                max_output_bytes: 65_536,
                max_processes: 32,
            },
        };
        tokio::time::sleep(IDLE).await;
        let started = Instant::now();
        let out = sandbox.run(request).await?;
        samples.push(started.elapsed());
        anyhow::ensure!(
            out.termination == Termination::Exited(0),
            "sandboxed run failed: {}",
            out.stderr
        );
    }
    Ok(samples)
}

/// Runs the whole benchmark and prints its figures.
pub async fn run() -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let sandbox: Arc<dyn Sandbox> = Arc::new(Bubblewrap::new(SandboxConfig::default())?);
    let runtimes = Runtimes(runtime::resolve(&[]).0);
    let python = runtimes
        .get(Language::Python)
        .context("no python runtime")?
        .clone();
    hone_sandbox::self_check(sandbox.as_ref(), std::slice::from_ref(&python)).await?;

    // The same sandbox without cgroups, to show what the per-slot groups cost.
    let plain = Bubblewrap::new(SandboxConfig {
        cgroup_root: None,
        ..SandboxConfig::default()
    })?;
    // Warm the page cache and the kernel's paths before measuring.
    bare(&python.interpreter, 20)?;
    sandboxed(sandbox.as_ref(), &python, 20).await?;
    sandboxed(&plain, &python, 20).await?;
    // Interleave the variants in rounds so drift on the machine hits them alike.
    let (mut bare_s, mut boxed_s, mut plain_s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..(SEQUENTIAL_RUNS / 20) {
        bare_s.extend(bare(&python.interpreter, 20)?);
        boxed_s.extend(sandboxed(sandbox.as_ref(), &python, 20).await?);
        plain_s.extend(sandboxed(&plain, &python, 20).await?);
    }
    let (bare_med, boxed_med) = (median(bare_s.clone()), median(boxed_s.clone()));

    let spec = Arc::new(
        JobSpec::parse(&serde_json::json!({"task": "bench", "tests": TESTS}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    );
    let runtimes = Arc::new(runtimes);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..PARALLEL_RUNS {
        let (sandbox, runtimes, spec) = (sandbox.clone(), runtimes.clone(), spec.clone());
        tasks.spawn(
            async move { verify::execute(sandbox.as_ref(), &runtimes, &spec, PROGRAM).await },
        );
    }
    let mut passed = 0;
    while let Some(r) = tasks.join_next().await {
        if r?.map(|e| e.status == ExecutionStatus::Passed)? {
            passed += 1;
        }
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(
        passed == PARALLEL_RUNS,
        "only {passed} of {PARALLEL_RUNS} runs passed"
    );
    let per_second = PARALLEL_RUNS as f64 / elapsed.as_secs_f64();
    let bare_per_second = bare_parallel(&python.interpreter, cpus)?;

    println!(
        "sandbox benchmark ({cpus} CPUs, {} backend, {})",
        sandbox.name(),
        python.interpreter.display()
    );
    println!();
    println!("| what | median | p90 | runs |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| bare `python3 -I -B main.py` (`pass`) | {:.2} ms | {:.2} ms | {} |",
        ms(bare_med),
        ms(percentile(bare_s.clone(), 0.9)),
        bare_s.len()
    );
    println!(
        "| same program through the sandbox | {:.2} ms | {:.2} ms | {} |",
        ms(boxed_med),
        ms(percentile(boxed_s.clone(), 0.9)),
        boxed_s.len()
    );
    println!(
        "| the sandbox without cgroups (rlimits only) | {:.2} ms | {:.2} ms | {} |",
        ms(median(plain_s.clone())),
        ms(percentile(plain_s.clone(), 0.9)),
        plain_s.len()
    );
    println!(
        "| sandbox overhead (difference of medians) | {:.2} ms | | |",
        ms(boxed_med) - ms(bare_med)
    );
    println!(
        "| ratio sandboxed / bare | {:.2}x | | |",
        boxed_med.as_secs_f64() / bare_med.as_secs_f64()
    );
    println!();
    println!(
        "| 50-line program with tests, {PARALLEL_RUNS} runs, {cpus} at a time | executions/s |"
    );
    println!("| --- | ---: |");
    println!("| bare `python3` processes | {bare_per_second:.0} |");
    println!("| through the sandbox (all passed) | {per_second:.0} |");
    println!(
        "| ratio sandboxed / bare | {:.2}x |",
        per_second / bare_per_second
    );
    Ok(())
}
