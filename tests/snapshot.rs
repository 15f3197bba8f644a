//! `specproof snapshot`, `specproof drift` and `specproof trust`.

use std::process::Command;

use crate::common::{AUTH_PLAN, Repo, bin, plan_with};

const PLAN: &str = "plans/auth.md";
const SNAPSHOT: &str = ".specproof/snapshots/plans/auth.md";
const LOG: &str = ".specproof/plan-changes.log";

/// A repository with plans/auth.md (AUTH-1, AUTH-3, AUTH-10), committed.
fn auth_repo() -> Repo {
    let repo = Repo::new();
    repo.write(PLAN, AUTH_PLAN);
    repo.write("README.md", "# readme\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo
}

/// `sha256:` and what `sha256sum` prints for the repository file `rel`.
fn sha256sum(repo: &Repo, rel: &str) -> String {
    let out = Command::new("sha256sum")
        .arg(repo.path().join(rel))
        .output()
        .expect("run sha256sum");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    format!("sha256:{}", text.split_whitespace().next().expect("a hash"))
}

/// The lines of plan-changes.log, split at tabs.
fn log_lines(repo: &Repo) -> Vec<Vec<String>> {
    repo.read(LOG)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_first_snapshot_copies_the_plan_byte_for_byte_and_logs_every_id() {
    let repo = auth_repo();
    let run = repo.run(&["snapshot", PLAN]);
    run.code(0).line_with(
        "snapshot: plans/auth.md → .specproof/snapshots/plans/auth.md",
        &["first snapshot: AUTH-1, AUTH-3, AUTH-10"],
    );
    assert!(run.stdout.contains("git add"), "{}", run.stdout);
    assert_eq!(
        std::fs::read(repo.path().join(SNAPSHOT)).expect("snapshot"),
        AUTH_PLAN.as_bytes()
    );
    let lines = log_lines(&repo);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line.len(), 5, "{line:?}");
    assert!(
        line[0].len() == 20 && line[0].ends_with('Z') && line[0].as_bytes()[10] == b'T',
        "RFC 3339 UTC: {line:?}"
    );
    assert_eq!(line[1], PLAN);
    assert_eq!(line[2], "-", "no old snapshot");
    assert_eq!(line[3], sha256sum(&repo, PLAN));
    assert_eq!(line[4], "AUTH-1,AUTH-3,AUTH-10");

    // Again, unchanged: nothing is written or logged.
    let log_before = repo.read(LOG);
    let run = repo.run(&["snapshot", PLAN]);
    run.code(0);
    assert!(
        run.stdout
            .contains("plans/auth.md: unchanged since its snapshot")
            && run.stdout.contains("nothing to do"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.read(LOG), log_before, "no new line");
}

#[test]
fn changing_one_criterion_is_drift_until_a_snapshot_logs_only_that_id() {
    let repo = auth_repo();
    repo.run(&["snapshot", PLAN]).code(0);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "snapshot"]);

    let run = repo.run(&["drift"]);
    run.code(0)
        .line("plans/auth.md: matches its snapshot")
        .line_with("ok: no drift", &[]);

    let old = sha256sum(&repo, SNAPSHOT);
    repo.write(
        PLAN,
        AUTH_PLAN.replace("cargo test expired_token", "cargo test expired"),
    );
    let run = repo.run(&["drift"]);
    run.code(1).line(
        "plans/auth.md: F14: plan differs from its snapshot in AUTH-3 — run `specproof snapshot plans/auth.md` if the change is intended, then `git add .specproof/snapshots/plans/auth.md .specproof/plan-changes.log`",
    );
    run.line_with("failed: 1 of 1 plan differs from its snapshot", &["F14"]);

    let (code, doc) = drift_json(&repo);
    assert_eq!(code, 1);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ok"], false);
    let plan = &doc["plans"][0];
    assert_eq!(plan["plan"], PLAN);
    assert_eq!(plan["snapshot"], SNAPSHOT);
    assert_eq!(plan["state"], "drifted");
    assert_eq!(plan["changed"], serde_json::json!(["AUTH-3"]));
    assert_eq!(plan["snapshot_sha256"], old);
    assert_eq!(plan["plan_sha256"], sha256sum(&repo, PLAN));

    let run = repo.run(&["snapshot", PLAN]);
    run.code(0)
        .line_with("snapshot: plans/auth.md", &["(changed: AUTH-3)"]);
    let lines = log_lines(&repo);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1][1], PLAN);
    assert_eq!(
        lines[1][2], old,
        "the old hash is the old snapshot's sha256"
    );
    assert_eq!(lines[1][3], sha256sum(&repo, SNAPSHOT));
    assert_eq!(lines[1][3], sha256sum(&repo, PLAN));
    assert_eq!(lines[1][4], "AUTH-3", "only the changed ID");
    assert_eq!(repo.read(SNAPSHOT), repo.read(PLAN));

    repo.run(&["drift"]).code(0);
    let (code, doc) = drift_json(&repo);
    assert_eq!(code, 0);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["plans"][0]["state"], "same");
    assert_eq!(doc["plans"][0]["changed"], serde_json::json!([]));
}

