//! The dashboard's error pages keep the navigation and say what went wrong: a form over the
//! limit is a `413` page that states the limit.

use std::sync::Arc;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn a_form_over_the_limit_gets_a_page_that_states_it() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let host = app.base.trim_start_matches("http://").to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{}/sign-in", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{host}"))
        .body(format!("key={}", "x".repeat(70 * 1024)))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 413);
    let kind = resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = resp.text().await.expect("page");
    assert!(page.contains("at most 64 KiB"), "{page}");
    assert!(
        page.contains("<nav class=\"plain\""),
        "the page keeps the navigation"
    );
}
