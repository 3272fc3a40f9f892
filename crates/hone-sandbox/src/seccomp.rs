//! The seccomp filter applied to sandboxed programs, built with `seccompiler` (Firecracker's
//! filter library) and handed to bubblewrap as a compiled BPF program.
//!
//! Everything is allowed except what no test program needs and what widens the attack surface
//! of the kernel: tracing other processes, reading their memory, io_uring (which can open
//! sockets without `socket()`), mounts, BPF, perf, kernel keyrings, module and kexec loading,
//! namespace changes, and sockets outside `AF_UNIX`/`AF_INET`/`AF_INET6` (certainly no
//! `AF_VSOCK` or `AF_NETLINK`). Refused calls fail with `EPERM`.

use std::collections::BTreeMap;
use std::io::Write as _;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::SandboxError;

/// Syscalls refused outright.
const DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_setns,
    libc::SYS_unshare,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
];

/// Socket families a program may open (inside an empty network namespace).
const ALLOWED_FAMILIES: &[i32] = &[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6];

fn filter_error(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::SelfCheck(format!("cannot build the seccomp filter: {e}"))
}

/// Compiles the filter for this machine's architecture.
pub fn compile() -> Result<BpfProgram, SandboxError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(filter_error)?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let family_not_allowed = ALLOWED_FAMILIES
        .iter()
        .map(|&f| {
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, f as u64)
                .map_err(filter_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let socket_rule = SeccompRule::new(family_not_allowed).map_err(filter_error)?;
    rules.insert(libc::SYS_socket, vec![socket_rule.clone()]);
    rules.insert(libc::SYS_socketpair, vec![socket_rule]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(filter_error)?;
    BpfProgram::try_from(filter).map_err(filter_error)
}

/// The compiled program as bytes, in the layout the kernel (and bubblewrap) reads.
pub fn program_bytes() -> Result<Vec<u8>, SandboxError> {
    let program = compile()?;
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for insn in &program {
        bytes.extend_from_slice(&insn.code.to_ne_bytes());
        bytes.push(insn.jt);
        bytes.push(insn.jf);
        bytes.extend_from_slice(&insn.k.to_ne_bytes());
    }
    Ok(bytes)
}

/// A pipe whose read end yields the program: what a run hands to bubblewrap. (The program is
/// a few hundred bytes, far below a pipe's buffer, so the write never blocks.)
pub(crate) fn program_pipe(bytes: &[u8]) -> Result<std::fs::File, SandboxError> {
    let (read, write) = nix::unistd::pipe().map_err(|e| SandboxError::Prepare(e.into()))?;
    let mut write = std::fs::File::from(write);
    write.write_all(bytes).map_err(SandboxError::Prepare)?;
    Ok(std::fs::File::from(read))
}
