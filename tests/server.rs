//! The server's gate: `specproof install --server` in a bare repository, and real `git push`es
//! to it from a developer repository without any client hook (as after `--no-verify`, or with
//! the hooks deleted). Every rejection leaves the ref where it was, and `git fsck` stays clean.

use std::path::{Path, PathBuf};

use crate::common::{Repo, Run, tamper_input_cache};
use crate::hooks::{CRITERIA, TASK, plan, set_status, task, work_and_verify};

/// A bare repository with specproof's pre-receive hook installed.
struct Server {
    dir: tempfile::TempDir,
}

impl Server {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `git --git-dir=<bare> ARGS`, asserting success.
    fn git(&self, repo: &Repo, args: &[&str]) -> String {
        let mut full = vec!["--git-dir", self.path().to_str().expect("utf-8")];
        full.extend_from_slice(args);
        repo.git(&full)
    }

    fn config(&self, repo: &Repo, key: &str, value: &str) {
        self.git(repo, &["config", key, value]);
    }

    /// The commit `refs/heads/<branch>` names, empty when there is none.
    fn head(&self, repo: &Repo, branch: &str) -> String {
        let run = repo.git_env(
            &[
                "--git-dir",
                self.path().to_str().expect("utf-8"),
                "rev-parse",
                "-q",
                "--verify",
                &format!("refs/heads/{branch}"),
            ],
            &[],
        );
        run.stdout.trim().to_owned()
    }

    /// `git fsck` finds nothing wrong: the hook wrote no ref and no object.
    #[track_caller]
    fn assert_clean(&self, repo: &Repo) {
        let run = repo.git_env(
            &[
                "--git-dir",
                self.path().to_str().expect("utf-8"),
                "fsck",
                "--strict",
                "--no-progress",
            ],
            &[],
        );
        assert_eq!(run.code, 0, "git fsck: {}{}", run.stdout, run.stderr);
        assert!(
            !run.stdout.contains("error") && !run.stderr.contains("error"),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }

    fn ledger(&self) -> String {
        std::fs::read_to_string(self.path().join("specproof/ledger.jsonl")).unwrap_or_default()
    }
}

/// A developer repository (no client hooks) with plans/p.md and T-1 in progress, and a server
/// holding its main branch.
fn setup() -> (Repo, Server) {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and task"]);
    let server = Server {
        dir: tempfile::tempdir().expect("server"),
    };
    let bare = server.path().to_str().expect("utf-8").to_owned();
    repo.git(&["init", "-q", "--bare", &bare]);
    repo.run(&["install", "--server", "--repo", &bare]).code(0);
    repo.git(&["remote", "add", "origin", &bare]);
    let run = push(&repo, &["origin", "main"]);
    assert_eq!(run.code, 0, "the first push: {}", run.stderr);
    assert_eq!(server.head(&repo, "main"), repo.head());
    (repo, server)
}

fn push(repo: &Repo, args: &[&str]) -> Run {
    let mut full = vec!["push"];
    full.extend_from_slice(args);
    repo.git_env(&full, &[])
}

fn commit(repo: &Repo, msg: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", msg]);
}

/// Asserts the server refused the push, left `branch` at `before`, and said each of `parts`.
#[track_caller]
fn refused(server: &Server, repo: &Repo, run: &Run, branch: &str, before: &str, parts: &[&str]) {
    assert_ne!(run.code, 0, "the server accepted the push:\n{}", run.stderr);
    assert!(
        run.stderr.contains("pre-receive hook declined"),
        "{}",
        run.stderr
    );
    for p in parts {
        assert!(
            run.stderr.contains(p),
            "the rejection does not say {p:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(server.head(repo, branch), before, "the ref moved");
    server.assert_clean(repo);
}

#[track_caller]
fn taken(server: &Server, repo: &Repo, run: &Run, branch: &str) {
    assert_eq!(run.code, 0, "the server refused the push:\n{}", run.stderr);
    assert_eq!(server.head(repo, branch), repo.head());
    server.assert_clean(repo);
}

/// T-1 worked, verified and claimed done, pushed and accepted.
fn done_and_pushed(repo: &Repo, server: &Server) {
    work_and_verify(repo);
    set_status(repo, TASK, "in_progress", "done");
    commit(repo, "T-1 done");
    taken(server, repo, &push(repo, &["origin", "main"]), "main");
}

#[test]
fn install_server_wants_a_bare_repository_and_is_idempotent() {
    let repo = Repo::new();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    let run = repo.run(&["install", "--server"]);
    run.code(2);
    for part in ["working tree", "bare repository", "specproof install"] {
        assert!(run.stderr.contains(part), "{part:?}: {}", run.stderr);
    }
    assert!(!repo.path().join(".git/hooks/pre-receive").exists());
    let run = repo.run(&["install", "--hook", "pre-receive"]);
    run.code(2);
    assert!(run.stderr.contains("--server"), "{}", run.stderr);

    let bare = tempfile::tempdir().expect("bare");
    let path = bare.path().to_str().expect("utf-8");
    repo.git(&["init", "-q", "--bare", path]);
    let run = repo.run(&["install", "--server", "--repo", path]);
    run.code(0);
    assert!(run.stdout.contains("pre-receive"), "{}", run.stdout);
    let shim = bare.path().join("hooks/pre-receive");
    let text = std::fs::read_to_string(&shim).expect("the shim is written");
    assert!(text.contains("hook \"$hook\""), "{text}");
    assert!(!bare.path().join("hooks/pre-commit").exists());
    let run = repo.run(&["install", "--server", "--repo", path]);
    run.code(0);
    assert!(run.stdout.contains("already installed"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&shim).expect("shim"), text);
    repo.run(&["uninstall", "--server", "--repo", path]).code(0);
    assert!(!shim.exists());
}

#[test]
fn an_honest_push_is_accepted() {
    let (repo, server) = setup();
    done_and_pushed(&repo, &server);
    assert!(server.ledger().is_empty(), "{}", server.ledger());
}

#[test]
fn a_done_claim_without_evidence_is_rejected() {
    let (repo, server) = setup();
    let before = server.head(&repo, "main");
    repo.write("src/a.rs", "fn a() {}\n");
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "claim done");
    repo.write("later.txt", "x\n");
    commit(&repo, "a later commit");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "push rejected",
            "claim done",
            "T-1",
            "G3 proofs pass",
            "W-1",
            "F11",
        ],
    );
    assert!(
        server.ledger().contains("\"rejected\""),
        "{}",
        server.ledger()
    );
}

