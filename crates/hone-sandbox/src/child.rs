//! What a sandboxed process does between fork and exec, in this order: join the slot's
//! cgroups, set rlimits, put the seccomp program (and, for a warm launch, the argument pipe)
//! on the fds bubblewrap reads, drop to the run's uid. Every call there is
//! async-signal-safe. Rlimits can also be set later, from outside, on a process that waits.

use std::os::unix::process::CommandExt;

use nix::sys::resource::{Resource, setrlimit};

/// Resource limits applied to the sandbox process (and inherited by everything it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Rlimits {
    /// Each limit with its value.
    fn pairs(&self) -> Vec<(Resource, u64)> {
        let mut pairs = vec![
            (Resource::RLIMIT_CPU, self.cpu_s),
            (Resource::RLIMIT_FSIZE, self.file_size),
            (Resource::RLIMIT_NOFILE, self.open_files),
        ];
        if let Some(bytes) = self.address_space {
            pairs.push((Resource::RLIMIT_AS, bytes));
        }
        if let Some(n) = self.processes {
            pairs.push((Resource::RLIMIT_NPROC, n));
        }
        pairs
    }
}

/// The fd on which bubblewrap reads the seccomp program (`--seccomp 200`).
pub(crate) const SECCOMP_FD: i32 = 200;

/// The fd on which a warm bubblewrap reads its arguments (`--args 201`).
pub(crate) const ARGS_FD: i32 = 201;

/// What the child does between fork and exec, in this order: join the run's cgroups, set
/// rlimits, put the seccomp program on [`SECCOMP_FD`] (and the argument pipe on
/// [`ARGS_FD`]), drop to the run's uid.
#[derive(Default)]
pub(crate) struct ChildSetup {
    /// `cgroup.procs` files to write the child's pid into.
    pub cgroup_procs: Vec<std::fs::File>,
    /// The compiled seccomp program.
    pub seccomp: Option<std::fs::File>,
    /// The unprivileged host uid (and gid) to run as, when the service runs as root.
    pub uid: Option<u32>,
    /// The read end of a warm launch's argument pipe.
    pub args: Option<std::fs::File>,
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

/// Puts `fd` on `target` for exec: `dup2`, or clearing close-on-exec when it is there
/// already.
///
/// # Safety
/// Between fork and exec only: it makes raw, async-signal-safe calls.
#[expect(unsafe_code, reason = "raw syscalls between fork and exec")]
unsafe fn place(fd: i32, target: i32) -> std::io::Result<()> {
    // SAFETY: fcntl and dup2 are async-signal-safe and touch no memory.
    let done = unsafe {
        if fd == target {
            libc::fcntl(fd, libc::F_SETFD, 0)
        } else {
            libc::dup2(fd, target)
        }
    };
    if done < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Installs `limits` (when given) and `setup` in the child between fork and exec.
pub(crate) fn prepare_child(
    cmd: &mut std::process::Command,
    limits: Option<Rlimits>,
    setup: &ChildSetup,
) {
    use std::os::fd::AsRawFd;
    let procs: Vec<i32> = setup.cgroup_procs.iter().map(AsRawFd::as_raw_fd).collect();
    let seccomp = setup.seccomp.as_ref().map(AsRawFd::as_raw_fd);
    let args = setup.args.as_ref().map(AsRawFd::as_raw_fd);
    let uid = setup.uid;
    // Listed before the fork: the child must not allocate.
    let limits: Vec<(Resource, u64)> = limits.map(|l| l.pairs()).unwrap_or_default();
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
        setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(std::io::Error::from)?;
        for &(resource, value) in &limits {
            setrlimit(resource, value, value).map_err(std::io::Error::from)?;
        }
        #[expect(unsafe_code, reason = "raw syscalls between fork and exec")]
        unsafe {
            if let Some(fd) = args {
                place(fd, ARGS_FD)?;
            }
            if let Some(fd) = seccomp {
                place(fd, SECCOMP_FD)?;
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
