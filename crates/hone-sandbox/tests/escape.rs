//! The escape suite: hostile programs that must be contained, each with its exact outcome
//! asserted, and after each the host unchanged and no process of the run left behind.
//!
//! Each test gets its own range of run uids, so "no stray process" is checked per test even
//! when tests run in parallel.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hone_domain::spec::JobSpec;
use hone_domain::{Execution, ExecutionStatus};
use hone_sandbox::verify::{self, Runtimes};
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, runtime};
use serde_json::json;

struct Jail {
    sandbox: Arc<dyn Sandbox>,
    runtimes: Runtimes,
    uid_base: u32,
}

impl Jail {
    fn new(uid_base: u32) -> Self {
        let config = SandboxConfig {
            uid_base,
            ..SandboxConfig::default()
        };
        let sandbox = Bubblewrap::new(config).expect("bubblewrap (apt-get install bubblewrap)");
        Self {
            sandbox: Arc::new(sandbox),
            runtimes: Runtimes(runtime::resolve(&[]).0),
            uid_base,
        }
    }

    async fn run(&self, code: &str, extra: serde_json::Value) -> Execution {
        let mut spec = json!({"task": "t", "limits": {"timeout_ms": 5000}});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        let spec = JobSpec::parse(&spec).expect("spec");
        let out = verify::execute(self.sandbox.as_ref(), &self.runtimes, &spec, code)
            .await
            .expect("the sandbox ran");
        self.assert_no_stray_process().await;
        out
    }