#[test]
fn forged_evidence_is_caught_by_running_the_proof_again() {
    let (repo, server) = setup();
    let before = server.head(&repo, "main");
    // The proof fails (no `fn a`), and the failing evidence is edited to say pass.
    repo.write("src/a.rs", "// nothing yet\n");
    let run = repo.run(&["verify", "--task", "T-1"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let rel = ".specproof/evidence/T-1/iter-1/W-2.json";
    let mut evidence = repo.evidence(rel);
    assert_eq!(evidence["result"], "fail");
    evidence["result"] = "pass".into();
    evidence["failure_code"] = serde_json::Value::Null;
    repo.write(rel, serde_json::to_string_pretty(&evidence).expect("json"));
    // verify counted the attempt; the claim keeps the task file as verify left it.
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "done (forged)");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "T-1",
            "W-2",
            "F12",
            "running the proof again on this commit fails",
        ],
    );
    // The honest W-1 evidence is not blamed.
    assert!(!run.stderr.contains("W-1 "), "{}", run.stderr);
}

#[test]
fn reopening_a_complete_task_is_rejected() {
    let (repo, server) = setup();
    done_and_pushed(&repo, &server);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    set_status(&repo, TASK, "complete", "in_progress");
    commit(&repo, "reopen");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["reopen", "T-1", "lifecycle", "complete is final"],
    );
}

#[test]
fn breaking_a_criterion_of_a_done_task_is_rejected_even_when_the_pushed_config_says_not_to_look() {
    let (repo, server) = setup();
    done_and_pushed(&repo, &server);
    let before = server.head(&repo, "main");
    // The pushed config asks pushes not to re-run anything: the server's policy decides.
    repo.write(
        "specproof.yml",
        "on_push: { rerun: none }\non_commit: { rerun: none }\n",
    );
    repo.write("src/a.rs", "// fn gone\n");
    commit(&repo, "break it");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["break it", "T-1", "regression", "W-2", "F10"],
    );
    // With the server's policy at none, the same push passes: the policy is the server's.
    server.config(&repo, "specproof.rerun", "none");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
}

