//! A run's directory on the host: created fresh for each run, written before the code starts,
//! never read back or written afterwards, deleted without following links.
//!
//! It holds only `inputs/` (the program and the job's files), which bubblewrap binds
//! read-only into the program's working directory. The writable working directory itself is
//! a size-limited tmpfs inside the sandbox, so the host never touches a path the code could
//! have changed (the 2024 escapes of a well-known code execution API, CVE-2024-28185 and
//! CVE-2024-28189, came from a host that wrote into such a path after the code planted a
//! symlink there).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{RunRequest, SandboxError};

/// A fresh run directory with its inputs written.
pub(crate) struct RunDir {
    dir: tempfile::TempDir,
}

impl RunDir {
    /// Creates the directory under `root` and writes the inputs. The tree is world-readable
    /// (mode 0755/0444) so the unprivileged run uid can read it; nothing in it is secret.
    pub(crate) fn prepare(root: &Path, request: &RunRequest) -> Result<Self, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("hone-run-")
            .tempdir_in(root)
            .map_err(SandboxError::Prepare)?;
        let run = Self { dir };
        let open = fs::Permissions::from_mode(0o755);
        fs::set_permissions(run.dir.path(), open.clone()).map_err(SandboxError::Prepare)?;
        fs::create_dir(run.inputs()).map_err(SandboxError::Prepare)?;
        fs::set_permissions(run.inputs(), open).map_err(SandboxError::Prepare)?;
        write_new(
            &run.inputs().join(request.runtime.file_name),
            &request.source,
        )?;
        for (name, content) in &request.files {
            write_new(&run.inputs().join(name), content)?;
        }
        Ok(run)
    }

    /// The inputs directory.
    pub(crate) fn inputs(&self) -> PathBuf {
        self.dir.path().join("inputs")
    }

    /// The run's root (for backends that need a writable directory of their own).
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Deletes the directory off the async runtime. `remove_dir_all` does not follow links.
    pub(crate) fn remove(self) {
        tokio::task::spawn_blocking(move || drop(self.dir));
    }
}

/// Creates a file that must not exist yet (`O_EXCL`: a planted link is never followed).
fn write_new(path: &Path, content: &str) -> Result<(), SandboxError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(SandboxError::Prepare)?;
    f.write_all(content.as_bytes())
        .map_err(SandboxError::Prepare)
}

#[cfg(test)]
mod tests {
    use super::write_new;

    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("host-file");
        std::fs::write(&target, "host").expect("write");
        let link = dir.path().join("main.py");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(write_new(&link, "evil").is_err());
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "host");
    }
}
