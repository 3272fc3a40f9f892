//! Warm launches: each cell of a slot keeps one bubblewrap already started, already inside
//! the cell's cgroups, already running as the slot's uid with its rlimits and its command line, blocked
//! reading the rest of its options (`bwrap --args 201 -- python3 -I -B main.py`). A run
//! writes the options (the run directory's binds among them) and closes the pipe;
//! bubblewrap then builds the namespaces and starts the program.
//!
//! What the process is started with — the rlimits and the command — is its [`Launch`], and
//! the slot's next process gets the launch of the slot's last run: a run with another one
//! (another language, or, without cgroups, other memory or process limits) gets a process
//! started for it instead. Limits cannot be changed from outside afterwards: setting another
//! uid's limits needs `CAP_SYS_RESOURCE`, which containers often lack; and bubblewrap reads
//! the command from its real command line only. What a
//! cold start pays on the run's path — fork, exec of bubblewrap, and above all the cgroup
//! v1 migration (a `cgroup.procs` write waits for an RCU grace period) — is paid between
//! runs instead, by a launcher thread that refills the slot after each run.
//!
//! The launcher thread is the processes' parent, so bubblewrap's `--die-with-parent` ties
//! them to the sandbox's lifetime, not to a short-lived worker thread. A warm process whose
//! owner dies reads end of file instead of arguments and exits.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::SandboxError;
use crate::child::{ARGS_FD, ChildSetup, Rlimits, prepare_child};

/// How long after a run its cell's next bubblewrap is started.
const REFILL_DELAY: Duration = Duration::from_millis(5);

/// A bubblewrap waiting for its arguments.
pub(crate) struct Warm {
    child: Option<Child>,
    args: Option<std::fs::File>,
    /// What it was started with.
    launch: Launch,
}

/// What a process is started with, before the run's options arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    /// Its rlimits.
    pub rlimits: Rlimits,
    /// Its command line after the options: `--`, the interpreter and its arguments.
    pub command: Vec<OsString>,
}

impl Warm {
    /// Starts `bwrap --args 201 <command>` with the launch's rlimits and `setup` (cgroups,
    /// seccomp fd, uid).
    fn spawn(bwrap: &PathBuf, launch: Launch, mut setup: ChildSetup) -> std::io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        setup.args = Some(std::fs::File::from(read));
        let mut cmd = std::process::Command::new(bwrap);
        cmd.env_clear()
            .arg("--args")
            .arg(ARGS_FD.to_string())
            .args(&launch.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        prepare_child(&mut cmd, Some(launch.rlimits), &setup);
        let child = cmd.spawn()?;
        // The child has its copies of the fds; close ours.
        drop(setup);
        Ok(Self {
            child: Some(child),
            args: Some(std::fs::File::from(write)),
            launch,
        })
    }

    /// Whether it still waits (it may have been killed, e.g. with its slot's cgroups).
    fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the run: sends its options (NUL-separated, then end of file). Returns the
    /// child to watch.
    pub(crate) fn launch(mut self, args: &[OsString]) -> std::io::Result<Child> {
        let mut bytes = Vec::with_capacity(args.iter().map(|a| a.len() + 1).sum());
        for arg in args {
            bytes.extend_from_slice(arg.as_bytes());
            bytes.push(0);
        }
        let mut pipe = self
            .args
            .take()
            .ok_or_else(|| std::io::Error::other("arguments sent already"))?;
        pipe.write_all(&bytes)?;
        drop(pipe);
        self.child
            .take()
            .ok_or_else(|| std::io::Error::other("launched already"))
    }
}

