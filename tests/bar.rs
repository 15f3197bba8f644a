//! The bar of a claim cannot be lowered: redefining, removing or moving the criteria of a done
//! or complete task, loosening specproof.yml in the commit it judges, starting a new iteration by
//! hand, snapshots without their plan-changes.log line; and force pushes. Real `git commit` and
//! `git push` with the installed hooks.

use std::os::unix::ffi::OsStrExt;

use crate::hooks::{
    CRITERIA, TASK, accepted, commit_all, hooked, plan, rejected, set_status, task, work_and_verify,
};

/// T-1 proven and committed as done.
fn done() -> crate::common::Repo {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 done"));
    repo
}

/// W-2 redefined to look for `fn b`, and src/a.rs changed so only the new definition holds.
fn redefine_w2(repo: &crate::common::Repo) -> String {
    let redefined = CRITERIA.replace("fn a", "fn b");
    repo.write("plans/p.md", plan(&redefined));
    repo.write("src/a.rs", "fn b() {}\n");
    redefined
}

#[test]
fn redefining_a_done_task_s_criterion_is_rejected_even_with_its_task_file_untouched() {
    let repo = done();
    let head = repo.head();
    redefine_w2(&repo);
    let run = commit_all(&repo, "redefine W-2");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "tampering",
            "T-1",
            "W-2",
            "F14",
            "done task T-1",
            "back to in_progress",
        ],
    );
    // Through a snapshot too: the snapshot is the definition once there is one.
    repo.git(&["checkout", "HEAD", "--", "plans/p.md", "src/a.rs"]);
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &head, &commit_all(&repo, "first snapshot"));
    let head = repo.head();
    redefine_w2(&repo);
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    let run = commit_all(&repo, "redefine W-2 in plan and snapshot");
    rejected(
        &repo,
        &head,
        &run,
        &["tampering", "W-2", "F14", "done task T-1"],
    );
    // The way that is allowed: the task goes back to work in the same commit.
    let redefined = CRITERIA.replace("fn a", "fn b");
    repo.write(TASK, task("T-1", "in_progress", &redefined, ""));
    accepted(
        &repo,
        &head,
        &commit_all(&repo, "redefine W-2, T-1 back to work"),
    );
}

#[test]
fn a_complete_task_s_criterion_never_changes() {
    let repo = done();
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let head = repo.head();
    redefine_w2(&repo);
    let run = commit_all(&repo, "redefine W-2");
    rejected(
        &repo,
        &head,
        &run,
        &["complete task T-1", "W-2", "F14", "new criterion"],
    );
}

#[test]
fn deleting_or_renaming_the_plan_of_a_done_task_is_rejected() {
    let repo = done();
    let head = repo.head();
    repo.git(&["rm", "-q", "plans/p.md"]);
    let run = repo.git_env(&["commit", "-m", "drop the plan"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["deletes (or moves) plans/p.md", "W-1", "W-2", "F14"],
    );
    repo.git(&["reset", "-q", "--hard", "HEAD"]);
    repo.git(&["mv", "plans/p.md", "plans/q.md"]);
    let run = repo.git_env(&["commit", "-m", "rename the plan"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["deletes (or moves) plans/p.md", "T-1"],
    );
    repo.git(&["reset", "-q", "--hard", "HEAD"]);
    // With a snapshot, moving the plan file still takes its criteria away from T-1.
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &head, &commit_all(&repo, "snapshot"));
    let head = repo.head();
    repo.git(&["mv", "plans/p.md", "plans/q.md"]);
    let run = repo.git_env(&["commit", "-m", "rename the plan, keep the snapshot"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["deletes (or moves) plans/p.md", "T-1"],
    );
    repo.git(&["reset", "-q", "--hard", "HEAD"]);
    // Removing one criterion from the plan is the same.
    let w1 = CRITERIA.split("- id: W-2").next().expect("W-1");
    repo.write("plans/p.md", plan(w1));
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    let run = commit_all(&repo, "drop W-2 from the plan");
    rejected(&repo, &head, &run, &["removes W-2 from plans/p.md", "F14"]);
}

#[test]
fn a_digest_exclude_added_in_the_claiming_commit_does_not_count_for_it() {
    // W-3 reads the whole tree: with every file excluded its evidence would never go stale.
    let (repo, _) = tree_proof_task();
    let head = repo.head();
    repo.write("specproof.yml", "digest_exclude: [\"**\"]\n");
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "exclude everything and claim");
    rejected(&repo, &head, &run, &["T-1", "W-3", "F11", "stale"]);
    // Without the config change the same claim passes.
    repo.git(&["rm", "-q", "--cached", "specproof.yml"]);
    std::fs::remove_file(repo.path().join("specproof.yml")).expect("rm");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    accepted(&repo, &head, &commit_all(&repo, "claim"));
}

#[test]
fn a_config_that_stops_reading_a_plan_does_not_hide_its_drift() {
    let repo = hooked();
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &repo.head(), &commit_all(&repo, "snapshot"));
    let head = repo.head();
    repo.write("plans/p.md", plan(&CRITERIA.replace("fn a", "fn")));
    repo.write("specproof.yml", "plans: [\"docs/**/*.md\"]\n");
    let run = commit_all(&repo, "edit the plan and stop reading it");
    rejected(
        &repo,
        &head,
        &run,
        &["plan drift", "plans/p.md", "W-2", "F14"],
    );
}

