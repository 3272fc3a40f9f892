//! The table of runtimes: how a language's program is written to disk and started, so a new
//! language is a table entry, not an engine change.

use std::path::{Path, PathBuf};

use hone_domain::Language;

/// How to run one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The language it runs.
    pub language: Language,
    /// The program's file name in the working directory.
    pub file_name: &'static str,
    /// The interpreter, an absolute path resolved at start.
    pub interpreter: PathBuf,
    /// Arguments before the file name.
    pub args: &'static [&'static str],
}

/// A runtime entry before its interpreter is resolved.
struct Entry {
    language: Language,
    file_name: &'static str,
    default_interpreter: &'static str,
    args: &'static [&'static str],
}

const TABLE: &[Entry] = &[
    Entry {
        language: Language::Python,
        file_name: "main.py",
        default_interpreter: "/usr/bin/python3",
        // -I: ignore PYTHON* variables and user site-packages; -B: write no .pyc files.
        args: &["-I", "-B"],
    },
    Entry {
        language: Language::Javascript,
        file_name: "main.js",
        default_interpreter: "/usr/bin/node",
        args: &[],
    },
    Entry {
        language: Language::Bash,
        file_name: "main.sh",
        default_interpreter: "/usr/bin/bash",
        args: &["--norc", "--noprofile"],
    },
];

/// A program that prints `ok`, for the start-up self-check.
pub fn hello_world(language: Language) -> &'static str {
    match language {
        Language::Python => "print('ok')\n",
        Language::Javascript => "console.log('ok');\n",
        Language::Bash => "echo ok\n",
    }
}

/// Python's test harness (`harness/tests.py`), written after the candidate code: it runs
/// the tests as the file `tests` with each `assert a <op> b` reporting both sides.
const PYTHON_HARNESS: &str = include_str!("harness/tests.py");
/// The harness's traceback printer, handed to it as a string and compiled only when a run
/// fails, so a passing run does not pay for compiling it.
const PYTHON_FAILURE: &str = include_str!("harness/failure.py");

/// The program text for candidate `code` followed by the job's in-program `tests`, after two
/// blank lines. Python's tests go through [`PYTHON_HARNESS`] (the tests as a string literal
/// it compiles as the file `tests`); other languages' follow the code as they are.
pub fn program_with_tests(language: Language, code: &str, tests: Option<&str>) -> String {
    let mut source = code.trim_end().to_owned();
    source.push('\n');
    if let Some(tests) = tests {
        source.push_str("\n\n");
        match language {
            Language::Python => {
                // A JSON string is a Python string literal (serde_json escapes only `"`, `\`
                // and control characters, all as Python reads them).
                let literal = serde_json::to_string(tests.trim_end()).unwrap_or_default();
                let failure = serde_json::to_string(PYTHON_FAILURE).unwrap_or_default();
                source.push_str(PYTHON_HARNESS);
                source.push_str(&format!("_hone_run_tests_({literal}, {failure})\n"));
            }
            Language::Javascript | Language::Bash => {
                source.push_str(tests.trim_end());
                source.push('\n');
            }
        }
    }
    source
}

/// Whether `language`'s tests run apart from the program file (as the file `tests`), so
/// frames in the program past the candidate's lines are the harness's, not the tests'.
pub fn tests_apart(language: Language) -> bool {
    language == Language::Python
}

/// The number of lines the candidate code takes in [`program_with_tests`]'s output: frames
/// beyond it belong to the tests.
pub fn candidate_lines(code: &str) -> u32 {
    u32::try_from(code.trim_end().lines().count()).unwrap_or(u32::MAX)
}

/// What `interpreter --version` prints first (stdout, or stderr for interpreters that write
/// it there), within two seconds; `None` if it says nothing.
pub async fn version(interpreter: &Path) -> Option<String> {
    let run = tokio::process::Command::new(interpreter)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(2), run)
        .await
        .ok()?
        .ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let first = String::from_utf8_lossy(&text)
        .lines()
        .next()?
        .trim()
        .to_owned();
    (!first.is_empty()).then_some(first)
}

/// Resolves every runtime whose interpreter exists: `overrides` (language, path) replace the
/// defaults. Returns the usable runtimes and, for the others, why they are not usable.
pub fn resolve(overrides: &[(Language, PathBuf)]) -> (Vec<Runtime>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for entry in TABLE {
        let interpreter = overrides
            .iter()
            .find(|(l, _)| *l == entry.language)
            .map_or_else(
                || PathBuf::from(entry.default_interpreter),
                |(_, p)| p.clone(),
            );
        match check_interpreter(&interpreter) {
            Ok(path) => found.push(Runtime {
                language: entry.language,
                file_name: entry.file_name,
                interpreter: path,
                args: entry.args,
            }),
            Err(why) => missing.push(format!("{}: {why}", entry.language.as_str())),
        }
    }
    (found, missing)
}

fn check_interpreter(path: &Path) -> Result<PathBuf, String> {
    if !path.is_absolute() {
        return Err(format!("{} is not an absolute path", path.display()));
    }
    let real = path
        .canonicalize()
        .map_err(|e| format!("{} not found ({e})", path.display()))?;
    if !real.starts_with("/usr") {
        return Err(format!(
            "{} resolves to {}, outside /usr, which the sandbox does not mount",
            path.display(),
            real.display()
        ));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_follow_the_code_and_lines_are_counted() {
        let p = program_with_tests(
            Language::Javascript,
            "function f() {\n  return 1;\n}\n\n",
            Some("assert(f() === 1)"),
        );
        assert_eq!(p, "function f() {\n  return 1;\n}\n\n\nassert(f() === 1)\n");
        let p = program_with_tests(Language::Python, "x = 1\n", Some("assert x == \"\\n\"\n"));
        assert!(p.starts_with("x = 1\n\n\ndef _hone_run_tests_(source, failure):"));
        let call = p.lines().last().unwrap_or_default();
        assert!(
            call.starts_with("_hone_run_tests_(\"assert x == \\\"\\\\n\\\"\", \"# hone's"),
            "the tests, then the traceback printer, as string literals: {call}"
        );
        assert!(call.ends_with("\")"), "{call}");
        assert_eq!(candidate_lines("def f():\n    return 1\n\n"), 2);
    }
}
