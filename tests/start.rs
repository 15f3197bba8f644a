//! `specproof start T`: ready → `in_progress` through gates 1 and 2.

use crate::common::Repo;
use crate::hooks::{CRITERIA, TASK, plan, task};

fn ready_repo(task_text: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task_text);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo
}

#[test]
fn start_moves_a_ready_task_records_base_and_takes_the_first_snapshot() {
    let repo = ready_repo(&task("T-1", "ready", CRITERIA, ""));
    let head = repo.head();
    let run = repo.run(&["start", "T-1"]);
    run.code(0);
    assert!(
        run.stdout.contains("T-1: ready → in_progress"),
        "{}",
        run.stdout
    );
    let text = repo.read(TASK);
    assert!(text.contains("status: in_progress\n"), "{text}");
    assert!(text.contains(&format!("base: {head}\n")), "{text}");
    assert_eq!(
        repo.read(".specproof/snapshots/plans/p.md"),
        repo.read("plans/p.md"),
        "the first snapshot is the plan"
    );
    // Everything else in the file is as it was.
    let original = task("T-1", "ready", CRITERIA, "");
    assert_eq!(
        text.replace("status: in_progress\n", "status: ready\n")
            .replace(&format!("base: {head}\n"), ""),
        original
    );
    // Again: already started, nothing changes.
    let run = repo.run(&["start", "T-1"]);
    run.code(0);
    assert!(run.stdout.contains("already in_progress"), "{}", run.stdout);
    assert_eq!(repo.read(TASK), text);
}

#[test]
fn start_refuses_a_task_that_fails_gate_2_and_writes_nothing() {
    let parroting = task("T-1", "ready", CRITERIA, "").replace(
        "- W-1: I create the source file for the module\n",
        "- W-1: the module file exists\n",
    );
    let repo = ready_repo(&parroting);
    let before = repo.read(TASK);
    let run = repo.run(&["start", "T-1"]);
    run.code(1);
    assert!(run.stderr.contains("G2 echo verified"), "{}", run.stderr);
    assert!(run.stderr.contains("W-1"), "{}", run.stderr);
    assert!(run.stderr.contains("F13"), "{}", run.stderr);
    assert_eq!(repo.read(TASK), before);
    assert!(!repo.path().join(".specproof/snapshots").exists());
}

#[test]
fn start_refuses_a_task_that_fails_gate_1() {
    let fabricated = task(
        "T-1",
        "ready",
        &format!(
            "{CRITERIA}- id: W-9\n  description: invented\n  proof: file_exists\n  args: {{ path: x }}\n"
        ),
        "",
    );
    let repo = ready_repo(&fabricated);
    let run = repo.run(&["start", "T-1"]);
    run.code(1);
    assert!(
        run.stderr.contains("G1 criteria well-formed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("W-9"), "{}", run.stderr);
    assert!(run.stderr.contains("fabricated"), "{}", run.stderr);
}

#[test]
fn start_refuses_other_states_unknown_tasks_and_empty_repositories() {
    let repo = ready_repo(&task("T-1", "created", CRITERIA, ""));
    let run = repo.run(&["start", "T-1"]);
    run.code(2);
    assert!(
        run.stderr.contains("T-1 is created, not ready"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["start", "T-2"]);
    run.code(2);
    assert!(run.stderr.contains("no task T-2"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean T-1"), "{}", run.stderr);

    let empty = Repo::new();
    empty.write("plans/p.md", plan(CRITERIA));
    empty.write(TASK, task("T-1", "ready", CRITERIA, ""));
    let run = empty.run(&["start", "T-1"]);
    run.code(2);
    assert!(run.stderr.contains("no commit yet"), "{}", run.stderr);
}

#[test]
fn start_refuses_a_task_of_a_draft_plan() {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        format!("---\nstatus: draft\n---\n{}", plan(CRITERIA)),
    );
    repo.write(TASK, task("T-1", "ready", CRITERIA, ""));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    let run = repo.run(&["start", "T-1"]);
    run.code(2);
    assert!(run.stderr.contains("draft"), "{}", run.stderr);
}

#[test]
fn a_started_task_commits_through_the_hooks() {
    let repo = ready_repo(&task("T-1", "ready", CRITERIA, ""));
    crate::hooks::install(&repo);
    repo.run(&["start", "T-1"]).code(0);
    let head = repo.head();
    let run = crate::hooks::commit_all(&repo, "start T-1");
    crate::hooks::accepted(&repo, &head, &run);
    // base never changes once in progress.
    let text = repo.read(TASK);
    repo.write(
        TASK,
        text.replace(&format!("base: {head}"), "base: 0000000"),
    );
    let head = repo.head();
    let run = crate::hooks::commit_all(&repo, "move base");
    crate::hooks::rejected(&repo, &head, &run, &["hand edit of `base`"]);
}
