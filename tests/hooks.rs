//! The git hooks, driven by real `git commit` and `git push` with the hooks installed: gates,
//! transitions, regressions, drift, overrides, fail-closed, temporary indexes, worktrees.

use crate::common::{Repo, Run, bin, tamper_input_cache};

/// Two file-proof criteria of plans/p.md, section "Work".
pub const CRITERIA: &str = "- id: W-1\n  description: the module file exists\n  proof: file_exists\n  args: { path: src/a.rs }\n- id: W-2\n  description: the module defines the function a\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"fn a\" }\n";

pub fn plan(criteria: &str) -> String {
    format!("# Plan\n\n## Work\n\nThe work.\n\n```criteria\n{criteria}```\n")
}

/// Task `id` of plans/p.md with `criteria`, in `status`, with a good Echo-Back of W-1 and W-2.
pub fn task(id: &str, status: &str, criteria: &str, extra: &str) -> String {
    format!(
        "---\ntask_id: {id}\nplan_file: plans/p.md\nplan_section: Work\nstatus: {status}\nassigned_to: worker-1\ntier: 1\niteration: 1\nattempts: 0\nescalation: null\n{extra}---\n## Source\n\nThe work.\n\n## Acceptance Criteria\n\n```criteria\n{criteria}```\n\n## Worker Report\n### Echo-Back\n- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\nAssumptions:\n- the crate layout is standard\n### Self-Review\nverify ran both proofs and they passed\n### Status Update\n"
    )
}

pub const TASK: &str = ".specproof/tasks/T-1.md";

/// Writes a shim for each hook, as `specproof install` does.
pub fn install(repo: &Repo) {
    repo.run(&["install"]).code(0);
}

/// A repository with plans/p.md and task T-1 in progress committed, and the hooks installed.
pub fn hooked() -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and task"]);
    install(&repo);
    repo
}

pub fn set_status(repo: &Repo, rel: &str, from: &str, to: &str) {
    let text = repo.read(rel);
    let old = format!("status: {from}\n");
    assert!(text.contains(&old), "{rel} has no `{old}`");
    repo.write(rel, text.replacen(&old, &format!("status: {to}\n"), 1));
}

/// Does T-1's work and proves it: src/a.rs, then verify.
pub fn work_and_verify(repo: &Repo) {
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
}

/// Commits everything with message `msg`.
pub fn commit_all(repo: &Repo, msg: &str) -> Run {
    repo.git(&["add", "-A"]);
    repo.git_env(&["commit", "-m", msg], &[])
}

/// Asserts that git refused the commit: non-zero, HEAD unchanged, and the rejection names
/// each of `parts`.
#[track_caller]
pub fn rejected(repo: &Repo, head: &str, run: &Run, parts: &[&str]) {
    assert_ne!(run.code, 0, "the commit was accepted:\n{}", run.stderr);
    assert_eq!(repo.head(), head, "HEAD moved although the hook rejected");
    for p in parts {
        assert!(
            run.stderr.contains(p),
            "the rejection does not name {p:?}:\n{}",
            run.stderr
        );
    }
}

#[track_caller]
pub fn accepted(repo: &Repo, head: &str, run: &Run) {
    assert_eq!(run.code, 0, "the commit was rejected:\n{}", run.stderr);
    assert_ne!(repo.head(), head, "HEAD did not move");
}

#[test]
fn a_done_claim_without_evidence_is_rejected_and_nothing_is_committed() {
    let repo = hooked();
    let head = repo.head();
    repo.write("src/a.rs", "fn a() {}\n");
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "T-1 done");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "commit rejected",
            "T-1",
            "G3 proofs pass",
            "W-1",
            "W-2",
            "F11",
            "specproof verify --task T-1",
        ],
    );
    // The work is still there, staged as it was.
    assert_eq!(repo.read("src/a.rs"), "fn a() {}\n");
    assert!(
        repo.git(&["diff", "--cached", "--name-only"])
            .contains("src/a.rs")
    );
}

#[test]
fn a_done_claim_with_fresh_evidence_is_accepted() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &head, &commit_all(&repo, "T-1 done"));
}

#[test]
fn evidence_left_out_of_the_commit_does_not_count() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "src/a.rs", TASK]);
    let run = repo.git_env(&["commit", "-m", "done, evidence not added"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["W-1", "F11", "no evidence in this commit"],
    );
}

#[test]
fn stale_evidence_is_rejected_with_the_reason() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    // Changed after verify: the evidence is bound to the old content.
    repo.write("src/a.rs", "fn a() { /* changed */ }\n");
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "done");
    rejected(
        &repo,
        &head,
        &run,
        &["W-2", "F11", "stale evidence", "changed"],
    );
}

#[test]
fn a_forged_result_fails_the_signature() {
    let repo = hooked();
    let head = repo.head();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    let rel = ".specproof/evidence/T-1/iter-1/W-2.json";
    let forged = repo
        .read(rel)
        .replace("\"result\": \"fail\"", "\"result\": \"pass\"");
    assert!(forged.contains("\"result\": \"pass\""), "{forged}");
    repo.write(rel, forged);
    // The failed attempt moved the task on; put it in the state the claim starts from.
    let text = repo.read(TASK);
    repo.write(TASK, text.replace("status: in_progress", "status: done"));
    let run = commit_all(&repo, "done");
    rejected(&repo, &head, &run, &["W-2", "F12"]);
}

#[test]
fn a_new_task_committed_straight_as_done_passes_every_gate_first() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "T-1 evidence", "--no-verify"]);
    let head = {
        let _ = head;
        repo.head()
    };
    // T-2: no echo at all, no evidence: G2 and G3 both report.
    let bare = task("T-2", "done", CRITERIA, "").replace(
        "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
        "",
    );
    repo.write(".specproof/tasks/T-2.md", bare);
    let run = commit_all(&repo, "T-2 done");
    rejected(
        &repo,
        &head,
        &run,
        &["T-2", "G2 echo verified", "F2", "G3 proofs pass"],
    );
}

#[test]
fn the_first_commit_of_a_repository_is_checked() {
    let repo = Repo::new();
    install(&repo);
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task("T-1", "done", CRITERIA, ""));
    repo.write("src/a.rs", "fn a() {}\n");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(&["commit", "-m", "first"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
    assert!(
        repo.git_env(&["rev-parse", "--verify", "-q", "HEAD"], &[])
            .stdout
            .is_empty()
    );
    // Created tasks need no proof: the first commit goes in.
    repo.write(TASK, task("T-1", "created", CRITERIA, ""));
    let run = commit_all(&repo, "first");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_commit_breaking_a_done_criterion_is_a_regression() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    repo.write("src/a.rs", "fn b() {}\n");
    let run = commit_all(&repo, "rename");
    rejected(
        &repo,
        &head,
        &run,
        &["T-1", "regression", "W-2", "F10", "no match"],
    );
    // A change that keeps the criterion true is fine, though it makes the evidence stale.
    repo.write("src/a.rs", "fn a() {}\nfn b() {}\n");
    accepted(&repo, &head, &commit_all(&repo, "add b"));
}

#[test]
fn rerun_none_skips_the_regression_check() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.write("specproof.yml", "on_commit: { rerun: none }\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    repo.write("src/a.rs", "fn b() {}\n");
    accepted(&repo, &head, &commit_all(&repo, "rename"));
}

#[test]
fn git_commit_dash_a_and_commit_path_judge_the_index_git_commits() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    // Staged: broken. Working tree: fixed. `git commit` commits the index: rejected.
    repo.write("src/a.rs", "fn b() {}\n");
    repo.git(&["add", "src/a.rs"]);
    repo.write("src/a.rs", "fn a() {}\nfn c() {}\n");
    let run = repo.git_env(&["commit", "-m", "staged broken"], &[]);
    rejected(&repo, &head, &run, &["F10", "W-2"]);
    // `git commit -a` commits the working tree (a temporary index): accepted.
    let run = repo.git_env(&["commit", "-a", "-m", "fixed copy"], &[]);
    accepted(&repo, &head, &run);
    let head = repo.head();
    // The other way round: staged fixed, working tree broken.
    repo.write("src/a.rs", "fn a() {}\nfn d() {}\n");
    repo.git(&["add", "src/a.rs"]);
    repo.write("src/a.rs", "fn broken() {}\n");
    let run = repo.git_env(&["commit", "-a", "-m", "broken copy"], &[]);
    rejected(&repo, &head, &run, &["F10"]);
    let run = repo.git_env(&["commit", "src/a.rs", "-m", "broken path"], &[]);
    rejected(&repo, &head, &run, &["F10"]);
    let run = repo.git_env(&["commit", "-m", "staged fixed"], &[]);
    accepted(&repo, &head, &run);
}

