//! `hone export`: a training-data export of a running service (`GET /v1/exports/...`)
//! written to stdout as it streams in, so an export of any size holds little memory: NDJSON,
//! or with `--format parquet` one Parquet file (a failure midway cuts it off, and the
//! command exits 4, as for a service that failed).

use std::io::Write;

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::Value;

use super::Client;
use crate::config::{ExportArgs, ExportKind};

/// Streams the export `args` names into `out`.
pub async fn export(args: &ExportArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let client = Client::new(&args.client)?;
    let path = match args.kind {
        ExportKind::Preferences => "/v1/exports/preferences",
        ExportKind::Trajectories => "/v1/exports/trajectories",
        ExportKind::Critiques => "/v1/exports/critiques",
    };
    let min = args.min_iterations.map(|n| n.to_string());
    let max = args.max_iterations.map(|n| n.to_string());
    let mut query: Vec<(&str, &str)> = Vec::new();
    query.extend(args.status.iter().map(|v| ("status", v.as_str())));
    query.extend(args.reason.iter().map(|v| ("reason", v.as_str())));
    query.extend(min.iter().map(|v| ("min_iterations", v.as_str())));
    query.extend(max.iter().map(|v| ("max_iterations", v.as_str())));
    let parquet = args.format == "parquet";
    if parquet {
        query.push(("format", "parquet"));
    }
    if args.with_metadata {
        query.push(("with_metadata", "true"));
    }
    query.extend(args.tag.iter().map(|v| ("tag", v.as_str())));
    query.extend(args.language.iter().map(|v| ("language", v.as_str())));
    query.extend(args.model.iter().map(|v| ("model", v.as_str())));
    query.extend(args.q.iter().map(|v| ("q", v.as_str())));
    query.extend(
        args.created_after
            .iter()
            .map(|v| ("created_after", v.as_str())),
    );
    query.extend(
        args.created_before
            .iter()
            .map(|v| ("created_before", v.as_str())),
    );
    let mut url = reqwest::Url::parse(&client.url(path))
        .with_context(|| format!("{} is not a URL", client.base))?;
    url.query_pairs_mut().extend_pairs(&query);
    let resp = client
        .http
        .get(url)
        .bearer_auth(&client.key)
        .send()
        .await
        .map_err(|e| super::unreachable(&client.base, &e))?;
    let status = resp.status();
    if !status.is_success() {
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let why = super::problem(status.as_u16(), &body);
        return Err(if status.is_client_error() {
            super::Failure::Refused(why)
        } else {
            super::Failure::Unreachable(why)
        }
        .into());
    }
    // The server ends a stream that failed midway with a line {"error": ...}: the start
    // of the line being written is kept, to tell that line from a record.
    const ERROR_LINE: &[u8] = b"{\"error\"";
    let mut line_start: Vec<u8> = Vec::with_capacity(ERROR_LINE.len());
    let mut last_was_error = false;
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.context("the export broke off")?;
        out.write_all(&chunk).context("cannot write the export")?;
        for &b in chunk.iter() {
            if parquet {
                break;
            }
            if b == b'\n' {
                last_was_error = line_start == ERROR_LINE;
                line_start.clear();
            } else if line_start.len() < ERROR_LINE.len() {
                line_start.push(b);
            }
        }
    }
    out.flush().context("cannot write the export")?;
    if last_was_error {
        anyhow::bail!("the export failed midway (its last line says so); the output is incomplete");
    }
    Ok(())
}
