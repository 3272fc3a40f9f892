//! Who may call what: every `/v1` route against no key, bad keys, revoked and expired keys
//! (401), a key without the route's scope (403) and another tenant's key on this tenant's ids
//! (404, and nothing changed); then the rate limits (429 with their headers, per key).

use std::sync::Arc;
use std::time::Duration;

use hone_api::auth::issue::{KeyRequest, issue};
use hone_domain::apikey::Scope;
use hone_domain::{TenantId, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};
use crate::receiver::SseClient;

/// One call: method, path, body.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    scope: Scope,
}

fn call(method: Method, path: &str, body: Option<Value>, scope: Scope) -> Call {
    Call {
        method,
        path: path.to_owned(),
        body,
        scope,
    }
}

fn spec() -> Value {
    json!({"task": "print one", "tests": "assert True", "critic": null})
}

/// Every route, with the ids of tenant A's job and key.
fn routes(job: &str, key: &str) -> Vec<Call> {
    use Scope::{Admin, JobsRead, JobsWrite};
    vec![
        call(Method::GET, "/v1/jobs", None, JobsRead),
        call(Method::POST, "/v1/jobs", Some(spec()), JobsWrite),
        call(
            Method::POST,
            "/v1/jobs/batch",
            Some(json!({"items": [spec()]})),
            JobsWrite,
        ),
        call(Method::GET, &format!("/v1/jobs/{job}"), None, JobsRead),
        call(
            Method::GET,
            &format!("/v1/jobs/{job}/attempts"),
            None,
            JobsRead,
        ),
        call(
            Method::GET,
            &format!("/v1/jobs/{job}/attempts/1"),
            None,
            JobsRead,
        ),
        call(
            Method::GET,
            &format!("/v1/jobs/{job}/events"),
            None,
            JobsRead,
        ),
        call(
            Method::GET,
            &format!("/v1/jobs/{job}/webhook-deliveries"),
            None,
            JobsRead,
        ),
        call(
            Method::POST,
            &format!("/v1/jobs/{job}/cancel"),
            None,
            JobsWrite,
        ),
        call(Method::GET, "/v1/events", None, JobsRead),
        call(Method::GET, "/v1/webhook-secret", None, Admin),
        call(Method::POST, "/v1/webhook-secret/rotate", None, Admin),
        call(
            Method::POST,
            "/v1/keys",
            Some(json!({"name": "x", "scopes": ["jobs:read"]})),
            Admin,
        ),
        call(Method::GET, "/v1/keys", None, Admin),
        call(Method::DELETE, &format!("/v1/keys/{key}"), None, Admin),
    ]
}

/// Sends `c` with `auth` as the Authorization header (none if `None`); status and headers.
async fn send(app: &TestApp, c: &Call, auth: Option<&str>) -> (u16, reqwest::header::HeaderMap) {
    let http = reqwest::Client::new();
    let mut req = http.request(c.method.clone(), format!("{}{}", app.base, c.path));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    if let Some(body) = &c.body {
        req = req.json(body);
    }
    if c.path.ends_with("/events") && c.method == Method::GET {
        req = req.header("accept", "text/event-stream");
    }
    let resp = req.send().await.expect("send");
    (resp.status().as_u16(), resp.headers().clone())
}

