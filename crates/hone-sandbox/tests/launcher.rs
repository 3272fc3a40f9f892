//! The warm launcher: a run leaves the slot's next bubblewrap waiting, the next run uses it,
//! and dropping the sandbox ends every waiting process. Its own test binary, so no other
//! test's sandbox adds waiting processes to this one's.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::time::Duration;

use hone_domain::ExecutionStatus;
use hone_domain::spec::JobSpec;
use hone_sandbox::verify::{self, Runtimes};
use hone_sandbox::{Bubblewrap, SandboxConfig, runtime};
use serde_json::json;

/// Children of this process that are bubblewraps waiting for a run's options.
fn waiting() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| {
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            let child = status
                .lines()
                .any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == me));
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let alive = !status.contains("Z (zombie)");
            child && alive && cmdline.windows(11).any(|w| w == b"--args\x00201\x00")
        })
        .count()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn runs_leave_their_next_bubblewrap_waiting_and_the_sandbox_ends_them() {
    let sandbox = Bubblewrap::new(SandboxConfig {
        concurrency: 1,
        ..SandboxConfig::default()
    })
    .expect("bubblewrap must be installed for these tests (apt-get install bubblewrap)");
    let runtimes = Runtimes(runtime::resolve(&[]).0);
    let spec = JobSpec::parse(&json!({"task": "t", "tests": "assert 1 + 1 == 2"})).expect("spec");
    assert_eq!(waiting(), 0, "nothing waits before the first run");
    for _ in 0..4 {
        let out = verify::execute(&sandbox, &runtimes, &spec, "x = 1\n")
            .await
            .expect("runs");
        assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
        // One slot, two cells: each holds at most one waiting bubblewrap.
        until("the next bubblewrap waits", || (1..=2).contains(&waiting())).await;
    }
    drop(sandbox);
    until("no bubblewrap waits", || waiting() == 0).await;
}
