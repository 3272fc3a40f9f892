//! Live progress over SSE: a job's stream sends the backlog, then live events, and closes
//! after the terminal event; `Last-Event-ID` resumes without gaps or duplicates, also when the
//! worker runs in another process (Postgres `LISTEN/NOTIFY`); `/v1/events` carries every job
//! of the tenant.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};
use crate::receiver::{Frame, SseClient};

const GOOD: &str = "```python\ndef add(a, b):\n    return a + b\n```";

/// Answers after `ms` milliseconds, so events arrive while clients listen.
async fn slow_model(ms: u64) -> FakeModel {
    FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| GOOD.to_owned()),
        Arc::new(move |_: &str| Duration::from_millis(ms)),
    )
    .await
}

fn job(task: &str) -> Value {
    json!({"task": task, "tests": "assert add(2, 3) == 5"})
}

fn seq(frame: &Frame) -> u64 {
    let data: Value = serde_json::from_str(&frame.data).expect("json data");
    data["seq"].as_u64().expect("seq")
}

/// Reads until the stream closes, with a 30 s bound.
async fn read_all(client: &mut SseClient) -> Vec<Frame> {
    let mut frames = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(f) = client.next().await {
            frames.push(f);
        }
    })
    .await
    .expect("the stream closes after the terminal event");
    frames
}

#[tokio::test]
async fn a_job_stream_sends_backlog_then_live_events_and_closes_after_the_end() {
    let model = slow_model(200).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let mut tenant = SseClient::open(&app.http, &format!("{}/v1/events", app.base), None).await;
    let id = app.submit(&job("add two numbers")).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let url = format!("{}/v1/jobs/{id}/events", app.base);
    let mut stream = SseClient::open(&app.http, &url, None).await;
    let frames = read_all(&mut stream).await;
    let seqs: Vec<u64> = frames.iter().map(seq).collect();
    let n = seqs.len() as u64;
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert!(n >= 8, "{n}");
    assert_eq!(frames[0].event, "job.queued");
    assert_eq!(
        frames.last().map(|f| f.event.as_str()),
        Some("job.succeeded")
    );
    for f in &frames {
        assert_eq!(f.id.as_deref(), Some(seq(f).to_string().as_str()));
    }

    // The tenant stream saw the same events, with JOB/SEQ ids.
    let mut seen = Vec::new();
    while seen.len() < frames.len() {
        let f = tokio::time::timeout(Duration::from_secs(10), tenant.next())
            .await
            .expect("tenant event in time")
            .expect("tenant stream open");
        assert_eq!(f.id, Some(format!("{id}/{}", seq(&f))));
        seen.push(seq(&f));
    }
    assert_eq!(seen, seqs);

    // Resuming after the last-but-one event gives exactly the last, then closes.
    let last = (n - 1).to_string();
    let mut resumed = SseClient::open(&app.http, &url, Some(&last)).await;
    let rest = read_all(&mut resumed).await;
    assert_eq!(rest.iter().map(seq).collect::<Vec<_>>(), [n]);
    // `?after=` does the same; a finished job with nothing after closes at once.
    let mut after = SseClient::open(&app.http, &format!("{url}?after={n}"), None).await;
    assert!(read_all(&mut after).await.is_empty());

    let bad = app
        .http
        .get(&url)
        .header("accept", "text/event-stream")
        .header("last-event-id", "seven")
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status().as_u16(), 400);
    let missing = app
        .http
        .get(format!("{}/v1/jobs/{}/events", app.base, uuid_like()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status().as_u16(), 404);
}

fn uuid_like() -> &'static str {
    "01900000-0000-7000-8000-000000000000"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconnecting_after_every_event_loses_nothing_across_processes() {
    let model = slow_model(300).await;
    let Some(cluster) = Cluster::start(&model, 1).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let id = cluster.submit(job("add two numbers")).await;
    let url = format!("{}/v1/jobs/{id}/events", cluster.base);
    let mut got: Vec<Frame> = Vec::new();
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job did not end"
        );
        let last = got.last().and_then(|f| f.id.clone());
        let mut client = SseClient::open(&cluster.http, &url, last.as_deref()).await;
        // Take one event, then hang up.
        let Some(frame) = tokio::time::timeout(Duration::from_secs(20), client.next())
            .await
            .expect("an event within 20 s")
        else {
            break;
        };
        let terminal = frame.event == "job.succeeded";
        got.push(frame);
        drop(client);
        if terminal {
            break;
        }
    }
    let seqs: Vec<u64> = got.iter().map(seq).collect();
    let n = seqs.len() as u64;
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "exactly once, in order");
    assert_eq!(got.last().map(|f| f.event.as_str()), Some("job.succeeded"));
    let log = cluster.get(&format!("/v1/jobs/{id}/events")).await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(got.len()));
}
