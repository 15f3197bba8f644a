//! `specproof matrix` and `specproof status`: every colour of the compliance matrix on a tree
//! built to hold it, the rate and density, the exit code, the formats, `--plan`, and the next
//! command status names for each kind of problem.

use serde_json::Value;

use crate::common::{Repo, plan_with, task_with};

const EXISTS: &str = "- id: C-1\n  description: the module exists\n  proof: file_exists\n  args: { path: src/a.rs }\n";
const HELLO: &str = "- id: C-2\n  description: the module says hello\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"hello\" }\n";
const BYE: &str = "- id: C-3\n  description: the other module says bye\n  proof: pattern_matches\n  args: { path: src/b.rs, pattern: \"bye\" }\n";

fn item(id: &str, proof: &str, args: &str) -> String {
    format!("- id: {id}\n  description: criterion {id} holds\n  proof: {proof}\n  args: {args}\n")
}

/// `specproof matrix --format json ARGS…`, parsed.
fn matrix_json(repo: &Repo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["matrix", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.run(&args);
    let doc = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "matrix json does not parse: {e}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        )
    });
    (run.code, doc)
}

/// `specproof status --format json`, parsed.
fn status_json(repo: &Repo) -> (i32, Value) {
    let run = repo.run(&["status", "--format", "json"]);
    let doc = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "status json does not parse: {e}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        )
    });
    (run.code, doc)
}

/// The row of criterion `id`.
#[track_caller]
fn row<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["criteria"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["criterion"] == id))
        .unwrap_or_else(|| panic!("no row for {id} in {doc:#}"))
}

/// Asserts the colour of `id` and that its reason holds every one of `parts`.
#[track_caller]
fn colour(doc: &Value, id: &str, colour: &str, parts: &[&str]) {
    let r = row(doc, id);
    assert_eq!(r["colour"], colour, "colour of {id}: {r:#}");
    let reason = r["reason"].as_str().unwrap_or_default();
    for part in parts {
        assert!(
            reason.contains(part),
            "{part:?} not in the reason of {id}: {r:#}"
        );
    }
}

/// The problem of `kind` whose subject starts with `subject`, in a status JSON document.
#[track_caller]
fn problem<'a>(doc: &'a Value, kind: &str, subject: &str) -> &'a Value {
    doc["problems"]
        .as_array()
        .and_then(|p| {
            p.iter().find(|p| {
                p["kind"] == kind && p["subject"].as_str().unwrap_or("").starts_with(subject)
            })
        })
        .unwrap_or_else(|| panic!("no {kind} problem for {subject} in {doc:#}"))
}

#[test]
fn fresh_stale_failed_and_missing_evidence_are_green_yellow_and_red() {
    let repo = Repo::with_plan(&format!("{EXISTS}{HELLO}{BYE}"));
    // No evidence yet: every criterion is RED, naming the file it looked for.
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "{doc:#}");
    colour(
        &doc,
        "C-1",
        "red",
        &[
            "no evidence",
            ".specproof/evidence/T-1/iter-1/C-1.json does not exist",
        ],
    );

    repo.write("src/a.rs", "fn hello() {}\n");
    repo.write("src/b.rs", "fn hi() {}\n");
    assert_eq!(repo.verify_json(&[]).0, 1, "C-3 fails");
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "C-3 is critical and RED: {doc:#}");
    colour(
        &doc,
        "C-1",
        "green",
        &["fresh pass evidence .specproof/evidence/T-1/iter-1/C-1.json"],
    );
    let c3 = row(&doc, "C-3");
    assert_eq!(c3["colour"], "red");
    assert_eq!(c3["failure_code"], "F3");
    assert_eq!(c3["evidence"], ".specproof/evidence/T-1/iter-1/C-3.json");
    assert_eq!(c3["task"], "T-1");
    assert_eq!(c3["task_status"], "in_progress");
    colour(&doc, "C-3", "red", &["failed (F3)", "C-3.json"]);

    // The file changes after the evidence: implemented, not re-proven.
    repo.write("src/a.rs", "fn hello() { /* edited */ }\n");
    let (_, doc) = matrix_json(&repo, &[]);
    colour(
        &doc,
        "C-2",
        "yellow",
        &[
            "stale pass evidence (F11) .specproof/evidence/T-1/iter-1/C-2.json",
            "input digest differs",
        ],
    );
    let stale = row(&doc, "C-2")["stale"].as_array().unwrap().clone();
    assert_eq!(stale.len(), 1, "only the input digest differs: {stale:?}");
    assert_eq!(stale[0]["field"], "input_digest");
    assert_ne!(stale[0]["evidence"], stale[0]["expected"]);
    // file_exists looks at the path list only: editing the file keeps it fresh.
    colour(&doc, "C-1", "green", &[]);

    // Verify agrees: what the matrix calls GREEN is what verify reuses as cached.
    let (_, verified) = repo.verify_json(&[]);
    let cached = |id: &str| {
        verified["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["criterion"] == id)
            .unwrap()["cached"]
            .clone()
    };
    assert_eq!(cached("C-1"), true);
    assert_eq!(cached("C-2"), false);
}

