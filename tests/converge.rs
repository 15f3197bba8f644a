//! `specproof converge` (SPEC §10.2): the end of an iteration, its signed record, and the
//! pre-commit hook accepting the new iteration it starts (and nothing else).

use crate::common::Repo;
use crate::hooks::{CRITERIA, TASK, accepted, commit_all, install, plan, rejected, task};

/// W-3 is held by no task: a failing W-3 gets a gap task.
const W3: &str = "- id: W-3\n  description: the second module file exists\n  proof: file_exists\n  args: { path: src/c.rs }\n";

/// plans/p.md with W-1 and W-2 held by T-1 (in progress) and `extra` criteria in the plan only,
/// committed.
fn repo_with(extra: &str, task_extra: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(&format!("{CRITERIA}{extra}")));
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, task_extra));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and task"]);
    repo
}

/// `specproof converge --format json` and its exit code.
fn converge(repo: &Repo, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["converge", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.run(&args);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run.code, doc)
}

fn names(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

fn codes(plan: &serde_json::Value) -> Vec<String> {
    plan["escalation"]
        .as_array()
        .expect("escalation")
        .iter()
        .map(|e| e["code"].as_str().expect("code").to_owned())
        .collect()
}

fn result<'a>(plan: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    plan["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["criterion"] == id)
        .unwrap_or_else(|| panic!("no result for {id}: {plan}"))
}

const RECORD_1: &str = ".specproof/convergence/p/iter-1.json";
const RECORD_2: &str = ".specproof/convergence/p/iter-2.json";

#[test]
fn converge_says_converged_when_every_criterion_passes() {
    let repo = repo_with("", "");
    repo.write("src/a.rs", "fn a() {}\n");
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["decision"], "converged");
    let plan = &doc["plans"][0];
    assert_eq!(plan["plan"], "plans/p.md");
    assert_eq!(plan["iteration"], 1);
    assert_eq!(result(plan, "W-1")["result"], "pass");
    assert_eq!(result(plan, "W-2")["result"], "pass");
    assert_eq!(result(plan, "W-2")["judged"], "verified");
    assert!(names(&plan["tasks_advanced"]).is_empty());
    let record: serde_json::Value = serde_json::from_str(&repo.read(RECORD_1)).expect("record");
    assert_eq!(record["decision"], "converged");
    assert!(
        record["signature"]
            .as_str()
            .expect("signature")
            .starts_with("hmac-sha256:")
    );
    // The table says it too.
    let run = repo.run(&["converge", "--plan", "plans/p.md"]);
    run.code(0);
    assert!(run.stdout.contains("decision: converged"), "{}", run.stdout);
}

