//! `specproof task new`: the file it writes, byte for byte; what it leaves out; what it refuses.

use crate::common::{AUTH_1, AUTH_PLAN, Repo, auth_task, criteria_block};

const AUTH_3: &str = "- id: AUTH-3\n  description: Expired token returns 401 with code token_expired\n  proof: test_passes\n  args: { command: \"cargo test expired_token\" }\n  severity: critical\n";

fn auth_repo() -> Repo {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN);
    repo
}

/// The Worker Report skeleton of a new task holding `ids`.
fn worker_report(ids: &[&str]) -> String {
    let echo = ids
        .iter()
        .map(|id| format!("- {id}:"))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "## Context\n\n## Worker Report\n\n### Echo-Back\n\n(In your own words, one line per criterion: what you will build and how it is checked.)\n\n{echo}\n\nAssumptions:\n\n-\n\n### Implementation Notes\n\n### Evidence\n\n### Code Changes\n\n### Self-Review\n\n### Status Update\n"
    )
}

#[test]
fn task_new_writes_the_section_source_its_task_criteria_and_the_report_skeleton() {
    let repo = auth_repo();
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "auth middleware",
        "--assign",
        "worker-1",
    ]);
    run.code(0)
        .line("wrote .specproof/tasks/T-001.md: task T-001 for plans/auth.md, section \"Auth middleware\" (read from the plan: it has no snapshot yet)")
        .line("  criteria:     AUTH-1, AUTH-3")
        .line("  file targets: src/auth.rs")
        .line("  left out:     AUTH-10 (cross-cutting): they belong to no task and are verified at plan level (`specproof verify --plan plans/auth.md`)")
        .line("next: write the Echo-Back in your own words, set `status: ready`, then `specproof start T-001`");
    let block = AUTH_PLAN
        .split_once("```criteria\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(body, _)| body)
        .expect("the plan's block");
    let expected = format!(
        "---\ntask_id: T-001\nplan_file: plans/auth.md\nplan_section: Auth middleware\nstatus: created\nassigned_to: worker-1\ntier: 1\niteration: 1\nattempts: 0\nbase: null\nescalation: null\ndepends_on: []\n---\n\
         ## Source\n\nRequests carry a JWT in the Authorization header.\n\n```criteria\n{block}```\n\n- [x] AUTH-1: the validation function\n\n\
         ## Acceptance Criteria\n\n```criteria\n{AUTH_1}{AUTH_3}```\n\n\
         ## File Targets\n\n- src/auth.rs\n\n{}",
        worker_report(&["AUTH-1", "AUTH-3"])
    );
    assert_eq!(repo.read(".specproof/tasks/T-001.md"), expected);
    // Empty echo lines are gate 2's business (in_progress and later), not lint's.
    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 1 task)");
}

#[test]
fn task_new_takes_the_snapshot_and_says_so_when_the_plan_differs() {
    let repo = auth_repo();
    repo.run(&["snapshot", "plans/auth.md"]).code(0);
    repo.write(
        "plans/auth.md",
        AUTH_PLAN.replace("code token_expired", "code expired"),
    );
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
    ]);
    run.code(0).line_with(
        "wrote .specproof/tasks/T-001.md:",
        &["(read from its snapshot .specproof/snapshots/plans/auth.md)"],
    );
    assert!(
        run.stderr.contains("warning: plans/auth.md differs from its snapshot .specproof/snapshots/plans/auth.md: the task copies the snapshot"),
        "{}",
        run.stderr
    );
    let task = repo.read(".specproof/tasks/T-001.md");
    assert!(task.contains(AUTH_3), "{task}");
    assert!(task.contains("assigned_to: null\n"), "{task}");
    repo.run(&["lint"]).code(0);
}

#[test]
fn task_new_lists_every_path_arg_once_as_file_targets() {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        format!(
            "# P\n\n## Work\n\n{}",
            criteria_block(
                "- id: W-1\n  description: the module exists\n  proof: file_exists\n  args: { path: src/w.rs }\n\
                 - id: W-2\n  description: it builds\n  proof: builds_clean\n  args: { command: make }\n\
                 - id: W-3\n  description: it says hello\n  proof: pattern_matches\n  args: { path: src/w.rs, pattern: hello }\n\
                 - id: W-4\n  description: no todo\n  proof: no_pattern_exists\n  args: { pattern: TODO, path: \"src/**/*.rs\" }\n\
                 - id: W-5\n  description: it reads well\n  proof: semantic_match\n  args: { rubric: [clear], path: [docs/w.md, src/w.rs] }\n"
            )
        ),
    );
    repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Work"])
        .code(0)
        .line("  file targets: src/w.rs, src/**/*.rs, docs/w.md");
    let task = repo.read(".specproof/tasks/T-001.md");
    assert!(
        task.contains("## File Targets\n\n- src/w.rs\n- src/**/*.rs\n- docs/w.md\n\n## Context"),
        "{task}"
    );
}

