//! The process's resident memory while something runs: `VmRSS` sampled every 10 ms, the
//! figure before and the most seen. The servers the benchmarks start run in this process,
//! so this is the server's memory (plus the client's, which reads and drops).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// This process's resident memory in KiB (`VmRSS`).
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resident memory before a run and at its most, in KiB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resident {
    pub before: u64,
    pub peak: u64,
}

impl Resident {
    /// What the run added at its most, in MiB.
    pub fn grew_mib(self) -> f64 {
        self.peak.saturating_sub(self.before) as f64 / 1024.0
    }
}

/// Runs `work`, sampling the resident memory meanwhile.
pub(crate) async fn during<T>(work: impl Future<Output = T>) -> (T, Resident) {
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let out = work.await;
    peak.fetch_max(rss_kib(), Ordering::Relaxed);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let peak = peak.load(Ordering::Relaxed);
    (out, Resident { before, peak })
}
