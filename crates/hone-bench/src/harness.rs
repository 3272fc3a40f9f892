//! What the Python test harness costs a run: the 50-line program of the sandbox benchmark
//! with its tests, once passing and once failing an assertion, each run through the harness
//! (`runtime::program_with_tests`, as every job's run is) against the same program and tests
//! as one plain program, bare `python3 -I -B` on both sides (no sandbox), in alternated
//! rounds. The floor contains none of hone's code.

use std::path::Path;
use std::time::{Duration, Instant};

use hone_domain::Language;
use hone_sandbox::runtime;

use crate::pool::plain_program;
use crate::sandbox::{PROGRAM, TESTS};

/// Runs of each program in all.
const RUNS: usize = 200;
/// Runs of each program in a round before the next program's.
const ROUND: usize = 20;

/// The wall time of `runs` runs of `main.py` in `dir`, each checked to exit as `passes`
/// says; a short untimed pause before each, as between a job's runs.
fn timed(python: &Path, dir: &Path, runs: usize, passes: bool) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        std::thread::sleep(Duration::from_millis(5));
        let started = Instant::now();
        let out = std::process::Command::new(python)
            .args(["-I", "-B", "main.py"])
            .current_dir(dir)
            .env_clear()
            .output()?;
        samples.push(started.elapsed());
        anyhow::ensure!(
            out.status.success() == passes,
            "unexpected exit {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(samples)
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// A directory holding `source` as `main.py`.
fn program(source: &str) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("main.py"), source)?;
    Ok(dir)
}

/// Prints the harness's cost on a passing and a failing run.
pub fn run() -> anyhow::Result<()> {
    let python = crate::pool::python()?;
    // The failing program drops the last entry it parsed: an assertion on a count fails.
    let broken = PROGRAM.replace("    return out\n", "    return out[:-1]\n");
    println!("the Python test harness: {RUNS} runs of each, bare python3 -I -B, medians");
    for (name, code, passes) in [("passing", PROGRAM, true), ("failing", &broken, false)] {
        let floor = program(&plain_program(code, TESTS))?;
        let harness = program(&runtime::program_with_tests(
            Language::Python,
            code,
            Some(TESTS),
        ))?;
        timed(&python, floor.path(), ROUND, passes)?;
        timed(&python, harness.path(), ROUND, passes)?;
        let (mut bare, mut through) = (Vec::new(), Vec::new());
        for _ in 0..RUNS / ROUND {
            bare.extend(timed(&python, floor.path(), ROUND, passes)?);
            through.extend(timed(&python, harness.path(), ROUND, passes)?);
        }
        let (bare, through) = (median(bare), median(through));
        println!(
            "{name} run: plain program {bare:.1} ms, through the harness {through:.1} ms, \
             +{:.1} ms (target <= +3 ms)",
            through - bare
        );
    }
    Ok(())
}
