//! Who may call what: every `/v1` route against no key, bad keys, revoked and expired keys
//! (401), a key without the route's scope (403) and another tenant's key on this tenant's ids
//! (404, and nothing changed). The helpers here make keys for the other access tests.

use std::sync::Arc;
use std::time::Duration;

use hone_api::auth::issue::{KeyRequest, issue};
use hone_domain::apikey::Scope;
use hone_domain::{TenantId, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

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

pub(crate) fn spec() -> Value {
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
        call(
            Method::POST,
            &format!("/v1/jobs/{job}/retry"),
            Some(json!({"max_iterations": 1})),
            JobsWrite,
        ),
        call(
            Method::POST,
            "/v1/jobs/cancel?status=queued&status=running",
            None,
            JobsWrite,
        ),
        call(Method::GET, "/v1/runtimes", None, JobsRead),
        call(Method::GET, "/v1/stats?group_by=tag", None, JobsRead),
        call(Method::GET, "/v1/stats/repair", None, JobsRead),
        call(Method::GET, "/v1/exports/preferences", None, JobsRead),
        call(Method::GET, "/v1/exports/trajectories", None, JobsRead),
        call(Method::GET, "/v1/exports/critiques", None, JobsRead),
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
        call(Method::GET, "/v1/audit", None, Admin),
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
pub(crate) async fn make_key(
    app: &TestApp,
    scopes: &[&str],
    expires_in_s: Option<u64>,
) -> (String, String) {
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
pub(crate) async fn key_in_database(app: &TestApp, tenant: &str) -> String {
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let issued = issue(
        KeyRequest {
            tenant: TenantId::parse(tenant).expect("tenant"),
            name: "other".to_owned(),
            scopes: Scope::ALL.to_vec(),
            expires_in: None,
            by: hone_store::Actor::Operator,
        },
        Timestamp::now(),
    )
    .expect("issue");
    store.create_key(issued.stored).await.expect("create");
    issued.key
}

pub(crate) async fn job_count(app: &TestApp) -> usize {
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

    // The last character changed (to `x`, or `y` when it is an `x` already).
    let other = if app.key.ends_with('x') { 'y' } else { 'x' };
    let malformed = format!("Bearer {}{other}", &app.key[..app.key.len() - 1]);
    let unknown = {
        let issued = issue(
            KeyRequest {
                tenant: TenantId::default_tenant(),
                name: "never stored".to_owned(),
                scopes: Scope::ALL.to_vec(),
                expires_in: None,
                by: hone_store::Actor::Operator,
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

on_both!(
    every_route_refuses_strangers_and_hides_other_tenants_on_sqlite,
    every_route_refuses_strangers_and_hides_other_tenants_on_postgres,
    every_route_refuses_strangers_and_hides_other_tenants
);

/// A job of another tenant (`tenant-b`), submitted with a key of its own; its id.
pub(crate) async fn other_tenants_job(app: &TestApp) -> String {
    let other = crate::helpers::client_with(&key_in_database(app, "tenant-b").await);
    let job: serde_json::Value = other
        .post(format!("{}/v1/jobs", app.base))
        .json(&serde_json::json!({"task": "theirs", "tests": "pass", "critic": null}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    job["id"].as_str().expect("id").to_owned()
}