#[test]
fn a_new_iteration_needs_a_person() {
    let repo = hooked();
    let head = repo.head();
    let text = repo.read(TASK);
    repo.write(TASK, text.replace("iteration: 1", "iteration: 2"));
    let run = commit_all(&repo, "next iteration by hand");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "hand edit of `iteration`",
            "rose from 1 to 2 without a person's acknowledgement",
            "specproof converge",
            "SPECPROOF_OVERRIDE",
        ],
    );
    // A file where convergence keeps its records is not a person's decision, nor is a record
    // written by hand with every fact right but no signature of `specproof converge`: on a
    // machine without the key it is judged as the server judges it, and it has no results.
    repo.write(".specproof/convergence/p/iter-1.json", "{}\n");
    let run = commit_all(&repo, "a record by hand");
    rejected(&repo, &head, &run, &["rose from 1 to 2"]);
    repo.write(
        ".specproof/convergence/p/iter-1.json",
        "{\"plan\": \"plans/p.md\", \"iteration\": 1, \"decision\": \"continue\", \"tasks_advanced\": [\"T-1\"], \"signature\": \"hmac-sha256:00\"}\n",
    );
    let run = commit_all(&repo, "a forged record");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "rose from 1 to 2",
            "`specproof converge` did not write",
            "it has no `results`",
        ],
    );
}

#[test]
fn a_new_iteration_does_not_escape_human_escalation() {
    let repo = hooked();
    repo.write("src/a.rs", "fn b() {}\n");
    for _ in 0..4 {
        repo.run(&["verify", "--task", "T-1"]).code(1);
    }
    let text = repo.read(TASK);
    assert!(text.contains("escalation: human"), "{text}");
    accepted(&repo, &repo.head(), &commit_all(&repo, "blocked"));
    let head = repo.head();
    let reset = text
        .replace("iteration: 1", "iteration: 2")
        .replace("escalation: human", "escalation: null")
        .replace("attempts: 4", "attempts: 0")
        .replace("status: blocked", "status: in_progress");
    repo.write(TASK, reset);
    let run = commit_all(&repo, "start over");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "rose from 1 to 2 while the task waits for a person's decision",
            "F6",
        ],
    );
    // A person's acknowledgement opens the way.
    repo.git(&["checkout", "HEAD", "--", TASK]);
    repo.run(&[
        "escalate", "--ack", "T-1", "--by", "lead", "--note", "split it",
    ])
    .code(0);
    let acked = repo.read(TASK);
    repo.write(TASK, acked.replace("iteration: 1", "iteration: 2"));
    accepted(
        &repo,
        &head,
        &commit_all(&repo, "acknowledged, next iteration"),
    );
}

