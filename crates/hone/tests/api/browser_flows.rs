//! The dashboard's first-hour fixes in a real browser (Chromium, headless): a link opened
//! while signed out returns to its page after signing in; at 500 px wide the jobs list and
//! the keys page fit the screen (their tables scroll inside it) and the task column keeps a
//! readable width; revoking the key one is signed in with asks first, and "Keep it" keeps it.

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{browser, driver, screenshot, submit_key, text, until};
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn sign_in_returns_to_the_link_a_phone_screen_fits_and_revoking_ones_key_asks_first() {
    let Some(driver) = driver().await else {
        return;
    };
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let long = "Parse the quarterly ledger export and reconcile every account against the bank";
    let submitted = app
        .submit(&json!({"task": long, "tests": "assert True", "critic": null, "tags": ["nightly"]}))
        .await;
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    let c = browser(&driver).await;

    // A link to a job, opened signed out: sign in, and land on that job.
    c.goto(&format!("{}/jobs/{id}", app.base))
        .await
        .expect("open");
    let at = c.current_url().await.expect("url");
    assert_eq!(at.path(), "/sign-in");
    assert_eq!(at.query(), Some(format!("next=%2Fjobs%2F{id}").as_str()));
    submit_key(&c, &app.key).await;
    until(
        Duration::from_secs(10),
        "the job's page after signing in",
        || async {
            c.current_url()
                .await
                .is_ok_and(|u| u.path() == format!("/jobs/{id}"))
        },
    )
    .await;

    // A phone's width: nothing wider than the screen but inside its own scrolling table.
    c.set_window_size(500, 900).await.expect("narrow");
    for page in ["/", "/keys", &format!("/jobs/{id}"), "/stats"] {
        c.goto(&format!("{}{page}", app.base)).await.expect("open");
        let fits = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .expect("measure");
        assert_eq!(
            fits,
            Value::Bool(true),
            "{page} is wider than a 500 px screen"
        );
    }
    c.goto(&app.base).await.expect("list");
    let task_width = c
        .execute(
            "return document.querySelector('td.task').getBoundingClientRect().width;",
            vec![],
        )
        .await
        .expect("width");
    assert!(
        task_width.as_f64().is_some_and(|w| w >= 200.0),
        "the task column is squeezed to {task_width}"
    );
    screenshot(&c, "dashboard-jobs-500px.png").await;

    // Revoking one's own key asks first, saying so; "Keep it" keeps it.
    c.goto(&format!("{}/keys", app.base)).await.expect("keys");
    assert!(text(&c, "table.keys").await.contains("(your key)"));
    c.find(Locator::XPath("//button[contains(., 'Revoke my key')]"))
        .await
        .expect("own key's revoke")
        .click()
        .await
        .expect("revoke");
    until(Duration::from_secs(10), "the confirmation", || async {
        text(&c, ".confirm").await.contains("signed in with")
    })
    .await;
    assert!(text(&c, ".confirm").await.contains("last admin key"));
    c.find(Locator::LinkText("Keep it"))
        .await
        .expect("keep it")
        .click()
        .await
        .expect("keep");
    until(
        Duration::from_secs(10),
        "the keys page, still signed in",
        || async {
            c.current_url().await.is_ok_and(|u| u.path() == "/keys")
                && text(&c, "table.keys").await.contains("(your key)")
        },
    )
    .await;
    c.close().await.expect("close");
}
