//! The price table: what each model charges per million tokens, for the calls whose
//! provider does not report a price itself. hone ships the list prices of common models
//! ([`Prices::defaults`], as published by their vendors in 2026); configuration adds models
//! and overrides any of them.
//!
//! A model is looked up by its exact name, then with a vendor prefix dropped
//! (`openai/gpt-4o` → `gpt-4o`, as OpenRouter names them), then by the longest listed name
//! it extends with a dash (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`): dated
//! snapshots cost what their family costs.

use std::collections::HashMap;

use hone_domain::{Price, Usage, Usd};

/// The metrics label of every model the table does not list.
pub const OTHER: &str = "other";

/// Model names and their prices.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    by_model: HashMap<String, Price>,
}

/// `(model, input, output, cache read, cache write)`, dollars per million tokens.
const DEFAULTS: &[(&str, f64, f64, f64, f64)] = &[
    // OpenAI: cached input is discounted, cache writes cost the input price.
    ("gpt-5", 1.25, 10.0, 0.125, 1.25),
    ("gpt-5-mini", 0.25, 2.0, 0.025, 0.25),
    ("gpt-5-nano", 0.05, 0.40, 0.005, 0.05),
    ("gpt-4.1", 2.0, 8.0, 0.50, 2.0),
    ("gpt-4.1-mini", 0.40, 1.60, 0.10, 0.40),
    ("gpt-4.1-nano", 0.10, 0.40, 0.025, 0.10),
    ("gpt-4o", 2.50, 10.0, 1.25, 2.50),
    ("gpt-4o-mini", 0.15, 0.60, 0.075, 0.15),
    ("o3", 2.0, 8.0, 0.50, 2.0),
    ("o4-mini", 1.10, 4.40, 0.275, 1.10),
    // Anthropic: cache reads at a tenth of the input price, five-minute cache writes at
    // a quarter more.
    ("claude-opus-4-5", 5.0, 25.0, 0.50, 6.25),
    ("claude-opus-4-1", 15.0, 75.0, 1.50, 18.75),
    ("claude-opus-4", 15.0, 75.0, 1.50, 18.75),
    ("claude-sonnet-4-5", 3.0, 15.0, 0.30, 3.75),
    ("claude-sonnet-4", 3.0, 15.0, 0.30, 3.75),
    ("claude-3-7-sonnet", 3.0, 15.0, 0.30, 3.75),
    ("claude-haiku-4-5", 1.0, 5.0, 0.10, 1.25),
    ("claude-3-5-haiku", 0.80, 4.0, 0.08, 1.0),
];

impl Prices {
    /// No prices: every call costs what its provider reports, or nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The shipped list prices of common OpenAI and Anthropic models.
    pub fn defaults() -> Self {
        let mut prices = Self::default();
        for &(model, input, output, cache_read, cache_write) in DEFAULTS {
            prices.insert(
                model,
                Price {
                    input,
                    output,
                    cache_read: Some(cache_read),
                    cache_write: Some(cache_write),
                },
            );
        }
        prices
    }

    /// Adds (or replaces) a model's price.
    pub fn insert(&mut self, model: impl Into<String>, price: Price) {
        self.by_model.insert(model.into(), price);
    }

    /// The price of `model`, if it is listed (see the module's lookup rules).
    pub fn get(&self, model: &str) -> Option<&Price> {
        self.entry(model).map(|(_, p)| p)
    }

    /// The listed name `model` is priced as (see the module's lookup rules), else `"other"`:
    /// the model label of metrics, which clients' model names can therefore never grow
    /// beyond the table's size plus one.
    pub fn label<'a>(&'a self, model: &str) -> &'a str {
        self.entry(model).map_or(OTHER, |(name, _)| name)
    }

    fn entry(&self, model: &str) -> Option<(&str, &Price)> {
        if let Some((name, p)) = self.by_model.get_key_value(model) {
            return Some((name, p));
        }
        let bare = model.rsplit_once('/').map_or(model, |(_, m)| m);
        if let Some((name, p)) = self.by_model.get_key_value(bare) {
            return Some((name, p));
        }
        self.by_model
            .iter()
            .filter(|(name, _)| {
                bare.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(name, p)| (name.as_str(), p))
    }

    /// What a call to `model` with `usage` cost: the provider's `reported` price when it
    /// gave one, else the table's, else nothing (the model is not listed).
    pub fn cost(&self, model: &str, usage: &Usage, reported: Option<Usd>) -> Usd {
        reported
            .or_else(|| self.get(model).map(|p| p.cost(usage)))
            .unwrap_or_default()
    }

    /// The listed model names, sorted.
    pub fn models(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_model.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_and_vendor_prefixes_find_their_family() {
        let p = Prices::defaults();
        let sonnet = p.get("claude-sonnet-4-5").copied();
        assert!(sonnet.is_some());
        assert_eq!(p.get("claude-sonnet-4-5-20250929").copied(), sonnet);
        assert_eq!(p.get("anthropic/claude-sonnet-4-5").copied(), sonnet);
        // The longest listed name wins: gpt-4o-mini is not priced as gpt-4o.
        assert_eq!(p.get("gpt-4o-mini-2024-07-18").map(|p| p.input), Some(0.15));
        assert_eq!(p.get("gpt-4o-2024-08-06").map(|p| p.input), Some(2.50));
        assert!(p.get("gpt-4").is_none(), "a shorter name is not a snapshot");
        assert!(p.get("llama3").is_none());
    }

    #[test]
    fn labels_are_listed_names_or_other() {
        let p = Prices::defaults();
        assert_eq!(p.label("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
        assert_eq!(p.label("openai/gpt-4o"), "gpt-4o");
        assert_eq!(p.label("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(p.label(&"x".repeat(200)), OTHER);
        assert_eq!(p.label("gpt-5-\u{7}made-up"), "gpt-5");
    }

    #[test]
    fn a_reported_price_wins_and_an_unlisted_model_costs_nothing() {
        let p = Prices::defaults();
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 1_000_000,
            total_tokens: 2_000_000,
            ..Usage::default()
        };
        assert_eq!(p.cost("gpt-4o-mini", &usage, None), Usd::from_dollars(0.75));
        assert_eq!(
            p.cost("gpt-4o-mini", &usage, Some(Usd::from_dollars(0.01))),
            Usd::from_dollars(0.01)
        );
        assert_eq!(p.cost("llama3", &usage, None), Usd::ZERO);
    }
}
