//! What clients do to connections: heads and bodies trickled a byte at a time are cut at their
//! timeouts while the service keeps answering; a stop with an SSE client and a half-sent
//! request connected ends within the grace period, and the SSE client resumes on the
//! restarted process without losing an event.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::cluster::free_port;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with, shared_key};
use crate::receiver::SseClient;

/// Opens a connection, sends `start`, then one byte of `trickle` every 100 ms until the server
/// closes the connection; returns how long the server kept it open.
async fn trickle(addr: &str, start: &'static str, trickle: &'static [u8]) -> Duration {
    let opened = Instant::now();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(start.as_bytes()).await.expect("start");
    let writer = tokio::spawn(async move {
        for b in trickle.iter().cycle() {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    writer.abort();
    assert!(
        closed.is_ok(),
        "the server never closed a trickling connection"
    );
    opened.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trickled_heads_and_bodies_are_cut_at_their_timeouts_while_healthz_answers() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let flags = ["--http-header-timeout-s", "1", "--http-body-timeout-s", "1"];
    let app = TestApp::start_with(Backend::Sqlite, &model, &flags)
        .await
        .expect("sqlite app");
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for i in 0..200 {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            if i % 10 == 0 {
                // A body trickled after a complete head.
                let head = "POST /v1/jobs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
                trickle(&addr, head, b" ").await
            } else {
                trickle(&addr, "GET /healthz HTTP/1.1\r\nhost: x\r\n", b"x-slow: y\r\n").await
            }
        }));
    }
    // The service keeps answering while the 200 connections trickle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let started = Instant::now();
        let health = app.get("/healthz").await;
        assert_eq!(health.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in slow {
        let kept = task.await.expect("trickler");
        assert!(
            kept < Duration::from_millis(2_500),
            "a trickling connection stayed open {kept:?} with 1 s timeouts"
        );
    }
}

#[tokio::test]
async fn a_trickled_body_gets_a_408_problem() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--http-body-timeout-s", "1"])
        .await
        .expect("sqlite app");
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!(
                "POST /v1/jobs HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
                 content-type: application/json\r\ncontent-length: 50\r\n\r\n{{\"ta",
                app.key
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("urn:hone:problem:body-timeout"), "{answer}");
    assert_eq!(app.get("/v1/jobs").await.body["items"], json!([]));
}

fn serve(db: &str, model_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args([
            "serve",
            "--database-url",
            db,
            "--openai-base-url",
            model_url,
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--shutdown-grace-s", "2", "--sandbox-concurrency", "2"])
        .env("OPENAI_API_KEY", "sk-test")
        .env("HONE_LOG", "warn")
        .env("HONE_BOOTSTRAP_KEY", shared_key())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start hone serve")
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hone serve did not start");
}

fn seq_of(data: &str) -> u64 {
    let v: Value = serde_json::from_str(data).expect("event json");
    v["seq"].as_u64().expect("seq")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_with_clients_connected_exits_within_the_grace_and_sse_resumes_after_restart() {
    // Each model answer takes 400 ms, so the job is mid-way when the stop comes.
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "```python\nprint(1)\n```".to_owned()),
        Arc::new(|_: &str| Duration::from_millis(400)),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = client_with(shared_key());
    let mut first = serve(&db, &model.base_url, port);
    wait_healthy(&http, &base).await;

    let spec =
        json!({"task": "print one", "tests": "assert False", "max_iterations": 6, "critic": null});
    let resp = http
        .post(format!("{base}/v1/jobs"))
        .json(&spec)
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status().as_u16(), 202);
    let id = resp.json::<Value>().await.expect("job")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let url = format!("{base}/v1/jobs/{id}/events");
    let mut sse = SseClient::open(&http, &url, None).await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let frame = sse.next().await.expect("an event before the stop");
        seen.push(seq_of(&frame.data));
    }
    // A request whose body never comes.
    let mut half = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    half.write_all(b"POST /v1/jobs HTTP/1.1\r\nhost: x\r\ncontent-length: 500\r\n\r\n{")
        .await
        .expect("half a request");

    let stopped = Instant::now();
    let pid = first.id().expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    // The SSE stream ends (the client is to resume elsewhere); it may carry events up to then.
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = sse.next().await {
            seen.push(seq_of(&frame.data));
        }
    })
    .await
    .expect("the SSE stream ends at shutdown");
    let status = tokio::time::timeout(Duration::from_secs(10), first.wait())
        .await
        .expect("hone serve exits")
        .expect("wait");
    let took = stopped.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "exit took {took:?} with a 2 s grace"
    );
    drop(half);

    // A new process on the same database: the client resumes where it stopped.
    let mut second = serve(&db, &model.base_url, port);
    wait_healthy(&http, &base).await;
    let last = seen.last().copied().expect("some events").to_string();
    let mut resumed = SseClient::open(&http, &url, Some(&last)).await;
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(frame) = resumed.next().await {
            seen.push(seq_of(&frame.data));
        }
    })
    .await
    .expect("the resumed stream ends with the job");
    let want: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, want, "every event exactly once, in order");
    let job: Value = http
        .get(format!("{base}/v1/jobs/{id}"))
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("json");
    assert_eq!(job["status"], "failed", "{job}");
    let _ = second.start_kill();
    let _ = second.wait().await;
}
