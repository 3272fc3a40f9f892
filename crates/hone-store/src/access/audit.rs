//! The audit log's types: who changed a tenant's keys or webhook secrets, when, and what.
//! Each entry is written in the same transaction as the change it records.

use std::fmt;

use hone_domain::{KeyId, TenantId, Timestamp};
use serde::{Serialize, Serializer};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A request made with this API key.
    Key(KeyId),
    /// The operator, through `hone keys` (straight in the database).
    Operator,
    /// The service itself, on its first start (the first admin key) or from
    /// `HONE_BOOTSTRAP_KEY`.
    Bootstrap,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(id) => write!(f, "key:{id}"),
            Self::Operator => f.write_str("operator"),
            Self::Bootstrap => f.write_str("bootstrap"),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuditAction {
    /// A key was made (`target`: its id).
    #[serde(rename = "key.created")]
    KeyCreated,
    /// A key was revoked (`target`: its id).
    #[serde(rename = "key.revoked")]
    KeyRevoked,
    /// A key's own rate budgets were set (`target`: its id).
    #[serde(rename = "key.rates_set")]
    KeyRatesSet,
    /// The webhook signing secret was rotated (`target`: the tenant).
    #[serde(rename = "webhook_secret.rotated")]
    SecretRotated,
}

impl AuditAction {
    /// Its stored name, the same as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCreated => "key.created",
            Self::KeyRevoked => "key.revoked",
            Self::KeyRatesSet => "key.rates_set",
            Self::SecretRotated => "webhook_secret.rotated",
        }
    }

    /// The action of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::KeyCreated,
            Self::KeyRevoked,
            Self::KeyRatesSet,
            Self::SecretRotated,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its id (UUID v7: entries sort by time).
    pub id: uuid::Uuid,
    /// The tenant whose keys or secrets changed.
    #[serde(skip)]
    pub tenant: TenantId,
    /// When.
    pub at: Timestamp,
    /// Who: `key:<id>`, `operator` or `bootstrap`.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// What it was done to: a key id, or the tenant.
    pub target: String,
    /// The change's particulars (a key's name, scopes and expiry; a rotation's overlap).
    pub detail: serde_json::Value,
}

/// A page of [`crate::Access::list_audit`], newest first.
#[derive(Debug, Clone, Copy)]
pub struct AuditPage {
    /// Only entries older than this one (the previous page's last id).
    pub before: Option<uuid::Uuid>,
    /// At most this many.
    pub limit: u32,
}
