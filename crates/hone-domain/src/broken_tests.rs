//! Tests that do not compile: the run's error is a syntax error inside the job's own tests,
//! so no code could ever pass them and the actor is not to blame. Told apart only where the
//! tests are compiled as their own file (Python's harness compiles them as `tests`); where
//! tests follow the code in one file (JavaScript, Bash) a parser may report the code's own
//! mistake at a later line, so those runs are left to the loop.

use crate::attempt::Execution;
use crate::spec::Language;

/// Python's errors raised while compiling source.
const COMPILE_ERRORS: [&str; 3] = ["SyntaxError", "IndentationError", "TabError"];

/// Why the job's tests cannot run, when the run shows they do not compile: a sentence for
/// the job's outcome that names the line and the error and says what to do.
pub fn tests_do_not_compile(language: Language, execution: &Execution) -> Option<String> {
    if language != Language::Python {
        return None;
    }
    let tb = execution.traceback.as_ref()?;
    if !COMPILE_ERRORS.contains(&tb.error_type.as_str()) {
        return None;
    }
    let at = tb.frames.last().filter(|f| f.file == "tests")?;
    Some(format!(
        "the job's tests do not compile (tests, line {}: {}: {}): no code could pass them, \
         so none was judged; fix `tests` and submit the job again",
        at.line, tb.error_type, tb.message
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::{ExecutionStatus, Frame, Traceback};

    fn run(error_type: &str, file: &str) -> Execution {
        Execution {
            traceback: Some(Traceback {
                error_type: error_type.into(),
                message: "invalid syntax".into(),
                frames: vec![Frame {
                    file: file.into(),
                    line: 3,
                    function: "<module>".into(),
                    code: None,
                }],
            }),
            ..Execution::bare(ExecutionStatus::Failed)
        }
    }

    #[test]
    fn only_a_python_compile_error_inside_the_tests_blames_them() {
        let why = tests_do_not_compile(Language::Python, &run("SyntaxError", "tests"));
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("tests, line 3: SyntaxError: invalid syntax")),
            "{why:?}"
        );
        assert!(
            tests_do_not_compile(Language::Python, &run("IndentationError", "tests")).is_some()
        );
        // The code's own syntax error is the actor's to fix.
        assert!(tests_do_not_compile(Language::Python, &run("SyntaxError", "main.py")).is_none());
        // A failed assertion is the code's failure.
        assert!(tests_do_not_compile(Language::Python, &run("AssertionError", "tests")).is_none());
        // Tests in the code's own file: not told apart.
        assert!(tests_do_not_compile(Language::Javascript, &run("SyntaxError", "tests")).is_none());
        assert!(
            tests_do_not_compile(Language::Python, &Execution::bare(ExecutionStatus::Failed))
                .is_none()
        );
    }
}
