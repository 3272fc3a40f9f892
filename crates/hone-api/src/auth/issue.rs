//! Making new keys, the same way for `POST /v1/keys` and `hone keys create`: 128 bits from
//! the operating system's random source, the name and lifetime checked, and only the hash and
//! the listing prefix handed to the store. The key itself is returned once, to be shown once.

use std::time::Duration;

use hone_domain::apikey::{self, Scope};
use hone_domain::{KeyId, TenantId, Timestamp};
use hone_store::{Actor, KeyRates, NewKey};

/// The longest a key may live: ten years.
pub const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A key to make.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    /// Its tenant.
    pub tenant: TenantId,
    /// A label for people: 1 to 100 characters, no control characters.
    pub name: String,
    /// What it may do: at least one scope.
    pub scopes: Vec<Scope>,
    /// How long it works, if not forever (at most [`MAX_LIFETIME`]).
    pub expires_in: Option<Duration>,
    /// Who asks (the audit log names them).
    pub by: Actor,
}

/// A made key: the key, shown once, and what the store keeps of it.
pub struct Issued {
    /// The key itself (`hone_…`).
    pub key: String,
    /// Its stored form.
    pub stored: NewKey,
}

/// Why a key cannot be made, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field (`name`, `scopes`, `expires_in_s`).
    pub field: &'static str,
    /// What is wrong.
    pub message: &'static str,
}

/// Checks a name: 1 to 100 characters, no control characters (so logs and terminals show
/// it as it is).
pub fn check_name(name: &str) -> Result<(), Invalid> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Invalid {
            field: "name",
            message: "must be 1 to 100 characters without control characters",
        });
    }
    Ok(())
}

/// Checks a lifetime: 1 s to [`MAX_LIFETIME`].
pub fn check_lifetime(lifetime: Duration) -> Result<(), Invalid> {
    if lifetime.is_zero() || lifetime > MAX_LIFETIME {
        return Err(Invalid {
            field: "expires_in_s",
            message: "must be 1 s to 10 years",
        });
    }
    Ok(())
}

/// Makes a key for `request`, created at `now`.
pub fn issue(request: KeyRequest, now: Timestamp) -> Result<Issued, Invalid> {
    check_name(&request.name)?;
    request.expires_in.map(check_lifetime).transpose()?;
    if request.scopes.is_empty() {
        return Err(Invalid {
            field: "scopes",
            message: "must name at least one of jobs:read, jobs:write, admin",
        });
    }
    let expires_at = request.expires_in.map(|d| {
        Timestamp::from_millis(
            now.as_millis()
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    });
    let mut entropy = [0u8; 16];
    getrandom::fill(&mut entropy).map_err(|_| Invalid {
        field: "key",
        message: "the operating system's random source failed",
    })?;
    let key = apikey::format_key(entropy);
    let mut scopes = request.scopes;
    scopes.sort_unstable();
    scopes.dedup();
    let stored = NewKey {
        id: KeyId::new(),
        tenant: request.tenant,
        name: request.name,
        scopes,
        hash: apikey::hash(&key),
        prefix: apikey::shown_prefix(&key).to_owned(),
        expires_at,
        created_by: request.by,
        rates: KeyRates::default(),
    };
    Ok(Issued { key, stored })
}

/// What the store keeps of a key the operator chose (`HONE_BOOTSTRAP_KEY`): an admin key of
/// the `default` tenant with every scope.
pub fn bootstrap(key: &str) -> Result<NewKey, apikey::KeyFormatError> {
    apikey::check(key)?;
    Ok(NewKey {
        id: KeyId::new(),
        tenant: TenantId::default_tenant(),
        name: "bootstrap admin".to_owned(),
        scopes: Scope::ALL.to_vec(),
        hash: apikey::hash(key),
        prefix: apikey::shown_prefix(key).to_owned(),
        expires_at: None,
        created_by: Actor::Bootstrap,
        rates: KeyRates::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, scopes: Vec<Scope>, expires_in: Option<Duration>) -> KeyRequest {
        KeyRequest {
            tenant: TenantId::default_tenant(),
            name: name.to_owned(),
            scopes,
            expires_in,
            by: Actor::Operator,
        }
    }

    #[test]
    fn an_issued_key_checks_and_only_its_hash_is_stored() {
        let now = Timestamp::from_millis(1_000);
        let issued = issue(
            request(
                "ci 🚀",
                vec![Scope::JobsWrite, Scope::JobsRead, Scope::JobsWrite],
                Some(Duration::from_secs(60)),
            ),
            now,
        )
        .expect("issued");
        assert_eq!(apikey::check(&issued.key), Ok(()));
        assert_eq!(issued.stored.hash, apikey::hash(&issued.key));
        assert_ne!(issued.stored.hash, issued.key);
        assert_eq!(
            issued.stored.scopes,
            vec![Scope::JobsRead, Scope::JobsWrite]
        );
        assert_eq!(
            issued.stored.expires_at,
            Some(Timestamp::from_millis(61_000))
        );
    }

    #[test]
    fn bad_names_scopes_and_lifetimes_name_their_field() {
        let now = Timestamp::from_millis(0);
        let field = |r| issue(r, now).err().map(|e| e.field);
        assert_eq!(field(request("", vec![Scope::Admin], None)), Some("name"));
        assert_eq!(
            field(request("a\0b", vec![Scope::Admin], None)),
            Some("name")
        );
        assert_eq!(
            field(request(&"x".repeat(101), vec![Scope::Admin], None)),
            Some("name")
        );
        assert_eq!(field(request("ok", vec![], None)), Some("scopes"));
        assert_eq!(
            field(request("ok", vec![Scope::Admin], Some(Duration::ZERO))),
            Some("expires_in_s")
        );
        assert_eq!(
            field(request(
                "ok",
                vec![Scope::Admin],
                Some(MAX_LIFETIME + Duration::from_secs(1))
            )),
            Some("expires_in_s")
        );
    }
}