#[test]
fn a_tampered_input_cache_on_the_server_does_not_hide_a_regression() {
    let (repo, server) = setup();
    done_and_pushed(&repo, &server);
    let before = server.head(&repo, "main");
    let oid = repo
        .git(&["rev-parse", "HEAD:plans/p.md"])
        .trim()
        .to_owned();
    // Say a command proof the server was allowed to run wrote it.
    let cached = tamper_input_cache(&server.path().join("specproof"), &oid);
    repo.write("src/a.rs", "// fn gone\n");
    commit(&repo, "break it");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "break it",
            "T-1",
            "regression",
            "W-2",
            "F10",
            "did not match",
        ],
    );
    let text = std::fs::read_to_string(&cached).expect("cache");
    assert!(text.contains("W-2"), "mended: {text}");
}

#[test]
fn new_branches_and_deletions_work() {
    let (repo, server) = setup();
    // A new branch with honest work.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("notes.txt", "n\n");
    commit(&repo, "notes");
    taken(
        &server,
        &repo,
        &push(&repo, &["origin", "feature"]),
        "feature",
    );
    // A new branch whose only new commit claims done without evidence.
    repo.git(&["checkout", "-q", "-b", "sneaky", "main"]);
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "claim on a branch");
    let run = push(&repo, &["origin", "sneaky"]);
    refused(
        &server,
        &repo,
        &run,
        "sneaky",
        "",
        &["claim on a branch", "F11"],
    );
    // A new branch pointing at commits the server has: nothing new to check.
    repo.git(&["branch", "again", "feature"]);
    let run = push(&repo, &["origin", "again"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Deleting a branch checks nothing.
    let run = push(&repo, &["origin", "--delete", "feature"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.head(&repo, "feature"), "");
    server.assert_clean(&repo);
    // An annotated tag of the bad commit is peeled and checked.
    repo.git(&["tag", "-a", "v1", "-m", "release", "sneaky"]);
    let run = push(&repo, &["origin", "v1"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
}

/// A task whose criterion is a command proof that appends the folder it runs in to `log`.
fn command_task(repo: &Repo, log: &Path) -> String {
    command_task_running(repo, &format!("pwd >> '{}' && echo ok", log.display()))
}

/// A task T-2 of plans/c.md whose criterion C-1 runs `command` and expects `ok`.
fn command_task_running(repo: &Repo, command: &str) -> String {
    let criterion = format!(
        "- id: C-1\n  description: the check passes\n  proof: command_output_matches\n  args: {{ command: \"{command}\", pattern: \"^ok$\" }}\n"
    );
    repo.write("plans/c.md", plan(&criterion).replace("## Work", "## Cmd"));
    let text = task("T-2", "in_progress", &criterion, "")
        .replace("plans/p.md", "plans/c.md")
        .replace("plan_section: Work", "plan_section: Cmd")
        .replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- C-1: a shell command prints ok and its output is matched\n",
        );
    repo.write(".specproof/tasks/T-2.md", text);
    criterion
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn command_proofs_run_on_the_server_only_when_its_policy_allows_them() {
    let (repo, server) = setup();
    let logs = tempfile::tempdir().expect("logs");
    let log: PathBuf = logs.path().join("ran.log");
    command_task(&repo, &log);
    commit(&repo, "command task");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    repo.run(&["verify", "--task", "T-2"]).code(0);
    assert_eq!(lines(&log).len(), 1, "verify ran it once");
    set_status(&repo, ".specproof/tasks/T-2.md", "in_progress", "done");
    commit(&repo, "T-2 done");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    assert_eq!(
        lines(&log).len(),
        1,
        "the server ran a pushed command by default"
    );
    // A later commit touches the command's inputs (the whole tree): not run either.
    repo.write("more.txt", "m\n");
    commit(&repo, "more");
    let run = push(&repo, &["origin", "main"]);
    taken(&server, &repo, &run, "main");
    assert_eq!(lines(&log).len(), 1, "{}", run.stderr);
    // allowCommands alone is not enough: rerun must be all too.
    server.config(&repo, "specproof.allowCommands", "true");
    repo.write("more.txt", "m2\n");
    commit(&repo, "more 2");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    assert_eq!(lines(&log).len(), 1);
    // Allowed: it runs in a temporary export outside the bare repository, removed after.
    server.config(&repo, "specproof.rerun", "all");
    repo.write("more.txt", "m3\n");
    commit(&repo, "more 3");
    let run = push(&repo, &["origin", "main"]);
    taken(&server, &repo, &run, "main");
    let ran = lines(&log);
    assert_eq!(ran.len(), 2, "{}", run.stderr);
    let dir = PathBuf::from(&ran[1]);
    assert!(!dir.starts_with(server.path()), "{}", dir.display());
    assert!(
        !dir.exists(),
        "the export {} was not removed",
        dir.display()
    );
}

#[test]
fn overrides_pass_only_where_the_server_allows_them_and_are_recorded() {
    let (repo, server) = setup();
    let before = server.head(&repo, "main");
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-qm",
        "ship it\n\nSpecproof-Override: incident 42",
    ]);
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "Specproof-Override: incident 42",
            "specproof.allowOverride",
            "F11",
        ],
    );
    server.config(&repo, "specproof.allowOverride", "true");
    let run = push(&repo, &["origin", "main"]);
    taken(&server, &repo, &run, "main");
    assert!(run.stderr.contains("incident 42"), "{}", run.stderr);
    let ledger = server.ledger();
    assert!(
        ledger.contains("\"override\"") && ledger.contains("incident 42"),
        "{ledger}"
    );
}