#[test]
fn converge_continue_starts_the_next_iteration_and_the_hook_accepts_only_its_record() {
    let repo = repo_with(W3, "");
    install(&repo);
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "continue");
    let plan = &doc["plans"][0];
    assert_eq!(result(plan, "W-1")["result"], "fail");
    assert_eq!(result(plan, "W-3")["result"], "fail");
    assert_eq!(names(&plan["tasks_advanced"]), ["T-1"]);
    assert_eq!(plan["budget"]["iterations_used"], 1);
    assert_eq!(plan["budget"]["max_iterations"], 3);
    let gaps = plan["gap_tasks"].as_array().expect("gap tasks");
    assert_eq!(gaps.len(), 1, "{plan}");
    assert_eq!(names(&gaps[0]["criteria"]), ["W-3"]);
    let gap_file = gaps[0]["file"].as_str().expect("file").to_owned();
    let gap = repo.read(&gap_file);
    assert!(gap.contains("- id: W-3"), "{gap}");
    assert!(gap.contains("iteration: 2"), "{gap}");
    // T-1 moves to iteration 2 with attempts and escalation reset (verify had raised them).
    let t1 = repo.read(TASK);
    assert!(t1.contains("iteration: 2\n"), "{t1}");
    assert!(t1.contains("attempts: 0\n"), "{t1}");
    assert!(t1.contains("escalation: null\n"), "{t1}");
    let record: serde_json::Value = serde_json::from_str(&repo.read(RECORD_1)).expect("record");
    assert_eq!(record["decision"], "continue");
    assert_eq!(names(&record["tasks_advanced"]), ["T-1"]);

    // A hand-edited record does not count.
    let head = repo.head();
    let signed = repo.read(RECORD_1);
    repo.write(RECORD_1, signed.replace("\"W-1\"", "\"W-9\""));
    let run = commit_all(&repo, "iteration 2 with an edited record");
    rejected(
        &repo,
        &head,
        &run,
        &["rose from 1 to 2", "signature does not verify"],
    );
    // The signed record, with attempts not reset: not a new iteration.
    repo.write(RECORD_1, &signed);
    let advanced = repo.read(TASK);
    repo.write(TASK, advanced.replace("attempts: 0\n", "attempts: 1\n"));
    let run = commit_all(&repo, "iteration 2, attempts kept");
    rejected(&repo, &head, &run, &["rose from 1 to 2", "attempts: 0"]);
    repo.write(TASK, &advanced);
    // A record committed by an earlier commit does not start an iteration later.
    repo.git(&["reset", "-q"]);
    repo.git(&["add", RECORD_1]);
    let run = repo.git_env(&["commit", "-m", "the record alone"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let with_record = repo.head();
    let run = commit_all(&repo, "iteration 2 after its record");
    rejected(
        &repo,
        &with_record,
        &run,
        &["rose from 1 to 2", "committed earlier"],
    );
    repo.git(&["reset", "-q", "--soft", &head]);
    // The record converge signed, added with the new iteration, does.
    accepted(&repo, &head, &commit_all(&repo, "iteration 2"));

    // A rise by hand is still rejected, and a committed record is never rewritten.
    let head = repo.head();
    let t1 = repo.read(TASK);
    repo.write(TASK, t1.replace("iteration: 2", "iteration: 3"));
    let run = commit_all(&repo, "iteration 3 by hand");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "rose from 2 to 3",
            "specproof converge",
            "adds no convergence record to .specproof/convergence/p/",
        ],
    );
    repo.git(&["checkout", "HEAD", "--", TASK]);
    repo.write(RECORD_1, signed.replace("continue", "converged"));
    let run = commit_all(&repo, "rewrite the record");
    rejected(&repo, &head, &run, &["rewrites", RECORD_1]);
    repo.git(&["checkout", "HEAD", "--", RECORD_1]);
    repo.git(&["rm", "-q", RECORD_1]);
    let run = repo.git_env(&["commit", "-m", "delete the record"], &[]);
    rejected(&repo, &head, &run, &["deletes", RECORD_1]);
}

#[test]
fn converge_escalates_a_regression_with_f10() {
    let repo = repo_with(W3, "");
    repo.write("src/a.rs", "fn a() {}\n");
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(
        (code, &doc["decision"]),
        (1, &serde_json::json!("continue"))
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "iteration 2"]);
    // Iteration 2: W-3 is fixed, W-1 and W-2 are broken.
    std::fs::remove_file(repo.path().join("src/a.rs")).expect("rm");
    repo.write("src/c.rs", "\n");
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "escalate");
    let plan = &doc["plans"][0];
    assert_eq!(plan["iteration"], 2);
    assert_eq!(names(&plan["regressions"]), ["W-1", "W-2"]);
    assert!(names(&plan["stagnant"]).is_empty(), "{plan}");
    assert_eq!(codes(plan), ["F10"]);
    assert!(names(&plan["tasks_advanced"]).is_empty());
    let missing = plan["missing"].as_array().expect("missing");
    assert_eq!(missing[0]["criterion"], "W-1");
    assert_eq!(missing[0]["task"], "T-1");
    let record: serde_json::Value = serde_json::from_str(&repo.read(RECORD_2)).expect("record");
    assert_eq!(record["decision"], "escalate");
    // The task stays in iteration 2.
    assert!(repo.read(TASK).contains("iteration: 2\n"));
}

