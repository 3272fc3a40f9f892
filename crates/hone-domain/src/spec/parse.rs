//! [`JobSpec::parse`]: validation of a submitted spec, every error at once, defaults filled in.

use std::collections::BTreeMap;

use serde_json::Value;

use super::bounds::*;
use super::labels::{parse_metadata, parse_tags};
use super::reader::{FieldError, ObjectReader, check_text};
use super::{Acceptance, Budget, JobSpec, Language, Limits, ModelSpec, TestCase, WebhookSpec};
use crate::event::EventType;

/// Defaults of a spec's optional parts.
pub mod defaults {
    /// Iterations when the spec names none.
    pub const MAX_ITERATIONS: u32 = 5;
    /// Provider of the actor and the critic.
    pub const PROVIDER: &str = "openai";
    /// Model of the actor and the critic.
    pub const MODEL: &str = "gpt-4.1-mini";
    /// Actor temperature.
    pub const TEMPERATURE: f64 = 0.2;
}

impl JobSpec {
    /// Validates a submitted spec. Returns every bad field at once; on success the spec has
    /// every default filled in.
    pub fn parse(value: &Value) -> Result<JobSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Value::Object(map) = value else {
            return Err(vec![FieldError::new("", "the body must be a JSON object")]);
        };
        let mut r = ObjectReader::new("", map);

