//! Checking a presented key: its format first (a mistyped or made-up key costs no lookup),
//! then its SHA-256 in the store, then expiry and revocation. Keys found are kept for a few
//! seconds, so a busy client costs no query per request; revoking through this process's API
//! takes effect at once, revoking elsewhere (the CLI, another API process) within
//! [`CACHE_TTL`]. When each key was last used is gathered here and written in one batch by
//! [`Authenticator::flush_usage`], never one write per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use hone_domain::{KeyId, Timestamp, apikey};
use hone_store::{KeyInfo, Store, StoreError};

/// How long a key found in the store is trusted without asking again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// The most keys kept; beyond it the cache starts over (it refills on demand).
const CACHE_MAX: usize = 10_000;

/// Why a request has no identity.
#[derive(Debug)]
pub enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer hone_…`, or a key whose checksum fails.
    Malformed,
    /// A well-formed key the store does not know.
    Unknown,
    /// The key has expired.
    Expired,
    /// The key was revoked.
    Revoked,
    /// The store could not be asked.
    Store(StoreError),
}

impl Refusal {
    /// What the 401 says.
    pub fn detail(&self) -> &'static str {
        match self {
            Self::Missing => "send an API key: Authorization: Bearer hone_…",
            Self::Malformed => {
                "the Authorization header is not `Bearer` and a well-formed hone_ key"
            }
            Self::Unknown => "the API key is not known",
            Self::Expired => "the API key has expired",
            Self::Revoked => "the API key was revoked",
            Self::Store(_) => "the key could not be checked",
        }
    }
}

struct Cached {
    key: Arc<KeyInfo>,
    fetched: Instant,
}

/// Checks keys against the store, with a short cache, and gathers their last use.
pub struct Authenticator {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<String, Cached>>,
    used: Mutex<HashMap<KeyId, Timestamp>>,
}

/// The key of an `Authorization: Bearer <key>` header, if it is one (the scheme is
/// case-insensitive, as HTTP says).
fn bearer(header: &HeaderValue) -> Option<&str> {
    let value = header.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

impl Authenticator {
    /// An authenticator over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Mutex::default(),
            used: Mutex::default(),
        }
    }

    /// The usable key an `Authorization` header carries.
    pub async fn authenticate(
        &self,
        header: Option<&HeaderValue>,
    ) -> Result<Arc<KeyInfo>, Refusal> {
        let header = header.ok_or(Refusal::Missing)?;
        let key = bearer(header).ok_or(Refusal::Malformed)?;
        self.authenticate_key(key).await
    }

    /// The usable key `key` is (a sign-in form's, say).
    pub async fn authenticate_key(&self, key: &str) -> Result<Arc<KeyInfo>, Refusal> {
        apikey::check(key).map_err(|_| Refusal::Malformed)?;
        self.authenticate_hash(apikey::hash(key)).await
    }

    /// The usable key whose SHA-256 is `hash` (a dashboard session names its key so).
    pub async fn authenticate_hash(&self, hash: String) -> Result<Arc<KeyInfo>, Refusal> {
        let info = match self.cached(&hash) {
            Some(info) => info,
            None => {
                let info = Arc::new(
                    self.store
                        .find_key(&hash)
                        .await
                        .map_err(Refusal::Store)?
                        .ok_or(Refusal::Unknown)?,
                );
                self.remember(hash, info.clone());
                info
            }
        };
        let now = Timestamp::now();
        if info.revoked_at.is_some() {
            return Err(Refusal::Revoked);
        }
        if !info.usable_at(now) {
            return Err(Refusal::Expired);
        }
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(info.id, now);
        Ok(info)
    }

    fn cached(&self, hash: &str) -> Option<Arc<KeyInfo>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(hash)
            .filter(|c| c.fetched.elapsed() < CACHE_TTL)
            .map(|c| c.key.clone())
    }

    fn remember(&self, hash: String, key: Arc<KeyInfo>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            hash,
            Cached {
                key,
                fetched: Instant::now(),
            },
        );
    }

    /// Drops a key from the cache (it was just revoked through this process).
    pub fn forget(&self, id: KeyId) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, c| c.key.id != id);
    }

    /// Writes the last-use times gathered since the last flush, in one transaction. On a
    /// store error they are put back for the next flush.
    pub async fn flush_usage(&self) -> Result<(), StoreError> {
        let batch: Vec<(KeyId, Timestamp)> =
            std::mem::take(&mut *self.used.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        if let Err(e) = self.store.touch_keys(&batch).await {
            let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
            for (id, at) in batch {
                used.entry(id).or_insert(at);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Flushes last-use times every `every` until `stop` resolves, then once more.
    pub async fn record_usage(self: Arc<Self>, every: Duration, stop: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = &mut stop => break,
            }
            if let Err(e) = self.flush_usage().await {
                tracing::warn!(error = %e, "could not record when API keys were last used");
            }
        }
        if let Err(e) = self.flush_usage().await {
            tracing::warn!(error = %e, "could not record when API keys were last used");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;
    use axum::http::HeaderValue;

    #[test]
    fn only_bearer_headers_carry_a_key() {
        let key = |v: &'static str| bearer(&HeaderValue::from_static(v)).map(str::to_owned);
        assert_eq!(key("Bearer hone_x").as_deref(), Some("hone_x"));
        assert_eq!(key("bearer  hone_x ").as_deref(), Some("hone_x"));
        assert_eq!(key("Basic aG9uZQ=="), None);
        assert_eq!(key("Bearer "), None);
        assert_eq!(key("hone_x"), None);
    }
}
