//! A 500-item page of large specs: the process's resident memory while `GET /v1/jobs`
//! answers it (summaries), while `include=spec` pages through the same jobs whole, and while
//! the page is read and serialised whole at once, as `GET /v1/jobs` did before issue 31.

use std::sync::Arc;
use std::time::Instant;

use hone_domain::{JobId, JobSpec, TenantId};
use hone_store::{ListJobs, NewJob, Specs, Store};
use serde_json::{Value, json};

use crate::memory::{Resident, during};

/// The page as `GET /v1/jobs` answered it before issue 31, serialised from the jobs read.
#[derive(serde::Serialize)]
struct Whole<'a> {
    items: &'a [hone_domain::Job],
    next_cursor: Option<String>,
}

/// The page size asked for.
const PAGE: u32 = 500;

/// A spec of about `kib` KiB: files of 256 KiB (the bound of one), tests and starter code.
fn spec(i: usize, kib: usize) -> anyhow::Result<JobSpec> {
    let file = "x".repeat(256 * 1024);
    let files: serde_json::Map<String, Value> = (0..kib.div_ceil(256).clamp(1, 32))
        .map(|f| (format!("data_{f}.txt"), Value::String(file.clone())))
        .collect();
    JobSpec::parse(&json!({
        "task": format!("job {i}: parse the files"),
        "tests": "assert True",
        "starter_code": "def parse():\n    pass\n",
        "files": files,
    }))
    .map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Stores `n` jobs of `kib` KiB specs.
pub(super) async fn load(store: &Arc<dyn Store>, n: usize, kib: usize) -> anyhow::Result<()> {
    for i in 0..n {
        let job = NewJob::new(JobId::new(), TenantId::default_tenant(), spec(i, kib)?);
        store.enqueue_job(job).await?;
    }
    Ok(())
}

/// Reads `url` to its end a chunk at a time (the client holds no page, so the memory seen is
/// the server's): its items (each job object has one `"cancel_requested":`, its spec none),
/// bytes, and the next cursor (the body's end).
async fn fetch(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<(usize, usize, Option<String>)> {
    const ITEM: &[u8] = b"\"cancel_requested\":";
    let mut resp = http.get(url).send().await?;
    anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
    let (mut items, mut bytes) = (0, 0);
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len();
        // The last bytes of the previous chunk, so an item split across chunks counts once.
        let keep = tail.len().saturating_sub(ITEM.len() - 1);
        tail.drain(..keep);
        let start = tail.len();
        tail.extend_from_slice(&chunk);
        items += tail
            .windows(ITEM.len())
            .enumerate()
            .filter(|(i, w)| *w == ITEM && i + ITEM.len() > start)
            .count();
        let excess = tail.len().saturating_sub(200);
        tail.drain(..excess);
    }
    let end = String::from_utf8_lossy(&tail);
    let next = end
        .rsplit_once("\"next_cursor\":\"")
        .and_then(|(_, c)| c.split('"').next())
        .map(str::to_owned);
    Ok((items, bytes, next))
}

fn line(what: &str, items: usize, bytes: usize, secs: f64, r: Resident) {
    println!(
        "  {what:<58} {items:>4} items, {:>7.1} MiB in {secs:>5.2} s; resident +{:.1} MiB \
         ({:.0} MiB at most)",
        bytes as f64 / 1_048_576.0,
        r.grew_mib(),
        r.peak as f64 / 1024.0
    );
}

/// `GET /v1/jobs?limit=500`: summaries.
pub(super) async fn summaries(base: &str, http: &reqwest::Client) -> anyhow::Result<()> {
    let started = Instant::now();
    let (got, r) = during(fetch(http, &format!("{base}/jobs?limit={PAGE}"))).await;
    let (items, bytes, _) = got?;
    line(
        "GET /v1/jobs?limit=500 (summaries)",
        items,
        bytes,
        started.elapsed().as_secs_f64(),
        r,
    );
    Ok(())
}

/// `GET /v1/jobs?limit=500&include=spec`, every page to the end.
pub(super) async fn budgeted(base: &str, http: &reqwest::Client) -> anyhow::Result<()> {
    let started = Instant::now();
    let (got, r) = during(async {
        let (mut items, mut bytes, mut pages) = (0, 0, 0);
        let mut url = format!("{base}/jobs?limit={PAGE}&include=spec");
        loop {
            let (n, b, next) = fetch(http, &url).await?;
            (items, bytes, pages) = (items + n, bytes + b, pages + 1);
            match next {
                Some(c) => url = format!("{base}/jobs?limit={PAGE}&include=spec&cursor={c}"),
                None => return anyhow::Ok((items, bytes, pages)),
            }
        }
    })
    .await;
    let (items, bytes, pages) = got?;
    let what = format!("GET /v1/jobs?include=spec, every page ({pages} pages)");
    line(&what, items, bytes, started.elapsed().as_secs_f64(), r);
    Ok(())
}

/// The page read whole and serialised at once, as `GET /v1/jobs` did before issue 31.
pub(super) async fn before(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (got, r) = during(async {
        let query = ListJobs {
            limit: PAGE,
            specs: Specs::Whole,
            ..Default::default()
        };
        let page = store.list_jobs(&TenantId::default_tenant(), query).await?;
        let body = serde_json::to_vec(&Whole {
            items: &page.items,
            next_cursor: None,
        })?;
        anyhow::Ok((page.items.len(), body.len()))
    })
    .await;
    let (items, bytes) = got?;
    let what = "before: the whole page read and serialised at once";
    line(what, items, bytes, started.elapsed().as_secs_f64(), r);
    Ok(())
}
