//! `openapi.yaml` is a valid OpenAPI 3.1 document (`openapi-spec-validator`), and a live
//! `hone serve` does what it says: schemathesis runs every operation with every check
//! (`--checks all`: no 5xx, responses and statuses as documented, valid requests accepted,
//! invalid ones refused, unsupported methods 405) through its coverage, fuzzing and stateful
//! phases, on SQLite and on Postgres, within a time budget per backend.
//!
//! Both tools come from PyPI, installed into `target/pytools` by `scripts/fetch-api-checkers`
//! on first use. `HONE_FUZZ_SECONDS` sets the budget (default 60 s per backend);
//! `HONE_FUZZ_SEED` the seed (fixed by default, so a run can be repeated).
//!
//! `fuzz/schemathesis.toml` counts `413` as a refusal of invalid data, and `fuzz/hooks.py`
//! binds each drawn `Idempotency-Key` to its body (the fuzzer cannot know which keys it used).
//! `GET /v1/events` is left out: it is an endless stream of the tenant's events, which a
//! request/response fuzzer can only time out on; `tests/api/live.rs` covers it.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn install() {
    let status = Command::new(root().join("scripts/fetch-api-checkers"))
        .status()
        .expect("run scripts/fetch-api-checkers");
    assert!(
        status.success(),
        "cannot install the API checkers from PyPI"
    );
}

fn python(script: &str) -> Command {
    let tools = root().join("target/pytools");
    let mut cmd = Command::new("python3");
    cmd.arg(tools.join("bin").join(script))
        .env("PYTHONPATH", &tools)
        .current_dir(root());
    cmd
}

#[test]
fn openapi_yaml_is_a_valid_openapi_document() {
    install();
    let out = python("openapi-spec-validator")
        .arg("openapi.yaml")
        .output()
        .expect("run openapi-spec-validator");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `hone serve` process on `db`, configured so every documented value is usable: every
/// provider configured (`openai` and `anthropic` at an address where nothing listens, so
/// jobs fail fast instead of calling a model).
struct Server {
    child: std::process::Child,
    base: String,
    /// The admin key the fuzzer sends (stored at start through `HONE_BOOTSTRAP_KEY`).
    key: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(db: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let log = tempfile::NamedTempFile::new().expect("log file");
        let key = hone_api::auth::issue::issue(
            hone_api::auth::issue::KeyRequest {
                tenant: hone_domain::TenantId::default_tenant(),
                name: "fuzz".to_owned(),
                scopes: hone_domain::apikey::Scope::ALL.to_vec(),
                expires_in: None,
                by: hone_store::Actor::Operator,
            },
            hone_domain::Timestamp::now(),
        )
        .expect("key")
        .key;
        let child = Command::new(env!("CARGO_BIN_EXE_hone"))
            .args(["serve", "--database-url", db])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .env("OPENAI_API_KEY", "sk-fuzz")
            .env(
                "HONE_REPLAY_FILE",
                root().join("examples/parse-logs.replay.jsonl"),
            )
            .env("HONE_MODEL_RETRIES", "0")
            .env("HONE_MAX_REQUEUES", "0")
            .env("HONE_LOG", "warn")
            .env("HONE_BOOTSTRAP_KEY", &key)
            // Budgets far above what the fuzzer sends, so it explores the routes rather than
            // the 429 (which tests/api/access.rs covers), while every answer still carries
            // the rate-limit headers.
            .env("HONE_RATE_READS_PER_MIN", "1000000")
            .env("HONE_RATE_WRITES_PER_MIN", "1000000")
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("log file"))
            .spawn()
            .expect("start hone serve");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            key,
            log,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hone serve did not start");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fuzz(db: &str) {
    install();
    let server = Server::start(db);
    let seconds = std::env::var("HONE_FUZZ_SECONDS").unwrap_or_else(|_| "60".to_owned());
    let seed = std::env::var("HONE_FUZZ_SEED").unwrap_or_else(|_| "20261130".to_owned());
    let fuzz = root().join("crates/hone/tests/fuzz");
    let out = python("st")
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                root().join("target/pytools").display(),
                fuzz.display()
            ),
        )
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("HONE_FUZZ_KEY", &server.key)
        .arg("--config-file")
        .arg(fuzz.join("schemathesis.toml"))
        // Run from target/, where schemathesis keeps its cache of examples and crashes.
        .current_dir(root().join("target"))
        .arg("run")
        .arg(root().join("openapi.yaml"))
        .args(["--url", &server.base])
        .args(["--checks", "all", "--phases", "coverage,fuzzing,stateful"])
        .args(["--max-time", &seconds, "--seed", &seed])
        // One worker: with two threads, CPython 3.11's `ast` module (which Hypothesis uses to
        // describe its strategies) can fail with "AST constructor recursion depth mismatch".
        .args(["--request-timeout", "10", "--workers", "1"])
        .args(["--exclude-path", "/v1/events", "--no-color"])
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(server.log.path()).unwrap_or_default();
    let log_tail: Vec<&str> = log.lines().rev().take(40).collect();
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{text}\n{}\nthe server's log, last lines:\n{}",
        String::from_utf8_lossy(&out.stderr),
        log_tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    // The fuzzer authenticated (through the security scheme): it stored jobs.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stored = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/v1/jobs?limit=1", server.base))
            .bearer_auth(&server.key)
            .send()
            .await
            .expect("list jobs")
            .json::<serde_json::Value>()
            .await
            .expect("json")
    });
    assert!(
        stored["items"].as_array().is_some_and(|a| !a.is_empty()),
        "the fuzzer stored no job: was its key sent? {stored}"
    );
    let summary: Vec<&str> = text.lines().rev().take(12).collect();
    eprintln!(
        "{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_server_does_what_openapi_yaml_says_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    fuzz(&format!(
        "sqlite://{}",
        dir.path().join("hone.db").display()
    ));
}

#[test]
fn the_server_does_what_openapi_yaml_says_on_postgres() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = rt.block_on(hone_store_postgres::testing::fresh_database()) else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    fuzz(&db);
}
