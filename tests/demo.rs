//! `specproof demo`, and the README's first command, `./scripts/demo.sh`, which runs it (its
//! `SPECPROOF_BIN` switch skips the `cargo install` step, which CI cannot afford on every run).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{Repo, bin};

/// What every telling of the story shows: the claim rejected by G3 for stale evidence, the
/// evidence written, the claim accepted, the regression rejected, the summary.
const STORY: [&str; 16] = [
    "$ specproof init",
    "$ specproof install",
    "$ git commit -m \"T-001 done\"",
    "specproof: commit rejected: 3 problems",
    "✗ T-001 [G3 proofs pass] EX-1 F11 EVIDENCE_STALE",
    "fix: `specproof verify --task T-001`, then `git add .specproof/evidence/T-001`",
    "$ specproof verify --task T-001",
    "ok: 3 criteria: 3 passed in",
    "✓ accepted: the hooks passed it, and HEAD moved to",
    "✗ T-001 [regression] EX-2 F10 REGRESSION",
    "✓ rejected: `git commit` exited 1 and HEAD is still",
    "$ specproof matrix",
    "overall: 75.0% compliant (3 of 4 criteria GREEN",
    "$ specproof metrics",
    "silent_skip_rate",
    "== What you saw",
];

#[track_caller]
fn assert_story(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the demo failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for expected in STORY {
        assert!(
            stdout.contains(expected),
            "the demo's output lacks {expected:?}:\n{stdout}\n--- stderr\n{stderr}"
        );
    }
    // Both rejections, in order, after the claim and the regression.
    let claim = stdout.find("F11 EVIDENCE_STALE").expect("F11");
    let accepted = stdout
        .find("$ git commit -m \"T-001 done: hello.sh and its test\"")
        .expect("the accepted commit");
    let regression = stdout.find("F10 REGRESSION").expect("F10");
    assert!(claim < accepted && accepted < regression, "{stdout}");
    stdout
}

/// The files and folders directly in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the temporary folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_demo_script_builds_nothing_with_specproof_bin_and_runs_specproof_demo() {
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh"))
        .env("SPECPROOF_BIN", bin())
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run demo.sh");
    let stdout = assert_story(&out);
    assert!(stdout.contains("== Using SPECPROOF_BIN="), "{stdout}");
    assert!(
        stdout.contains("The demo repository was removed"),
        "{stdout}"
    );
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

/// Run from inside another repository, with every variable a hook or a user could leave behind
/// pointing at it (`GIT_DIR`, `GIT_INDEX_FILE`, an override, fail-open, a global hooks folder, no
/// identity): the demo tells the same story and leaves that repository as it was.
#[test]
fn specproof_demo_runs_the_story_and_never_touches_the_repository_it_is_run_from() {
    let outer = Repo::new();
    outer.write("a.txt", "a\n");
    outer.git(&["add", "-A"]);
    outer.git(&["commit", "-qm", "outer"]);
    outer.write("a.txt", "changed, not staged\n");
    outer.write("new.txt", "untracked\n");
    let head = outer.head();
    let status = outer.git(&["status", "--porcelain"]);
    let shared_hooks = outer.home().join("shared-hooks");
    std::fs::write(
        outer.home().join(".gitconfig"),
        format!("[core]\n\thooksPath = {}\n", shared_hooks.display()),
    )
    .expect("global config");
    let tmp = tempfile::tempdir().expect("tmp");
    let git_dir = outer.path().join(".git");
    let out = outer
        .command(&bin(), outer.path())
        .args(["demo"])
        .env("TMPDIR", tmp.path())
        .env("GIT_DIR", &git_dir)
        .env("GIT_WORK_TREE", outer.path())
        .env("GIT_INDEX_FILE", git_dir.join("index"))
        .env("SPECPROOF_OVERRIDE", "the demo must not see this")
        .env("SPECPROOF_FAIL_OPEN", "1")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .output()
        .expect("run specproof demo");
    let stdout = assert_story(&out);
    for n in 1..=12 {
        assert!(
            stdout.contains(&format!("\n== {n}. ")),
            "no step {n}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("Specproof-Override"), "{stdout}");
    assert_eq!(outer.head(), head, "the demo moved the outer HEAD");
    assert_eq!(outer.git(&["status", "--porcelain"]), status);
    assert_eq!(outer.git(&["log", "--format=%s"]).trim(), "outer");
    assert!(
        !shared_hooks.exists(),
        "the demo installed hooks into the global core.hooksPath"
    );
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn specproof_demo_keep_keeps_the_repository_and_says_where() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tempfile::tempdir().expect("home");
    let out = Command::new(bin())
        .args(["demo", "--keep"])
        .current_dir(tmp.path())
        .env("TMPDIR", tmp.path())
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .expect("run specproof demo --keep");
    let stdout = assert_story(&out);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("The demo repository is kept at "))
        .unwrap_or_else(|| panic!("no kept path:\n{stdout}"));
    let repo = Path::new(line);
    assert!(repo.starts_with(tmp.path()), "{line}");
    let log = Command::new("git")
        .args(["log", "--format=%s"])
        .current_dir(repo)
        .env("HOME", home.path())
        .env_remove("GIT_DIR")
        .output()
        .expect("git log");
    assert_eq!(
        String::from_utf8_lossy(&log.stdout),
        "T-001 done: hello.sh and its test\nStart T-001\nPlan the greeting, task T-001\n"
    );
    assert!(repo.join("hello.sh").is_file());
}
