//! The configuration file, `hone.toml`: named model providers (OpenAI-compatible endpoints
//! and Anthropic gateways side by side, each with its own key, timeout and concurrency
//! limit) and model prices. Read from `--config`/`HONE_CONFIG`, else from `./hone.toml`
//! when there is one; every value can be overridden by an environment variable
//! `HONE_PROVIDERS__<NAME>__<FIELD>` or `HONE_PRICES__<MODEL>__<FIELD>` (figment's layered
//! loading: the file first, the environment over it).
//!
//! ```toml
//! [providers.local]
//! kind = "openai"                       # or "anthropic"
//! base_url = "http://127.0.0.1:11434/v1"
//! api_key_env = "LOCAL_API_KEY"         # the variable that holds the key, if any
//! timeout_s = 300
//! max_concurrency = 2
//!
//! [prices."llama3.1:8b"]
//! input = 0.0
//! output = 0.0
//!
//! [exports.redact]                      # left out of every training-data export
//! aws_key = "AKIA[0-9A-Z]{16}"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hone_domain::Price;
use serde::Deserialize;

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_FILE: &str = "hone.toml";

/// Which API a named provider speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// `POST {base_url}/chat/completions`: OpenAI, vLLM, Ollama, llama.cpp, OpenRouter,
    /// LiteLLM.
    #[default]
    Openai,
    /// `POST {base_url}/messages`: Anthropic's Messages API.
    Anthropic,
}

/// One named provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    /// The API it speaks (default `openai`).
    #[serde(default)]
    pub kind: ProviderKind,
    /// Its base URL (`.../v1`).
    pub base_url: String,
    /// The name of the environment variable that holds its key (the key itself never
    /// goes in the file).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds before a request times out (default: `HONE_MODEL_TIMEOUT_S`).
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// At most this many calls in flight from this process (default: no limit).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Retries of a failed request (default: `HONE_MODEL_RETRIES`).
    #[serde(default)]
    pub max_retries: Option<usize>,
    /// The most tokens an answer may have (`anthropic` only; default:
    /// `HONE_ANTHROPIC_MAX_TOKENS`).
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// What the file holds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Named providers, by the name jobs use.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderFile>,
    /// Prices in dollars per million tokens, by model name; they add to and override the
    /// shipped list prices.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    /// What the training-data exports leave out.
    #[serde(default)]
    pub exports: ExportsFile,
}

/// The `[exports]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportsFile {
    /// Sensitive patterns, by rule name: regular expressions whose matches every exported
    /// record replaces with `[REDACTED:<name>]` (the job's webhook URL and hone API keys
    /// always are).
    #[serde(default)]
    pub redact: BTreeMap<String, String>,
}

impl ExportsFile {
    /// The redactor of every export: the built-in rules and these.
    pub fn redactor(&self) -> anyhow::Result<hone_api::exports::Redactor> {
        let rules = self.redact.iter().map(|(n, p)| (n.clone(), p.clone()));
        hone_api::exports::Redactor::new(rules).map_err(|e| anyhow::anyhow!("exports.redact: {e}"))
    }
}

/// The names hone gives its own providers, which a file may not reuse.
pub const BUILT_IN: [&str; 3] = ["openai", "anthropic", "replay"];

impl ConfigFile {
    /// Reads `path` (an error if it is missing), else `./hone.toml` if it exists, with the
    /// environment's overrides over it, and checks it.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let file: Option<PathBuf> = match path {
            Some(p) if !p.is_file() => bail!("the configuration file {} is missing", p.display()),
            Some(p) => Some(p.to_owned()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::new();
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let env = Env::prefixed("HONE_")
            .filter(|k| {
                let k = k.as_str().to_ascii_lowercase();
                k.starts_with("providers__")
                    || k.starts_with("prices__")
                    || k.starts_with("exports__")
            })
            .split("__");
        let config: ConfigFile = figment.merge(env).extract().with_context(|| match &file {
            Some(f) => format!("cannot read the configuration file {}", f.display()),
            None => "cannot read the HONE_PROVIDERS__ / HONE_PRICES__ variables".to_owned(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Refuses names jobs could not use, unusable URLs and prices, and limits of zero.
    pub fn check(&self) -> anyhow::Result<()> {
        for (name, p) in &self.providers {
            let at = format!("providers.{name}");
            let good_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c));
            if !good_name {
                bail!("{at}: a provider name is 1 to 64 of a-z, 0-9, - and _");
            }
            if BUILT_IN.contains(&name.as_str()) {
                bail!(
                    "{at}: {name:?} is built in (set it with its own variables, like \
                     OPENAI_BASE_URL); give the provider another name"
                );
            }
            let url = p.base_url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("{at}.base_url: an http:// or https:// URL, not {url:?}");
            }
            if p.max_concurrency == Some(0) || p.timeout_s == Some(0) || p.max_tokens == Some(0) {
                bail!("{at}: max_concurrency, timeout_s and max_tokens are at least 1");
            }
            if let Some(var) = &p.api_key_env
                && (var.is_empty() || var.contains('='))
            {
                bail!("{at}.api_key_env: the name of an environment variable");
            }
        }
        for (model, price) in &self.prices {
            if !price.is_valid() {
                bail!("prices.{model:?}: prices are finite, non-negative dollars per million");
            }
        }
        for name in self.exports.redact.keys() {
            let good = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
            if !good {
                bail!("exports.redact.{name:?}: a rule name is 1 to 64 of a-z, A-Z, 0-9, - and _");
            }
        }
        self.exports.redactor()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<ConfigFile> {
        let config: ConfigFile = Figment::from(Toml::string(text)).extract()?;
        config.check()?;
        Ok(config)
    }

    #[test]
    fn providers_and_prices_are_read_with_their_defaults() {
        let config = parse(
            r#"
            [providers.local]
            base_url = "http://127.0.0.1:11434/v1"
            max_concurrency = 2
            [providers.claude]
            kind = "anthropic"
            base_url = "https://gateway.example/v1"
            api_key_env = "GATEWAY_KEY"
            [prices."llama3.1:8b"]
            input = 0.1
            output = 0.2
            "#,
        );
        let Ok(config) = config else {
            panic!("{config:?}")
        };
        let local = &config.providers["local"];
        assert_eq!(local.kind, ProviderKind::Openai);
        assert_eq!(local.max_concurrency, Some(2));
        assert_eq!(config.providers["claude"].kind, ProviderKind::Anthropic);
        assert_eq!(config.prices["llama3.1:8b"].output, 0.2);
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        let cases = [
            ("[providers.openai]\nbase_url = \"http://x\"", "built in"),
            ("[providers.Big]\nbase_url = \"http://x\"", "provider name"),
            ("[providers.a]\nbase_url = \"ftp://x\"", "base_url"),
            (
                "[providers.a]\nbase_url = \"http://x\"\nmax_concurrency = 0",
                "at least 1",
            ),
            (
                "[providers.a]\nbase_url = \"http://x\"\nkey = \"sk\"",
                "unknown field",
            ),
            ("[prices.m]\ninput = -1.0\noutput = 1.0", "non-negative"),
            ("[prices.m]\ninput = 1.0", "missing field"),
        ];
        for (text, why) in cases {
            let err = parse(text).map(|_| ()).map_err(|e| format!("{e:#}"));
            assert!(
                err.as_ref().is_err_and(|e| e.contains(why)),
                "{text}: {err:?}"
            );
        }
    }
}
