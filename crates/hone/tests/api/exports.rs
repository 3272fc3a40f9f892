//! Training-data exports (issue 16): preference pairs, trajectories and critiques streamed
//! as NDJSON within the caller's tenant and the history filters, with sensitive text
//! redacted.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::access::key_in_database;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

/// The NDJSON lines of `GET path` with `http`, and the content type.
async fn ndjson(http: &reqwest::Client, url: String) -> (u16, String, Vec<Value>) {
    let resp = http.get(url).send().await.expect("get");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.expect("body");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (status, kind, lines)
}

/// The rows of a Parquet file as JSON objects (nested columns as nested JSON).
fn parquet_rows(file: bytes::Bytes) -> Vec<Value> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file")
        .build()
        .expect("reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("a row group");
        let mut out = Vec::new();
        let mut writer = arrow_json::ArrayWriter::new(&mut out);
        writer.write(&batch).expect("json");
        writer.finish().expect("json");
        if !out.is_empty() {
            let batch_rows: Vec<Value> = serde_json::from_slice(&out).expect("rows");
            rows.extend(batch_rows);
        }
    }
    rows
}

/// `hone export ARGS`: what it wrote.
async fn hone_export(args: &[&str]) -> anyhow::Result<String> {
    use clap::Parser;
    let cli = hone::config::Cli::try_parse_from(
        ["hone", "export"].into_iter().chain(args.iter().copied()),
    )
    .expect("parse");
    let hone::config::Command::Export(args) = cli.command else {
        unreachable!("parsed export")
    };
    let mut out = Vec::new();
    hone::client::export::export(&args, &mut out).await?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

async fn preference_pairs_come_from_corrected_jobs_of_the_tenant(backend: Backend) {
    let model = FakeModel::start(crate::self_correction::brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    // Corrected in two iterations: one pair. Tagged so a filter can find it.
    let mut corrected = crate::self_correction::spec();
    corrected["tags"] = json!(["nightly"]);
    let (id, job) = app.run_job(&corrected).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // Right the first time: nothing to prefer.
    let mut first_time = crate::self_correction::spec();
    first_time["tests"] = json!("assert True");
    let (_, job) = app.run_job(&first_time).await;
    assert_eq!(job["iterations"], 1, "{job}");

    let url = |q: &str| format!("{}/v1/exports/preferences{q}", app.base);
    let (status, kind, lines) = ndjson(&app.http, url("")).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "application/x-ndjson");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let pair = &lines[0];
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    assert_eq!(pair["job_id"], json!(id));
    assert_eq!(pair["rejected"], attempts["items"][0]["code"]);
    assert_eq!(pair["chosen"], attempts["items"][1]["code"]);
    assert_eq!(pair["rejected_status"], "failed");
    assert_eq!(pair["chosen_status"], "passed");
    assert!(
        pair["rejected_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("IndexError")),
        "{pair}"
    );
    assert_eq!(pair["rejected_critique"]["verdict"], "revise");
    assert_eq!(pair["prompt"][0]["role"], "system");
    assert!(
        pair["prompt"][1]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("## Task")),
        "the prompt the actor saw for the task: {pair}"
    );

    // Filters narrow it; status is implied; a bad filter changes nothing and says why.
    let (_, _, tagged) = ndjson(&app.http, url("?tag=nightly")).await;
    assert_eq!(tagged.len(), 1);
    let (_, _, other) = ndjson(&app.http, url("?tag=weekly")).await;
    assert!(other.is_empty());
    for bad in ["?status=failed", "?language=cobol", "?nope=1"] {
        let (status, kind, _) = ndjson(&app.http, url(bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(kind, "application/problem+json", "{bad}");
    }
    // The trajectory: one transcript in the chat fine-tuning format, training on the fix.
    let trajectories = |q: &str| format!("{}/v1/exports/trajectories{q}", app.base);
    let (status, _, transcripts) = ndjson(&app.http, trajectories("?tag=nightly")).await;
    assert_eq!(status, 200);
    assert_eq!(transcripts.len(), 1, "{transcripts:?}");
    let transcript = &transcripts[0];
    hone_domain::chatformat::check_record(transcript).expect("a valid fine-tuning record");
    let messages = transcript["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user", "assistant"]);
    let fenced =
        |code: &Value| format!("```python\n{}\n```", code.as_str().unwrap_or("").trim_end());
    assert_eq!(
        messages[2]["content"],
        fenced(&attempts["items"][0]["code"])
    );
    assert_eq!(messages[2]["weight"], 0, "the failed attempt is context");
    assert!(
        messages[3]["content"]
            .as_str()
            .is_some_and(|c| c.contains("IndexError"))
    );
    assert_eq!(
        messages[4]["content"],
        fenced(&attempts["items"][1]["code"])
    );
    assert_eq!(messages[4]["weight"], 1, "the fix is what training learns");
    let (_, _, all) = ndjson(&app.http, trajectories("")).await;
    assert_eq!(
        all.len(),
        2,
        "the job right the first time is a transcript too"
    );
    let (_, _, traced) = ndjson(&app.http, trajectories("?tag=nightly&with_metadata=true")).await;
    assert_eq!(traced[0]["messages"], transcript["messages"]);
    assert_eq!(traced[0]["metadata"]["job_id"], json!(id));
    assert_eq!(traced[0]["metadata"]["iterations"], 2);
    assert_eq!(traced[0]["metadata"]["redacted"], json!([]));
    let (_, _, repaired) = ndjson(&app.http, trajectories("?min_iterations=2")).await;
    assert_eq!(repaired, transcripts, "only the job that needed a repair");
    let (_, _, first_time) = ndjson(&app.http, trajectories("?max_iterations=1")).await;
    assert_eq!(first_time.len(), 1);
    assert_ne!(first_time, transcripts);
    for bad in [
        "?with_metadata=yes",
        "?status=succeeded",
        "?min_iterations=-1",
    ] {
        let (status, _, _) = ndjson(&app.http, trajectories(bad)).await;
        assert_eq!(status, 400, "{bad}");
    }
    // Critiques, labelled by whether the next attempt passed.
    let critiques = |q: &str| format!("{}/v1/exports/critiques{q}", app.base);
    let (status, _, reviews) = ndjson(&app.http, critiques("?tag=nightly&status=succeeded")).await;
    assert_eq!(status, 200);
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    let (first, second) = (&reviews[0], &reviews[1]);
    assert_eq!(first["iteration"], 1);
    assert_eq!(first["critique"]["verdict"], "revise");
    assert_eq!(first["run_status"], "failed");
    assert_eq!(
        first["next_passed"], true,
        "the fix after this critique passed"
    );
    assert_eq!(first["code"], attempts["items"][0]["code"]);
    assert_eq!(second["iteration"], 2);
    assert_eq!(second["critique"]["verdict"], "approve");
    assert!(second["next_passed"].is_null(), "no next attempt");
    let (_, _, all) = ndjson(&app.http, critiques("")).await;
    assert_eq!(
        all.len(),
        3,
        "the job right the first time was reviewed once"
    );

    // The same records as Parquet: one row each, nested where the record nests.
    for kind in ["preferences", "trajectories", "critiques"] {
        let base = format!("{}/v1/exports/{kind}", app.base);
        let (_, _, want) = ndjson(&app.http, base.clone()).await;
        let resp = app
            .http
            .get(format!("{base}?format=parquet"))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        let content = resp.headers()["content-type"].to_str().unwrap_or_default();
        assert_eq!(content, "application/vnd.apache.parquet");
        let rows = parquet_rows(resp.bytes().await.expect("body"));
        assert_eq!(rows.len(), want.len(), "{kind}");
        let key = if kind == "trajectories" {
            "messages"
        } else {
            "job_id"
        };
        for (row, record) in rows.iter().zip(want.iter()) {
            assert_eq!(row[key], record[key], "{kind}: {row} against {record}");
        }
    }
    let (status, _, _) = ndjson(&app.http, url("?format=csv")).await;
    assert_eq!(status, 400, "an unknown format");

    // The CLI writes the same records.
    let service = ["--url", app.base.as_str(), "--api-key", app.key.as_str()];
    let cli = hone_export(&[&["preferences", "--tag", "nightly"][..], &service].concat()).await;
    let written = cli.expect("export");
    assert_eq!(written.lines().count(), 1);
    let record: Value = serde_json::from_str(written.trim()).expect("a record");
    assert_eq!(record, lines[0]);
    let args = [&["trajectories", "--min-iterations", "2"][..], &service].concat();
    let written = hone_export(&args).await.expect("export");
    let record: Value = serde_json::from_str(written.trim()).expect("a record");
    assert_eq!(record, transcripts[0]);
    let refused = hone_export(&[&["preferences", "--language", "cobol"][..], &service].concat())
        .await
        .expect_err("a bad filter");
    assert!(refused.to_string().contains("400"), "{refused}");
    // Another tenant sees none of it.
    let other = client_with(&key_in_database(&app, "tenant-b").await);
    let (status, _, lines) = ndjson(&other, url("")).await;
    assert_eq!(status, 200);
    assert!(lines.is_empty(), "{lines:?}");
}

on_both!(
    preference_pairs_come_from_corrected_jobs_of_the_tenant_on_sqlite,
    preference_pairs_come_from_corrected_jobs_of_the_tenant_on_postgres,
    preference_pairs_come_from_corrected_jobs_of_the_tenant
);

/// More jobs than one page of the stream: every pair arrives once.
#[tokio::test]
async fn the_export_pages_through_every_job() {
    let model = FakeModel::start(Arc::new(|_: &str, user: &str| {
        if user.contains("What went wrong") {
            "```python\nx = 1\n```".to_owned()
        } else {
            "```python\nraise SystemExit(1)\n```".to_owned()
        }
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let items: Vec<Value> = (0..130)
        .map(|i| json!({"task": format!("job {i}"), "tests": "assert True", "critic": null}))
        .collect();
    let batch = app
        .post_json("/v1/jobs/batch", json!({"items": items}).to_string(), &[])
        .await;
    assert_eq!(batch.status, 202, "{}", batch.body);
    for id in batch.body["ids"].as_array().expect("ids") {
        let job = app.wait_finished(id.as_str().expect("id")).await;
        assert_eq!(job["iterations"], 2, "{job}");
    }
    let url = format!("{}/v1/exports/preferences", app.base);
    let (_, _, lines) = ndjson(&app.http, url).await;
    assert_eq!(lines.len(), 130);
    let mut ids: Vec<&str> = lines.iter().filter_map(|l| l["job_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 130, "each job once");
}

/// Operator patterns, the job's webhook URL and hone API keys never leave in an export; the
/// records say which rules took something out.
#[tokio::test]
async fn sensitive_text_is_redacted_from_every_export() {
    let secret = "tok_abcd1234";
    let hook = "http://127.0.0.1:9/hook?token=s3cret";
    let hone_key = format!("hone_{}", "Z".repeat(28));
    let model = FakeModel::start(Arc::new(move |_: &str, user: &str| {
        if user.contains("What went wrong") {
            "```python\nx = 'tok_abcd1234'\n```".to_owned()
        } else {
            "```python\nraise SystemExit(1)\n```".to_owned()
        }
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hone.toml");
    std::fs::write(
        &file,
        "[exports.redact]\nshop_token = \"tok_[a-z0-9]{8}\"\n",
    )
    .expect("file");
    let path = file.display().to_string();
    let args = ["--config", path.as_str(), "--webhook-allow-private", "true"];
    let app = TestApp::start_with(Backend::Sqlite, &model, &args)
        .await
        .expect("sqlite app");
    let spec = json!({
        "task": format!("Call {hook} with {secret}, signed with {hone_key}"),
        "tests": "assert True",
        "webhook": {"url": hook},
    });
    let (_, job) = app.run_job(&spec).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    for kind in [
        "preferences",
        "trajectories?with_metadata=true",
        "critiques",
    ] {
        let url = format!("{}/v1/exports/{kind}", app.base);
        let text = app
            .http
            .get(url)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        assert!(!text.is_empty(), "{kind}: no records");
        for leaked in [secret, hook, hone_key.as_str()] {
            assert!(!text.contains(leaked), "{kind} leaks {leaked}: {text}");
        }
        assert!(text.contains("[REDACTED:shop_token]"), "{kind}: {text}");
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).expect("a record");
            let said = record.get("metadata").unwrap_or(&record)["redacted"].clone();
            for rule in ["hone_api_key", "webhook_url"] {
                assert!(
                    said.as_array().is_some_and(|r| r.contains(&json!(rule))),
                    "{kind}: {said}"
                );
            }
        }
    }
    // A pattern that is not a regular expression stops the start, naming the rule.
    std::fs::write(&file, "[exports.redact]\nbroken = \"(\"\n").expect("file");
    let err = crate::cost::refused_start(&["--config", &path], &[]);
    assert!(
        err.contains("exports.redact") && err.contains("broken"),
        "{err}"
    );
}