#[test]
fn a_complete_task_is_never_reopened_edited_or_deleted() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let head = repo.head();

    set_status(&repo, TASK, "complete", "in_progress");
    let run = commit_all(&repo, "reopen");
    rejected(
        &repo,
        &head,
        &run,
        &["T-1", "lifecycle", "complete is final"],
    );
    repo.git(&["checkout", "HEAD", "--", TASK]);

    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace("assigned_to: worker-1", "assigned_to: worker-2"),
    );
    let run = commit_all(&repo, "edit");
    rejected(&repo, &head, &run, &["front matter of complete task T-1"]);
    repo.git(&["checkout", "HEAD", "--", TASK]);

    repo.git(&["rm", "-q", TASK]);
    let run = repo.git_env(&["commit", "-m", "delete"], &[]);
    rejected(&repo, &head, &run, &["deletes complete task T-1"]);
    repo.git(&["reset", "-q", "--hard", "HEAD"]);

    repo.git(&["rm", "-q", ".specproof/evidence/T-1/iter-1/W-1.json"]);
    let run = repo.git_env(&["commit", "-m", "drop evidence"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["deletes committed evidence of complete task T-1"],
    );
}

#[test]
fn complete_needs_evidence_committed_before() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "complete");
    let run = commit_all(&repo, "straight to complete");
    rejected(
        &repo,
        &head,
        &run,
        &["G4 evidence persisted", "W-1", "later commit"],
    );
}

#[test]
fn hand_edits_of_owned_fields_are_rejected() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    // One failed attempt: attempts 1, escalation retry.
    accepted(&repo, &repo.head(), &commit_all(&repo, "attempt"));
    let head = repo.head();
    let text = repo.read(TASK);
    assert!(text.contains("attempts: 1"), "{text}");
    repo.write(TASK, text.replace("attempts: 1", "attempts: 0"));
    let run = commit_all(&repo, "reset attempts");
    rejected(
        &repo,
        &head,
        &run,
        &["hand edit of `attempts`", "went down from 1 to 0"],
    );
    repo.write(TASK, text.replace("escalation: retry", "escalation: null"));
    let run = commit_all(&repo, "clear escalation");
    rejected(
        &repo,
        &head,
        &run,
        &["hand edit of `escalation`", "specproof escalate --ack T-1"],
    );
    repo.write(TASK, text.replace("iteration: 1", "iteration: 3"));
    let run = commit_all(&repo, "jump iteration");
    rejected(
        &repo,
        &head,
        &run,
        &["hand edit of `iteration`", "one at a time"],
    );
}

#[test]
fn a_plan_that_differs_from_its_snapshot_is_drift() {
    let repo = hooked();
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &repo.head(), &commit_all(&repo, "snapshot"));
    let head = repo.head();
    let weaker = CRITERIA.replace("fn a", "fn");
    repo.write("plans/p.md", plan(&weaker));
    let run = commit_all(&repo, "edit plan");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "plan drift",
            "F14",
            "plans/p.md",
            "W-2",
            "specproof snapshot plans/p.md",
        ],
    );
    // Updating the snapshot in the same commit is the intended way.
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    repo.write(TASK, task("T-1", "in_progress", &weaker, ""));
    accepted(&repo, &head, &commit_all(&repo, "edit plan and snapshot"));
}

#[test]
fn weakening_a_criterion_and_claiming_it_in_one_commit_is_tampering() {
    let repo = hooked();
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &repo.head(), &commit_all(&repo, "snapshot"));
    let head = repo.head();
    let weaker = CRITERIA.replace("fn a", "fn");
    repo.write("plans/p.md", plan(&weaker));
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    repo.write(TASK, task("T-1", "in_progress", &weaker, ""));
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "weaken and claim");
    rejected(&repo, &head, &run, &["tampering", "W-2", "F14"]);
}

#[test]
fn a_touched_task_file_that_does_not_parse_is_rejected() {
    let repo = hooked();
    let head = repo.head();
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace("status: in_progress", "status: finished"),
    );
    let run = commit_all(&repo, "bad status");
    rejected(&repo, &head, &run, &["unreadable file", TASK, "finished"]);
}

#[test]
fn a_dependency_not_done_blocks_done() {
    let repo = hooked();
    repo.write(
        ".specproof/tasks/T-0.md",
        task("T-0", "in_progress", CRITERIA, ""),
    );
    work_and_verify(&repo);
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "escalation: null\n",
            "escalation: null\ndepends_on: [T-0]\n",
        ),
    );
    set_status(&repo, TASK, "in_progress", "done");
    let head = repo.head();
    let run = commit_all(&repo, "done before T-0");
    rejected(&repo, &head, &run, &["depends on T-0", "F7"]);
}

#[test]
fn rationalization_in_the_worker_report_blocks_done() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "verify ran both proofs and they passed",
            "It should work for now.",
        ),
    );
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "done");
    rejected(
        &repo,
        &head,
        &run,
        &["rationalization", "Self-Review", "should work"],
    );
}

#[test]
fn a_commit_outside_specproof_files_with_no_done_task_passes_quietly() {
    let repo = hooked();
    let head = repo.head();
    repo.write("README.md", "hello\n");
    let run = commit_all(&repo, "readme");
    accepted(&repo, &head, &run);
    assert!(!run.stderr.contains("specproof"), "{}", run.stderr);
}

#[test]
fn a_broken_config_fails_closed_and_fail_open_lets_it_pass() {
    let repo = hooked();
    let head = repo.head();
    repo.write("specproof.yml", "jobz: 3\n");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(&["commit", "-m", "bad config"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &[
            "fails closed",
            "specproof.yml",
            "jobz",
            "SPECPROOF_FAIL_OPEN=1",
        ],
    );
    let run = repo.git_env(
        &["commit", "-m", "bad config"],
        &[("SPECPROOF_FAIL_OPEN", "1")],
    );
    accepted(&repo, &head, &run);
    assert!(
        run.stderr.contains("SPECPROOF_FAIL_OPEN=1 lets it pass"),
        "{}",
        run.stderr
    );
    // What passed unchecked is on the record.
    let ledger = std::fs::read_to_string(repo.path().join(".git/specproof/ledger.jsonl"))
        .expect("the ledger");
    assert!(
        ledger.contains("\"fail-open\"")
            && ledger.contains("jobz")
            && ledger.contains(&format!("\"head\":\"{head}\"")),
        "{ledger}"
    );
}

#[test]
fn an_override_is_recorded_in_the_message_and_the_ledger() {
    let repo = hooked();
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(
        &["commit", "-m", "ship it"],
        &[("SPECPROOF_OVERRIDE", "prod is down, proofs follow in T-9")],
    );
    accepted(&repo, &head, &run);
    assert!(
        run.stderr.contains("overridden on the record"),
        "{}",
        run.stderr
    );
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Specproof-Override: prod is down, proofs follow in T-9"),
        "{message}"
    );
    let ledger =
        std::fs::read_to_string(repo.path().join(".git/specproof/ledger.jsonl")).expect("ledger");
    let overrides: Vec<serde_json::Value> = ledger
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["event"] == "override")
        .collect();
    assert!(
        overrides.iter().any(|v| v["hook"] == "pre-commit"
            && v["reason"] == "prod is down, proofs follow in T-9"
            && v["problems"][0]["code"] == "F11"),
        "{ledger}"
    );
}

#[test]
fn no_override_without_the_commit_msg_hook() {
    let repo = hooked();
    std::fs::remove_file(repo.path().join(".git/hooks/commit-msg")).expect("rm commit-msg");
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(
        &["commit", "-m", "ship it"],
        &[("SPECPROOF_OVERRIDE", "because")],
    );
    rejected(
        &repo,
        &head,
        &run,
        &["commit-msg hook", "not installed", "specproof install"],
    );
}

