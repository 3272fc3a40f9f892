//! Starting a sandboxed process and watching it ([`watch`], for any started child): stdin fed,
//! stdout and stderr captured up to a cap, and the whole process group killed when the
//! wall-clock timer fires or the output cap is crossed (or the run is abandoned). The
//! process is reaped with `wait4`, whose resource usage covers it and every descendant it
//! waited for: the run's CPU time and peak memory.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::child::{ChildSetup, Rlimits, prepare_child};
use crate::{ResourceUsage, RunOutput, SandboxError, Termination};

/// What one spawn needs.
pub(crate) struct Spawn {
    pub cmd: Command,
    pub stdin: Option<String>,
    pub timeout: Duration,
    pub max_output: usize,
    pub rlimits: Rlimits,
    pub setup: ChildSetup,
}

/// Starts the command and runs it to completion or until a limit trips; never leaves its
/// process group behind.
pub(crate) async fn run(spawn: Spawn) -> Result<RunOutput, SandboxError> {
    let Spawn {
        mut cmd,
        stdin,
        timeout,
        max_output,
        rlimits,
        setup,
    } = spawn;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    prepare_child(cmd.as_std_mut(), Some(rlimits), &setup);
    let program = format!("{:?}", cmd.as_std().get_program());
    // Spawned through std, not tokio: the run is reaped by `wait4` (for its resource usage),
    // so tokio must not reap it first.
    let child = cmd
        .as_std_mut()
        .spawn()
        .map_err(|source| SandboxError::Spawn { program, source })?;
    // The child has its copies; close ours.
    drop(setup);
    watch(child, stdin, timeout, max_output).await
}

/// Watches a started child (its own process group leader, stdio piped) to completion or
/// until a limit trips; feeds `stdin` (empty input when `None`), captures its output, and
/// never leaves its process group behind.
pub(crate) async fn watch(
    mut child: std::process::Child,
    stdin: Option<String>,
    timeout: Duration,
    max_output: usize,
) -> Result<RunOutput, SandboxError> {
    let started = Instant::now();
    let pid = i32::try_from(child.id()).map_err(|_| SandboxError::Setup("pid".to_owned()))?;
    // The group dies with this guard: on every return below, and if the run is abandoned
    // (its future dropped, e.g. a cancelled job).
    let group = Group::new(pid);
    let kill_group = || group.kill();
    let reaper = group.clone();
    let reaped = tokio::task::spawn_blocking(move || reaper.reap());

    // Without input the pipe is closed at once: the program reads end of file.
    let stdin_pipe = child.stdin.take().map(tokio::process::ChildStdin::from_std);
    if let (Some(input), Some(Ok(mut pipe))) = (stdin, stdin_pipe) {
        tokio::spawn(async move {
            // A program that exits without reading its input closes the pipe: not an error.
            let _ = pipe.write_all(input.as_bytes()).await;
        });
    }
    let out = child
        .stdout
        .take()
        .map(tokio::process::ChildStdout::from_std);
    let err = child
        .stderr
        .take()
        .map(tokio::process::ChildStderr::from_std);
    let (Some(Ok(out)), Some(Ok(err))) = (out, err) else {
        kill_group();
        return Err(SandboxError::Setup("stdio pipes missing".to_owned()));
    };

    let capture = async {
        let (out, err) = tokio::join!(
            capped(out, max_output, &kill_group),
            capped(err, max_output, &kill_group)
        );
        Ok::<_, SandboxError>((
            out.map_err(SandboxError::Wait)?,
            err.map_err(SandboxError::Wait)?,
        ))
    };
    let work = async {
        let ((out, err), status) = tokio::try_join!(capture, async {
            match reaped.await {
                Ok(r) => r.map_err(SandboxError::Wait),
                Err(e) => Err(SandboxError::Setup(format!("the reaper failed: {e}"))),
            }
        })?;
        Ok::<_, SandboxError>((out, err, status))
    };
    tokio::pin!(work);
    let finished = tokio::select! {
        r = &mut work => Some(r),
        () = tokio::time::sleep(timeout) => None,
    };
    kill_group();
    let timed_out = finished.is_none();
    let result = match finished {
        Some(r) => r,
        // Killed: the pipes close as the process tree dies; keep what it printed so far.
        None => match tokio::time::timeout(Duration::from_secs(5), &mut work).await {
            Ok(r) => r,
            Err(_) => {
                return Err(SandboxError::Setup(
                    "the process tree did not die".to_owned(),
                ));
            }
        },
    };
    let duration = started.elapsed();
    let (out, err, (status, usage)) = result?;
    let termination = if timed_out {
        Termination::Timeout
    } else if out.truncated || err.truncated {
        Termination::OutputLimit
    } else if let Some(code) = status.code() {
        Termination::Exited(code)
    } else {
        match status.signal() {
            Some(sig) if sig == Signal::SIGXCPU as i32 => Termination::Timeout,
            Some(sig) => Termination::Signaled(sig),
            None => Termination::Signaled(0),
        }
    };
    Ok(RunOutput {
        termination,
        stdout: hone_domain::text::from_bytes(&out.bytes),
        stderr: hone_domain::text::from_bytes(&err.bytes),
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        duration,
        usage: Some(usage),
    })
}

