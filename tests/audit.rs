//! `specproof audit` over histories built with real commits (no hooks installed, as after
//! `--no-verify`), one kind of violation each: the audit names the commit, task, criterion and
//! failure code, fails with exit 1, and prints table, JSON and `JUnit` XML.

use crate::common::{Repo, Run, tamper_input_cache};
use crate::hooks::{CRITERIA, TASK, plan, set_status, task, work_and_verify};

/// plans/p.md and T-1 in progress, committed; no hooks.
fn history() -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan(CRITERIA));
    repo.write(TASK, task("T-1", "in_progress", CRITERIA, ""));
    commit(&repo, "plan and task");
    repo
}

fn commit(repo: &Repo, msg: &str) -> String {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", msg]);
    repo.head()
}

/// T-1 worked, verified and committed done, honestly.
fn honest_done(repo: &Repo) -> String {
    work_and_verify(repo);
    set_status(repo, TASK, "in_progress", "done");
    commit(repo, "T-1 done")
}

fn audit(repo: &Repo, args: &[&str]) -> Run {
    let mut full = vec!["audit"];
    full.extend_from_slice(args);
    repo.run(&full)
}

fn audit_json(repo: &Repo, args: &[&str]) -> (i32, serde_json::Value) {
    let mut full = vec!["--format", "json"];
    full.extend_from_slice(args);
    let run = audit(repo, &full);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run.code, doc)
}

/// The report of commit `oid` in an audit's JSON.
fn commit_of<'a>(doc: &'a serde_json::Value, oid: &str) -> &'a serde_json::Value {
    doc["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .find(|c| c["commit"] == oid)
        .unwrap_or_else(|| panic!("commit {oid} not audited: {doc:#}"))
}

/// (task, criterion, code) of each problem of a commit report.
fn problems(commit: &serde_json::Value) -> Vec<(String, String, String)> {
    commit["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or("").to_owned();
            (s("task"), s("criterion"), s("code"))
        })
        .collect()
}

#[test]
fn an_honest_history_passes() {
    let repo = history();
    honest_done(&repo);
    let run = audit(&repo, &["--range", "HEAD"]);
    run.code(0);
    assert!(run.stdout.contains("2 passed, 0 failed"), "{}", run.stdout);
}

#[test]
fn a_done_claim_without_evidence_is_found_in_the_commit_that_made_it() {
    let repo = history();
    let start = repo.head();
    repo.write("src/a.rs", "fn a() {}\n");
    set_status(&repo, TASK, "in_progress", "done");
    let claim = commit(&repo, "claim done");
    repo.write("later.txt", "l\n");
    let later = commit(&repo, "later");
    let (code, doc) = audit_json(&repo, &["--range", &format!("{start}..HEAD")]);
    assert_eq!(code, 1, "{doc:#}");
    let c = commit_of(&doc, &claim);
    assert_eq!(c["status"], "fail");
    let found = problems(c);
    for id in ["W-1", "W-2"] {
        assert!(
            found.contains(&("T-1".into(), id.into(), "F11".into())),
            "{found:?}"
        );
    }
    assert_eq!(commit_of(&doc, &later)["status"], "pass");
    assert_eq!(doc["summary"]["commits"], 2);
    assert_eq!(doc["summary"]["failed"], 1);
    assert_eq!(doc["range"]["base"], start.as_str());
    // The table names the commit, task, gate, criterion and code.
    let run = audit(&repo, &["--range", &format!("{start}..HEAD")]);
    run.code(1);
    for part in [
        &claim[..10],
        "claim done",
        "T-1",
        "G3 proofs pass",
        "W-1",
        "F11",
    ] {
        assert!(run.stdout.contains(part), "{part:?}:\n{}", run.stdout);
    }
}

#[test]
fn forged_evidence_is_found_by_running_the_proof_again_unless_told_not_to() {
    let repo = history();
    repo.write("src/a.rs", "// not yet\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    let rel = ".specproof/evidence/T-1/iter-1/W-2.json";
    let mut evidence = repo.evidence(rel);
    evidence["result"] = "pass".into();
    evidence["failure_code"] = serde_json::Value::Null;
    repo.write(rel, serde_json::to_string_pretty(&evidence).expect("json"));
    set_status(&repo, TASK, "in_progress", "done");
    let forged = commit(&repo, "done (forged)");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(
        problems(commit_of(&doc, &forged)),
        [("T-1".into(), "W-2".into(), "F12".into())]
    );
    // --rerun none judges evidence by its recorded facts only: the forgery passes.
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD", "--rerun", "none"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["rerun"], "none");
}

#[test]
fn stale_evidence_is_found() {
    let repo = history();
    work_and_verify(&repo);
    // Changed after verify: the evidence describes other content.
    repo.write("src/a.rs", "fn a() { /* changed */ }\n");
    set_status(&repo, TASK, "in_progress", "done");
    let stale = commit(&repo, "done, stale");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1);
    let c = commit_of(&doc, &stale);
    assert!(
        problems(c).contains(&("T-1".into(), "W-2".into(), "F11".into())),
        "{c:#}"
    );
    assert!(c.to_string().contains("stale evidence"), "{c:#}");
}