#[test]
fn a_server_policy_that_cannot_be_read_fails_closed_naming_the_key() {
    let (repo, server) = setup();
    let before = server.head(&repo, "main");
    server.config(&repo, "specproof.rerun", "sometimes");
    repo.write("x.txt", "x\n");
    commit(&repo, "x");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["specproof.rerun", "sometimes", "fails closed"],
    );
}

#[test]
fn a_push_that_takes_longer_than_the_server_s_budget_is_rejected_naming_it() {
    let (repo, server) = setup();
    command_task_running(&repo, "sleep 3 && echo ok");
    commit(&repo, "slow command task");
    repo.run(&["verify", "--task", "T-2"]).code(0);
    set_status(&repo, ".specproof/tasks/T-2.md", "in_progress", "done");
    commit(&repo, "T-2 done");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    server.config(&repo, "specproof.allowCommands", "true");
    server.config(&repo, "specproof.rerun", "all");
    server.config(&repo, "specproof.pushTimeout", "2");
    for n in 1..=2 {
        repo.write("more.txt", format!("{n}\n"));
        commit(&repo, &format!("more {n}"));
    }
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            // The first commit's proof is stopped when the time runs out, and the second
            // commit is not checked at all.
            "more 1",
            "T-2 [regression] C-1",
            "what was left of specproof.pushTimeout",
            "specproof.pushTimeout = 2 s",
            "1 of 2 checks were done",
        ],
    );
}

