//! `GET /`: the job history, newest first, with the operations API's filters and search,
//! a page at a time; the rows refresh live while the page is open.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hone_api::auth::{Caller, Read};

use crate::WebState;
use crate::page::{self, Layout, PageError, api};
use crate::session::Session;
use crate::view::JobRow;

/// The statuses the filter offers.
const STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];

/// The history page (or, for htmx, its rows).
#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    title: String,
    layout: Option<Layout>,
    fragment: bool,
    rows: Vec<JobRow>,
    statuses: [&'static str; 5],
    q: String,
    status: String,
    tag: String,
    model: String,
    filtered: bool,
    refresh: String,
    next: Option<String>,
}

/// The query string of `params`.
pub fn query_string(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Shows a page of jobs.
pub async fn page(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    // The filter form sends its empty fields too; an empty field filters nothing.
    let params: Vec<(String, String)> = query.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let caller = api(Caller::<Read>::for_key(&session.key)).await?;
    let list =
        api(hone_api::jobs::list::read_page(&state.api, &caller.tenant, &params).await).await?;
    let first = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    let next = list.next_cursor.map(|c| {
        let mut p = filters.clone();
        p.push(("cursor".to_owned(), c));
        format!("/?{}", query_string(&p))
    });
    let template = JobsPage {
        title: "Jobs".to_owned(),
        layout: Some(session.layout("jobs")),
        fragment: page::htmx(&headers),
        rows: list.items.iter().map(JobRow::of).collect(),
        statuses: STATUSES,
        q: first("q"),
        status: first("status"),
        tag: first("tag"),
        model: first("model"),
        filtered: filters.iter().any(|(k, _)| k != "limit"),
        refresh: format!("/?{}", query_string(&params)),
        next,
    };
    page::html(&template)
}