#[test]
fn commit_msg_blocks_phrases_only_in_the_message_git_keeps() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    repo.git(&["add", "-A"]);
    let head = repo.head();
    let run = repo.git_env(&["commit", "-m", "Add the parser, should work"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["should work", "line 1", "commit rejected"],
    );
    // Comment lines and the diff below `git commit -v`'s scissors line are not the message.
    let editor = repo.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'Add the config parser\\n\\nProofs: verify passed.\\n' > \"$1.new\"\ncat \"$1\" >> \"$1.new\"\nmv \"$1.new\" \"$1\"\n",
    )
    .expect("editor");
    repo.write("notes.txt", "TODO: should work, probably\n");
    repo.git(&["add", "notes.txt"]);
    let run = repo.git_env(
        &[
            "-c",
            &format!("core.editor=sh {}", editor.display()),
            "commit",
            "-v",
        ],
        &[],
    );
    accepted(&repo, &head, &run);
}

#[test]
fn commit_msg_warns_by_default() {
    let repo = hooked();
    let head = repo.head();
    repo.write("x.txt", "x\n");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(&["commit", "-m", "quick fix for now"], &[]);
    accepted(&repo, &head, &run);
    assert!(run.stderr.contains("specproof warning"), "{}", run.stderr);
    assert!(run.stderr.contains("quick fix"), "{}", run.stderr);
}

#[test]
fn amending_in_a_done_claim_is_checked() {
    let repo = hooked();
    repo.write("x.txt", "x\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "x"));
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(&["commit", "--amend", "-m", "x and done"], &[]);
    rejected(&repo, &head, &run, &["F11", "T-1"]);
}

#[test]
fn an_amend_is_judged_against_the_parent_of_the_commit_it_replaces() {
    let repo = hooked();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "sneaky", "--no-verify"]);
    let head = repo.head();
    // Rewording the claim makes a new commit with the same claim: it is checked again.
    let run = repo.git_env(&["commit", "--amend", "-m", "reworded"], &[]);
    rejected(&repo, &head, &run, &["T-1", "F11"]);
}

#[test]
fn a_merge_is_checked_against_its_first_parent() {
    let repo = hooked();
    repo.git(&["checkout", "-q", "-b", "side"]);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim on side", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("x.txt", "x\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "main moves"));
    let head = repo.head();
    // git runs pre-commit for a merge when the merge is committed with `git commit`.
    repo.git(&["merge", "--no-ff", "--no-commit", "side"]);
    let run = repo.git_env(&["commit", "-m", "merge side"], &[]);
    rejected(&repo, &head, &run, &["T-1", "F11"]);
    // Against the first parent: the side branch's own history does not excuse the claim.
    repo.git(&["merge", "--abort"]);
}

