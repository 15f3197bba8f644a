//! specproof through the pre-commit framework and prek (SPEC §7.1): this repository's
//! `.pre-commit-hooks.yaml`, used from a `.pre-commit-config.yaml` and installed by each tool,
//! rejects a done claim without evidence in real `git commit` and `git push`.
//!
//! The tools are the pinned versions `scripts/python-tools.sh` installs into
//! `target/python-tools` (downloaded the first time, reused after). When it cannot install them
//! these tests fail: they never skip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::common::{Repo, Run, bin};
use crate::hooks::{CRITERIA, TASK, accepted, plan, rejected, set_status, task, work_and_verify};

/// The project checkout, where `.pre-commit-hooks.yaml` and `scripts/` are.
fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The bin folder holding `pre-commit` and `prek`, installed once per test run.
fn tools() -> &'static Path {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match TOOLS.get_or_init(install_tools) {
        Ok(bin) => bin,
        Err(e) => panic!("{e}"),
    }
}

fn install_tools() -> Result<PathBuf, String> {
    // CARGO_TARGET_TMPDIR is <target>/tmp: the tools go beside it, into <target>/python-tools.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .ok_or("CARGO_TARGET_TMPDIR has no parent")?;
    let script = project().join("scripts/python-tools.sh");
    let out = Command::new("sh")
        .arg(&script)
        .arg(target.join("python-tools"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run sh {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let bin = stdout.lines().last().map(PathBuf::from);
    match bin {
        Some(bin) if out.status.success() && bin.join("pre-commit").is_file() => Ok(bin),
        _ => Err(format!(
            "scripts/python-tools.sh could not install pre-commit and prek, which these tests need \
             (it needs python3 and PyPI the first time): {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        )),
    }
}

#[derive(Debug, Clone, Copy)]
enum Tool {
    PreCommit,
    Prek,
}

impl Tool {
    fn program(self) -> &'static str {
        match self {
            Tool::PreCommit => "pre-commit",
            Tool::Prek => "prek",
        }
    }
}

/// A repository with plans/p.md and task T-1 in progress committed, a `.pre-commit-config.yaml`
/// naming this project's three hooks, and the git hooks installed by `tool`.
struct Framework {
    repo: Repo,
    /// The repository `.pre-commit-config.yaml` names: `.pre-commit-hooks.yaml` copied from the
    /// project and committed, so uncommitted changes of the checkout never matter.
    _hooks: Repo,
    /// The built specproof's folder first, then the tools, then the caller's PATH.
    path: OsString,
}

impl Framework {
    fn new(tool: Tool) -> Self {
        let tools = tools();
        let hooks = Repo::new();
        std::fs::copy(
            project().join(".pre-commit-hooks.yaml"),
            hooks.path().join(".pre-commit-hooks.yaml"),
        )
        .expect("copy .pre-commit-hooks.yaml");
        hooks.git(&["add", "-A"]);
        hooks.git(&["commit", "-qm", "hooks"]);
        let rev = hooks.head();

        let repo = Repo::new();
        repo.write("plans/p.md", plan(CRITERIA));
        repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
        repo.write(
            ".pre-commit-config.yaml",
            format!(
                "repos:\n  - repo: '{}'\n    rev: {rev}\n    hooks:\n      - id: specproof\n      - id: specproof-commit-msg\n      - id: specproof-pre-push\n",
                hooks.path().display()
            ),
        );
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "plan and task"]);

        let built = bin();
        let mut folders = vec![
            built.parent().expect("bin folder").to_path_buf(),
            tools.to_path_buf(),
        ];
        folders.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let fw = Self {
            repo,
            _hooks: hooks,
            path: std::env::join_paths(folders).expect("PATH"),
        };
        fw.tool(
            tool,
            &[
                "install",
                "--hook-type",
                "pre-commit",
                "--hook-type",
                "commit-msg",
                "--hook-type",
                "pre-push",
            ],
        )
        .code(0);
        let shim = fw.repo.read(".git/hooks/pre-commit");
        assert!(
            shim.contains(tool.program()),
            "{} did not install its pre-commit hook:\n{shim}",
            tool.program()
        );
        fw
    }

    /// `program` in the repository with the framework's environment: PATH, the tools' caches
    /// inside the repository's own HOME (never ~/.cache), and no SKIP from outside.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = self.repo.command(program, self.repo.path());
        let home = self.repo.home();
        cmd.env("PATH", &self.path)
            .env("PRE_COMMIT_HOME", home.join("pre-commit-cache"))
            .env("PREK_HOME", home.join("prek-cache"))
            .env("PRE_COMMIT_COLOR", "never")
            .env("PREK_COLOR", "never")
            .env_remove("SKIP")
            .env_remove("PREK_SKIP");
        cmd
    }

    /// Runs `tool args…`.
    fn tool(&self, tool: Tool, args: &[&str]) -> Run {
        let mut cmd = self.command(&tools().join(tool.program()));
        Run::from(&cmd.args(args).output().expect("run the framework"))
    }

    /// Runs git, without asserting success. The hooks' output (the framework's report) may go
    /// to either stream: the returned `stderr` holds both.
    fn git(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(Path::new("git"));
        cmd.args(["-c", "commit.gpgsign=false"]).args(args);
        let mut run = Run::from(&cmd.output().expect("run git"));
        run.stderr = format!("{}{}", run.stdout, run.stderr);
        run
    }

    /// `git add -A`, then `git commit -m msg` through the hooks.
    fn commit_all(&self, msg: &str) -> Run {
        self.repo.git(&["add", "-A"]);
        self.git(&["commit", "-m", msg])
    }

    /// `git add -A`, then `git commit --no-verify -m msg`: no hook runs.
    fn commit_unchecked(&self, msg: &str) -> String {
        self.repo.git(&["add", "-A"]);
        self.repo.git(&["commit", "-q", "--no-verify", "-m", msg]);
        self.repo.head()
    }
}

/// What `branch` names in the bare repository `remote`, empty when it does not exist.
fn remote_head(remote: &Path, branch: &str) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(["rev-parse", "-q", "--verify"])
        .arg(format!("refs/heads/{branch}"))
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[track_caller]
fn push_rejected(run: &Run, parts: &[&str]) {
    assert_ne!(run.code, 0, "the push was accepted:\n{}", run.stderr);
    for part in ["- hook id: specproof-pre-push", "push rejected"]
        .iter()
        .chain(parts)
    {
        assert!(
            run.stderr.contains(part),
            "the rejection does not name {part:?}:\n{}",
            run.stderr
        );
    }
}

fn a_done_claim_without_evidence_is_rejected(tool: Tool) {
    let fw = Framework::new(tool);
    let head = fw.repo.head();
    fw.repo.write("src/a.rs", "fn a() {}\n");
    set_status(&fw.repo, TASK, "in_progress", "done");
    let run = fw.commit_all("T-1 done");
    rejected(
        &fw.repo,
        &head,
        &run,
        &[
            "- hook id: specproof\n",
            "commit rejected",
            "T-1",
            "G3",
            "F11",
            "specproof verify --task T-1",
        ],
    );
}

fn honest_work_is_accepted(tool: Tool) {
    let fw = Framework::new(tool);
    let head = fw.repo.head();
    work_and_verify(&fw.repo);
    set_status(&fw.repo, TASK, "in_progress", "done");
    let run = fw.commit_all("T-1 done: verify passed W-1 and W-2");
    accepted(&fw.repo, &head, &run);
    assert!(
        run.stderr
            .contains("specproof (done claims need fresh evidence)"),
        "the framework did not run the hook:\n{}",
        run.stderr
    );
}

fn the_commit_message_is_checked(tool: Tool) {
    let fw = Framework::new(tool);
    fw.repo
        .write("specproof.yml", "rationalization:\n  commit_msg: block\n");
    let head = fw.repo.head();
    let run = fw.commit_all("T-1: this should work now");
    rejected(
        &fw.repo,
        &head,
        &run,
        &[
            "- hook id: specproof-commit-msg",
            "\"should work\"",
            "rationalization.commit_msg is block",
        ],
    );
    let run = fw.commit_all("specproof.yml: block rationalizations in messages");
    accepted(&fw.repo, &head, &run);
}

fn pre_push_catches_no_verify_commits(tool: Tool) {
    let fw = Framework::new(tool);
    let origin = tempfile::tempdir().expect("remote");
    let url = origin.path().to_str().expect("utf-8");
    fw.repo.git(&["init", "-q", "--bare", url]);
    fw.repo.git(&["remote", "add", "origin", url]);

    // A claim committed with --no-verify, pushed with the repository's root commit: pre-commit
    // names no range then, only the branch.
    fw.repo.write("src/a.rs", "fn a() {}\n");
    set_status(&fw.repo, TASK, "in_progress", "done");
    fw.commit_unchecked("sneaky done");
    let run = fw.git(&["push", "origin", "main"]);
    push_rejected(&run, &["sneaky done", "T-1", "G3", "F11"]);
    assert_eq!(remote_head(origin.path(), "main"), "", "main was pushed");

    // Honest work goes through.
    fw.repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    work_and_verify(&fw.repo);
    set_status(&fw.repo, TASK, "in_progress", "done");
    let head = fw.repo.head();
    accepted(&fw.repo, &head, &fw.commit_all("T-1 done"));
    let run = fw.git(&["push", "origin", "main"]);
    assert_eq!(run.code, 0, "the honest push was rejected:\n{}", run.stderr);
    let pushed = fw.repo.head();
    assert_eq!(remote_head(origin.path(), "main"), pushed);

    // Another claim without evidence, on top: neither a new branch nor main takes it.
    fw.repo
        .write(".specproof/tasks/T-2.md", task("T-2", "done", CRITERIA, ""));
    fw.commit_unchecked("T-2 sneaky done");
    let run = fw.git(&["push", "origin", "HEAD:refs/heads/feature"]);
    push_rejected(&run, &["T-2 sneaky done", "T-2", "F11"]);
    assert_eq!(remote_head(origin.path(), "feature"), "");
    let run = fw.git(&["push", "origin", "main"]);
    push_rejected(&run, &["T-2 sneaky done", "T-2", "F11"]);
    assert_eq!(remote_head(origin.path(), "main"), pushed);
}

#[test]
fn pre_commit_rejects_a_done_claim_without_evidence() {
    a_done_claim_without_evidence_is_rejected(Tool::PreCommit);
}

#[test]
fn prek_rejects_a_done_claim_without_evidence() {
    a_done_claim_without_evidence_is_rejected(Tool::Prek);
}

#[test]
fn pre_commit_accepts_honest_work() {
    honest_work_is_accepted(Tool::PreCommit);
}

#[test]
fn prek_accepts_honest_work() {
    honest_work_is_accepted(Tool::Prek);
}

#[test]
fn pre_commit_runs_the_commit_msg_hook() {
    the_commit_message_is_checked(Tool::PreCommit);
}

#[test]
fn prek_runs_the_commit_msg_hook() {
    the_commit_message_is_checked(Tool::Prek);
}

#[test]
fn pre_commit_pre_push_catches_no_verify_commits() {
    pre_push_catches_no_verify_commits(Tool::PreCommit);
}

#[test]
fn prek_pre_push_catches_no_verify_commits() {
    pre_push_catches_no_verify_commits(Tool::Prek);
}

/// The variables each framework sets for pre-push, without the framework: a range, only the
/// pushed commit (prek, for a push holding the root commit), only the local branch (pre-commit,
/// same case), nothing (run by hand: HEAD), and git's arguments with no line (nothing pushed).
#[test]
fn pre_push_reads_the_framework_variables_when_stdin_is_empty() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and task"]);
    let base = repo.head();
    let origin = tempfile::tempdir().expect("remote");
    let url = origin.path().to_str().expect("utf-8");
    repo.git(&["init", "-q", "--bare", url]);
    repo.git(&["remote", "add", "origin", url]);
    repo.git(&["push", "-q", "origin", "main"]);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim"]);
    let head = repo.head();

    let check = |what: &str, args: &[&str], env: &[(&str, &str)], code: i32| {
        let mut all = vec!["hook", "pre-push"];
        all.extend_from_slice(args);
        let run = repo.run_in(".", &all, env);
        assert_eq!(
            run.code, code,
            "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        if code == 1 {
            assert!(
                run.stderr.contains("push rejected") && run.stderr.contains("F11"),
                "{what}:\n{}",
                run.stderr
            );
        }
    };
    let (from, to) = ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF");
    let (local, remote) = ("PRE_COMMIT_LOCAL_BRANCH", "PRE_COMMIT_REMOTE_NAME");
    check(
        "a range",
        &[],
        &[(from, &base), (to, &head), (remote, "origin")],
        1,
    );
    check(
        "the pushed commit only",
        &[],
        &[(to, &head), (remote, "origin")],
        1,
    );
    check(
        "the local branch only",
        &[],
        &[(local, "refs/heads/main"), (remote, "origin")],
        1,
    );
    check("nothing: HEAD", &[], &[], 1);
    check("git's arguments and no line", &["origin", url], &[], 0);
    check(
        "a range the remote already holds",
        &[],
        &[(from, &base), (to, &base)],
        0,
    );
    check(
        "a branch that does not exist",
        &[],
        &[(local, "refs/heads/nope")],
        2,
    );
}

