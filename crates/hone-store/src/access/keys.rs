//! The API keys' types: a key to store, its own rate budgets, and a stored key as listings
//! and authentication see it (never the key, never its hash).

use hone_domain::apikey::Scope;
use hone_domain::{KeyId, TenantId, Timestamp};

/// A key to store ([`crate::Access::create_key`]); the key itself is not part of it.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Its id.
    pub id: KeyId,
    /// Its tenant (created if it does not exist yet).
    pub tenant: TenantId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The key's SHA-256 (`hone_domain::apikey::hash`).
    pub hash: String,
    /// What listings show of it (`hone_domain::apikey::shown_prefix`).
    pub prefix: String,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// Who made it (the audit log names them).
    pub created_by: crate::Actor,
    /// Its own rate budgets, if not the server's.
    pub rates: KeyRates,
}

/// A key's own rate budgets, in requests a minute: `None` keeps the server's default, `0`
/// turns the budget off for the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyRates {
    /// `GET` requests a minute.
    pub reads_per_min: Option<u32>,
    /// Other requests a minute.
    pub writes_per_min: Option<u32>,
}

/// A stored key, as listings and authentication see it: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// Its id.
    pub id: KeyId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Its first characters (`hone_` and six more).
    pub prefix: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used, as last recorded.
    pub last_used_at: Option<Timestamp>,
    /// Its own rate budgets, if not the server's.
    #[serde(flatten)]
    pub rates: KeyRates,
}

impl KeyInfo {
    /// Whether the key works at `now`: not revoked, not expired.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
