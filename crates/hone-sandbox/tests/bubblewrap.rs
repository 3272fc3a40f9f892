//! The bubblewrap backend against real programs: verdicts, tracebacks, limits, isolation.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::Arc;

use hone_domain::spec::JobSpec;
use hone_domain::{ExecutionStatus, Language};
use hone_sandbox::verify::{self, Runtimes};
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, runtime};
use serde_json::json;

fn sandbox() -> (Arc<dyn Sandbox>, Runtimes) {
    let sandbox = Bubblewrap::new(SandboxConfig::default())
        .expect("bubblewrap must be installed for these tests (apt-get install bubblewrap)");
    let (found, _) = runtime::resolve(&[]);
    (Arc::new(sandbox), Runtimes(found))
}

fn spec(value: serde_json::Value) -> JobSpec {
    JobSpec::parse(&value).expect("valid spec")
}

async fn run(spec: &JobSpec, code: &str) -> hone_domain::Execution {
    let (sandbox, runtimes) = sandbox();
    verify::execute(sandbox.as_ref(), &runtimes, spec, code)
        .await
        .expect("sandbox runs")
}

#[tokio::test]
async fn the_self_check_passes_on_this_host() {
    let (sandbox, runtimes) = sandbox();
    let python: Vec<_> = runtimes
        .0
        .iter()
        .filter(|r| r.language == Language::Python)
        .cloned()
        .collect();
    hone_sandbox::self_check(sandbox.as_ref(), &python)
        .await
        .expect("self-check");
}

#[tokio::test]
async fn passing_code_passes_and_failing_code_reports_its_traceback() {
    let s =
        spec(json!({"task": "t", "tests": "assert first('a b') == 'b'\nassert first('') is None"}));
    let good = "def first(text):\n    parts = text.split()\n    return parts[1] if len(parts) > 1 else None\n";
    let ok = run(&s, good).await;
    assert_eq!(ok.status, ExecutionStatus::Passed, "{}", ok.stderr);
    assert_eq!(ok.exit_code, Some(0));

    let bad = "def first(text):\n    return text.split()[1]\n";
    let failed = run(&s, bad).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let tb = failed.traceback.expect("traceback");
    assert_eq!(tb.error_type, "IndexError");
    assert!(
        tb.frames
            .iter()
            .any(|f| f.file == "main.py" && f.line == 2 && f.function == "first")
    );
    assert!(tb.frames.iter().any(|f| f.file == "tests" && f.line == 2));
}

#[tokio::test]
async fn a_failed_assertion_names_its_line_of_the_tests_and_the_values_compared() {
    let tests =
        "def check(f):\n    assert f(1) == 2\n    assert f(2) == 4, 'two doubled'\n\ncheck(double)";
    let s = spec(json!({"task": "t", "tests": tests}));
    let out = run(&s, "def double(n):\n    return n + 1\n").await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    let tb = out.traceback.expect("traceback");
    assert_eq!(tb.error_type, "AssertionError");
    assert_eq!(tb.message, "two doubled (3 == 4 is false)");
    let last = tb.frames.last().expect("a frame");
    assert_eq!((last.file.as_str(), last.line), ("tests", 3));
    assert_eq!(
        last.code.as_deref(),
        Some("assert f(2) == 4, 'two doubled'")
    );
    assert!(
        !out.stderr.contains("_hone_"),
        "the harness stays out of the report: {}",
        out.stderr
    );
    // The tests' own syntax error is reported at their line, as an error.
    let s = spec(json!({"task": "t", "tests": "assert double(1) ==\n"}));
    let out = run(&s, "def double(n):\n    return 2 * n\n").await;
    assert_eq!(out.status, ExecutionStatus::Error, "{}", out.stderr);
    let tb = out.traceback.expect("traceback");
    assert_eq!(tb.error_type, "SyntaxError");
    assert_eq!(
        tb.frames.last().map(|f| (f.file.as_str(), f.line)),
        Some(("tests", 1))
    );
}