#[test]
fn edited_evidence_is_red_f12_and_without_a_key_only_facts_are_judged() {
    let repo = Repo::with_plan(EXISTS);
    repo.write("src/a.rs", "x\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    let path = ".specproof/evidence/T-1/iter-1/C-1.json";
    let edited = repo
        .read(path)
        .replace("\"duration_ms\": ", "\"duration_ms\": 1");
    repo.write(path, edited);
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1);
    assert_eq!(doc["signatures_checked"], true);
    colour(&doc, "C-1", "red", &["suspect evidence (F12)", "signature"]);
    assert_eq!(row(&doc, "C-1")["failure_code"], "F12");

    // A clone without the key (CI): signatures cannot be checked, the facts still are.
    std::fs::remove_file(repo.path().join(".git/specproof/key")).unwrap();
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["signatures_checked"], false);
    colour(&doc, "C-1", "green", &[]);
    let run = repo.run(&["matrix"]);
    assert!(
        run.stdout.contains("note: this machine has no signing key"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_criterion_in_no_task_is_red_and_status_says_to_make_a_task() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(&format!("{EXISTS}{HELLO}")));
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", EXISTS));
    repo.write("src/a.rs", "hello\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "{doc:#}");
    colour(&doc, "C-1", "green", &[]);
    colour(&doc, "C-2", "red", &["in no task"]);
    assert!(row(&doc, "C-2")["task"].is_null());

    let (code, status) = status_json(&repo);
    assert_eq!(code, 1);
    let p = problem(&status, "no-task", "plans/p.md section Work");
    assert_eq!(p["criteria"], serde_json::json!(["C-2"]));
    assert_eq!(
        p["next"],
        "specproof task new --plan plans/p.md --section Work"
    );
}

#[test]
fn a_plan_edited_after_its_snapshot_is_orange_and_status_names_snapshot() {
    let repo = Repo::with_plan(&format!("{EXISTS}{HELLO}"));
    repo.write("src/a.rs", "hello\n");
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    assert_eq!(repo.verify_json(&[]).0, 0);
    let (_, doc) = matrix_json(&repo, &[]);
    assert_eq!(doc["plans"][0]["drift"], "same");

    // Weaken C-2 in the plan only, and add a criterion the snapshot does not have.
    let added =
        "- id: C-4\n  description: a new one\n  proof: file_exists\n  args: { path: src/a.rs }\n";
    repo.write(
        "plans/p.md",
        plan_with(&format!(
            "{EXISTS}{}{added}",
            HELLO.replace("\"hello\"", "\"h\"")
        )),
    );
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "a critical ORANGE fails the matrix: {doc:#}");
    colour(
        &doc,
        "C-2",
        "orange",
        &[
            "drift (F14)",
            "the plan differs from its snapshot in args",
            "evidence: fresh pass evidence",
        ],
    );
    assert_eq!(row(&doc, "C-2")["drift"][0]["of"], "plan");
    colour(
        &doc,
        "C-4",
        "orange",
        &["in the plan but not in its snapshot"],
    );
    colour(&doc, "C-1", "green", &[]);
    let plan = &doc["plans"][0];
    assert_eq!(plan["drift"], "drifted");
    assert_eq!(plan["drift_changed"], serde_json::json!(["C-2", "C-4"]));

    let (_, status) = status_json(&repo);
    let drifted = &status["drifted_plans"][0];
    assert_eq!(drifted["plan"], "plans/p.md");
    assert!(
        drifted["next"]
            .as_str()
            .unwrap()
            .contains("specproof snapshot plans/p.md"),
        "{status:#}"
    );
    let run = repo.run(&["status"]);
    assert!(
        run.stdout
            .contains("plans/p.md: differs from its snapshot in C-2, C-4 (F14)")
            && run.stdout.contains("specproof drift shows it"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_task_copy_that_differs_from_the_snapshot_is_orange() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(HELLO));
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &HELLO.replace("\"hello\"", "\"hel\"")),
    );
    repo.write("src/a.rs", "hello\n");
    let (code, doc) = matrix_json(&repo, &[]);
    // Drift hides no missing evidence: a critical ORANGE fails as a RED would.
    assert_eq!(code, 1, "{doc:#}");
    colour(
        &doc,
        "C-2",
        "orange",
        &[
            "task T-1's copy differs from the snapshot: args",
            "evidence: no evidence",
        ],
    );
    let drift = &row(&doc, "C-2")["drift"][0];
    assert_eq!(
        (drift["of"].as_str(), drift["task"].as_str()),
        (Some("task"), Some("T-1"))
    );

    let (_, status) = status_json(&repo);
    let p = problem(&status, "task-drift", "T-1");
    assert!(
        p["next"]
            .as_str()
            .unwrap()
            .contains("specproof lint .specproof/tasks/T-1.md"),
        "{p:#}"
    );
}

