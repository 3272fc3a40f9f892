//! `GET /v1/audit?limit=&cursor=`: the caller's tenant's audit log, newest first, for
//! `admin` keys: who made or revoked a key, or rotated the webhook secret, and when.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::FieldError;
use hone_store::{AuditEntry, AuditPage};
use serde::Serialize;

use crate::auth::{Admin, Caller};
use crate::problem::ApiError;
use crate::{AppState, cursor};

/// A page of the audit log.
#[derive(Serialize)]
pub struct AuditList {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Lists the audit log.
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AuditList>, ApiError> {
    let mut errors = Vec::new();
    let mut paging = cursor::Paging::default();
    for (k, v) in &query {
        if !paging.read(k, v, &mut errors) {
            errors.push(FieldError::new(k, "unknown query parameter"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let page = AuditPage {
        before: paging.before,
        limit: paging.limit,
    };
    let items = state.store.list_audit(&caller.tenant, page).await?;
    let full = items.len() == usize::try_from(page.limit).unwrap_or(usize::MAX);
    let next_cursor = items
        .last()
        .filter(|_| full)
        .map(|last| cursor::encode(last.id));
    Ok(Json(AuditList { items, next_cursor }))
}
