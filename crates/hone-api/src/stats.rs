//! `GET /v1/stats?since=&until=&bucket=hour|day&group_by=model|language|tag`: what the
//! caller's jobs did over a window (by default the last 30 days, by day), computed by the
//! database ([`hone_store::Store::stats`]) and shaped here, with the rates derived.

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::{FieldError, Timestamp};
use hone_store::{Bucket, Counts, GroupBy, Percentiles, StatsQuery};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

/// The default window.
const DEFAULT_DAYS: i64 = 30;
/// The widest window.
const MAX_DAYS: i64 = 366;
/// The most buckets a series may have.
const MAX_BUCKETS: i64 = 2_000;
const DAY_MS: i64 = 86_400_000;

pub(crate) fn time(key: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<Timestamp> {
    let t = Timestamp::parse_rfc3339(v);
    if t.is_none() {
        errors.push(FieldError::new(key, "must be an RFC 3339 time"));
    }
    t
}

/// The window of `since` and `until` (either may be absent): by default the last
/// [`DEFAULT_DAYS`] days up to now, at most [`MAX_DAYS`] wide.
pub(crate) fn window(
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    errors: &mut Vec<FieldError>,
) -> (Timestamp, Timestamp) {
    let until = until.unwrap_or_else(Timestamp::now);
    let since = since.unwrap_or_else(|| {
        Timestamp::from_millis(until.as_millis().saturating_sub(DEFAULT_DAYS * DAY_MS))
    });
    let span = until.as_millis().saturating_sub(since.as_millis());
    if errors.is_empty() {
        if span <= 0 {
            errors.push(FieldError::new("since", "must be before until"));
        } else if span > MAX_DAYS * DAY_MS {
            errors.push(FieldError::new(
                "since",
                format!("the window is at most {MAX_DAYS} days"),
            ));
        }
    }
    (since, until)
}

fn read(query: &[(String, String)]) -> Result<StatsQuery, ApiError> {
    let mut errors = Vec::new();
    let (mut since, mut until, mut bucket, mut group_by) = (None, None, Bucket::Day, None);
    for (k, v) in query {
        match k.as_str() {
            "since" => since = time(k, v, &mut errors),
            "until" => until = time(k, v, &mut errors),
            "bucket" => match v.as_str() {
                "hour" => bucket = Bucket::Hour,
                "day" => bucket = Bucket::Day,
                _ => errors.push(FieldError::new("bucket", "must be hour or day")),
            },
            "group_by" => match v.as_str() {
                "model" => group_by = Some(GroupBy::Model),
                "language" => group_by = Some(GroupBy::Language),
                "tag" => group_by = Some(GroupBy::Tag),
                _ => errors.push(FieldError::new(
                    "group_by",
                    "must be model, language or tag",
                )),
            },
            other => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    let (since, until) = window(since, until, &mut errors);
    let span = until.as_millis().saturating_sub(since.as_millis());
    if errors.is_empty() && span / bucket.millis() > MAX_BUCKETS {
        errors.push(FieldError::new(
            "bucket",
            format!("at most {MAX_BUCKETS} buckets: use day for a window this wide"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    Ok(StatsQuery {
        since,
        until,
        bucket,
        group_by,
    })
}

fn counts(c: &Counts) -> Map<String, Value> {
    let decided = c.succeeded + c.failed;
    let rate = (decided > 0).then(|| c.succeeded as f64 / decided as f64);
    let v = json!({"jobs": c.jobs, "queued": c.queued, "running": c.running,
        "succeeded": c.succeeded, "failed": c.failed, "cancelled": c.cancelled,
        "tokens": c.tokens, "success_rate": rate});
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn seconds(p: &Percentiles) -> Value {
    let s = |ms: Option<u64>| ms.map(|ms| ms as f64 / 1000.0);
    json!({"count": p.count, "p50": s(p.p50), "p95": s(p.p95)})
}

fn keyed(items: &[(String, u64)]) -> Value {
    Value::Object(items.iter().map(|(k, n)| (k.clone(), json!(n))).collect())
}

/// Answers a stats request.
pub async fn stats(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let q = read(&query)?;
    let s = state.store.stats(&tenant, q).await?;
    let decided = s.totals.succeeded + s.totals.failed;
    let share = |n: u64| (decided > 0).then(|| n as f64 / decided as f64);
    let (first, last) = (share(s.first_attempt_passed), share(s.totals.succeeded));
    let series: Vec<Value> = s
        .series
        .iter()
        .map(|(start, c)| {
            let mut m = counts(c);
            m.insert("start".into(), json!(start));
            Value::Object(m)
        })
        .collect();
    let groups: Vec<Value> = s
        .groups
        .iter()
        .map(|(key, c)| {
            let mut m = counts(c);
            m.insert("key".into(), json!(key));
            Value::Object(m)
        })
        .collect();
    Ok(Json(json!({
        "since": q.since,
        "until": q.until,
        "bucket": match q.bucket { Bucket::Hour => "hour", Bucket::Day => "day" },
        "group_by": q.group_by.map(|g| match g {
            GroupBy::Model => "model", GroupBy::Language => "language", GroupBy::Tag => "tag",
        }),
        "jobs": counts(&s.totals),
        "outcomes": keyed(&s.outcomes),
        "repair": {
            "decided": decided,
            "first_attempt_passed": s.first_attempt_passed,
            "succeeded": s.totals.succeeded,
            "first_attempt_pass_rate": first,
            "final_success_rate": last,
            "lift": first.zip(last).map(|(f, l)| l - f),
        },
        "iterations_to_success": s.iterations_to_success.iter()
            .map(|(i, n)| json!({"iterations": i, "jobs": n})).collect::<Vec<_>>(),
        "duration_s": seconds(&s.duration_ms),
        "queue_wait_s": seconds(&s.queue_wait_ms),
        "tokens": s.tokens.iter().map(|t| json!({"model": t.model, "role": t.role,
            "prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens}))
            .collect::<Vec<_>>(),
        "top_errors": s.top_errors.iter()
            .map(|(k, n)| json!({"error_type": k, "count": n})).collect::<Vec<_>>(),
        "critique": {"severities": keyed(&s.severities), "categories": keyed(&s.categories)},
        "series": series,
        "groups": groups,
    })))
}
