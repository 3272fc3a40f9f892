//! `GET /keys` (admin): the tenant's keys; `POST /keys` makes one and shows it once;
//! `POST /keys/{id}/revoke` revokes one. The API's own handlers do the work, so the rules
//! (names, scopes, lifetimes, the audit log) are the same.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hone_api::auth::{Admin, Caller};
use hone_api::body::JsonBody;
use serde::Deserialize;
use serde_json::json;

use crate::WebState;
use crate::page::{Layout, PageError, api};
use crate::session::{Session, check_form};
use crate::view;

/// A key as a row.
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: bool,
    /// The key this session is signed in with.
    own: bool,
}

/// Asking before revoking the session's own key.
struct Confirm {
    /// The key's id.
    id: String,
    /// Whether it is the tenant's last usable admin key.
    last_admin: bool,
}

/// The keys page, with a key just made (shown this once) or what was wrong with the form.
#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    title: String,
    layout: Option<Layout>,
    csrf: String,
    keys: Vec<KeyRow>,
    created: String,
    errors: Vec<(String, String)>,
    confirm: Option<Confirm>,
}

async fn render(
    state: &WebState,
    session: &Session,
    created: String,
    errors: Vec<(String, String)>,
) -> Result<String, PageError> {
    render_with(state, session, created, errors, false).await
}

/// The keys page; with `confirm`, it asks first before revoking the session's own key.
async fn render_with(
    state: &WebState,
    session: &Session,
    created: String,
    errors: Vec<(String, String)>,
    confirm: bool,
) -> Result<String, PageError> {
    let caller = api(Caller::<Admin>::for_key(&session.key)).await?;
    let list = api(hone_api::keys::list_keys(State(state.api.clone()), caller).await).await?;
    let now = hone_domain::Timestamp::now();
    let admins = list
        .0
        .items
        .iter()
        .filter(|k| k.usable_at(now) && k.scopes.contains(&hone_domain::apikey::Scope::Admin))
        .count();
    let confirm = confirm.then(|| Confirm {
        id: session.key.id.to_string(),
        last_admin: admins <= 1,
    });
    let keys = list
        .0
        .items
        .iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: view::when(k.created_at),
            expires: k
                .expires_at
                .map(view::when)
                .unwrap_or_else(|| "never".to_owned()),
            last_used: k.last_used_at.map(view::when).unwrap_or_default(),
            revoked: k.revoked_at.is_some(),
            own: k.id == session.key.id,
        })
        .collect();
    let page = KeysPage {
        title: "Keys".to_owned(),
        csrf: session.csrf.clone(),
        layout: Some(session.layout("keys")),
        keys,
        created,
        errors,
        confirm,
    };
    Ok(page.render()?)
}

/// Lists the tenant's keys.
pub async fn page(State(state): State<WebState>, session: Session) -> Result<Response, PageError> {
    let html = render(&state, &session, String::new(), Vec::new()).await?;
    let mut resp = Html(html).into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// The new-key form's fields.
#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    admin: Option<String>,
    /// Days until it expires; empty for never.
    #[serde(default)]
    expires_days: String,
}

/// Makes a key and shows it, once.
pub async fn create(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NewKeyForm>,
) -> Result<Response, PageError> {
    check_form(&session, &headers, &form.csrf)?;
    let caller = api(Caller::<Admin>::for_key(&session.key)).await?;
    let scopes: Vec<&str> = [
        (form.read.is_some(), "jobs:read"),
        (form.write.is_some(), "jobs:write"),
        (form.admin.is_some(), "admin"),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.then_some(s))
    .collect();
    let mut body = json!({"name": form.name, "scopes": scopes});
    let days = form.expires_days.trim();
    if !days.is_empty() {
        match days.parse::<u64>() {
            Ok(d) => body["expires_in_s"] = json!(d.saturating_mul(86_400)),
            Err(_) => {
                let errors = vec![(
                    "expires_days".to_owned(),
                    "must be a whole number of days, or empty for never".to_owned(),
                )];
                let html = render(&state, &session, String::new(), errors).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
            }
        }
    }
    let made =
        hone_api::keys::create_key(State(state.api.clone()), caller, JsonBody { value: body })
            .await;
    match made {
        Ok((_, created)) => {
            let html = render(&state, &session, created.0.key.clone(), Vec::new()).await?;
            let mut resp = (StatusCode::CREATED, Html(html)).into_response();
            resp.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(resp)
        }
        Err(e) => match PageError::from_api(e).await {
            PageError::Problem {
                status,
                errors,
                detail,
                ..
            } => {
                let errors = if errors.is_empty() {
                    vec![(String::new(), detail)]
                } else {
                    errors
                };
                let html = render(&state, &session, String::new(), errors).await?;
                Ok((status, Html(html)).into_response())
            }
            other => Err(other),
        },
    }
}

/// The revoke form's fields.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    /// `yes` once the user confirmed revoking the key they are signed in with.
    #[serde(default)]
    confirm: Option<String>,
}

/// Revokes a key, then lists the keys.
pub async fn revoke(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<RevokeForm>,
) -> Result<Response, PageError> {
    check_form(&session, &headers, &form.csrf)?;
    let own = id == session.key.id.to_string();
    if own && form.confirm.as_deref() != Some("yes") {
        // The session's own key: ask first, saying what it means.
        let html = render_with(&state, &session, String::new(), Vec::new(), true).await?;
        return Ok(Html(html).into_response());
    }
    let caller = api(Caller::<Admin>::for_key(&session.key)).await?;
    let _ =
        api(hone_api::keys::revoke_key(State(state.api.clone()), caller, Path(id)).await).await?;
    if own {
        return Ok(Redirect::to("/sign-in?revoked=1").into_response());
    }
    Ok(Redirect::to("/keys").into_response())
}
