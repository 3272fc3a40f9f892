//! Identifier newtypes, so a job id can never be passed where a tenant id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A UUID v7 id newtype: time-ordered, shown hyphenated, parsed from any UUID form.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A job's id: a UUID v7, so ids sort by creation time (the list endpoint relies on it).
    JobId
);

uuid_id!(
    /// An API key's id: what listings, revocation and the audit log name a key by (the key
    /// itself is never stored).
    KeyId
);

/// The tenant that owns a job. Every row carries one so that authentication can scope queries
/// without a schema change; a tenant exists once an API key names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub String);

impl TenantId {
    /// The tenant of the first run's admin key.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }

    /// A tenant name an operator typed: 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`, starting with
    /// a letter or digit, so it is safe in logs, URLs and file names.
    pub fn parse(name: &str) -> Result<Self, &'static str> {
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        let first_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if (1..=64).contains(&name.len()) && first_ok && name.chars().all(ok_char) {
            Ok(Self(name.to_owned()))
        } else {
            Err("a tenant is 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
        }
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