#[test]
fn converge_escalates_stagnation_at_once_with_f17() {
    let repo = repo_with("", "");
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(
        (code, &doc["decision"]),
        (1, &serde_json::json!("continue"))
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "iteration 2"]);
    // The committed record is what counts: moving it aside in the working tree changes nothing.
    let aside = repo.path().join("iter-1.aside");
    std::fs::rename(repo.path().join(RECORD_1), &aside).expect("mv");
    let (code, doc) = converge(&repo, &[]);
    std::fs::rename(&aside, repo.path().join(RECORD_1)).expect("mv back");
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "escalate");
    let plan = &doc["plans"][0];
    assert_eq!(names(&plan["stagnant"]), ["W-1", "W-2"]);
    assert_eq!(codes(plan), ["F17"]);
    let run = repo.run(&["converge", "--dry-run"]);
    run.code(1);
    assert!(run.stdout.contains("F17"), "{}", run.stdout);
    assert!(
        run.stdout.contains("missing: W-1 (task T-1"),
        "{}",
        run.stdout
    );
    // A record that escalates never lets an iteration rise.
    install(&repo);
    let head = repo.head();
    let t1 = repo.read(TASK);
    repo.write(
        TASK,
        t1.replace("iteration: 2", "iteration: 3")
            .replace("attempts: 1", "attempts: 0")
            .replace("escalation: retry", "escalation: null"),
    );
    let run = commit_all(&repo, "iteration 3 after an escalation");
    rejected(
        &repo,
        &head,
        &run,
        &["rose from 2 to 3", "only `continue` starts a new iteration"],
    );
}

#[test]
fn converge_escalates_a_spent_budget_with_f15() {
    let repo = repo_with("", "");
    repo.write("specproof.yml", "convergence: { max_iterations: 1 }\n");
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "escalate");
    let plan = &doc["plans"][0];
    assert_eq!(codes(plan), ["F15"]);
    assert_eq!(plan["budget"]["spent"], true);
    assert!(repo.read(TASK).contains("iteration: 1\n"));
}

