//! A plain child process with rlimits and an empty environment, for hosts without
//! namespaces. It does not isolate the network or the file system: the service announces it
//! loudly at start and in `/readyz`, and it is only ever chosen explicitly.

use std::fs;

use async_trait::async_trait;
use tokio::process::Command;

use crate::child::ChildSetup;
use crate::process;
use crate::rundir::RunDir;
use crate::slots::Slots;
use crate::{RunOutput, RunRequest, Sandbox, SandboxConfig, SandboxError, limits};

/// The unconfined backend.
pub struct Unconfined {
    config: SandboxConfig,
    slots: Slots,
}

impl Unconfined {
    /// A new unconfined backend.
    pub fn new(config: SandboxConfig) -> Self {
        let uid_base = nix::unistd::geteuid().is_root().then_some(config.uid_base);
        Self {
            slots: Slots::new(config.concurrency, uid_base),
            config,
        }
    }
}

#[async_trait]
impl Sandbox for Unconfined {
    fn name(&self) -> &'static str {
        "unconfined"
    }

    fn max_limits(&self) -> hone_domain::spec::Limits {
        self.config.max_limits
    }

    async fn run(&self, request: RunRequest) -> Result<RunOutput, SandboxError> {
        let slot = self.slots.acquire().await?;
        let run = RunDir::prepare(&self.config.run_root, &request)?;
        let work = run.path().join("work");
        fs::create_dir(&work).map_err(SandboxError::Prepare)?;
        if let Some(uid) = slot.uid {
            nix::unistd::chown(&work, Some(uid.into()), Some(uid.into()))
                .map_err(|e| SandboxError::Prepare(e.into()))?;
        }
        for name in std::iter::once(request.runtime.file_name.to_owned())
            .chain(request.files.keys().cloned())
        {
            // Without namespaces there are no bind mounts: the inputs are copied.
            fs::copy(run.inputs().join(&name), work.join(&name)).map_err(SandboxError::Prepare)?;
        }
        let mut cmd = Command::new(&request.runtime.interpreter);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &work)
            .env("LANG", "C.UTF-8")
            .current_dir(&work)
            .args(limits::interpreter_args(&request));
        let rlimits = limits::rlimits(&request, &self.config, false, slot.uid.is_some());
        let setup = ChildSetup {
            uid: slot.uid,
            ..ChildSetup::default()
        };
        let out = process::run(limits::spawn(cmd, &request, rlimits, setup)).await;
        run.remove();
        drop(slot);
        out
    }
}
