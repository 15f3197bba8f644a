//! `specproof verify --shard K/N`: the shards of a run together do exactly what the run without
//! `--shard` does, each criterion once, split the same way on every machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::{Repo, plan_with, task_with};

/// A command proof that appends `<owner> <criterion>` to .git/runs (outside the content) and
/// passes.
fn logged(id: &str, extra: &str) -> String {
    format!(
        "- id: {id}\n  description: runs {id}\n  proof: builds_clean\n  args: {{ command: \"echo $SPECPROOF_TASK $SPECPROOF_CRITERION >> .git/runs\" }}\n{extra}"
    )
}

const EXISTS: &str = "- id: C-1\n  description: the module exists\n  proof: file_exists\n  args: { path: src/a.rs }\n";
const MATCHES: &str = "- id: C-2\n  description: the module says hello\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"hello\" }\n";
const CROSS: &str = "  scope: cross-cutting\n";

/// Plan `plans/p.md` with task criteria C-1, C-2 (file proofs), C-10, C-3, C-4 (commands) and
/// cross-cutting X-1, X-2 (commands); T-1 holds C-1, C-10, C-2, T-2 holds C-3, C-4. Committed.
fn repo() -> Repo {
    let repo = Repo::new();
    let (c10, c3, c4) = (logged("C-10", ""), logged("C-3", ""), logged("C-4", ""));
    let (x1, x2) = (logged("X-1", CROSS), logged("X-2", CROSS));
    repo.write(
        "plans/p.md",
        plan_with(&format!("{EXISTS}{MATCHES}{c10}{c3}{c4}{x1}{x2}")),
    );
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &format!("{EXISTS}{c10}{MATCHES}")),
    );
    repo.write(
        ".specproof/tasks/T-2.md",
        task_with("T-2", &format!("{c3}{c4}")),
    );
    repo.write("src/a.rs", "fn hello() {}\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan and tasks"]);
    repo
}

/// Every evidence file under .specproof/evidence, by path, without the fields that differ
/// from one run to the next (time, duration, signature).
fn evidence(repo: &Repo) -> BTreeMap<String, Value> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Value>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .expect("inside the repository")
                .to_string_lossy()
                .into_owned();
            let mut doc: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read evidence"))
                    .unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"));
            let map = doc.as_object_mut().expect("an object");
            for varying in ["started_at", "duration_ms", "signature"] {
                assert!(map.remove(varying).is_some(), "{rel} has no {varying}");
            }
            out.insert(rel, doc);
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &repo.path().join(".specproof/evidence"),
        repo.path(),
        &mut out,
    );
    out
}

/// The lines of .git/runs: one per command proof run, `<owner> <criterion>`.
fn runs(repo: &Repo) -> Vec<String> {
    std::fs::read_to_string(repo.path().join(".git/runs"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn forget_runs(repo: &Repo) {
    let _ = std::fs::remove_dir_all(repo.path().join(".specproof/evidence"));
    let _ = std::fs::remove_file(repo.path().join(".git/runs"));
}

/// `(task or "plan", criterion)` of every result of a verify JSON document.
fn results(doc: &Value) -> Vec<(String, String)> {
    doc["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {doc:#}"))
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap_or("plan").to_owned(),
                r["criterion"].as_str().expect("a criterion").to_owned(),
            )
        })
        .collect()
}

fn criteria(doc: &Value) -> Vec<String> {
    results(doc).into_iter().map(|(_, c)| c).collect()
}

