//! Turning a job's candidate code into a verdict: the in-program `tests` run after the code in
//! one program, each of the `test_cases` runs as its own execution, and the raw runs become a
//! domain [`Execution`] with a status the actor can act on. A job's limits are lowered to the
//! sandbox's service-wide maxima first.

use hone_domain::spec::{JobSpec, Limits};
use hone_domain::{Execution, ExecutionStatus, Language, TestCaseResult};

use crate::runtime::{self, Runtime};
use crate::traceback::{self, ProgramLayout};
use crate::{ResourceUsage, RunOutput, RunRequest, Sandbox, SandboxError, Termination};

/// The runtimes found at start, by language.
#[derive(Debug, Clone, Default)]
pub struct Runtimes(pub Vec<Runtime>);

impl Runtimes {
    /// The runtime of `language`, if its interpreter was found.
    pub fn get(&self, language: Language) -> Option<&Runtime> {
        self.0.iter().find(|r| r.language == language)
    }
}

/// Error types that mean the code never ran.
const DID_NOT_RUN: &[&str] = &["SyntaxError", "IndentationError", "TabError"];

/// Runs `code` against the spec's tests and test cases.
pub async fn execute(
    sandbox: &dyn Sandbox,
    runtimes: &Runtimes,
    spec: &JobSpec,
    code: &str,
) -> Result<Execution, SandboxError> {
    let runtime = runtimes.get(spec.language).ok_or_else(|| {
        SandboxError::Setup(format!(
            "no {} runtime on this host",
            spec.language.as_str()
        ))
    })?;
    let max = sandbox.max_limits();
    let limits = Limits {
        timeout_ms: spec.limits.timeout_ms.min(max.timeout_ms),
        memory_mb: spec.limits.memory_mb.min(max.memory_mb),
        max_output_bytes: spec.limits.max_output_bytes.min(max.max_output_bytes),
        max_processes: spec.limits.max_processes.min(max.max_processes),
    };
    let request = |source: String, stdin: Option<String>| RunRequest {
        runtime: runtime.clone(),
        source,
        files: spec.files.clone(),
        stdin,
        limits,
    };
    let layout_for = |has_tests| ProgramLayout {
        file_name: runtime.file_name,
        candidate_lines: runtime::candidate_lines(code),
        has_tests,
        tests_apart: runtime::tests_apart(spec.language),
    };

    // The program run: code then tests, or the code alone when there is nothing else to run.
    let main = if spec.tests.is_some() || spec.test_cases.is_empty() {
        let source = runtime::program_with_tests(spec.language, code, spec.tests.as_deref());
        let out = sandbox.run(request(source, None)).await?;
        Some(out)
    } else {
        None
    };
    let main_status = main
        .as_ref()
        .map(|out| status_of(out, spec.language, layout_for(spec.tests.is_some())));

    let mut cases = Vec::with_capacity(spec.test_cases.len());
    let mut first_failed_case: Option<(RunOutput, ExecutionStatus)> = None;
    let mut a_passed_case: Option<RunOutput> = None;
    for case in &spec.test_cases {
        if main_status == Some(ExecutionStatus::Error) {
            // The code does not even parse: every case fails the same way; do not run them.
            cases.push(TestCaseResult {
                name: case.name.clone(),
                passed: false,
                stdout: String::new(),
                expected_stdout: case.expected_stdout.clone(),
                status: ExecutionStatus::Error,
            });
            continue;
        }
        let source = runtime::program_with_tests(spec.language, code, None);
        let out = sandbox
            .run(request(source, Some(case.stdin.clone())))
            .await?;
        let mut status = status_of(&out, spec.language, layout_for(false));
        let passed = status == ExecutionStatus::Passed
            && out.stdout.trim_end() == case.expected_stdout.trim_end();
        if status == ExecutionStatus::Passed && !passed {
            status = ExecutionStatus::Failed;
        }
        cases.push(TestCaseResult {
            name: case.name.clone(),
            passed,
            stdout: out.stdout.clone(),
            expected_stdout: case.expected_stdout.clone(),
            status,
        });
        if !passed && first_failed_case.is_none() {
            first_failed_case = Some((out, status));
        } else if passed && a_passed_case.is_none() {
            a_passed_case = Some(out);
        }
    }

    // What the execution shows: the program run, else the first failing case, else a case.
    let (shown, has_tests, status) = match (main, main_status, first_failed_case) {
        (Some(out), Some(s), failed) if s != ExecutionStatus::Passed || failed.is_none() => {
            (out, spec.tests.is_some(), s)
        }
        (_, _, Some((out, s))) => (out, false, s),
        (Some(out), _, None) => (out, spec.tests.is_some(), ExecutionStatus::Passed),
        (None, _, None) => match a_passed_case {
            Some(out) => (out, false, ExecutionStatus::Passed),
            None => return Err(SandboxError::Setup("nothing was run".to_owned())),
        },
    };
    let traceback = traceback::parse(spec.language, &shown.stderr, layout_for(has_tests));
    let (exit_code, signal) = match shown.termination {
        Termination::Exited(c) => (Some(c), None),
        Termination::Signaled(s) => (None, Some(s)),
        Termination::Timeout
        | Termination::OutputLimit
        | Termination::MemoryLimit
        | Termination::ProcessLimit => (None, Some(9)),
    };
    let cpu_time_ms = shown
        .usage
        .map(|u| u64::try_from(u.cpu_time.as_millis()).unwrap_or(u64::MAX));
    let peak_memory_kb = shown.usage.map(|u| u.peak_memory_kb);
    Ok(Execution {
        status,
        exit_code,
        signal,
        duration_ms: u64::try_from(shown.duration.as_millis()).unwrap_or(u64::MAX),
        cpu_time_ms,
        peak_memory_kb,
        message: message_for(status, &limits, shown.usage),
        stdout: shown.stdout,
        stderr: shown.stderr,
        stdout_truncated: shown.stdout_truncated,
        stderr_truncated: shown.stderr_truncated,
        traceback,
        test_cases: cases,
    })
}