#[test]
fn a_snapshot_needs_its_line_in_plan_changes_log_which_only_grows() {
    let repo = hooked();
    let head = repo.head();
    repo.write(".specproof/snapshots/plans/p.md", plan(CRITERIA));
    let run = commit_all(&repo, "snapshot by hand");
    rejected(
        &repo,
        &head,
        &run,
        &[
            ".specproof/snapshots/plans/p.md",
            "without its line in .specproof/plan-changes.log",
            "specproof snapshot plans/p.md",
            "F14",
        ],
    );
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &head, &commit_all(&repo, "snapshot"));
    let head = repo.head();
    repo.write(".specproof/plan-changes.log", "");
    let run = commit_all(&repo, "forget the history");
    rejected(&repo, &head, &run, &["append-only", "F14"]);
}

#[test]
fn a_force_push_of_a_rewritten_history_is_checked() {
    let repo = done();
    let dir = tempfile::tempdir().expect("remote");
    let url = dir.path().to_str().expect("utf-8");
    repo.git(&["init", "-q", "--bare", url]);
    repo.git(&["remote", "add", "origin", url]);
    let run = repo.git_env(&["push", "-q", "origin", "main"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pushed = repo.head();
    // History rewritten: T-1's done commit replaced by one without its evidence.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "done, rewritten", "--no-verify"]);
    let run = repo.git_env(&["push", "--force", "origin", "main"], &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in ["push rejected", "done, rewritten", "T-1", "W-1", "F11"] {
        assert!(run.stderr.contains(part), "no {part:?} in:\n{}", run.stderr);
    }
    let remote = std::process::Command::new("git")
        .args(["--git-dir", url, "rev-parse", "refs/heads/main"])
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&remote.stdout).trim(), pushed);
}

#[test]
fn commit_msg_is_judged_by_the_stricter_of_head_and_the_staged_config() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "phrases block messages"),
    );
    let head = repo.head();
    // Turning the rule off in the commit does not let that commit's message through.
    repo.write("specproof.yml", "rationalization: { commit_msg: off }\n");
    let run = commit_all(&repo, "quick fix");
    rejected(
        &repo,
        &head,
        &run,
        &["quick fix", "assurance, not evidence"],
    );
    // The staged specproof.yml is what counts, not the working tree's: its own phrase blocks.
    repo.write(
        "specproof.yml",
        "rationalization: { commit_msg: block, phrases: [\"yolo\"] }\n",
    );
    repo.git(&["add", "specproof.yml"]);
    repo.write("specproof.yml", "rationalization: { commit_msg: off }\n");
    let run = repo.git_env(&["commit", "-m", "yolo"], &[]);
    rejected(&repo, &head, &run, &["\"yolo\""]);
    let run = repo.git_env(&["commit", "-m", "add the yolo phrase"], &[]);
    rejected(&repo, &head, &run, &["yolo"]);
    let run = repo.git_env(&["commit", "-m", "a phrase for reckless messages"], &[]);
    accepted(&repo, &head, &run);
}

#[test]
fn no_task_of_a_draft_plan_enters_in_progress_by_commit() {
    let repo = crate::common::Repo::new();
    let draft = format!("---\nstatus: draft\n---\n{}", plan(CRITERIA));
    repo.write("plans/p.md", &draft);
    repo.write(TASK, task("T-1", "ready", CRITERIA, ""));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "draft plan, ready task"]);
    crate::hooks::install(&repo);
    let head = repo.head();
    set_status(&repo, TASK, "ready", "in_progress");
    let run = commit_all(&repo, "start on a draft");
    rejected(
        &repo,
        &head,
        &run,
        &["T-1", "plans/p.md is a draft", "status: approved"],
    );
    // Approved, the same commit passes.
    repo.write(
        "plans/p.md",
        draft.replace("status: draft", "status: approved"),
    );
    accepted(&repo, &head, &commit_all(&repo, "approved, started"));
}

