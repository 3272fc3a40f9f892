//! What a key's tenant and budget give it: rate limits (429 with their headers, per key),
//! the tenant's own event stream and idempotency keys, and the audit log of key and secret
//! changes.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::access::{job_count, key_in_database, make_key, spec};
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};
use crate::receiver::SseClient;

/// Submits the test spec with `key`.
async fn submit_as(app: &TestApp, key: &str) -> reqwest::Response {
    client_with(key)
        .post(format!("{}/v1/jobs", app.base))
        .json(&spec())
        .send()
        .await
        .expect("submit")
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
    let reply = submit_as(&app, &other).await;
    assert_eq!(reply.status().as_u16(), 202);

    // The operator's own budget for a key wins over the server's default.
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let listed = store.list_keys(None).await.expect("keys");
    let own = listed.last().expect("the other key");
    let rates = hone_store::KeyRates {
        reads_per_min: None,
        writes_per_min: Some(10),
    };
    store
        .set_key_rates(own.id, rates, hone_store::Actor::Operator)
        .await
        .expect("set rates");
    // A new client of the same key: the server reads the key afresh after at most 5 s.
    tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
    let reply = submit_as(&app, &other).await;
    assert_eq!(reply.status().as_u16(), 202);
    assert_eq!(reply.headers()["ratelimit-policy"], "\"writes\";q=10;w=60");
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

#[tokio::test]
async fn the_audit_log_names_who_made_and_revoked_keys_and_rotated_the_secret() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let admin_id = app.get("/v1/keys").await.body["items"][0]["id"]
        .as_str()
        .expect("admin id")
        .to_owned();
    let (_, made) = make_key(&app, &["jobs:read"], Some(3600)).await;
    let reply = app
        .http
        .delete(format!("{}/v1/keys/{made}", app.base))
        .send()
        .await
        .expect("revoke");
    assert_eq!(reply.status().as_u16(), 200);
    let rotated = app.post("/v1/webhook-secret/rotate?overlap_s=60").await;
    assert_eq!(rotated.status, 200);
    let log = app.get("/v1/audit").await.body;
    let items = log["items"].as_array().expect("items");
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let by_admin = format!("key:{admin_id}");
    assert_eq!(
        seen,
        vec![
            ("webhook_secret.rotated", by_admin.as_str()),
            ("key.revoked", by_admin.as_str()),
            ("key.created", by_admin.as_str()),
            ("key.created", "bootstrap"),
        ]
    );
    assert_eq!(items[0]["detail"]["overlap_s"], 60);
    assert_eq!(items[2]["target"], made.as_str());
    assert_eq!(items[2]["detail"]["scopes"], json!(["jobs:read"]));
    let page = app.get("/v1/audit?limit=1").await.body;
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let next = app
        .get(&format!("/v1/audit?limit=1&cursor={cursor}"))
        .await
        .body;
    assert_eq!(next["items"][0]["action"], "key.revoked");
    assert_eq!(app.get("/v1/audit?cursor=nope").await.status, 400);
}

#[tokio::test]
async fn a_bad_key_request_names_every_bad_field_and_stores_nothing() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let body = json!({"name": "a\u{7}b", "scopes": ["jobs:read", "root"], "expires_in_s": 0});
    let reply = app.post_json("/v1/keys", body.to_string(), &[]).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["name", "scopes[1]", "expires_in_s"]);
    let keys = app.get("/v1/keys").await.body;
    assert_eq!(
        keys["items"].as_array().map(Vec::len),
        Some(1),
        "only the admin key"
    );
}

#[tokio::test]
async fn a_key_revoked_through_the_api_stops_at_once_and_use_is_recorded_in_batches() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let (key, id) = make_key(&app, &["jobs:read"], None).await;
    let reader = client_with(&key);
    let list = |c: reqwest::Client| {
        let url = format!("{}/v1/jobs", app.base);
        async move { c.get(url).send().await.expect("list").status().as_u16() }
    };
    assert_eq!(
        list(reader.clone()).await,
        200,
        "the key is used, so cached"
    );
    let reply = app
        .http
        .delete(format!("{}/v1/keys/{id}", app.base))
        .send()
        .await
        .expect("revoke");
    assert_eq!(reply.status().as_u16(), 200);
    assert_eq!(
        list(reader).await,
        401,
        "the revoking process forgets the key at once"
    );

    // Last use is gathered in memory and written by a flush, not by the request.
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let auth = hone_api::auth::Authenticator::new(store.clone());
    let (other, other_id) = make_key(&app, &["jobs:read"], None).await;
    let header = format!("Bearer {other}").parse().expect("header");
    auth.authenticate(Some(&header)).await.expect("known key");
    let stored = |keys: Vec<hone_store::KeyInfo>| {
        keys.into_iter()
            .find(|k| k.id.to_string() == other_id)
            .and_then(|k| k.last_used_at)
    };
    assert_eq!(stored(store.list_keys(None).await.expect("keys")), None);
    auth.flush_usage().await.expect("flush");
    assert!(stored(store.list_keys(None).await.expect("keys")).is_some());
}

#[tokio::test]
async fn readiness_without_a_key_says_only_ready() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    for auth in [None, Some("Bearer hone_not_a_key")] {
        let mut req = reqwest::Client::new().get(format!("{}/readyz", app.base));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let reply = req.send().await.expect("readyz");
        assert_eq!(reply.status().as_u16(), 200);
        let body: Value = reply.json().await.expect("json");
        assert_eq!(body, json!({"status": "ready"}), "{auth:?}");
    }
    let detailed = app.get("/readyz").await.body;
    assert_eq!(detailed["database"]["backend"], "sqlite");
    assert_eq!(detailed["sandbox"]["backend"], "bubblewrap");
}
