//! `specproof metrics`: exact values over small repositories whose histories are built to hold
//! each case (an honest done, a done committed without evidence, a rejected commit in the
//! ledger), the n/a cases, and the table and JSON outputs.

use crate::common::{Repo, criteria_block};
use serde_json::json;

use crate::hooks::{CRITERIA, TASK, commit_all, hooked, set_status, task};

const W3: &str = "- id: W-3\n  description: the second module exists\n  proof: file_exists\n  args: { path: src/b.rs }\n";
const T2: &str = ".specproof/tasks/T-2.md";

/// plans/p.md: section Work with W-1 and W-2, section More with W-3.
fn plan() -> String {
    format!(
        "# Plan\n\n## Work\n\nThe work.\n\n{}\n## More\n\nMore work.\n\n{}",
        criteria_block(CRITERIA),
        criteria_block(W3)
    )
}

/// Task T-2 of section More holding W-3, in `status`, with `extra` front matter lines.
fn task2(status: &str, extra: &str) -> String {
    task("T-2", status, W3, extra)
        .replace("plan_section: Work", "plan_section: More")
        .replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- W-3: I create a second source file for the module\n",
        )
}

fn commit(repo: &Repo, msg: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", msg]);
}

/// Two tasks, no hooks: T-1 worked, verified and committed done; T-2 committed done without
/// any evidence (as `--no-verify` would let it through).
fn two_tasks() -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""))
        .write(T2, task2("in_progress", ""));
    commit(&repo, "plan and tasks");
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "T-1 done");
    set_status(&repo, T2, "in_progress", "done");
    commit(&repo, "T-2 done, unproven");
    repo
}

fn metrics_json(repo: &Repo) -> serde_json::Value {
    let run = repo.run(&["metrics", "--format", "json"]);
    run.code(0);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

fn metric<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name}: {doc:#}"))
}

/// (value, meets) of metric `name`.
fn value(doc: &serde_json::Value, name: &str) -> (serde_json::Value, serde_json::Value) {
    let m = metric(doc, name);
    (m["value"].clone(), m["meets"].clone())
}

#[track_caller]
fn assert_na(doc: &serde_json::Value, name: &str, why: &str) {
    let m = metric(doc, name);
    assert!(m["value"].is_null(), "{name}: {m:#}");
    assert!(m["meets"].is_null(), "{name}: {m:#}");
    let detail = m["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("n/a: ") && detail.contains(why),
        "{name}: {detail}"
    );
}

