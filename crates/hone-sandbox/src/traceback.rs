//! Parsing runtimes' error reports into [`Traceback`]s whose frames point at the candidate's
//! own lines: frames in the in-program tests are relabelled `tests` with the tests' own line
//! numbers, and frames inside the runtime's libraries are dropped.

use hone_domain::{Frame, Language, Traceback};

/// Where the candidate's code ends in the program file, to tell its frames from the tests'.
#[derive(Debug, Clone, Copy)]
pub struct ProgramLayout<'a> {
    /// The program's file name (`main.py`).
    pub file_name: &'a str,
    /// Lines of candidate code at the top of the file.
    pub candidate_lines: u32,
    /// Whether tests follow the code (after two blank lines).
    pub has_tests: bool,
    /// Whether the tests run as their own file, `tests` (Python's harness): then lines of
    /// the program past the candidate's are the harness's, and left out.
    pub tests_apart: bool,
}

impl ProgramLayout<'_> {
    /// Maps a raw (file, line) to what the actor should see; `None` for frames outside the
    /// program (the runtime's own libraries).
    fn place(&self, file: &str, line: u32) -> Option<(String, u32)> {
        let file = file.strip_prefix("/work/").unwrap_or(file);
        if self.tests_apart && self.has_tests && file == "tests" {
            return Some(("tests".to_owned(), line));
        }
        if file != self.file_name {
            return None;
        }
        if self.has_tests && line > self.candidate_lines + 2 {
            if self.tests_apart {
                return None;
            }
            return Some(("tests".to_owned(), line - self.candidate_lines - 2));
        }
        Some((file.to_owned(), line))
    }
}

/// Parses `stderr` as `language` prints errors. `None` when there is no recognisable report.
pub fn parse(language: Language, stderr: &str, layout: ProgramLayout<'_>) -> Option<Traceback> {
    match language {
        Language::Python => parse_python(stderr, layout),
        Language::Javascript => parse_node(stderr, layout),
        Language::Bash => parse_bash(stderr, layout),
    }
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// `IndexError: list index out of range` -> (`IndexError`, message); a bare `KeyboardInterrupt`.
fn python_error_line(line: &str) -> Option<(String, String)> {
    if line.starts_with(char::is_whitespace) || line.starts_with("Traceback ") {
        return None;
    }
    let (name, message) = match line.split_once(": ") {
        Some((n, m)) => (n, m),
        None => (line.strip_suffix(':').unwrap_or(line), ""),
    };
    let looks_like_exception = is_dotted_name(name)
        && name
            .rsplit('.')
            .next()
            .is_some_and(|n| n.chars().next().is_some_and(char::is_uppercase));
    looks_like_exception.then(|| {
        (
            name.rsplit('.').next().unwrap_or(name).to_owned(),
            message.to_owned(),
        )
    })
}

/// `  File "main.py", line 3, in f` -> (file, line, function).
fn python_frame_line(line: &str) -> Option<(String, u32, String)> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(", line ")?;
    let (num, function) = match rest.split_once(", in ") {
        Some((n, f)) => (n, f.trim().to_owned()),
        None => (rest.trim(), "<module>".to_owned()),
    };
    Some((file.to_owned(), num.trim().parse().ok()?, function))
}

fn parse_python(stderr: &str, layout: ProgramLayout<'_>) -> Option<Traceback> {
    let lines: Vec<&str> = stderr.lines().collect();
    let (error_idx, (error_type, message)) = lines
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, l)| python_error_line(l).map(|e| (i, e)))?;
    let start = lines[..error_idx]
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last)"))
        .map(|i| i + 1)
        .unwrap_or_else(|| {
            let indented = lines[..error_idx]
                .iter()
                .rev()
                .take_while(|l| l.starts_with(char::is_whitespace))
                .count();
            error_idx - indented
        });
    let mut frames = Vec::new();
    let mut i = start;
    while i < error_idx {
        if let Some((file, line, function)) = python_frame_line(lines[i]) {
            let code = lines
                .get(i + 1)
                .filter(|n| {
                    i + 1 < error_idx
                        && n.starts_with("    ")
                        && python_frame_line(n).is_none()
                        && !n.trim().chars().all(|c| matches!(c, '^' | '~' | ' '))
                })
                .map(|n| n.trim().to_owned());
            if let Some((file, line)) = layout.place(&file, line) {
                frames.push(Frame {
                    file,
                    line,
                    function,
                    code,
                });
            }
        }
        i += 1;
    }
    Some(Traceback {
        error_type,
        message,
        frames,
    })
}

/// `    at f (/work/main.js:3:11)` or `    at /work/main.js:3:11`.
fn node_frame_line(line: &str) -> Option<(String, u32, String)> {
    let rest = line.trim_start().strip_prefix("at ")?;
    let (function, location) = match rest.rsplit_once(" (") {
        Some((f, loc)) => (f.to_owned(), loc.trim_end_matches(')')),
        None => ("<module>".to_owned(), rest),
    };
    let mut parts = location.rsplitn(3, ':');
    let _column = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_owned(), line, function))
}