#[test]
fn converge_dry_run_writes_nothing() {
    let repo = repo_with(W3, "");
    let before = repo.read(TASK);
    let run = repo.run(&["converge", "--dry-run"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("advanced to their next iteration: T-1")
            && run.stdout.contains("no proof ran and nothing was written")
            && run.stdout.contains("a real run may decide otherwise"),
        "{}",
        run.stdout
    );
    let (code, doc) = converge(&repo, &["--dry-run"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "continue");
    assert_eq!(doc["dry_run"], true);
    let plan = &doc["plans"][0];
    assert_eq!(names(&plan["tasks_advanced"]), ["T-1"]);
    assert_eq!(names(&plan["gap_tasks"][0]["criteria"]), ["W-3"]);
    assert!(plan["record"].is_null());
    assert_eq!(repo.read(TASK), before);
    assert!(!repo.path().join(".specproof/convergence").exists());
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}

#[test]
fn converge_escalates_a_spent_wall_clock_with_f15() {
    let repo = repo_with("", "");
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "continue");
    // The first iteration was recorded two hours ago.
    let record = repo.read(RECORD_1);
    let at: serde_json::Value = serde_json::from_str(&record).expect("record");
    let at = at["recorded_at"].as_str().expect("recorded_at").to_owned();
    repo.write(
        RECORD_1,
        record
            .replace(
                &format!("\"recorded_at\": \"{at}\""),
                "\"recorded_at\": \"2000-01-01T00:00:00Z\"",
            )
            .replace(
                &format!("\"first_recorded_at\": \"{at}\""),
                "\"first_recorded_at\": \"2000-01-01T00:00:00Z\"",
            ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "iteration 2 (its record dated back)"]);
    // Iteration 2: W-1 and W-2 pass, a new criterion (held by no task) fails: no regression, no
    // stagnation, only the clock.
    repo.write("src/a.rs", "fn a() {}\n");
    repo.write(
        "plans/p.md",
        plan(&format!("{CRITERIA}{}", W3.replace("W-3", "W-4"))),
    );
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "escalate");
    let plan = &doc["plans"][0];
    assert_eq!(codes(plan), ["F15"]);
    assert!(
        plan["escalation"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("convergence.max_wall_clock_min"),
        "{plan}"
    );
    assert!(plan["budget"]["minutes_used"].as_u64().expect("minutes") > 60);
}

#[test]
fn converge_s_iteration_is_accepted_by_a_replay_checking_the_record_s_facts() {
    let repo = repo_with("", "");
    install(&repo);
    let first = repo.head();
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "continue");
    accepted(&repo, &first, &commit_all(&repo, "iteration 2"));
    let run = repo.run(&["audit", "--range", &format!("{first}..HEAD")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn converge_leaves_a_task_waiting_for_a_person_in_its_iteration() {
    let repo = repo_with("", "");
    let t1 = repo.read(TASK);
    repo.write(
        TASK,
        t1.replace("attempts: 0", "attempts: 3")
            .replace("escalation: null", "escalation: reassign"),
    );
    // verify's fourth failed attempt escalates T-1 to a person; the new iteration leaves it be.
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["decision"], "continue");
    let plan = &doc["plans"][0];
    assert!(names(&plan["tasks_advanced"]).is_empty(), "{plan}");
    assert_eq!(names(&plan["tasks_waiting"]), ["T-1"]);
    let t1 = repo.read(TASK);
    assert!(t1.contains("iteration: 1\n"), "{t1}");
    assert!(t1.contains("escalation: human\n"), "{t1}");
}

#[test]
fn a_plan_that_does_not_parse_fails_review_tasks_matrix_status_and_converge() {
    let repo = crate::common::Repo::new();
    repo.run(&["init"]).code(0);
    // The last criteria block never closes.
    let text = repo.read("plans/example.md");
    let cut = text.rfind("```\n").expect("a closing fence");
    repo.write("plans/example.md", &text[..cut]);
    for args in [&["review-tasks"][..], &["matrix"], &["status"]] {
        let run = repo.run(args);
        assert_eq!(run.code, 1, "{args:?}:\n{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("problem") && run.stdout.contains("specproof lint"),
            "{args:?}:\n{}",
            run.stdout
        );
    }
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("specproof lint plans/example.md"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".specproof/convergence").exists());
}

#[test]
fn two_plans_of_one_file_name_are_refused_rather_than_sharing_records() {
    let repo = crate::common::Repo::new();
    repo.write("specproof.yml", "plans: [\"plans/**/*.md\"]\n");
    for dir in ["a", "b"] {
        repo.write(
            &format!("plans/{dir}/x.md"),
            crate::common::plan_with(&format!(
                "- id: {}-1\n  description: a file exists\n  proof: file_exists\n  args: {{ path: {dir}.txt }}\n",
                dir.to_uppercase()
            )),
        );
    }
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("same file name"), "{}", run.stderr);
    assert!(!repo.path().join(".specproof/convergence").exists());
    // The matrix and status cannot judge plans whose plan-level evidence is shared: they fail
    // and send the user to lint, which names both files.
    for args in [&["matrix"][..], &["status"]] {
        let run = repo.run(args);
        assert_eq!(run.code, 1, "{args:?}:\n{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("have problems") || run.stdout.contains("has problems"),
            "{args:?}:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("specproof lint plans/a/x.md"),
            "{args:?}:\n{}",
            run.stdout
        );
    }
    // Renaming one plan is the fix lint asks for.
    std::fs::rename(
        repo.path().join("plans/b/x.md"),
        repo.path().join("plans/b/y.md"),
    )
    .expect("rename");
    let run = repo.run(&["lint"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// Iterations of convergence are counted by the committed records, not by the tasks: a
/// `continue` that has no task to advance (every task done, a cross-cutting criterion failing)
/// does not stop the loop, a converged plan converges again after new work, and only an
/// escalation waits for a person.
#[test]
fn converge_goes_on_when_no_task_was_advanced_and_after_a_converged_iteration() {
    let repo = t1_done_beside_x1();
    repo.write("cfg.sh", "password = \"x\"\n");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "T-1 done, and a password"),
    );
    // Iteration 1: X-1 fails, no task is unfinished: continue, with nothing advanced.
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    let plan_doc = &doc["plans"][0];
    assert_eq!(doc["decision"], "continue", "{doc}");
    assert_eq!(plan_doc["iteration"], 1);
    assert_eq!(result(plan_doc, "X-1")["result"], "fail");
    assert!(names(&plan_doc["tasks_advanced"]).is_empty(), "{plan_doc}");
    accepted(&repo, &repo.head(), &commit_all(&repo, "iteration 1 ends"));
    // The password goes: iteration 2 converges (it used to refuse: "already ended").
    std::fs::remove_file(repo.path().join("cfg.sh")).expect("rm");
    accepted(&repo, &repo.head(), &commit_all(&repo, "no password"));
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(
        (code, &doc["decision"]),
        (0, &serde_json::json!("converged")),
        "{doc}"
    );
    assert_eq!(doc["plans"][0]["iteration"], 2);
    assert!(repo.path().join(RECORD_2).is_file());
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "iteration 2 converged"),
    );
    // New work after convergence: W-3 in a new task at iteration 1. Iteration 3 continues and
    // advances T-2 from 1 to 2, and the hook takes that rise with iteration 3's record.
    repo.write("plans/p.md", plan(&format!("{CRITERIA}{X1}{W3}")));
    repo.write(
        ".specproof/tasks/T-2.md",
        task("T-2", "in_progress", W3, "").replace("- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n", "- W-3: I add a second module file, c\n"),
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "more work: T-2"));
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    let plan_doc = &doc["plans"][0];
    assert_eq!(
        (
            plan_doc["iteration"].as_u64(),
            plan_doc["decision"].as_str()
        ),
        (Some(3), Some("continue")),
        "{plan_doc}"
    );
    assert_eq!(names(&plan_doc["tasks_advanced"]), ["T-2"]);
    assert!(
        repo.read(".specproof/tasks/T-2.md")
            .contains("iteration: 2\n")
    );
    assert!(
        repo.read(TASK).contains("iteration: 1\n"),
        "a done task stays"
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "iteration 3 ends"));
    // Iteration 4: W-3 fails again: stagnation escalates, and then converge waits for a person.
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(
        (code, &doc["decision"]),
        (1, &serde_json::json!("escalate")),
        "{doc}"
    );
    assert_eq!(codes(&doc["plans"][0]), ["F17"]);
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "iteration 4 escalates"),
    );
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("iteration 4 of plans/p.md escalated")
            && run.stderr.contains("specproof escalate --ack"),
        "{}",
        run.stderr
    );
    // A person resumes it on the record: converge runs with SPECPROOF_OVERRIDE, and its record
    // goes in only as an override (the hooks reject it otherwise, F6).
    let resume = [("SPECPROOF_OVERRIDE", "W-3 needs a new design: one more try")];
    let run = repo.run_in(".", &["converge", "--format", "json"], &resume);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["plans"][0]["iteration"], 5, "{doc}");
    let record: serde_json::Value =
        serde_json::from_str(&repo.read(".specproof/convergence/p/iter-5.json")).expect("record");
    assert_eq!(record["override"], "W-3 needs a new design: one more try");
    let head = repo.head();
    let run = commit_all(&repo, "iteration 5 without a person");
    rejected(
        &repo,
        &head,
        &run,
        &[
            "F6",
            "iteration 4 of plans/p.md escalated",
            "only a person resumes the loop",
        ],
    );
    // The record is converge's: the rejection says what is missing, not that it was forged.
    assert!(
        !run.stderr.contains("did not write") && !run.stderr.contains("git rm --cached"),
        "{}",
        run.stderr
    );
    let run = repo.git_env(&["commit", "-m", "iteration 5, resumed"], &resume);
    accepted(&repo, &head, &run);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Specproof-Override: W-3 needs a new design"),
        "{message}"
    );
    // Iteration 5 escalated again (W-3 still fails). A person's acknowledgement of the plan's
    // task, committed, lets the loop go on without an override.
    let run = repo.run(&[
        "escalate",
        "--ack",
        "T-2",
        "--by",
        "lead",
        "--note",
        "c.rs comes next",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = repo.run(&["converge", "--dry-run"]);
    assert_eq!(
        run.code, 2,
        "an acknowledgement counts once committed: {}",
        run.stdout
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-2 acknowledged"));
    let (_, doc) = converge(&repo, &["--dry-run"]);
    assert_eq!(doc["plans"][0]["iteration"], 6, "{doc}");
}

/// What converge writes is what the gates accept on the content committed: a second run before
/// the first is committed advances no task twice; the budget counts as committed; a record
/// whose passes do not hold in the committed content is refused by the hook too; and a renamed
/// plan's first record cannot advance a task already past its first iteration.
#[test]
fn converge_s_record_is_judged_on_what_is_committed() {
    let repo = repo_with("", "");
    install(&repo);
    // A second run before the first is committed would advance T-1 twice: it is refused, and
    // says what the first run changed.
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "continue");
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("its record is not committed")
            && run.stderr.contains("back from HEAD in T-1"),
        "{}",
        run.stderr
    );
    assert!(
        repo.read(TASK).contains("iteration: 2\n"),
        "{}",
        repo.read(TASK)
    );
    accepted(&repo, &repo.head(), &commit_all(&repo, "iteration 2"));
    // A budget raised in the working tree counts once it is committed: converge judges by the
    // stricter of HEAD's and the working tree's.
    repo.write("specproof.yml", "convergence: { max_iterations: 2 }\n");
    accepted(&repo, &repo.head(), &commit_all(&repo, "a budget of 2"));
    repo.write("specproof.yml", "convergence: { max_iterations: 9 }\n");
    repo.write("src/a.rs", "fn a() {}\n");
    repo.write("plans/p.md", plan(&format!("{CRITERIA}{W3}")));
    let (_, doc) = converge(&repo, &["--dry-run"]);
    assert_eq!(doc["plans"][0]["budget"]["max_iterations"], 2, "{doc}");
    assert!(codes(&doc["plans"][0]).contains(&"F15".to_owned()), "{doc}");
    // Committed on its own first, the raise counts.
    repo.git(&["add", "specproof.yml"]);
    let run = repo.git_env(&["commit", "-m", "a budget of 9"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The record says W-1 passes (src/a.rs is in the working tree); committed without src/a.rs,
    // the hook runs W-1 again on what is committed and refuses the record.
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "continue", "{doc}");
    let head = repo.head();
    repo.git(&["add", ".specproof", "plans"]);
    let run = repo.git_env(&["commit", "-m", "iteration 3 without src/a.rs"], &[]);
    rejected(&repo, &head, &run, &["F12", "it says W-1 passes"]);
    accepted(&repo, &head, &commit_all(&repo, "iteration 3"));
    assert!(repo.read(TASK).contains("iteration: 3\n"));

    // The plan renamed: its records stay under the old name, and a first record of the new
    // name cannot advance T-1 (iteration 3) as if the plan started again.
    repo.git(&["mv", "plans/p.md", "plans/p2.md"]);
    repo.write(
        TASK,
        repo.read(TASK)
            .replace("plan_file: plans/p.md", "plan_file: plans/p2.md"),
    );
    std::fs::remove_file(repo.path().join("src/a.rs")).expect("rm");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "plan renamed, a.rs gone"),
    );
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("a renamed plan does not start its history again"),
        "{}",
        run.stderr
    );
    // Started over on the record, the commit must be an override too.
    let over = [("SPECPROOF_OVERRIDE", "p2 replaces p")];
    let run = repo.run_in(".", &["converge", "--format", "json"], &over);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["plans"][0]["iteration"], 1, "{doc}");
    let head = repo.head();
    let run = commit_all(&repo, "a new history");
    rejected(
        &repo,
        &head,
        &run,
        &["first record of plans/p2.md", "already in iteration 3"],
    );
}

