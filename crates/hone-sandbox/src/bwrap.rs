//! The default backend: bubblewrap.
//!
//! Each run: new user, PID, network, IPC, UTS and cgroup namespaces, no further user
//! namespaces inside, `--die-with-parent`, `--new-session`, an empty environment, `/usr`
//! read-only (and nothing of `/etc`, `/home`, `/root` or `/var`), a size-limited tmpfs as the
//! working directory and `/tmp`, the inputs bound read-only, uid 65534 inside and an
//! unprivileged uid of its own outside (never host root), no capabilities, `NoNewPrivs`, the
//! seccomp filter of [`crate::seccomp`], rlimits, and a cgroup for memory and processes where
//! the host offers one.
//!
//! Runs start warm ([`crate::warm`]): the slot's bubblewrap is already started, inside the
//! slot's cgroups, and waits for the run's arguments. Each slot has two cells, each with its
//! own cgroups, used in turn: while a run uses one, the next run's bubblewrap is started in
//! the other, so even back-to-back runs find theirs ready; a run's cell holds nothing else,
//! and is emptied before its next bubblewrap is started in it.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::cgroup::{Cgroups, SlotCgroup};
use crate::child::SECCOMP_FD;
use crate::process;
use crate::rundir::RunDir;
use crate::slots::Slots;
use crate::warm::{Launch, Launcher, SlotSetup};
use crate::{RunOutput, RunRequest, Sandbox, SandboxConfig, SandboxError, Termination, limits};

/// Cells a slot alternates between.
const CELLS: usize = 2;

/// The bubblewrap backend.
pub struct Bubblewrap {
    config: SandboxConfig,
    slots: Slots,
    /// One set of groups per cell ([`CELLS`] a slot), when the host offers writable cgroups.
    cgroups: Option<Vec<SlotCgroup>>,
    /// Per slot, the cell its next run uses.
    turns: Vec<AtomicUsize>,
    /// Starts each slot's next bubblewrap between runs.
    launcher: Launcher,
}

impl Bubblewrap {
    /// Checks that `bwrap` is installed, compiles the seccomp filter, finds writable cgroups;
    /// the start-up self-check then proves that runs work.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        if !config.bwrap.exists() {
            return Err(SandboxError::SelfCheck(format!(
                "{} not found: install bubblewrap (apt-get install bubblewrap), or choose the \
                 unconfined sandbox explicitly on a host without namespaces",
                config.bwrap.display()
            )));
        }
        let is_root = nix::unistd::geteuid().is_root();
        let uid_base = is_root.then_some(config.uid_base);
        let hierarchy = config
            .cgroup_root
            .as_deref()
            .filter(|_| is_root)
            .and_then(Cgroups::detect);
        if let Some(h) = &hierarchy {
            h.sweep_stale();
        }
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let cgroups = hierarchy.as_ref().and_then(|h| {
            (0..config.concurrency.max(1) * CELLS)
                .map(|i| h.create_slot(instance, i))
                .collect::<Result<Vec<_>, _>>()
                .inspect_err(|e| tracing::warn!(error = %e, "cannot create the slots' cgroups"))
                .ok()
        });
        match (&hierarchy, &cgroups) {
            (Some(h), Some(_)) => {
                tracing::info!(cgroups = ?h, "sandbox limits memory and processes with cgroups");
            }
            _ if config.require_cgroups => {
                return Err(SandboxError::SelfCheck(format!(
                    "per-run cgroups are required (HONE_SANDBOX_REQUIRE_CGROUPS) but {} offers \
                     no writable memory and pids hierarchy{}: give the process a delegated, \
                     writable cgroup (docs/deployment.md), or unset the requirement to limit \
                     memory and processes with rlimits",
                    config.cgroup_root.as_deref().map_or_else(
                        || "cgroups are off, so it".into(),
                        |p| p.display().to_string()
                    ),
                    if is_root {
                        ""
                    } else {
                        " (and cgroups are only used as root)"
                    }
                )));
            }
            _ => tracing::warn!(
                "no writable cgroup hierarchy: memory is limited by address space and processes \
                 by RLIMIT_NPROC only"
            ),
        }
        let seccomp = crate::seccomp::program_bytes()?;
        let slots = Slots::new(config.concurrency, uid_base);
        let setups = (0..slots.count() * CELLS)
            .map(|cell| SlotSetup {
                cgroup_procs: cgroups
                    .as_ref()
                    .and_then(|c| c.get(cell))
                    .map(SlotCgroup::procs_paths)
                    .unwrap_or_default(),
                uid: slots.uid_of(cell / CELLS),
            })
            .collect();
        let launcher = Launcher::start(config.bwrap.clone(), seccomp, setups)?;
        Ok(Self {
            turns: (0..slots.count()).map(|_| AtomicUsize::new(0)).collect(),
            slots,
            cgroups,
            launcher,
            config,
        })
    }

    /// bubblewrap's options for one run (the namespaces, the file system, the credentials,
    /// the seccomp fd), and the command after them: `--`, the interpreter, its arguments.
    fn args(&self, run: &RunDir, request: &RunRequest) -> (Vec<OsString>, Vec<OsString>) {
        let mut cmd = Args(Vec::with_capacity(64));
        let size = self.config.work_dir_bytes.to_string();
        cmd.args(["--unshare-all", "--unshare-user", "--disable-userns"]);
        // The program is the namespace's init: bubblewrap's own init would outlive the outer
        // bwrap and linger as a zombie under the host's init, counting against the uid.
        cmd.args([
            "--as-pid-1",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]);
        cmd.args(["--setenv", "PATH", "/usr/bin:/bin"]);
        cmd.args(["--setenv", "HOME", "/work", "--setenv", "LANG", "C.UTF-8"]);
        cmd.args(["--ro-bind", "/usr", "/usr"]);
        for top in ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"] {
            match fs::read_link(top) {
                Ok(target) => {
                    cmd.arg("--symlink").arg(target).arg(top);
                }
                Err(_) if Path::new(top).is_dir() => {
                    cmd.args(["--ro-bind", top, top]);
                }
                Err(_) => {}
            }
        }
        cmd.args(["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]);
        cmd.args(["--proc", "/proc", "--dev", "/dev"]);
        cmd.args(["--perms", "1777", "--size", &size, "--tmpfs", "/tmp"]);
        cmd.args(["--perms", "0777", "--size", &size, "--tmpfs", "/work"]);
        let mut inputs = vec![request.runtime.file_name.to_owned()];
        inputs.extend(request.files.keys().cloned());
        for name in inputs {
            cmd.arg("--ro-bind")
                .arg(run.inputs().join(&name))
                .arg(format!("/work/{name}"));
        }
        // Everything but /work, /tmp and /dev is read-only, the root tmpfs included.
        cmd.args(["--remount-ro", "/"]);
        cmd.args(["--chdir", "/work", "--hostname", "sandbox"]);
        cmd.args(["--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]);
        cmd.args(["--seccomp", &SECCOMP_FD.to_string()]);
        let mut command = Args(vec!["--".into()]);
        command.arg(&request.runtime.interpreter);
        command.args(limits::interpreter_args(request));
        (cmd.0, command.0)
    }
}

/// An argument list built the way `Command` builds one.
struct Args(Vec<OsString>);

impl Args {
    fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.push(arg.as_ref().to_owned());
        self
    }

    fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }
}