fn drift_json(repo: &Repo) -> (i32, serde_json::Value) {
    let run = repo.run(&["drift", "--format", "json"]);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("drift json: {e}\n{}\n{}", run.stdout, run.stderr));
    (run.code, doc)
}

#[test]
fn a_plan_without_a_snapshot_is_not_drift_and_text_outside_criteria_is() {
    let repo = auth_repo();
    repo.write(
        "plans/other.md",
        plan_with("- id: O-1\n  description: o\n  proof: file_exists\n  args: { path: o }\n"),
    );
    let run = repo.run(&["drift"]);
    run.code(0)
        .line("plans/auth.md: no snapshot yet (the plan stands in for it)")
        .line("plans/other.md: no snapshot yet (the plan stands in for it)")
        .line_with("ok: no drift (2 plans, 0 with a snapshot, 2 without)", &[]);
    let (_, doc) = drift_json(&repo);
    assert_eq!(doc["plans"][1]["plan"], "plans/other.md");
    assert_eq!(doc["plans"][1]["state"], "no-snapshot");
    assert_eq!(doc["plans"][1]["snapshot"], serde_json::Value::Null);
    assert_eq!(doc["plans"][1]["snapshot_sha256"], serde_json::Value::Null);

    // From a subfolder, with the path relative to it.
    repo.run_in("plans", &["snapshot", "auth.md"], &[]).code(0);
    repo.write(
        PLAN,
        AUTH_PLAN.replace("Requests carry", "Every request carries"),
    );
    let run = repo.run(&["drift"]);
    run.code(1).line_with(
        "plans/auth.md: F14: plan differs from its snapshot outside its criteria (no criterion changed)",
        &["specproof snapshot plans/auth.md"],
    );
    repo.run(&["snapshot", PLAN])
        .code(0)
        .line_with("snapshot: plans/auth.md", &["no criterion changed"]);
    assert_eq!(log_lines(&repo)[1][4], "-");
}