    /// No process of this jail's uids is alive on the host (nor owned by host root from it).
    async fn assert_no_stray_process(&self) {
        let range = self.uid_base..self.uid_base + 64;
        let mut stray = Vec::new();
        for _ in 0..25 {
            stray = processes_with_uid_in(&range);
            if stray.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("processes left behind: {stray:?}");
    }
}

fn processes_with_uid_in(range: &std::ops::Range<u32>) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u32>().ok());
        // A zombie is dead: it runs nothing and holds nothing but its pid until init reaps it
        // (bubblewrap's namespace init is reparented to the host's init when it exits last).
        let zombie = status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("Z (zombie)"));
        // The sandbox's own next bubblewrap, waiting for a run's options: a child of this
        // process started by the sandbox, not by any program.
        let parent = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|p| p.trim().parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let waiting = parent == Some(std::process::id())
            && cmdline
                .windows(b"--args\x00201\x00".len())
                .any(|w| w == b"--args\x00201\x00");
        if uid.is_some_and(|u| range.contains(&u)) && !zombie && !waiting {
            let name = status
                .lines()
                .filter(|l| {
                    l.starts_with("Name:") || l.starts_with("State:") || l.starts_with("PPid:")
                })
                .collect::<Vec<_>>()
                .join(" ");
            found.push(format!("{} {name}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

fn lines(out: &Execution) -> Vec<&str> {
    out.stdout.lines().collect()
}

#[tokio::test]
async fn no_network_reaches_the_host_or_the_world() {
    let jail = Jail::new(300_000);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let code = format!(
        r#"
import socket
for port in [{port}, 5432, 8080]:
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2)
        print('connected', port)
    except OSError as e:
        print('refused', port)
try:
    socket.getaddrinfo('example.com', 80)
    print('resolved')
except OSError:
    print('no dns')
try:
    socket.socket(40, socket.SOCK_STREAM)  # AF_VSOCK
    print('vsock')
except OSError as e:
    print('no vsock', e.errno)
"#
    );
    let out = jail.run(&code, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    assert_eq!(
        lines(&out),
        [
            "refused ".to_owned() + &port.to_string(),
            "refused 5432".into(),
            "refused 8080".into(),
            "no dns".into(),
            "no vsock 1".into()
        ]
    );
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "nothing may have connected");
}

#[tokio::test]
async fn the_program_is_unprivileged_and_filtered() {
    let jail = Jail::new(300_100);
    let code = r#"
import ctypes, os
status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
print(status['Uid'].split()[0], status['CapEff'].strip(), status['NoNewPrivs'].strip(), status['Seccomp'].strip())
libc = ctypes.CDLL(None, use_errno=True)
print('ptrace', libc.ptrace(0, 0, 0, 0), ctypes.get_errno())
libc.syscall.restype = ctypes.c_long
print('io_uring', libc.syscall(425, 8, ctypes.create_string_buffer(120)), ctypes.get_errno())
print('unshare', libc.unshare(0x10000000), ctypes.get_errno())
"#;
    let out = jail.run(code, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    assert_eq!(
        lines(&out),
        [
            "65534 0000000000000000 1 2",
            "ptrace -1 1",
            "io_uring -1 1",
            "unshare -1 1"
        ]
    );
}

#[tokio::test]
async fn host_files_secrets_and_the_database_are_out_of_reach() {
    let jail = Jail::new(300_200);
    let host = tempfile::tempdir().expect("tempdir");
    let db = host.path().join("hone.db");
    std::fs::write(&db, "secret rows").expect("db");
    let code = format!(
        r#"
import os
for p in ['/etc/shadow', '/etc/passwd', '/root', '/home', '{db}', '/var/lib/postgresql', '/proc/1/environ', '/proc/%d/environ' % os.getppid()]:
    try:
        data = open(p, 'rb').read() if not os.path.isdir(p) else os.listdir(p)
        if p.endswith('environ'):
            print(p, 'vars', sorted(v.split(b'=')[0].decode() for v in data.split(b'\0') if v))
        else:
            print(p, 'READ', len(data))
    except OSError as e:
        print(p, 'denied')
print(sorted(os.environ))
"#,
        db = db.display()
    );
    let out = jail.run(&code, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    for line in &lines(&out)[..6] {
        assert!(line.ends_with("denied"), "{line}");
    }
    // The namespace's init (the program itself) and its parent hold no variable of the
    // service's environment.
    for line in &lines(&out)[6..8] {
        assert!(
            line.ends_with("denied") || line.ends_with("vars ['HOME', 'LANG', 'PATH', 'PWD']"),
            "{line}"
        );
    }
    assert_eq!(lines(&out)[8], "['HOME', 'LANG', 'PATH', 'PWD']");
    assert_eq!(std::fs::read_to_string(&db).expect("db"), "secret rows");
}

#[tokio::test]
async fn writes_outside_the_working_directory_fail_and_nothing_survives_the_run() {
    let jail = Jail::new(300_300);
    let code = r#"
import os
for p in ['/usr/evil', '/etc/evil', '/evil', '/proc/sys/kernel/hostname']:
    try:
        open(p, 'w').write('x')
        print(p, 'WROTE')
    except OSError:
        print(p, 'denied')
open('/work/left-behind', 'w').write('x')
open('/tmp/left-behind', 'w').write('x')
os.symlink('/etc/passwd', '/work/passwd-link')
print('planted')
"#;
    let out = jail.run(code, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    assert_eq!(
        lines(&out)[..4],
        [
            "/usr/evil denied",
            "/etc/evil denied",
            "/evil denied",
            "/proc/sys/kernel/hostname denied"
        ]
    );
    assert!(!Path::new("/usr/evil").exists() && !Path::new("/evil").exists());
    let next = "import os\nprint(sorted(os.listdir('/work')), sorted(os.listdir('/tmp')))\n";
    let out = jail.run(next, json!({})).await;
    assert_eq!(
        out.stdout.trim(),
        "['main.py'] []",
        "a run must not see the last run's files"
    );
}

#[tokio::test]
async fn host_processes_cannot_be_signalled() {
    let jail = Jail::new(300_400);
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let code = format!(
        "import os, signal\ntry:\n    os.kill({}, signal.SIGKILL)\n    print('killed')\nexcept OSError:\n    print('no such process')\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint('alive')\n",
        victim.id()
    );
    let out = jail.run(&code, json!({})).await;
    assert!(out.stdout.starts_with("no such process"), "{}", out.stdout);
    assert!(
        victim.try_wait().expect("wait").is_none(),
        "the host process must survive"
    );
    let _ = victim.kill();
    let _ = victim.wait();
}

#[tokio::test]
async fn a_fork_bomb_hits_the_process_limit() {
    let jail = Jail::new(300_500);
    let code = "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n";
    let out = jail
        .run(
            code,
            json!({"limits": {"timeout_ms": 2000, "max_processes": 16}}),
        )
        .await;
    assert_eq!(out.status, ExecutionStatus::ProcessLimit, "{}", out.stderr);
    assert!(out.message.expect("message").contains("16 processes"));
}

#[tokio::test]
async fn a_memory_bomb_is_killed_at_the_memory_limit() {
    let jail = Jail::new(300_600);
    let code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n";
    let out = jail.run(code, json!({"limits": {"memory_mb": 64}})).await;
    assert_eq!(out.status, ExecutionStatus::MemoryLimit, "{}", out.stderr);
}

#[tokio::test]
async fn a_gigabyte_of_output_is_cut_at_the_cap() {
    let jail = Jail::new(300_700);
    let code = "import sys\nblock = 'x' * (1024 * 1024)\nfor _ in range(1024):\n    sys.stdout.write(block)\n";
    let started = std::time::Instant::now();
    let out = jail.run(code, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::OutputLimit);
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout.len(), 262_144);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn filling_the_working_directory_hits_the_disk_limit() {
    let jail = Jail::new(300_800);
    let code = "block = b'x' * (1024 * 1024)\nwith open('/work/big', 'wb') as f:\n    while True:\n        f.write(block)\n        f.flush()\n";
    let out = jail.run(code, json!({"limits": {"memory_mb": 512}})).await;
    assert_eq!(out.status, ExecutionStatus::DiskLimit, "{}", out.stderr);
}

#[tokio::test]
async fn sleeping_forever_and_daemonised_children_are_killed() {
    let jail = Jail::new(300_900);
    let out = jail
        .run(
            "import time\ntime.sleep(3600)\n",
            json!({"limits": {"timeout_ms": 300}}),
        )
        .await;
    assert_eq!(out.status, ExecutionStatus::Timeout);
    let daemon = r#"
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.close(1); os.close(2)
        time.sleep(3600)
    os._exit(0)
print('parent done')
"#;
    let started = std::time::Instant::now();
    let out = jail.run(daemon, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Passed, "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Jail::run already checked that no process of the run is left.
}
