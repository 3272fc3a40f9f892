//! Who is calling, and what they may do. Every `/v1` route runs [`identify`]: it checks the
//! `Authorization: Bearer` key ([`keys`]), spends one request of the key's rate budget
//! ([`rate`]) and answers `429` when it is spent, and leaves the outcome in the request for
//! the [`Caller`] extractor, which a handler names with the scope it needs
//! (`Caller<Read>`, `Caller<Write>`, `Caller<Admin>`): no key or a bad one is `401`, a key
//! without the scope `403`. [`issue`] makes new keys, for the API and the operator's CLI.

pub mod issue;
pub mod keys;
pub mod rate;

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hone_domain::apikey::Scope;
use hone_domain::{KeyId, TenantId};
use hone_store::KeyInfo;

use crate::problem::ApiError;

pub use keys::{Authenticator, Refusal};
pub use rate::{Budget, RateConfig, RateLimits, Whose};

/// What a route needs of the caller's key.
pub trait Need: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Needs `jobs:read`.
pub struct Read;
/// Needs `jobs:write`.
pub struct Write;
/// Needs `admin`.
pub struct Admin;

impl Need for Read {
    const SCOPE: Scope = Scope::JobsRead;
}
impl Need for Write {
    const SCOPE: Scope = Scope::JobsWrite;
}
impl Need for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// The authenticated caller of a route that needs `N`: its tenant and key.
pub struct Caller<N: Need> {
    /// The tenant every query of the request is scoped to.
    pub tenant: TenantId,
    /// The key the request came with (the audit log names it).
    pub key: KeyId,
    /// What the key may do (a key it makes may do no more).
    pub scopes: Vec<Scope>,
    /// The key's own rate budgets (a key it makes gets no larger ones).
    pub rates: hone_store::KeyRates,
    need: PhantomData<N>,
}

impl<N: Need> Caller<N> {
    /// The caller a usable key is, for a route that needs `N`: `403` when the key lacks
    /// the scope. For front ends that authenticate in their own way (the dashboard's
    /// session) and then call the API's handlers.
    pub fn for_key(key: &KeyInfo) -> Result<Self, ApiError> {
        if !key.scopes.contains(&N::SCOPE) {
            return Err(ApiError::Forbidden(N::SCOPE));
        }
        Ok(Self::of(key))
    }

    fn of(key: &KeyInfo) -> Self {
        Self {
            tenant: key.tenant.clone(),
            key: key.id,
            scopes: key.scopes.clone(),
            rates: key.rates,
            need: PhantomData,
        }
    }
}

/// What [`identify`] found, for the extractor.
#[derive(Clone)]
enum Identity {
    Known(Arc<KeyInfo>),
    Refused {
        detail: &'static str,
        presented: bool,
    },
}

impl<N: Need, S: Send + Sync> FromRequestParts<S> for Caller<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Identity>() {
            Some(Identity::Known(key)) if key.scopes.contains(&N::SCOPE) => Ok(Self::of(key)),
            Some(Identity::Known(_)) => Err(ApiError::Forbidden(N::SCOPE)),
            Some(Identity::Refused { detail, presented }) => Err(ApiError::Unauthorized {
                detail,
                presented: *presented,
            }),
            None => Err(ApiError::Unauthorized {
                detail: Refusal::Missing.detail(),
                presented: false,
            }),
        }
    }
}

/// What [`identify`] needs: the key checker and the budgets (two `Arc`s to clone per
/// request, not the whole [`AppState`]).
#[derive(Clone)]
pub struct Gate {
    /// Checks keys.
    pub auth: Arc<Authenticator>,
    /// Spends budgets.
    pub rate: Arc<RateLimits>,
}

/// Authenticates the request and spends its rate budget; see the module header.
pub async fn identify(State(state): State<Gate>, mut req: Request, next: Next) -> Response {
    let found = state
        .auth
        .authenticate(req.headers().get(header::AUTHORIZATION))
        .await;
    let key = match found {
        Ok(key) => key,
        Err(Refusal::Store(e)) => return ApiError::Internal(e).into_response(),
        Err(why) => {
            req.extensions_mut().insert(Identity::Refused {
                detail: why.detail(),
                presented: !matches!(why, Refusal::Missing),
            });
            return next.run(req).await;
        }
    };
    let budget = Budget::of(req.method());
    let own = match budget {
        Budget::Reads => key.rates.reads_per_min,
        Budget::Writes => key.rates.writes_per_min,
    };
    let allowed = match state.rate.check(key.id, budget, own) {
        Ok(allowed) => allowed,
        Err(limited) => return limited.into_response(),
    };
    if let Err(limited) = state.rate.check_tenant(&key.tenant, budget) {
        return limited.into_response();
    }
    req.extensions_mut().insert(Identity::Known(key));
    let mut resp = next.run(req).await;
    if let Some(allowed) = allowed {
        allowed.write_headers(resp.headers_mut());
    }
    resp
}
