//! The dashboard over HTTP: sign-in sets a signed, HttpOnly, SameSite=Strict cookie; pages
//! need it; another tenant's job is a 404; state-changing forms need the session's token
//! and the dashboard's own origin; scopes apply; revoking the key ends the session.

use std::sync::Arc;
use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::json;

use crate::access::other_tenants_job;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// A browser-like client that follows no redirect, so each answer can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// Signs in with `key`; the `name=value` of the session cookie.
async fn sign_in(app: &TestApp, key: &str) -> String {
    let resp = browser()
        .post(format!("{}/sign-in", app.base))
        .form(&[("key", key)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    cookie.split(';').next().expect("pair").to_owned()
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let resp = browser()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The CSRF token in a page's forms.
fn token(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    html[at..].split('"').next().expect("token").to_owned()
}

async fn post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
    origin: &str,
) -> (u16, String) {
    let resp = browser()
        .post(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("origin", origin)
        .form(form)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

#[tokio::test]
async fn a_session_is_a_signed_cookie_and_every_page_checks_it() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nx = 1\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");

    // Without a session every page sends the browser to the form.
    let (status, _) = get(&app, "hone_session=v1.x.9999999999.bad", "/").await;
    assert_eq!(status, 303);
    let refused = browser()
        .post(format!("{}/sign-in", app.base))
        .form(&[("key", crate::helpers::admin_key().as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    assert!(refused.text().await.expect("body").contains("not known"));
    let (status, html) = post(&app, "", "/sign-in", &[("key", "swordfish")], &app.base).await;
    assert_eq!(status, 401);
    assert!(html.contains("not a hone API key"), "{html}");

    let resp = browser()
        .post(format!("{}/sign-in", app.base))
        .header("x-forwarded-proto", "https")
        .form(&[("key", app.key.as_str())])
        .send()
        .await
        .expect("sign in");
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
        "Secure",
    ] {
        assert!(set.contains(part), "{part} missing from {set}");
    }
    assert!(!set.contains(&app.key), "the cookie never holds the key");

    let cookie = sign_in(&app, &app.key).await;
    let job = app
        .submit(&json!({"task": "t", "tests": "pass", "critic": null, "tags": ["dash"]}))
        .await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    let (status, html) = get(&app, &cookie, "/?tag=dash").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/jobs/{id}\"")), "{html}");
    // The row names the job by its last eight hex digits (its random part), not its first
    // (its time, the same for jobs of the same seconds).
    let tail: String = id
        .replace('-', "")
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(html.contains(&format!("…{tail}</a>")), "{html}");
    let resp = browser()
        .get(format!("{}/", app.base))
        .header("cookie", &cookie)
        .header("hx-request", "true")
        .send()
        .await
        .expect("fragment");
    let headers = resp.headers().clone();
    let fragment = resp.text().await.expect("body");
    assert!(
        fragment.starts_with("<tbody"),
        "htmx gets the rows alone: {fragment}"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    let (status, html) = get(&app, &cookie, &format!("/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&id));

    // Bad filters are the API's 400, as a page.
    let (status, html) = get(&app, &cookie, "/?status=nope").await;
    assert_eq!(status, 400);
    assert!(html.contains("must be queued, running"), "{html}");

    // Another tenant's job, and a job that does not exist, are 404 pages.
    let theirs = other_tenants_job(&app).await;
    for path in [
        format!("/jobs/{theirs}"),
        format!("/jobs/{theirs}/live"),
        "/jobs/not-an-id".to_owned(),
    ] {
        let (status, html) = get(&app, &cookie, &path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Not found"), "{html}");
    }
    let (status, _) = post(
        &app,
        &cookie,
        &format!("/jobs/{theirs}/cancel"),
        &[("csrf", &token(&html_of(&app, &cookie).await))],
        &app.base,
    )
    .await;
    assert_eq!(status, 404, "another tenant's job cannot be cancelled");
}

async fn html_of(app: &TestApp, cookie: &str) -> String {
    get(app, cookie, "/").await.1
}

#[tokio::test]
async fn forms_need_the_token_the_origin_and_the_scope() {
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "```python\nimport time\ntime.sleep(30)\n```".to_owned()),
        Arc::new(|_: &str| Duration::from_millis(50)),
    )
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let cookie = sign_in(&app, &app.key).await;
    let job = app
        .submit(&json!({"task": "sleep", "tests": "pass", "critic": null}))
        .await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    let (_, page) = get(&app, &cookie, &format!("/jobs/{id}")).await;
    let csrf = token(&page);
    assert!(page.contains("id=\"cancel\""), "a write key sees Cancel");
    let path = format!("/jobs/{id}/cancel");

    // No token, a wrong token, or another origin: refused, and the job runs on.
    for (form, origin) in [
        (vec![], app.base.as_str()),
        (vec![("csrf", "forged")], app.base.as_str()),
        (vec![("csrf", csrf.as_str())], "http://evil.example"),
    ] {
        let (status, html) = post(&app, &cookie, &path, &form, origin).await;
        assert_eq!(status, 403, "{html}");
        assert!(html.contains("Refused"));
    }
    let now = app.get(&format!("/v1/jobs/{id}")).await;
    assert!(
        !now.body["cancel_requested"].as_bool().expect("flag"),
        "{}",
        now.body
    );

    let (status, _) = post(&app, &cookie, &path, &[("csrf", &csrf)], &app.base).await;
    assert_eq!(status, 303);
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "cancelled");

    // A read-only key sees no buttons and may not act; it has no keys page.
    let store = hone::store::connect(&app.db_url).await.expect("store");
    let issued = hone_api::auth::issue::issue(
        hone_api::auth::issue::KeyRequest {
            tenant: hone_domain::TenantId::parse("default").expect("tenant"),
            name: "viewer".to_owned(),
            scopes: vec![hone_domain::apikey::Scope::JobsRead],
            expires_in: None,
            by: hone_store::Actor::Operator,
        },
        hone_domain::Timestamp::now(),
    )
    .expect("issue");
    let viewer = store.create_key(issued.stored).await.expect("create");
    let reader = sign_in(&app, &issued.key).await;
    let (_, page) = get(&app, &reader, &format!("/jobs/{id}")).await;
    assert!(!page.contains("id=\"retry\""), "a read key sees no Retry");
    let (status, _) = post(
        &app,
        &reader,
        &format!("/jobs/{id}/retry"),
        &[("csrf", &token(&page))],
        &app.base,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(get(&app, &reader, "/keys").await.0, 403);

    // The admin makes a key on the keys page (shown once), and revokes the viewer's;
    // the viewer's session ends with it.
    let (status, html) = get(&app, &cookie, "/keys").await;
    assert_eq!(status, 200);
    let csrf = token(&html);
    let (status, html) = post(
        &app,
        &cookie,
        "/keys",
        &[("csrf", &csrf), ("name", "from-the-page"), ("read", "on")],
        &app.base,
    )
    .await;
    assert_eq!(status, 201, "{html}");
    let at = html.find("id=\"new-key\">").expect("the new key") + 13;
    let made = html[at..].split('<').next().expect("key");
    assert!(made.starts_with("hone_"), "{made}");
    let listed = crate::helpers::client_with(made)
        .get(format!("{}/v1/jobs", app.base))
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), 200, "the key works on the API");
    let (status, _) = post(
        &app,
        &cookie,
        "/keys",
        &[("csrf", &csrf), ("name", "")],
        &app.base,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post(
        &app,
        &cookie,
        &format!("/keys/{}/revoke", viewer.id),
        &[("csrf", &csrf)],
        &app.base,
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        get(&app, &reader, "/").await.0,
        303,
        "a revoked key's session ends"
    );

    // Signing out drops the cookie.
    let resp = browser()
        .post(format!("{}/sign-out", app.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn a_job_pages_stream_says_change_then_done() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nx = 1\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let cookie = sign_in(&app, &app.key).await;
    let job = app
        .submit(&json!({"task": "t", "tests": "pass", "critic": null}))
        .await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    app.wait_finished(&id).await;
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        browser()
            .get(format!("{}/jobs/{id}/live?after=0", app.base))
            .header("cookie", &cookie)
            .send(),
    )
    .await
    .expect("in time")
    .expect("stream");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(10), resp.text())
        .await
        .expect("the stream ends after done")
        .expect("body");
    assert!(body.contains("event: change"), "{body}");
    assert!(body.contains("event: done"), "{body}");
}
