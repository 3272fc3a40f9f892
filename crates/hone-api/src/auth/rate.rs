//! Rate limits per API key and per tenant: two GCRA budgets (`governor`), one for reads (GET)
//! and one for writes (everything else: submissions, cancels, rotations, key changes), each a
//! number of requests per minute that may also arrive as one burst. A request spends its
//! key's budget and its tenant's, which all the tenant's keys share, so making more keys
//! buys a tenant no more requests. The budgets live in this process's
//! memory: N API processes behind a load balancer let a key through at up to N times the
//! rate. Answers carry the IETF `RateLimit-Policy` and `RateLimit` headers; a refusal is a
//! `429` with `Retry-After`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use hone_domain::{KeyId, TenantId};
use serde_json::json;

use crate::problem::problem;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// The two budgets of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// `GET` requests, SSE streams included (one per stream opened).
    Reads,
    /// Every other method.
    Writes,
}

impl Budget {
    /// The budget a request of `method` spends.
    pub fn of(method: &axum::http::Method) -> Self {
        if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
            Self::Reads
        } else {
            Self::Writes
        }
    }

    /// Its name in headers and problem documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reads => "reads",
            Self::Writes => "writes",
        }
    }
}

/// The default budgets, in requests per minute; 0 turns a budget off.
#[derive(Debug, Clone, Copy)]
pub struct RateConfig {
    /// Reads per minute per key.
    pub reads_per_minute: u32,
    /// Writes per minute per key.
    pub writes_per_minute: u32,
    /// Reads per minute of all a tenant's keys together.
    pub tenant_reads_per_minute: u32,
    /// Writes per minute of all a tenant's keys together.
    pub tenant_writes_per_minute: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            reads_per_minute: 6000,
            writes_per_minute: 600,
            tenant_reads_per_minute: 24_000,
            tenant_writes_per_minute: 2_400,
        }
    }
}

/// Whose budget a refusal spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The key's own.
    Key,
    /// The one all the tenant's keys share.
    Tenant,
}

/// Where a key stands after a request that was let through.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    budget: Budget,
    per_minute: u32,
    remaining: u32,
}

/// A refused request: which budget, and when to come back.
#[derive(Debug, Clone, Copy)]
pub struct Limited {
    /// The spent budget.
    pub budget: Budget,
    /// The key's or the tenant's.
    pub whose: Whose,
    /// Its size.
    pub per_minute: u32,
    /// Whole seconds until one more request is allowed (at least 1).
    pub retry_after_s: u64,
}

fn policy(budget: Budget, per_minute: u32) -> String {
    format!("\"{}\";q={per_minute};w=60", budget.as_str())
}

fn put(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(name, v);
    }
}

/// Adds `RateLimit-Policy` and `RateLimit` for `budget`: `remaining` requests, whole again
/// in `reset_s` seconds.
fn write_state(
    headers: &mut HeaderMap,
    budget: Budget,
    per_minute: u32,
    remaining: u32,
    reset_s: u64,
) {
    put(headers, "ratelimit-policy", policy(budget, per_minute));
    put(
        headers,
        "ratelimit",
        format!("\"{}\";r={remaining};t={reset_s}", budget.as_str()),
    );
}

impl Allowed {
    /// Adds `RateLimit-Policy` and `RateLimit` (remaining requests, and seconds until the
    /// whole budget is back).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let used = u64::from(self.per_minute.saturating_sub(self.remaining));
        let reset = (used * 60).div_ceil(u64::from(self.per_minute.max(1)));
        write_state(headers, self.budget, self.per_minute, self.remaining, reset);
    }
}

/// The refusal: a `429` problem naming the spent budget, with `Retry-After` and the
/// `RateLimit-Policy` / `RateLimit` headers.
impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let (whose, scope) = match self.whose {
            Whose::Key => ("this key's", "key"),
            Whose::Tenant => ("the tenant's (all its keys together)", "tenant"),
        };
        let budget = self.budget.as_str();
        let mut resp = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "urn:hone:problem:rate-limited",
            "Too many requests",
            format!(
                "{whose} {budget} budget is spent; retry in {} s",
                self.retry_after_s
            ),
            json!({"budget": budget, "scope": scope}),
        );
        self.write_headers(resp.headers_mut());
        resp
    }
}

impl Limited {
    /// Adds `Retry-After`, `RateLimit-Policy` and `RateLimit` (nothing remaining).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        put(
            headers,
            header::RETRY_AFTER.as_str(),
            self.retry_after_s.to_string(),
        );
        write_state(headers, self.budget, self.per_minute, 0, self.retry_after_s);
    }
}

/// The budgets of every key that made a request, made on first use. Only authenticated
/// keys get one, so the map grows with the keys in the database, not with callers.
pub struct RateLimits {
    config: RateConfig,
    clock: DefaultClock,
    limiters: Mutex<HashMap<(KeyId, Budget, u32), Arc<Limiter>>>,
    tenants: Mutex<HashMap<(TenantId, Budget), Arc<Limiter>>>,
}

