//! API keys and their scopes, as text: the key's format, its checksum, the hash that is the
//! only form ever stored, and the short prefix shown in listings. No randomness and no IO:
//! the caller supplies the key's 16 random bytes (from the OS).
//!
//! A key is `hone_`, then 22 base62 characters of entropy (128 bits, fixed width), then 6
//! base62 characters of a CRC-32 over everything before them: 33 characters. The prefix lets
//! secret scanners find leaked keys, the checksum lets them (and the API) reject a mistyped or
//! made-up key without a database lookup. Keys of that entropy need no slow hash: the stored
//! form is the key's SHA-256, looked up by index.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// What every key starts with.
pub const PREFIX: &str = "hone_";

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Base62 characters of a 128-bit value (62^22 > 2^128).
const ENTROPY_CHARS: usize = 22;
/// Base62 characters of a 32-bit checksum (62^6 > 2^32).
const CHECKSUM_CHARS: usize = 6;
/// The length of a key.
pub const KEY_LEN: usize = PREFIX.len() + ENTROPY_CHARS + CHECKSUM_CHARS;
/// Characters of a key shown in listings (the prefix and the first entropy characters):
/// enough to tell keys apart, far too few to guess the rest.
const SHOWN: usize = PREFIX.len() + 6;

/// `value` in base62, left-padded with `0` to `width` characters.
fn base62(mut value: u128, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        let digit = usize::try_from(value % 62).unwrap_or(0);
        *slot = ALPHABET[digit];
        value /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn checksum(body: &str) -> String {
    base62(u128::from(crc32fast::hash(body.as_bytes())), CHECKSUM_CHARS)
}

/// Formats a new key from 16 random bytes.
pub fn format_key(entropy: [u8; 16]) -> String {
    let body = format!(
        "{PREFIX}{}",
        base62(u128::from_be_bytes(entropy), ENTROPY_CHARS)
    );
    let sum = checksum(&body);
    format!("{body}{sum}")
}

/// Why a string is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// It does not start with `hone_`.
    #[error("an API key starts with `hone_`")]
    Prefix,
    /// It is not 33 characters long.
    #[error("an API key is {KEY_LEN} characters long")]
    Length,
    /// It holds a character outside `0-9A-Za-z` after the prefix.
    #[error("an API key holds only letters and digits after `hone_`")]
    Alphabet,
    /// Its checksum does not match: mistyped, truncated or made up.
    #[error("the API key's checksum does not match")]
    Checksum,
}

/// Checks a presented key's form and checksum; only a well-formed key is worth a lookup.
pub fn check(key: &str) -> Result<(), KeyFormatError> {
    let rest = key.strip_prefix(PREFIX).ok_or(KeyFormatError::Prefix)?;
    if key.len() != KEY_LEN {
        return Err(KeyFormatError::Length);
    }
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Alphabet);
    }
    let (body, sum) = key.split_at(KEY_LEN - CHECKSUM_CHARS);
    if checksum(body) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// The stored form of a key: its SHA-256, in hex.
pub fn hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// What a listing shows of a key: `hone_` and its first six characters.
pub fn shown_prefix(key: &str) -> &str {
    key.get(..SHOWN).unwrap_or(key)
}

/// What a key may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Scope {
    /// Read jobs, attempts, events, streams and webhook deliveries.
    #[serde(rename = "jobs:read")]
    JobsRead,
    /// Submit jobs (one or a batch) and cancel them.
    #[serde(rename = "jobs:write")]
    JobsWrite,
    /// Manage the tenant's keys and webhook secrets, and read its audit log.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Self; 3] = [Self::JobsRead, Self::JobsWrite, Self::Admin];

    /// The scope's name: `jobs:read`, `jobs:write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobsRead => "jobs:read",
            Self::JobsWrite => "jobs:write",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}; scopes are jobs:read, jobs:write and admin")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// Parses a comma-separated list of scopes (`jobs:read,jobs:write`), sorted and without
/// repeats; an empty list is an error, as a key that may do nothing is a mistake.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, UnknownScope> {
    let mut scopes = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Scope::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(UnknownScope(list.to_owned()));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formatted_key_checks_and_has_the_documented_shape() {
        for entropy in [[0u8; 16], [0xff; 16], *b"0123456789abcdef"] {
            let key = format_key(entropy);
            assert_eq!(key.len(), KEY_LEN);
            assert!(key.starts_with("hone_"));
            assert_eq!(check(&key), Ok(()));
        }
        // Distinct entropy, distinct keys; the all-ones value still fits 22 characters.
        assert_ne!(format_key([1; 16]), format_key([2; 16]));
        assert_eq!(base62(u128::MAX, ENTROPY_CHARS).len(), ENTROPY_CHARS);
    }

    #[test]
    fn mistyped_truncated_and_foreign_keys_are_refused_without_a_lookup() {
        let key = format_key(*b"0123456789abcdef");
        let mut typo = key.clone().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap_or_default();
        assert_eq!(check(&typo), Err(KeyFormatError::Checksum));
        assert_eq!(check(&key[..KEY_LEN - 1]), Err(KeyFormatError::Length));
        assert_eq!(check("ghp_abc"), Err(KeyFormatError::Prefix));
        let odd = format!("{}-{}", &key[..10], &key[11..]);
        assert_eq!(check(&odd), Err(KeyFormatError::Alphabet));
        assert_eq!(check(""), Err(KeyFormatError::Prefix));
        // Seven emoji are 28 bytes: the length matches, the alphabet does not (and the
        // checksum is never split inside a character).
        assert_eq!(check("hone_😀😀😀😀😀😀😀"), Err(KeyFormatError::Alphabet));
        assert_eq!(check("hone_😀"), Err(KeyFormatError::Length));
    }

    #[test]
    fn only_the_hash_and_a_short_prefix_leave_the_key() {
        let key = format_key([7; 16]);
        let stored = hash(&key);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&key[PREFIX.len()..]));
        assert_eq!(shown_prefix(&key).len(), 11);
        assert!(key.starts_with(shown_prefix(&key)));
        assert_eq!(shown_prefix("hone_"), "hone_");
    }

    #[test]
    fn scopes_parse_sorted_without_repeats() {
        assert_eq!(
            parse_scopes("admin, jobs:read,jobs:read"),
            Ok(vec![Scope::JobsRead, Scope::Admin])
        );
        assert!(parse_scopes("jobs:delete").is_err());
        assert!(parse_scopes(" , ").is_err());
        assert_eq!("jobs:write".parse(), Ok(Scope::JobsWrite));
        assert_eq!(Scope::Admin.to_string(), "admin");
    }
}
