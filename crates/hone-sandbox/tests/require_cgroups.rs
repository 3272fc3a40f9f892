//! A sandbox told to require per-run cgroups refuses to start without them, naming why and
//! what to do, instead of falling back to rlimits.

use hone_sandbox::{Bubblewrap, SandboxConfig};

#[test]
fn required_cgroups_that_cannot_be_made_stop_the_start() {
    if !std::path::Path::new("/usr/bin/bwrap").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs bubblewrap");
        eprintln!("skipped: bubblewrap is not installed");
        return;
    }
    let config = SandboxConfig {
        cgroup_root: Some(std::env::temp_dir().join("no-cgroup-hierarchy-here")),
        require_cgroups: true,
        concurrency: 1,
        ..SandboxConfig::default()
    };
    let refused = Bubblewrap::new(config).err().expect("a refusal");
    let why = refused.to_string();
    assert!(why.contains("HONE_SANDBOX_REQUIRE_CGROUPS"), "{why}");
    assert!(why.contains("docs/deployment.md"), "{why}");

    // Without the requirement the same host starts, limiting with rlimits.
    let config = SandboxConfig {
        cgroup_root: Some(std::env::temp_dir().join("no-cgroup-hierarchy-here")),
        concurrency: 1,
        ..SandboxConfig::default()
    };
    Bubblewrap::new(config).expect("starts without cgroups");
}