#[test]
fn a_small_history_gives_exact_values() {
    let repo = two_tasks();
    let doc = metrics_json(&repo);
    assert_eq!(doc["version"], 1);
    let names: Vec<&str> = doc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "spec_compliance_rate",
            "first_pass_completion_rate",
            "silent_skip_rate",
            "mean_escalation_depth",
            "proof_coverage",
            "verification_overhead",
            "convergence_iterations",
            "task_review_gap_rate",
            "fabrication_rate",
            "failure_code_distribution",
            "criteria_density",
        ]
    );
    // W-1 and W-2 GREEN, W-3 RED (T-2 has no evidence).
    assert_eq!(
        value(&doc, "spec_compliance_rate"),
        (json!(66.67), json!(false))
    );
    assert_eq!(
        metric(&doc, "spec_compliance_rate")["target"],
        json!({"op": ">=", "value": 90.0})
    );
    assert_eq!(metric(&doc, "spec_compliance_rate")["unit"], "%");
    // Both done in iteration 1 with 0 attempts.
    assert_eq!(
        value(&doc, "first_pass_completion_rate"),
        (json!(100.0), json!(true))
    );
    // 2 commits moved a task to done or complete; T-2's had no evidence.
    assert_eq!(value(&doc, "silent_skip_rate"), (json!(50.0), json!(false)));
    let skip = metric(&doc, "silent_skip_rate");
    assert_eq!(skip["breakdown"]["done_claims"], 2.0);
    assert_eq!(skip["breakdown"]["silent"], 1.0);
    assert_eq!(skip["breakdown"]["commits"], 3.0);
    assert_eq!(
        value(&doc, "mean_escalation_depth"),
        (json!(0.0), json!(true))
    );
    assert_eq!(value(&doc, "proof_coverage"), (json!(100.0), json!(true)));
    assert_na(&doc, "convergence_iterations", "no convergence records");
    assert_eq!(
        value(&doc, "task_review_gap_rate"),
        (json!(0.0), json!(true))
    );
    assert_eq!(value(&doc, "fabrication_rate"), (json!(0.0), json!(true)));
    assert_eq!(
        value(&doc, "failure_code_distribution"),
        (json!(0.0), json!(null))
    );
    assert_eq!(value(&doc, "criteria_density"), (json!(1.5), json!(null)));
    let density = &metric(&doc, "criteria_density")["breakdown"];
    assert_eq!(density["plans/p.md § Work"], 2.0, "{density:#}");
    assert_eq!(density["plans/p.md § More"], 1.0, "{density:#}");

    // The table: one line per metric, value, target, pass/miss.
    let run = repo.run(&["metrics"]);
    run.code(0);
    run.line_with(
        "spec_compliance_rate",
        &["66.67%", ">= 90%", "miss", "2 of 3"],
    )
    .line_with("silent_skip_rate", &["50%", "<= 2%", "miss"])
    .line_with("proof_coverage", &["100%", ">= 80%", "pass"])
    .line_with("convergence_iterations", &["n/a", "<= 2", "-"]);
}

#[test]
fn metrics_without_tasks_or_history_are_not_applicable() {
    let repo = Repo::new();
    let doc = metrics_json(&repo);
    assert_na(&doc, "spec_compliance_rate", "no criteria");
    assert_na(&doc, "first_pass_completion_rate", "no task is done");
    assert_na(&doc, "silent_skip_rate", "no commits");
    assert_na(&doc, "mean_escalation_depth", "no task files");
    assert_na(&doc, "proof_coverage", "no criteria");
    assert_na(&doc, "verification_overhead", "no evidence");
    assert_na(&doc, "convergence_iterations", "no convergence records");
    assert_na(&doc, "task_review_gap_rate", "no task-scope criteria");
    assert_na(&doc, "fabrication_rate", "no criteria");
    assert_na(&doc, "criteria_density", "no criteria");
    // With history but no done claim yet.
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    commit(&repo, "plan");
    let doc = metrics_json(&repo);
    assert_na(
        &doc,
        "silent_skip_rate",
        "no commit in HEAD's history moved a task to done or complete",
    );
    assert_na(&doc, "first_pass_completion_rate", "no task is done");
    assert_eq!(value(&doc, "spec_compliance_rate").0, 0.0);
}

#[test]
fn escalation_retries_and_iterations_are_counted() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(
            TASK,
            task("T-1", "done", CRITERIA, "").replace("attempts: 0", "attempts: 2"),
        )
        .write(
            T2,
            task2("in_progress", "").replace("escalation: null", "escalation: reassign"),
        )
        .write(
            ".specproof/tasks/T-3.md",
            task("T-3", "complete", CRITERIA, ""),
        )
        .write(".specproof/convergence/p/iter-1.json", "{}")
        .write(".specproof/convergence/p/iter-3.json", "{}")
        .write(".specproof/convergence/q/iter-2.json", "{}")
        // q converged earlier, and its latest run of the loop has used one iteration.
        .write(
            ".specproof/convergence/q/iter-4.json",
            r#"{"budget": {"iterations_used": 1}}"#,
        );
    let doc = metrics_json(&repo);
    // T-3 (complete, iteration 1, 0 attempts) of T-1 and T-3.
    assert_eq!(
        value(&doc, "first_pass_completion_rate"),
        (json!(50.0), json!(false))
    );
    // reassign = 3, over 3 tasks.
    assert_eq!(
        value(&doc, "mean_escalation_depth"),
        (json!(1.0), json!(true))
    );
    assert_eq!(
        value(&doc, "convergence_iterations"),
        (json!(3.0), json!(false))
    );
    let conv = &metric(&doc, "convergence_iterations")["breakdown"];
    assert_eq!(*conv, json!({"p": 3.0, "q": 1.0}));
}