#[test]
fn a_reopened_complete_task_is_found() {
    let repo = history();
    honest_done(&repo);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    set_status(&repo, TASK, "complete", "in_progress");
    let reopen = commit(&repo, "reopen");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD"]);
    assert_eq!(code, 1);
    let c = commit_of(&doc, &reopen);
    assert_eq!(c["status"], "fail");
    assert!(c.to_string().contains("complete is final"), "{c:#}");
    assert_eq!(
        doc["summary"]["failed"], 1,
        "only the reopening fails: {doc:#}"
    );
}

#[test]
fn a_regression_is_found() {
    let repo = history();
    honest_done(&repo);
    repo.write("src/a.rs", "// fn gone\n");
    let broke = commit(&repo, "break it");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(commit_of(&doc, &broke)),
        [("T-1".into(), "W-2".into(), "F10".into())]
    );
}

#[test]
fn a_tampered_input_cache_does_not_hide_a_regression() {
    let repo = history();
    honest_done(&repo);
    repo.write("src/a.rs", "// fn gone\n");
    let broke = commit(&repo, "break it");
    let oid = repo
        .git(&["rev-parse", "HEAD:plans/p.md"])
        .trim()
        .to_owned();
    // CI runners that keep `.git` between jobs keep specproof's cache too.
    let cached = tamper_input_cache(&repo.path().join(".git/specproof"), &oid);
    let run = audit(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for part in ["F10", "W-2", "did not match", "rewritten"] {
        assert!(
            run.stdout.contains(part) || run.stderr.contains(part),
            "no {part:?} in:\n{}{}",
            run.stdout,
            run.stderr
        );
    }
    let text = std::fs::read_to_string(&cached).expect("cache");
    assert!(text.contains("W-2"), "mended: {text}");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(commit_of(&doc, &broke)),
        [("T-1".into(), "W-2".into(), "F10".into())]
    );
}

#[test]
fn overrides_fail_the_audit_unless_allowed_and_are_never_a_pass() {
    let repo = history();
    set_status(&repo, TASK, "in_progress", "done");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "ship\n\nSpecproof-Override: incident 7"]);
    let oid = repo.head();
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1);
    let c = commit_of(&doc, &oid);
    assert_eq!(c["status"], "override");
    assert_eq!(c["override_reason"], "incident 7");
    assert_eq!(doc["summary"]["passed"], 0);
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD", "--allow-overrides"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(commit_of(&doc, &oid)["status"], "override");
    assert_eq!(doc["summary"]["overrides"], 1);
    assert_eq!(doc["summary"]["passed"], 0);
}

#[test]
fn junit_output_is_xml_with_a_test_case_per_commit_and_a_failure_per_problem() {
    let repo = history();
    let start = repo.head();
    repo.write("ok.txt", "fine <&> \"quoted\"\n");
    commit(&repo, "fine <&> \"quoted\"");
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "claim");
    let run = audit(
        &repo,
        &["--range", &format!("{start}..HEAD"), "--format", "junit"],
    );
    run.code(1);
    let xml = roxmltree::Document::parse(&run.stdout)
        .unwrap_or_else(|e| panic!("not XML ({e}):\n{}", run.stdout));
    let cases: Vec<_> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    assert!(
        cases[0]
            .attribute("name")
            .is_some_and(|n| n.ends_with("fine <&> \"quoted\"")),
        "{:?}",
        cases[0].attribute("name")
    );
    assert_eq!(
        cases[0]
            .children()
            .filter(roxmltree::Node::is_element)
            .count(),
        0,
        "the honest commit passes"
    );
    let failures: Vec<_> = cases[1]
        .children()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2, "{}", run.stdout);
    assert!(failures.iter().all(|f| f.attribute("type") == Some("F11")));
    let suite = xml
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    assert_eq!(suite.attribute("tests"), Some("2"));
    assert_eq!(suite.attribute("failures"), Some("1"));
}

