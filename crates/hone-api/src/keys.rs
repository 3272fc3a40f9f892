//! The tenant's API keys, for `admin` keys: `POST /v1/keys` makes one (the key is in that
//! answer and nowhere else, ever), `GET /v1/keys` lists them (id, name, scopes, the short
//! prefix, times; never the key or its hash), `DELETE /v1/keys/{id}` revokes one at once.
//! Every route stays within the caller's tenant: another tenant's key id is a `404`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hone_domain::apikey::Scope;
use hone_domain::spec::as_integer;
use hone_domain::{FieldError, KeyId, Timestamp};
use hone_store::{Actor, KeyInfo};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::issue::{Invalid, KeyRequest, check_lifetime, check_name, issue};
use crate::auth::{Admin, Caller};
use crate::body::JsonBody;
use crate::problem::ApiError;

/// A new key: the key itself, shown this once, and what listings show of it.
#[derive(Serialize)]
pub struct Created {
    /// The key: store it now, it cannot be shown again.
    pub key: String,
    /// The stored key.
    #[serde(flatten)]
    pub info: KeyInfo,
}

/// A list of keys.
#[derive(Serialize)]
pub struct Keys {
    /// Oldest first.
    pub items: Vec<KeyInfo>,
}

fn field(errors: &mut Vec<FieldError>, name: &str, message: &str) {
    errors.push(FieldError::new(name, message));
}

fn invalid(errors: &mut Vec<FieldError>, e: Invalid) {
    field(errors, e.field, e.message);
}

/// Reads `{"name", "scopes", "expires_in_s"?}`, naming every bad field at once.
fn key_request(body: &Value, caller: &Caller<Admin>) -> Result<KeyRequest, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::InvalidBody(vec![FieldError::new(
            "",
            "must be an object with name and scopes",
        )]));
    };
    let mut errors = Vec::new();
    for k in obj.keys() {
        if !matches!(k.as_str(), "name" | "scopes" | "expires_in_s") {
            field(&mut errors, k, "unknown field");
        }
    }
    let name = match obj.get("name").map(Value::as_str) {
        Some(Some(n)) => {
            if let Err(e) = check_name(n) {
                invalid(&mut errors, e);
            }
            n.to_owned()
        }
        _ => {
            field(&mut errors, "name", "is required and must be a string");
            String::new()
        }
    };
    let mut scopes = Vec::new();
    match obj.get("scopes").and_then(Value::as_array) {
        Some(list) if !list.is_empty() && list.len() <= Scope::ALL.len() * 4 => {
            for (i, s) in list.iter().enumerate() {
                match s.as_str().map(str::parse::<Scope>) {
                    Some(Ok(scope)) => scopes.push(scope),
                    _ => field(
                        &mut errors,
                        &format!("scopes[{i}]"),
                        "must be jobs:read, jobs:write or admin",
                    ),
                }
            }
        }
        _ => field(
            &mut errors,
            "scopes",
            "is required: a non-empty list of jobs:read, jobs:write, admin",
        ),
    }
    let expires_in = match obj.get("expires_in_s") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_number()
            .and_then(as_integer)
            .and_then(|s| u64::try_from(s).ok())
        {
            Some(s) => {
                if let Err(e) = check_lifetime(Duration::from_secs(s)) {
                    invalid(&mut errors, e);
                }
                Some(Duration::from_secs(s))
            }
            None => {
                field(&mut errors, "expires_in_s", "must be 1 s to 10 years");
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::InvalidBody(errors));
    }
    Ok(KeyRequest {
        tenant: caller.tenant.clone(),
        name,
        scopes,
        expires_in,
        by: Actor::Key(caller.key),
    })
}

/// Refuses scopes the caller's key does not hold: a key grants no more than it may do
/// itself (`admin` does not imply the others).
fn within_callers_scopes(request: &KeyRequest, caller: &Caller<Admin>) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = request
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| !caller.scopes.contains(s))
        .map(|(i, s)| {
            FieldError::new(
                format!("scopes[{i}]"),
                format!(
                    "your key does not hold {}, and a key can grant only the scopes it holds",
                    s.as_str()
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidBody(errors))
    }
}

/// Refuses a key beyond the tenant's cap of usable keys.
async fn within_key_cap(state: &AppState, caller: &Caller<Admin>) -> Result<(), ApiError> {
    let now = Timestamp::now();
    let keys = state.store.list_keys(Some(&caller.tenant)).await?;
    let usable = keys.iter().filter(|k| k.usable_at(now)).count();
    if usable >= state.max_keys as usize {
        return Err(ApiError::Conflict(format!(
            "the tenant holds {usable} usable keys, its most (HONE_MAX_KEYS_PER_TENANT is {}): \
             revoke one first",
            state.max_keys
        )));
    }
    Ok(())
}

/// Makes a key in the caller's tenant; `201` with the key. The key holds at most the
/// caller's scopes and gets the caller's rate budgets, so a limited key cannot make itself
/// an unlimited one.
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let request = key_request(&body.value, &caller)?;
    within_callers_scopes(&request, &caller)?;
    within_key_cap(&state, &caller).await?;
    let mut issued = issue(request, Timestamp::now())
        .map_err(|e| ApiError::InvalidBody(vec![FieldError::new(e.field, e.message)]))?;
    issued.stored.rates = caller.rates;
    let info = state.store.create_key(issued.stored).await?;
    tracing::info!(key = %info.id, tenant = %info.tenant, by = %caller.key, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(Created {
            key: issued.key,
            info,
        }),
    ))
}

/// Lists the caller's tenant's keys.
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller<Admin>,
) -> Result<Json<Keys>, ApiError> {
    let items = state.store.list_keys(Some(&caller.tenant)).await?;
    Ok(Json(Keys { items }))
}

/// Revokes a key of the caller's tenant; the key as it is now.
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    let no_key = || ApiError::NotFound(format!("no key with id {id:?}"));
    let key_id: KeyId = id.parse().map_err(|_| no_key())?;
    let info = state
        .store
        .revoke_key(Some(&caller.tenant), key_id, Actor::Key(caller.key))
        .await?
        .ok_or_else(no_key)?;
    state.auth.forget(key_id);
    tracing::info!(key = %key_id, tenant = %caller.tenant, by = %caller.key, "API key revoked");
    Ok(Json(info))
}
