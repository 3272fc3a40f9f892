//! The model providers a service offers, from its flags and its configuration file: the
//! built-in `openai`, `anthropic` and `replay`, the file's named providers beside them, and
//! the price table their calls are costed by. Which of them can be used (and what to set
//! when one cannot) is checked at start-up, so a job naming an unusable provider is refused
//! at submission rather than failed later.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_llm::{
    Anthropic, AnthropicConfig, ChatModel, Limited, OpenAiCompatible, OpenAiConfig, Prices,
    Providers, Recording, Replay, RetryPolicy,
};

use crate::config::ModelArgs;
use crate::config::file::{ConfigFile, ProviderFile, ProviderKind};

/// A named provider's key, read from the variable the file names.
fn named_key(p: &ProviderFile) -> Option<String> {
    let var = p.api_key_env.as_deref()?;
    std::env::var(var).ok().filter(|k| !k.is_empty())
}

/// Whether each provider a job may name can be used, and if not what to set.
pub fn provider_states(
    args: &ModelArgs,
    file: &ConfigFile,
) -> BTreeMap<String, Result<(), String>> {
    let mut states = BTreeMap::new();
    let public = args.openai_base_url.trim_end_matches('/') == hone_llm::OPENAI_PUBLIC_URL;
    let openai = if public && args.openai_api_key.is_none() {
        Err(
            "the public OpenAI endpoint needs a key: set OPENAI_API_KEY, or point \
             OPENAI_BASE_URL at an OpenAI-compatible server (vLLM, llama.cpp, Ollama, LiteLLM)"
                .to_owned(),
        )
    } else {
        Ok(())
    };
    states.insert("openai".to_owned(), openai);
    let public = args.anthropic_base_url.trim_end_matches('/') == hone_llm::ANTHROPIC_PUBLIC_URL;
    let anthropic = if public && args.anthropic_api_key.is_none() {
        Err(
            "the Anthropic API needs a key: set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for \
             a compatible gateway)"
                .to_owned(),
        )
    } else {
        Ok(())
    };
    states.insert("anthropic".to_owned(), anthropic);
    let replay = match &args.replay_file {
        Some(_) => Ok(()),
        None => Err("set HONE_REPLAY_FILE to a JSONL transcript to use it".to_owned()),
    };
    states.insert("replay".to_owned(), replay);
    for (name, p) in &file.providers {
        let state = match &p.api_key_env {
            Some(var) if named_key(p).is_none() => Err(format!(
                "its key is read from {var}, which is not set (see the configuration file)"
            )),
            _ => Ok(()),
        };
        states.insert(name.clone(), state);
    }
    states
}

/// `model` behind its concurrency limit, when it has one.
fn limited(model: Arc<dyn ChatModel>, max: Option<usize>) -> Arc<dyn ChatModel> {
    match max {
        Some(n) => Arc::new(Limited::new(model, n)),
        None => model,
    }
}

/// `model`, recording its answers (with their cost) when `HONE_RECORD_DIR` is set.
fn recorded(
    model: Arc<dyn ChatModel>,
    args: &ModelArgs,
    prices: &Prices,
) -> anyhow::Result<Arc<dyn ChatModel>> {
    Ok(match &args.record_dir {
        Some(dir) => Arc::new(
            Recording::new(model, dir.clone(), prices.clone())
                .with_context(|| format!("cannot record into {}", dir.display()))?,
        ),
        None => model,
    })
}

/// A named provider's client.
fn named(args: &ModelArgs, p: &ProviderFile) -> anyhow::Result<Arc<dyn ChatModel>> {
    let timeout = Duration::from_secs(p.timeout_s.unwrap_or(args.model_timeout_s));
    let retry = RetryPolicy {
        max_retries: p.max_retries.unwrap_or(args.model_retries),
        ..RetryPolicy::default()
    };
    let client: Arc<dyn ChatModel> = match p.kind {
        ProviderKind::Openai => Arc::new(OpenAiCompatible::new(OpenAiConfig {
            base_url: p.base_url.trim().to_owned(),
            api_key: named_key(p),
            timeout,
            retry,
        })?),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(AnthropicConfig {
            base_url: p.base_url.trim().to_owned(),
            api_key: named_key(p),
            timeout,
            retry,
            max_tokens: p.max_tokens.unwrap_or(args.anthropic_max_tokens),
        })?),
    };
    Ok(limited(client, p.max_concurrency))
}

/// The model clients, by the name jobs use, with the price table (the shipped list prices,
/// the file's over them).
pub fn build_providers(args: &ModelArgs, file: &ConfigFile) -> anyhow::Result<Providers> {
    let mut prices = Prices::defaults();
    for (model, price) in &file.prices {
        prices.insert(model.clone(), *price);
    }
    let mut providers = Providers::new();
    // Every provider key is removed from the error text a job's outcome keeps.
    for key in [&args.openai_api_key, &args.anthropic_api_key]
        .into_iter()
        .flatten()
    {
        providers.add_secret(key);
    }
    for p in file.providers.values() {
        if let Some(key) = named_key(p) {
            providers.add_secret(&key);
        }
    }
    let openai = OpenAiCompatible::new(OpenAiConfig {
        base_url: args.openai_base_url.clone(),
        api_key: args.openai_api_key.clone(),
        timeout: Duration::from_secs(args.model_timeout_s),
        retry: RetryPolicy {
            max_retries: args.model_retries,
            ..RetryPolicy::default()
        },
    })?;
    let openai = limited(Arc::new(openai), args.openai_max_concurrency);
    providers.insert("openai", recorded(openai, args, &prices)?);
    let anthropic = Anthropic::new(AnthropicConfig {
        base_url: args.anthropic_base_url.clone(),
        api_key: args.anthropic_api_key.clone(),
        timeout: Duration::from_secs(args.model_timeout_s),
        retry: RetryPolicy {
            max_retries: args.model_retries,
            ..RetryPolicy::default()
        },
        max_tokens: args.anthropic_max_tokens,
    })?;
    let anthropic = limited(Arc::new(anthropic), args.anthropic_max_concurrency);
    providers.insert("anthropic", recorded(anthropic, args, &prices)?);
    if let Some(path) = &args.replay_file {
        let replay = Replay::from_file(path).map_err(anyhow::Error::msg)?;
        providers.insert("replay", Arc::new(replay));
    }
    for (name, p) in &file.providers {
        let client = named(args, p).with_context(|| format!("provider {name}"))?;
        providers.insert(name.clone(), recorded(client, args, &prices)?);
    }
    providers.set_prices(prices);
    Ok(providers)
}