#[test]
fn hooks_work_from_a_linked_worktree() {
    let repo = hooked();
    let wt = repo.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt",
        wt.to_str().expect("utf-8"),
    ]);
    let text = std::fs::read_to_string(wt.join(TASK)).expect("task");
    std::fs::write(
        wt.join(TASK),
        text.replace("status: in_progress", "status: done"),
    )
    .expect("write");
    let run = repo.git_in("wt", &["commit", "-am", "claim in worktree"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
    assert!(run.stderr.contains("T-1"), "{}", run.stderr);
}

/// A bare remote next to `repo`, with main pushed.
fn remote(repo: &Repo) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("remote");
    repo.git(&["init", "-q", "--bare", dir.path().to_str().expect("utf-8")]);
    repo.git(&[
        "remote",
        "add",
        "origin",
        dir.path().to_str().expect("utf-8"),
    ]);
    let run = repo.git_env(&["push", "-q", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    dir
}

fn remote_head(remote: &tempfile::TempDir, branch: &str) -> String {
    let out = std::process::Command::new("git")
        .args([
            "--git-dir",
            remote.path().to_str().expect("utf-8"),
            "rev-parse",
            "-q",
            "--verify",
        ])
        .arg(format!("refs/heads/{branch}"))
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn pre_push_catches_a_no_verify_commit_and_leaves_the_remote_unchanged() {
    let repo = hooked();
    let origin = remote(&repo);
    let before = remote_head(&origin, "main");
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "sneaky done", "--no-verify"]);
    repo.write("y.txt", "y\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "after"]);
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in [
        "push rejected",
        "sneaky done",
        "T-1",
        "G3 proofs pass",
        "W-1",
        "F11",
    ] {
        assert!(run.stderr.contains(part), "no {part:?} in:\n{}", run.stderr);
    }
    assert_eq!(remote_head(&origin, "main"), before);
}

#[test]
fn pre_push_passes_honest_work_new_branches_and_deletions() {
    let repo = hooked();
    let origin = remote(&repo);
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_head(&origin, "main"), repo.head());
    // A new branch whose commits are all on the remote already: nothing new to check.
    repo.git(&["branch", "feature"]);
    let run = repo.git_env(&["push", "origin", "feature"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_head(&origin, "feature"), repo.head());
    // A deletion checks nothing.
    let run = repo.git_env(&["push", "origin", "--delete", "feature"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_head(&origin, "feature"), "");
}

#[test]
fn pre_push_checks_a_new_branch_against_every_remote_ref() {
    let repo = hooked();
    let origin = remote(&repo);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim", "--no-verify"]);
    let run = repo.git_env(&["push", "origin", "feature"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
    assert_eq!(remote_head(&origin, "feature"), "");
}

#[test]
fn pre_push_catches_done_claims_that_arrived_without_pre_commit() {
    // cherry-pick, rebase and fast-forward merges run no pre-commit hook.
    for how in ["cherry-pick", "rebase", "ff-merge", "am"] {
        let repo = hooked();
        let origin = remote(&repo);
        repo.git(&["checkout", "-q", "-b", "side"]);
        set_status(&repo, TASK, "in_progress", "done");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "claim", "--no-verify"]);
        let claim = repo.head();
        repo.git(&["checkout", "-q", "main"]);
        match how {
            "cherry-pick" => {
                repo.git(&["cherry-pick", &claim]);
            }
            "rebase" => {
                repo.write("z.txt", "z\n");
                repo.git(&["add", "-A"]);
                repo.git(&["commit", "-qm", "z"]);
                repo.git(&["checkout", "-q", "side"]);
                repo.git(&["rebase", "-q", "main"]);
                repo.git(&["checkout", "-q", "main"]);
                repo.git(&["merge", "-q", "--ff-only", "side"]);
            }
            "ff-merge" => {
                repo.git(&["merge", "-q", "--ff-only", "side"]);
            }
            _ => {
                let patch = repo.git(&["format-patch", "-1", "--stdout", &claim]);
                repo.write("claim.patch", patch);
                repo.git(&["am", "-q", "claim.patch"]);
                std::fs::remove_file(repo.path().join("claim.patch")).expect("rm");
            }
        }
        let before = remote_head(&origin, "main");
        let run = repo.git_env(&["push", "origin", "main"], &[]);
        assert_ne!(run.code, 0, "{how}: {}", run.stderr);
        assert!(run.stderr.contains("F11"), "{how}: {}", run.stderr);
        assert_eq!(remote_head(&origin, "main"), before, "{how}");
    }
}

#[test]
fn pre_push_lets_an_overridden_commit_pass_with_a_warning() {
    let repo = hooked();
    let origin = remote(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(
        &["commit", "-m", "ship"],
        &[("SPECPROOF_OVERRIDE", "incident 42")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Specproof-Override: incident 42"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_head(&origin, "main"), repo.head());
}

#[test]
fn pre_push_peels_annotated_tags() {
    let repo = hooked();
    let _origin = remote(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim", "--no-verify"]);
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    let run = repo.git_env(&["push", "origin", "v1"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
}

/// Runs `specproof hook ARGS…` in `repo` with `stdin`, as git would.
fn hook_with_stdin(repo: &Repo, args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin())
        .current_dir(repo.path())
        .arg("hook")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_hook_binary_reads_git_s_stdin_lines_itself() {
    // Driven directly, as git would: one line per ref, zero oids of either length.
    let repo = hooked();
    let _origin = remote(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim", "--no-verify"]);
    let head = repo.head();
    for zeros in [40, 64] {
        let zero = "0".repeat(zeros);
        let new_branch = format!("refs/heads/main {head} refs/heads/new {zero}\n");
        let (code, err) = hook_with_stdin(&repo, &["pre-push", "origin", "url"], &new_branch);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("F11"), "{err}");
        let deletion = format!("(delete) {zero} refs/heads/main {head}\n");
        let (code, err) = hook_with_stdin(&repo, &["pre-push", "origin", "url"], &deletion);
        assert_eq!(code, 0, "a deletion pushes no commit: {err}");
    }
    let (code, err) = hook_with_stdin(&repo, &["pre-push", "origin", "url"], "garbage\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fails closed"), "{err}");
}

/// A command proof that builds its own fixture repository, as test suites do.
const FIXTURE_CRITERION: &str = "- id: C-1\n  description: the suite passes\n  proof: test_passes\n  args: { command: \"d=$(mktemp -d) && cd $d && git init -q fx && cd fx && echo x > f && git add f && git -c user.name=a -c user.email=a@a -c commit.gpgsign=false commit -q -m inner && rm -rf $d && echo '1 passed, 0 failed'\" }\n";

/// A repository whose done task T-1 holds `FIXTURE_CRITERION`, with `on_commit.rerun: all`.
fn command_repo() -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(FIXTURE_CRITERION));
    repo.write(
        "specproof.yml",
        "on_commit: { rerun: all }\non_push: { rerun: all }\n",
    );
    let text = task("T-1", "in_progress", FIXTURE_CRITERION, "").replace(
        "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
        "- C-1: the test suite runs green, counted by its summary line\n",
    );
    repo.write(TASK, text);
    repo.write("x.txt", "x\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "done"]);
    install(&repo);
    repo
}

#[test]
fn hooks_run_no_repository_command_without_trust() {
    let repo = command_repo();
    let head = repo.head();
    repo.write("x.txt", "changed\n");
    let run = repo.git_env(&["commit", "-a", "-m", "touch"], &[]);
    rejected(&repo, &head, &run, &["trust", "T-1 C-1", "specproof trust"]);
    repo.run(&["trust", "--yes"]).code(0);
    let run = repo.git_env(&["commit", "-a", "-m", "touch"], &[]);
    accepted(&repo, &head, &run);
}

#[test]
fn git_variables_do_not_leak_into_proof_commands() {
    let repo = command_repo();
    repo.run(&["trust", "--yes"]).code(0);
    let head = repo.head();
    // `git commit -a`: git sets GIT_INDEX_FILE to a temporary index for the hook.
    repo.write("x.txt", "changed\n");
    let run = repo.git_env(&["commit", "-a", "-m", "touch"], &[]);
    accepted(&repo, &head, &run);
    assert!(
        repo.git(&["status", "--porcelain"]).is_empty(),
        "{}",
        repo.git(&["status"])
    );
    let log = repo.git(&["log", "--format=%s"]);
    assert!(
        !log.contains("inner"),
        "the fixture's commit landed in the outer repository:\n{log}"
    );
    assert_eq!(
        repo.git(&["ls-files"])
            .lines()
            .filter(|l| l.contains("fx"))
            .count(),
        0
    );
    // The same from a linked worktree (GIT_DIR points into the common dir's worktrees/).
    let wt = repo.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt",
        wt.to_str().expect("utf-8"),
    ]);
    std::fs::write(wt.join("x.txt"), "from the worktree\n").expect("write");
    let run = repo.git_in("wt", &["commit", "-a", "-m", "touch in wt"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = repo.git_in("wt", &["log", "--format=%s"], &[]).stdout;
    assert!(!log.contains("inner"), "{log}");
    assert!(
        repo.git_in("wt", &["status", "--porcelain"], &[])
            .stdout
            .is_empty()
    );
}

#[test]
fn a_command_proof_rerun_judges_the_committed_content_not_the_working_tree() {
    let repo = Repo::new();
    let criterion = "- id: C-2\n  description: the flag file says yes\n  proof: command_output_matches\n  args: { command: \"cat flag.txt\", pattern: \"^yes$\" }\n";
    repo.write("plans/p.md", plan(criterion));
    repo.write("specproof.yml", "on_commit: { rerun: all }\n");
    repo.write(
        TASK,
        task("T-1", "in_progress", criterion, "").replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- C-2: the flag file holds the word yes; cat shows it\n",
        ),
    );
    repo.write("flag.txt", "yes\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "done"]);
    install(&repo);
    repo.run(&["trust", "--yes"]).code(0);
    let head = repo.head();
    // Staged: no. Working tree: yes. The commit records "no": rejected.
    repo.write("flag.txt", "no\n");
    repo.git(&["add", "flag.txt"]);
    repo.write("flag.txt", "yes\n");
    let run = repo.git_env(&["commit", "-m", "flip"], &[]);
    rejected(&repo, &head, &run, &["F10", "C-2"]);
}

#[test]
fn only_criteria_whose_inputs_the_commit_touches_run_again() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    // Broken behind the hook's back.
    repo.write("src/a.rs", "fn b() {}\n");
    repo.git(&["commit", "-qam", "broken", "--no-verify"]);
    let head = repo.head();
    // A commit that touches nothing W-2 reads is not judged on W-2.
    repo.write("docs/notes.md", "notes\n");
    accepted(&repo, &head, &commit_all(&repo, "notes"));
    let head = repo.head();
    // One that touches src/a.rs is, even when it does not fix it.
    repo.write("src/a.rs", "fn b() {}\nfn c() {}\n");
    let run = commit_all(&repo, "still broken");
    rejected(&repo, &head, &run, &["F10", "W-2"]);
    // Deleting the file W-1 needs touches W-1 too.
    repo.git(&["rm", "-q", "-f", "src/a.rs"]);
    let run = repo.git_env(&["commit", "-m", "delete"], &[]);
    rejected(&repo, &head, &run, &["F10", "W-1"]);
}

#[test]
fn pre_push_treats_an_unknown_remote_oid_as_everything_not_on_the_remote() {
    let repo = hooked();
    let _origin = remote(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim", "--no-verify"]);
    let head = repo.head();
    // A remote ref at a commit this clone never fetched.
    let unknown = "1234567890abcdef1234567890abcdef12345678";
    let line = format!("refs/heads/main {head} refs/heads/main {unknown}\n");
    let (code, err) = hook_with_stdin(&repo, &["pre-push", "origin", "url"], &line);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("claim"), "{err}");
    // The remote already has the commit: nothing new leaves.
    let line = format!("refs/heads/main {head} refs/heads/main {head}\n");
    let (code, err) = hook_with_stdin(&repo, &["pre-push", "origin", "url"], &line);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_hook_started_from_a_subfolder_with_relative_git_variables_reads_the_real_index() {
    let repo = hooked();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    std::fs::create_dir_all(repo.path().join("sub")).expect("mkdir");
    // An empty index here would look like "nothing to check" and pass.
    let run = repo.run_in(
        "sub",
        &["hook", "pre-commit"],
        &[("GIT_DIR", "../.git"), ("GIT_INDEX_FILE", "../.git/index")],
    );
    run.code(1);
    assert!(run.stderr.contains("F11"), "{}", run.stderr);
    // A GIT_INDEX_FILE that does not exist is an error, not an empty index.
    let run = repo.run_in(
        "sub",
        &["hook", "pre-commit"],
        &[("GIT_DIR", "../.git"), ("GIT_INDEX_FILE", "no-such-index")],
    );
    run.code(2);
    assert!(run.stderr.contains("no-such-index"), "{}", run.stderr);
}

#[test]
fn moving_tasks_dir_does_not_hide_a_claim() {
    let repo = hooked();
    repo.write("specproof.yml", "tasks_dir: elsewhere\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "move tasks_dir"));
    // Under this config the file is no task: the claim is not judged here...
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "claim"));
    // ...but moving tasks_dir back judges every task again.
    let head = repo.head();
    std::fs::remove_file(repo.path().join("specproof.yml")).expect("rm");
    let run = commit_all(&repo, "restore tasks_dir");
    rejected(&repo, &head, &run, &["T-1", "G3 proofs pass", "F11"]);
}

#[test]
fn moving_evidence_dir_away_from_a_complete_task_is_rejected() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let head = repo.head();
    repo.write("specproof.yml", "evidence_dir: ev2\n");
    let run = commit_all(&repo, "move evidence");
    rejected(&repo, &head, &run, &["T-1", "G4 evidence persisted"]);
}

#[test]
fn a_symlinked_tasks_folder_is_rejected() {
    let repo = hooked();
    let head = repo.head();
    repo.git(&["mv", ".specproof/tasks", "realtasks"]);
    std::os::unix::fs::symlink("../realtasks", repo.path().join(".specproof/tasks"))
        .expect("symlink");
    let run = commit_all(&repo, "link the tasks");
    rejected(
        &repo,
        &head,
        &run,
        &[".specproof/tasks is a symbolic link", "F8"],
    );
}

#[test]
fn dropping_a_criterion_while_claiming_done_is_rejected() {
    let repo = hooked();
    let head = repo.head();
    // W-2 fails on this content; the claim drops it from the task.
    repo.write("src/a.rs", "fn b() {}\n");
    let w1_only = "- id: W-1\n  description: the module file exists\n  proof: file_exists\n  args: { path: src/a.rs }\n";
    repo.write(
        TASK,
        task("T-1", "in_progress", w1_only, "").replace(
            "- W-2: I write a function called a in it; a regex looks for it\n",
            "",
        ),
    );
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "done without W-2");
    rejected(&repo, &head, &run, &["tampering", "removes W-2", "F14"]);
}

#[test]
fn a_commit_cannot_loosen_the_settings_it_is_judged_by() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "verify ran both proofs and they passed",
            "It should work for now.",
        ),
    );
    set_status(&repo, TASK, "in_progress", "done");
    repo.write("specproof.yml", "rationalization: { worker_report: off }\n");
    let run = commit_all(&repo, "done, rules off");
    rejected(&repo, &head, &run, &["rationalization", "should work"]);
    // The same for the regression check.
    repo.write(TASK, text);
    set_status(&repo, TASK, "in_progress", "done");
    std::fs::remove_file(repo.path().join("specproof.yml")).expect("rm");
    accepted(&repo, &head, &commit_all(&repo, "done"));
    let head = repo.head();
    repo.write("specproof.yml", "on_commit: { rerun: none }\n");
    repo.write("src/a.rs", "fn b() {}\n");
    let run = commit_all(&repo, "break it, rerun off");
    rejected(&repo, &head, &run, &["F10", "W-2"]);
}

#[test]
fn escalation_and_base_cannot_be_reset_in_two_steps() {
    let repo = hooked();
    // Four failed attempts: escalation human, blocked.
    repo.write("src/a.rs", "fn b() {}\n");
    for _ in 0..4 {
        repo.run(&["verify", "--task", "T-1"]).code(1);
    }
    let text = repo.read(TASK);
    assert!(
        text.contains("escalation: human") && text.contains("status: blocked"),
        "{text}"
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "blocked"));
    set_status(&repo, TASK, "blocked", "ready");
    accepted(&repo, &repo.head(), &commit_all(&repo, "to ready"));
    let head = repo.head();
    set_status(&repo, TASK, "ready", "in_progress");
    let run = commit_all(&repo, "back to work");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "waits for a person's decision",
            "F6",
            "specproof escalate --ack T-1",
        ],
    );
    // Deleting the task does not escape the decision either.
    repo.git(&["rm", "-q", "-f", TASK]);
    let run = repo.git_env(&["commit", "-m", "delete"], &[]);
    rejected(&repo, &head, &run, &["deletes task T-1", "F6"]);
}

