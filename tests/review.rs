//! `specproof review-tasks`: plan criteria against task criteria, in trees built to hold each
//! case; the table, JSON and markdown outputs; gap tasks.

use crate::common::{Repo, criteria_block};

const A1: &str = "- id: A-1\n  description: the parser exists\n  proof: file_exists\n  args: { path: src/parse.rs }\n";
const A2: &str = "- id: A-2\n  description: the lexer exists\n  proof: file_exists\n  args: { path: src/lex.rs }\n";
const A3: &str = "- id: A-3\n  description: the printer exists\n  proof: file_exists\n  args: { path: src/print.rs }\n";
const A4: &str = "- id: A-4\n  description: the checker exists\n  proof: file_exists\n  args: { path: src/check.rs }\n";
const X1: &str = "- id: X-1\n  description: no file holds a secret\n  proof: no_pattern_exists\n  args: { pattern: \"sec\" }\n  scope: cross-cutting\n";
const S1: &str = "- id: S-1\n  description: no file holds a token\n  proof: no_pattern_exists\n  args: { pattern: \"tok\" }\n  scope: system\n";

/// plans/p.md: section "Build" with A-1 to A-4 and X-1, section "Ops" with S-1.
fn plan() -> String {
    format!(
        "# P\n\n## Build\n\nBuild the thing.\n\n{}\n## Ops\n\n{}",
        criteria_block(&format!("{A1}{A2}{A3}{A4}{X1}")),
        criteria_block(S1)
    )
}

/// Task `id` of plans/p.md section Build, owned by `owner` (YAML; `null` for nobody).
fn task(id: &str, owner: &str, criteria: &str) -> String {
    format!(
        "---\ntask_id: {id}\nplan_file: plans/p.md\nplan_section: Build\nstatus: in_progress\nassigned_to: {owner}\n---\n## Acceptance Criteria\n\n```criteria\n{criteria}```\n"
    )
}

/// A tree with every case: A-1 mapped (T-1), A-2 missing, A-3 drifted (T-2), A-4 in T-1 and
/// T-3, X-1 in T-2 and never verified, S-1 never verified, Z-9 fabricated (T-3).
fn every_case() -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(".specproof/tasks/T-1.md", task("T-1", "ana", &format!("{A1}{A4}")))
        .write(
            ".specproof/tasks/T-2.md",
            task(
                "T-2",
                "bo",
                &format!("{}{X1}", A3.replace("src/print.rs", "src/printer.rs")),
            ),
        )
        .write(
            ".specproof/tasks/T-3.md",
            task(
                "T-3",
                "null",
                &format!("{A4}- id: Z-9\n  description: invented\n  proof: file_exists\n  args: {{ path: z }}\n"),
            ),
        );
    repo
}

#[test]
fn review_tasks_names_missing_drifted_duplicated_fabricated_and_orphaned_criteria() {
    let repo = every_case();
    let run = repo.run(&["review-tasks"]);
    run.code(1)
        .line("plans/p.md (definitions: plans/p.md)")
        .line("  CRITERION  SCOPE          STATUS       TASKS     SECTION")
        .line("  A-1        task           mapped       T-1       Build")
        .line("  A-2        task           missing      -         Build")
        .line("      in no task: copy it into a task of plans/p.md, or `specproof review-tasks --create-gap-tasks` writes one for its section's missing criteria")
        .line("  A-3        task           drifted F14  T-2       Build")
        .line("      .specproof/tasks/T-2.md:11: T-2's copy differs from plans/p.md: args (plan: {\"path\":\"src/print.rs\"}, task: {\"path\":\"src/printer.rs\"}); copy the definition again")
        .line("  A-4        task           duplicated   T-1, T-3  Build")
        .line("      in 2 tasks (T-1, T-3): a task-scope criterion belongs to exactly one task; remove it from all but one")
        .line("  X-1        cross-cutting  orphan F16   T-2       Build")
        .line("      .specproof/tasks/T-2.md:15: in task T-2: a cross-cutting criterion belongs to no task; remove it from the task")
        .line("      never verified at plan level (no evidence under _plan/ for it): `specproof verify --plan plans/p.md`")
        .line("  S-1        system         orphan F16   -         Ops")
        .line("  .specproof/tasks/T-3.md:15: T-3: Z-9: plans/p.md has no such criterion; copy criteria from the plan, never invent them")
        .line("  ana           T-1: A-1, A-4")
        .line("  bo            T-2: A-3")
        .line("  (unassigned)  T-3: A-4")
        .line("  held by no owner: A-2")
        .line("failed: 6 problems: 1 missing, 1 duplicated, 1 drifted, 1 fabricated, 2 orphaned (6 criteria in 1 plan, 3 tasks)");
}