impl Drop for Warm {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a cell's warm process is started with (the launcher indexes cells as slots).
pub(crate) struct SlotSetup {
    /// The slot's `cgroup.procs` files (none without cgroups).
    pub cgroup_procs: Vec<PathBuf>,
    /// The slot's uid, when the service can switch to one.
    pub uid: Option<u32>,
}

enum Request {
    /// Start the slot's next process with this launch, unless one waits with it.
    Refill(usize, Launch),
    /// Hand over the slot's process if it waits with this launch, else start one.
    Take(usize, Launch, oneshot::Sender<std::io::Result<Warm>>),
}

/// The launcher thread's handle. Dropping it ends the thread and kills the waiting processes.
pub(crate) struct Launcher {
    requests: mpsc::Sender<Request>,
}

/// What the launcher thread works with.
struct Setup {
    bwrap: PathBuf,
    seccomp: Vec<u8>,
    slots: Vec<SlotSetup>,
}

impl Launcher {
    /// Starts the launcher thread for `slots`. Slots fill after their first run.
    pub(crate) fn start(
        bwrap: PathBuf,
        seccomp: Vec<u8>,
        slots: Vec<SlotSetup>,
    ) -> Result<Self, SandboxError> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let setup = Setup {
            bwrap,
            seccomp,
            slots,
        };
        std::thread::Builder::new()
            .name("hone-sandbox-launcher".to_owned())
            .spawn(move || serve(&setup, &inbox))
            .map_err(SandboxError::Prepare)?;
        Ok(Self { requests })
    }

    /// Asks for slot `index`'s next process, started with `launch`, off the run's path.
    pub(crate) fn refill(&self, index: usize, launch: Launch) {
        let _ = self.requests.send(Request::Refill(index, launch));
    }

    /// Slot `index`'s process for a run with `launch`: the one waiting, or a new one.
    pub(crate) async fn take(&self, index: usize, launch: Launch) -> Result<Warm, SandboxError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Take(index, launch, reply))
            .map_err(|_| SandboxError::Setup("the sandbox launcher has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| SandboxError::Setup("the sandbox launcher has stopped".to_owned()))?
            .map_err(|source| SandboxError::Spawn {
                program: "bwrap".to_owned(),
                source,
            })
    }
}

/// The launcher thread: one waiting process per slot, started on request.
fn serve(setup: &Setup, inbox: &mpsc::Receiver<Request>) {
    let mut waiting: Vec<Option<Warm>> = setup.slots.iter().map(|_| None).collect();
    let start = |index: usize, launch: Launch| -> std::io::Result<Warm> {
        let slot = setup
            .slots
            .get(index)
            .ok_or_else(|| std::io::Error::other("no such slot"))?;
        let child = ChildSetup {
            cgroup_procs: slot
                .cgroup_procs
                .iter()
                .map(|p| std::fs::OpenOptions::new().write(true).open(p))
                .collect::<Result<_, _>>()?,
            seccomp: Some(
                crate::seccomp::program_pipe(&setup.seccomp)
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            ),
            uid: slot.uid,
            args: None,
        };
        Warm::spawn(&setup.bwrap, launch, child)
    };
    // Refills wait a moment: the end of a run (the program's exit, the namespaces' teardown,
    // the engine's next write) is the busiest time to fork.
    let mut pending: Vec<(Instant, usize, Launch)> = Vec::new();
    loop {
        let next_due = pending.iter().map(|(due, _, _)| *due).min();
        let request = match next_due {
            None => inbox.recv().ok(),
            Some(due) => match inbox.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(request) => Some(request),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        match request {
            None if next_due.is_none() => return,
            None => {}
            Some(Request::Refill(index, launch)) => {
                pending.push((Instant::now() + REFILL_DELAY, index, launch));
            }
            Some(Request::Take(index, launch, reply)) => {
                pending.retain(|(_, i, _)| *i != index);
                let entry = waiting.get_mut(index);
                let ready = match entry {
                    Some(entry) if entry.as_ref().is_some_and(|w| w.launch == launch) => {
                        entry.take().and_then(|mut w| w.alive().then_some(w))
                    }
                    _ => None,
                };
                let _ = reply.send(ready.map_or_else(|| start(index, launch), Ok));
            }
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(at, _, _)| *at <= now);
        pending = later;
        for (_, index, launch) in due {
            let Some(entry) = waiting.get_mut(index) else {
                continue;
            };
            let ready = entry
                .as_mut()
                .is_some_and(|w| w.launch == launch && w.alive());
            if !ready {
                *entry = start(index, launch)
                    .inspect_err(|e| tracing::warn!(error = %e, "cannot pre-start bwrap"))
                    .ok();
            }
        }
    }
}