/// Makes a key through the API with the app's admin key; the key and its id.
async fn make_key(app: &TestApp, scopes: &[&str], expires_in_s: Option<u64>) -> (String, String) {
    let reply = app
        .post_json(
            "/v1/keys",
            json!({"name": "matrix", "scopes": scopes, "expires_in_s": expires_in_s}).to_string(),
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (
        reply.body["key"].as_str().expect("key").to_owned(),
        reply.body["id"].as_str().expect("id").to_owned(),
    )
}

/// A key of another tenant, made straight in the database as `hone keys create` does.
async fn key_in_database(app: &TestApp, tenant: &str) -> String {
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let issued = issue(
        KeyRequest {
            tenant: TenantId::parse(tenant).expect("tenant"),
            name: "other".to_owned(),
            scopes: Scope::ALL.to_vec(),
            expires_in: None,
        },
        Timestamp::now(),
    )
    .expect("issue");
    store.create_key(issued.stored).await.expect("create");
    issued.key
}

async fn job_count(app: &TestApp) -> usize {
    app.get("/v1/jobs?limit=100").await.body["items"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn every_route_refuses_strangers_and_hides_other_tenants(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let job = app.submit(&spec()).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.wait_finished(&job).await;
    let (reader, reader_id) = make_key(&app, &["jobs:read"], None).await;
    let (writer, _) = make_key(&app, &["jobs:write"], None).await;
    let (revoked, revoked_id) = make_key(&app, &["jobs:read", "jobs:write", "admin"], None).await;
    let (expired, _) = make_key(&app, &["jobs:read", "jobs:write", "admin"], Some(1)).await;
    let reply = app
        .http
        .delete(format!("{}/v1/keys/{revoked_id}", app.base))
        .send()
        .await
        .expect("revoke");
    assert_eq!(reply.status().as_u16(), 200);
    let stranger = key_in_database(&app, "tenant-b").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let jobs_before = job_count(&app).await;
    let secret_before = app.get("/v1/webhook-secret").await.body["items"].clone();

    let malformed = format!("Bearer {}x", &app.key[..app.key.len() - 1]);
    let unknown = {
        let issued = issue(
            KeyRequest {
                tenant: TenantId::default_tenant(),
                name: "never stored".to_owned(),
                scopes: Scope::ALL.to_vec(),
                expires_in: None,
            },
            Timestamp::now(),
        )
        .expect("issue");
        format!("Bearer {}", issued.key)
    };
    let bearer = |k: &str| format!("Bearer {k}");
    let refused: [(&str, Option<String>); 6] = [
        ("no key", None),
        ("another scheme", Some(format!("Basic {}", app.key))),
        ("a mistyped key", Some(malformed)),
        ("an unknown key", Some(unknown)),
        ("a revoked key", Some(bearer(&revoked))),
        ("an expired key", Some(bearer(&expired))),
    ];
    for c in routes(&job, &reader_id) {
        for (what, auth) in &refused {
            let (status, headers) = send(&app, &c, auth.as_deref()).await;
            assert_eq!(status, 401, "{what} on {} {}", c.method, c.path);
            let challenge = headers["www-authenticate"].to_str().expect("challenge");
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
        let lacking = match c.scope {
            Scope::JobsRead => &writer,
            Scope::JobsWrite | Scope::Admin => &reader,
        };
        let (status, _) = send(&app, &c, Some(&bearer(lacking))).await;
        assert_eq!(status, 403, "a key without {} on {}", c.scope, c.path);
    }
    assert_eq!(
        job_count(&app).await,
        jobs_before,
        "refused calls stored no job"
    );

    // Tenant B, with every scope, sees none of tenant A's ids.
    let b = bearer(&stranger);
    for c in routes(&job, &reader_id) {
        let (status, _) = send(&app, &c, Some(&b)).await;
        let names_a = c.path.contains(&job) || c.path.contains(&reader_id);
        if names_a {
            assert_eq!(status, 404, "tenant B on {} {}", c.method, c.path);
        } else {
            assert!(status < 300, "tenant B on its own {}: {status}", c.path);
        }
    }
    let a_job = app.get(&format!("/v1/jobs/{job}")).await.body;
    assert_eq!(a_job["status"], "succeeded", "B's cancel changed nothing");
    let keys = app.get("/v1/keys").await.body;
    let reader_key = keys["items"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == reader_id.as_str())
        .expect("reader key listed");
    assert_eq!(
        reader_key["revoked_at"],
        Value::Null,
        "B's revoke changed nothing"
    );
    assert_eq!(
        app.get("/v1/webhook-secret").await.body["items"],
        secret_before,
        "B's rotation rotated B's secret only"
    );
    // A's list does not show B's submissions, and B's list shows only B's.
    assert_eq!(job_count(&app).await, jobs_before);
    let b_list: Value = reqwest::Client::new()
        .get(format!("{}/v1/jobs", app.base))
        .header("authorization", &b)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let b_ids: Vec<&str> = b_list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(b_ids.len(), 2, "B's single and batch submissions");
    assert!(!b_ids.contains(&job.as_str()));
}

#[tokio::test]
async fn every_route_refuses_strangers_and_hides_other_tenants_on_sqlite() {
    every_route_refuses_strangers_and_hides_other_tenants(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_route_refuses_strangers_and_hides_other_tenants_on_postgres() {
    every_route_refuses_strangers_and_hides_other_tenants(Backend::Postgres).await;
}

#[tokio::test]
async fn submissions_beyond_the_rate_get_429_with_the_headers_and_other_keys_go_on() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--rate-writes-per-min", "3"])
        .await
        .expect("sqlite app");
    for left in (0..3).rev() {
        let reply = app.submit(&spec()).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        assert_eq!(reply.headers["ratelimit-policy"], "\"writes\";q=3;w=60");
        let remaining = reply.headers["ratelimit"].to_str().expect("ratelimit");
        assert!(
            remaining.starts_with(&format!("\"writes\";r={left};t=")),
            "{remaining}"
        );
    }
    let before = job_count(&app).await;
    let refused = app.submit(&spec()).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["type"], "urn:hone:problem:rate-limited");
    assert_eq!(refused.body["budget"], "writes");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(refused.headers["ratelimit-policy"], "\"writes\";q=3;w=60");
    assert_eq!(
        refused.headers["ratelimit"],
        format!("\"writes\";r=0;t={retry}").as_str()
    );
    // Reads have their own budget; nothing was stored by the refusal.
    assert_eq!(job_count(&app).await, before);
    // Another key has a budget of its own. It is made in the database: making it through the
    // API would be a write of the admin key, whose budget is spent.
    let other = key_in_database(&app, "default").await;
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/jobs", app.base))
        .header("authorization", format!("Bearer {other}"))
        .json(&spec())
        .send()
        .await
        .expect("submit");
    assert_eq!(reply.status().as_u16(), 202);
}

#[tokio::test]
async fn the_tenant_stream_carries_only_the_callers_tenant() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let b = client_with(&key_in_database(&app, "tenant-b").await);
    let url = format!("{}/v1/events", app.base);
    let mut a_stream = SseClient::open(&app.http, &url, None).await;
    let mut b_stream = SseClient::open(&b, &url, None).await;
    let a_job = app.submit(&spec()).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.wait_finished(&a_job).await;
    let b_job: Value = b
        .post(format!("{}/v1/jobs", app.base))
        .json(&spec())
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("job");
    let b_job = b_job["id"].as_str().expect("id");
    let first_a = a_stream.next().await.expect("A's frame");
    assert!(first_a.data.contains(&a_job), "{first_a:?}");
    // B's first frame is about B's job: none of A's events (all committed before) reached it.
    let first_b = b_stream.next().await.expect("B's frame");
    assert!(first_b.data.contains(b_job), "{first_b:?}");
    assert!(!first_b.data.contains(&a_job));
}

#[tokio::test]
async fn idempotency_keys_are_per_tenant() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let b = client_with(&key_in_database(&app, "tenant-b").await);
    let body = spec().to_string();
    let a = app
        .submit_raw(body.clone(), &[("idempotency-key", "nightly-1")])
        .await;
    assert_eq!(a.status, 202);
    let reply = b
        .post(format!("{}/v1/jobs", app.base))
        .header("content-type", "application/json")
        .header("idempotency-key", "nightly-1")
        .body(body)
        .send()
        .await
        .expect("submit");
    assert_eq!(
        reply.status().as_u16(),
        202,
        "B's key is B's own: a new job"
    );
    let b_job: Value = reply.json().await.expect("job");
    assert_ne!(b_job["id"], a.body["id"]);
}