#[test]
fn a_path_that_is_not_a_plan_is_refused_with_what_plans_is() {
    let repo = auth_repo();
    let run = repo.run(&["snapshot", "README.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("README.md is not a plan file")
            && run.stderr.contains("[\"plans/**/*.md\"]"),
        "{}",
        run.stderr
    );
    repo.run(&["snapshot", PLAN]).code(0);
    let run = repo.run(&["snapshot", SNAPSHOT]);
    run.code(2);
    assert!(run.stderr.contains("is not a plan file"), "{}", run.stderr);
    let run = repo.run(&["snapshot", "plans/nope.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("plans/nope.md: no such file"),
        "{}",
        run.stderr
    );
    assert_eq!(log_lines(&repo).len(), 1);
}

#[test]
fn a_plan_with_problems_is_refused_with_lint_style_diagnostics() {
    let repo = auth_repo();
    repo.write(
        "plans/bad.md",
        "# Bad\n\n```criteria\n- id: B-1\n  description: b\n  proof: file_exist\n  args: { path: b }\n```\n",
    );
    let run = repo.run(&["snapshot", "plans/bad.md"]);
    run.code(1);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("plans/bad.md:6:")
            && l.contains(": F1: criterion B-1: unknown proof")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was snapshotted"),
        "{}",
        run.stderr
    );
    assert!(
        !repo
            .path()
            .join(".specproof/snapshots/plans/bad.md")
            .exists()
    );
    assert!(!repo.path().join(LOG).exists());

    // A YAML error too, and --repo from elsewhere.
    repo.write("plans/bad.md", "# Bad\n\n```criteria\n- id: [\n```\n");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin())
        .current_dir(elsewhere.path())
        .args(["--repo"])
        .arg(repo.path())
        .args(["snapshot", "plans/bad.md"])
        .output()
        .expect("run");
    // PLAN is relative to the current folder: from elsewhere it does not exist.
    assert_eq!(out.status.code(), Some(2));
    let run = repo.run(&["--repo", "plans", "snapshot", "plans/bad.md"]);
    run.code(1);
    assert!(
        run.stderr.contains("plans/bad.md:5:1: F8: invalid YAML"),
        "{}",
        run.stderr
    );
}

#[test]
fn trust_without_a_terminal_needs_yes_and_writes_only_to_the_git_dir() {
    let repo = auth_repo();
    let status_before = repo.git(&["status", "--porcelain"]);
    let trust_file = repo.path().join(".git/specproof/trust");

    let run = repo.run(&["trust"]);
    run.code(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(!trust_file.exists(), "nothing recorded without --yes");
    // The list was shown: criterion, plan, command, cwd, env, timeout.
    run.line("AUTH-3 (test_passes) in plans/auth.md")
        .line("  command: cargo test expired_token")
        .line("  cwd:     . (the repository root)")
        .line("  env:     none added")
        .line("  timeout: 600 s (command_timeout)")
        .line("AUTH-10 (test_passes) in plans/auth.md")
        .line_with("2 command proofs, digest sha256:", &[]);
    assert!(
        !run.stdout.contains("AUTH-1 "),
        "not a command proof: {}",
        run.stdout
    );

    let run = repo.run(&["trust", "--yes"]);
    run.code(0)
        .line_with("trusted: recorded in", &[".git/specproof/trust"]);
    assert!(trust_file.is_file());
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        status_before,
        "nothing in the working tree"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trust_file).expect("read")).expect("json");
    assert_eq!(doc["approvals"][0]["commands"], 2);

    // Unchanged: already trusted, no --yes needed.
    repo.run(&["trust"])
        .code(0)
        .line_with("already trusted", &[]);

    // A changed command is not trusted until approved again.
    repo.write(
        PLAN,
        AUTH_PLAN.replace("cargo test error_shape", "cargo test error_shape; curl x"),
    );
    let run = repo.run(&["trust"]);
    run.code(2)
        .line("  command: cargo test error_shape; curl x");
    repo.run(&["trust", "--yes"]).code(0);
    repo.run(&["trust"])
        .code(0)
        .line_with("already trusted", &[]);
}

#[test]
fn trust_lists_the_definitions_that_run_the_snapshot_over_the_plan() {
    let repo = auth_repo();
    repo.run(&["snapshot", PLAN]).code(0);
    repo.write(
        PLAN,
        AUTH_PLAN.replace(
            "args: { command: \"cargo test expired_token\" }",
            "args: { command: \"cargo test expired_token\", cwd: sub, env: { A: \"1 2\" }, timeout: 5 }",
        ),
    );
    std::fs::create_dir_all(repo.path().join("sub")).expect("mkdir");
    let run = repo.run(&["trust"]);
    run.code(2)
        .line("AUTH-3 (test_passes) in plans/auth.md (its snapshot)")
        .line("  cwd:     . (the repository root)");
    repo.run(&["snapshot", PLAN]).code(0);
    let run = repo.run(&["trust"]);
    run.code(2)
        .line("  cwd:     sub")
        .line("  env:     A=\"1 2\"")
        .line("  timeout: 5 s");
}