#[test]
fn task_new_picks_the_next_free_id_and_checks_dependencies() {
    let repo = auth_repo();
    repo.write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1))
        .write(".specproof/tasks/T-007.md", auth_task("T-007", AUTH_1));
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
        "--depends-on",
        "T-001,T-007",
    ]);
    run.code(0)
        .line_with("wrote .specproof/tasks/T-008.md:", &[]);
    assert!(
        run.stderr.contains("warning: AUTH-1 is also in task T-001: a task-scope criterion belongs to exactly one task"),
        "{}",
        run.stderr
    );
    assert!(
        repo.read(".specproof/tasks/T-008.md")
            .contains("\ndepends_on: [T-001, T-007]\n---\n")
    );

    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
        "--depends-on",
        "T-01",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "error: --depends-on T-01: no task T-01 in .specproof/tasks (did you mean T-001?)"
        ),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".specproof/tasks/T-009.md").exists());
}

#[test]
fn task_new_rejects_an_empty_dependency_id() {
    let repo = auth_repo();
    repo.write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1));
    for value in [",", "", "T-001,", "T-001, "] {
        let run = repo.run(&[
            "task",
            "new",
            "--plan",
            "plans/auth.md",
            "--section",
            "Auth middleware",
            "--depends-on",
            value,
        ]);
        run.code(2);
        assert!(
            run.stderr.contains(
                "error: --depends-on: an empty task ID; give task IDs separated by commas, e.g. --depends-on T-001,T-002"
            ),
            "{value:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("no task  in"), "{}", run.stderr);
        assert!(!repo.path().join(".specproof/tasks/T-002.md").exists());
    }
    // Spaces around the IDs are not part of them.
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
        "--depends-on",
        "T-001 , T-001",
    ]);
    run.code(0);
    assert!(
        repo.read(".specproof/tasks/T-002.md")
            .contains("\ndepends_on: [T-001]\n---\n")
    );
}

#[test]
fn task_new_never_overwrites_a_task_file() {
    let repo = auth_repo();
    let mine = auth_task("T-001", AUTH_1);
    repo.write(".specproof/tasks/T-001.md", &mine);
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
        "--id",
        "T-001",
    ]);
    run.code(1);
    assert!(
        run.stderr.contains("error: .specproof/tasks/T-001.md already exists; nothing was written: choose another --id, or leave --id out for the next free one (T-002)"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read(".specproof/tasks/T-001.md"), mine);
}

#[test]
fn task_new_names_the_nearest_section_and_plan_when_they_do_not_exist() {
    let repo = auth_repo();
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth midleware",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains("error: plans/auth.md has no section \"Auth midleware\" (did you mean \"Auth middleware\"?): its headings are \"Auth plan\", \"Auth middleware\""),
        "{}",
        run.stderr
    );
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/aut.md",
        "--section",
        "Auth middleware",
    ]);
    run.code(2);
    assert!(
        run.stderr
            .contains("error: no plan plans/aut.md (did you mean plans/auth.md?)"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".specproof/tasks").exists());
}

#[test]
fn task_new_refuses_a_section_without_task_scope_criteria() {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        format!(
            "# P\n\n## Hygiene\n\n{}\n## Notes\n\nNo criteria here.\n",
            criteria_block(
                "- id: H-1\n  description: no secrets\n  proof: no_pattern_exists\n  args: { pattern: secret }\n  scope: cross-cutting\n"
            )
        ),
    );
    let run = repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/p.md",
        "--section",
        "Hygiene",
    ]);
    run.code(1);
    assert!(
        run.stderr.contains("error: section \"Hygiene\" of plans/p.md has no task-scope criteria, only H-1 (cross-cutting), which belong to no task and are verified at plan level (`specproof verify --plan plans/p.md`); nothing was written"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Notes"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("section \"Notes\" of plans/p.md has no criteria"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".specproof/tasks").exists());
}

