//! `specproof install` / `uninstall` (SPEC §7.1): shims in the hooks folder git uses, run by real
//! `git commit` and `git push`.
//!
//! `specproof hook` lands separately, so the tests that run the shims install them from a copy
//! of the binary and then replace that copy with a small script that records how it was called.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{Repo, Run, bin};

const MARKER: &str =
    "# specproof-hook-shim v1: installed by `specproof install`; remove with `specproof uninstall`";
const CLIENT_HOOKS: [&str; 4] = ["pre-commit", "commit-msg", "pre-push", "pre-merge-commit"];

fn run(output: &Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `program args…` in `cwd` with the repository's environment plus `env`.
fn run_program(
    repo: &Repo,
    program: &Path,
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = repo.command(program, cwd);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&cmd.output().expect("run"))
}

/// Runs git in the repository with extra variables, without asserting success.
fn git_try(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["-c", "commit.gpgsign=false"];
    all.extend_from_slice(args);
    run_program(repo, Path::new("git"), repo.path(), &all, env)
}

fn head(repo: &Repo) -> String {
    let out = git_try(repo, &["rev-parse", "-q", "--verify", "HEAD"], &[]);
    out.stdout.trim().to_owned()
}

fn hook_path(repo: &Repo, name: &str) -> PathBuf {
    repo.path().join(".git/hooks").join(name)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// A copy of the built binary in a folder whose name needs quoting in a shell.
struct Copy {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Copy {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("it's a bin");
        std::fs::create_dir(&folder).expect("mkdir");
        let path = folder.join("specproof");
        // `cp`, not std::fs::copy: see write_hook.
        let copied = std::process::Command::new("cp")
            .arg(bin())
            .arg(&path)
            .status()
            .expect("run cp");
        assert!(copied.success(), "cannot copy the binary");
        Self { _dir: dir, path }
    }

    /// `specproof args…` run from this copy, at the repository root.
    fn run(&self, repo: &Repo, args: &[&str]) -> Run {
        run_program(repo, &self.path, repo.path(), args, &[])
    }

    /// Replaces the copy with a script that appends `binary <args>` and then its stdin to `log`,
    /// and exits with `$FAKE_EXIT` (default 0).
    fn fake(&self, log: &Path) {
        std::fs::remove_file(&self.path).expect("remove the copy");
        crate::common::write_executable(
            &self.path,
            &format!(
                "#!/bin/sh\necho \"binary $*\" >> '{}'\ncat >> '{}'\nexit ${{FAKE_EXIT:-0}}\n",
                log.display(),
                log.display()
            ),
        );
    }
}

/// PATH without any folder holding a `specproof`.
fn path_without_specproof() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("specproof").exists())
        .collect();
    std::env::join_paths(kept)
        .expect("join PATH")
        .into_string()
        .expect("PATH is UTF-8")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn install_writes_four_marked_executable_shims_that_run_this_binary() {
    let repo = Repo::new();
    let samples: Vec<_> = std::fs::read_dir(repo.path().join(".git/hooks"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let out = repo.run(&["install"]);
    out.code(0);
    let binary = bin().canonicalize().expect("canonical binary");
    for name in CLIENT_HOOKS {
        out.line_with(&format!("  {name}"), &["installed"]);
        let path = hook_path(&repo, name);
        assert_eq!(mode(&path), 0o755, "{name}");
        let text = read(&path);
        assert_eq!(text.lines().next(), Some("#!/bin/sh"));
        assert_eq!(text.lines().nth(1), Some(MARKER), "{text}");
        assert!(
            text.contains(&format!("specproof='{}'\n", binary.display())),
            "{text}"
        );
        assert!(text.contains("exec \"$specproof\" hook \"$hook\" \"$@\""));
        assert!(text.contains(&format!("hook={name}\n")));
        assert!(!hook_path(&repo, &format!("{name}.pre-specproof")).exists());
    }
    // git's .sample files are not hooks: left as they were, nothing kept.
    for sample in samples {
        let path = repo.path().join(".git/hooks").join(&sample);
        assert!(path.exists(), "{sample:?} was removed");
        assert!(!read(&path).contains(MARKER));
    }
    // No temporary file is left in the hooks folder.
    let names: Vec<String> = std::fs::read_dir(repo.path().join(".git/hooks"))
        .expect("hooks")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn installing_twice_changes_nothing_and_says_already_installed() {
    let repo = Repo::new();
    repo.run(&["install"]).code(0);
    let before: Vec<(Vec<u8>, u64)> = CLIENT_HOOKS
        .iter()
        .map(|n| {
            let p = hook_path(&repo, n);
            (
                std::fs::read(&p).expect("read"),
                std::fs::metadata(&p).expect("stat").ino(),
            )
        })
        .collect();
    let out = repo.run(&["install"]);
    out.code(0);
    for (name, (bytes, inode)) in CLIENT_HOOKS.iter().zip(before) {
        out.line(&format!("  {name:16}  already installed"));
        let p = hook_path(&repo, name);
        assert_eq!(std::fs::read(&p).expect("read"), bytes);
        // Not even rewritten with the same bytes.
        assert_eq!(std::fs::metadata(&p).expect("stat").ino(), inode);
    }
}

#[test]
fn a_shim_of_another_binary_or_mode_is_updated() {
    let repo = Repo::new();
    let copy = Copy::new();
    copy.run(&repo, &["install", "--hook", "pre-commit"])
        .code(0);
    assert!(read(&hook_path(&repo, "pre-commit")).contains("it'\\''s a bin"));
    repo.run(&["install", "--hook", "pre-commit"])
        .code(0)
        .line_with("  pre-commit", &["updated"]);
    let text = read(&hook_path(&repo, "pre-commit"));
    assert!(!text.contains("it'\\''s a bin"), "{text}");
    std::fs::set_permissions(
        hook_path(&repo, "pre-commit"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    repo.run(&["install", "--hook", "pre-commit"])
        .code(0)
        .line_with("  pre-commit", &["updated"]);
    assert_eq!(mode(&hook_path(&repo, "pre-commit")), 0o755);
}

#[test]
fn a_foreign_pre_commit_is_kept_runs_first_and_its_failure_stops_the_commit() {
    let repo = Repo::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("log");
    let foreign = format!(
        "#!/bin/sh\necho \"foreign $*\" >> '{}'\nexit ${{FOREIGN_EXIT:-0}}\n",
        log.display()
    );
    crate::common::write_executable(&hook_path(&repo, "pre-commit"), &foreign);
    let copy = Copy::new();
    let out = copy.run(&repo, &["install"]);
    out.code(0).line(
        "  pre-commit        installed; kept your existing hook as pre-commit.pre-specproof (it runs first)",
    );
    assert_eq!(read(&hook_path(&repo, "pre-commit.pre-specproof")), foreign);
    assert!(read(&hook_path(&repo, "pre-commit")).contains(MARKER));
    copy.fake(&log);

    // The kept hook fails: the commit does not happen, specproof is not run.
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    let before = head(&repo);
    let out = git_try(&repo, &["commit", "-qm", "one"], &[("FOREIGN_EXIT", "1")]);
    assert_ne!(out.code, 0, "the commit went through: {}", out.stderr);
    assert_eq!(head(&repo), before);
    assert_eq!(read(&log), "foreign \n");

    // The kept hook passes: specproof runs next, for pre-commit and then commit-msg.
    std::fs::remove_file(&log).expect("rm log");
    git_try(&repo, &["commit", "-qm", "one"], &[]).code(0);
    assert_ne!(head(&repo), before);
    let lines: Vec<String> = read(&log).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "foreign ");
    assert_eq!(lines[1], "binary hook pre-commit");
    assert!(
        lines[2].starts_with("binary hook commit-msg ") && lines[2].ends_with("COMMIT_EDITMSG"),
        "{lines:?}"
    );

    // specproof fails: the commit does not happen.
    repo.write("a.txt", "b\n");
    repo.git(&["add", "a.txt"]);
    let before = head(&repo);
    let out = git_try(&repo, &["commit", "-qm", "two"], &[("FAKE_EXIT", "1")]);
    assert_ne!(out.code, 0);
    assert_eq!(head(&repo), before);
}

#[test]
fn a_missing_binary_fails_the_hook_closed_and_fail_open_lets_it_pass_with_a_warning() {
    let repo = Repo::new();
    let copy = Copy::new();
    copy.run(&repo, &["install"]).code(0);
    std::fs::remove_file(&copy.path).expect("remove the copy");
    let path = path_without_specproof();
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);

    let out = git_try(&repo, &["commit", "-qm", "one"], &[("PATH", &path)]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(head(&repo).is_empty(), "a commit was made");
    assert!(
        out.stderr.contains(&format!(
            "specproof: the git hook pre-commit cannot run: the specproof binary is missing (was {}, and there is no specproof on PATH).",
            copy.path.display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("./install.sh"), "{}", out.stderr);
    assert!(out.stderr.contains("specproof uninstall"), "{}", out.stderr);

    // Any value but 1 is not fail-open.
    let out = git_try(
        &repo,
        &["commit", "-qm", "one"],
        &[("PATH", &path), ("SPECPROOF_FAIL_OPEN", "yes")],
    );
    assert_eq!(out.code, 1);
    assert!(head(&repo).is_empty());

    let out = git_try(
        &repo,
        &["commit", "-qm", "one"],
        &[("PATH", &path), ("SPECPROOF_FAIL_OPEN", "1")],
    );
    out.code(0);
    assert!(!head(&repo).is_empty(), "no commit was made");
    assert!(
        out.stderr.contains(
            "specproof: warning: SPECPROOF_FAIL_OPEN=1: the pre-commit hook passes without specproof's checks"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the git hook commit-msg cannot run"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_binary_falls_back_to_specproof_on_path() {
    let repo = Repo::new();
    let copy = Copy::new();
    copy.run(&repo, &["install", "--hook", "pre-commit"])
        .code(0);
    std::fs::remove_file(&copy.path).expect("remove the copy");
    let other = tempfile::tempdir().expect("tempdir");
    let log = other.path().join("log");
    crate::common::write_executable(
        &other.path().join("specproof"),
        &format!("#!/bin/sh\necho \"on path $*\" >> '{}'\n", log.display()),
    );
    let path = format!("{}:{}", other.path().display(), path_without_specproof());
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    git_try(&repo, &["commit", "-qm", "one"], &[("PATH", &path)]).code(0);
    assert_eq!(read(&log), "on path hook pre-commit\n");
}

#[test]
fn pre_push_stdin_reaches_both_the_kept_hook_and_specproof() {
    let repo = Repo::new();
    let remote = tempfile::tempdir().expect("tempdir");
    let remote_path = remote.path().join("remote.git");
    git_try(
        &repo,
        &["init", "-q", "--bare", remote_path.to_str().expect("utf-8")],
        &[],
    )
    .code(0);
    repo.git(&[
        "remote",
        "add",
        "origin",
        remote_path.to_str().expect("utf-8"),
    ]);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    repo.git(&["commit", "-qm", "one"]);
    let oid = head(&repo);

    let logs = tempfile::tempdir().expect("tempdir");
    let kept_log = logs.path().join("kept");
    crate::common::write_executable(
        &hook_path(&repo, "pre-push"),
        &format!(
            "#!/bin/sh\necho \"kept $*\" > '{0}'\ncat >> '{0}'\n",
            kept_log.display()
        ),
    );
    let copy = Copy::new();
    copy.run(&repo, &["install", "--hook", "pre-push"]).code(0);
    let log = logs.path().join("binary");
    copy.fake(&log);

    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp_str = tmp.path().to_str().expect("utf-8");
    let out = git_try(
        &repo,
        &["push", "-q", "origin", "main"],
        &[("TMPDIR", tmp_str)],
    );
    out.code(0);
    let url = remote_path.display();
    let line = format!("refs/heads/main {oid} refs/heads/main {}\n", "0".repeat(40));
    assert_eq!(read(&kept_log), format!("kept origin {url}\n{line}"));
    assert_eq!(
        read(&log),
        format!("binary hook pre-push origin {url}\n{line}")
    );
    // The saved stdin is gone.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "{left:?}");

    // A failing kept hook stops the push before specproof runs.
    crate::common::write_executable(
        &hook_path(&repo, "pre-push.pre-specproof"),
        "#!/bin/sh\ncat >/dev/null\nexit 3\n",
    );
    std::fs::remove_file(&log).expect("rm log");
    repo.write("a.txt", "b\n");
    repo.git(&["commit", "-qam", "two"]);
    let out = git_try(&repo, &["push", "-q", "origin", "main"], &[]);
    assert_ne!(out.code, 0);
    assert!(!log.exists());
    let remote_head = git_try(
        &repo,
        &[
            "--git-dir",
            remote_path.to_str().expect("utf-8"),
            "rev-parse",
            "main",
        ],
        &[],
    );
    assert_eq!(remote_head.stdout.trim(), oid);
}

#[test]
fn uninstall_removes_the_shims_restores_the_kept_hook_and_leaves_foreign_hooks_alone() {
    let repo = Repo::new();
    let foreign = b"#!/bin/sh\n# mine \xff\nexit 0\n";
    let pre_commit = hook_path(&repo, "pre-commit");
    std::fs::write(&pre_commit, foreign).expect("write");
    std::fs::set_permissions(&pre_commit, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    repo.run(&["install", "--hook", "pre-commit", "--hook", "commit-msg"])
        .code(0);
    // A hook of the user's own, written after install.
    crate::common::write_executable(&hook_path(&repo, "pre-push"), "#!/bin/sh\nexit 0\n");

    let out = repo.run(&["uninstall"]);
    out.code(0)
        .line("  pre-commit        removed; restored your hook from pre-commit.pre-specproof")
        .line("  commit-msg        removed")
        .line("  pre-push          not specproof's hook: left alone");
    assert_eq!(std::fs::read(&pre_commit).expect("read"), foreign);
    assert_eq!(mode(&pre_commit), 0o700);
    assert!(!hook_path(&repo, "pre-commit.pre-specproof").exists());
    assert!(!hook_path(&repo, "commit-msg").exists());
    assert_eq!(read(&hook_path(&repo, "pre-push")), "#!/bin/sh\nexit 0\n");

    let out = repo.run(&["uninstall"]);
    out.code(0);
    assert!(
        out.stdout.starts_with("No specproof hook is installed in "),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read(&pre_commit).expect("read"), foreign);
}

#[test]
fn uninstall_only_the_named_hook() {
    let repo = Repo::new();
    repo.run(&["install"]).code(0);
    repo.run(&["uninstall", "--hook", "commit-msg"])
        .code(0)
        .line("  commit-msg  removed");
    assert!(!hook_path(&repo, "commit-msg").exists());
    assert!(read(&hook_path(&repo, "pre-commit")).contains(MARKER));
    assert!(read(&hook_path(&repo, "pre-push")).contains(MARKER));
}

#[test]
fn a_foreign_hook_with_a_kept_one_already_there_is_refused_and_both_are_untouched() {
    let repo = Repo::new();
    crate::common::write_executable(&hook_path(&repo, "pre-commit"), "#!/bin/sh\necho new\n");
    crate::common::write_executable(
        &hook_path(&repo, "pre-commit.pre-specproof"),
        "#!/bin/sh\necho old\n",
    );
    let out = repo.run(&["install"]);
    out.code(1)
        .line_with(
            "  pre-commit        refused: ",
            &["pre-specproof already exists", "specproof install again"],
        )
        .line_with("  commit-msg", &["installed"]);
    assert_eq!(
        read(&hook_path(&repo, "pre-commit")),
        "#!/bin/sh\necho new\n"
    );
    assert_eq!(
        read(&hook_path(&repo, "pre-commit.pre-specproof")),
        "#!/bin/sh\necho old\n"
    );
    // Uninstall leaves both, and says so.
    repo.run(&["uninstall"]).code(0).line_with(
        "  pre-commit        not specproof's hook: left alone, and pre-commit.pre-specproof too",
        &[],
    );
    assert_eq!(
        read(&hook_path(&repo, "pre-commit")),
        "#!/bin/sh\necho new\n"
    );
    assert!(hook_path(&repo, "pre-commit.pre-specproof").exists());
}

#[test]
fn a_symlinked_foreign_hook_is_kept_as_the_link_itself() {
    let repo = Repo::new();
    repo.write("scripts/check.sh", "#!/bin/sh\nexit 0\n");
    let pre_commit = hook_path(&repo, "pre-commit");
    std::fs::create_dir_all(pre_commit.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink("../../scripts/check.sh", &pre_commit).expect("symlink");
    repo.run(&["install", "--hook", "pre-commit"]).code(0);
    let kept = hook_path(&repo, "pre-commit.pre-specproof");
    assert_eq!(
        std::fs::read_link(&kept).expect("a link"),
        Path::new("../../scripts/check.sh")
    );
    repo.run(&["uninstall"]).code(0);
    assert_eq!(
        std::fs::read_link(&pre_commit).expect("a link"),
        Path::new("../../scripts/check.sh")
    );
    assert_eq!(
        read(&repo.path().join("scripts/check.sh")),
        "#!/bin/sh\nexit 0\n"
    );
}

#[test]
fn a_repository_local_core_hooks_path_is_honoured() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let out = repo.run(&["install"]);
    out.code(0);
    assert!(out.stdout.contains(".githooks"), "{}", out.stdout);
    for name in CLIENT_HOOKS {
        assert!(read(&repo.path().join(".githooks").join(name)).contains(MARKER));
        assert!(!hook_path(&repo, name).exists());
    }
    // Also from a subfolder: the folder is the working tree's, not the current one's.
    std::fs::create_dir(repo.path().join("sub")).expect("mkdir");
    repo.run_in("sub", &["install"], &[])
        .code(0)
        .line_with("  pre-commit", &["already installed"]);
    assert!(!repo.path().join("sub/.githooks").exists());
}

#[test]
fn a_local_core_hooks_path_outside_the_repository_is_refused_unless_forced() {
    let repo = Repo::new();
    let shared = tempfile::tempdir().expect("tempdir");
    let dir = shared.path().join("hooks");
    repo.git(&["config", "core.hooksPath", dir.to_str().expect("utf-8")]);
    let out = repo.run(&["install"]);
    out.code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    for part in [
        "is outside this repository",
        "shared by every repository that uses it",
        "specproof install --force",
        "local config",
    ] {
        assert!(out.stderr.contains(part), "{part:?} not in {}", out.stderr);
    }
    assert!(!dir.exists(), "the folder was created");
    repo.run(&["uninstall"]).code(2);

    repo.run(&["install", "--force"]).code(0);
    for name in CLIENT_HOOKS {
        assert!(read(&dir.join(name)).contains(MARKER));
    }
    repo.run(&["uninstall", "--force"]).code(0);
    assert!(!dir.join("pre-commit").exists());

    // A relative one leading out with "..".
    repo.git(&["config", "core.hooksPath", "../elsewhere"]);
    repo.run(&["install"]).code(2);
}

#[test]
fn a_global_core_hooks_path_is_refused_unless_forced() {
    let repo = Repo::new();
    std::fs::write(
        repo.home().join(".gitconfig"),
        "[core]\n\thooksPath = ~/githooks\n",
    )
    .expect("write global config");
    let out = repo.run(&["install"]);
    out.code(2);
    for part in [
        "shared by every repository that uses it",
        "global config",
        "--force",
        "git config core.hooksPath ",
    ] {
        assert!(out.stderr.contains(part), "{part:?} not in {}", out.stderr);
    }
    let dir = repo.home().join("githooks");
    assert!(!dir.exists());
    repo.run(&["install", "--force"]).code(0);
    assert!(read(&dir.join("pre-commit")).contains(MARKER));

    // Set through GIT_CONFIG_GLOBAL, and pointing into this very repository: still the global
    // config, read by every repository.
    let config = tempfile::NamedTempFile::new().expect("tempfile");
    let inside = repo.path().join(".git/hooks");
    std::fs::write(
        config.path(),
        format!("[core]\n\thooksPath = {}\n", inside.display()),
    )
    .expect("write");
    let env = [("GIT_CONFIG_GLOBAL", config.path().to_str().expect("utf-8"))];
    let out = repo.run_in(".", &["install"], &env);
    out.code(2);
    assert!(out.stderr.contains("global config"), "{}", out.stderr);
    repo.run_in(".", &["install", "--force"], &env).code(0);
    assert!(read(&inside.join("pre-commit")).contains(MARKER));

    // The way out the message names: the repository's own folder, set locally.
    repo.git(&["config", "core.hooksPath", inside.to_str().expect("utf-8")]);
    repo.run(&["install"]).code(0);
}

#[test]
fn installing_from_a_linked_worktree_writes_to_the_common_dir() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    repo.git(&["commit", "-qm", "one"]);
    let trees = tempfile::tempdir().expect("tempdir");
    let wt = trees.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().expect("utf-8")]);
    let out = run_program(&repo, &bin(), &wt, &["install"], &[]);
    out.code(0);
    for name in CLIENT_HOOKS {
        assert!(read(&hook_path(&repo, name)).contains(MARKER), "{name}");
    }
    assert!(!repo.path().join(".git/worktrees/wt/hooks").exists());
    repo.run(&["install"])
        .code(0)
        .line_with("  pre-push", &["already installed"]);
    run_program(&repo, &bin(), &wt, &["uninstall"], &[])
        .code(0)
        .line("  pre-commit        removed");
    assert!(!hook_path(&repo, "pre-commit").exists());
}

#[test]
fn repo_option_works_from_outside_the_repository() {
    let repo = Repo::new();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = run_program(
        &repo,
        &bin(),
        elsewhere.path(),
        &["--repo", repo.path().to_str().expect("utf-8"), "install"],
        &[],
    );
    out.code(0);
    assert!(read(&hook_path(&repo, "pre-commit")).contains(MARKER));
    assert!(!elsewhere.path().join(".git").exists());
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("dir").count(), 0);
}

#[test]
fn a_missing_repository_is_a_clear_error() {
    let folder = Repo::bare_folder();
    let out = folder.run(&["install", "--repo", "no/such/dir"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("no/such/dir does not exist; pass --repo"),
        "{}",
        out.stderr
    );
    let out = folder.run(&["install"]);
    out.code(2);
    assert!(
        out.stderr.contains("is not inside a git repository"),
        "{}",
        out.stderr
    );
    let out = folder.run(&["uninstall"]);
    out.code(2);
}

#[test]
fn a_submodule_gets_hooks_of_its_own() {
    let inner = Repo::new();
    inner.write("lib.txt", "lib\n");
    inner.git(&["add", "lib.txt"]);
    inner.git(&["commit", "-qm", "lib"]);
    let repo = Repo::new();
    let url = inner.path().to_str().expect("utf-8");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        url,
        "sub",
    ]);
    let out = run_program(&repo, &bin(), &repo.path().join("sub"), &["install"], &[]);
    out.code(0);
    let own = repo.path().join(".git/modules/sub/hooks");
    for name in CLIENT_HOOKS {
        assert!(read(&own.join(name)).contains(MARKER), "{name}");
        assert!(
            !hook_path(&repo, name).exists(),
            "{name} in the superproject"
        );
    }
}