#[test]
fn a_force_push_cannot_take_a_complete_task_away_but_may_rebase_a_branch() {
    let (repo, server) = setup();
    done_and_pushed(&repo, &server);
    let done = repo.head();
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    // History rewritten from before the completion: every new commit is fine against its
    // parent, but the ref would lose a complete task.
    repo.git(&["reset", "-q", "--hard", &done]);
    repo.write("other.txt", "o\n");
    commit(&repo, "other work");
    let run = push(&repo, &["--force", "origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["force-pushes refs/heads/main", "T-1", "complete is final"],
    );
    // A feature branch rebased and force-pushed is judged commit by commit only.
    repo.git(&["reset", "-q", "--hard", &before]);
    repo.git(&["checkout", "-q", "-b", "feature", "HEAD~1"]);
    repo.write("f.txt", "f\n");
    commit(&repo, "feature");
    taken(
        &server,
        &repo,
        &push(&repo, &["origin", "feature"]),
        "feature",
    );
    repo.git(&["rebase", "-q", "main"]);
    taken(
        &server,
        &repo,
        &push(&repo, &["--force", "origin", "feature"]),
        "feature",
    );
}

#[test]
fn deleting_a_ref_may_not_take_a_complete_task_away_from_the_default_branch() {
    let (repo, server) = setup();
    server.git(&repo, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    done_and_pushed(&repo, &server);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    // The default branch holds complete T-1: it is not deleted (and then pushed again from
    // an older commit), not even with another ref holding the task, made in the same push or
    // before.
    let run = push(&repo, &["origin", "--delete", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "deleting refs/heads/main",
            "complete task T-1",
            "default branch",
        ],
    );
    let run = push(&repo, &["origin", "main:refs/hold/x", ":refs/heads/main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["deleting refs/heads/main"],
    );
    taken(
        &server,
        &repo,
        &push(&repo, &["origin", "main:refs/hold/x"]),
        "main",
    );
    let run = push(&repo, &["origin", "--delete", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["deleting refs/heads/main"],
    );
    // A branch whose complete tasks the default branch holds, unchanged, may go.
    taken(
        &server,
        &repo,
        &push(&repo, &["origin", "main:side"]),
        "side",
    );
    let run = push(&repo, &["origin", "--delete", "side"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.head(&repo, "side"), "");
    server.assert_clean(&repo);
}

#[test]
fn a_merge_whose_first_parent_is_an_older_commit_cannot_undo_a_complete_task() {
    let (repo, server) = setup();
    let start = repo.head();
    done_and_pushed(&repo, &server);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    // A fast-forward of main whose first-parent history never saw the completion.
    repo.git(&["checkout", "-q", "--detach", &start]);
    repo.git(&[
        "merge",
        "-q",
        "-s",
        "ours",
        "-m",
        "merge, keeping the old tree",
        "main",
    ]);
    let run = push(&repo, &["origin", "HEAD:main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[
            "moves, by a merge whose first parent is not its old value",
            "T-1",
            "complete is final",
        ],
    );
}

#[test]
fn commits_the_server_already_holds_are_not_judged_again() {
    let (repo, server) = setup();
    // A claim without evidence reaches the server while its hook is away.
    repo.run(&[
        "uninstall",
        "--server",
        "--repo",
        server.path().to_str().expect("utf-8"),
    ])
    .code(0);
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "claim while the hook was away");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    repo.run(&[
        "install",
        "--server",
        "--repo",
        server.path().to_str().expect("utf-8"),
    ])
    .code(0);
    // A new branch on top: only its own commit is new, and it is fine.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("notes.txt", "n\n");
    commit(&repo, "notes");
    let run = push(&repo, &["origin", "feature"]);
    taken(&server, &repo, &run, "feature");
    assert!(!run.stderr.contains("F11"), "{}", run.stderr);
}

#[test]
fn a_command_proof_that_cannot_run_on_the_server_does_not_let_its_evidence_pass() {
    let (repo, server) = setup();
    server.config(&repo, "specproof.allowCommands", "true");
    server.config(&repo, "specproof.rerun", "all");
    // It runs in `out`, which exists in the working tree but not in the commit.
    let criterion = command_task_running(&repo, "echo ok");
    let criterion_in_out = criterion.replace(
        "args: { command: \"echo ok\"",
        "args: { cwd: out, command: \"echo ok\"",
    );
    assert_ne!(criterion, criterion_in_out);
    let plan_text = repo
        .read("plans/c.md")
        .replace(&criterion, &criterion_in_out);
    repo.write("plans/c.md", plan_text);
    let task_text = repo
        .read(".specproof/tasks/T-2.md")
        .replace(&criterion, &criterion_in_out);
    repo.write(".specproof/tasks/T-2.md", task_text);
    std::fs::create_dir_all(repo.path().join("out")).expect("mkdir");
    commit(&repo, "command task");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    repo.run(&["verify", "--task", "T-2"]).code(0);
    set_status(&repo, ".specproof/tasks/T-2.md", "in_progress", "done");
    commit(&repo, "T-2 done");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["T-2", "C-1", "F9", "could not be run again"],
    );
}

#[test]
fn a_command_stopped_by_the_server_s_timeout_is_a_timeout_not_forgery() {
    let (repo, server) = setup();
    command_task_running(&repo, "sleep 2 && echo ok");
    commit(&repo, "slow command task");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    repo.run(&["verify", "--task", "T-2"]).code(0);
    set_status(&repo, ".specproof/tasks/T-2.md", "in_progress", "done");
    commit(&repo, "T-2 done");
    server.config(&repo, "specproof.allowCommands", "true");
    server.config(&repo, "specproof.rerun", "all");
    server.config(&repo, "specproof.commandTimeout", "1");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["T-2", "C-1", "F5", "specproof.commandTimeout"],
    );
    assert!(!run.stderr.contains("F12"), "{}", run.stderr);
}

#[test]
fn a_force_push_to_a_commit_whose_config_is_broken_fails_closed() {
    let (repo, server) = setup();
    let bare = server.path().to_str().expect("utf-8").to_owned();
    // A commit with an unusable specproof.yml reaches the server while its hook is away.
    repo.run(&["uninstall", "--server", "--repo", &bare])
        .code(0);
    repo.write("specproof.yml", "no_such_key: 1\n");
    commit(&repo, "broken config");
    let broken = repo.head();
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    repo.run(&["install", "--server", "--repo", &bare]).code(0);
    std::fs::remove_file(repo.path().join("specproof.yml")).expect("rm");
    commit(&repo, "config fixed");
    done_and_pushed(&repo, &server);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = server.head(&repo, "main");
    // Back to the broken commit: no new commit to judge, and the jump cannot be judged.
    let run = push(
        &repo,
        &["--force", "origin", &format!("{broken}:refs/heads/main")],
    );
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["force-pushes refs/heads/main", "no_such_key"],
    );
}

/// A convergence record written by hand (and committed without hooks) cannot start a new
/// iteration on the server or in an audit: the server cannot check its signature, so its
/// decision must follow from its results and the previous record, and every pass it claims must
/// hold when the proof runs again on the pushed commit.
#[test]
fn a_hand_written_convergence_record_is_judged_by_its_results_and_by_running_its_passes_again() {
    const RECORD_1: &str = ".specproof/convergence/p/iter-1.json";
    const RECORD_2: &str = ".specproof/convergence/p/iter-2.json";
    let (repo, server) = setup();
    let first = repo.head();
    // Iteration 1: W-1 and W-2 fail; converge decides continue, honestly.
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("continue"), "{}", run.stdout);
    commit(&repo, "iteration 2");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let iteration_2 = repo.head();
    let record_1: serde_json::Value = serde_json::from_str(&repo.read(RECORD_1)).expect("record 1");

    // A record of iteration 2 written by hand: both criteria fail again, which is stagnation
    // (F17, converge escalates), yet it says continue.
    let forge = |results: serde_json::Value| {
        let mut doc = record_1.clone();
        doc["iteration"] = 2.into();
        doc["budget"]["iterations_used"] = 2.into();
        doc["results"] = results;
        doc["tasks_advanced"] = serde_json::json!(["T-1"]);
        repo.write(RECORD_2, serde_json::to_string_pretty(&doc).expect("json"));
        let t1 = repo.read(TASK);
        repo.write(TASK, t1.replace("iteration: 2", "iteration: 3"));
    };
    let result =
        |id: &str, r: &str| serde_json::json!({"criterion": id, "task": "T-1", "result": r});
    forge(serde_json::json!([
        result("W-1", "fail"),
        result("W-2", "fail")
    ]));
    commit(&repo, "iteration 3 by a hand-written record");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &iteration_2,
        &[
            "T-1",
            "rose from 2 to 3",
            "W-1 fails in iterations 1 and 2",
            "F17",
        ],
    );
    let audit = repo.run(&["audit", "--range", &format!("{first}..HEAD")]);
    assert_eq!(audit.code, 1, "{}{}", audit.stdout, audit.stderr);
    assert!(
        audit.stdout.contains("W-1 fails in iterations 1 and 2"),
        "{}",
        audit.stdout
    );
    repo.git(&["reset", "-q", "--hard", &iteration_2]);

    // A record that leaves a criterion out.
    forge(serde_json::json!([result("W-2", "pass")]));
    commit(&repo, "iteration 3 by a record without W-1");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &iteration_2,
        &["no result for W-1"],
    );
    repo.git(&["reset", "-q", "--hard", &iteration_2]);

    // A record that says W-1 and W-2 pass (and a new criterion W-4 fails): the server runs
    // their proofs on the pushed commit, where src/a.rs does not exist: fabricated (F12).
    let w4 = "- id: W-4\n  description: the second module file exists\n  proof: file_exists\n  args: { path: src/c.rs }\n";
    repo.write("plans/p.md", plan(&format!("{CRITERIA}{w4}")));
    forge(serde_json::json!([
        result("W-1", "pass"),
        result("W-2", "pass"),
        {"criterion": "W-4", "task": null, "result": "fail"}
    ]));
    commit(&repo, "iteration 3 by a record of passes that do not hold");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &iteration_2,
        &["F12", "it says W-1 passes", "running the proof again"],
    );
    repo.git(&["reset", "-q", "--hard", &iteration_2]);

    // The same iteration, honestly: src/a.rs is written, W-4 is new and fails, converge
    // decides continue, and the server takes it.
    repo.write("src/a.rs", "fn a() {}\n");
    repo.write("plans/p.md", plan(&format!("{CRITERIA}{w4}")));
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("continue"), "{}", run.stdout);
    commit(&repo, "iteration 3");
    assert!(repo.read(TASK).contains("iteration: 3"));
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let audit = repo.run(&["audit", "--range", &format!("{first}..HEAD")]);
    assert_eq!(audit.code, 0, "{}{}", audit.stdout, audit.stderr);
}