#[test]
fn an_inconclusive_judge_is_grey_and_not_a_failure() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "semantic_match",
        r#"{ rubric: ["greets the reader"], path: "src/*.txt" }"#,
    ));
    repo.write(
        "specproof.yml",
        "judge: { command: \"sh judge.sh\", min_confidence: 0.7 }\n",
    )
    .write(
        "judge.sh",
        "cat > /dev/null\necho '{\"verdict\":\"pass\",\"confidence\":0.5,\"reason\":\"not sure\"}'\n",
    )
    .write("src/greeting.txt", "Hello, dear reader.\n");
    assert_eq!(repo.verify_json(&[]).0, 1);
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 0, "GREY is not RED: {doc:#}");
    colour(
        &doc,
        "C-1",
        "grey",
        &["inconclusive (F4)", "needs a person"],
    );
    assert_eq!(row(&doc, "C-1")["failure_code"], "F4");
    assert_eq!(doc["summary"]["grey"], 1);

    let (code, status) = status_json(&repo);
    assert_eq!(code, 0);
    let p = problem(&status, "grey", "T-1");
    assert_eq!(p["next"], "specproof verify --task T-1 again");
}

#[test]
fn cross_cutting_criteria_are_judged_at_plan_level_and_shown_apart() {
    let cross = "- id: X-1\n  description: a readme exists\n  proof: file_exists\n  args: { path: README }\n  scope: cross-cutting\n";
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(&format!("{EXISTS}{cross}")));
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", EXISTS));
    repo.write("src/a.rs", "x\n").write("README", "read me\n");
    assert_eq!(repo.verify_json(&[]).0, 0);

    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "X-1 has no plan-level evidence yet: {doc:#}");
    colour(
        &doc,
        "X-1",
        "red",
        &[".specproof/evidence/_plan/p/iter-1/X-1.json does not exist"],
    );
    let (_, status) = status_json(&repo);
    assert_eq!(
        problem(&status, "red", "plans/p.md")["next"],
        "specproof verify --plan plans/p.md"
    );

    repo.run(&["verify", "--plan", "plans/p.md"]).code(0);
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let x = row(&doc, "X-1");
    assert_eq!(x["colour"], "green");
    assert_eq!(x["level"], "plan");
    assert_eq!(x["scope"], "cross-cutting");
    assert!(x["task"].is_null());
    assert_eq!(x["evidence"], ".specproof/evidence/_plan/p/iter-1/X-1.json");
    assert_eq!(row(&doc, "C-1")["level"], "task");
    assert_eq!(
        doc["summary"]["criteria"], 2,
        "plan-level criteria count in the rate"
    );
    assert_eq!(doc["summary"]["rate"], 1.0);

    // The table shows them apart, after the task criteria.
    let run = repo.run(&["matrix"]);
    run.code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let apart = lines
        .iter()
        .position(|l| *l == "Cross-cutting and system criteria (verified at plan level):")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let c1 = lines.iter().position(|l| l.starts_with("C-1 ")).unwrap();
    let x1 = lines.iter().position(|l| l.starts_with("X-1 ")).unwrap();
    assert!(c1 < apart && apart < x1, "{}", run.stdout);
    assert!(lines[x1].contains("plan level") && lines[x1].contains("GREEN"));

    // The plan's tasks move to iteration 2: plan-level evidence of iteration 1 is stale.
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", EXISTS).replace("iteration: 1", "iteration: 2"),
    );
    let (_, doc) = matrix_json(&repo, &[]);
    colour(
        &doc,
        "X-1",
        "yellow",
        &[
            "_plan/p/iter-1/X-1.json",
            "made in iteration 1, now at iteration 2",
        ],
    );
    assert_eq!(row(&doc, "X-1")["iteration"], 2);
    colour(
        &doc,
        "C-1",
        "yellow",
        &["made in iteration 1, now at iteration 2"],
    );
    let (_, status) = status_json(&repo);
    assert_eq!(
        problem(&status, "yellow", "plans/p.md")["next"],
        "specproof verify --plan plans/p.md, then commit the evidence: git add .specproof/evidence/_plan/p"
    );
}