#[test]
fn base_never_changes_once_set_even_through_ready() {
    let repo = hooked();
    let first = repo.head();
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "escalation: null\n",
            &format!("escalation: null\nbase: {first}\n"),
        ),
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "base"));
    set_status(&repo, TASK, "in_progress", "ready");
    accepted(&repo, &repo.head(), &commit_all(&repo, "ready"));
    // start keeps it.
    repo.run(&["start", "T-1"]).code(0);
    assert!(
        repo.read(TASK).contains(&format!("base: {first}\n")),
        "{}",
        repo.read(TASK)
    );
    let head = repo.head();
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(&format!("base: {first}"), "base: def456"),
    );
    let run = commit_all(&repo, "new base");
    rejected(&repo, &head, &run, &["hand edit of `base`"]);
}

#[test]
fn a_git_proof_without_a_base_is_not_rerun_against_a_moved_head() {
    let repo = Repo::new();
    let criterion = "- id: G-1\n  description: a function a is added\n  proof: git_diff_contains\n  args: { pattern: \"fn a\" }\n";
    repo.write("plans/p.md", plan(criterion));
    repo.write(
        TASK,
        task("T-1", "in_progress", criterion, "").replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- G-1: my diff adds the function called a; the diff is searched for it\n",
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    install(&repo);
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    repo.write("src/a.rs", "fn a() {}\nfn c() {}\n");
    let run = commit_all(&repo, "add c");
    accepted(&repo, &head, &run);
    assert!(run.stderr.contains("not run again"), "{}", run.stderr);
}

#[test]
fn a_commit_on_a_split_index_is_judged() {
    let repo = hooked();
    repo.git(&["config", "core.splitIndex", "true"]);
    repo.git(&["update-index", "--split-index"]);
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "claim");
    rejected(&repo, &head, &run, &["T-1", "F11"]);
    work_and_verify(&repo);
    accepted(&repo, &head, &commit_all(&repo, "claim with evidence"));
}

#[test]
fn an_override_message_with_a_divider_line_still_passes_pre_push() {
    let repo = hooked();
    let origin = remote(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let run = repo.git_env(
        &["commit", "-m", "ship", "-m", "notes:\n---\nrow"],
        &[("SPECPROOF_OVERRIDE", "incident 7")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_head(&origin, "main"), repo.head());
}

#[test]
fn a_rejection_stays_a_rejection_when_stderr_is_closed() {
    let repo = hooked();
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    let out = std::process::Command::new("sh")
        .current_dir(repo.path())
        .args([
            "-c",
            "SPECPROOF_FAIL_OPEN=1 git -c commit.gpgsign=false commit -qm claim 2>&-",
        ])
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .status()
        .expect("sh");
    assert!(!out.success());
    assert_eq!(repo.head(), head);
}

#[test]
fn pre_push_rejects_a_commit_whose_config_does_not_parse_and_names_it() {
    let repo = hooked();
    let origin = remote(&repo);
    let before = remote_head(&origin, "main");
    repo.write("specproof.yml", "jobz: 3\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "bad config", "--no-verify"]);
    let run = repo.git_env(&["push", "origin", "main"], &[("SPECPROOF_FAIL_OPEN", "1")]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("bad config"), "{}", run.stderr);
    assert!(run.stderr.contains("jobz"), "{}", run.stderr);
    assert_eq!(remote_head(&origin, "main"), before);
}

#[test]
fn commit_msg_judges_hash_lines_that_git_keeps_with_dash_m() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    repo.git(&["add", "-A"]);
    let head = repo.head();
    let run = repo.git_env(
        &["commit", "-m", "Fix", "-m", "# should work, probably"],
        &[],
    );
    rejected(&repo, &head, &run, &["should work"]);
}

#[test]
fn gate_2_judges_parroting_and_assumptions_through_the_hook() {
    let repo = hooked();
    let head = repo.head();
    let text = repo.read(TASK);
    // A copy of W-1's description is no echo.
    repo.write(
        TASK,
        text.replace(
            "- W-1: I create the source file for the module",
            "- W-1: the module file exists",
        )
        .replace("status: in_progress", "status: ready"),
    );
    accepted(&repo, &head, &commit_all(&repo, "back to ready"));
    let head = repo.head();
    set_status(&repo, TASK, "ready", "in_progress");
    let run = commit_all(&repo, "start");
    rejected(&repo, &head, &run, &["G2 echo verified", "W-1", "F13"]);
    // Tier 1 needs an assumption.
    repo.write(
        TASK,
        text.replace("Assumptions:\n- the crate layout is standard\n", ""),
    );
    let run = commit_all(&repo, "start without assumptions");
    rejected(
        &repo,
        &head,
        &run,
        &["G2 echo verified", "Assumptions", "F2"],
    );
}

#[test]
fn acknowledgements_and_a_complete_task_s_record_cannot_be_rewritten() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let head = repo.head();
    // Rewriting (not deleting) its evidence.
    let rel = ".specproof/evidence/T-1/iter-1/W-1.json";
    let text = repo.read(rel);
    repo.write(rel, format!("{text}\n"));
    let run = commit_all(&repo, "rewrite evidence");
    rejected(
        &repo,
        &head,
        &run,
        &["rewrites committed evidence of complete task T-1"],
    );
    repo.git(&["checkout", "HEAD", "--", rel]);
    // Editing its criteria.
    let task_text = repo.read(TASK);
    repo.write(
        TASK,
        task_text.replace("args: { path: src/a.rs }", "args: { path: src/b.rs }"),
    );
    let run = commit_all(&repo, "edit criteria");
    rejected(
        &repo,
        &head,
        &run,
        &["Acceptance Criteria of complete task T-1"],
    );
}

#[test]
fn removing_an_acknowledgement_is_a_hand_edit() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    repo.run(&[
        "escalate",
        "--ack",
        "T-1",
        "--by",
        "lead",
        "--note",
        "retry after the fix",
    ])
    .code(0);
    accepted(&repo, &repo.head(), &commit_all(&repo, "ack"));
    let head = repo.head();
    let text = repo.read(TASK);
    let start = text.find("acks:").expect("acks written");
    let end = text[start..].find("---").map_or(text.len(), |e| start + e);
    repo.write(TASK, format!("{}{}", &text[..start], &text[end..]));
    let run = commit_all(&repo, "drop ack");
    rejected(&repo, &head, &run, &["hand edit of `acks`"]);
}

