//! The dashboard in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (`chromedriver`, with `fantoccini`). Sign in; a job submitted through the API appears in
//! the list and its page turns `succeeded` without a reload; the attempt's diff and
//! traceback show, and the code is highlighted (so the vendored scripts load under the
//! page's CSP); Cancel on the page stops a running job; another tenant's job is a 404; a
//! form posted from another origin changes nothing.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the test
//! is skipped, except under `CI`, where it fails. With `HONE_SCREENSHOTS=DIR` it saves the
//! list, a job and the stats page as PNGs there (`docs/` holds the ones made so).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::access::other_tenants_job;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};
use crate::self_correction::{brain, spec};

const DRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver for the test, killed when dropped.
pub(crate) struct Driver {
    _child: tokio::process::Child,
    url: String,
    _profile: tempfile::TempDir,
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

pub(crate) async fn driver() -> Option<Driver> {
    if !std::path::Path::new(DRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs chromium and chromium-driver (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: chromium or chromedriver is not installed");
        return None;
    }
    let port = free_port().await;
    let child = tokio::process::Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(Driver {
        _child: child,
        url,
        _profile: tempfile::tempdir().expect("profile"),
    })
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--no-first-run",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Types `key` into the sign-in form on the page and sends it.
pub(crate) async fn submit_key(c: &Client, key: &str) {
    c.find(Locator::Css("#key"))
        .await
        .expect("key field")
        .send_keys(key)
        .await
        .expect("type");
    c.find(Locator::Css("section.signin button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign in");
}

/// Waits until `check` holds, polling; panics with `what` after `limit`.
pub(crate) async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Marks the page; the mark survives only as long as the page is not reloaded.
async fn mark(c: &Client) {
    c.execute("window.__honeMark = 1;", vec![])
        .await
        .expect("mark");
}

async fn still_marked(c: &Client) -> bool {
    c.execute("return window.__honeMark === 1;", vec![])
        .await
        .expect("read mark")
        == Value::Bool(true)
}

pub(crate) async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("HONE_SCREENSHOTS") {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join(name), png).expect("write screenshot");
    }
}

/// Serves one HTML page at every request, from another origin.
async fn other_origin(html: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn the_dashboard_in_a_real_browser() {
    let Some(driver) = driver().await else {
        return;
    };
    let story = brain();
    let model = FakeModel::start_slow(
        Arc::new(move |system: &str, user: &str| {
            if user.contains("Sleep forever") {
                "```python\nimport time\ntime.sleep(60)\n```".to_owned()
            } else {
                story(system, user)
            }
        }),
        Arc::new(|_: &str| Duration::from_millis(700)),
    )
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let c = browser(&driver).await;

    // Sign in.
    c.goto(&app.base).await.expect("open");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/sign-in")
    );
    submit_key(&c, &app.key).await;
    until(
        Duration::from_secs(10),
        "the jobs list after signing in",
        || async {
            c.current_url().await.is_ok_and(|u| u.path() == "/")
                && c.find(Locator::Css("table.jobs")).await.is_ok()
        },
    )
    .await;
    mark(&c).await;

    // A job submitted through the API shows up in the list without a reload.
    let job = app.submit(&spec()).await;
    let id = job.body["id"].as_str().expect("id").to_owned();
    let row = format!("tr[data-job=\"{id}\"]");
    until(Duration::from_secs(10), "the new job's row", || async {
        c.find(Locator::Css(&row)).await.is_ok()
    })
    .await;
    assert!(still_marked(&c).await, "the list updated without a reload");

    // Its page turns `succeeded` by itself.
    c.goto(&format!("{}/jobs/{id}", app.base))
        .await
        .expect("job page");
    let first = text(&c, "#status").await;
    assert_ne!(
        first, "succeeded",
        "the job must still be running to prove anything"
    );
    mark(&c).await;
    until(
        Duration::from_secs(30),
        "the job to succeed on its page",
        || async { text(&c, "#status").await == "succeeded" },
    )
    .await;
    assert!(
        still_marked(&c).await,
        "the job page updated without a reload"
    );
    let diff = text(&c, "#attempt-2 pre.diff").await;
    assert!(diff.contains("+ ") && diff.contains("- "), "{diff}");
    let error = text(&c, "#attempt-1 .traceback .error-line").await;
    assert!(error.starts_with("IndexError"), "{error}");
    until(Duration::from_secs(5), "highlighted code", || async {
        c.find(Locator::Css("pre code.hljs")).await.is_ok()
    })
    .await;
    screenshot(&c, "dashboard-job.png").await;
    c.execute(
        "document.getElementById('attempt-2').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    screenshot(&c, "dashboard-attempt.png").await;
    c.goto(&app.base).await.expect("list");
    screenshot(&c, "dashboard-jobs.png").await;
    c.goto(&format!("{}/stats", app.base)).await.expect("stats");
    assert!(c.find(Locator::Css("#over-time rect")).await.is_ok());
    screenshot(&c, "dashboard-stats.png").await;

    // A running job; a form on another origin cannot cancel it, with or without the cookie.
    let sleepy = app
        .submit(&json!({"task": "Sleep forever.", "tests": "pass", "critic": null}))
        .await;
    let sleepy = sleepy.body["id"].as_str().expect("id").to_owned();
    let port = app.base.rsplit(':').next().expect("port").to_owned();
    for host in ["127.0.0.1", "localhost"] {
        let evil = format!(
            "<form id=f method=post action=\"http://127.0.0.1:{port}/jobs/{sleepy}/cancel\">\
             <input name=csrf value=forged></form>\
             <script>document.getElementById('f').submit()</script>"
        );
        let evil_port = other_origin(evil).await;
        c.goto(&format!("http://{host}:{evil_port}/"))
            .await
            .expect("evil page");
        until(
            Duration::from_secs(10),
            "the forged post's answer",
            || async {
                c.current_url()
                    .await
                    .is_ok_and(|u| u.port().map(|p| p.to_string()) == Some(port.clone()))
            },
        )
        .await;
        let now = app.get(&format!("/v1/jobs/{sleepy}")).await;
        assert_eq!(now.body["cancel_requested"], false, "{host}: {}", now.body);
    }

    // Cancel from the page stops it.
    c.goto(&format!("{}/jobs/{sleepy}", app.base))
        .await
        .expect("job page");
    // The page re-renders as events arrive; a button found just before is then stale.
    let mut clicked = false;
    for _ in 0..20 {
        if let Ok(button) = c.find(Locator::Css("#cancel")).await
            && button.click().await.is_ok()
        {
            clicked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(clicked, "a Cancel button to click");
    assert_eq!(app.wait_finished(&sleepy).await["status"], "cancelled");
    until(
        Duration::from_secs(10),
        "the page to show the job cancelled",
        || async { text(&c, "#status").await == "cancelled" },
    )
    .await;

    // Another tenant's job is a 404 page.
    let theirs = other_tenants_job(&app).await;
    c.goto(&format!("{}/jobs/{theirs}", app.base))
        .await
        .expect("their page");
    assert!(text(&c, "h1").await.starts_with("404"));
    c.close().await.expect("close");
}