fn parse_node(stderr: &str, layout: ProgramLayout<'_>) -> Option<Traceback> {
    let lines: Vec<&str> = stderr.lines().collect();
    let error_idx = lines.iter().position(|l| {
        let name = l.split([':', ' ']).next().unwrap_or("");
        !l.starts_with(char::is_whitespace)
            && is_dotted_name(name)
            && (name.ends_with("Error") || name == "Error" || name.ends_with("Exception"))
    })?;
    let line = lines[error_idx];
    let (head, message) = line.split_once(": ").unwrap_or((line, ""));
    let error_type = head.split(' ').next().unwrap_or(head).to_owned();
    let frames = lines[error_idx + 1..]
        .iter()
        .filter_map(|l| node_frame_line(l))
        .filter_map(|(file, line, function)| {
            layout.place(&file, line).map(|(file, line)| Frame {
                file,
                line,
                function,
                code: None,
            })
        })
        .collect();
    Some(Traceback {
        error_type,
        message: message.to_owned(),
        frames,
    })
}

/// `main.sh: line 3: foo: command not found`.
fn parse_bash(stderr: &str, layout: ProgramLayout<'_>) -> Option<Traceback> {
    stderr.lines().rev().find_map(|l| {
        let rest = l.strip_prefix(layout.file_name)?.strip_prefix(": line ")?;
        let (num, message) = rest.split_once(": ")?;
        let (file, line) = layout.place(layout.file_name, num.parse().ok()?)?;
        Some(Traceback {
            error_type: "BashError".to_owned(),
            message: message.to_owned(),
            frames: vec![Frame {
                file,
                line,
                function: "<script>".to_owned(),
                code: None,
            }],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: ProgramLayout<'static> = ProgramLayout {
        file_name: "main.py",
        candidate_lines: 5,
        has_tests: true,
        tests_apart: false,
    };

    #[test]
    fn python_runtime_error_with_test_frames() {
        let stderr = "Traceback (most recent call last):\n  File \"/work/main.py\", line 9, in <module>\n    assert parse_logs('') == []\n           ^^^^^^^^^^^^^^\n  File \"/work/main.py\", line 3, in parse_logs\n    return [l.split()[1] for l in text.split('\\n')]\n            ~~~~~~~~~^^^\nIndexError: list index out of range\n";
        let tb = parse(Language::Python, stderr, LAYOUT).unwrap();
        assert_eq!(tb.error_type, "IndexError");
        assert_eq!(tb.message, "list index out of range");
        assert_eq!(tb.frames.len(), 2);
        assert_eq!(
            (tb.frames[0].file.as_str(), tb.frames[0].line),
            ("tests", 2)
        );
        assert_eq!(
            (tb.frames[1].file.as_str(), tb.frames[1].line),
            ("main.py", 3)
        );
        assert_eq!(tb.frames[1].function, "parse_logs");
        assert!(tb.frames[1].code.as_deref().unwrap().starts_with("return"));
    }

    #[test]
    fn python_syntax_error_and_chained_exceptions() {
        let stderr = "  File \"/work/main.py\", line 2\n    def f(:\n          ^\nSyntaxError: invalid syntax\n";
        let tb = parse(Language::Python, stderr, LAYOUT).unwrap();
        assert_eq!(tb.error_type, "SyntaxError");
        assert_eq!(tb.frames[0].line, 2);
        let chained = "Traceback (most recent call last):\n  File \"/work/main.py\", line 1, in <module>\n    x = {}['a']\nKeyError: 'a'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/work/main.py\", line 4, in <module>\n    raise ValueError('bad')\nValueError: bad\n";
        let tb = parse(Language::Python, chained, LAYOUT).unwrap();
        assert_eq!(
            (tb.error_type.as_str(), tb.message.as_str()),
            ("ValueError", "bad")
        );
        assert_eq!(tb.frames.len(), 1);
        assert_eq!(tb.frames[0].line, 4);
    }

    #[test]
    fn python_library_frames_are_dropped() {
        let stderr = "Traceback (most recent call last):\n  File \"/work/main.py\", line 2, in <module>\n    json.loads('x')\n  File \"/usr/lib/python3.11/json/__init__.py\", line 346, in loads\n    return _default_decoder.decode(s)\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n";
        let tb = parse(Language::Python, stderr, LAYOUT).unwrap();
        assert_eq!(tb.error_type, "JSONDecodeError");
        assert_eq!(tb.frames.len(), 1);
    }

    #[test]
    fn node_and_bash_errors() {
        let layout = ProgramLayout {
            file_name: "main.js",
            candidate_lines: 3,
            has_tests: false,
            tests_apart: false,
        };
        let stderr = "/work/main.js:2\n  throw new TypeError('nope');\n  ^\n\nTypeError: nope\n    at f (/work/main.js:2:9)\n    at Object.<anonymous> (/work/main.js:3:1)\n    at Module._compile (node:internal/modules/cjs/loader:1256:14)\n";
        let tb = parse(Language::Javascript, stderr, layout).unwrap();
        assert_eq!(
            (tb.error_type.as_str(), tb.message.as_str()),
            ("TypeError", "nope")
        );
        assert_eq!(tb.frames.len(), 2);
        assert_eq!(
            (tb.frames[0].function.as_str(), tb.frames[0].line),
            ("f", 2)
        );
        let layout = ProgramLayout {
            file_name: "main.sh",
            candidate_lines: 3,
            has_tests: false,
            tests_apart: false,
        };
        let tb = parse(
            Language::Bash,
            "main.sh: line 3: foo: command not found\n",
            layout,
        )
        .unwrap();
        assert_eq!(tb.frames[0].line, 3);
        assert!(parse(Language::Python, "all good\n", LAYOUT).is_none());
    }
}