#[test]
fn shards_1_and_2_together_write_the_evidence_of_the_unsharded_run_each_criterion_once() {
    let repo = repo();
    let chosen = [
        "--task",
        "T-1",
        "--task",
        "T-2",
        "--plan",
        "plans/p.md",
        "--force",
    ];
    let (code, whole) = repo.verify_json(&chosen);
    assert_eq!(code, 0, "{whole:#}");
    assert_eq!(whole["shard"], Value::Null, "no --shard: {whole:#}");
    let all: BTreeSet<(String, String)> = results(&whole).into_iter().collect();
    assert_eq!(all.len(), 7, "{whole:#}");
    let unsharded_evidence = evidence(&repo);
    assert_eq!(unsharded_evidence.len(), 7, "{unsharded_evidence:#?}");
    let mut unsharded_runs = runs(&repo);
    unsharded_runs.sort();
    assert_eq!(unsharded_runs.len(), 5, "{unsharded_runs:?}");

    forget_runs(&repo);
    let mut seen = BTreeSet::new();
    let mut ran = Vec::new();
    for k in 1..=2 {
        let before = evidence(&repo);
        let runs_before = runs(&repo).len();
        let shard = format!("{k}/2");
        let mut args = chosen.to_vec();
        args.extend(["--shard", &shard]);
        let (code, doc) = repo.verify_json(&args);
        assert_eq!(code, 0, "shard {shard}: {doc:#}");
        let mine = results(&doc);
        assert!(!mine.is_empty(), "shard {shard} holds nothing: {doc:#}");
        for r in &mine {
            assert!(
                all.contains(r),
                "shard {shard} ran {r:?}, which the whole run did not"
            );
            assert!(seen.insert(r.clone()), "{r:?} is in two shards");
        }
        assert_eq!(
            doc["shard"],
            serde_json::json!({"index": k, "count": 2, "criteria": mine.len(), "unsharded_criteria": 7}),
            "{doc:#}"
        );
        assert_eq!(doc["summary"]["criteria"], mine.len());
        // This shard wrote the evidence of its own criteria, and nothing else.
        let written: BTreeSet<String> = evidence(&repo)
            .into_keys()
            .filter(|p| !before.contains_key(p))
            .collect();
        let reported: BTreeSet<String> = doc["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["evidence"].as_str().expect("evidence").to_owned())
            .collect();
        assert_eq!(written, reported, "shard {shard}");
        ran.extend(runs(&repo).split_off(runs_before));
    }
    assert_eq!(seen, all, "shards 1/2 and 2/2 together cover the whole run");
    assert_eq!(
        evidence(&repo),
        unsharded_evidence,
        "shards 1/2 and 2/2 together write what the unsharded run wrote"
    );
    ran.sort();
    assert_eq!(ran, unsharded_runs, "each command proof ran once");

    // One shard of one is the whole run.
    forget_runs(&repo);
    let mut args = chosen.to_vec();
    args.extend(["--shard", "1/1"]);
    let (code, doc) = repo.verify_json(&args);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(results(&doc), results(&whole));
    assert_eq!(evidence(&repo), unsharded_evidence);
}

#[test]
fn the_split_deals_sorted_task_and_criterion_ids_round_robin_the_same_in_every_clone() {
    let repo = repo();
    // Byte order: T-1/C-1, T-1/C-10, T-1/C-2, T-2/C-3, T-2/C-4 (C-10 before C-2).
    let expected = [vec!["C-1", "C-3"], vec!["C-10", "C-4"], vec!["C-2"]];
    let clone = Repo::new();
    repo.git(&[
        "clone",
        "-q",
        &repo.path().to_string_lossy(),
        &clone.path().join("copy").to_string_lossy(),
    ]);
    for (k, want) in (1..=3).zip(&expected) {
        let shard = format!("{k}/3");
        let run = repo.run(&["verify", "--shard", &shard]);
        run.code(0)
            .line(&format!("shard {shard}: {} of 5 criteria", want.len()));
        let rows: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("T-"))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(&rows, want, "shard {shard}:\n{}", run.stdout);
        // The same again, and in another clone of the repository.
        for _ in 0..2 {
            let (_, doc) = repo.verify_json(&["--shard", &shard]);
            assert_eq!(&criteria(&doc), want, "{doc:#}");
        }
        let other = clone.run_in(
            "copy",
            &["verify", "--shard", &shard, "--format", "json"],
            &[],
        );
        other.code(0);
        let doc: Value = serde_json::from_str(&other.stdout).expect("json");
        assert_eq!(&criteria(&doc), want, "in the clone: {doc:#}");
    }
    // More shards than criteria: the extra shards are empty, and say so.
    let run = repo.run(&["verify", "--shard", "7/7"]);
    run.code(0)
        .line("shard 7/7: 0 of 5 criteria")
        .line("nothing to verify in shard 7/7: the other shards hold the run's 5 criteria");
}

