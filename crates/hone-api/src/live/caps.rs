//! How many live streams may be open: per key, per tenant and in the whole process. Every SSE
//! stream (the API's and the dashboard's) holds a [`StreamPermit`] for as long as it is open;
//! one that would pass a cap is refused before anything is read. The process-wide cap stays
//! below the connection cap, so streams can never take the connections that probes and
//! ordinary requests need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use hone_domain::{KeyId, TenantId};

/// The caps on open streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCaps {
    /// Streams one API key may hold open.
    pub per_key: usize,
    /// Streams all of one tenant's keys may hold open together.
    pub per_tenant: usize,
    /// Streams the process holds open for everyone.
    pub total: usize,
}

impl Default for StreamCaps {
    fn default() -> Self {
        Self {
            per_key: 32,
            per_tenant: 128,
            total: 512,
        }
    }
}

/// Which cap a refused stream would have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    /// The key's (`HONE_MAX_STREAMS_PER_KEY`).
    Key(usize),
    /// The tenant's (`HONE_MAX_STREAMS_PER_TENANT`).
    Tenant(usize),
    /// The process's (`HONE_MAX_STREAMS`).
    Process(usize),
}

impl StreamRefusal {
    /// A sentence for the problem document: which cap, and what to do.
    pub fn detail(self) -> String {
        match self {
            Self::Key(n) => format!(
                "this key has {n} live streams open, its most (HONE_MAX_STREAMS_PER_KEY): \
                 close one first"
            ),
            Self::Tenant(n) => format!(
                "the tenant's keys have {n} live streams open, its most \
                 (HONE_MAX_STREAMS_PER_TENANT): close one first"
            ),
            Self::Process(n) => format!(
                "the service has {n} live streams open, its most (HONE_MAX_STREAMS): try \
                 again later"
            ),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_key: HashMap<KeyId, usize>,
    by_tenant: HashMap<TenantId, usize>,
}

/// The open streams, counted. Cheap to clone.
#[derive(Clone)]
pub struct Streams {
    caps: StreamCaps,
    counts: Arc<Mutex<Counts>>,
}

impl Streams {
    /// No stream open yet.
    pub fn new(caps: StreamCaps) -> Self {
        Self {
            caps,
            counts: Arc::default(),
        }
    }

    /// The caps in force.
    pub fn caps(&self) -> StreamCaps {
        self.caps
    }

    /// A permit for one more stream of `key` (of `tenant`), or the cap it would pass.
    pub fn open(&self, key: KeyId, tenant: &TenantId) -> Result<StreamPermit, StreamRefusal> {
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let of_key = c.by_key.get(&key).copied().unwrap_or(0);
        let of_tenant = c.by_tenant.get(tenant).copied().unwrap_or(0);
        if of_key >= self.caps.per_key {
            return Err(StreamRefusal::Key(self.caps.per_key));
        }
        if of_tenant >= self.caps.per_tenant {
            return Err(StreamRefusal::Tenant(self.caps.per_tenant));
        }
        if c.total >= self.caps.total {
            return Err(StreamRefusal::Process(self.caps.total));
        }
        c.total += 1;
        *c.by_key.entry(key).or_default() += 1;
        *c.by_tenant.entry(tenant.clone()).or_default() += 1;
        Ok(StreamPermit {
            counts: self.counts.clone(),
            key,
            tenant: tenant.clone(),
        })
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// One open stream; dropping it (the stream ended or its client left) frees its place.
pub struct StreamPermit {
    counts: Arc<Mutex<Counts>>,
    key: KeyId,
    tenant: TenantId,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_key.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.by_key.remove(&self.key);
            }
        }
        if let Some(n) = c.by_tenant.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                c.by_tenant.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyId {
        KeyId::new()
    }

    #[test]
    fn each_cap_refuses_the_stream_that_would_pass_it_and_a_closed_stream_frees_its_place() {
        let streams = Streams::new(StreamCaps {
            per_key: 2,
            per_tenant: 3,
            total: 4,
        });
        let (a, b) = (
            TenantId::default_tenant(),
            TenantId::parse("other").expect("id"),
        );
        let k1 = key();
        let first = streams.open(k1, &a).expect("first");
        let _second = streams.open(k1, &a).expect("second");
        assert_eq!(streams.open(k1, &a).err(), Some(StreamRefusal::Key(2)));
        let k2 = key();
        let _third = streams.open(k2, &a).expect("another key");
        assert_eq!(streams.open(k2, &a).err(), Some(StreamRefusal::Tenant(3)));
        let _fourth = streams.open(key(), &b).expect("another tenant");
        assert_eq!(
            streams.open(key(), &b).err(),
            Some(StreamRefusal::Process(4))
        );
        drop(first);
        assert_eq!(streams.open_now(), 3);
        assert!(streams.open(k1, &a).is_ok());
    }
}
