//! Duration histograms: a value's logarithmic bin (32 bins to an octave, every value its own
//! bin below 64 ms) and nearest-rank percentiles over bins.
//!
//! Each bin keeps the smallest value seen in it, and a percentile answers with that value of
//! the bin the rank falls in: a value some job really had, exact when the bin holds one
//! value, and otherwise below the exact nearest-rank answer by less than one bin's width
//! (1/32 of its octave, so under 3.2 %).

use std::collections::BTreeMap;

use hone_store::Percentiles;

/// Bits of a value kept below its leading one: 2^5 = 32 bins an octave.
const MANTISSA_BITS: u32 = 5;

/// The bin of `value` (milliseconds; negatives, from clock skew, count as 0). Bins are
/// ordered as their values are.
pub(crate) fn bin(value: i64) -> i64 {
    let v = u64::try_from(value).unwrap_or(0);
    let exact = 1u64 << (MANTISSA_BITS + 1);
    if v < exact {
        return v as i64;
    }
    // `v >= 64`, so its leading one is at bit `top >= 6`.
    let top = 63 - v.leading_zeros();
    let shift = top - MANTISSA_BITS;
    let mantissa = (v >> shift) & ((1 << MANTISSA_BITS) - 1);
    let octave = u64::from(shift);
    // Octave 1 (values 64..127) starts right after the exact values.
    (exact + ((octave - 1) << MANTISSA_BITS) + mantissa) as i64
}

/// A histogram being merged: bin to (smallest value, count).
#[derive(Debug, Default)]
pub(crate) struct Histogram(BTreeMap<i64, (i64, u64)>);

impl Histogram {
    /// Adds `n` values whose bin is `bin` and whose smallest is `lo`.
    pub(crate) fn add(&mut self, bin: i64, lo: i64, n: u64) {
        if n == 0 {
            return;
        }
        let e = self.0.entry(bin).or_insert((lo, 0));
        e.0 = e.0.min(lo);
        e.1 += n;
    }

    /// Adds one value.
    pub(crate) fn value(&mut self, v: i64) {
        self.add(bin(v), v.max(0), 1);
    }

    /// The count, the median and the 95th percentile (nearest rank).
    pub(crate) fn percentiles(&self) -> Percentiles {
        let count: u64 = self.0.values().map(|(_, n)| n).sum();
        Percentiles {
            count,
            p50: self.rank(count, 50),
            p95: self.rank(count, 95),
        }
    }

    /// The smallest value of the bin holding the value of rank ceil(count * pct / 100).
    fn rank(&self, count: u64, pct: u64) -> Option<u64> {
        if count == 0 {
            return None;
        }
        let rank = (count * pct).div_ceil(100).max(1);
        let mut seen = 0;
        for (lo, n) in self.0.values() {
            seen += n;
            if seen >= rank {
                return u64::try_from(*lo).ok();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_their_own_bins_and_larger_ones_stay_ordered() {
        for v in 0..64 {
            assert_eq!(bin(v), v);
        }
        assert_eq!(bin(64), 64);
        assert_eq!(bin(-5), 0);
        let mut last = bin(0);
        for v in (1..5_000_000).step_by(997) {
            let b = bin(v);
            assert!(b >= last, "bin({v}) = {b} after {last}");
            last = b;
        }
    }

    #[test]
    fn a_bin_is_narrower_than_a_thirty_second_of_its_values() {
        let mut first: BTreeMap<i64, i64> = BTreeMap::new();
        for v in (64..10_000_000).step_by(13) {
            let lo = *first.entry(bin(v)).or_insert(v);
            assert!((v - lo) * 32 < lo, "{v} shares a bin with {lo}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_and_exact_for_distinct_bins() {
        let mut h = Histogram::default();
        for v in [1_000, 2_000, 3_000, 4_000, 60_000] {
            h.value(v);
        }
        assert_eq!(
            h.percentiles(),
            Percentiles {
                count: 5,
                p50: Some(3_000),
                p95: Some(60_000),
            }
        );
        assert_eq!(Histogram::default().percentiles(), Percentiles::default());
    }

    #[test]
    fn merged_bins_keep_the_smallest_value() {
        let mut h = Histogram::default();
        h.add(bin(10_000), 10_050, 2);
        h.add(bin(10_000), 10_000, 1);
        assert_eq!(h.percentiles().p50, Some(10_000));
    }
}