#[test]
fn a_first_base_must_name_a_commit_and_may_come_from_a_merged_branch() {
    let repo = hooked();
    let head = repo.head();
    let text = repo.read(TASK);
    let with_base = |base: &str| {
        text.replace(
            "escalation: null\n",
            &format!("escalation: null\nbase: {base}\n"),
        )
    };
    repo.write(TASK, with_base("no-such-commit"));
    let run = commit_all(&repo, "a base that is no commit");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "hand edit of `base`",
            "no-such-commit",
            "F8",
            "specproof start T-1",
        ],
    );
    repo.git(&["checkout", "HEAD", "--", TASK]);
    // Work started on a branch (its base is that branch's commit), merged into a main that
    // moved on: the merge is honest.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", "f\n");
    accepted(&repo, &head, &commit_all(&repo, "feature work"));
    let feature = repo.head();
    repo.write(TASK, with_base(&feature));
    accepted(
        &repo,
        &feature,
        &commit_all(&repo, "T-1 started on the branch"),
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "m\n");
    accepted(&repo, &head, &commit_all(&repo, "main moves on"));
    let main = repo.head();
    let run = repo.git_env(&["merge", "-q", "--no-edit", "feature"], &[]);
    accepted(&repo, &main, &run);
}

/// T-2 (section Other, criterion O-1 on src/b.rs) depends on T-1; both done and committed.
fn two_done() -> crate::common::Repo {
    let other = "- id: O-1\n  description: the second module file exists\n  proof: file_exists\n  args: { path: src/b.rs }\n";
    let repo = crate::common::Repo::new();
    repo.write(
        "plans/p.md",
        format!(
            "{}\n## Other\n\nMore.\n\n```criteria\n{other}```\n",
            plan(CRITERIA)
        ),
    );
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    let t2 = task("T-2", "in_progress", other, "depends_on: [T-1]\n")
        .replace("plan_section: Work", "plan_section: Other")
        .replace("The work.", "More.")
        .replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- O-1: a second source file is made for the other part\n",
        );
    repo.write(".specproof/tasks/T-2.md", t2);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and tasks"]);
    crate::hooks::install(&repo);
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 done"));
    repo.write("src/b.rs", "fn b() {}\n");
    repo.run(&["verify", "--task", "T-2"]).code(0);
    set_status(&repo, ".specproof/tasks/T-2.md", "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-2 done"));
    repo
}

#[test]
fn reopening_or_deleting_a_dependency_of_a_done_task_is_rejected() {
    let repo = two_done();
    let head = repo.head();
    set_status(&repo, TASK, "done", "in_progress");
    let run = commit_all(&repo, "reopen T-1");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "T-2",
            "depends on T-1, which this change moves to in_progress",
            "F7",
        ],
    );
    repo.git(&["checkout", "HEAD", "--", TASK]);
    repo.git(&["rm", "-q", "-r", TASK, ".specproof/evidence/T-1"]);
    let run = repo.git_env(&["commit", "-m", "drop T-1"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &["T-2", "which this change deletes", "F7"],
    );
    repo.git(&["reset", "-q", "--hard", "HEAD"]);
    // Both go back to work together: allowed.
    set_status(&repo, TASK, "done", "in_progress");
    set_status(&repo, ".specproof/tasks/T-2.md", "done", "in_progress");
    accepted(&repo, &head, &commit_all(&repo, "both back to work"));
}

#[test]
fn a_config_that_stops_reading_the_plan_of_a_done_task_is_rejected() {
    let repo = done();
    let head = repo.head();
    repo.write("specproof.yml", "plans: [\"docs/**/*.md\"]\n");
    let run = commit_all(&repo, "stop reading plans/");
    rejected(
        &repo,
        &head,
        &run,
        &["stops reading plans/p.md", "T-1", "W-1", "F14"],
    );
}

#[test]
fn excluding_a_file_from_digests_does_not_hide_breaking_a_file_proof_later() {
    let repo = done();
    repo.write(
        "specproof.yml",
        "digest_exclude: [\".specproof/**\", \"src/a.rs\"]\n",
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "exclude src/a.rs"));
    let head = repo.head();
    repo.write("src/a.rs", "fn b() {}\n");
    let run = commit_all(&repo, "break W-2");
    rejected(&repo, &head, &run, &["T-1", "W-2", "F10"]);
}