#[test]
fn review_gaps_fabrication_and_coverage_come_from_the_plans_and_tasks() {
    let semantic = "- id: W-4\n  description: the docs read well\n  proof: semantic_match\n  args: { path: README.md, rubric: reads well }\n";
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        format!(
            "{}\n## Docs\n\n{}\n- [ ] W-5: a checkbox with no proof\n",
            plan(),
            criteria_block(semantic)
        ),
    )
    // T-1 holds W-1, W-2 and an invented Z-9; W-3 and W-4 are in no task.
    .write(
        TASK,
        task(
            "T-1",
            "in_progress",
            &format!("{CRITERIA}- id: Z-9\n  description: invented\n  proof: file_exists\n  args: {{ path: z }}\n"),
            "",
        ),
    );
    let doc = metrics_json(&repo);
    // W-3 and W-4 of the 4 task-scope criteria defined in criteria blocks are in no task (the
    // bare checkbox W-5 defines no criterion: review-tasks does not list it).
    assert_eq!(
        value(&doc, "task_review_gap_rate"),
        (json!(50.0), json!(false))
    );
    // Z-9 of T-1's 3 criteria.
    assert_eq!(
        value(&doc, "fabrication_rate"),
        (json!(33.33), json!(false))
    );
    // W-1, W-2, W-3 machine-proven; W-4 semantic_match and W-5 a bare checkbox are not.
    assert_eq!(value(&doc, "proof_coverage"), (json!(60.0), json!(false)));
}

#[test]
fn a_rejected_commit_and_failing_evidence_show_in_the_failure_codes() {
    let repo = hooked();
    let head = repo.head();
    // Claimed done without evidence: the pre-commit hook rejects it (F11 for W-1 and W-2).
    repo.write("src/a.rs", "fn a() {}\n");
    set_status(&repo, TASK, "in_progress", "done");
    let run = commit_all(&repo, "T-1 done");
    crate::hooks::rejected(&repo, &head, &run, &["F11"]);
    let doc = metrics_json(&repo);
    let codes = metric(&doc, "failure_code_distribution");
    assert_eq!(codes["breakdown"], json!({"F11": 2.0}), "{codes:#}");
    assert_eq!(codes["value"], 2.0);
    // The same claim pushed past the hooks with --no-verify: a silent skip, 1 of 1.
    let run = repo.git_env(
        &["commit", "-q", "--no-verify", "-m", "T-1 done anyway"],
        &[],
    );
    run.code(0);
    let doc = metrics_json(&repo);
    assert_eq!(
        value(&doc, "silent_skip_rate"),
        (json!(100.0), json!(false))
    );
    repo.git(&["reset", "-q", "--hard", &head]);
    // A failing proof writes failing evidence: W-2 fails (F3).
    repo.write("src/a.rs", "// nothing\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    let doc = metrics_json(&repo);
    let codes = metric(&doc, "failure_code_distribution");
    assert_eq!(
        codes["breakdown"],
        json!({"F11": 2.0, "F3": 1.0}),
        "{codes:#}"
    );
    assert!(
        codes["detail"]
            .as_str()
            .unwrap()
            .contains("from 1 ledger rejections and 1 failing evidence files"),
        "{codes:#}"
    );
}

#[test]
fn verification_overhead_is_proof_time_over_the_span_of_history() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    let at = |date: &str| {
        repo.git(&["add", "-A"]);
        repo.git_env(
            &["commit", "-qm", "c"],
            &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
        )
        .code(0);
    };
    at("2026-01-01T00:00:00Z");
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    // 4 s and 1 s of proofs, over 100 s of history: 5 %.
    for (id, ms) in [("W-1", 4000), ("W-2", 1000)] {
        let rel = format!(".specproof/evidence/T-1/iter-1/{id}.json");
        let mut ev = repo.evidence(&rel);
        ev["duration_ms"] = json!(ms);
        repo.write(&rel, serde_json::to_string_pretty(&ev).unwrap());
    }
    at("2026-01-01T00:01:40Z");
    let doc = metrics_json(&repo);
    assert_eq!(
        value(&doc, "verification_overhead"),
        (json!(5.0), json!(true)),
        "{:#}",
        metric(&doc, "verification_overhead")
    );
}