#[test]
fn editing_a_done_task_s_evidence_judges_it_again() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    let rel = ".specproof/evidence/T-1/iter-1/W-2.json";
    let text = repo.read(rel);
    repo.write(rel, text.replace("1 match", "2 matches"));
    let run = commit_all(&repo, "touch evidence");
    rejected(&repo, &head, &run, &["T-1", "W-2", "F12"]);
}

#[test]
fn a_task_whose_id_differs_from_its_file_name_cannot_be_claimed() {
    let repo = hooked();
    let head = repo.head();
    work_and_verify(&repo);
    repo.git(&["mv", TASK, ".specproof/tasks/T-9.md"]);
    set_status(&repo, ".specproof/tasks/T-9.md", "in_progress", "done");
    let run = commit_all(&repo, "renamed claim");
    rejected(&repo, &head, &run, &["T-9.md", "task_id"]);
}

#[test]
fn pre_push_of_a_new_branch_skips_commits_the_remote_has() {
    let repo = hooked();
    let origin = remote(&repo);
    // A bad commit already on the remote (pushed with --no-verify).
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "old claim", "--no-verify"]);
    repo.git(&["push", "-q", "--no-verify", "origin", "main"]);
    // A new branch with one honest commit on top.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("docs.md", "docs\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "docs"]);
    let run = repo.git_env(&["push", "origin", "feature"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("old claim"), "{}", run.stderr);
    assert_eq!(remote_head(&origin, "feature"), repo.head());
}

#[test]
fn a_merge_commit_git_merge_makes_itself_is_checked() {
    let repo = hooked();
    assert!(repo.path().join(".git/hooks/pre-merge-commit").exists());
    repo.git(&["checkout", "-q", "-b", "side"]);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim on side", "--no-verify"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("x.txt", "x\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "main moves"));
    let head = repo.head();
    let run = repo.git_env(&["merge", "--no-ff", "-m", "merge side", "side"], &[]);
    rejected(&repo, &head, &run, &["T-1", "F11"]);
}

#[test]
fn the_inputs_cache_is_used_and_a_corrupt_one_is_ignored() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    repo.write("docs.md", "docs\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "docs"));
    let oid = repo
        .git(&["rev-parse", "HEAD:plans/p.md"])
        .trim()
        .to_owned();
    let cached = repo
        .path()
        .join(format!(".git/specproof/cache/inputs/{oid}.json"));
    let text = std::fs::read_to_string(&cached).expect("the plan's inputs are cached");
    assert!(text.contains("W-2") && text.contains("src/a.rs"), "{text}");
    // Corrupt: the plan is parsed again, and the regression is still found.
    std::fs::write(&cached, "{broken").expect("write");
    let head = repo.head();
    repo.write("src/a.rs", "fn b() {}\n");
    let run = commit_all(&repo, "break");
    rejected(&repo, &head, &run, &["F10", "W-2"]);
}

#[test]
fn a_tampered_input_cache_does_not_hide_a_regression_from_pre_push() {
    let repo = hooked();
    let origin = remote(&repo);
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = remote_head(&origin, "main");
    let oid = repo
        .git(&["rev-parse", "HEAD:plans/p.md"])
        .trim()
        .to_owned();
    let cached = repo
        .path()
        .join(format!(".git/specproof/cache/inputs/{oid}.json"));
    assert!(cached.is_file(), "the plan's inputs are cached");
    // The cache now says the plan's criteria reach no path and there are none.
    assert_eq!(
        tamper_input_cache(&repo.path().join(".git/specproof"), &oid),
        cached
    );
    repo.write("src/a.rs", "fn b() {}\n");
    // pre-commit trusts its machine's cache, to stay fast (README, threat model): the cache
    // says nothing reaches src/a.rs, so no plan is even parsed and the commit passes.
    let head = repo.head();
    accepted(&repo, &head, &commit_all(&repo, "break W-2"));
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in [
        "push rejected",
        "break W-2",
        "T-1",
        "W-2",
        "F10",
        "cache/inputs/",
        "did not match",
        "did not match plans/p.md",
        "read from the plan itself",
        "rewritten",
    ] {
        assert!(run.stderr.contains(part), "no {part:?} in:\n{}", run.stderr);
    }
    assert_eq!(remote_head(&origin, "main"), before);
    // The cache is mended: pre-commit finds the regression again.
    let text = std::fs::read_to_string(&cached).expect("cache");
    assert!(text.contains("W-2") && text.contains("src/a.rs"), "{text}");
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let head = repo.head();
    let run = repo.git_env(&["commit", "-m", "break W-2 again"], &[]);
    rejected(&repo, &head, &run, &["F10", "W-2"]);
}

#[test]
fn a_cache_file_of_a_plan_that_does_not_parse_cleanly_is_removed_by_pre_push() {
    let repo = hooked();
    let origin = remote(&repo);
    repo.write(
        "plans/q.md",
        plan(
            "- id: Q-1\n  description: the module file exists\n  proof: file_exists\n  args: { path: src/a.rs }\n- id: Q-2\n  description: a proof of no known kind\n  proof: bogus_kind\n",
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a plan with a problem", "--no-verify"]);
    let oid = repo
        .git(&["rev-parse", "HEAD:plans/q.md"])
        .trim()
        .to_owned();
    // specproof never caches a plan with problems: a file for it was made by someone else.
    let cached = tamper_input_cache(&repo.path().join(".git/specproof"), &oid);
    let before = remote_head(&origin, "main");
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_ne!(run.code, 0, "a plan with a problem: {}", run.stderr);
    for part in ["did not match plans/q.md", "removed", "Q-2", "F1"] {
        assert!(run.stderr.contains(part), "no {part:?} in:\n{}", run.stderr);
    }
    assert!(!cached.exists(), "the file was removed");
    assert_eq!(remote_head(&origin, "main"), before);
}

#[test]
fn framework_variables_do_not_bypass_git_s_own_pre_push_lines() {
    let repo = hooked();
    let origin = remote(&repo);
    let before = remote_head(&origin, "main");
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "claim", "--no-verify"]);
    for var in [
        "PRE_COMMIT_FROM_REF",
        "PRE_COMMIT_TO_REF",
        "PRE_COMMIT_LOCAL_BRANCH",
    ] {
        let run = repo.git_env(&["push", "origin", "main"], &[(var, "origin/main")]);
        assert_ne!(run.code, 0, "{var}: {}", run.stderr);
        assert_eq!(remote_head(&origin, "main"), before, "{var}");
    }
}