        let task = match r.string("task", MAX_TASK_BYTES, &mut errors) {
            Some(t) if t.trim().is_empty() => {
                errors.push(FieldError::new("task", "must not be empty"));
                None
            }
            None if !errors.iter().any(|e| e.field == "task") => {
                errors.push(FieldError::new("task", "is required"));
                None
            }
            t => t,
        };
        let language = match r.string("language", 64, &mut errors) {
            None => Language::Python,
            Some(l) => Language::parse(&l).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "language",
                    format!("unknown language {l:?}; expected python, javascript or bash"),
                ));
                Language::Python
            }),
        };
        let tests = r.string("tests", MAX_TEXT_BYTES, &mut errors);
        let test_cases = parse_test_cases(&mut r, &mut errors);
        let files = parse_files(&mut r, &mut errors);
        let starter_code = r.string("starter_code", MAX_TEXT_BYTES, &mut errors);
        let acceptance = r.string("acceptance", 64, &mut errors).and_then(|a| {
            let parsed = [
                Acceptance::Tests,
                Acceptance::TestsAndCritic,
                Acceptance::Critic,
            ]
            .into_iter()
            .find(|p| p.as_str() == a);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "acceptance",
                    "must be tests, tests_and_critic or critic",
                ));
            }
            parsed
        });
        let max_iterations = r
            .int(
                "max_iterations",
                (ITERATIONS.0 as i64, ITERATIONS.1 as i64),
                &mut errors,
            )
            .map_or(defaults::MAX_ITERATIONS, |v| v as u32);
        let candidates = r
            .int(
                "candidates",
                (1, i64::from(crate::candidate::MAX_CANDIDATES)),
                &mut errors,
            )
            .map_or(1, |v| v as u32);
        let memory = r.boolean("memory", &mut errors).unwrap_or(false);
        let budget = parse_budget(&mut r, &mut errors);
        let limits = parse_limits(&mut r, &mut errors);
        let actor = match r.raw("actor") {
            Some(Value::Null) => {
                errors.push(FieldError::new("actor", "must be an object"));
                None
            }
            _ => parse_model(&mut r, "actor", &mut errors),
        };
        let critic = match r.raw("critic") {
            Some(Value::Null) => None,
            _ => parse_model(&mut r, "critic", &mut errors),
        };
        let webhook = parse_webhook(&mut r, &mut errors);
        let metadata = parse_metadata(&mut r, &mut errors);
        let tags = parse_tags(&mut r, &mut errors);
        let priority = r
            .int("priority", (-100, 100), &mut errors)
            .map_or(0, |v| v as i32);
        r.finish(&mut errors);

        let has_tests = tests.is_some() || !test_cases.is_empty();
        let acceptance = acceptance.unwrap_or(if has_tests {
            Acceptance::Tests
        } else {
            Acceptance::Critic
        });
        if critic.is_none() && acceptance != Acceptance::Tests {
            errors.push(FieldError::new(
                "acceptance",
                format!("{} needs a critic, but critic is null", acceptance.as_str()),
            ));
        }
        if !has_tests && acceptance != Acceptance::Critic {
            errors.push(FieldError::new(
                "acceptance",
                format!("{} needs tests or test_cases", acceptance.as_str()),
            ));
        }
        match (errors.is_empty(), task, actor) {
            (true, Some(task), Some(actor)) => Ok(JobSpec {
                task,
                language,
                tests,
                test_cases,
                files,
                starter_code,
                acceptance,
                max_iterations,
                candidates,
                memory,
                budget,
                limits,
                actor,
                critic,
                webhook,
                metadata,
                tags,
                priority,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_test_cases(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> Vec<TestCase> {
    let items = match r.raw("test_cases") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_TEST_CASES => items,
        Some(_) => {
            errors.push(FieldError::new(
                "test_cases",
                format!("must be an array of at most {MAX_TEST_CASES} objects"),
            ));
            return Vec::new();
        }
    };
    let mut cases = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("test_cases[{i}]");
        let Value::Object(m) = item else {
            errors.push(FieldError::new(path, "must be an object"));
            continue;
        };
        let mut c = ObjectReader::new(path.clone(), m);
        let name = c.string("name", 200, errors);
        let stdin = c
            .string("stdin", MAX_TEXT_BYTES, errors)
            .unwrap_or_default();
        let expected = c.string("expected_stdout", MAX_TEXT_BYTES, errors);
        if expected.is_none() && !errors.iter().any(|e| e.field == c.path("expected_stdout")) {
            errors.push(FieldError::new(c.path("expected_stdout"), "is required"));
        }
        c.finish(errors);
        cases.push(TestCase {
            name: name.unwrap_or_else(|| format!("case {}", i + 1)),
            stdin,
            expected_stdout: expected.unwrap_or_default(),
        });
    }
    cases
}

/// A file name the sandbox can place safely: one path component, no leading dot.
fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn parse_files(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let Some(mut f) = r.object("files", errors) else {
        return files;
    };
    let names: Vec<String> = f.keys();
    if names.len() > MAX_FILES {
        errors.push(FieldError::new(
            "files",
            format!("at most {MAX_FILES} files"),
        ));
    }
    for name in names {
        let path = f.path(&name);
        if !valid_file_name(&name) {
            errors.push(FieldError::new(
                path,
                "file names are one path component of letters, digits, '.', '_' and '-', not starting with '.'",
            ));
            continue;
        }
        match f.raw_owned(&name) {
            Some(Value::String(s)) if s.len() <= MAX_TEXT_BYTES => match check_text(s) {
                Ok(()) => {
                    files.insert(name, s.clone());
                }
                Err(why) => errors.push(FieldError::new(path, why)),
            },
            _ => errors.push(FieldError::new(
                path,
                format!("must be a string of at most {MAX_TEXT_BYTES} bytes"),
            )),
        }
    }
    files
}

fn parse_budget(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> Budget {
    let mut budget = Budget {
        max_total_tokens: 200_000,
        max_duration_s: 900,
        max_cost_usd: None,
    };
    if let Some(mut b) = r.object("budget", errors) {
        if let Some(v) = b.int("max_total_tokens", (1, 100_000_000), errors) {
            budget.max_total_tokens = v as u64;
        }
        if let Some(v) = b.int("max_duration_s", (1, 86_400), errors) {
            budget.max_duration_s = v as u64;
        }
        if let Some(v) = b.float(
            "max_cost_usd",
            (0.000_001, crate::cost::MAX_BUDGET_DOLLARS),
            errors,
        ) {
            budget.max_cost_usd = Some(crate::Usd::from_dollars(v));
        }
        b.finish(errors);
    }
    budget
}

fn parse_limits(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> Limits {
    let mut limits = Limits::default();
    if let Some(mut l) = r.object("limits", errors) {
        if let Some(v) = l.int("timeout_ms", (100, 600_000), errors) {
            limits.timeout_ms = v as u64;
        }
        if let Some(v) = l.int("memory_mb", (16, 16_384), errors) {
            limits.memory_mb = v as u64;
        }
        if let Some(v) = l.int("max_output_bytes", (1_024, 16 * 1024 * 1024), errors) {
            limits.max_output_bytes = v as u64;
        }
        if let Some(v) = l.int("max_processes", (1, 4_096), errors) {
            limits.max_processes = v as u64;
        }
        l.finish(errors);
    }
    limits
}

fn parse_model(
    r: &mut ObjectReader<'_>,
    key: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<ModelSpec> {
    let mut spec = ModelSpec {
        provider: defaults::PROVIDER.to_owned(),
        model: defaults::MODEL.to_owned(),
        temperature: if key == "critic" {
            0.0
        } else {
            defaults::TEMPERATURE
        },
        system_prompt: None,
    };
    let before = errors.len();
    if let Some(mut m) = r.object(key, errors) {
        if let Some(p) = m.string("provider", 64, errors) {
            spec.provider = p;
        }
        if let Some(p) = m.string("model", 200, errors) {
            if p.trim().is_empty() || p.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    format!("{key}.model"),
                    "must name a model: not empty, no control characters",
                ));
            }
            spec.model = p;
        }
        if let Some(t) = m.float("temperature", (0.0, 2.0), errors) {
            spec.temperature = t;
        }
        spec.system_prompt = m.string("system_prompt", MAX_TEXT_BYTES, errors);
        m.finish(errors);
    }
    (errors.len() == before).then_some(spec)
}

fn parse_webhook(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> Option<WebhookSpec> {
    let mut w = r.object("webhook", errors)?;
    let url = w.string("url", 2_048, errors);
    match &url {
        None if !errors.iter().any(|e| e.field == "webhook.url") => {
            errors.push(FieldError::new("webhook.url", "is required"));
        }
        Some(u) => match url::Url::parse(u) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
            _ => errors.push(FieldError::new(
                "webhook.url",
                "must be an absolute http(s) URL",
            )),
        },
        None => {}
    }
    let events = match w.raw("events") {
        None | Some(Value::Null) => vec!["job.finished".to_owned()],
        Some(Value::Array(items)) => {
            let mut events = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(e) if e == "job.finished" || EventType::parse(e).is_some() => {
                        events.push(e.to_owned());
                    }
                    _ => errors.push(FieldError::new(
                        format!("webhook.events[{i}]"),
                        "must be an event type or job.finished",
                    )),
                }
            }
            events
        }
        Some(_) => {
            errors.push(FieldError::new(
                "webhook.events",
                "must be an array of event types",
            ));
            Vec::new()
        }
    };
    w.finish(errors);
    url.map(|url| WebhookSpec { url, events })
}
