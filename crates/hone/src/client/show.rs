//! `hone show ID [--attempt N]`: a job for a terminal — its status and outcome, then each
//! attempt: the code, the run (status, time, memory, the traceback's last frame and
//! message, failed test cases), the critique's issues by severity, and the model calls.

use std::io::Write;

use anyhow::bail;
use serde_json::Value;

use super::{Client, job_line, job_path};
use crate::config::{Output, ShowArgs};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// Prints one attempt.
fn attempt(out: &mut impl Write, a: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "\n── attempt {} ({}) ──",
        a["iteration"].as_u64().unwrap_or(0),
        s(a, "status")
    )?;
    if let Some(code) = a["code"].as_str() {
        for line in code.lines() {
            writeln!(out, "  │ {line}")?;
        }
    }
    let run = &a["execution"];
    if run.is_object() {
        writeln!(
            out,
            "  run: {}  {} ms  {} KiB",
            s(run, "status"),
            run["duration_ms"].as_u64().unwrap_or(0),
            run["peak_memory_kb"].as_u64().unwrap_or(0)
        )?;
        let tb = &run["traceback"];
        if tb.is_object() {
            if let Some(last) = tb["frames"].as_array().and_then(|f| f.last()) {
                writeln!(
                    out,
                    "  at {}:{} in {}",
                    s(last, "file"),
                    last["line"].as_u64().unwrap_or(0),
                    s(last, "function")
                )?;
            }
            writeln!(out, "  {}: {}", s(tb, "error_type"), s(tb, "message"))?;
        }
        for case in run["test_cases"].as_array().into_iter().flatten() {
            if case["passed"] == Value::Bool(false) {
                writeln!(
                    out,
                    "  case {}: expected {:?}, got {:?}",
                    s(case, "name"),
                    s(case, "expected_stdout"),
                    s(case, "stdout")
                )?;
            }
        }
    }
    let critique = &a["critique"];
    if critique.is_object() {
        writeln!(
            out,
            "  critic: {} — {}",
            s(critique, "verdict"),
            s(critique, "summary")
        )?;
        for issue in critique["issues"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "    [{}/{}] {}",
                s(issue, "severity"),
                s(issue, "category"),
                s(issue, "description")
            )?;
        }
    }
    let mut calls: Vec<(String, &Value)> = Vec::new();
    match a["candidates"].as_array() {
        Some(candidates) => {
            for (i, c) in candidates.iter().enumerate() {
                let chosen = if c["chosen"] == true { ", chosen" } else { "" };
                let run = c["execution"]["status"].as_str().unwrap_or("stopped");
                let role = format!("actor, candidate {} ({run}{chosen})", i + 1);
                calls.push((role, &c["actor"]));
            }
        }
        None => calls.push(("actor".to_owned(), &a["actor"])),
    }
    calls.push(("critic".to_owned(), &a["critic"]));
    for (role, call) in calls {
        if call.is_object() {
            writeln!(
                out,
                "  {role}: {} {} ms, {} tokens, ${:.6}",
                s(call, "model"),
                call["latency_ms"].as_u64().unwrap_or(0),
                call["usage"]["total_tokens"].as_u64().unwrap_or(0),
                call["usage"]["cost_usd"].as_f64().unwrap_or(0.0)
            )?;
        }
    }
    Ok(())
}

/// Runs `hone show`.
pub async fn show(args: &ShowArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let client = Client::new(&args.client)?;
    let path = job_path(&args.id)?;
    let job = client.send(client.http.get(client.url(&path))).await?;
    let attempts = client
        .send(client.http.get(client.url(&format!("{path}/attempts"))))
        .await?;
    let items: Vec<&Value> = attempts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            args.attempt
                .is_none_or(|n| a["iteration"].as_u64() == Some(u64::from(n)))
        })
        .collect();
    if let Some(n) = args.attempt
        && items.is_empty()
    {
        bail!("job {} has no attempt {n}", args.id);
    }
    if args.format.output() == Output::Json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"job": job, "attempts": items})
        )?;
        return Ok(());
    }
    writeln!(out, "{}", job_line(&job))?;
    if let Some(message) = job["outcome"]["message"].as_str() {
        writeln!(out, "  {message}")?;
    }
    for a in items {
        attempt(out, a)?;
    }
    Ok(())
}
