//! The README's first command, `./scripts/demo.sh`, run against the binary under test (its
//! `SPECPROOF_BIN` switch skips the `cargo install` step, which CI cannot afford on every run).

use std::process::{Command, Stdio};

#[test]
fn the_demo_script_runs_end_to_end() {
    let home = tempfile::tempdir().expect("home");
    let out = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh"))
        .env("SPECPROOF_BIN", crate::common::bin())
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for expected in [
        "ok: no problems (1 plan with 4 criteria, 1 task)",
        "unknown proof \"file_exist\" (did you mean \"file_exists\"?)",
        "\"suggestion\": \"file_exists\"",
        "specproof init would overwrite",
        "T-001: attempt 1 failed; escalation retry",
        "ok: 3 criteria: 3 passed in",
        "ok: 3 criteria: 3 passed (3 cached)",
        "\"result\": \"pass\"",
    ] {
        assert!(
            stdout.contains(expected) || stderr.contains(expected),
            "demo output lacks {expected:?}:\n{stdout}\n{stderr}"
        );
    }
}