/// An escalation with no escalated task (a cross-cutting criterion failing twice while every
/// task is done) is answered by acknowledging a task of the plan: the loop is not stuck.
#[test]
fn an_escalation_of_cross_cutting_criteria_is_answered_by_acknowledging_a_task_of_the_plan() {
    let repo = t1_done_beside_x1();
    repo.write("cfg.sh", "password = \"x\"\n");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "T-1 done, and a password"),
    );
    let ack = [
        "escalate",
        "--ack",
        "T-1",
        "--by",
        "lead",
        "--note",
        "fix the password first",
    ];
    // Nothing is escalated yet: nothing to acknowledge.
    let run = repo.run(&ack);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("nor is the convergence of its plan"),
        "{}",
        run.stderr
    );
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "continue", "{doc}");
    accepted(&repo, &repo.head(), &commit_all(&repo, "iteration 1"));
    let (_, doc) = converge(&repo, &[]);
    assert_eq!(doc["decision"], "escalate", "{doc}");
    assert_eq!(codes(&doc["plans"][0]), ["F17"]);
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "iteration 2 escalates"),
    );
    repo.run(&["converge"]).code(2);
    // T-1 is done and not escalated, but its plan's loop is: a person acknowledges it.
    let run = repo.run(&ack);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("convergence of its plan may go on"),
        "{}",
        run.stdout
    );
    std::fs::remove_file(repo.path().join("cfg.sh")).expect("rm");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "acknowledged, password gone"),
    );
    let (code, doc) = converge(&repo, &[]);
    assert_eq!(
        (code, &doc["decision"]),
        (0, &serde_json::json!("converged")),
        "{doc}"
    );
    assert_eq!(doc["plans"][0]["iteration"], 3);
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "iteration 3 converged"),
    );
}

