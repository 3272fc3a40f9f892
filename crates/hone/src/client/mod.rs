//! The client commands (`hone submit`, `jobs`, `cancel`, `retry`; `show` in [`show`], `watch`
//! in [`watch`]): the API over HTTP with the caller's key, printed for people or as the API's JSON. A refusal prints the problem
//! document's title, detail and each bad field, and the command fails.

pub mod export;
mod progress;
pub mod show;
pub mod watch;

use std::io::{Read, Write};

use anyhow::{Context, bail};
use serde_json::Value;

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
        let key = match &args.api_key {
            Some(k) => k.expose().to_owned(),
            None => std::fs::read_to_string(&args.key_file)
                .map(|k| k.trim().to_owned())
                .with_context(|| {
                    format!(
                        "no API key: set HONE_API_KEY or --api-key (or run where `hone serve` \
                         wrote {})",
                        args.key_file.display()
                    )
                })?,
        };
        Ok(Self {
            http: reqwest::Client::new(),
            base: args.url.trim_end_matches('/').to_owned(),
            key,
        })
    }

    /// Sends a request and returns the JSON answer, or fails with the problem it names.
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = req
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{}", problem(status.as_u16(), &body));
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
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.spec)
            .with_context(|| format!("cannot read {}", args.spec.display()))?
    };
    let spec: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.spec.display()))?;
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
        .with_context(|| format!("{} is not a URL", client.base))?;
    url.query_pairs_mut().extend_pairs(&query);
    let page = client.send(client.http.get(url)).await?;
    if args.format.output() == Output::Json {
        writeln!(out, "{page}")?;
        return Ok(());
    }
    for job in page["items"].as_array().into_iter().flatten() {
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
        bail!("{id:?} is not a job id");
    }
    Ok(format!("/v1/jobs/{id}"))
}
