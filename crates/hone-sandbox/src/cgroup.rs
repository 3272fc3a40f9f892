//! Per-run control groups for memory and process limits, where the host lets us create them:
//! cgroup v2 (`memory.max`, `memory.oom.group`, `pids.max`), else the v1 `memory` and `pids`
//! hierarchies (`memory.limit_in_bytes`, `pids.max`). A sandboxed process joins its run's
//! groups between fork and exec, so nothing it starts escapes them. When no hierarchy is
//! writable the backend falls back to rlimits (address space, processes per uid).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where run groups are created.
#[derive(Debug, Clone)]
pub enum Cgroups {
    /// One unified hierarchy: runs are created under this directory.
    V2 {
        /// `/sys/fs/cgroup/hone`.
        parent: PathBuf,
    },
    /// Separate v1 hierarchies.
    V1 {
        /// `/sys/fs/cgroup/memory/hone`.
        memory: PathBuf,
        /// `/sys/fs/cgroup/pids/hone`.
        pids: PathBuf,
    },
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value)
}

impl Cgroups {
    /// Finds a writable hierarchy with memory and pids controllers, creating `hone` groups.
    pub fn detect(root: &Path) -> Option<Self> {
        let v2_controllers = fs::read_to_string(root.join("cgroup.controllers")).ok();
        if let Some(controllers) = v2_controllers
            && controllers.split_whitespace().any(|c| c == "memory")
            && controllers.split_whitespace().any(|c| c == "pids")
        {
            let parent = root.join("hone");
            let ok = (fs::create_dir_all(&parent).is_ok())
                && write(&root.join("cgroup.subtree_control"), "+memory +pids").is_ok()
                && write(&parent.join("cgroup.subtree_control"), "+memory +pids").is_ok();
            if ok {
                return Some(Self::V2 { parent });
            }
        }
        let memory = root.join("memory").join("hone");
        let pids = root.join("pids").join("hone");
        let writable = |p: &Path| {
            fs::create_dir_all(p).is_ok()
                && fs::metadata(p.join("cgroup.procs")).is_ok()
                && OpenOptions::new()
                    .write(true)
                    .open(p.join("cgroup.procs"))
                    .is_ok()
        };
        (writable(&memory) && writable(&pids)).then_some(Self::V1 { memory, pids })
    }

    /// Creates the groups of one run with its limits.
    pub fn create_run(&self, memory_bytes: u64, max_pids: u64) -> io::Result<RunCgroup> {
        let name = format!("run-{}", uuid::Uuid::now_v7().simple());
        let run = match self {
            Self::V2 { parent } => {
                let dir = parent.join(&name);
                fs::create_dir(&dir)?;
                let run = RunCgroup {
                    dirs: vec![dir.clone()],
                    v2: true,
                };
                write(&dir.join("memory.max"), &memory_bytes.to_string())?;
                let _ = write(&dir.join("memory.swap.max"), "0");
                write(&dir.join("memory.oom.group"), "1")?;
                write(&dir.join("pids.max"), &max_pids.to_string())?;
                run
            }
            Self::V1 { memory, pids } => {
                let (m, p) = (memory.join(&name), pids.join(&name));
                fs::create_dir(&m)?;
                let mut run = RunCgroup {
                    dirs: vec![m.clone()],
                    v2: false,
                };
                fs::create_dir(&p)?;
                run.dirs.push(p.clone());
                write(&m.join("memory.limit_in_bytes"), &memory_bytes.to_string())?;
                let _ = write(
                    &m.join("memory.memsw.limit_in_bytes"),
                    &memory_bytes.to_string(),
                );
                write(&p.join("pids.max"), &max_pids.to_string())?;
                run
            }
        };
        Ok(run)
    }
}

/// The groups of one run; removed (after killing anything left) by [`RunCgroup::remove`].
#[derive(Debug)]
pub struct RunCgroup {
    dirs: Vec<PathBuf>,
    v2: bool,
}

impl RunCgroup {
    /// `cgroup.procs` of every group, opened for the child to join them before exec.
    pub fn procs_files(&self) -> io::Result<Vec<File>> {
        self.dirs
            .iter()
            .map(|d| OpenOptions::new().write(true).open(d.join("cgroup.procs")))
            .collect()
    }

    fn read(&self, file: &str) -> String {
        self.dirs
            .iter()
            .find_map(|d| fs::read_to_string(d.join(file)).ok())
            .unwrap_or_default()
    }

    fn counter(text: &str, key: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the kernel killed a process of the run for memory.
    pub fn oom_killed(&self) -> bool {
        if self.v2 {
            Self::counter(&self.read("memory.events"), "oom_kill ") > 0
        } else {
            Self::counter(&self.read("memory.oom_control"), "oom_kill ") > 0
                || self
                    .read("memory.failcnt")
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0)
                    > 0
        }
    }

    /// Whether a fork was refused because of `pids.max`.
    pub fn hit_pid_limit(&self) -> bool {
        Self::counter(&self.read("pids.events"), "max ") > 0
    }

    /// Kills whatever is left in the groups and removes them.
    pub fn remove(self) {
        for _ in 0..50 {
            let mut busy = false;
            for dir in &self.dirs {
                if self.v2 {
                    let _ = write(&dir.join("cgroup.kill"), "1");
                }
                let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    busy = true;
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            if !busy
                && self
                    .dirs
                    .iter()
                    .all(|d| fs::remove_dir(d).is_ok() || !d.exists())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!(dirs = ?self.dirs, "could not remove a run's cgroups");
    }
}