#[test]
fn review_tasks_json_is_the_documented_document() {
    let repo = every_case();
    let run = repo.run(&["review-tasks", "--format", "json"]);
    run.code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"plans": 1, "tasks": 3, "criteria": 6, "mapped": 1, "missing": 1, "duplicated": 1, "drifted": 1, "orphaned": 2, "plan_level": 0, "fabricated": 1, "broken_plans": 0})
    );
    let criteria = &doc["plans"][0]["criteria"];
    let status: Vec<(&str, &str)> = criteria
        .as_array()
        .expect("criteria")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("A-1", "mapped"),
            ("A-2", "missing"),
            ("A-3", "drifted"),
            ("A-4", "duplicated"),
            ("X-1", "orphan"),
            ("S-1", "orphan")
        ]
    );
    let a3 = &criteria[2];
    assert_eq!(a3["failure_code"], "F14");
    assert_eq!(a3["tasks"][0]["task"], "T-2");
    assert_eq!(a3["tasks"][0]["line"], 11);
    assert_eq!(
        a3["tasks"][0]["drift"],
        serde_json::json!([
            "args (plan: {\"path\":\"src/print.rs\"}, task: {\"path\":\"src/printer.rs\"})"
        ])
    );
    let x1 = &criteria[4];
    assert_eq!(x1["scope"], "cross-cutting");
    assert_eq!(x1["failure_code"], "F16");
    assert_eq!(x1["verified_at_plan_level"], false);
    assert_eq!(
        criteria[0]["verified_at_plan_level"],
        serde_json::Value::Null
    );
    assert_eq!(
        doc["fabricated"],
        serde_json::json!([{"task": "T-3", "file": ".specproof/tasks/T-3.md", "line": 15, "criterion": "Z-9", "plan": "plans/p.md", "defined_in": null}])
    );
    assert_eq!(
        doc["coverage"],
        serde_json::json!([
            {"owner": "ana", "tasks": ["T-1"], "criteria": ["A-1", "A-4"]},
            {"owner": "bo", "tasks": ["T-2"], "criteria": ["A-3"]},
            {"owner": null, "tasks": ["T-3"], "criteria": ["A-4"]}
        ])
    );
    assert_eq!(doc["unowned"], serde_json::json!(["A-2"]));
    assert_eq!(doc["gap_tasks"], serde_json::json!([]));
}

#[test]
fn review_tasks_markdown_fits_a_pull_request_comment() {
    let repo = every_case();
    let run = repo.run(&["review-tasks", "--format", "markdown"]);
    run.code(1)
        .line("## specproof review-tasks")
        .line("**failed**: 6 problems: 1 missing, 1 duplicated, 1 drifted, 1 fabricated, 2 orphaned (6 criteria in 1 plan, 3 tasks).")
        .line("| criterion | scope | status | tasks | section | detail |")
        .line("| `A-1` | task | mapped | T-1 | Build |  |")
        .line("| `A-4` | task | **duplicated** | T-1, T-3 | Build | in 2 tasks (T-1, T-3): a task-scope criterion belongs to exactly one task; remove it from all but one |")
        .line("| `X-1` | cross-cutting | **orphan** F16 | T-2 | Build | .specproof/tasks/T-2.md:15: in task T-2: a cross-cutting criterion belongs to no task; remove it from the task<br>never verified at plan level (no evidence under _plan/ for it): `specproof verify --plan plans/p.md` |")
        .line("| T-3 | `Z-9` | `.specproof/tasks/T-3.md:15` | not in `plans/p.md` |")
        .line("| (unassigned) | T-3 | `A-4` |")
        .line("| _held by no owner_ | | `A-2` |");
}

#[test]
fn review_tasks_passes_when_every_criterion_has_its_one_task_and_plan_level_evidence() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(
            ".specproof/tasks/T-1.md",
            task("T-1", "ana", &format!("{A1}{A2}")),
        )
        .write(
            ".specproof/tasks/T-2.md",
            task("T-2", "bo", &format!("{A3}{A4}")),
        );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo.run(&["review-tasks"])
        .code(1)
        .line("  X-1        cross-cutting  orphan F16  -      Build");
    // Verified at plan level: evidence under _plan/p/ (here a failing run counts too: it ran).
    repo.run(&["verify", "--plan", "plans/p.md"]);
    assert!(
        repo.path()
            .join(".specproof/evidence/_plan/p/iter-1/X-1.json")
            .is_file()
    );
    repo.run(&["review-tasks"])
        .code(0)
        .line("  X-1        cross-cutting  plan-level  -      Build")
        .line("  S-1        system         plan-level  -      Ops")
        .line("ok: every task-scope criterion is in exactly one task as the plan defines it, and every plan-level one is verified at plan level (6 criteria in 1 plan, 2 tasks)");
}

