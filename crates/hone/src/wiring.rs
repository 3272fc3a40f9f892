//! Building the parts a worker needs from configuration, with the start-up checks that make
//! a misconfigured service say so at once rather than on its first job: the sandbox and each
//! language runtime, and the system prompts (the model providers are [`crate::models`]').

use std::sync::Arc;

use anyhow::{Context, bail};
use hone_api::runtimes::RuntimeInfo;
use hone_domain::Language;
use hone_sandbox::verify::Runtimes;
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, Unconfined, runtime};

use crate::config::{SandboxArgs, SandboxKind};

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
