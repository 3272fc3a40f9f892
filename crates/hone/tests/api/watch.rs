//! `hone submit --watch` and `hone watch`: the job's events from its stream, each once and in
//! order even when the connection keeps breaking, and an exit status that says how it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use hone::client::watch::Ended;
use hone::config::{Cli, Command};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};
use crate::self_correction::{brain, spec};

async fn watch(args: &[&str]) -> (anyhow::Result<Option<Ended>>, String) {
    let mut out = Vec::new();
    let parsed = Cli::try_parse_from(std::iter::once("hone").chain(args.iter().copied()))
        .expect("parse")
        .command;
    let ended = match parsed {
        Command::Submit(a) => hone::client::submit(&a, false, &mut out).await,
        Command::Watch(a) => hone::client::watch::watch(&a, false, &mut out)
            .await
            .map(Some),
        _ => unreachable!("a watching command"),
    };
    (ended, String::from_utf8(out).expect("utf-8"))
}

fn write_spec(dir: &tempfile::TempDir, spec: &Value) -> String {
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).expect("write");
    path.to_str().expect("path").to_owned()
}

#[tokio::test]
async fn submit_watch_follows_a_job_to_success_and_a_failure_exits_1() {
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let dir = tempfile::tempdir().expect("dir");
    let service = ["--url", app.base.as_str(), "--api-key", app.key.as_str()];

    let path = write_spec(&dir, &spec());
    let (ended, out) = watch(&[&["submit", &path, "--watch"][..], &service].concat()).await;
    assert_eq!(ended.expect("watch"), Some(Ended::Succeeded), "{out}");
    assert_eq!(Ended::Succeeded.code(), 0);
    for line in [
        "iteration 1/4  the actor writes code",
        "iteration 1/4  tests ran: failed",
        "iteration 1/4  critic: revise",
        "iteration 2/4  tests ran: passed",
        "succeeded (accepted)",
    ] {
        assert!(out.contains(line), "{line:?} missing from\n{out}");
    }
    let last = out.lines().last().expect("a summary");
    assert!(
        last.starts_with("succeeded (accepted) after 2 iteration(s)"),
        "{out}"
    );

    // One attempt allowed, and the first answer fails: the job fails, the watch exits 1.
    let mut failing = spec();
    failing["max_iterations"] = json!(1);
    let path = write_spec(&dir, &failing);
    let (ended, out) = watch(&[&["submit", &path, "--watch"][..], &service].concat()).await;
    assert_eq!(ended.expect("watch"), Some(Ended::Failed), "{out}");
    assert_eq!(Ended::Failed.code(), 1);

    // A cancelled job: `hone watch` of it shows its log and exits 2.
    let mut slow = spec();
    slow["tests"] = json!("import time\ntime.sleep(30)");
    let job = app.submit(&slow).await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.post(&format!("/v1/jobs/{id}/cancel")).await.status, 202);
    let (ended, out) = watch(&[&["watch", &id, "--json"][..], &service].concat()).await;
    assert_eq!(
        ended.expect("watch"),
        Some(Ended::CancelledOrErrored),
        "{out}"
    );
    assert_eq!(Ended::CancelledOrErrored.code(), 2);
    let last: Value = serde_json::from_str(out.lines().last().expect("job")).expect("json");
    assert_eq!(last["status"], "cancelled");

    let (ended, _) = watch(&[&["watch", "../../v1/keys"][..], &service].concat()).await;
    let refused = ended.expect_err("not an id").to_string();
    assert!(refused.contains("is not a job id"), "{refused}");
}

/// Relays connections to `upstream`; once a connection carries an event-stream request, the
/// response is cut after `cut` more bytes, mid-frame as often as not. Returns its URL and
/// how many streams it has cut.
async fn cutting_proxy(upstream: String, cut: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = streams.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (mut client_rx, mut client_tx) = client.into_split();
            let (mut server_rx, mut server_tx) = server.into_split();
            let streaming = Arc::new(AtomicBool::new(false));
            let flag = streaming.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    let stream = String::from_utf8_lossy(&buf[..n]).contains("text/event-stream");
                    flag.store(stream, Ordering::SeqCst);
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut sent = 0;
                let mut buf = vec![0u8; 64];
                while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
                    let mut n = n;
                    if streaming.load(Ordering::SeqCst) {
                        n = n.min(cut - sent);
                        sent += n;
                    }
                    if client_tx.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    if sent >= cut {
                        counted.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), streams)
}

#[tokio::test]
async fn a_watch_through_a_breaking_connection_shows_every_event_once() {
    let model =
        FakeModel::start_slow(brain(), Arc::new(|_: &str| Duration::from_millis(150))).await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let upstream = app.base.trim_start_matches("http://").to_owned();
    // The response head is about 200 bytes and a frame about 250: most connections carry
    // a frame or two, and end inside the next.
    let (proxy, streams) = cutting_proxy(upstream, 700).await;
    let job = app.submit(&spec()).await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    let (ended, out) = watch(&[
        "watch",
        &id,
        "--json",
        "--url",
        &proxy,
        "--api-key",
        &app.key,
    ])
    .await;
    assert_eq!(ended.expect("watch"), Some(Ended::Succeeded), "{out}");

    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let (job, events) = lines.split_last().expect("events and the job");
    assert_eq!(job["status"], "succeeded");
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    let stored = app.get(&format!("/v1/jobs/{id}/events?limit=1000")).await;
    let all: Vec<u64> = stored.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert!(all.len() > 8, "{all:?}");
    assert_eq!(seqs, all, "every event once, in order");
    let streams = streams.load(Ordering::SeqCst);
    assert!(
        streams >= 3,
        "the stream was cut and resumed: {streams} times"
    );
}

/// Hands what a command writes to the test as it is written.
struct Tee(tokio::sync::mpsc::UnboundedSender<Vec<u8>>);

impl std::io::Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_demo_runs_the_story_and_serves_its_dashboard() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let args = hone::config::DemoArgs {
        listen: "127.0.0.1:0".parse().expect("addr"),
        terminal: false,
    };
    let demo = tokio::spawn(async move {
        let mut out = Tee(tx);
        hone::demo::run(&args, &mut out, async move {
            let _ = stopped.await;
        })
        .await
    });
    let mut out = String::new();
    while !out.contains("Press Ctrl-C") {
        let chunk = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("the demo goes on")
            .expect("the demo writes until it is stopped");
        out.push_str(&String::from_utf8_lossy(&chunk));
    }
    for line in [
        "iteration 1/3  tests ran: failed: IndexError: list index out of range",
        "iteration 1/3  critic: revise: \"Crashes on empty input.\"",
        "iteration 2/3  tests ran: passed",
        "iteration 2/3  critic: approve: \"Correct, skips blank lines.\"",
        "The job succeeded (exit status 0",
    ] {
        assert!(out.contains(line), "{line:?} missing from\n{out}");
    }
    let field = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .expect(prefix)
            .trim()
            .to_owned()
    };
    let page = field("Open the dashboard: ");
    let key = field("Sign in with this key: ");
    let base = page.split("/jobs/").next().expect("base").to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let signed = browser
        .post(format!("{base}/sign-in"))
        .form(&[("key", key.as_str())])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), 303);
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let cookie = cookie.split(';').next().expect("pair").to_owned();
    let html = browser
        .get(&page)
        .header("cookie", cookie)
        .send()
        .await
        .expect("job page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("IndexError") && html.contains("succeeded"),
        "{html}"
    );
    let _ = stop.send(());
    demo.await.expect("join").expect("the demo stops cleanly");
}