#[test]
fn the_rate_and_the_density_are_exact() {
    let repo = Repo::new();
    // plans/a.md: a title, sections One (2 criteria), Two (1), Three (none): 3 criteria in 3
    // sections. plans/b.md: one section with one criterion, RED.
    repo.write(
        "plans/a.md",
        format!(
            "# Plan A\n\n## One\n\n```criteria\n{}{}```\n\n## Two\n\n```criteria\n{}```\n\n## Three\n\nProse only.\n",
            item("A-1", "file_exists", "{ path: src/a.rs }"),
            item("A-2", "file_exists", "{ path: src/a.rs }"),
            item("A-3", "file_exists", "{ path: src/missing.rs }"),
        ),
    );
    repo.write(
        "plans/b.md",
        format!(
            "# Plan B\n\n## Only\n\n```criteria\n{}```\n",
            item("B-1", "file_exists", "{ path: src/missing.rs }")
        ),
    );
    let task = |id: &str, plan: &str, section: &str, criteria: String| {
        task_with(id, &criteria)
            .replace("plans/p.md", plan)
            .replace("plan_section: Work", &format!("plan_section: {section}"))
    };
    repo.write(
        ".specproof/tasks/T-A.md",
        task(
            "T-A",
            "plans/a.md",
            "One",
            format!(
                "{}{}{}",
                item("A-1", "file_exists", "{ path: src/a.rs }"),
                item("A-2", "file_exists", "{ path: src/a.rs }"),
                item("A-3", "file_exists", "{ path: src/missing.rs }")
            ),
        ),
    );
    repo.write(
        ".specproof/tasks/T-B.md",
        task(
            "T-B",
            "plans/b.md",
            "Only",
            item("B-1", "file_exists", "{ path: src/missing.rs }"),
        ),
    );
    repo.write("src/a.rs", "x\n");
    assert_eq!(repo.verify_json(&[]).0, 1);

    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1);
    let a = &doc["plans"][0];
    assert_eq!(a["plan"], "plans/a.md");
    assert_eq!(
        (
            a["criteria"].as_u64(),
            a["green"].as_u64(),
            a["red"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(a["rate"].as_f64(), Some(2.0 / 3.0));
    assert_eq!(a["sections"], 3);
    assert_eq!(a["density"].as_f64(), Some(1.0));
    assert_eq!(
        a["section_density"],
        serde_json::json!([
            {"section": "One", "criteria": 2},
            {"section": "Two", "criteria": 1},
            {"section": "Three", "criteria": 0}
        ])
    );
    let b = &doc["plans"][1];
    assert_eq!(
        (b["rate"].as_f64(), b["density"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    let all = &doc["summary"];
    assert_eq!(
        (all["criteria"].as_u64(), all["green"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(all["rate"].as_f64(), Some(0.5));
    assert_eq!(
        (all["sections"].as_u64(), all["density"].as_f64()),
        (Some(4), Some(1.0))
    );
    assert_eq!(all["critical_red"], 2);

    let run = repo.run(&["matrix"]);
    run.code(1)
        .line("plans/a.md: 66.7% compliant (2 of 3 criteria GREEN; 0 yellow, 1 red, 0 orange, 0 grey); density 1.00 criteria per section (One 2, Two 1, Three 0)")
        .line("plans/b.md: 0.0% compliant (0 of 1 criterion GREEN; 0 yellow, 1 red, 0 orange, 0 grey); density 1.00 criteria per section (Only 1)")
        .line("overall: 50.0% compliant (2 of 4 criteria GREEN; 0 yellow, 2 red, 0 orange, 0 grey); density 1.00 criteria per section (4 criteria in 4 sections)")
        .line("failed: 2 critical criteria are RED or ORANGE: A-3, B-1");
    repo.run(&["status"]).code(1).line_with(
        "compliance: 50.0% compliant (2 of 4 criteria GREEN",
        &["density 1.00 criteria per section"],
    );
}

#[test]
fn only_a_critical_red_exits_1() {
    let low = "- id: L-1\n  description: a nicety\n  proof: file_exists\n  args: { path: src/nice.rs }\n  severity: low\n";
    let repo = Repo::with_plan(low);
    assert_eq!(repo.verify_json(&[]).0, 1);
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 0, "a low RED exits 0: {doc:#}");
    assert_eq!(row(&doc, "L-1")["colour"], "red");
    assert_eq!(row(&doc, "L-1")["severity"], "low");
    assert_eq!(doc["ok"], true);
    repo.run(&["matrix"])
        .code(0)
        .line("ok: no critical criterion is RED or ORANGE");
    repo.run(&["status"]).code(0);

    // The same criterion without a severity is critical (the default): exit 1.
    let critical = low.replace("  severity: low\n", "");
    repo.write("plans/p.md", plan_with(&critical));
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", &critical));
    let (code, doc) = matrix_json(&repo, &[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(row(&doc, "L-1")["severity"], "critical");
    repo.run(&["status"]).code(1);
}

#[test]
fn usage_errors_exit_2() {
    let repo = Repo::with_plan(EXISTS);
    let run = repo.run(&["matrix", "--plan", "plans/nope.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("plans/nope.md: no such file"),
        "{}",
        run.stderr
    );
    repo.write("notes/x.md", "# not a plan\n");
    let run = repo.run(&["matrix", "--plan", "notes/x.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("notes/x.md is not a plan file")
            && run.stderr.contains("plans/**/*.md"),
        "{}",
        run.stderr
    );
    repo.run(&["matrix", "--format", "xml"]).code(2);
    repo.run(&["status", "--format", "markdown"]).code(2);
    repo.write("specproof.yml", "plan: [x]\n");
    let run = repo.run(&["matrix"]);
    run.code(2);
    assert!(run.stderr.contains("specproof.yml"), "{}", run.stderr);
}

#[test]
fn plan_restricts_the_matrix_to_one_plan_and_repo_is_honoured() {
    let repo = Repo::new();
    repo.write(
        "plans/a.md",
        plan_with(&item("A-1", "file_exists", "{ path: a }")),
    );
    repo.write(
        "plans/b.md",
        plan_with(&item("B-1", "file_exists", "{ path: b }")),
    );
    repo.write("src/keep", "");
    let (_, doc) = matrix_json(&repo, &[]);
    assert_eq!(doc["plans"].as_array().unwrap().len(), 2);

    let run = repo.run_in(
        "src",
        &["matrix", "--format", "json", "--plan", "../plans/b.md"],
        &[],
    );
    run.code(1);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let plans: Vec<&str> = doc["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plan"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["plans/b.md"]);
    let ids: Vec<&str> = doc["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["criterion"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["B-1"]);
    assert_eq!(doc["summary"]["criteria"], 1);

    // From outside the repository, with --repo.
    let outside = Repo::bare_folder();
    let root = repo.path().to_str().unwrap();
    let run = outside.run(&["--repo", root, "matrix", "--format", "json"]);
    run.code(1);
    assert!(run.stdout.contains("\"A-1\""), "{}", run.stdout);
    outside
        .run(&["--repo", root, "status"])
        .code(1)
        .line_with("compliance:", &["0 of 2 criteria"]);
    // A plan path is read from the current folder; given from the repository root, the error
    // says so and names the path that exists.
    let run = outside.run(&["--repo", root, "matrix", "--plan", "plans/b.md"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("paths are read from the current folder")
            && run.stderr.contains(&format!("{root}/plans/b.md")),
        "{}",
        run.stderr
    );
}

#[test]
fn markdown_fits_a_pull_request_comment() {
    let pipe = "- id: P-1\n  description: a or b\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"alpha|beta\" }\n";
    let repo = Repo::with_plan(&format!("{EXISTS}{pipe}"));
    repo.write("src/a.rs", "gamma\n");
    assert_eq!(repo.verify_json(&[]).0, 1);
    let run = repo.run(&["matrix", "--format", "markdown"]);
    run.code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("**Spec compliance: 50.0%** (1 of 2 criteria green) · 🟢 1 green · 🟡 0 yellow · 🔴 1 red · 🟠 0 orange · ⚪ 0 grey")
            && lines[0].contains("density 2.00 criteria per section")
            && lines[0].ends_with("❌ 1 critical criterion is red or orange: P-1"),
        "{}",
        run.stdout
    );
    assert!(lines.contains(&"| criterion | plan | section | task | colour | reason |"));
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("| C-1 | plans/p.md | Work | T-1 | 🟢 green | fresh pass evidence")),
        "{}",
        run.stdout
    );
    // Every row of the criteria table has its six cells: a pipe in a reason is escaped.
    for l in lines
        .iter()
        .filter(|l| l.starts_with("| C-") || l.starts_with("| P-"))
    {
        let cells = l.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("| plans/p.md | 50.0% (1/2) |")),
        "{}",
        run.stdout
    );
}

#[test]
fn colour_only_on_request_or_a_terminal() {
    let repo = Repo::with_plan(EXISTS);
    let plain = repo.run(&["matrix"]);
    assert!(!plain.stdout.contains('\u{1b}'), "{}", plain.stdout);
    let coloured = repo.run(&["--color", "always", "matrix"]);
    assert!(coloured.stdout.contains("\u{1b}[31"), "{}", coloured.stdout);
    let status = repo.run(&["--color", "always", "status"]);
    assert!(status.stdout.contains('\u{1b}'), "{}", status.stdout);
}

#[test]
fn status_names_the_next_command_for_each_problem() {
    let repo = Repo::new();
    let crit = |id: &str| {
        item(
            id,
            "pattern_matches",
            &format!("{{ path: src/{id}.rs, pattern: \"y\" }}"),
        )
    };
    let all: String = ["R-1", "Y-1", "H-1", "S-1", "N-1"]
        .iter()
        .map(|id| crit(id))
        .collect();
    repo.write("plans/p.md", plan_with(&all));
    // T-1 in progress, no evidence: RED.
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", &crit("R-1")));
    // T-2 proven, then the file changes: YELLOW.
    repo.write(".specproof/tasks/T-2.md", task_with("T-2", &crit("Y-1")));
    // T-3 blocked at human escalation.
    repo.write(
        ".specproof/tasks/T-3.md",
        task_with("T-3", &crit("H-1"))
            .replace("status: in_progress", "status: blocked")
            .replace("attempts: 0", "attempts: 4")
            .replace("escalation: null", "escalation: human"),
    );
    // T-4 ready to start.
    repo.write(
        ".specproof/tasks/T-4.md",
        task_with("T-4", &crit("S-1")).replace("status: in_progress", "status: ready"),
    );
    // N-1 is in no task.
    repo.write("src/Y-1.rs", "y\n");
    assert_eq!(repo.verify_json(&["--task", "T-2"]).0, 0);
    repo.write("src/Y-1.rs", "yy\n");
    repo.run(&["snapshot", "plans/p.md"]).code(0);
    repo.write("plans/p.md", format!("{}\nMore prose.\n", plan_with(&all)));

    let (code, doc) = status_json(&repo);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["version"], 1);
    let state = |s: &str| {
        doc["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["state"] == s)
            .unwrap()["tasks"]
            .clone()
    };
    assert_eq!(state("in_progress"), serde_json::json!(["T-1", "T-2"]));
    assert_eq!(state("blocked"), serde_json::json!(["T-3"]));
    assert_eq!(state("ready"), serde_json::json!(["T-4"]));
    assert_eq!(state("complete"), serde_json::json!([]));
    assert_eq!(
        doc["tasks"].as_array().unwrap().len(),
        7,
        "every state is listed"
    );

    assert_eq!(
        problem(&doc, "red", "T-1 (in_progress)")["next"],
        "specproof verify --task T-1"
    );
    assert_eq!(
        problem(&doc, "red", "T-3 (blocked)")["next"],
        "specproof escalate --ack T-3 --by NAME --note TEXT (a person decides), then specproof verify --task T-3"
    );
    assert_eq!(
        problem(&doc, "red", "T-4 (ready)")["next"],
        "specproof start T-4, then specproof verify --task T-4"
    );
    assert_eq!(
        problem(&doc, "yellow", "T-2 (in_progress)")["next"],
        "specproof verify --task T-2, then commit the evidence: git add .specproof/evidence/T-2"
    );
    assert_eq!(
        problem(&doc, "no-task", "plans/p.md section Work")["next"],
        "specproof task new --plan plans/p.md --section Work"
    );
    assert_eq!(doc["escalated"][0]["task"], "T-3");
    assert_eq!(
        doc["escalated"][0]["next"],
        "specproof escalate --ack T-3 --by NAME --note TEXT"
    );
    assert_eq!(doc["drifted_plans"][0]["plan"], "plans/p.md");
    assert_eq!(doc["drifted_plans"][0]["changed"], serde_json::json!([]));

    let run = repo.run(&["status"]);
    run.code(1)
        .line("  in_progress  T-1, T-2")
        .line("  blocked      T-3")
        .line("  T-3: escalation human after 4 failed attempts (blocked)")
        .line("failed: 4 critical criteria are RED or ORANGE; `specproof review-tasks` finds 1 problem");
    assert!(
        run.stdout
            .contains("  plans/p.md: differs from its snapshot outside its criteria (F14)"),
        "{}",
        run.stdout
    );
}

#[test]
fn status_fails_and_names_review_tasks_when_the_cross_reference_has_problems() {
    // Every plan criterion GREEN, yet C-1 is in two tasks and T-3 (whose plan_file names no
    // plan) holds a criterion no plan defines: review-tasks fails, so status must too.
    let repo = Repo::with_plan(EXISTS);
    repo.write(".specproof/tasks/T-2.md", task_with("T-2", EXISTS));
    let z = item("Z-1", "file_exists", "{ path: src/a.rs }");
    repo.write(
        ".specproof/tasks/T-3.md",
        task_with("T-3", &z).replace("plan_file: plans/p.md", "plan_file: plans/nope.md"),
    );
    repo.write("src/a.rs", "fn a() {}\n");
    for t in ["T-1", "T-2"] {
        assert_eq!(repo.verify_json(&["--task", t]).0, 0);
    }
    assert_eq!(repo.run(&["review-tasks"]).code, 1);

    let (code, doc) = status_json(&repo);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["review_problems"], 2, "{doc:#}");
    let review: Vec<&Value> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "review")
        .collect();
    assert_eq!(review.len(), 2, "one line per kind: {doc:#}");
    assert_eq!(review[0]["criteria"], serde_json::json!(["C-1"]));
    assert_eq!(
        review[0]["what"],
        "1 criterion in more than one task (duplicated)"
    );
    assert_eq!(review[1]["criteria"], serde_json::json!(["Z-1 (T-3)"]));
    assert_eq!(
        review[1]["what"],
        "1 task criterion its plan does not define (fabricated)"
    );
    assert!(review.iter().all(|p| p["next"] == "specproof review-tasks"));

    let run = repo.run(&["status"]);
    run.code(1)
        .line("  RED  review-tasks C-1: 1 criterion in more than one task (duplicated)")
        .line(
            "  RED  review-tasks Z-1 (T-3): 1 task criterion its plan does not define (fabricated)",
        )
        .line("failed: `specproof review-tasks` finds 2 problems");
    assert!(
        !run.stdout.contains("every criterion is GREEN"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("→ specproof review-tasks").count(), 2);
}
