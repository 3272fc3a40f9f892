//! `GET /sign-in` (the form), `POST /sign-in` (a key in, a session cookie out) and
//! `POST /sign-out`.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hone_domain::Timestamp;
use serde::Deserialize;

use crate::WebState;
use crate::page::{Layout, PageError};
use crate::session::{self, Session, check_form, return_path, same_origin, set_cookie};

/// The sign-in form, with what went wrong last time.
#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    title: String,
    layout: Option<Layout>,
    error: String,
    /// Why the user is here, when the dashboard sent them (their key was revoked).
    note: String,
    /// The page to return to after signing in (a checked path), or empty.
    next: String,
}

fn form_page(
    status: StatusCode,
    error: &str,
    note: &str,
    next: &str,
) -> Result<Response, PageError> {
    let page = SignInPage {
        title: "Sign in".to_owned(),
        layout: None,
        error: error.to_owned(),
        note: note.to_owned(),
        next: return_path(next).unwrap_or_default().to_owned(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// What the sign-in page is asked with: where to return, and why the user is here.
#[derive(Deserialize, Default)]
pub struct Arrival {
    /// The page to return to.
    #[serde(default)]
    next: String,
    /// Set when the user revoked the key they were signed in with.
    #[serde(default)]
    revoked: Option<String>,
}

/// Shows the form.
pub async fn form(Query(arrival): Query<Arrival>) -> Result<Response, PageError> {
    let note = if arrival.revoked.is_some() {
        "You revoked the key you were signed in with, which ended your session: sign in with \
         another key."
    } else {
        ""
    };
    form_page(StatusCode::OK, "", note, &arrival.next)
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignIn {
    /// The API key.
    #[serde(default)]
    key: String,
    /// The page to return to (checked again: it came back from the browser).
    #[serde(default)]
    next: String,
}

/// Checks the key and starts a session: the cookie lasts 12 hours or until the key
/// expires, whichever is first.
pub async fn sign_in(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::CrossSite);
    }
    let key = match state.api.auth.authenticate_key(form.key.trim()).await {
        Ok(key) => key,
        Err(hone_api::auth::Refusal::Store(e)) => return Err(PageError::Store(e)),
        Err(hone_api::auth::Refusal::Missing | hone_api::auth::Refusal::Malformed) => {
            return form_page(
                StatusCode::UNAUTHORIZED,
                "that is not a hone API key (they start with hone_)",
                "",
                &form.next,
            );
        }
        Err(why) => return form_page(StatusCode::UNAUTHORIZED, why.detail(), "", &form.next),
    };
    let now = Timestamp::now().as_millis() / 1000;
    let lifetime = i64::try_from(session::LIFETIME.as_secs()).unwrap_or(i64::MAX);
    let expires = match key.expires_at {
        Some(at) => (now + lifetime).min(at.as_millis() / 1000),
        None => now + lifetime,
    };
    let value = state
        .sessions
        .seal(&hone_domain::apikey::hash(form.key.trim()), expires);
    let max_age = u64::try_from(expires - now).unwrap_or(0);
    tracing::info!(key = %key.id, tenant = %key.tenant, "signed in to the dashboard");
    let mut resp = Redirect::to(return_path(&form.next).unwrap_or("/")).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(Some(&value), max_age, &headers),
    );
    Ok(resp)
}

/// The sign-out form's fields.
#[derive(Deserialize)]
pub struct SignOut {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
}

/// Ends the session: the browser drops its cookie.
pub async fn sign_out(
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Result<Response, PageError> {
    check_form(&session, &headers, &form.csrf)?;
    let mut resp = Redirect::to("/sign-in").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, 0, &headers));
    Ok(resp)
}