/// A run's process group. It is killed on demand (a limit tripped), when the leader has
/// exited (whatever it left behind) and when the guard is dropped, but never after the leader
/// is reaped: until then the leader's pid, and so the group's id, cannot be given to another
/// process.
#[derive(Clone)]
struct Group {
    pid: i32,
    /// Set, under the lock, once the leader is reaped.
    reaped: Arc<Mutex<bool>>,
}

impl Group {
    fn new(pid: i32) -> Self {
        Self {
            pid,
            reaped: Arc::default(),
        }
    }

    fn kill(&self) {
        let reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        if !*reaped {
            let _ = killpg(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }

    /// Waits (blocking) for the leader to exit, kills what is left of the group while the
    /// leader is still a zombie, then reaps the leader with its resource usage.
    fn reap(&self) -> std::io::Result<(ExitStatus, ResourceUsage)> {
        wait_exited(self.pid)?;
        let mut reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = killpg(Pid::from_raw(self.pid), Signal::SIGKILL);
        let done = wait4(self.pid);
        *reaped = true;
        done
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `pid` has exited, leaving it unreaped (`WNOWAIT`).
fn wait_exited(pid: i32) -> std::io::Result<()> {
    let id = libc::id_t::try_from(pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value of the plain C struct.
        #[expect(unsafe_code, reason = "zeroed C struct for waitid")]
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is valid for writes for the call's duration.
        #[expect(
            unsafe_code,
            reason = "waitid with WNOWAIT keeps the exited child unreaped"
        )]
        let done = unsafe {
            libc::waitid(
                libc::P_PID,
                id,
                &raw mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if done == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Waits for `pid` to end (blocking) and reaps it, with its resource usage.
fn wait4(pid: i32) -> std::io::Result<(ExitStatus, ResourceUsage)> {
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    #[expect(unsafe_code, reason = "zeroed C struct for wait4")]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes for the call's duration.
        #[expect(unsafe_code, reason = "wait4 is the call that reports a child's usage")]
        let done = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
        if done == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let micros = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
    };
    Ok((
        ExitStatus::from_raw(status),
        ResourceUsage {
            cpu_time: Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime)),
            peak_memory_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        },
    ))
}

struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

/// Reads up to `cap` bytes; at the first byte beyond it, calls `on_overflow` (which kills the
/// process group) and reports truncation.
async fn capped(
    mut pipe: impl AsyncRead + Unpin,
    cap: usize,
    on_overflow: &impl Fn(),
) -> std::io::Result<Captured> {
    let mut bytes = Vec::with_capacity(cap.min(64 * 1024));
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            return Ok(Captured {
                bytes,
                truncated: false,
            });
        }
        let room = cap - bytes.len();
        if n > room {
            on_overflow();
            bytes.extend_from_slice(&buf[..room]);
            return Ok(Captured {
                bytes,
                truncated: true,
            });
        }
        bytes.extend_from_slice(&buf[..n]);
    }
}
