//! How a job's limits become rlimits and interpreter arguments, shared by the backends.

use std::time::Duration;

use hone_domain::Language;
use hone_domain::spec::Limits;
use tokio::process::Command;

use crate::child::{ChildSetup, Rlimits};
use crate::process::Spawn;
use crate::{RunRequest, SandboxConfig};

/// Open files per process.
const MAX_OPEN_FILES: u64 = 256;
/// Processes bubblewrap itself adds to a run (the outer bwrap and the namespace's init), and
/// the slot's next bubblewrap, which waits under the same uid.
const WRAPPER_PROCESSES: u64 = 4;

/// The rlimits of a run. With a cgroup the memory limit lives there (an address-space limit
/// breaks runtimes that reserve large virtual ranges); without one, the address space is
/// limited, except for node, whose heap flag limits it instead.
pub(crate) fn rlimits(
    request: &RunRequest,
    config: &SandboxConfig,
    has_cgroup: bool,
    own_uid: bool,
) -> Rlimits {
    let language = request.runtime.language;
    rlimits_for(&request.limits, language, config, has_cgroup, own_uid)
}

/// The rlimits of a run with `limits` in `language`. CPU time is a backstop at the
/// service-wide maximum, the same for every run: the job's own timeout is the wall-clock
/// timer's, which kills the process group.
pub(crate) fn rlimits_for(
    limits: &Limits,
    language: Language,
    config: &SandboxConfig,
    has_cgroup: bool,
    own_uid: bool,
) -> Rlimits {
    let address_space =
        (!has_cgroup && language != Language::Javascript).then(|| limits.memory_mb * 1024 * 1024);
    Rlimits {
        cpu_s: config.max_limits.timeout_ms.div_ceil(1000) + 1,
        address_space,
        file_size: config.work_dir_bytes,
        open_files: MAX_OPEN_FILES,
        // RLIMIT_NPROC counts every process and thread of a uid, so it only limits a run
        // that has a uid of its own and no pids cgroup (which is exact and per run).
        processes: (own_uid && !has_cgroup).then_some(limits.max_processes + WRAPPER_PROCESSES),
    }
}

/// The interpreter's arguments: the runtime's own, node's heap limit, the program file.
pub(crate) fn interpreter_args(request: &RunRequest) -> Vec<String> {
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

/// Everything [`crate::process::run`] needs.
pub(crate) fn spawn(
    cmd: Command,
    request: &RunRequest,
    rlimits: Rlimits,
    setup: ChildSetup,
) -> Spawn {
    Spawn {
        cmd,
        stdin: request.stdin.clone(),
        timeout: Duration::from_millis(request.limits.timeout_ms),
        max_output: usize::try_from(request.limits.max_output_bytes).unwrap_or(usize::MAX),
        rlimits,
        setup,
    }
}