#[test]
fn a_done_claim_with_an_override_is_declared_not_silent() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""))
        .write(T2, task2("in_progress", ""));
    commit(&repo, "plan and tasks");
    set_status(&repo, T2, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-qm",
        "T-2 done\n\nSpecproof-Override: incident 7",
    ]);
    let doc = metrics_json(&repo);
    assert_eq!(
        value(&doc, "silent_skip_rate"),
        (json!(0.0), json!(true)),
        "{:#}",
        metric(&doc, "silent_skip_rate")
    );
    // T-2 is done without evidence: its W-3 is not GREEN.
    assert_eq!(value(&doc, "spec_compliance_rate").0, json!(0.0));
}

#[test]
fn a_claim_merged_with_no_ff_is_counted_once() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""))
        .write(T2, task2("in_progress", ""));
    commit(&repo, "plan and tasks");
    repo.git(&["checkout", "-q", "-b", "side"]);
    set_status(&repo, T2, "in_progress", "done");
    commit(&repo, "T-2 done, unproven");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let doc = metrics_json(&repo);
    let skip = metric(&doc, "silent_skip_rate");
    assert_eq!(skip["breakdown"]["done_claims"], 1.0, "{skip:#}");
    assert_eq!(skip["breakdown"]["silent"], 1.0, "{skip:#}");
}

#[test]
fn a_task_moved_straight_to_complete_without_evidence_is_a_silent_skip() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""))
        .write(T2, task2("in_progress", ""));
    commit(&repo, "plan and tasks");
    // T-1 proven and moved to done, then done -> complete: one claim, not two.
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "T-1 done");
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "T-1 complete");
    // T-2 in_progress -> complete in one commit, no evidence (as --no-verify lets it through).
    set_status(&repo, T2, "in_progress", "complete");
    commit(&repo, "T-2 complete, unproven");
    let doc = metrics_json(&repo);
    let skip = metric(&doc, "silent_skip_rate");
    assert_eq!(skip["breakdown"]["done_claims"], 2.0, "{skip:#}");
    assert_eq!(skip["breakdown"]["silent"], 1.0, "{skip:#}");
    assert_eq!(value(&doc, "silent_skip_rate"), (json!(50.0), json!(false)));
}

#[test]
fn a_task_escalated_to_human_then_acknowledged_counts_at_the_human_level() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan())
        .write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    commit(&repo, "plan and task");
    // Four failed attempts: retry, decompose, reassign, human (blocked).
    repo.write("src/a.rs", "// nothing\n");
    for _ in 0..4 {
        repo.run(&["verify", "--task", "T-1"]).code(1);
    }
    assert!(repo.read(TASK).contains("escalation: human\n"));
    repo.run(&[
        "escalate", "--ack", "T-1", "--by", "lead", "--note", "split it",
    ])
    .code(0);
    // The ack cleared `escalation`; the work is then done and proven.
    repo.write("src/a.rs", "fn a() {}\n");
    repo.run(&["verify", "--task", "T-1"]).code(0);
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "T-1 done");
    assert!(repo.read(TASK).contains("escalation: null\n"));
    let doc = metrics_json(&repo);
    let depth = metric(&doc, "mean_escalation_depth");
    assert_eq!(
        (depth["value"].clone(), depth["meets"].clone()),
        (json!(4.0), json!(false)),
        "{depth:#}"
    );
}