/// A record that starts no iteration is judged too: a hand-written `converged` record would
/// reset the budget and hide stagnation from the next `specproof converge`.
#[test]
fn a_hand_written_record_that_starts_no_iteration_is_judged_too() {
    const RECORD_2: &str = ".specproof/convergence/p/iter-2.json";
    let (repo, server) = setup();
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    commit(&repo, "iteration 2");
    taken(&server, &repo, &push(&repo, &["origin", "main"]), "main");
    let before = repo.head();
    let record_1: serde_json::Value =
        serde_json::from_str(&repo.read(".specproof/convergence/p/iter-1.json")).expect("record 1");
    let forge = |results: serde_json::Value| {
        let mut doc = record_1.clone();
        doc["iteration"] = 2.into();
        doc["decision"] = "converged".into();
        doc["results"] = results;
        doc["budget"]["iterations_used"] = 2.into();
        doc["tasks_advanced"] = serde_json::json!([]);
        repo.write(RECORD_2, serde_json::to_string_pretty(&doc).expect("json"));
    };
    // No results at all.
    forge(serde_json::json!([]));
    commit(&repo, "converged, says a record");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[RECORD_2, "no result for W-1"],
    );
    let audit = repo.run(&["audit", "--range", &format!("{before}..HEAD")]);
    assert_eq!(audit.code, 1, "{}{}", audit.stdout, audit.stderr);
    assert!(
        audit.stdout.contains("no result for W-1"),
        "{}",
        audit.stdout
    );
    repo.git(&["reset", "-q", "--hard", &before]);
    // Every criterion passes, says the record; the server runs W-1 again: src/a.rs is missing.
    let pass = |id: &str| serde_json::json!({"criterion": id, "task": "T-1", "result": "pass"});
    forge(serde_json::json!([pass("W-1"), pass("W-2")]));
    commit(&repo, "converged, says a record of passes");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &[RECORD_2, "F12", "it says W-1 passes"],
    );
    repo.git(&["reset", "-q", "--hard", &before]);
    // Records are named iter-<N>.json and numbered one after another.
    forge(serde_json::json!([pass("W-1"), pass("W-2")]));
    std::fs::rename(
        repo.path().join(RECORD_2),
        repo.path().join(".specproof/convergence/p/iter-02.json"),
    )
    .expect("rename");
    commit(&repo, "a record called iter-02");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["iter-02.json", "records are named"],
    );
    repo.git(&["reset", "-q", "--hard", &before]);
    forge(serde_json::json!([pass("W-1"), pass("W-2")]));
    std::fs::rename(
        repo.path().join(RECORD_2),
        repo.path().join(".specproof/convergence/p/iter-3.json"),
    )
    .expect("rename");
    commit(&repo, "a record that skips iteration 2");
    let run = push(&repo, &["origin", "main"]);
    refused(
        &server,
        &repo,
        &run,
        "main",
        &before,
        &["numbered one after another"],
    );
    repo.git(&["reset", "-q", "--hard", &before]);
    // With the client's hooks, the signature is checked: a hand-written record is refused there.
    repo.run(&["install"]).code(0);
    forge(serde_json::json!([pass("W-1"), pass("W-2")]));
    repo.git(&["add", "-A"]);
    let run = repo.git_env(&["commit", "-m", "converged, says a record"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("F12") && run.stderr.contains("signature does not verify"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.head(), before);
}
