//! Starting a sandboxed process and watching it: rlimits applied before exec, stdin fed,
//! stdout and stderr captured up to a cap, and the whole process group killed when the
//! wall-clock timer fires or the output cap is crossed (or the run is abandoned). The
//! process is reaped with `wait4`, whose resource usage covers it and every descendant it
//! waited for: the run's CPU time and peak memory.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{ResourceUsage, RunOutput, SandboxError, Termination};

/// Resource limits applied to the sandbox process (and inherited by everything it starts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rlimits {
    /// CPU seconds.
    pub cpu_s: u64,
    /// Address space in bytes; `None` leaves it unlimited (a cgroup limits memory instead, or
    /// the runtime reserves huge virtual ranges, as V8 does).
    pub address_space: Option<u64>,
    /// Largest file the program may write.
    pub file_size: u64,
    /// Open file descriptors.
    pub open_files: u64,
    /// Processes of the run's uid; only meaningful when the run has a uid of its own.
    pub processes: Option<u64>,
}

/// The fd on which bubblewrap reads the seccomp program (`--seccomp 200`).
pub(crate) const SECCOMP_FD: i32 = 200;

/// What the child does between fork and exec, in this order: join the run's cgroups, set
/// rlimits, put the seccomp program on [`SECCOMP_FD`], drop to the run's uid.
#[derive(Default)]
pub(crate) struct ChildSetup {
    /// `cgroup.procs` files to write the child's pid into.
    pub cgroup_procs: Vec<std::fs::File>,
    /// The compiled seccomp program.
    pub seccomp: Option<std::fs::File>,
    /// The unprivileged host uid (and gid) to run as, when the service runs as root.
    pub uid: Option<u32>,
}

/// Formats `n` in decimal into `buf` without allocating; returns the length.
fn decimal(mut n: u32, buf: &mut [u8; 16]) -> usize {
    let mut tmp = [0u8; 16];
    let mut len = 0;
    loop {
        tmp[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        buf[i] = tmp[len - 1 - i];
    }
    buf[len] = b'\n';
    len + 1
}

/// Installs `limits` and `setup` in the child between fork and exec.
fn prepare_child(cmd: &mut Command, limits: Rlimits, setup: &ChildSetup) {
    use std::os::fd::AsRawFd;
    let procs: Vec<i32> = setup.cgroup_procs.iter().map(AsRawFd::as_raw_fd).collect();
    let seccomp = setup.seccomp.as_ref().map(AsRawFd::as_raw_fd);
    let uid = setup.uid;
    let child = move || -> std::io::Result<()> {
        let last = std::io::Error::last_os_error;
        // SAFETY (for the libc calls below): getpid, write, dup2, fcntl, setgroups, setgid and
        // setuid are async-signal-safe; the buffers are on this stack.
        #[expect(unsafe_code, reason = "raw syscalls between fork and exec")]
        unsafe {
            let mut buf = [0u8; 16];
            let len = decimal(libc::getpid().unsigned_abs(), &mut buf);
            for &fd in &procs {
                if libc::write(fd, buf.as_ptr().cast(), len) < 0 {
                    return Err(last());
                }
            }
        }
        let lim = |r, v| setrlimit(r, v, v).map_err(std::io::Error::from);
        lim(Resource::RLIMIT_CPU, limits.cpu_s)?;
        lim(Resource::RLIMIT_FSIZE, limits.file_size)?;
        lim(Resource::RLIMIT_NOFILE, limits.open_files)?;
        lim(Resource::RLIMIT_CORE, 0)?;
        if let Some(bytes) = limits.address_space {
            lim(Resource::RLIMIT_AS, bytes)?;
        }
        if let Some(n) = limits.processes {
            lim(Resource::RLIMIT_NPROC, n)?;
        }
        #[expect(unsafe_code, reason = "raw syscalls between fork and exec")]
        unsafe {
            if let Some(fd) = seccomp {
                if fd == SECCOMP_FD {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(last());
                    }
                } else if libc::dup2(fd, SECCOMP_FD) < 0 {
                    return Err(last());
                }
            }
            if let Some(uid) = uid
                && (libc::setgroups(0, std::ptr::null()) < 0
                    || libc::setgid(uid) < 0
                    || libc::setuid(uid) < 0)
            {
                return Err(last());
            }
        }
        Ok(())
    };
    // SAFETY: the closure only makes async-signal-safe calls and touches no memory shared
    // with the parent; that is what pre_exec requires.
    #[expect(
        unsafe_code,
        reason = "limits and credentials must be set between fork and exec"
    )]
    unsafe {
        cmd.pre_exec(child);
    }
}

/// What one spawn needs.
pub(crate) struct Spawn {
    pub cmd: Command,
    pub stdin: Option<String>,
    pub timeout: Duration,
    pub max_output: usize,
    pub rlimits: Rlimits,
    pub setup: ChildSetup,
}

/// Runs the command to completion or until a limit trips; never leaves its process group
/// behind.
pub(crate) async fn run(spawn: Spawn) -> Result<RunOutput, SandboxError> {
    let Spawn {
        mut cmd,
        stdin,
        timeout,
        max_output,
        rlimits,
        setup,
    } = spawn;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    prepare_child(&mut cmd, rlimits, &setup);
    let program = format!("{:?}", cmd.as_std().get_program());
    let started = Instant::now();
    // Spawned through std, not tokio: the run is reaped by `wait4` below (for its resource
    // usage), so tokio must not reap it first.
    let mut child = cmd
        .as_std_mut()
        .spawn()
        .map_err(|source| SandboxError::Spawn { program, source })?;
    // The child has its copies; close ours.
    drop(setup);
    let pid = i32::try_from(child.id()).map_err(|_| SandboxError::Setup("pid".to_owned()))?;
    // The group dies with this guard: on every return below, and if the run is abandoned
    // (its future dropped, e.g. a cancelled job).
    let group = KillGroup(Pid::from_raw(pid));
    let kill_group = || group.kill();
    let reaped = tokio::task::spawn_blocking(move || wait4(pid));

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

/// Kills a process group when dropped.
struct KillGroup(Pid);

impl KillGroup {
    fn kill(&self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

impl Drop for KillGroup {
    fn drop(&mut self) {
        self.kill();
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