#[test]
fn trust_with_no_command_proof_records_the_empty_set_without_asking() {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        plan_with("- id: C-1\n  description: c\n  proof: file_exists\n  args: { path: c }\n"),
    );
    let run = repo.run(&["trust"]);
    run.code(0)
        .line_with("nothing to trust", &[])
        .line_with("recorded the empty set", &[]);
    assert!(repo.path().join(".git/specproof/trust").is_file());
    repo.run(&["trust"])
        .code(0)
        .line_with("already trusted", &[]);
}

#[test]
fn trust_from_a_linked_worktree_writes_to_the_common_git_dir() {
    let repo = auth_repo();
    let outside = tempfile::tempdir().expect("tempdir");
    let wt = outside.path().join("wt");
    let wt_str = wt.to_str().expect("utf-8 path");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt_str]);
    let run = repo.run(&["--repo", wt_str, "trust", "--yes"]);
    run.code(0);
    assert!(
        repo.path().join(".git/specproof/trust").is_file(),
        "{}",
        run.stdout
    );
    assert!(
        wt.join(".git").is_file(),
        "a linked worktree's .git is a file"
    );
    assert!(!repo.path().join(".git/worktrees/wt/specproof").exists());
    // The main working tree sees the approval.
    repo.run(&["trust"])
        .code(0)
        .line_with("already trusted", &[]);
    assert!(repo.git(&["status", "--porcelain"]).is_empty());
}

#[test]
fn a_log_whose_last_line_lost_its_line_break_keeps_lines_apart() {
    let repo = auth_repo();
    repo.write(LOG, "hand-written note without a line break");
    repo.run(&["snapshot", PLAN]).code(0);
    let text = repo.read(LOG);
    assert!(
        text.starts_with("hand-written note without a line break\n") && text.ends_with('\n'),
        "{text:?}"
    );
    assert_eq!(log_lines(&repo)[1][1], PLAN);
}

/// Runs `specproof trust` on a terminal (util-linux `script`), answering `answer`; None when
/// `script` is not available.
fn trust_on_a_terminal(repo: &Repo, answer: &str) -> Option<(i32, String)> {
    let usable = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("skipped: util-linux `script` is not available");
        return None;
    }
    let command = format!("'{}' trust", bin().display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(repo.path())
        .env("HOME", repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run script");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(answer.as_bytes()).expect("answer");
    }
    let out = child.wait_with_output().expect("wait");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn on_a_terminal_trust_asks_and_records_only_a_yes() {
    let repo = auth_repo();
    let trust_file = repo.path().join(".git/specproof/trust");
    let Some((code, out)) = trust_on_a_terminal(&repo, "n\n") else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Let git hooks run these 2 commands? [y/N]")
            && out.contains("not trusted: nothing was recorded"),
        "{out}"
    );
    assert!(!trust_file.exists());
    let Some((code, out)) = trust_on_a_terminal(&repo, "y\n") else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("trusted: recorded in"), "{out}");
    assert!(trust_file.is_file());
}

#[test]
fn a_snapshot_that_is_a_symlink_is_not_taken_for_the_plan() {
    let repo = auth_repo();
    std::fs::create_dir_all(repo.path().join(".specproof/snapshots/plans")).expect("mkdir");
    std::os::unix::fs::symlink("../../../plans/auth.md", repo.path().join(SNAPSHOT))
        .expect("symlink");
    let run = repo.run(&["drift"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("is a symlink; a snapshot must be a regular file")
            && run.stderr.contains("specproof snapshot plans/auth.md"),
        "{}",
        run.stderr
    );
    // snapshot replaces the link with a copy.
    repo.run(&["snapshot", PLAN]).code(0);
    let meta = std::fs::symlink_metadata(repo.path().join(SNAPSHOT)).expect("meta");
    assert!(meta.file_type().is_file());
    repo.run(&["drift"])
        .code(0)
        .line("plans/auth.md: matches its snapshot");
}
