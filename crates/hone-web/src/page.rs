//! Rendering: a template into an HTML response, the layout every page shares, and errors as
//! pages (a missing or expired session is a redirect to the sign-in form).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hone_api::problem::ApiError;
use hone_store::StoreError;
use serde_json::Value;

/// What the header shows: who is signed in, and the token the sign-out form carries.
pub struct Layout {
    /// The page's section, for the navigation: `jobs`, `stats` or `keys`.
    pub nav: &'static str,
    /// The tenant signed in.
    pub tenant: String,
    /// The key's name.
    pub key_name: String,
    /// Whether the key may manage keys.
    pub admin: bool,
    /// Whether the key may cancel and retry.
    pub write: bool,
    /// The session's CSRF token, for forms.
    pub csrf: String,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Option<Layout>,
    status: u16,
    title: String,
    detail: String,
    errors: Vec<(String, String)>,
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No session, or it expired, or its key is no longer usable: sign in.
    SignIn,
    /// As [`PageError::SignIn`], then back to this page of the site (a checked path).
    SignInFrom(Option<String>),
    /// The key's rate budget is spent.
    RateLimited,
    /// A state-changing request came from another site, or without the session's token.
    CrossSite,
    /// The API refused, as a problem document: its status, title, detail and fields.
    Problem {
        /// The status.
        status: StatusCode,
        /// The title.
        title: String,
        /// The detail.
        detail: String,
        /// Each bad field and what is wrong with it.
        errors: Vec<(String, String)>,
    },
    /// The store failed.
    Store(StoreError),
    /// A template failed to render.
    Render(askama::Error),
}

impl PageError {
    /// The API's refusal as a page error (reads the problem document it would send).
    pub async fn from_api(e: ApiError) -> Self {
        let resp = e.into_response();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null);
        let errors = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
                (s("field"), s("message"))
            })
            .collect();
        Self::Problem {
            status,
            title: body["title"].as_str().unwrap_or("Error").to_owned(),
            detail: body["detail"].as_str().unwrap_or("").to_owned(),
            errors,
        }
    }

    /// A `404` page.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::Problem {
            status: StatusCode::NOT_FOUND,
            title: "Not found".to_owned(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::Render(e)
    }
}

/// Runs an API handler's result through, turning its refusal into a page error.
pub async fn api<T>(r: Result<T, ApiError>) -> Result<T, PageError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => Err(PageError::from_api(e).await),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail, errors) = match self {
            Self::SignIn | Self::SignInFrom(None) => {
                return Redirect::to("/sign-in").into_response();
            }
            Self::SignInFrom(Some(path)) => {
                let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
                return Redirect::to(&format!("/sign-in?next={next}")).into_response();
            }
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests".to_owned(),
                "this key's rate budget is spent for the minute; try again shortly".to_owned(),
                Vec::new(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "Refused".to_owned(),
                "the form did not come from this dashboard's own page (another site, or \
                 without its token); reload the page and try again"
                    .to_owned(),
                Vec::new(),
            ),
            Self::Problem {
                status,
                title,
                detail,
                errors,
            } => (status, title, detail, errors),
            Self::Store(e) => {
                tracing::error!(error = %e, "a dashboard page failed to read the store");
                internal()
            }
            Self::Render(e) => {
                tracing::error!(error = %e, "a dashboard template failed to render");
                internal()
            }
        };
        let page = ErrorPage {
            layout: None,
            status: status.as_u16(),
            title,
            detail,
            errors,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

fn internal() -> (StatusCode, String, String, Vec<(String, String)>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong".to_owned(),
        "the dashboard could not read what it needs; the server's log has the cause".to_owned(),
        Vec::new(),
    )
}

/// A rendered template as a `200` page that is never cached (it shows live state).
pub fn html(template: &impl Template) -> Result<Response, PageError> {
    let mut resp = Html(template.render()?).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("HX-Request, Cookie"));
    Ok(resp)
}

/// Whether htmx asked (for a fragment to swap in) rather than the browser (for the page).
pub fn htmx(headers: &axum::http::HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

/// The most bytes a dashboard form may send.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The body-limit layer's bare `413` as a page that says the limit.
pub async fn explain_too_large(resp: Response) -> Response {
    if resp.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return resp;
    }
    PageError::Problem {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: "Too large".to_owned(),
        detail: format!(
            "a dashboard form may send at most {} KiB; this one sent more. Shorten what you \
             typed and send it again",
            FORM_LIMIT / 1024
        ),
        errors: Vec::new(),
    }
    .into_response()
}
