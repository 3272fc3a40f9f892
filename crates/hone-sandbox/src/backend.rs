//! The two backends: [`Bubblewrap`] (namespaces, the default) and [`Unconfined`] (a plain
//! child process with rlimits, for hosts without namespaces, chosen only explicitly).
//!
//! Both prepare runs the same way: a fresh directory created by the host holds `inputs/`
//! (the program and the job's files, written before the code starts) and `work/` (the
//! program's writable working directory). The host never reads back from or writes into the
//! directory after the program starts, and deletes it without following links
//! (`std::fs::remove_dir_all` does not follow symlinks).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hone_domain::Language;
use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::process::{self, Rlimits, Spawn};
use crate::{RunOutput, RunRequest, Sandbox, SandboxError};

/// The largest file a program may write.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Open files per process.
const MAX_OPEN_FILES: u64 = 256;
/// Unprivileged uid and gid inside the sandbox (`nobody`).
const SANDBOX_ID: &str = "65534";

/// Settings shared by the backends.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where run directories are created.
    pub run_root: PathBuf,
    /// Runs at once; more wait for a slot (the wait does not count against their time).
    pub concurrency: usize,
    /// The `bwrap` binary.
    pub bwrap: PathBuf,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            run_root: std::env::temp_dir(),
            concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            bwrap: PathBuf::from("/usr/bin/bwrap"),
        }
    }
}

/// A fresh run directory: `inputs/` written now, `work/` left to the program.
struct RunDir {
    dir: tempfile::TempDir,
}

impl RunDir {
    fn prepare(root: &Path, request: &RunRequest) -> Result<Self, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("hone-run-")
            .tempdir_in(root)
            .map_err(SandboxError::Prepare)?;
        let run = Self { dir };
        fs::create_dir(run.inputs()).map_err(SandboxError::Prepare)?;
        fs::create_dir(run.work()).map_err(SandboxError::Prepare)?;
        write_new(
            &run.inputs().join(request.runtime.file_name),
            &request.source,
        )?;
        for (name, content) in &request.files {
            write_new(&run.inputs().join(name), content)?;
        }
        Ok(run)
    }

    fn inputs(&self) -> PathBuf {
        self.dir.path().join("inputs")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Deletes the directory off the async runtime (a program may leave many files).
    fn remove(self) {
        tokio::task::spawn_blocking(move || drop(self.dir));
    }
}

/// Creates a file that must not exist yet (`O_EXCL` does not follow a planted link).
fn write_new(path: &Path, content: &str) -> Result<(), SandboxError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(SandboxError::Prepare)?;
    f.write_all(content.as_bytes())
        .map_err(SandboxError::Prepare)
}

fn rlimits(request: &RunRequest) -> Rlimits {
    let timeout_s = request.limits.timeout_ms.div_ceil(1000);
    Rlimits {
        cpu_s: timeout_s + 1,
        // V8 reserves far more address space than it uses; node is limited by its own heap
        // flag instead.
        address_space: (request.runtime.language != Language::Javascript)
            .then(|| request.limits.memory_mb * 1024 * 1024),
        file_size: MAX_FILE_BYTES,
        open_files: MAX_OPEN_FILES,
    }
}

fn spawn_for(cmd: Command, request: &RunRequest) -> Spawn {
    Spawn {
        cmd,
        stdin: request.stdin.clone(),
        timeout: Duration::from_millis(request.limits.timeout_ms),
        max_output: usize::try_from(request.limits.max_output_bytes).unwrap_or(usize::MAX),
        rlimits: rlimits(request),
    }
}

fn interpreter_args(request: &RunRequest) -> Vec<String> {
    let mut args: Vec<String> = request
        .runtime
        .args
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    if request.runtime.language == Language::Javascript {
        args.push(format!("--max-old-space-size={}", request.limits.memory_mb));
    }
    args.push(request.runtime.file_name.to_owned());
    args
}

/// The default backend: bubblewrap with new user, PID, network, IPC, UTS and cgroup
/// namespaces, an empty environment, read-only system directories, and an unprivileged uid.
pub struct Bubblewrap {
    config: SandboxConfig,
    slots: Arc<Semaphore>,
}

impl Bubblewrap {
    /// Checks that `bwrap` is installed; the start-up self-check then proves it works.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        if !config.bwrap.exists() {
            return Err(SandboxError::SelfCheck(format!(
                "{} not found: install bubblewrap (apt-get install bubblewrap), or choose the \
                 unconfined sandbox explicitly on a host without namespaces",
                config.bwrap.display()
            )));
        }
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Self { config, slots })
    }

    fn command(&self, run: &RunDir, request: &RunRequest) -> Command {
        let mut cmd = Command::new(&self.config.bwrap);
        cmd.env_clear();
        cmd.args([
            "--unshare-all",
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
        cmd.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        cmd.arg("--bind").arg(run.work()).arg("/work");
        let mut inputs = vec![request.runtime.file_name.to_owned()];
        inputs.extend(request.files.keys().cloned());
        for name in inputs {
            cmd.arg("--ro-bind")
                .arg(run.inputs().join(&name))
                .arg(format!("/work/{name}"));
        }
        cmd.args(["--chdir", "/work", "--hostname", "sandbox"]);
        cmd.args([
            "--uid",
            SANDBOX_ID,
            "--gid",
            SANDBOX_ID,
            "--cap-drop",
            "ALL",
            "--",
        ]);
        cmd.arg(&request.runtime.interpreter);
        cmd.args(interpreter_args(request));
        cmd
    }
}

#[async_trait]
impl Sandbox for Bubblewrap {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    async fn run(&self, request: RunRequest) -> Result<RunOutput, SandboxError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SandboxError::Setup("the sandbox is shutting down".to_owned()))?;
        let run = RunDir::prepare(&self.config.run_root, &request)?;
        let cmd = self.command(&run, &request);
        let out = process::run(spawn_for(cmd, &request)).await;
        run.remove();
        let out = out?;
        // bwrap reports its own set-up failures on stderr with exit status 1 before exec.
        if out.stderr.starts_with("bwrap:") {
            return Err(SandboxError::Setup(out.stderr.trim().to_owned()));
        }
        Ok(out)
    }
}

/// A plain child process with rlimits and an empty environment, for hosts without
/// namespaces. It does not isolate the network or the file system: the service announces it
/// loudly at start and in `/readyz`.
pub struct Unconfined {
    config: SandboxConfig,
    slots: Arc<Semaphore>,
}

impl Unconfined {
    /// A new unconfined backend.
    pub fn new(config: SandboxConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Self { config, slots }
    }
}

#[async_trait]
impl Sandbox for Unconfined {
    fn name(&self) -> &'static str {
        "unconfined"
    }

    async fn run(&self, request: RunRequest) -> Result<RunOutput, SandboxError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SandboxError::Setup("the sandbox is shutting down".to_owned()))?;
        let run = RunDir::prepare(&self.config.run_root, &request)?;
        for name in std::iter::once(request.runtime.file_name.to_owned())
            .chain(request.files.keys().cloned())
        {
            // Unconfined runs see the inputs by copy (no bind mounts without namespaces).
            fs::copy(run.inputs().join(&name), run.work().join(&name))
                .map_err(SandboxError::Prepare)?;
        }
        let mut cmd = Command::new(&request.runtime.interpreter);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", run.work())
            .env("LANG", "C.UTF-8")
            .current_dir(run.work())
            .args(interpreter_args(&request));
        let out = process::run(spawn_for(cmd, &request)).await;
        run.remove();
        out
    }
}
