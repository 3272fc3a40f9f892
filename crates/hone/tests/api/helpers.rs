//! `TestApp`: the whole service on 127.0.0.1:0 with a fresh database, and one helper per
//! endpoint.

use std::time::Duration;

use clap::Parser;
use hone::app::Application;
use hone::config::{Cli, Command, Settings};
use serde_json::Value;

use crate::fake_model::FakeModel;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh admin key (tenant `default`, every scope) for a service to store at start.
pub fn admin_key() -> String {
    let request = hone_api::auth::issue::KeyRequest {
        tenant: hone_domain::TenantId::default_tenant(),
        name: "test admin".to_owned(),
        scopes: hone_domain::apikey::Scope::ALL.to_vec(),
        expires_in: None,
        by: hone_store::Actor::Operator,
    };
    hone_api::auth::issue::issue(request, hone_domain::Timestamp::now())
        .expect("issue")
        .key
}

/// One admin key for every service process a test binary spawns (each stores it at start,
/// `HONE_BOOTSTRAP_KEY`), so clients of any of them can use it.
pub fn shared_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(admin_key)
}

/// A client that sends `key` with every request.
pub fn client_with(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {key}").parse().expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// The running service.
pub struct TestApp {
    pub base: String,
    /// The admin key `http` sends (tenant `default`, every scope).
    pub key: String,
    /// The database the service runs on (for tests that reach into it).
    pub db_url: String,
    pub http: reqwest::Client,
    /// The metrics listener, when started with `--metrics-listen`.
    pub metrics_base: Option<String>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// A response's status and JSON body.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    /// Starts the service on `backend`; `None` when that backend is not configured here.
    pub async fn start(backend: Backend, model: &FakeModel) -> Option<Self> {
        Self::start_with(backend, model, &[]).await
    }

    /// Starts the service with extra `hone serve` flags.
    pub async fn start_with(backend: Backend, model: &FakeModel, extra: &[&str]) -> Option<Self> {
        Self::start_with_key(backend, model, extra, Some("sk-test")).await
    }

    /// Starts the service with extra flags and the given `openai` API key (or none).
    pub async fn start_with_key(
        backend: Backend,
        model: &FakeModel,
        extra: &[&str],
        key: Option<&str>,
    ) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("hone.db").display()),
            Backend::Postgres => hone_store_postgres::testing::fresh_database().await?,
        };
        let admin = admin_key();
        let mut argv = vec![
            "hone",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--bootstrap-key",
            &admin,
        ];
        if !extra.contains(&"--openai-base-url") {
            argv.extend_from_slice(&["--openai-base-url", &model.base_url]);
        }
        if let Some(key) = key {
            argv.extend_from_slice(&["--openai-api-key", key]);
        }
        argv.extend_from_slice(extra);
        let cli = Cli::parse_from(argv);
        let Command::Serve(args) = cli.command else {
            unreachable!("parsed serve")
        };
        let app = Application::build(&Settings::from(*args))
            .await
            .expect("build app");
        let addr = app.local_addr().expect("addr");
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        Some(Self {
            db_url: url.clone(),
            base: format!("http://{addr}"),
            http: client_with(&admin),
            key: admin.clone(),
            metrics_base,
            _shutdown: tx,
            _dir: dir,
        })
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn submit(&self, spec: &Value) -> Reply {
        self.submit_raw(spec.to_string(), &[]).await
    }

    pub async fn submit_raw(&self, body: String, headers: &[(&str, &str)]) -> Reply {
        self.post_json("/v1/jobs", body, headers).await
    }

    pub async fn post_json(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send().await.expect("submit")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        Self::reply(resp).await
    }

    pub async fn post(&self, path: &str) -> Reply {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .expect("post");
        Self::reply(resp).await
    }

    /// Submits `spec` (which must be accepted) and waits for the job to end: its id and the
    /// finished job.
    pub async fn run_job(&self, spec: &Value) -> (String, Value) {
        let submitted = self.submit(spec).await;
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        let id = submitted.body["id"].as_str().expect("id").to_owned();
        let job = self.wait_finished(&id).await;
        (id, job)
    }

    /// A SQLite service whose `anthropic` provider is the fake's Messages API.
    pub async fn start_anthropic(model: &FakeModel) -> Self {
        let anthropic = model.anthropic_url();
        let extra = [
            "--anthropic-base-url",
            anthropic.as_str(),
            "--anthropic-api-key",
            "sk-ant-test",
        ];
        Self::start_with(Backend::Sqlite, model, &extra)
            .await
            .expect("app")
    }

    /// Polls the job until it ends (or fails the test after 60 s).
    pub async fn wait_finished(&self, id: &str) -> Value {
        for _ in 0..600 {
            let job = self.get(&format!("/v1/jobs/{id}")).await.body;
            if matches!(
                job["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {id} did not finish in 60 s");
    }
}