#[test]
fn deleting_a_snapshot_while_its_plan_stays_is_rejected() {
    let repo = hooked();
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    accepted(&repo, &repo.head(), &commit_all(&repo, "snapshot"));
    let head = repo.head();
    repo.git(&["rm", "-q", ".specproof/snapshots/plans/p.md"]);
    let run = repo.git_env(&["commit", "-m", "drop the snapshot"], &[]);
    rejected(
        &repo,
        &head,
        &run,
        &[
            "deletes .specproof/snapshots/plans/p.md",
            "F14",
            "git checkout HEAD -- .specproof/snapshots/plans/p.md",
        ],
    );
    // Once the file is no longer a plan (and no task is claimed), its snapshot may go.
    repo.write("specproof.yml", "plans: [\"docs/**/*.md\"]\n");
    accepted(&repo, &head, &commit_all(&repo, "plans live in docs/ now"));
}

/// plans/p.md with W-3 besides W-1 and W-2 (no TODO anywhere: a whole-tree proof), T-1 holding
/// all three in progress, committed, and the hooks installed; returns the criteria block.
fn tree_proof_task() -> (crate::common::Repo, String) {
    let criteria = format!(
        "{CRITERIA}- id: W-3\n  description: no TODO is left anywhere\n  proof: no_pattern_exists\n  args: {{ pattern: \"TODO\" }}\n"
    );
    let repo = crate::common::Repo::new();
    repo.write("plans/p.md", plan(&criteria));
    let echo = "- W-2: I write a function called a in it; a regex looks for it\n";
    repo.write(
        TASK,
        task("T-1", "in_progress", &criteria, "").replace(
            echo,
            &format!("{echo}- W-3: nothing in the repository says T O D O\n"),
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and task"]);
    crate::hooks::install(&repo);
    (repo, criteria)
}

/// T-1 with W-3 (no TODO anywhere: a whole-tree proof) verified and committed as done.
fn done_with_tree_proof() -> (crate::common::Repo, String) {
    let (repo, criteria) = tree_proof_task();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 done"));
    (repo, criteria)
}

#[test]
fn a_config_change_warns_for_a_complete_task_but_never_hides_a_redefinition() {
    let (repo, criteria) = done_with_tree_proof();
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 complete"));
    let head = repo.head();
    repo.write(
        "specproof.yml",
        "digest_exclude: [\".specproof/**\", \"src/**\"]\n",
    );
    // With W-3 redefined in the same change, the complete task's bar changed: rejected.
    repo.write("plans/p.md", plan(&criteria.replace("TODO", "FIXME")));
    let run = commit_all(&repo, "exclude src/ and redefine W-3");
    rejected(
        &repo,
        &head,
        &run,
        &["redefines W-3", "complete task T-1", "F14"],
    );
    // The config change alone is the project's to make: a warning names what it changes.
    repo.write("plans/p.md", plan(&criteria));
    let run = commit_all(&repo, "exclude src/");
    accepted(&repo, &head, &run);
    assert!(
        run.stderr
            .contains("changes which files W-3 of complete task T-1 reads"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_change_that_changes_what_a_done_whole_tree_proof_reads_is_rejected() {
    let (repo, _) = done_with_tree_proof();
    let head = repo.head();
    repo.write(
        "specproof.yml",
        "digest_exclude: [\".specproof/**\", \"src/**\"]\n",
    );
    let run = commit_all(&repo, "stop reading src/");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "changes `digest_exclude` or `max_file_size`",
            "W-3",
            "done task T-1",
            "F14",
        ],
    );
    repo.write("specproof.yml", "max_file_size: 1\n");
    let run = commit_all(&repo, "skip every file");
    rejected(&repo, &head, &run, &["W-2", "W-3", "F14"]);
}

#[test]
fn a_file_name_that_is_not_utf8_is_rejected_by_the_hooks_once_a_task_is_claimed() {
    // No task is done: nothing could miss it.
    let repo = hooked();
    let name = std::ffi::OsStr::from_bytes(b"odd-\xfe.txt");
    std::fs::write(repo.path().join(name), "fn a() {}\n").expect("write");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "an odd name, nothing claimed"),
    );
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 done"));
    let head = repo.head();
    let name = std::ffi::OsStr::from_bytes(b"src/\xff.rs");
    std::fs::write(repo.path().join(name), "fn a() {}\n").expect("write");
    let run = commit_all(&repo, "an odd name");
    rejected(&repo, &head, &run, &["is not UTF-8", "F8", "git mv"]);
}
