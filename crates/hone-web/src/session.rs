//! Dashboard sessions: a signed, expiring cookie naming the API key that signed in, and the
//! guard against cross-site requests.
//!
//! The cookie is `v1.<SHA-256 of the key>.<expiry, unix seconds>.<HMAC-SHA256>`, HttpOnly,
//! `SameSite=Strict`, `Path=/`, and `Secure` when the request came over TLS (a proxy's
//! `X-Forwarded-Proto: https`). It never holds the key itself. Every request re-checks the
//! key it names, so revoking the key ends its sessions at once (within the key cache's
//! seconds), and a session never outlives its key's expiry.
//!
//! A state-changing form carries a CSRF token, the HMAC of the session cookie under a
//! different label, and its request must not come from another origin (`Origin` and
//! `Sec-Fetch-Site`). The signing secret is `HONE_SESSION_SECRET` when set (shared by every
//! API process behind one address), otherwise random per process.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use hone_domain::Timestamp;
use hone_domain::apikey::Scope;
use hone_store::KeyInfo;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::WebState;
use crate::page::{Layout, PageError};

/// The session cookie's name.
pub const COOKIE: &str = "hone_session";
/// How long a sign-in lasts at most.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The secret sessions are signed with.
pub struct SessionKey {
    secret: Vec<u8>,
}

impl SessionKey {
    /// From configuration: at least 32 bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, &'static str> {
        if secret.len() < 32 {
            return Err("the session secret must be at least 32 bytes");
        }
        Ok(Self {
            secret: secret.to_vec(),
        })
    }

    /// A random secret: sessions last until the process stops, in this process only.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self { secret })
    }

    fn mac(&self, label: &str, text: &str) -> String {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(label.as_bytes());
        mac.update(b"\0");
        mac.update(text.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The cookie value for a key (by its hash) that expires at `expires` (unix seconds).
    pub fn seal(&self, key_hash: &str, expires: i64) -> String {
        let body = format!("v1.{key_hash}.{expires}");
        let mac = self.mac("session", &body);
        format!("{body}.{mac}")
    }

    /// The key hash a cookie value names, if its signature holds and it has not expired.
    pub fn open(&self, value: &str, now: Timestamp) -> Option<String> {
        let (body, mac) = value.rsplit_once('.')?;
        let expected = self.mac("session", body);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(hash), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expires: i64 = expires.parse().ok()?;
        (now.as_millis() / 1000 < expires).then(|| hash.to_owned())
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, cookie: &str) -> String {
        self.mac("csrf", cookie)
    }
}

/// A signed-in request: the key, the cookie and the token its forms carry.
pub struct Session {
    /// The key that signed in, as stored.
    pub key: Arc<KeyInfo>,
    /// The token state-changing forms must send back.
    pub csrf: String,
}

impl Session {
    /// The layout of a signed-in page in section `nav` (`jobs`, `stats` or `keys`).
    pub fn layout(&self, nav: &'static str) -> Layout {
        Layout {
            nav,
            tenant: self.key.tenant.to_string(),
            key_name: self.key.name.clone(),
            admin: self.key.scopes.contains(&Scope::Admin),
            write: self.key.scopes.contains(&Scope::JobsWrite),
            csrf: self.csrf.clone(),
        }
    }
}

/// The session cookie's value in a request, if there is one.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<WebState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        // A page asked for by GET is where sign-in returns to.
        let back = || {
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let from = (parts.method == axum::http::Method::GET)
                .then(|| path.to_owned())
                .filter(|p| return_path(p).is_some());
            PageError::SignInFrom(from)
        };
        let value = cookie(&parts.headers).ok_or_else(back)?;
        let hash = state
            .sessions
            .open(value, Timestamp::now())
            .ok_or_else(back)?;
        let key = match state.api.auth.authenticate_hash(hash).await {
            Ok(key) => key,
            Err(hone_api::auth::Refusal::Store(e)) => return Err(PageError::Store(e)),
            Err(_) => return Err(back()),
        };
        let budget = hone_api::auth::Budget::of(&parts.method);
        let own = match budget {
            hone_api::auth::Budget::Reads => key.rates.reads_per_min,
            hone_api::auth::Budget::Writes => key.rates.writes_per_min,
        };
        if state.api.rate.check(key.id, budget, own).is_err() {
            return Err(PageError::RateLimited);
        }
        let csrf = state.sessions.csrf(value);
        Ok(Session { key, csrf })
    }
}

/// `path` if sign-in may return to it: a path of this site (`/jobs/…`), never another
/// origin (`//evil.example`, `/\\evil.example`, `https://…`), nor the sign-in page itself, nor
/// anything with control characters or a live stream.
pub fn return_path(path: &str) -> Option<&str> {
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
        && !path.starts_with("/sign-in")
        && !path.starts_with("/assets/")
        && !path.split('?').next().is_some_and(|p| p.ends_with("/live"));
    safe.then_some(path)
}

/// Whether a request comes from this dashboard's own pages: `Sec-Fetch-Site` (when the
/// browser sends it) is `same-origin` or `none`, and `Origin` (when sent) is the request's
/// own host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .is_none_or(|v| v == "same-origin" || v == "none");
    let origin_ok = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, rest)| rest.as_bytes() == host.as_bytes()),
        (Some(_), None) => false,
    };
    site_ok && origin_ok
}

/// Checks a state-changing form: same origin, and its token is the session's.
pub fn check_form(session: &Session, headers: &HeaderMap, token: &str) -> Result<(), PageError> {
    if !same_origin(headers) || !bool::from(session.csrf.as_bytes().ct_eq(token.as_bytes())) {
        return Err(PageError::CrossSite);
    }
    Ok(())
}

/// The `Set-Cookie` header that starts a session (`value`), or ends one (`None`).
pub fn set_cookie(value: Option<&str>, max_age: u64, headers: &HeaderMap) -> HeaderValue {
    let tls = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if tls { "; Secure" } else { "" };
    let text = match value {
        Some(v) => {
            format!("{COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    // Built from base64url, digits and fixed text only.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opens_only_with_its_signature_and_before_it_expires() {
        let key = SessionKey::from_secret(&[7u8; 32]).expect("key");
        let now = Timestamp::now();
        let expires = now.as_millis() / 1000 + 60;
        let value = key.seal("abc", expires);
        assert_eq!(key.open(&value, now).as_deref(), Some("abc"));
        assert_eq!(
            key.open(&value, Timestamp::from_millis((expires + 1) * 1000)),
            None
        );
        let forged = value.replacen("abc", "abd", 1);
        assert_eq!(key.open(&forged, now), None);
        let other = SessionKey::from_secret(&[8u8; 32]).expect("key");
        assert_eq!(other.open(&value, now), None);
        assert_eq!(key.open("v1.abc", now), None);
        assert!(SessionKey::from_secret(b"short").is_err());
        assert_ne!(key.csrf(&value), key.csrf(&forged));
    }

    #[test]
    fn only_same_origin_requests_change_state() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:9999"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h));
    }
}
