//! Redaction of exported records: every string of a record is searched for the job's
//! webhook URL, hone API keys, and the patterns the operator marks sensitive (configured in
//! `hone.toml`, for example other services' key formats); each match becomes
//! `[REDACTED:<rule>]`, and the record names the rules that matched.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;

/// The rule name that stands for the job's webhook URL.
pub const WEBHOOK_URL: &str = "webhook_url";

/// The built-in rule for hone's own API keys (`hone_` and 28 base62 characters).
const HONE_KEY: (&str, &str) = ("hone_api_key", r"hone_[0-9A-Za-z]{28}");

/// A pattern that is not a regular expression, named by its rule.
#[derive(Debug, thiserror::Error)]
#[error("redaction rule {name:?}: {source}")]
pub struct BadRule {
    /// The rule's name.
    pub name: String,
    /// Why the pattern does not compile.
    #[source]
    pub source: regex::Error,
}

/// The redaction rules of every export.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<(String, Regex)>,
}

impl Default for Redactor {
    /// The built-in rules only.
    fn default() -> Self {
        Self::new(std::iter::empty()).unwrap_or_else(|_| Self { rules: Vec::new() })
    }
}

impl Redactor {
    /// The built-in rules and the operator's `(name, pattern)` rules.
    pub fn new(operator: impl IntoIterator<Item = (String, String)>) -> Result<Self, BadRule> {
        let builtin = std::iter::once((HONE_KEY.0.to_owned(), HONE_KEY.1.to_owned()));
        let rules = builtin
            .chain(operator)
            .map(|(name, pattern)| match Regex::new(&pattern) {
                Ok(re) => Ok((name, re)),
                Err(source) => Err(BadRule { name, source }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The names of the rules, built-in first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(n, _)| n.as_str())
    }

    /// Redacts every string in `record` (object keys are left alone: they are the format's
    /// own). `webhook_url` is the job's, if it has one: it is found whatever its letters'
    /// case, and so are the secrets it carries (path segments and query values of 16 or more
    /// characters) standing alone. Returns the rules that matched.
    pub fn redact(&self, record: &mut Value, webhook_url: Option<&str>) -> BTreeSet<String> {
        let mut hit = BTreeSet::new();
        let url = webhook_url.filter(|u| !u.is_empty()).and_then(url_pattern);
        self.walk(record, url.as_ref(), &mut hit);
        hit
    }

    fn walk(&self, value: &mut Value, url: Option<&Regex>, hit: &mut BTreeSet<String>) {
        match value {
            Value::String(text) => self.text(text, url, hit),
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v, url, hit)),
            Value::Object(map) => map.values_mut().for_each(|v| self.walk(v, url, hit)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn text(&self, text: &mut String, url: Option<&Regex>, hit: &mut BTreeSet<String>) {
        if let Some(url) = url
            && url.is_match(text)
        {
            let marked = format!("[REDACTED:{WEBHOOK_URL}]");
            *text = url.replace_all(text, marked.as_str()).into_owned();
            hit.insert(WEBHOOK_URL.to_owned());
        }
        for (name, re) in &self.rules {
            if re.is_match(text) {
                *text = re
                    .replace_all(text, format!("[REDACTED:{name}]").as_str())
                    .into_owned();
                hit.insert(name.clone());
            }
        }
    }
}

/// The pattern of a webhook URL: the whole URL in any case, or one of its secrets (a path
/// segment or query value of 16 or more characters) alone, as written.
fn url_pattern(url: &str) -> Option<Regex> {
    let mut parts = vec![format!("(?i:{})", regex::escape(url))];
    if let Ok(parsed) = url::Url::parse(url) {
        let segments = parsed
            .path_segments()
            .into_iter()
            .flatten()
            .map(str::to_owned);
        let values = parsed.query_pairs().map(|(_, v)| v.into_owned());
        for token in segments.chain(values).filter(|t| t.len() >= 16) {
            parts.push(regex::escape(&token));
        }
    }
    Regex::new(&parts.join("|")).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_string_is_searched_and_the_matching_rules_are_named() {
        let rules = [("aws_key".to_owned(), r"AKIA[0-9A-Z]{16}".to_owned())];
        let redactor = Redactor::new(rules).unwrap();
        let key = format!("hone_{}", "a".repeat(28));
        let mut record = json!({
            "task": "post to https://hooks.example/x?t=1 with AKIAABCDEFGHIJKLMNOP",
            "messages": [{"role": "user", "content": format!("key {key}")}],
            "n": 3,
        });
        let hit = redactor.redact(&mut record, Some("https://hooks.example/x?t=1"));
        assert_eq!(
            hit.into_iter().collect::<Vec<_>>(),
            ["aws_key", "hone_api_key", "webhook_url"]
        );
        assert_eq!(
            record["task"],
            "post to [REDACTED:webhook_url] with [REDACTED:aws_key]"
        );
        assert_eq!(
            record["messages"][0]["content"],
            "key [REDACTED:hone_api_key]"
        );
        assert_eq!(record["messages"][0]["role"], "user");
        let mut clean = json!({"task": "nothing here"});
        assert!(redactor.redact(&mut clean, None).is_empty());
    }

    #[test]
    fn a_webhook_url_is_found_in_any_case_and_its_secrets_alone() {
        let redactor = Redactor::default();
        let url = "https://hooks.example/services/T0A1B2C3D4E5F6G7H8/in?token=zq9Xv8Wt7Us6Rr5Qp4";
        let mut record = json!({
            "a": "POST HTTPS://HOOKS.EXAMPLE/SERVICES/T0A1B2C3D4E5F6G7H8/IN?TOKEN=ZQ9XV8WT7US6RR5QP4 now",
            "b": "the token was xzq9Xv8Wt7Us6Rr5Qp4y and the path T0A1B2C3D4E5F6G7H8",
            "c": "in and services stay",
        });
        let hit = redactor.redact(&mut record, Some(url));
        assert_eq!(hit.into_iter().collect::<Vec<_>>(), ["webhook_url"]);
        assert_eq!(record["a"], "POST [REDACTED:webhook_url] now");
        assert_eq!(
            record["b"],
            "the token was x[REDACTED:webhook_url]y and the path [REDACTED:webhook_url]"
        );
        assert_eq!(record["c"], "in and services stay");
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = Redactor::new([("broken".to_owned(), "(".to_owned())]).unwrap_err();
        assert!(err.to_string().contains("\"broken\""), "{err}");
    }
}