/// Tasks T-0 (holding W-1) and T-1 (holding W-2, depending on T-0), both in progress and
/// committed, with the hooks installed.
fn dependent_tasks() -> Repo {
    let at = CRITERIA.find("- id: W-2").expect("W-2 in CRITERIA");
    let (w1, w2) = CRITERIA.split_at(at);
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(
        ".specproof/tasks/T-0.md",
        task("T-0", "in_progress", w1, "").replace(
            "- W-2: I write a function called a in it; a regex looks for it\n",
            "",
        ),
    );
    repo.write(
        TASK,
        task("T-1", "in_progress", w2, "depends_on: [T-0]\n")
            .replace("- W-1: I create the source file for the module\n", ""),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and tasks"]);
    install(&repo);
    repo.run(&["lint"]).code(0);
    repo
}

/// The status line of task file `rel` in HEAD.
fn committed_status(repo: &Repo, rel: &str) -> String {
    repo.git(&["show", &format!("HEAD:{rel}")])
        .lines()
        .find(|l| l.starts_with("status: "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_task_enters_done_once_the_task_it_depends_on_is_done() {
    let repo = dependent_tasks();
    let dep = ".specproof/tasks/T-0.md";
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);

    // T-0 is still in progress: T-1's own proofs pass, but it cannot be done yet.
    set_status(&repo, TASK, "in_progress", "done");
    let head = repo.head();
    let run = commit_all(&repo, "T-1 done before T-0");
    rejected(
        &repo,
        &head,
        &run,
        &["T-1", "depends on T-0", "in_progress", "F7"],
    );
    assert_eq!(committed_status(&repo, TASK), "status: in_progress");
    assert!(
        repo.git(&["ls-tree", "-r", "--name-only", "HEAD"])
            .lines()
            .all(|p| !p.starts_with(".specproof/evidence/") && p != "src/a.rs"),
        "nothing of the rejected commit is in HEAD"
    );

    // T-0 is proven and committed as done on its own first.
    set_status(&repo, TASK, "done", "in_progress");
    repo.run(&["verify", "--task", "T-0"]).code(0);
    set_status(&repo, dep, "in_progress", "done");
    accepted(&repo, &head, &commit_all(&repo, "T-0 done"));
    assert_eq!(committed_status(&repo, dep), "status: done");

    // Now T-1 may follow, with the evidence verify wrote before.
    let head = repo.head();
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &head, &commit_all(&repo, "T-1 done"));
    assert_eq!(committed_status(&repo, TASK), "status: done");
}

#[test]
fn a_task_and_the_task_it_depends_on_may_enter_done_in_one_commit() {
    let repo = dependent_tasks();
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-0", "--task", "T-1"])
        .code(0);
    set_status(&repo, ".specproof/tasks/T-0.md", "in_progress", "done");
    set_status(&repo, TASK, "in_progress", "done");
    let head = repo.head();
    // T-0 is done in the content being committed, though not yet in HEAD.
    accepted(&repo, &head, &commit_all(&repo, "T-0 and T-1 done"));
    assert_eq!(committed_status(&repo, TASK), "status: done");
    assert_eq!(
        committed_status(&repo, ".specproof/tasks/T-0.md"),
        "status: done"
    );
}

/// A plan added beside another of the same file name would share its plan-level evidence and
/// convergence records: the commit that adds it is rejected, naming both.
#[test]
fn a_commit_adding_a_plan_of_an_existing_plan_s_file_name_is_rejected() {
    let repo = hooked();
    let head = repo.head();
    repo.write(
        "plans/other/p.md",
        plan(CRITERIA.replace("W-", "X-").as_str()),
    );
    let run = commit_all(&repo, "a second plan called p");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "plans/other/p.md and plans/p.md have the same file name",
            "F8",
            "rename one",
        ],
    );
    repo.git(&["mv", "plans/other/p.md", "plans/other/q.md"]);
    accepted(
        &repo,
        &head,
        &repo.git_env(&["commit", "-m", "a second plan, q"], &[]),
    );
}

/// The commit-msg hook takes the specproof.yml being committed from the note pre-commit kept
/// for that very index, without asking git to read the index again (`git ls-files`); without
/// the note (pre-commit not installed) it asks git, and both judge by the staged config.
/// pre-commit itself starts no git process to list the index's changes.
#[test]
fn commit_msg_reads_the_staged_config_from_pre_commit_s_note_without_asking_git() {
    let repo = hooked();
    // Every git process, the hooks' included, logs its command line here.
    let trace = tempfile::tempdir().expect("tempdir");
    let log = trace.path().join("git.log");
    let log_path = log.display().to_string();
    let traced = ("GIT_TRACE", log_path.as_str());
    let head = repo.head();
    repo.write(
        "specproof.yml",
        "rationalization: { commit_msg: block, phrases: [\"yolo\"] }\n",
    );
    repo.git(&["add", "specproof.yml"]);
    let run = repo.git_env(&["commit", "-m", "yolo"], &[traced]);
    rejected(&repo, &head, &run, &["\"yolo\""]);
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.contains("hooks/pre-commit"),
        "pre-commit ran: {calls}"
    );
    // pre-commit reads the index itself: no git process lists its changes.
    assert!(
        !calls.contains("diff-index"),
        "pre-commit asked git: {calls}"
    );
    assert!(!calls.contains("ls-files"), "commit-msg asked git: {calls}");
    // `git commit -a` commits another (temporary) index: its note is its own.
    std::fs::remove_file(&log).expect("rm");
    repo.write("specproof.yml", "rationalization: { commit_msg: off }\n");
    let run = repo.git_env(&["commit", "-a", "-m", "yolo"], &[traced]);
    accepted(&repo, &head, &run);
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(!calls.contains("ls-files"), "commit-msg asked git: {calls}");
    // Without pre-commit there is no note for this index: commit-msg asks git.
    let head = repo.head();
    std::fs::remove_file(repo.path().join(".git/hooks/pre-commit")).expect("rm pre-commit");
    repo.write(
        "specproof.yml",
        "rationalization: { commit_msg: block, phrases: [\"yolo\"] }\n",
    );
    repo.git(&["add", "specproof.yml"]);
    std::fs::remove_file(&log).expect("rm");
    let run = repo.git_env(&["commit", "-m", "yolo again"], &[traced]);
    rejected(&repo, &head, &run, &["\"yolo\""]);
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.contains("ls-files"),
        "commit-msg did not ask git: {calls}"
    );
}

/// An acknowledgement is a person's decision recorded by `specproof escalate --ack`, signed with
/// this machine's key: one written into the task file by hand is refused (F12), in a task that
/// existed and in a new task file alike.
#[test]
fn a_hand_written_acknowledgement_is_refused() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    accepted(&repo, &repo.head(), &commit_all(&repo, "a failed attempt"));
    let head = repo.head();
    let text = repo.read(TASK);
    assert!(text.contains("escalation: retry\n"), "{text}");
    let forged = text.replace(
        "escalation: retry\n",
        "escalation: null\nacks:\n  - { by: lead, at: \"2026-12-03T00:00:00Z\", note: go on, attempts: 1 }\n",
    );
    repo.write(TASK, &forged);
    let run = commit_all(&repo, "an acknowledgement by hand");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "F12",
            "an acknowledgement not written by `specproof escalate --ack`",
            "lead at 2026-12-03T00:00:00Z",
        ],
    );
    // A new task file arriving with an acknowledgement is judged the same way.
    repo.write(TASK, &text);
    repo.write(
        ".specproof/tasks/T-9.md",
        task(
            "T-9",
            "created",
            CRITERIA,
            "acks:\n  - { by: lead, at: \"2026-12-03T00:00:00Z\", note: go on, attempts: 0 }\n",
        ),
    );
    let run = commit_all(&repo, "a new task with an acknowledgement");
    rejected(
        &repo,
        &head,
        &run,
        &["T-9", "F12", "an acknowledgement not written"],
    );
    std::fs::remove_file(repo.path().join(".specproof/tasks/T-9.md")).expect("rm");
    // The real thing is signed and accepted.
    repo.run(&[
        "escalate", "--ack", "T-1", "--by", "lead", "--note", "go on",
    ])
    .code(0);
    assert!(
        repo.read(TASK).contains("signature: \"hmac-sha256:"),
        "{}",
        repo.read(TASK)
    );
    accepted(&repo, &head, &commit_all(&repo, "acknowledged"));
}

