//! The floors' runner: `slots` threads, each starting the next program as soon as its last
//! one ended, so no program waits behind a slower one (a pool that waited on the oldest
//! child first would add head-of-line waits to the floor).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs `run(0)` to `run(jobs - 1)` on `slots` threads; the wall time of them all.
pub(crate) fn run_pool<F>(slots: usize, jobs: usize, run: F) -> anyhow::Result<Duration>
where
    F: Fn(usize) -> anyhow::Result<()> + Sync,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..slots.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= jobs {
                            return Ok(());
                        }
                        run(i)?;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a floor thread panicked"))??;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(started.elapsed())
}

/// A floor's program: the candidate followed by the tests, as one plain program (no
/// harness), which exits non-zero when a test fails.
pub(crate) fn plain_program(code: &str, tests: &str) -> String {
    format!("{}\n\n\n{}\n", code.trim_end(), tests.trim_end())
}

/// The Python interpreter the sandbox would run, as the floors run it too.
pub(crate) fn python() -> anyhow::Result<PathBuf> {
    let (runtimes, _) = hone_sandbox::runtime::resolve(&[]);
    runtimes
        .into_iter()
        .find(|r| r.language == hone_domain::Language::Python)
        .map(|r| r.interpreter)
        .ok_or_else(|| anyhow::anyhow!("no python3"))
}
