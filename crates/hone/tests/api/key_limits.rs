//! Keys cannot escape their limits: a key made by a key gets its maker's rate budgets and at
//! most its scopes; a tenant holds at most its cap of usable keys; all of a tenant's keys
//! share one budget; and routes without query parameters refuse any.

use std::sync::Arc;

use hone_domain::apikey::Scope;
use hone_domain::{KeyId, TenantId, Timestamp};
use hone_store::{Actor, KeyRates};
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

async fn start(flags: &[&str]) -> TestApp {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start_with(Backend::Sqlite, &model, flags)
        .await
        .expect("sqlite app");
    std::mem::forget(model);
    app
}

/// `POST /v1/keys` with `http`: status and body.
async fn make_key(app: &TestApp, http: &reqwest::Client, scopes: &[&str]) -> (u16, Value) {
    let resp = http
        .post(format!("{}/v1/keys", app.base))
        .json(&json!({"name": "made by a key", "scopes": scopes}))
        .send()
        .await
        .expect("make a key");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

/// An admin key of the default tenant, stored with `scopes` and `rates`.
async fn stored_key(app: &TestApp, scopes: Vec<Scope>, rates: KeyRates) -> String {
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let issued = hone_api::auth::issue::issue(
        hone_api::auth::issue::KeyRequest {
            tenant: TenantId::default_tenant(),
            name: "limited".to_owned(),
            scopes,
            expires_in: None,
            by: Actor::Operator,
        },
        Timestamp::now(),
    )
    .expect("issue");
    let id = issued.stored.id;
    store.create_key(issued.stored).await.expect("create");
    store
        .set_key_rates(id, rates, Actor::Operator)
        .await
        .expect("rates");
    issued.key
}

async fn cancel_unknown(app: &TestApp, http: &reqwest::Client) -> u16 {
    let url = format!("{}/v1/jobs/{}/cancel", app.base, KeyId::new());
    http.post(url).send().await.expect("post").status().as_u16()
}

#[tokio::test]
async fn a_key_made_by_a_limited_key_is_as_limited_and_holds_no_more_scopes() {
    let app = start(&[]).await;
    let rates = KeyRates {
        reads_per_min: None,
        writes_per_min: Some(3),
    };
    let limited = client_with(&stored_key(&app, Scope::ALL.to_vec(), rates).await);
    let (status, made) = make_key(&app, &limited, &["admin", "jobs:write"]).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["writes_per_min"], 3, "{made}");
    let minted = client_with(made["key"].as_str().expect("key"));
    // Three writes a minute, whichever requests they are: the fourth is refused.
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..4).map(|_| cancel_unknown(&app, &minted))).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );

    let admin_only = client_with(&stored_key(&app, vec![Scope::Admin], KeyRates::default()).await);
    let (status, refused) =
        make_key(&app, &admin_only, &["jobs:read", "admin", "jobs:write"]).await;
    assert_eq!(status, 422, "{refused}");
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["scopes[0]", "scopes[2]"]);
    let (status, _) = make_key(&app, &admin_only, &["admin"]).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_tenant_holds_at_most_its_cap_of_usable_keys() {
    let app = start(&["--max-keys-per-tenant", "3"]).await;
    // The service's own admin key is the first.
    for _ in 0..2 {
        assert_eq!(make_key(&app, &app.http, &["jobs:read"]).await.0, 201);
    }
    let (status, refused) = make_key(&app, &app.http, &["jobs:read"]).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("HONE_MAX_KEYS_PER_TENANT")),
        "{refused}"
    );
    let keys = app.get("/v1/keys").await;
    let other = keys.body["items"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == "made by a key"))
        .and_then(|k| k["id"].as_str())
        .expect("a made key")
        .to_owned();
    let revoked = app
        .http
        .delete(format!("{}/v1/keys/{other}", app.base))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    assert_eq!(make_key(&app, &app.http, &["jobs:read"]).await.0, 201);
}

#[tokio::test]
async fn all_of_a_tenants_keys_share_one_budget() {
    let app = start(&["--tenant-writes-per-min", "4"]).await;
    let second = client_with(&stored_key(&app, Scope::ALL.to_vec(), KeyRates::default()).await);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let http = if i % 2 == 0 { &app.http } else { &second };
        statuses.push(cancel_unknown(&app, http).await);
    }
    assert_eq!(statuses, [404, 404, 404, 404, 429, 429]);
    let refused = app
        .http
        .post(format!("{}/v1/jobs/{}/cancel", app.base, KeyId::new()))
        .send()
        .await
        .expect("post");
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["scope"], "tenant", "{body}");
}

#[tokio::test]
async fn routes_without_query_parameters_refuse_any() {
    let app = start(&[]).await;
    let resp = app
        .http
        .post(format!("{}/v1/keys?admin=true", app.base))
        .json(&json!({"name": "n", "scopes": ["jobs:read"]}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["field"], "admin");
    let keys = app.get("/v1/keys").await;
    assert_eq!(
        keys.body["items"].as_array().map(Vec::len),
        Some(1),
        "nothing made"
    );
    for path in [
        "/v1/runtimes?x=1",
        "/v1/keys?page=2",
        "/v1/webhook-secret?y",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }
}