/// When every task of the plan is complete, no task takes an acknowledgement: converge's refusal
/// after an escalation points to the override only.
#[test]
fn after_an_escalation_with_every_task_complete_only_an_override_resumes() {
    let repo = t1_done_beside_x1();
    accepted(&repo, &repo.head(), &commit_all(&repo, "T-1 done"));
    crate::hooks::set_status(&repo, TASK, "done", "complete");
    repo.write("cfg.sh", "password = \"x\"\n");
    accepted(
        &repo,
        &repo.head(),
        &commit_all(&repo, "T-1 complete, and a password"),
    );
    for msg in ["iteration 1", "iteration 2 escalates"] {
        converge(&repo, &[]);
        accepted(&repo, &repo.head(), &commit_all(&repo, msg));
    }
    let run = repo.run(&["converge"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("iteration 2 of plans/p.md escalated")
            && run.stderr.contains("SPECPROOF_OVERRIDE")
            && !run.stderr.contains("escalate --ack"),
        "{}",
        run.stderr
    );
}

/// X-1: a cross-cutting criterion (no `password =` anywhere), held by no task.
const X1: &str = "- id: X-1\n  description: no password is written in the tree\n  proof: no_pattern_exists\n  scope: cross-cutting\n  args: { pattern: \"password =\" }\n";

/// plans/p.md with W-1, W-2 and X-1, the hooks installed, and T-1 worked, verified and set
/// done in the working tree (not committed).
fn t1_done_beside_x1() -> Repo {
    let repo = repo_with(X1, "");
    install(&repo);
    crate::hooks::work_and_verify(&repo);
    crate::hooks::set_status(&repo, TASK, "in_progress", "done");
    repo
}