/// The status of one raw run.
fn status_of(out: &RunOutput, language: Language, layout: ProgramLayout<'_>) -> ExecutionStatus {
    match out.termination {
        Termination::Timeout => ExecutionStatus::Timeout,
        Termination::OutputLimit => ExecutionStatus::OutputLimit,
        Termination::MemoryLimit => ExecutionStatus::MemoryLimit,
        Termination::ProcessLimit => ExecutionStatus::ProcessLimit,
        Termination::Exited(0) => ExecutionStatus::Passed,
        Termination::Signaled(9) => ExecutionStatus::MemoryLimit,
        Termination::Signaled(25) => ExecutionStatus::DiskLimit,
        Termination::Exited(_) | Termination::Signaled(_) => {
            let error_type = traceback::parse(language, &out.stderr, layout).map(|t| t.error_type);
            match error_type.as_deref() {
                Some(t) if DID_NOT_RUN.contains(&t) => ExecutionStatus::Error,
                Some("MemoryError") => ExecutionStatus::MemoryLimit,
                _ if out.stderr.contains("JavaScript heap out of memory") => {
                    ExecutionStatus::MemoryLimit
                }
                _ if out.stderr.contains("No space left on device")
                    || out.stderr.contains("ENOSPC")
                    || out.stderr.contains("File too large") =>
                {
                    ExecutionStatus::DiskLimit
                }
                _ if out.stderr.contains("Resource temporarily unavailable")
                    || out.stderr.contains("fork: retry")
                    || out.stderr.contains("EAGAIN") =>
                {
                    ExecutionStatus::ProcessLimit
                }
                _ => ExecutionStatus::Failed,
            }
        }
    }
}

/// A sentence the actor can act on when a limit tripped, with what the run used.
fn message_for(
    status: ExecutionStatus,
    l: &Limits,
    usage: Option<ResourceUsage>,
) -> Option<String> {
    let limit = matches!(
        status,
        ExecutionStatus::Timeout
            | ExecutionStatus::MemoryLimit
            | ExecutionStatus::OutputLimit
            | ExecutionStatus::ProcessLimit
            | ExecutionStatus::DiskLimit
    );
    let message = limit_message(status, l)?;
    Some(match usage {
        Some(u) if limit => format!(
            "{message} It used {} ms of CPU time and at most {} MiB of memory.",
            u.cpu_time.as_millis(),
            u.peak_memory_kb.div_ceil(1024)
        ),
        _ => message,
    })
}

/// The sentence for `status`, when it has one.
fn limit_message(status: ExecutionStatus, l: &Limits) -> Option<String> {
    match status {
        ExecutionStatus::Timeout => Some(format!(
            "The program was killed after {} ms: it exceeded the time limit. Look for infinite \
             loops, blocking reads of stdin, or algorithms too slow for the input size.",
            l.timeout_ms
        )),
        ExecutionStatus::MemoryLimit => Some(format!(
            "The program ran out of memory (limit {} MiB). Use less memory: stream data, avoid \
             building huge lists.",
            l.memory_mb
        )),
        ExecutionStatus::OutputLimit => Some(format!(
            "The program printed more than {} bytes and was stopped. Print only what is asked.",
            l.max_output_bytes
        )),
        ExecutionStatus::ProcessLimit => Some(format!(
            "The program hit the process limit ({} processes): do not start processes or \
             threads in a loop.",
            l.max_processes
        )),
        ExecutionStatus::DiskLimit => Some(
            "The program filled its working directory or wrote a file over the size limit. \
             Write less to disk."
                .to_owned(),
        ),
        ExecutionStatus::Error => {
            Some("The code did not run: fix the syntax error shown in the traceback.".to_owned())
        }
        _ => None,
    }
}
