//! The client commands (`hone submit`, `jobs`, `cancel`, `retry`; `show` in [`show`], `watch`
//! in [`watch`]): the API over HTTP with the caller's key, printed for people or as the API's
//! JSON. A refusal prints the problem document's title, detail and each bad field, and the
//! command fails with the exit status of its kind ([`failure`]).

pub mod export;
pub mod failure;
mod progress;
pub mod show;
pub mod watch;

use std::io::{Read, Write};

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

pub use failure::Failure;

use crate::config::{ClientArgs, JobArgs, JobsArgs, Output, SubmitArgs};

/// A service and the key to call it with.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    /// From the command line: the URL, and the key given or read from the key file.
    pub fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let base = base_url(&args.url)?;
        let key = match &args.api_key {
            Some(k) => k.expose().to_owned(),
            None => std::fs::read_to_string(&args.key_file)
                .map(|k| k.trim().to_owned())
                .map_err(|_| {
                    Failure::Input(format!(
                        "no API key: set HONE_API_KEY or --api-key (or run where `hone serve` \
                         wrote {})",
                        args.key_file.display()
                    ))
                })?,
        };
        Ok(Self {
            http: reqwest::Client::new(),
            base,
            key,
        })
    }

    /// Sends a request and returns the JSON answer, or fails with the problem it names. A
    /// connection that could not be opened (the service is starting, say) is tried again
    /// twice within about a second: the request never reached the service, so that is safe
    /// for every method.
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let mut waits = [Duration::from_millis(300), Duration::from_millis(700)].into_iter();
        let resp = loop {
            let attempt = req
                .try_clone()
                .context("the request cannot be sent again")?
                .bearer_auth(&self.key)
                .send()
                .await;
            match attempt {
                Ok(resp) => break resp,
                Err(e) if e.is_connect() => match waits.next() {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(unreachable(&self.base, &e).into()),
                },
                Err(e) => return Err(unreachable(&self.base, &e).into()),
            }
        };
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_client_error() {
            return Err(Failure::Refused(problem(status.as_u16(), &body)).into());
        }
        if !status.is_success() {
            return Err(Failure::Unreachable(problem(status.as_u16(), &body)).into());
        }
        Ok(body)
    }

    /// Submits a job spec; the job as stored.
    pub async fn submit_value(&self, spec: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(self.url("/v1/jobs")).json(spec))
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Why the service could not be reached, as a failure.
pub(crate) fn unreachable(base: &str, e: &reqwest::Error) -> Failure {
    let why = std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string);
    Failure::Unreachable(format!("cannot reach {base}: {why}"))
}

/// The service's base URL from `HONE_URL`/`--url`: `http(s)://host[:port]`, without the
/// API's `/v1` (the commands add it). Anything else is explained, not guessed at.
fn base_url(url: &str) -> Result<String, Failure> {
    let trimmed = url.trim().trim_end_matches('/');
    if !trimmed.starts_with("http://") && !trimmed.starts_with("https://") {
        return Err(Failure::Input(format!(
            "HONE_URL (--url) must start with http:// or https://: got {url:?}; \
             for example http://{}",
            trimmed.trim_start_matches("//")
        )));
    }
    if let Some(bare) = trimmed.strip_suffix("/v1") {
        return Err(Failure::Input(format!(
            "HONE_URL (--url) is the service's address, without /v1 (the commands add it): \
             got {url:?}; use {bare}"
        )));
    }
    if reqwest::Url::parse(trimmed).is_err() {
        return Err(Failure::Input(format!(
            "HONE_URL (--url) is not a URL: {url:?}"
        )));
    }
    Ok(trimmed.to_owned())
}

/// A problem document as lines for a terminal.
fn problem(status: u16, body: &Value) -> String {
    let mut out = format!(
        "{status} {}: {}",
        body["title"].as_str().unwrap_or("error"),
        body["detail"].as_str().unwrap_or("")
    );
    for e in body["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {}: {}",
            e["field"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        ));
    }
    out
}

/// The header of `hone jobs`, over [`job_line`]'s columns.
pub fn jobs_header() -> String {
    format!(
        "{:<36}  {:<9}  {:<5}  {:<16}  {:>11}  TASK",
        "JOB", "STATUS", "ITER", "OUTCOME", "TOKENS"
    )
}

