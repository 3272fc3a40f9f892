//! Control groups for memory and process limits, one set per execution slot, where the host
//! lets us create them: cgroup v2 (`memory.max`, `memory.oom.group`, `pids.max`), else the v1
//! `memory` and `pids` hierarchies (`memory.limit_in_bytes`, `pids.max`). A sandboxed process
//! joins its slot's groups between fork and exec, so nothing it starts escapes them. When no hierarchy is
//! writable the backend falls back to rlimits (address space, processes per uid).

use std::fs::{self, OpenOptions};
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

    /// Removes the slot groups left by processes that died without cleaning up (a crash or
    /// SIGKILL), so they do not pile up across restarts.
    pub fn sweep_stale(&self) {
        let parents = match self {
            Self::V2 { parent } => vec![parent.clone()],
            Self::V1 { memory, pids } => vec![memory.clone(), pids.clone()],
        };
        for parent in parents {
            let Ok(entries) = fs::read_dir(&parent) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owner = name
                    .strip_prefix("slot-")
                    .and_then(|rest| rest.split('-').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                let stale = match owner {
                    Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
                    None => name.starts_with("run-"),
                };
                if stale && entry.path().is_dir() {
                    let group = SlotCgroup {
                        dirs: vec![entry.path()],
                        v2: matches!(self, Self::V2 { .. }),
                    };
                    drop(group);
                }
            }
        }
    }

    /// Creates the groups of one execution slot, named after the process, the sandbox
    /// `instance` (tests build several in one process) and the slot `index`. Slots are reused run after run (creating
    /// and removing a memory cgroup per run costs milliseconds); a slot serves one run at a
    /// time, and verdicts compare counters before and after the run.
    pub fn create_slot(&self, instance: usize, index: usize) -> io::Result<SlotCgroup> {
        let name = format!("slot-{}-{instance}-{index}", std::process::id());
        let (dirs, v2) = match self {
            Self::V2 { parent } => (vec![parent.join(&name)], true),
            Self::V1 { memory, pids } => (vec![memory.join(&name), pids.join(&name)], false),
        };
        for dir in &dirs {
            match fs::create_dir(dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        let slot = SlotCgroup { dirs, v2 };
        if v2 {
            slot.write_to("memory.oom.group", "1")?;
            let _ = slot.write_to("memory.swap.max", "0");
        }
        Ok(slot)
    }
}

/// Counters read before a run, to tell what happened during it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    oom_kills: u64,
    pid_refusals: u64,
}

/// The groups of one slot; emptied and removed when dropped.
#[derive(Debug)]
pub struct SlotCgroup {
    dirs: Vec<PathBuf>,
    v2: bool,
}

impl SlotCgroup {
    fn write_to(&self, file: &str, value: &str) -> io::Result<()> {
        let dir = self
            .dirs
            .iter()
            .find(|d| d.join(file).exists())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, file.to_owned()))?;
        write(&dir.join(file), value)
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

    fn counters(&self) -> Counters {
        let memory_events = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        Counters {
            oom_kills: Self::counter(&self.read(memory_events), "oom_kill "),
            pid_refusals: Self::counter(&self.read("pids.events"), "max "),
        }
    }

    /// Sets the next run's limits and snapshots the counters.
    pub fn arm(&self, memory_bytes: u64, max_pids: u64) -> io::Result<Counters> {
        if self.v2 {
            self.write_to("memory.max", &memory_bytes.to_string())?;
        } else {
            let _ = self.write_to("memory.memsw.limit_in_bytes", "-1");
            self.write_to("memory.limit_in_bytes", &memory_bytes.to_string())?;
            let _ = self.write_to("memory.memsw.limit_in_bytes", &memory_bytes.to_string());
        }
        self.write_to("pids.max", &max_pids.to_string())?;
        Ok(self.counters())
    }

    /// `cgroup.procs` of every group: a process writes its pid there, before exec, to join
    /// the slot's groups.
    pub fn procs_paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// What happened since `before`: (killed for memory, refused a fork at `pids.max`).
    pub fn verdict(&self, before: Counters) -> (bool, bool) {
        let now = self.counters();
        (
            now.oom_kills > before.oom_kills,
            now.pid_refusals > before.pid_refusals,
        )
    }

    /// Kills whatever is left in the groups and waits until they are empty.
    pub fn clear(&self) -> bool {
        for _ in 0..100 {
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
            if !busy {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for SlotCgroup {
    fn drop(&mut self) {
        self.clear();
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}