/// Takes one request from `limiter`, or says when one more is allowed.
fn spend(
    limiter: &Limiter,
    clock: &DefaultClock,
    budget: Budget,
    whose: Whose,
    size: NonZeroU32,
) -> Result<Allowed, Limited> {
    match limiter.check() {
        Ok(state) => Ok(Allowed {
            budget,
            per_minute: size.get(),
            remaining: state.remaining_burst_capacity(),
        }),
        Err(not_until) => {
            let wait = not_until.wait_time_from(clock.now());
            Err(Limited {
                budget,
                whose,
                per_minute: size.get(),
                retry_after_s: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            })
        }
    }
}

fn limiter(clock: &DefaultClock, size: NonZeroU32) -> Arc<Limiter> {
    Arc::new(
        RateLimiter::direct_with_clock(Quota::per_minute(size), clock.clone())
            .with_middleware::<StateInformationMiddleware>(),
    )
}

impl RateLimits {
    /// Budgets of the given default sizes.
    pub fn new(config: RateConfig) -> Self {
        Self {
            config,
            clock: DefaultClock::default(),
            limiters: Mutex::default(),
            tenants: Mutex::default(),
        }
    }

    /// Spends one request of the budget all of `tenant`'s keys share.
    pub fn check_tenant(&self, tenant: &TenantId, budget: Budget) -> Result<(), Limited> {
        let size = match budget {
            Budget::Reads => self.config.tenant_reads_per_minute,
            Budget::Writes => self.config.tenant_writes_per_minute,
        };
        let Some(size) = NonZeroU32::new(size) else {
            return Ok(());
        };
        let limiter = {
            let mut map = self
                .tenants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry((tenant.clone(), budget))
                .or_insert_with(|| limiter(&self.clock, size))
                .clone()
        };
        spend(&limiter, &self.clock, budget, Whose::Tenant, size).map(|_| ())
    }

    /// Spends one request of `key`'s `budget`; `per_minute` overrides the default size.
    /// `Ok(None)` when the budget is off.
    pub fn check(
        &self,
        key: KeyId,
        budget: Budget,
        per_minute: Option<u32>,
    ) -> Result<Option<Allowed>, Limited> {
        let default = match budget {
            Budget::Reads => self.config.reads_per_minute,
            Budget::Writes => self.config.writes_per_minute,
        };
        let Some(size) = NonZeroU32::new(per_minute.unwrap_or(default)) else {
            return Ok(None);
        };
        let limiter = {
            let mut map = self
                .limiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry((key, budget, size.get()))
                .or_insert_with(|| limiter(&self.clock, size))
                .clone()
        };
        spend(&limiter, &self.clock, budget, Whose::Key, size).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_let_through_then_refused_with_a_wait() {
        let limits = RateLimits::new(RateConfig {
            reads_per_minute: 3,
            writes_per_minute: 0,
            ..RateConfig::default()
        });
        let key = KeyId::new();
        for left in [2, 1, 0] {
            let allowed = limits.check(key, Budget::Reads, None);
            assert!(matches!(allowed, Ok(Some(a)) if a.remaining == left));
        }
        let refused = limits.check(key, Budget::Reads, None);
        let Err(limited) = refused else {
            panic!("the fourth read in a minute is refused")
        };
        assert!((1..=20).contains(&limited.retry_after_s), "{limited:?}");
        let mut headers = HeaderMap::new();
        limited.write_headers(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"reads\";q=3;w=60");
        assert!(
            headers["ratelimit"]
                .to_str()
                .is_ok_and(|v| v.starts_with("\"reads\";r=0;t="))
        );

        // Another key, and the writes budget (off), are untouched.
        assert!(limits.check(KeyId::new(), Budget::Reads, None).is_ok());
        assert!(matches!(limits.check(key, Budget::Writes, None), Ok(None)));
        // A per-key override gives its own budget.
        assert!(limits.check(key, Budget::Reads, Some(10)).is_ok());
    }

    #[test]
    fn a_tenants_keys_share_its_budget() {
        let limits = RateLimits::new(RateConfig {
            tenant_writes_per_minute: 2,
            ..RateConfig::default()
        });
        let (a, b) = (TenantId::default_tenant(), TenantId::parse("b").expect("b"));
        assert!(limits.check_tenant(&a, Budget::Writes).is_ok());
        assert!(limits.check_tenant(&a, Budget::Writes).is_ok());
        let refused = limits.check_tenant(&a, Budget::Writes);
        assert!(matches!(refused, Err(l) if l.whose == Whose::Tenant));
        assert!(limits.check_tenant(&b, Budget::Writes).is_ok());
        assert!(limits.check_tenant(&a, Budget::Reads).is_ok());
    }
}