#[test]
fn criteria_of_other_shards_are_neither_run_nor_reported_as_failures() {
    let repo = repo();
    // T-2's C-4 now fails, and T-1 names a criterion the plan does not have (F2, not run).
    let invented =
        "- id: C-9\n  description: invented\n  proof: file_exists\n  args: { path: src/a.rs }\n";
    let (c3, failing) = (
        logged("C-3", ""),
        logged("C-4", "").replace(">> .git/runs", ">> .git/runs; exit 3"),
    );
    let plan = repo
        .read("plans/p.md")
        .replace(&logged("C-4", ""), &failing);
    repo.write("plans/p.md", plan);
    repo.write(
        ".specproof/tasks/T-2.md",
        task_with("T-2", &format!("{c3}{failing}")),
    );
    let t1 = repo
        .read(".specproof/tasks/T-1.md")
        .replace(EXISTS, &format!("{EXISTS}{invented}"));
    repo.write(".specproof/tasks/T-1.md", t1);

    let (code, whole) = repo.verify_json(&["--force"]);
    assert_eq!(code, 1, "{whole:#}");
    let failing_ids = ["C-4", "C-9"];
    for id in failing_ids {
        assert!(criteria(&whole).iter().any(|c| c == id), "{whole:#}");
    }
    let mut held = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, doc) = repo.verify_json(&["--force", "--shard", &shard]);
        let mine = criteria(&doc);
        let bad: Vec<&String> = mine
            .iter()
            .filter(|c| failing_ids.contains(&c.as_str()))
            .collect();
        if bad.is_empty() {
            assert_eq!(code, 0, "shard {shard} holds no failure: {doc:#}");
            assert_eq!(doc["ok"], true);
        } else {
            assert_eq!(code, 1, "shard {shard} holds {bad:?}: {doc:#}");
        }
        held.extend(mine);
    }
    held.sort();
    let mut all = criteria(&whole);
    all.sort();
    assert_eq!(
        held, all,
        "every row, the F2 one too, is in exactly one shard"
    );

    // A criterion chosen by name but dealt to another shard is not an error there.
    let run = repo.run(&["verify", "--criterion", "C-3", "--shard", "2/2"]);
    run.code(0)
        .line("shard 2/2: 0 of 1 criterion")
        .line("nothing to verify in shard 2/2: the other shards hold the run's 1 criterion");
}

#[test]
fn a_shard_that_is_not_k_of_n_is_a_usage_error_and_nothing_runs() {
    let repo = repo();
    for bad in ["0/3", "4/3", "x", "3", "1/0", "", "1/3/5", "-1/3", "two/3"] {
        // `--shard=VALUE`, as clap reads `--shard -1/3` as an unknown option.
        let run = repo.run(&["verify", &format!("--shard={bad}")]);
        run.code(2);
        assert!(
            run.stderr
                .contains(&format!("invalid value '{bad}' for '--shard <K/N>'"))
                && run.stderr.contains("expected K/N"),
            "{bad:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{bad:?}: {}", run.stdout);
    }
    assert!(evidence(&repo).is_empty(), "no proof ran");
    assert!(runs(&repo).is_empty(), "no command ran");
    let run = repo.run(&["verify", "--help"]);
    run.code(0);
    assert!(
        run.stdout.contains("--shard <K/N>")
            && run
                .stdout
                .contains("sorted in byte order and dealt round-robin"),
        "{}",
        run.stdout
    );
}
