//! `GET /stats`: the operations API's stats (`since`, `until`, `bucket`) as charts — jobs
//! and their outcomes over time, the repair lift, iterations to success, tokens by model,
//! top error types.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use hone_api::auth::{Caller, Read};
use serde_json::Value;

use crate::WebState;
use crate::chart::{self, Columns, HBars};
use crate::page::{self, Layout, PageError, api};
use crate::session::Session;
use crate::view;
use hone_domain::Timestamp;
use hone_store::Bucket;

/// The stats page.
#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    title: String,
    layout: Option<Layout>,
    since: String,
    until: String,
    bucket: String,
    jobs: u64,
    succeeded: u64,
    failed: u64,
    first_rate: String,
    final_rate: String,
    lift: String,
    duration: String,
    queue_wait: String,
    over_time: Columns,
    plot_height: u32,
    repair: HBars,
    iterations: HBars,
    tokens: HBars,
    errors: HBars,
    bar_x: u32,
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map(|f| format!("{:.1} %", f * 100.0))
        .unwrap_or_else(|| "–".to_owned())
}

fn seconds(v: &Value) -> String {
    let p = |k: &str| {
        v[k].as_f64()
            .map(|s| format!("{s:.1} s"))
            .unwrap_or_else(|| "–".to_owned())
    };
    format!("p50 {} · p95 {}", p("p50"), p("p95"))
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// The most buckets drawn; a longer window shows only the buckets that have jobs.
const MAX_BUCKETS: i64 = 1000;

/// Every bucket of the window, oldest first, with its counts (`Null` for one without jobs).
/// Buckets start at multiples of their length since the epoch, as the store counts them.
fn every_bucket(s: &Value) -> Vec<(Timestamp, Value)> {
    let series: Vec<(Timestamp, Value)> = items(&s["series"])
        .filter_map(|b| {
            let start = Timestamp::parse_rfc3339(b["start"].as_str()?)?;
            Some((start, b.clone()))
        })
        .collect();
    let length = match s["bucket"].as_str() {
        Some("hour") => Bucket::Hour.millis(),
        _ => Bucket::Day.millis(),
    };
    let time = |k: &str| s[k].as_str().and_then(Timestamp::parse_rfc3339);
    let (Some(since), Some(until)) = (time("since"), time("until")) else {
        return series;
    };
    let first = since.as_millis() - since.as_millis().rem_euclid(length);
    if (until.as_millis() - first) / length > MAX_BUCKETS {
        return series;
    }
    let mut at = series.into_iter().peekable();
    let mut out = Vec::new();
    let mut start = first;
    while start < until.as_millis() {
        let counts = match at.peek() {
            Some((t, _)) if t.as_millis() == start => at.next().map(|(_, v)| v).unwrap_or_default(),
            _ => Value::Null,
        };
        out.push((Timestamp::from_millis(start), counts));
        start += length;
    }
    out
}

/// Shows the stats.
pub async fn page(
    State(state): State<WebState>,
    session: Session,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let query: Vec<(String, String)> = query.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let caller = api(Caller::<Read>::for_key(&session.key)).await?;
    let s = api(hone_api::stats::stats(State(state.api.clone()), caller, Query(query)).await)
        .await?
        .0;
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let over_time = chart::columns(
        every_bucket(&s)
            .into_iter()
            .map(|(start, b)| {
                let (ok, bad, off) = (
                    count(&b["succeeded"]),
                    count(&b["failed"]),
                    count(&b["cancelled"]),
                );
                let open = count(&b["jobs"]).saturating_sub(ok + bad + off);
                (
                    format!(
                        "{}: {} jobs, {ok} succeeded, {bad} failed, {off} cancelled, {open} open",
                        view::when(start),
                        count(&b["jobs"])
                    ),
                    vec![
                        (ok, "succeeded"),
                        (bad, "failed"),
                        (off, "cancelled"),
                        (open, "queued"),
                    ],
                )
            })
            .collect(),
    );
    let r = &s["repair"];
    let rate = |v: &Value| v.as_f64().unwrap_or(0.0);
    let repair = chart::hbars(vec![
        (
            "first attempt".to_owned(),
            rate(&r["first_attempt_pass_rate"]),
            percent(&r["first_attempt_pass_rate"]),
            "first",
        ),
        (
            "after repair".to_owned(),
            rate(&r["final_success_rate"]),
            percent(&r["final_success_rate"]),
            "succeeded",
        ),
    ]);
    let iterations = chart::hbars(
        items(&s["iterations_to_success"])
            .map(|i| {
                let n = count(&i["jobs"]);
                (
                    match count(&i["iterations"]) {
                        1 => "1 iteration".to_owned(),
                        n => format!("{n} iterations"),
                    },
                    n as f64,
                    n.to_string(),
                    "succeeded",
                )
            })
            .collect(),
    );
    let tokens = chart::hbars(
        items(&s["tokens"])
            .map(|t| {
                let n = count(&t["prompt_tokens"]) + count(&t["completion_tokens"]);
                (
                    format!("{} ({})", text(&t["model"]), text(&t["role"])),
                    n as f64,
                    n.to_string(),
                    "tokens",
                )
            })
            .collect(),
    );
    let errors = chart::hbars(
        items(&s["top_errors"])
            .map(|e| {
                let n = count(&e["count"]);
                (text(&e["error_type"]), n as f64, n.to_string(), "failed")
            })
            .collect(),
    );
    let lift = r["lift"]
        .as_f64()
        .map(|l| format!("{:+.1} points", l * 100.0))
        .unwrap_or_else(|| "–".to_owned());
    let template = StatsPage {
        title: "Stats".to_owned(),
        layout: Some(session.layout("stats")),
        since: text(&s["since"]),
        until: text(&s["until"]),
        bucket: text(&s["bucket"]),
        jobs: count(&s["jobs"]["jobs"]),
        succeeded: count(&s["jobs"]["succeeded"]),
        failed: count(&s["jobs"]["failed"]),
        first_rate: percent(&r["first_attempt_pass_rate"]),
        final_rate: percent(&r["final_success_rate"]),
        lift,
        duration: seconds(&s["duration_s"]),
        queue_wait: seconds(&s["queue_wait_s"]),
        over_time,
        plot_height: chart::PLOT_HEIGHT as u32,
        repair,
        iterations,
        tokens,
        errors,
        bar_x: 220,
    };
    page::html(&template)
}
