//! Money and what buys it: [`Usage`], the tokens and cost of model calls; [`Usd`], an amount
//! of US dollars held as whole picodollars (10⁻¹² USD), so that costs add up exactly call by
//! call, job by job and day by day (a float would drift); and [`Price`], what a model
//! charges per million tokens of each kind.
//!
//! On the wire an amount is a JSON number of dollars (`0.0123`); in the database, an integer
//! of picodollars. A picodollar is fine enough for the cheapest token ever priced (a few
//! nanodollars), and an `i64` of them holds over nine million dollars, more than any job
//! or tenant day will spend.

use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Picodollars in a dollar.
const PICOS: f64 = 1e12;

/// Token counts and cost of one model call, or summed over an attempt or a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens sent, the cached ones included.
    pub prompt_tokens: u64,
    /// Tokens generated, the reasoning ones included.
    pub completion_tokens: u64,
    /// Their sum, as the provider reported it.
    pub total_tokens: u64,
    /// Of the prompt tokens, those read from the provider's prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Of the prompt tokens, those written to the provider's prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Of the completion tokens, those spent reasoning (not in the answer).
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// What the calls cost: as the provider reported it, else from the price table (zero
    /// for a model with no price).
    #[serde(default)]
    pub cost_usd: Usd,
}

impl Usage {
    /// Adds another call's usage.
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// The largest dollar amount a budget or a quota may be set to: a job's `max_cost_usd`, a
/// tenant's daily spend quota.
pub const MAX_BUDGET_DOLLARS: f64 = 1_000_000.0;

/// An amount of US dollars, in picodollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(pub u64);

impl Usd {
    /// Nothing.
    pub const ZERO: Usd = Usd(0);

    /// The amount of `dollars`, rounded to the picodollar; negative or not a number is
    /// zero, beyond the range the largest amount.
    pub fn from_dollars(dollars: f64) -> Usd {
        let picos = (dollars * PICOS).round();
        if picos.is_nan() || picos <= 0.0 {
            Usd(0)
        } else if picos >= u64::MAX as f64 {
            Usd(u64::MAX)
        } else {
            Usd(picos as u64)
        }
    }

    /// The amount in dollars (exact to the picodollar up to about $9,000).
    pub fn dollars(self) -> f64 {
        self.0 as f64 / PICOS
    }

    /// The amount as the database's `BIGINT` of picodollars.
    pub fn picos_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// An amount read back from the database (a negative one is zero).
    pub fn from_picos_i64(picos: i64) -> Usd {
        Usd(u64::try_from(picos).unwrap_or(0))
    }

    /// `self` plus `other`, capped at the largest amount.
    pub fn saturating_add(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, other: Usd) -> Usd {
        self.saturating_add(other)
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, other: Usd) {
        *self = self.saturating_add(other);
    }
}

impl fmt::Display for Usd {
    /// `$0.001234`: dollars with six decimals, enough to tell calls apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.6}", self.dollars())
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.dollars())
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Usd::from_dollars)
    }
}

/// What a model charges, in dollars per million tokens of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Input tokens not read from the provider's prompt cache.
    pub input: f64,
    /// Output tokens, reasoning tokens included.
    pub output: f64,
    /// Input tokens read from the prompt cache (unset: the `input` price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache (unset: the `input` price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
}

impl Price {
    /// The cost of `usage` at this price: each kind of token times its price per token,
    /// each rounded to the picodollar, summed. `prompt_tokens` counts every input token,
    /// the cached ones included.
    pub fn cost(&self, usage: &Usage) -> Usd {
        let cached = usage
            .cache_read_tokens
            .saturating_add(usage.cache_write_tokens);
        let fresh = usage.prompt_tokens.saturating_sub(cached);
        let per_token = |per_million: f64| Usd::from_dollars(per_million / 1e6).0;
        let parts = [
            (fresh, per_token(self.input)),
            (
                usage.cache_read_tokens,
                per_token(self.cache_read.unwrap_or(self.input)),
            ),
            (
                usage.cache_write_tokens,
                per_token(self.cache_write.unwrap_or(self.input)),
            ),
            (usage.completion_tokens, per_token(self.output)),
        ];
        Usd(parts
            .iter()
            .fold(0u64, |sum, (n, p)| sum.saturating_add(n.saturating_mul(*p))))
    }

    /// Whether every price is a finite, non-negative number.
    pub fn is_valid(&self) -> bool {
        [self.input, self.output]
            .into_iter()
            .chain(self.cache_read)
            .chain(self.cache_write)
            .all(|p| p.is_finite() && p >= 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_to_the_picodollar_and_read_back_as_dollars() {
        assert_eq!(Usd::from_dollars(0.0123), Usd(12_300_000_000));
        assert_eq!(Usd::from_dollars(-1.0), Usd::ZERO);
        assert_eq!(Usd::from_dollars(f64::NAN), Usd::ZERO);
        assert_eq!(Usd::from_dollars(1e300), Usd(u64::MAX));
        assert!((Usd(12_300_000_000).dollars() - 0.0123).abs() < 1e-15);
        assert_eq!(Usd(1_234_000_000).to_string(), "$0.001234");
        let json = serde_json::to_string(&Usd::from_dollars(2.5)).unwrap_or_default();
        assert_eq!(json, "2.5");
        let back: Usd = serde_json::from_str("2.5").unwrap_or_default();
        assert_eq!(back, Usd::from_dollars(2.5));
    }

    #[test]
    fn a_cost_is_each_kind_of_token_times_its_price() {
        let price = Price {
            input: 3.0,
            output: 15.0,
            cache_read: Some(0.3),
            cache_write: Some(3.75),
        };
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 200,
            total_tokens: 1_200,
            cache_read_tokens: 600,
            cache_write_tokens: 100,
            ..Usage::default()
        };
        // 300 fresh × $3/M + 600 × $0.30/M + 100 × $3.75/M + 200 × $15/M
        let expected = 300.0 * 3.0 + 600.0 * 0.3 + 100.0 * 3.75 + 200.0 * 15.0;
        assert_eq!(price.cost(&usage), Usd::from_dollars(expected / 1e6));
        let plain = Price {
            input: 3.0,
            output: 15.0,
            ..Price::default()
        };
        assert_eq!(
            plain.cost(&usage),
            Usd::from_dollars((1_000.0 * 3.0 + 200.0 * 15.0) / 1e6)
        );
        assert!(
            !Price {
                input: -1.0,
                ..plain
            }
            .is_valid()
        );
        assert!(
            !Price {
                output: f64::INFINITY,
                ..plain
            }
            .is_valid()
        );
    }
}
