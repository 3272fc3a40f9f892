//! `GET /v1/runtimes`: the languages this server runs jobs in, each with its interpreter, its
//! version and the result of the sandbox's start-up check (a hello-world run inside the
//! sandbox). An API-only process runs no jobs and says so.

use axum::Json;
use axum::extract::State;
use hone_domain::Language;
use serde::Serialize;

use crate::AppState;
use crate::auth::{Caller, Read};

/// One language's runtime as the start-up check found it.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeInfo {
    /// The language.
    pub language: Language,
    /// The interpreter's path, if one was found.
    pub interpreter: Option<String>,
    /// What the interpreter says its version is (`--version`, first line).
    pub version: Option<String>,
    /// Whether it passed the check: jobs in this language are accepted.
    pub ready: bool,
    /// Why it is not ready.
    pub error: Option<String>,
}

/// The answer.
#[derive(Serialize)]
pub struct RuntimeList {
    /// Whether this process runs jobs (`false` for `hone api`: its workers' runtimes are
    /// theirs to report).
    pub runs_jobs: bool,
    /// Every language, in a fixed order.
    pub items: Vec<RuntimeInfo>,
}

/// Lists the runtimes.
pub async fn list_runtimes(
    State(state): State<AppState>,
    _caller: Caller<Read>,
) -> Json<RuntimeList> {
    Json(match &state.runtimes {
        Some(items) => RuntimeList {
            runs_jobs: true,
            items: items.to_vec(),
        },
        None => RuntimeList {
            runs_jobs: false,
            items: Vec::new(),
        },
    })
}