#[test]
fn review_tasks_shows_task_copies_a_new_snapshot_leaves_behind() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan()).write(
        ".specproof/tasks/T-1.md",
        task("T-1", "ana", &format!("{A1}{A2}{A3}{A4}")),
    );
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    repo.write(
        "plans/p.md",
        plan().replace("the lexer exists", "the lexer exists and is fast"),
    );
    // The plan changed but the snapshot did not: the review is against the snapshot.
    let run = repo.run(&["review-tasks", "--plan", "plans/p.md", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        doc["plans"][0]["definitions"],
        ".specproof/snapshots/plans/p.md"
    );
    assert_eq!(doc["plans"][0]["criteria"][1]["status"], "mapped");
    assert!(
        doc["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("plans/p.md differs from its snapshot")),
        "{doc:#}"
    );
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    repo.run(&["review-tasks"])
        .code(1)
        .line("plans/p.md (definitions: .specproof/snapshots/plans/p.md)")
        .line("  A-2        task           drifted F14  T-1    Build")
        .line("      .specproof/tasks/T-1.md:15: T-1's copy differs from .specproof/snapshots/plans/p.md: description (plan: \"the lexer exists and is fast\", task: \"the lexer exists\"); copy the definition again");
}

#[test]
fn create_gap_tasks_writes_one_lintable_task_per_section_for_the_missing_criteria() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan()).write(
        ".specproof/tasks/T-001.md",
        task("T-001", "ana", &format!("{A1}{A3}")),
    );
    let run = repo.run(&["review-tasks", "--create-gap-tasks"]);
    run.line("wrote .specproof/tasks/T-002.md: gap task T-002 for plans/p.md, section \"Build\": A-2, A-4")
        .line("  A-2        task           mapped      T-002  Build");
    // Only the plan-level criteria, never verified, are left.
    run.code(1).line_with("failed: 2 problems: 2 orphaned", &[]);
    let gap = repo.read(".specproof/tasks/T-002.md");
    assert!(gap.starts_with("---\ntask_id: T-002\nplan_file: plans/p.md\nplan_section: Build\nstatus: created\nassigned_to: null\n"), "{gap}");
    assert!(
        gap.contains(&format!(
            "## Acceptance Criteria\n\n```criteria\n{A2}{A4}```\n"
        )),
        "{gap}"
    );
    assert!(
        gap.contains("## File Targets\n\n- src/lex.rs\n- src/check.rs\n"),
        "{gap}"
    );
    repo.run(&["lint"]).code(0);

    // Nothing is missing any more: nothing is written, nothing overwritten.
    let (code, doc) = {
        let run = repo.run(&["review-tasks", "--create-gap-tasks", "--format", "json"]);
        (
            run.code,
            serde_json::from_str::<serde_json::Value>(&run.stdout).expect("json"),
        )
    };
    assert_eq!(code, 1);
    assert_eq!(doc["gap_tasks"], serde_json::json!([]));
    assert_eq!(repo.read(".specproof/tasks/T-002.md"), gap);
    assert!(!repo.path().join(".specproof/tasks/T-003.md").exists());
}

#[test]
fn review_tasks_of_a_plan_that_does_not_exist_is_a_usage_error() {
    let repo = every_case();
    let run = repo.run(&["review-tasks", "--plan", "plans/q.md"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("error: no plan plans/q.md (did you mean plans/p.md?)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_duplicated_criterion_whose_copy_drifted_counts_as_drifted_too() {
    let repo = Repo::with_plan(A1);
    repo.write(
        ".specproof/tasks/T-2.md",
        crate::common::task_with("T-2", &A1.replace("src/parse.rs", "src/other.rs")),
    );
    let run = repo.run(&["review-tasks", "--format", "json"]);
    run.code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["summary"]["duplicated"], 1, "{doc:#}");
    assert_eq!(doc["summary"]["drifted"], 1, "{doc:#}");
    let a1 = &doc["plans"][0]["criteria"][0];
    assert_eq!(a1["status"], "duplicated", "{a1:#}");
    assert_eq!(a1["failure_code"], "F14", "{a1:#}");
}

#[test]
fn a_file_that_is_not_evidence_does_not_verify_a_criterion_at_plan_level() {
    let repo = Repo::with_plan(A1);
    let plan = std::fs::read_to_string(repo.path().join("plans/p.md")).expect("plan");
    repo.write("plans/p.md", plan.replace("```\n", &format!("{X1}```\n")));
    repo.write(".specproof/evidence/_plan/p/iter-1/X-1.json", "garbage\n");
    let run = repo.run(&["review-tasks", "--format", "json"]);
    run.code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["summary"]["orphaned"], 1, "{doc:#}");
}
