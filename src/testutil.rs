//! Helpers shared by the unit tests.

use std::path::Path;
use std::process::Command;

/// Runs `script` with `sh -c` in `dir` with extra variables, isolated from the machine's git
/// config; panics with git's message when it fails; returns stdout without surrounding space.
pub fn sh(dir: &Path, script: &str, env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