#[test]
fn the_default_range_starts_at_the_merge_base_with_the_remote_default_branch() {
    let repo = history();
    let origin = tempfile::tempdir().expect("origin");
    let path = origin.path().to_str().expect("utf-8");
    repo.git(&["init", "-q", "--bare", path]);
    repo.git(&["remote", "add", "origin", path]);
    // main on the remote holds a bad commit the branch does not audit again.
    set_status(&repo, TASK, "in_progress", "done");
    commit(&repo, "old sin on main");
    repo.git(&["push", "-q", "origin", "main"]);
    let base = repo.head();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("f.txt", "f\n");
    commit(&repo, "feature work");
    let (code, doc) = audit_json(&repo, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["range"]["base"], base.as_str());
    assert_eq!(doc["summary"]["commits"], 1);
    assert!(
        doc["range"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("origin/main")),
        "{doc:#}"
    );
    // Without a remote, the whole history of HEAD: the old commit is found.
    repo.git(&["remote", "remove", "origin"]);
    let (code, doc) = audit_json(&repo, &[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["summary"]["commits"], 3);
}

#[test]
fn a_bad_range_and_a_shallow_clone_say_what_to_do() {
    let repo = history();
    honest_done(&repo);
    let run = audit(&repo, &["--range", "nope..HEAD"]);
    run.code(2);
    assert!(
        run.stderr.contains("\"nope\" names no commit"),
        "{}",
        run.stderr
    );
    let shallow = tempfile::tempdir().expect("shallow");
    let dest = shallow.path().join("c");
    repo.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &format!("file://{}", repo.path().display()),
        dest.to_str().expect("utf-8"),
    ]);
    let run = repo.run(&[
        "--repo",
        dest.to_str().expect("utf-8"),
        "audit",
        "--range",
        "HEAD",
    ]);
    // The one commit of a depth-1 clone has no parent there: it cannot be judged.
    run.code(2);
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    let run = repo.run(&[
        "--repo",
        dest.to_str().expect("utf-8"),
        "audit",
        "--range",
        "HEAD~1..HEAD",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains("fetch-depth: 0") || run.stderr.contains("--unshallow"),
        "{}",
        run.stderr
    );
}

#[test]
fn rerun_all_runs_command_proofs_and_catches_their_forged_evidence() {
    let criterion = "- id: C-1\n  description: the flag file says yes\n  proof: command_output_matches\n  args: { command: \"cat flag.txt\", pattern: \"^yes$\" }\n";
    let repo = Repo::new();
    repo.write("plans/p.md", plan(criterion));
    repo.write(
        TASK,
        task("T-1", "in_progress", criterion, "").replace(
            "- W-1: I create the source file for the module\n- W-2: I write a function called a in it; a regex looks for it\n",
            "- C-1: a file named flag.txt holds the word yes, and cat shows it\n",
        ),
    );
    commit(&repo, "plan and task");
    repo.write("flag.txt", "no\n");
    repo.run(&["verify", "--task", "T-1"]).code(1);
    let rel = ".specproof/evidence/T-1/iter-1/C-1.json";
    let mut evidence = repo.evidence(rel);
    evidence["result"] = "pass".into();
    evidence["failure_code"] = serde_json::Value::Null;
    repo.write(rel, serde_json::to_string_pretty(&evidence).expect("json"));
    set_status(&repo, TASK, "in_progress", "done");
    let forged = commit(&repo, "done (forged command)");
    // file-proofs: a command proof's evidence is judged by its facts only.
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 0, "{doc:#}");
    let (code, doc) = audit_json(&repo, &["--range", "HEAD~1..HEAD", "--rerun", "all"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(
        problems(commit_of(&doc, &forged)),
        [("T-1".into(), "C-1".into(), "F12".into())]
    );
}

#[test]
fn a_merge_whose_first_parent_is_an_older_commit_is_judged_from_the_range_start() {
    let repo = history();
    let start = repo.head();
    honest_done(&repo);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    repo.git(&["branch", "before"]);
    repo.git(&["checkout", "-q", "--detach", &start]);
    repo.git(&[
        "merge",
        "-q",
        "-s",
        "ours",
        "-m",
        "merge, keeping the old tree",
        "before",
    ]);
    let (code, doc) = audit_json(&repo, &["--range", "before..HEAD"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(
        doc["summary"]["commits"], 1,
        "the merge is the one commit: {doc:#}"
    );
    assert_eq!(doc["summary"]["range_change_fails"], true);
    assert!(doc.to_string().contains("complete is final"), "{doc:#}");
}

#[test]
fn a_branch_behind_its_target_is_not_blamed_for_what_the_target_did_later() {
    let repo = history();
    let start = repo.head();
    honest_done(&repo);
    set_status(&repo, TASK, "done", "complete");
    commit(&repo, "complete");
    repo.git(&["checkout", "-q", "-b", "feature", &start]);
    repo.write("f.txt", "f\n");
    commit(&repo, "feature work");
    let (code, doc) = audit_json(&repo, &["--range", "main..feature"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["summary"]["commits"], 1);
    assert_eq!(doc["summary"]["range_change_fails"], false);
}