fn an_override_goes_on_the_record(tool: Tool) {
    let fw = Framework::new(tool);
    let head = fw.repo.head();
    set_status(&fw.repo, TASK, "in_progress", "done");
    fw.repo.git(&["add", "-A"]);
    let mut cmd = fw.command(Path::new("git"));
    cmd.args(["-c", "commit.gpgsign=false", "commit", "-m", "ship"])
        .env("SPECPROOF_OVERRIDE", "release freeze");
    let run = Run::from(&cmd.output().expect("git"));
    accepted(&fw.repo, &head, &run);
    let message = fw.repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Specproof-Override: release freeze"),
        "{message}\n{}",
        run.stderr
    );
}

fn an_amend_is_judged_against_the_parent(tool: Tool) {
    let fw = Framework::new(tool);
    set_status(&fw.repo, TASK, "in_progress", "done");
    let head = fw.commit_unchecked("sneaky claim");
    let run = fw.git(&["commit", "--amend", "-m", "reworded claim"]);
    rejected(&fw.repo, &head, &run, &["T-1", "F11"]);
}

#[test]
fn pre_commit_records_an_override() {
    an_override_goes_on_the_record(Tool::PreCommit);
}

#[test]
fn prek_records_an_override() {
    an_override_goes_on_the_record(Tool::Prek);
}

#[test]
fn pre_commit_judges_an_amend_against_the_parent() {
    an_amend_is_judged_against_the_parent(Tool::PreCommit);
}

#[test]
fn prek_judges_an_amend_against_the_parent() {
    an_amend_is_judged_against_the_parent(Tool::Prek);
}