/// One job as a line: id, status, iterations, outcome, tokens, tags, task.
pub fn job_line(job: &Value) -> String {
    let task: String = job["spec"]["task"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(60)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let tags: Vec<&str> = job["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    format!(
        "{}  {:<9}  it {:>2}  {:<16}  {:>7} tok  {}{}",
        job["id"].as_str().unwrap_or("?"),
        job["status"].as_str().unwrap_or("?"),
        job["iterations"].as_u64().unwrap_or(0),
        job["outcome"]["reason"].as_str().unwrap_or("-"),
        job["usage"]["total_tokens"].as_u64().unwrap_or(0),
        if tags.is_empty() {
            String::new()
        } else {
            format!("[{}] ", tags.join(","))
        },
        task
    )
}

fn print(out: &mut impl Write, output: Output, value: &Value, line: String) -> anyhow::Result<()> {
    match output {
        Output::Json => writeln!(out, "{value}")?,
        Output::Text => writeln!(out, "{line}")?,
    }
    Ok(())
}

/// `hone submit`: the job as stored; with `--watch`, then how it ended (`None` without).
/// `terminal`: `out` is the process's stdout, so the watch may draw a live line.
pub async fn submit(
    args: &SubmitArgs,
    terminal: bool,
    out: &mut (impl Write + Send),
) -> anyhow::Result<Option<watch::Ended>> {
    let text = if args.spec.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::Input(format!("cannot read the spec from stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&args.spec)
            .map_err(|e| Failure::Input(format!("cannot read {}: {e}", args.spec.display())))?
    };
    let spec: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Input(format!("{} is not JSON: {e}", args.spec.display())))?;
    let client = Client::new(&args.client)?;
    let job = client.submit_value(&spec).await?;
    print(out, args.format.output(), &job, job_line(&job))?;
    if !args.watch {
        return Ok(None);
    }
    let id = job["id"]
        .as_str()
        .context("the service answered a job without an id")?;
    let ended = watch::follow(&client, id, args.format.output(), terminal, out).await?;
    Ok(Some(ended))
}

/// `hone jobs`: a page of the history.
pub async fn jobs(args: &JobsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let client = Client::new(&args.client)?;
    let mut query: Vec<(&str, String)> = vec![("limit", args.limit.to_string())];
    query.extend(args.status.iter().map(|s| ("status", s.clone())));
    query.extend(args.tag.iter().map(|t| ("tag", t.clone())));
    query.extend(args.q.iter().map(|q| ("q", q.clone())));
    let mut url = reqwest::Url::parse(&client.url("/v1/jobs"))
        .map_err(|_| Failure::Input(format!("{} is not a URL", client.base)))?;
    url.query_pairs_mut().extend_pairs(&query);
    let page = client.send(client.http.get(url)).await?;
    if args.format.output() == Output::Json {
        writeln!(out, "{page}")?;
        return Ok(());
    }
    let items = page["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    writeln!(out, "{}", jobs_header())?;
    if items.is_empty() {
        writeln!(out, "no jobs")?;
    }
    for job in items {
        writeln!(out, "{}", job_line(job))?;
    }
    Ok(())
}

/// `hone cancel`: the job after the request.
pub async fn cancel(args: &JobArgs, out: &mut impl Write) -> anyhow::Result<()> {
    one(args, "cancel", out).await
}

/// `hone retry`: the new job.
pub async fn retry(args: &JobArgs, out: &mut impl Write) -> anyhow::Result<()> {
    one(args, "retry", out).await
}

async fn one(args: &JobArgs, action: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let client = Client::new(&args.client)?;
    let path = job_path(&args.id)?;
    let job = client
        .send(client.http.post(client.url(&format!("{path}/{action}"))))
        .await?;
    print(out, args.format.output(), &job, job_line(&job))
}

/// The API path of job `id`, refusing anything but a UUID's characters.
pub(crate) fn job_path(id: &str) -> anyhow::Result<String> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(Failure::Input(format!("{id:?} is not a job id")).into());
    }
    Ok(format!("/v1/jobs/{id}"))
}
