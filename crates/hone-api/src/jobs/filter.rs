//! The history filters `GET /v1/jobs` and `POST /v1/jobs/cancel` share, read from query
//! parameters into a [`JobFilter`]: `status`, `reason`, `language` and `model` take any of
//! their values (the parameter repeated); every `tag` and every `metadata.KEY=VALUE` must
//! match; `created_after`/`created_before` are RFC 3339 times; `min_iterations` and
//! `max_iterations` bound how many iterations it ran; `q` searches the task's words;
//! `retry_of` names the job re-run.

use hone_domain::spec::{TAG_RULE, is_metadata_key, is_tag};
use hone_domain::{FieldError, JobId, JobStatus, Language, OutcomeReason, Timestamp, text};
use hone_store::JobFilter;

/// Most values a repeatable parameter takes, most `metadata.` pairs.
const MAX_VALUES: usize = 20;
/// Largest `min_iterations` and `max_iterations`: no job runs more.
const MAX_ITERATIONS: u32 = 1_000;
/// Longest `q` and `model`, in characters.
const MAX_TEXT: usize = 256;

fn text_ok(v: &str) -> bool {
    !v.is_empty() && !text::has_nul(v) && v.chars().count() <= MAX_TEXT
}

fn time(key: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<Timestamp> {
    let t = Timestamp::parse_rfc3339(v);
    if t.is_none() {
        errors.push(FieldError::new(
            key,
            "must be an RFC 3339 time, like 2026-12-01T00:00:00Z",
        ));
    }
    t
}

fn count(key: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<u32> {
    let n = v.parse::<u32>().ok().filter(|n| *n <= MAX_ITERATIONS);
    if n.is_none() {
        errors.push(FieldError::new(
            key,
            format!("must be a whole number from 0 to {MAX_ITERATIONS}"),
        ));
    }
    n
}

/// Reads query parameter `key` into `filter` if it is a filter (pushing what is wrong with
/// it to `errors`); `false` for any other parameter.
pub fn read(filter: &mut JobFilter, key: &str, v: &str, errors: &mut Vec<FieldError>) -> bool {
    match key {
        "status" => match JobStatus::parse(v) {
            Some(s) => filter.statuses.push(s),
            None => errors.push(FieldError::new(
                "status",
                "must be queued, running, succeeded, failed or cancelled",
            )),
        },
        "reason" => match OutcomeReason::parse(v) {
            Some(r) => filter.reasons.push(r),
            None => errors.push(FieldError::new(
                "reason",
                "must be accepted, max_iterations, budget_exhausted, cancelled, error or \
                 no_progress",
            )),
        },
        "language" => match Language::parse(v) {
            Some(l) => filter.languages.push(l),
            None => errors.push(FieldError::new(
                "language",
                "must be python, javascript or bash",
            )),
        },
        "model" if text_ok(v) => filter.models.push(v.to_owned()),
        "model" => errors.push(FieldError::new(
            "model",
            format!("must be a model name of 1 to {MAX_TEXT} characters, without NUL"),
        )),
        "tag" if is_tag(v) => filter.tags.push(v.to_owned()),
        "tag" => errors.push(FieldError::new("tag", TAG_RULE)),
        "created_after" => filter.created_after = time(key, v, errors),
        "created_before" => filter.created_before = time(key, v, errors),
        "q" if text_ok(v) => filter.text = Some(v.to_owned()),
        "q" => errors.push(FieldError::new(
            "q",
            format!("must be 1 to {MAX_TEXT} characters, without NUL"),
        )),
        "min_iterations" => filter.min_iterations = count(key, v, errors),
        "max_iterations" => filter.max_iterations = count(key, v, errors),
        "retry_of" => match v.parse::<JobId>() {
            Ok(id) => filter.retry_of = Some(id),
            Err(_) => errors.push(FieldError::new("retry_of", "must be a job id")),
        },
        _ => match key.strip_prefix("metadata.") {
            Some(k) if is_metadata_key(k) && v.len() <= 512 && !text::has_nul(v) => {
                filter.metadata.push((k.to_owned(), v.to_owned()));
            }
            Some(_) => errors.push(FieldError::new(
                key,
                "a metadata key is 1 to 64 letters, digits, '_', '-' or '.'; its value a \
                 string of at most 512 bytes",
            )),
            None => return false,
        },
    }
    true
}

/// Refuses a filter parameter given more than [`MAX_VALUES`] times.
pub fn check_repeats(query: &[(String, String)], errors: &mut Vec<FieldError>) {
    for key in ["status", "reason", "language", "model", "tag"] {
        if query.iter().filter(|(k, _)| k == key).count() > MAX_VALUES {
            errors.push(FieldError::new(key, format!("at most {MAX_VALUES} values")));
        }
    }
    if query
        .iter()
        .filter(|(k, _)| k.starts_with("metadata."))
        .count()
        > MAX_VALUES
    {
        errors.push(FieldError::new(
            "metadata",
            format!("at most {MAX_VALUES} metadata filters"),
        ));
    }
}
