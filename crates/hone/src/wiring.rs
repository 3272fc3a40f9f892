//! Building the parts a worker needs from configuration, with the start-up checks that make
//! a misconfigured service say so at once rather than on its first job: the sandbox and each
//! language runtime, and the model providers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hone_api::runtimes::RuntimeInfo;
use hone_domain::Language;
use hone_llm::{
    Anthropic, AnthropicConfig, ChatModel, Limited, OpenAiCompatible, OpenAiConfig, Providers,
    Recording, Replay, RetryPolicy,
};
use hone_sandbox::verify::Runtimes;
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, Unconfined, runtime};

use crate::config::{ModelArgs, SandboxArgs, SandboxKind};

/// Builds the sandbox and runs a tiny program in each runtime through it. Runtimes that fail
/// are left out (their jobs are refused at submission); none working refuses the start.
/// Returns the sandbox, the runtimes that passed, and a report on every language (with its
/// interpreter's version) for `GET /v1/runtimes`.
pub async fn build_sandbox(
    args: &SandboxArgs,
) -> anyhow::Result<(Arc<dyn Sandbox>, Runtimes, Vec<RuntimeInfo>)> {
    let mut config = SandboxConfig {
        bwrap: args.bwrap.clone(),
        uid_base: args.sandbox_uid_base,
        work_dir_bytes: args.sandbox_disk_mb * 1024 * 1024,
        require_cgroups: args.sandbox_require_cgroups,
        ..SandboxConfig::default()
    };
    config.max_limits.timeout_ms = args.max_timeout_ms;
    config.max_limits.memory_mb = args.max_memory_mb;
    if !args.sandbox_cgroups {
        config.cgroup_root = None;
    }
    if let Some(n) = args.sandbox_concurrency {
        config.concurrency = n;
    }
    let sandbox: Arc<dyn Sandbox> = match args.sandbox {
        SandboxKind::Bubblewrap => Arc::new(Bubblewrap::new(config).with_context(|| {
            format!(
                "cannot use bubblewrap at {} (install it: apt-get install bubblewrap)",
                args.bwrap.display()
            )
        })?),
        SandboxKind::Unconfined => {
            tracing::warn!(
                "SANDBOX IS UNCONFINED: model-written code runs as a plain child process \
                 with rlimits only, without namespace, network or file-system isolation"
            );
            Arc::new(Unconfined::new(config))
        }
    };
    let overrides = [
        (Language::Python, args.python.clone()),
        (Language::Javascript, args.node.clone()),
        (Language::Bash, args.bash.clone()),
    ];
    let (found, mut failed) = runtime::resolve(&overrides);
    let mut working = Vec::new();
    let mut report = Vec::new();
    for language in Language::ALL {
        let Some(rt) = found.iter().find(|r| r.language == language) else {
            let prefix = format!("{}: ", language.as_str());
            let why = failed.iter().find_map(|f| f.strip_prefix(&prefix));
            report.push(RuntimeInfo {
                language,
                interpreter: None,
                version: None,
                ready: false,
                error: why.map(str::to_owned),
            });
            continue;
        };
        let checked = hone_sandbox::self_check(sandbox.as_ref(), std::slice::from_ref(rt)).await;
        report.push(RuntimeInfo {
            language,
            interpreter: Some(rt.interpreter.display().to_string()),
            version: runtime::version(&rt.interpreter).await,
            ready: checked.is_ok(),
            error: checked.as_ref().err().map(ToString::to_string),
        });
        match checked {
            Ok(()) => working.push(rt.clone()),
            Err(e) => failed.push(e.to_string()),
        }
    }
    for why in &failed {
        tracing::warn!("runtime unavailable, its jobs are refused: {why}");
    }
    if working.is_empty() {
        bail!(
            "no language runtime works in the sandbox, refusing to start: {} \
             (install the sandbox and the interpreters: apt-get install bubblewrap python3 nodejs)",
            failed.join("; ")
        );
    }
    let names: Vec<&str> = working.iter().map(|r| r.language.as_str()).collect();
    tracing::info!(backend = sandbox.name(), runtimes = ?names, "sandbox self-check passed");
    Ok((sandbox, Runtimes(working), report))
}

/// Whether each provider a job may name can be used, and if not what to set.
pub fn provider_states(args: &ModelArgs) -> BTreeMap<String, Result<(), String>> {
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
    states
}

/// `model` behind its concurrency limit, when it has one.
fn limited(model: Arc<dyn ChatModel>, max: Option<usize>) -> Arc<dyn ChatModel> {
    match max {
        Some(n) => Arc::new(Limited::new(model, n)),
        None => model,
    }
}

/// `model`, recording its answers when `HONE_RECORD_DIR` is set.
fn recorded(model: Arc<dyn ChatModel>, args: &ModelArgs) -> anyhow::Result<Arc<dyn ChatModel>> {
    Ok(match &args.record_dir {
        Some(dir) => Arc::new(
            Recording::new(model, dir.clone())
                .with_context(|| format!("cannot record into {}", dir.display()))?,
        ),
        None => model,
    })
}

/// The model clients, by the name jobs use.
pub fn build_providers(args: &ModelArgs) -> anyhow::Result<Providers> {
    let mut providers = Providers::new();
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
    providers.insert("openai", recorded(openai, args)?);
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
    providers.insert("anthropic", recorded(anthropic, args)?);
    if let Some(path) = &args.replay_file {
        let replay = Replay::from_file(path).map_err(anyhow::Error::msg)?;
        providers.insert("replay", Arc::new(replay));
    }
    Ok(providers)
}

/// The system prompts in `dir`: `actor.md` and `critic.md` for every language,
/// `actor.LANG.md` and `critic.LANG.md` for one. Any other file there is an error, so a
/// misspelt name is not silently ignored.
pub fn load_prompts(dir: &std::path::Path) -> anyhow::Result<hone_domain::prompt::PromptDefaults> {
    let mut prompts = hone_domain::prompt::PromptDefaults::default();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(stem) = name.strip_suffix(".md") else {
            bail!(
                "{}: prompt files are actor[.LANG].md or critic[.LANG].md",
                path.display()
            );
        };
        let (role, lang) = stem.split_once('.').unwrap_or((stem, ""));
        if !lang.is_empty() && Language::parse(lang).is_none() {
            bail!(
                "{}: {lang:?} is not a language (python, javascript, bash)",
                path.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let map = match role {
            "actor" => &mut prompts.actor,
            "critic" => &mut prompts.critic,
            _ => bail!(
                "{}: prompt files are actor[.LANG].md or critic[.LANG].md",
                path.display()
            ),
        };
        map.insert(lang.to_owned(), text.trim_end().to_owned());
    }
    Ok(prompts)
}