/// On a machine without a key (nothing ran `verify`, `converge` or `escalate --ack` there), no
/// acknowledgement was written there: one added by hand is refused too.
#[test]
fn a_hand_written_acknowledgement_is_refused_where_there_is_no_key() {
    let repo = hooked();
    assert!(!repo.path().join(".git/specproof/key").exists());
    let head = repo.head();
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "escalation: null\n",
            "escalation: null\nacks:\n  - { by: bob, at: \"2026-12-03T00:00:00Z\", note: fine, attempts: 0, signature: \"hmac-sha256:00\" }\n",
        ),
    );
    let run = commit_all(&repo, "an acknowledgement with no key");
    rejected(
        &repo,
        &head,
        &run,
        &["F12", "an acknowledgement not written", "bob at"],
    );
}

/// A complete task never changes, so it takes no acknowledgement.
#[test]
fn escalate_ack_refuses_a_complete_task() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let run = repo.run(&[
        "escalate", "--ack", "T-1", "--by", "lead", "--note", "go on",
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("T-1 is complete, and a complete task never changes")
            && run.stderr.contains("SPECPROOF_OVERRIDE"),
        "{}",
        run.stderr
    );
    assert!(!repo.read(TASK).contains("acks"));
}

/// A teammate's acknowledgement, signed on their machine, merges in: the merge's other parent
/// holds it, and it was judged when it was committed there.
#[test]
fn a_teammate_s_acknowledgement_merges_in() {
    let alice = hooked();
    alice.write("src/a.rs", "fn b() {}\n");
    alice.run(&["verify", "--task", "T-1"]).code(1);
    accepted(
        &alice,
        &alice.head(),
        &commit_all(&alice, "a failed attempt"),
    );
    let remote = with_remote(&alice);
    let bob = clone_with_a_commit(&alice, &remote);
    alice
        .run(&[
            "escalate",
            "--ack",
            "T-1",
            "--by",
            "alice",
            "--note",
            "retry with the fix",
        ])
        .code(0);
    accepted(
        &alice,
        &alice.head(),
        &commit_all(&alice, "T-1 acknowledged"),
    );
    alice.git(&["push", "-q", "origin", "main"]);
    let before = bob.head();
    let run = bob.git_env(
        &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
        &[],
    );
    assert_eq!(
        run.code, 0,
        "the merge was refused:\n{}{}",
        run.stdout, run.stderr
    );
    assert_ne!(bob.head(), before);
    let parents = bob.git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(
        parents.split_whitespace().count(),
        3,
        "a merge commit: {parents}"
    );
    assert!(
        bob.read(TASK).contains("by: \"alice\""),
        "{}",
        bob.read(TASK)
    );
    // And a push of the merge replays it (pre-push) without refusing the ack.
    let run = bob.git_env(&["push", "-q", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// A teammate's done claim, with evidence signed on their machine, merges in (and is pushed):
/// the merged commit holds that very evidence. Evidence nobody committed is still refused.
#[test]
fn a_teammate_s_done_claim_merges_in() {
    let alice = hooked();
    let remote = with_remote(&alice);
    let bob = clone_with_a_commit(&alice, &remote);
    work_and_verify(&alice);
    set_status(&alice, TASK, "in_progress", "done");
    accepted(&alice, &alice.head(), &commit_all(&alice, "T-1 done"));
    alice.git(&["push", "-q", "origin", "main"]);
    let before = bob.head();
    let run = bob.git_env(
        &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
        &[],
    );
    assert_eq!(
        run.code, 0,
        "the merge was refused:\n{}{}",
        run.stdout, run.stderr
    );
    assert_ne!(bob.head(), before);
    assert!(bob.read(TASK).contains("status: done"));
    let run = bob.git_env(&["push", "-q", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Bob moves Alice's done task on (to complete): its evidence, unchanged, is hers; the
    // commit and its push are accepted.
    set_status(&bob, TASK, "done", "complete");
    accepted(&bob, &bob.head(), &commit_all(&bob, "T-1 complete"));
    let run = bob.git_env(&["push", "-q", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Bob's own claim with evidence copied from elsewhere (no commit holds it) is refused.
    let head = bob.head();
    let t2 = TASK.replace("T-1", "T-2");
    bob.write(&t2, task("T-2", "done", CRITERIA, ""));
    for id in ["W-1", "W-2"] {
        let theirs = bob.read(&format!(".specproof/evidence/T-1/iter-1/{id}.json"));
        bob.write(
            &format!(".specproof/evidence/T-2/iter-1/{id}.json"),
            theirs.replace("\"T-1\"", "\"T-2\""),
        );
    }
    let run = commit_all(&bob, "T-2 done with copied evidence");
    rejected(&bob, &head, &run, &["T-2", "F12"]);
}

/// A local branch is not a teammate's: an acknowledgement written by hand there (committed with
/// --no-verify) and pulled or merged from it is refused.
#[test]
fn a_hand_written_acknowledgement_from_a_local_branch_is_refused_when_merged() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    accepted(&repo, &repo.head(), &commit_all(&repo, "a failed attempt"));
    repo.git(&["checkout", "-q", "-b", "side"]);
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "escalation: retry\n",
            "escalation: null\nacks:\n  - { by: mallory, at: \"2026-12-03T00:00:00Z\", note: go on, attempts: 1, signature: \"hmac-sha256:00\" }\n",
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-n", "-m", "an acknowledgement by hand"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("notes.txt", "x\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "notes"));
    let head = repo.head();
    let run = repo.git_env(
        &["pull", "-q", "--no-rebase", "--no-edit", ".", "side"],
        &[],
    );
    assert_ne!(run.code, 0, "the merge was accepted:\n{}", run.stderr);
    assert!(
        run.stderr.contains("mallory at") && run.stderr.contains("F12"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.head(), head);
}

/// A remote-tracking ref made locally names no one else's work: pre-push does not trust the
/// commits it is pushing, whatever refs name them.
#[test]
fn a_remote_tracking_ref_made_locally_does_not_let_a_forged_acknowledgement_through() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    accepted(&repo, &repo.head(), &commit_all(&repo, "a failed attempt"));
    let _remote = with_remote(&repo);
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(
            "escalation: retry\n",
            "escalation: null\nacks:\n  - { by: mallory, at: \"2026-12-03T00:00:00Z\", note: go on, attempts: 1, signature: \"hmac-sha256:00\" }\n",
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-n", "-m", "an acknowledgement by hand"]);
    repo.git(&["update-ref", "refs/remotes/me/x", "HEAD"]);
    let run = repo.git_env(&["push", "origin", "main"], &[]);
    assert_ne!(run.code, 0, "the push was accepted:\n{}", run.stderr);
    assert!(
        run.stderr.contains("mallory at") && run.stderr.contains("F12"),
        "{}",
        run.stderr
    );
}

/// A bare repository as `repo`'s origin, holding its main branch.
fn with_remote(repo: &Repo) -> Repo {
    let remote = Repo::bare_folder();
    let path = remote.path().to_str().expect("utf-8").to_owned();
    repo.git(&["init", "-q", "--bare", &path]);
    repo.git(&["remote", "add", "origin", &path]);
    repo.git(&["push", "-q", "origin", "main"]);
    remote
}

/// Bob: a clone of `remote`'s main with the hooks installed and a commit of his own.
fn clone_with_a_commit(from: &Repo, remote: &Repo) -> Repo {
    let bob = Repo::bare_folder();
    let remote_path = remote.path().to_str().expect("utf-8");
    let bob_path = bob.path().to_str().expect("utf-8");
    from.git(&["clone", "-q", "-b", "main", remote_path, bob_path]);
    bob.run(&["install"]).code(0);
    bob.write("notes.txt", "bob's notes\n");
    accepted(&bob, &bob.head(), &commit_all(&bob, "notes"));
    bob
}
