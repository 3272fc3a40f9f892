//! Instants in time: millisecond precision, stored as integers, shown as RFC 3339.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with millisecond precision. Both stores keep it as unix milliseconds
/// (`BIGINT`), which sorts and compares the same way on SQLite and Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self(i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX))
    }

    /// From unix milliseconds, as stored.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Unix milliseconds, as stored.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0)
    }

    /// RFC 3339 text in UTC with exactly three fraction digits, e.g.
    /// `2026-01-01T00:00:00.120Z`: every time the service writes has the same width (the
    /// `Rfc3339` formatter drops trailing zeros, so times varied between 20 and 24 bytes).
    pub fn to_rfc3339(self) -> String {
        const FIXED: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .filter(|t| (0..=9999).contains(&t.year()))
            .and_then(|t| t.format(FIXED).ok())
            .unwrap_or_default()
    }

    /// Parses RFC 3339 text (used by query filters).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Self)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s).ok_or_else(|| serde::de::Error::custom("invalid RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        let t = Timestamp::from_millis(1_767_225_600_123);
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        // Always three fraction digits, trailing zeros kept.
        assert_eq!(
            Timestamp::from_millis(1_767_225_600_120).to_rfc3339(),
            "2026-01-01T00:00:00.120Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_767_225_600_000).to_rfc3339(),
            "2026-01-01T00:00:00.000Z"
        );
    }
}