#[test]
fn a_new_task_with_its_echo_back_written_starts() {
    let repo = auth_repo();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo.run(&[
        "task",
        "new",
        "--plan",
        "plans/auth.md",
        "--section",
        "Auth middleware",
    ])
    .code(0);
    let file = ".specproof/tasks/T-001.md";
    let text = repo
        .read(file)
        .replace("status: created", "status: ready")
        .replace(
            "- AUTH-1:\n",
            "- AUTH-1: a token checker in the auth module, found by searching its source\n",
        )
        .replace(
            "- AUTH-3:\n",
            "- AUTH-3: old tokens are refused with a 401, shown by a cargo test\n",
        )
        .replace(
            "Assumptions:\n\n-\n",
            "Assumptions:\n\n- tokens are HS256\n",
        );
    repo.write(file, text);
    repo.run(&["lint"]).code(0);
    repo.run(&["start", "T-001"]).code(0).line_with(
        "T-001: ready → in_progress (gates 1 and 2 pass), base ",
        &[],
    );
}

#[test]
fn task_new_refuses_a_section_whose_text_never_closes_a_fence() {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        format!(
            "# P\n\n## Work\n\n{}\nSee:\n\n```sh\nmake\n",
            criteria_block(
                "- id: W-1\n  description: the module exists\n  proof: file_exists\n  args: { path: a }\n"
            )
        ),
    );
    let run = repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Work"]);
    run.code(1);
    assert!(
        run.stderr.contains("error: plans/p.md:14: a fenced block opened here is never closed, so the section's text would swallow the rest of the task file; nothing was written: close it in the plan"),
        "{}",
        run.stderr
    );
}

#[test]
fn task_new_refuses_a_section_title_the_plan_has_twice_naming_each_line() {
    let repo = Repo::new();
    let block = |id: &str| {
        criteria_block(&format!(
            "- id: {id}\n  description: the module exists\n  proof: file_exists\n  args: {{ path: a }}\n"
        ))
    };
    // "## Work" at line 3, "## work" (the same title to a task's plan_section) at line 12.
    repo.write(
        "plans/p.md",
        format!(
            "# P\n\n## Work\n\n{}\n## work\n\n{}",
            block("W-1"),
            block("W-2")
        ),
    );
    assert_eq!(repo.read("plans/p.md").lines().nth(11), Some("## work"));
    let run = repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Work"]);
    run.code(1);
    assert!(
        run.stderr.contains("error: plans/p.md: 2 sections are titled \"Work\" (lines 3, 12), and a task names its section by title alone; nothing was written: rename one of the sections so each title is unique"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".specproof/tasks").exists());

    // Renaming one is the fix.
    repo.write(
        "plans/p.md",
        repo.read("plans/p.md").replace("## work", "## More work"),
    );
    repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Work"])
        .code(0);
    assert!(
        repo.read(".specproof/tasks/T-001.md")
            .contains("- id: W-1\n")
    );
}

#[test]
fn task_new_lists_the_cwd_and_existing_paths_of_command_proofs_as_file_targets() {
    let repo = Repo::new();
    repo.write("tests/test_auth.py", "def test_login(): pass\n")
        .write("scripts/check.sh", "true\n")
        .write("tools/render", "#!/bin/sh\n")
        .write("tools/templates/invoice.txt", "Invoice\n")
        .write("src/auth.py", "x = 1\n");
    repo.write(
        "plans/p.md",
        format!(
            "# P\n\n## Work\n\n{}",
            criteria_block(
                "- id: W-1\n  description: the auth tests pass\n  proof: test_passes\n  args: { command: \"pytest -q tests/test_auth.py tests/test_gone.py\" }\n\
                 - id: W-2\n  description: the checks pass\n  proof: builds_clean\n  args: { command: \"sh 'scripts/check.sh' --strict /bin/true ../outside\" }\n\
                 - id: W-3\n  description: invoices render\n  proof: command_output_matches\n  args: { command: \"./render templates/invoice.txt\", pattern: Invoice, cwd: tools }\n\
                 - id: W-4\n  description: the module exists\n  proof: file_exists\n  args: { path: src/auth.py }\n"
            )
        ),
    );
    repo.run(&["task", "new", "--plan", "plans/p.md", "--section", "Work"])
        .code(0)
        .line("  file targets: tests/test_auth.py, scripts/check.sh, tools, tools/render, tools/templates/invoice.txt, src/auth.py");
    let task = repo.read(".specproof/tasks/T-001.md");
    assert!(
        task.contains("## File Targets\n\n- tests/test_auth.py\n- scripts/check.sh\n- tools\n- tools/render\n- tools/templates/invoice.txt\n- src/auth.py\n\n## Context"),
        "{task}"
    );
}
