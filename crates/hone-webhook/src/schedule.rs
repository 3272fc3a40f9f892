//! When to try a delivery again: the Standard Webhooks schedule (immediately, 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h, 10 h), each delay with ±10% jitter so that receivers coming back
//! from an outage are not hit by every retry at once. A receiver's `Retry-After` (on 429 or
//! 503) lengthens the wait, never shortens it, and never adds tries.

use std::time::Duration;

/// The delays before each try, the first try included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    delays: Vec<Duration>,
}

/// The longest wait a `Retry-After` may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Default for Schedule {
    fn default() -> Self {
        let s = Duration::from_secs;
        Self {
            delays: vec![
                s(0),
                s(5),
                s(5 * 60),
                s(30 * 60),
                s(2 * 3600),
                s(5 * 3600),
                s(10 * 3600),
                s(10 * 3600),
            ],
        }
    }
}

impl Schedule {
    /// A custom schedule (the first entry is the first try's delay, normally zero).
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// Parses a comma-separated list of delays: `0,5s,5m,30m,2h` (plain numbers are ms).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut delays = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (num, unit) = part
                .find(|c: char| !c.is_ascii_digit())
                .map_or((part, "ms"), |i| part.split_at(i));
            let n: u64 = num.parse().map_err(|_| format!("bad delay {part:?}"))?;
            let d = match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                _ => return Err(format!("bad unit in {part:?}: use ms, s, m or h")),
            };
            delays.push(d);
        }
        if delays.is_empty() {
            return Err("the schedule needs at least one delay".into());
        }
        Ok(Self { delays })
    }

    /// How many tries in all.
    pub fn tries(&self) -> usize {
        self.delays.len()
    }

    /// The wait before the next try after `done` tries, or `None` when the schedule is spent.
    pub fn next_delay(&self, done: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.delays.get(usize::try_from(done).ok()?)?;
        let jittered = jitter(base);
        Some(match retry_after {
            Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER)),
            None => jittered,
        })
    }
}

fn jitter(base: Duration) -> Duration {
    if base.is_zero() {
        return base;
    }
    // 0.9 to 1.1, from 32 random bits (a failing OS source means no jitter, not no retry).
    let r = f64::from(getrandom::u32().unwrap_or(u32::MAX / 2)) / f64::from(u32::MAX);
    base.mul_f64(0.9 + 0.2 * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schedule_has_eight_tries_with_bounded_jitter() {
        let s = Schedule::default();
        assert_eq!(s.tries(), 8);
        let d = s.next_delay(2, None).unwrap_or_default();
        assert!(
            d >= Duration::from_secs(270) && d <= Duration::from_secs(330),
            "{d:?}"
        );
        assert_eq!(s.next_delay(8, None), None);
    }

    #[test]
    fn retry_after_lengthens_but_never_shortens() {
        let s = Schedule::default();
        let long = s
            .next_delay(1, Some(Duration::from_secs(60)))
            .unwrap_or_default();
        assert_eq!(long, Duration::from_secs(60));
        let short = s
            .next_delay(2, Some(Duration::from_secs(1)))
            .unwrap_or_default();
        assert!(short >= Duration::from_secs(270));
    }

    #[test]
    fn parses_units() {
        let s = Schedule::parse("0, 200ms, 1s, 2m, 1h").unwrap_or_default();
        assert_eq!(s.tries(), 5);
        let d = s.next_delay(3, None).unwrap_or_default();
        assert!(
            d >= Duration::from_secs(108) && d <= Duration::from_secs(132),
            "{d:?}"
        );
        assert!(Schedule::parse("5x").is_err());
        assert!(Schedule::parse("").is_err());
    }
}