#[async_trait]
impl Sandbox for Bubblewrap {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    fn max_limits(&self) -> hone_domain::spec::Limits {
        self.config.max_limits
    }

    async fn run(&self, request: RunRequest) -> Result<RunOutput, SandboxError> {
        let slot = self.slots.acquire().await?;
        let run = RunDir::prepare(&self.config.run_root, &request)?;
        let turn = self
            .turns
            .get(slot.index)
            .map_or(0, |t| t.fetch_add(1, Ordering::Relaxed));
        let cell = slot.index * CELLS + turn % CELLS;
        let cgroup = self.cgroups.as_ref().and_then(|c| c.get(cell));
        let before = match cgroup {
            Some(c) => Some(
                c.arm(
                    request.limits.memory_mb * 1024 * 1024,
                    request.limits.max_processes + 3,
                )
                .map_err(SandboxError::Prepare)?,
            ),
            None => None,
        };
        let rlimits = limits::rlimits(&request, &self.config, cgroup.is_some(), slot.uid.is_some());
        let (options, command) = self.args(&run, &request);
        let launch = Launch { rlimits, command };
        let warm = self.launcher.take(cell, launch.clone()).await?;
        let child = warm
            .launch(&options)
            .map_err(|source| SandboxError::Spawn {
                program: "bwrap".to_owned(),
                source,
            })?;
        let timeout = Duration::from_millis(request.limits.timeout_ms);
        let max_output = usize::try_from(request.limits.max_output_bytes).unwrap_or(usize::MAX);
        let out = process::watch(child, request.stdin.clone(), timeout, max_output).await;
        run.remove();
        let mut out = out?;
        if let (Some(cgroup), Some(before)) = (cgroup, before) {
            // Nothing may outlive the run in the slot's groups (the PID namespace is gone, so
            // this finds nothing unless the kernel is still tearing it down).
            let emptied = cgroup.clear();
            let (oom, pid_limit) = cgroup.verdict(before);
            let failed = out.termination != Termination::Exited(0);
            if failed && pid_limit {
                out.termination = Termination::ProcessLimit;
            } else if failed
                && oom
                && !matches!(
                    out.termination,
                    Termination::Timeout | Termination::OutputLimit
                )
            {
                out.termination = Termination::MemoryLimit;
            }
            if !emptied {
                return Err(SandboxError::Setup(
                    "the run's processes could not be killed".to_owned(),
                ));
            }
        }
        // The cell's groups are empty again: start its next bubblewrap in them.
        self.launcher.refill(cell, launch);
        drop(slot);
        // bwrap reports its own set-up failures on stderr before the program starts.
        if out.stderr.starts_with("bwrap:") {
            let mut why = out.stderr.trim().to_owned();
            if why.contains("namespace") || why.contains("uid map") {
                why.push_str(
                    " (user namespaces may be disabled on this host: check sysctl \
                     kernel.unprivileged_userns_clone and user.max_user_namespaces)",
                );
            }
            return Err(SandboxError::Setup(why));
        }
        Ok(out)
    }
}
