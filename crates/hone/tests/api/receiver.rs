//! `Receiver`: a webhook receiver in Python that verifies every delivery with the Standard
//! Webhooks reference implementation (`standardwebhooks` from PyPI, installed into
//! `target/pydeps` by `scripts/fetch-webhook-verifier` on first use), and `SseClient`, a
//! small reader of `text/event-stream` responses.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

static INSTALLED: OnceCell<()> = OnceCell::const_new();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn install_verifier() {
    INSTALLED
        .get_or_init(|| async {
            let status = Command::new(root().join("scripts/fetch-webhook-verifier"))
                .status()
                .await
                .expect("run scripts/fetch-webhook-verifier");
            assert!(status.success(), "cannot install standardwebhooks");
        })
        .await;
}

/// The receiver process and its log.
pub struct Receiver {
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _child: Child,
}

impl Receiver {
    /// Starts a receiver that verifies with `secrets` and runs with extra `flags`
    /// (`--fail N`, `--hang-first S`, `--status N`).
    pub async fn start(secrets: &[&str], flags: &[&str]) -> Self {
        install_verifier().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(root().join("crates/hone/tests/webhook_receiver.py"))
            .arg(&log)
            .args(flags)
            .env("PYTHONPATH", root().join("target/pydeps"))
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for s in secrets {
            cmd.args(["--secret", s]);
        }
        let mut child = cmd.spawn().expect("start python3 receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("receiver started in time")
        .expect("receiver port");
        let port = line.trim().parse().expect("a port");
        Self {
            port,
            log,
            _dir: dir,
            _child: child,
        }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request answered so far.
    pub fn entries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Whether the first request has arrived and is being held (`--hang-first`).
    pub fn hanging(&self) -> bool {
        self.log.with_extension("jsonl.hanging").exists()
    }
}

/// One SSE frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Reads frames from an SSE response.
pub struct SseClient {
    resp: reqwest::Response,
    buf: String,
}

impl SseClient {
    /// Opens `url` with `Accept: text/event-stream` and an optional `Last-Event-ID`.
    pub async fn open(http: &reqwest::Client, url: &str, last_id: Option<&str>) -> Self {
        let mut req = http.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.expect("open SSE");
        assert_eq!(resp.status().as_u16(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap_or_default();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next frame with data (comments skipped); `None` when the server closed the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        frame.data.push_str(v.trim_start());
                        has_data = true;
                    }
                }
                if has_data {
                    return Some(frame);
                }
                continue;
            }
            let chunk = self.resp.chunk().await.ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