#[tokio::test]
async fn a_failure_is_printed_as_python_prints_it_without_importing_traceback() {
    // At exit (after the excepthook printed), the tests say whether `traceback` was loaded:
    // printing a failure must not import it (its import was most of a failing run's cost).
    let tests = "import atexit, sys\n\
                 atexit.register(lambda: print('traceback loaded:', 'traceback' in sys.modules))\n\
                 assert pick([1, 2]) == 2";
    let s = spec(json!({"task": "t", "tests": tests}));
    let out = run(&s, "def pick(xs):\n    return xs[5] if xs else None\n").await;
    assert_eq!(out.status, ExecutionStatus::Failed, "{}", out.stderr);
    assert!(
        out.stdout.contains("traceback loaded: False"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.ends_with(
            "  File \"/work/main.py\", line 2, in pick\n    \
             return xs[5] if xs else None\n           ^^^^^\nIndexError: list index out of range\n"
        ),
        "frames, source lines and carets as Python prints them: {}",
        out.stderr
    );
    // Endless recursion: repeated frames folded as Python folds them; notes printed.
    let s = spec(json!({"task": "t", "tests": "down(0)"}));
    let code = "def down(n):\n    if n > 50:\n        e = ValueError('deep')\n        \
                e.add_note('at fifty')\n        raise e\n    return down(n + 1)\n";
    let out = run(&s, code).await;
    assert_eq!(out.status, ExecutionStatus::Failed, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("  [Previous line repeated 48 more times]\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("ValueError: deep\nat fifty\n"),
        "{}",
        out.stderr
    );
    let tb = out.traceback.expect("traceback");
    assert_eq!(
        (tb.error_type.as_str(), tb.message.as_str()),
        ("ValueError", "deep")
    );
}

#[tokio::test]
async fn a_syntax_error_is_an_error_not_a_failure() {
    let s = spec(json!({"task": "t", "tests": "assert f() == 1"}));
    let out = run(&s, "def f(:\n    return 1\n").await;
    assert_eq!(out.status, ExecutionStatus::Error);
    assert_eq!(out.traceback.expect("traceback").error_type, "SyntaxError");
}

#[tokio::test]
async fn test_cases_run_separately_with_their_stdin() {
    let s = spec(json!({"task": "t", "test_cases": [
        {"name": "sum", "stdin": "1 2\n", "expected_stdout": "3\n"},
        {"name": "neg", "stdin": "-1 -2", "expected_stdout": "-3"},
        {"name": "wrong", "stdin": "2 2", "expected_stdout": "5"}
    ]}));
    let out = run(&s, "a, b = map(int, input().split())\nprint(a + b)\n").await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    let verdicts: Vec<bool> = out.test_cases.iter().map(|c| c.passed).collect();
    assert_eq!(verdicts, vec![true, true, false]);
    assert_eq!(out.test_cases[2].stdout, "4\n");
}

#[tokio::test]
async fn sleeping_forever_times_out() {
    let s = spec(json!({"task": "t", "tests": "pass", "limits": {"timeout_ms": 500}}));
    let started = std::time::Instant::now();
    let out = run(
        &s,
        "import time\nprint('before', flush=True)\ntime.sleep(3600)\n",
    )
    .await;
    assert_eq!(out.status, ExecutionStatus::Timeout);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.stdout, "before\n", "output before the kill is kept");
    assert!(out.message.expect("message").contains("500 ms"));
}

#[tokio::test]
async fn an_output_flood_is_cut_and_stopped() {
    let s = spec(json!({"task": "t", "tests": "pass", "limits": {"max_output_bytes": 4096}}));
    let out = run(&s, "while True:\n    print('x' * 1000)\n").await;
    assert_eq!(out.status, ExecutionStatus::OutputLimit);
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout.len(), 4096);
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let s = spec(json!({"task": "t", "tests": "pass", "limits": {"memory_mb": 64}}));
    let out = run(&s, "x = bytearray(512 * 1024 * 1024)\n").await;
    assert_eq!(out.status, ExecutionStatus::MemoryLimit, "{}", out.stderr);
    let message = out.message.expect("a limit's message");
    assert!(message.contains("MiB of memory"), "{message}");
}

#[tokio::test]
async fn each_run_reports_its_cpu_time_and_peak_memory() {
    let s = spec(json!({"task": "t", "tests": "pass"}));
    // About 100 MiB touched, and a few hundred milliseconds of CPU.
    let code = "import time\nx = bytearray(100 * 1024 * 1024)\nend = time.process_time() + 0.3\n\
                while time.process_time() < end:\n    pass\n";
    let out = run(&s, code).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    let cpu = out.cpu_time_ms.expect("cpu time");
    assert!((300..5_000).contains(&cpu), "cpu {cpu} ms");
    let peak = out.peak_memory_kb.expect("peak memory");
    assert!((100 * 1024..400 * 1024).contains(&peak), "peak {peak} KiB");
    // An idle program uses little of either.
    let idle = run(&s, "pass\n").await;
    assert!(idle.peak_memory_kb.expect("peak memory") < 64 * 1024);
    assert!(idle.cpu_time_ms.expect("cpu time") < 300);
}

#[tokio::test]
async fn the_program_sees_no_network_no_environment_and_no_host_files() {
    let s = spec(json!({"task": "t", "files": {"data.txt": "hello"}}));
    let probe = r#"
import os, socket
print(open('data.txt').read())
print(sorted(os.environ))
print(os.getuid())
try:
    socket.create_connection(('127.0.0.1', 5432), timeout=2)
    print('connected')
except OSError as e:
    print('refused')
for p in ['/etc/shadow', '/root', '/home']:
    print(p, os.path.exists(p))
try:
    open('data.txt', 'w').write('changed')
    print('wrote input')
except OSError:
    print('inputs read-only')
"#;
    let out = run(&s, probe).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "hello");
    assert!(!out.stdout.contains("OPENAI") && !out.stdout.contains("HONE_"));
    assert_eq!(lines[2], "65534");
    assert_eq!(lines[3], "refused");
    assert_eq!(
        &lines[4..7],
        ["/etc/shadow False", "/root False", "/home False"]
    );
    assert_eq!(lines[7], "inputs read-only");
}

#[tokio::test]
async fn javascript_and_bash_run_too() {
    let js = spec(
        json!({"task": "t", "language": "javascript", "tests": "if (add(1, 2) !== 3) throw new Error('bad');"}),
    );
    let out = run(&js, "function add(a, b) { return a + b; }\n").await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    let out = run(&js, "function add(a, b) { return a - b; }\n").await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.traceback.expect("traceback").error_type, "Error");
    let sh = spec(
        json!({"task": "t", "language": "bash", "test_cases": [{"stdin": "x", "expected_stdout": "hi x"}]}),
    );
    let out = run(&sh, "read name\necho \"hi $name\"\n").await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
}

#[tokio::test]
async fn a_job_cannot_exceed_the_service_wide_maxima() {
    let mut config = SandboxConfig::default();
    config.max_limits.timeout_ms = 300;
    let sandbox = Bubblewrap::new(config).expect("bubblewrap");
    let runtimes = Runtimes(runtime::resolve(&[]).0);
    let s = spec(json!({"task": "t", "limits": {"timeout_ms": 600000}}));
    let started = std::time::Instant::now();
    let out = verify::execute(&sandbox, &runtimes, &s, "import time\ntime.sleep(60)\n")
        .await
        .expect("runs");
    assert_eq!(out.status, ExecutionStatus::Timeout);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(out.message.expect("message").contains("300 ms"));
}
