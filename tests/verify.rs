//! `specproof verify` and `specproof escalate`: selection, the cache, evidence freshness and
//! signatures, attempts and escalation, the lock, the ledger, parallel and serial proofs, Ctrl-C.

use std::time::{Duration, Instant};

use crate::common::{Repo, plan_with, result_of, task_with};

const EXISTS: &str = "- id: C-1\n  description: the module exists\n  proof: file_exists\n  args: { path: src/a.rs }\n";
const MATCHES: &str = "- id: C-2\n  description: the module says hello\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"hello\" }\n";

fn two() -> String {
    format!("{EXISTS}{MATCHES}")
}

const EVIDENCE_1: &str = ".specproof/evidence/T-1/iter-1/C-1.json";
const EVIDENCE_2: &str = ".specproof/evidence/T-1/iter-1/C-2.json";

#[test]
fn a_second_run_reuses_fresh_pass_evidence_and_force_runs_again() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(result_of(&doc, "C-1")["cached"], false);
    let first = repo.read(EVIDENCE_2);

    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0);
    for id in ["C-1", "C-2"] {
        assert_eq!(result_of(&doc, id)["cached"], true, "{doc:#}");
        assert_eq!(result_of(&doc, id)["result"], "pass");
    }
    assert_eq!(doc["summary"]["cached"], 2);
    assert_eq!(
        repo.read(EVIDENCE_2),
        first,
        "cached evidence is not rewritten"
    );

    let run = repo.run(&["verify"]);
    run.code(0);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("T-1")
            && l.contains("C-2")
            && l.contains("pattern_matches")
            && l.contains("cached")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok: 2 criteria: 2 passed (2 cached)"),
        "{}",
        run.stdout
    );

    let (code, doc) = repo.verify_json(&["--force"]);
    assert_eq!(code, 0);
    assert_eq!(result_of(&doc, "C-2")["cached"], false);
    assert_eq!(result_of(&doc, "C-2")["reason"], "--force");
}

#[test]
fn changing_an_input_file_makes_only_its_evidence_stale() {
    let repo = Repo::with_plan(&format!(
        "{MATCHES}- id: C-3\n  description: the readme exists\n  proof: file_exists\n  args: {{ path: docs/readme.md }}\n"
    ));
    repo.write("src/a.rs", "hello\n");
    repo.write("docs/readme.md", "read me\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    repo.write("src/a.rs", "hello again\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(result_of(&doc, "C-2")["cached"], false, "{doc:#}");
    assert!(
        result_of(&doc, "C-2")["reason"]
            .as_str()
            .unwrap()
            .contains("stale"),
        "{doc:#}"
    );
    assert_eq!(result_of(&doc, "C-3")["cached"], true);
    // An unrelated new file does not touch either scope.
    repo.write("other.txt", "x\n");
    let (_, doc) = repo.verify_json(&[]);
    assert_eq!(doc["summary"]["cached"], 2, "{doc:#}");
}

#[test]
fn a_failure_is_recorded_with_its_code_and_exit_1_and_the_pass_after_the_fix_is_not_cached() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn bye() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(doc["ok"], false);
    let c2 = result_of(&doc, "C-2");
    assert_eq!(c2["result"], "fail");
    assert_eq!(c2["failure_code"], "F3");
    let ev = repo.evidence(EVIDENCE_2);
    assert_eq!(ev["result"], "fail");
    assert_eq!(ev["failure_code"], "F3");

    repo.write("src/a.rs", "fn hello() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(result_of(&doc, "C-2")["cached"], false);
    assert_eq!(result_of(&doc, "C-1")["cached"], true);
}

#[test]
fn edited_evidence_is_suspect_f12_and_the_proof_runs_again() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn bye() {}\n");
    assert_eq!(repo.verify_json(&[]).0, 1);
    // Forge: turn the failure into a pass by hand.
    let forged = repo
        .read(EVIDENCE_2)
        .replace("\"result\": \"fail\"", "\"result\": \"pass\"")
        .replace("\"failure_code\": \"F3\"", "\"failure_code\": null");
    assert_ne!(forged, repo.read(EVIDENCE_2));
    repo.write(EVIDENCE_2, forged);
    let run = repo.run(&["verify"]);
    run.code(1);
    assert!(
        run.stderr.contains(&format!(
            "warning: {EVIDENCE_2}: F12: the signature does not verify"
        )),
        "{}",
        run.stderr
    );
    let ev = repo.evidence(EVIDENCE_2);
    assert_eq!(ev["result"], "fail", "the re-run wrote the truth");
}

#[test]
fn corrupt_or_truncated_evidence_counts_as_missing_and_is_reported_f8() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    let whole = repo.read(EVIDENCE_1);
    repo.write(EVIDENCE_1, &whole[..whole.len() / 2]);
    repo.write(EVIDENCE_2, [0xff, 0xfe, 0x00]);
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    for (id, path) in [("C-1", EVIDENCE_1), ("C-2", EVIDENCE_2)] {
        assert_eq!(result_of(&doc, id)["cached"], false);
        assert!(
            doc["warnings"].as_array().unwrap().iter().any(|w| w
                .as_str()
                .unwrap()
                .starts_with(&format!("{path}: F8: evidence is corrupt"))),
            "{doc:#}"
        );
        assert_eq!(repo.evidence(path)["result"], "pass");
    }
}

#[test]
fn evidence_signed_by_another_clone_is_not_trusted() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    // Another machine: a different key.
    let key = repo.path().join(".git/specproof/key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    std::fs::write(&key, [7u8; 32]).unwrap();
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(result_of(&doc, "C-1")["cached"], false, "{doc:#}");
}

#[cfg(unix)]
#[test]
fn the_key_is_private_and_shared_by_worktrees() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "src"]);
    assert_eq!(repo.verify_json(&[]).0, 0);
    let key = repo.path().join(".git/specproof/key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&key).unwrap();

    repo.git(&["worktree", "add", "-q", "wt", "-b", "other"]);
    let run = repo.run_in("wt", &["verify", "--format", "json"], &[]);
    run.code(0);
    assert!(!repo.path().join("wt/.git/specproof").exists());
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "one key for all worktrees"
    );
    assert!(repo.path().join("wt").join(EVIDENCE_1).is_file());
}

#[test]
fn task_criterion_and_plan_choose_what_runs() {
    let repo = Repo::new();
    let cross = "- id: X-1\n  description: no secrets anywhere\n  proof: no_pattern_exists\n  args: { pattern: \"SECRET\" }\n  scope: cross-cutting\n";
    repo.write("plans/p.md", plan_with(&format!("{}{cross}", two())));
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", EXISTS));
    repo.write(".specproof/tasks/T-2.md", task_with("T-2", MATCHES));
    repo.write("src/a.rs", "hello\n");

    let (code, doc) = repo.verify_json(&["--task", "T-2"]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["criterion"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["C-2"]);

    let (_, doc) = repo.verify_json(&["--criterion", "C-1"]);
    assert_eq!(doc["results"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(result_of(&doc, "C-1")["task"], "T-1");

    // The default run covers every task, not the plan-level criterion, and says so.
    let run = repo.run(&["verify"]);
    run.code(0);
    assert!(!run.stdout.contains("X-1"), "{}", run.stdout);
    assert!(
        run.stderr.contains("note: plans/p.md has 1 cross-cutting or system criterion: verify it with `specproof verify --plan plans/p.md`"),
        "{}",
        run.stderr
    );

    let (code, doc) = repo.verify_json(&["--plan", "plans/p.md"]);
    assert_eq!(code, 0, "{doc:#}");
    let x = result_of(&doc, "X-1");
    assert_eq!(x["task"], serde_json::Value::Null);
    assert_eq!(x["evidence"], ".specproof/evidence/_plan/p/iter-1/X-1.json");
    let ev = repo.evidence(".specproof/evidence/_plan/p/iter-1/X-1.json");
    assert_eq!(ev["task_id"], "_plan/p");
    assert_eq!(ev["result"], "pass");

    // From a subfolder, a plan path is relative to it.
    let run = repo.run_in(
        "plans",
        &["verify", "--plan", "p.md", "--format", "json"],
        &[],
    );
    run.code(0);
    assert!(run.stdout.contains("\"X-1\""), "{}", run.stdout);
}

#[test]
fn unknown_task_criterion_or_plan_is_a_usage_error_with_a_suggestion() {
    let repo = Repo::with_plan(&two());
    let run = repo.run(&["verify", "--task", "T-11"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("error: no task T-11 in .specproof/tasks (did you mean T-1?)"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["verify", "--criterion", "C-22"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("criterion C-22 is in none of the tasks or plans chosen (did you mean C-2?)"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["verify", "--plan", "plans/nope.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("plans/nope.md: no such file"),
        "{}",
        run.stderr
    );
    // Nothing was written.
    assert!(!repo.path().join(".specproof/evidence").exists());
}

#[test]
fn complete_tasks_are_left_out_and_refused_by_name() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(&two()));
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", EXISTS).replace("status: in_progress", "status: complete"),
    );
    repo.write(".specproof/tasks/T-2.md", task_with("T-2", MATCHES));
    repo.write("src/a.rs", "hello\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(doc["results"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(result_of(&doc, "C-2")["task"], "T-2");

    let (code, doc) = repo.verify_json(&["--task", "T-1"]);
    assert_eq!(code, 1);
    let row = &doc["results"][0];
    assert_eq!(row["result"], "error");
    assert!(
        row["detail"].as_str().unwrap().contains("T-1 is complete"),
        "{doc:#}"
    );
    assert!(!repo.path().join(EVIDENCE_1).exists());
}

#[test]
fn fabricated_and_cross_cutting_criteria_in_a_task_are_not_run() {
    let repo = Repo::new();
    let cross = "- id: X-1\n  description: no secrets anywhere\n  proof: no_pattern_exists\n  args: { pattern: \"SECRET\" }\n  scope: cross-cutting\n";
    repo.write("plans/p.md", plan_with(&format!("{EXISTS}{cross}")));
    let invented =
        "- id: C-9\n  description: invented\n  proof: file_exists\n  args: { path: src/a.rs }\n";
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &format!("{EXISTS}{cross}{invented}")),
    );
    repo.write("src/a.rs", "hello\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(result_of(&doc, "C-1")["result"], "pass");
    let x = result_of(&doc, "X-1");
    assert_eq!(
        (x["result"].as_str(), x["failure_code"].as_str()),
        (Some("error"), Some("F16"))
    );
    let f = result_of(&doc, "C-9");
    assert_eq!(
        (f["result"].as_str(), f["failure_code"].as_str()),
        (Some("error"), Some("F2"))
    );
    assert!(
        f["detail"].as_str().unwrap().contains("fabricated"),
        "{doc:#}"
    );
    assert!(
        !repo
            .path()
            .join(".specproof/evidence/T-1/iter-1/C-9.json")
            .exists()
    );
    // Not a proof failure: attempts are unchanged.
    assert!(
        repo.read(".specproof/tasks/T-1.md")
            .contains("attempts: 0\n")
    );
}

#[test]
fn proofs_run_from_the_snapshot_not_the_task_copy_and_drift_is_warned() {
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(&two()));
    repo.write(".specproof/snapshots/plans/p.md", plan_with(&two()));
    // The task's copy weakens C-2 to a pattern that always matches.
    let weak = MATCHES.replace("\"hello\"", "\".\"");
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &format!("{EXISTS}{weak}")),
    );
    repo.write("src/a.rs", "bye\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(result_of(&doc, "C-2")["result"], "fail");
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("F14: task T-1 criterion C-2: the task's copy differs"),
        "{warnings}"
    );

    // The plan moved on without a new snapshot: the snapshot still rules, with a warning.
    repo.write("plans/p.md", plan_with(&format!("{EXISTS}{weak}")));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    assert!(
        doc["warnings"]
            .to_string()
            .contains("plans/p.md: F14: the plan differs from its snapshot"),
        "{doc:#}"
    );
}

#[test]
fn failed_attempts_climb_the_escalation_ladder_and_change_no_other_byte() {
    let repo = Repo::with_plan(&two());
    // A comment and CRLF-free layout that must survive.
    let path = ".specproof/tasks/T-1.md";
    let original = repo
        .read(path)
        .replace("attempts: 0\n", "attempts: 0   # written by specproof\n")
        .replace("escalation: null\n", "");
    repo.write(path, &original);
    repo.write("src/a.rs", "fn bye() {}\n");

    let expected = [
        (1, "retry", "in_progress"),
        (2, "decompose", "in_progress"),
        (3, "reassign", "in_progress"),
        (4, "human", "blocked"),
    ];
    for (attempts, level, status) in expected {
        let run = repo.run(&["verify"]);
        run.code(1);
        let now = repo.read(path);
        let want = original
            .replace("attempts: 0   #", &format!("attempts: {attempts}   #"))
            .replace("status: in_progress", &format!("status: {status}"))
            .replace(
                "\n---\n## Source",
                &format!("\nescalation: {level}\n---\n## Source"),
            );
        assert_eq!(now, want, "after attempt {attempts}");
        assert!(
            run.stderr.contains(&format!(
                "T-1: attempt {attempts} failed; escalation {level}"
            )),
            "{}",
            run.stderr
        );
    }

    // A fifth attempt is refused.
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    let row = &doc["results"][0];
    assert_eq!(row["failure_code"], "F6");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("specproof escalate --ack T-1"),
        "{doc:#}"
    );
    assert!(
        repo.read(path).contains("attempts: 4   #"),
        "no attempt was counted"
    );

    // A person decides; the task moves again and the ladder starts over.
    let run = repo.run(&[
        "escalate",
        "--ack",
        "T-1",
        "--by",
        "Ana Lead",
        "--note",
        "split the parser out",
    ]);
    run.code(0);
    assert!(
        run.stdout.contains(
            "T-1: acknowledged by Ana Lead: escalation human cleared, status in_progress"
        ),
        "{}",
        run.stdout
    );
    let acked = repo.read(path);
    assert!(acked.contains("status: in_progress\n"), "{acked}");
    assert!(acked.contains("escalation: null\n"), "{acked}");
    assert!(
        acked.contains("attempts: 4   #"),
        "attempts never go down: {acked}"
    );
    assert!(acked.contains("- { by: \"Ana Lead\", at: \""), "{acked}");
    assert!(
        acked.contains("note: \"split the parser out\", attempts: 4, signature: \"hmac-sha256:"),
        "{acked}"
    );
    repo.run(&["lint"]).code(0);

    let run = repo.run(&["verify"]);
    run.code(1);
    assert!(repo.read(path).contains("escalation: retry\n"));
    assert!(
        run.stderr
            .contains("T-1: attempt 5 failed; escalation retry"),
        "{}",
        run.stderr
    );

    let ledger = repo.read(".git/specproof/ledger.jsonl");
    assert!(
        ledger
            .lines()
            .any(|l| l.contains("\"event\":\"ack\"") && l.contains("Ana Lead")),
        "{ledger}"
    );
}

#[test]
fn escalate_refuses_what_it_cannot_record() {
    let repo = Repo::with_plan(&two());
    let run = repo.run(&["escalate", "--ack", "T-1", "--by", "Ana", "--note", "ok"]);
    run.code(2);
    assert!(
        run.stderr.contains("T-1 is not escalated"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["escalate", "--ack", "T-7", "--by", "Ana", "--note", "ok"]);
    run.code(2);
    assert!(run.stderr.contains("no task T-7"), "{}", run.stderr);
    let run = repo.run(&["escalate", "--ack", "T-1"]);
    run.code(2);
    assert!(run.stderr.contains("--by"), "{}", run.stderr);
}

#[test]
fn every_result_goes_to_the_ledger() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn bye() {}\n");
    repo.run(&["verify"]).code(1);
    let ledger = repo.read(".git/specproof/ledger.jsonl");
    let lines: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let proofs: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "proof").collect();
    assert_eq!(proofs.len(), 2, "{ledger}");
    let c2 = proofs.iter().find(|l| l["criterion"] == "C-2").unwrap();
    assert_eq!(c2["result"], "fail");
    assert_eq!(c2["failure_code"], "F3");
    assert_eq!(c2["task"], "T-1");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "attempt" && l["attempts"] == 1)
    );
    // The ledger lives in the git dir, never in the working tree.
    assert!(!repo.git(&["status", "--porcelain"]).contains("ledger"));
}

fn command(id: &str, cmd: &str, extra: &str) -> String {
    format!(
        "- id: {id}\n  description: runs {id}\n  proof: builds_clean\n  args: {{ command: \"{cmd}\" }}\n{extra}"
    )
}

/// A command that records its start and end times (ms) in .git/log.
const TIMED: &str = "date +%s%N >> .git/log-$SPECPROOF_CRITERION; sleep 1; date +%s%N >> .git/log-$SPECPROOF_CRITERION";

fn span(repo: &Repo, id: &str) -> (u128, u128) {
    let text = repo.read(&format!(".git/log-{id}"));
    let v: Vec<u128> = text
        .lines()
        .map(|l| l.trim().parse().expect("a time"))
        .collect();
    (v[0], v[1])
}

#[test]
fn independent_commands_overlap_and_serial_ones_do_not() {
    let repo = Repo::with_plan(&format!(
        "{}{}{}",
        command("P-1", TIMED, ""),
        command("P-2", TIMED, ""),
        command("S-1", TIMED, "  serial: true\n"),
    ));
    let (code, doc) = repo.verify_json(&["--jobs", "3"]);
    assert_eq!(code, 0, "{doc:#}");
    let (p1, p2, s1) = (span(&repo, "P-1"), span(&repo, "P-2"), span(&repo, "S-1"));
    let overlap = |a: (u128, u128), b: (u128, u128)| a.0 < b.1 && b.0 < a.1;
    assert!(
        overlap(p1, p2),
        "parallel proofs ran one after the other: {p1:?} {p2:?}"
    );
    assert!(
        !overlap(s1, p1) && !overlap(s1, p2),
        "serial overlapped: {s1:?} {p1:?} {p2:?}"
    );
}

#[test]
fn jobs_1_runs_one_command_at_a_time() {
    let repo = Repo::with_plan(&format!(
        "{}{}",
        command("P-1", TIMED, ""),
        command("P-2", TIMED, "")
    ));
    let (code, _) = repo.verify_json(&["-j", "1"]);
    assert_eq!(code, 0);
    let (a, b) = (span(&repo, "P-1"), span(&repo, "P-2"));
    assert!(a.1 <= b.0 || b.1 <= a.0, "{a:?} {b:?}");
}

#[test]
fn a_second_verify_waits_for_the_first_and_says_who_holds_the_lock() {
    let repo = Repo::with_plan(&command("P-1", "sleep 2", ""));
    let first = std::process::Command::new(crate::common::bin())
        .args(["verify", "--format", "json"])
        .current_dir(repo.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first holds the lock (it writes who it is).
    let lock = repo.path().join(".git/specproof/lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = repo.run(&["verify", "--criterion", "P-1"]);
    let mut first = first;
    assert!(first.wait().unwrap().success());
    second.code(0);
    assert!(
        second.stderr.contains(
            "specproof: waiting for the lock held by `specproof verify --format json` (pid "
        ),
        "{}",
        second.stderr
    );
    assert!(
        second.stdout.contains("cached"),
        "the second saw the first's evidence: {}",
        second.stdout
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_kills_the_running_commands_and_writes_no_half_evidence() {
    let repo = Repo::with_plan(&format!(
        "{EXISTS}{}",
        command(
            "P-1",
            "(sleep 30; echo late) & echo $! > .git/child; sleep 30",
            ""
        )
    ));
    repo.write("src/a.rs", "x\n");
    let child = std::process::Command::new(crate::common::bin())
        .args(["verify", "-j", "1"])
        .current_dir(repo.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = repo.path().join(".git/child");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n')) {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it stopped promptly"
    );
    assert!(
        !repo
            .path()
            .join(".specproof/evidence/T-1/iter-1/P-1.json")
            .exists()
    );
    assert!(
        repo.path().join(EVIDENCE_1).is_file(),
        "a proof that finished keeps its evidence"
    );
    let grandchild = std::fs::read_to_string(&pid_file).unwrap();
    let alive = std::process::Command::new("kill")
        .args(["-0", grandchild.trim()])
        .status()
        .unwrap();
    assert!(!alive.success(), "the forked child still runs");
    // An interruption is not a failed attempt.
    assert!(
        repo.read(".specproof/tasks/T-1.md")
            .contains("attempts: 0\n")
    );
}

#[test]
fn a_progress_bar_draws_only_on_a_terminal() {
    let repo = Repo::with_plan(&command("P-1", "sleep 1", ""));
    // Not a terminal: no bar, no escape codes.
    let run = repo.run(&["verify"]);
    run.code(0);
    assert!(!run.stderr.contains("verifying"), "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'));
    // A terminal (script(1) gives one): the bar draws.
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok();
    if !has_script {
        return;
    }
    let cmd = format!("{} verify --force", crate::common::bin().display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(repo.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verifying"), "{text}");
}

#[test]
fn a_task_without_criteria_and_a_repository_without_tasks_say_so() {
    let repo = Repo::new();
    let run = repo.run(&["verify"]);
    run.code(0);
    assert!(run.stdout.contains("nothing to verify"), "{}", run.stdout);
    repo.write("plans/p.md", plan_with(EXISTS));
    repo.write(".specproof/tasks/T-1.md", task_with("T-1", ""));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "nothing proven is not a pass: {doc:#}");
    let row = &doc["results"][0];
    assert_eq!(row["failure_code"], "F1");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("task T-1 has no criteria"),
        "{doc:#}"
    );
}

#[test]
fn a_flow_style_front_matter_is_refused_before_any_proof_runs_and_a_bom_is_fine() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn bye() {}\n");
    let path = ".specproof/tasks/T-1.md";
    let block = repo.read(path);
    let flow = format!(
        "---\n{{task_id: T-1, plan_file: plans/p.md, plan_section: Work, status: in_progress, attempts: 0}}\n---\n{}",
        block.split_once("\n---\n").unwrap().1
    );
    repo.write(path, &flow);
    repo.run(&["lint", path]).code(0);
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    let row = &doc["results"][0];
    assert_eq!(row["failure_code"], "F8");
    assert!(
        row["detail"].as_str().unwrap().contains("block style"),
        "{doc:#}"
    );
    assert!(!repo.path().join(EVIDENCE_2).exists(), "no proof ran");
    assert_eq!(repo.read(path), flow);

    repo.write(path, format!("\u{feff}{block}"));
    let run = repo.run(&["verify"]);
    run.code(1);
    assert!(repo.read(path).starts_with("\u{feff}---\n"));
    assert!(repo.read(path).contains("attempts: 1\n"), "{}", run.stderr);
}

#[test]
fn a_task_with_front_matter_problems_or_four_unacknowledged_failures_is_refused() {
    let repo = Repo::with_plan(&two());
    let path = ".specproof/tasks/T-1.md";
    let good = repo.read(path);
    repo.write(path, good.replace("escalation: null", "escalation: Human"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(doc["results"][0]["failure_code"], "F8", "{doc:#}");
    assert!(
        doc["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("specproof lint")
    );

    // Escalation wiped by hand after four failures: still refused.
    repo.write(path, good.replace("attempts: 0", "attempts: 4"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(doc["results"][0]["failure_code"], "F6", "{doc:#}");
    assert!(!repo.path().join(EVIDENCE_1).exists());
}

#[test]
fn plan_must_name_a_plan_file() {
    let repo = Repo::with_plan(&two());
    let run = repo.run(&["verify", "--plan", ".specproof/tasks/T-1.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("error: .specproof/tasks/T-1.md is not a plan file: plans are the files matching [\"plans/**/*.md\"]"),
        "{}",
        run.stderr
    );
}

#[test]
fn results_that_did_not_run_and_bad_evidence_reach_the_ledger() {
    let repo = Repo::new();
    let diff = "- id: G-1\n  description: a table\n  proof: git_diff_contains\n  args: { pattern: TABLE }\n";
    repo.write("plans/p.md", plan_with(&format!("{EXISTS}{diff}")));
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &format!("{EXISTS}{diff}")),
    );
    repo.write("src/a.rs", "x\n");
    // No commit yet: the git proof has no base.
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(result_of(&doc, "G-1")["failure_code"], "F9");
    repo.write(EVIDENCE_1, "{ not json");
    repo.verify_json(&[]);
    let ledger: Vec<serde_json::Value> = repo
        .read(".git/specproof/ledger.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        ledger.iter().any(|l| l["event"] == "not_run"
            && l["criterion"] == "G-1"
            && l["failure_code"] == "F9"),
        "{ledger:#?}"
    );
    assert!(
        ledger.iter().any(|l| l["event"] == "evidence"
            && l["failure_code"] == "F8"
            && l["evidence"] == EVIDENCE_1),
        "{ledger:#?}"
    );
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_repository_is_not_walked_and_odd_file_names_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    // A link to the whole machine, inside the plans folder and at the root.
    std::os::unix::fs::symlink("/", repo.path().join("plans/everything")).unwrap();
    std::os::unix::fs::symlink("/", repo.path().join("everything")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"odd\xff.txt");
    std::fs::write(repo.path().join(name), "TODO\n").unwrap();
    let started = Instant::now();
    let (code, doc) = repo.verify_json(&[]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(code, 0, "{doc:#}");
    assert!(
        doc["warnings"]
            .to_string()
            .contains("1 file name is not UTF-8"),
        "{doc:#}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_task_file_stays_a_link_and_evidence_is_readable_by_all() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::with_plan(&two());
    let path = ".specproof/tasks/T-1.md";
    std::fs::rename(repo.path().join(path), repo.path().join("T-1.real.md")).unwrap();
    std::os::unix::fs::symlink("../../T-1.real.md", repo.path().join(path)).unwrap();
    repo.write("src/a.rs", "fn bye() {}\n");
    repo.run(&["verify"]).code(1);
    let meta = std::fs::symlink_metadata(repo.path().join(path)).unwrap();
    assert!(meta.file_type().is_symlink());
    assert!(repo.read("T-1.real.md").contains("attempts: 1\n"));
    let mode = std::fs::metadata(repo.path().join(EVIDENCE_1))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn escalate_says_when_it_waits_for_the_lock() {
    let repo = Repo::with_plan(&format!("{}{}", two(), command("P-1", "sleep 2", "")));
    repo.write("src/a.rs", "fn bye() {}\n");
    repo.run(&["verify"]).code(1);
    let first = std::process::Command::new(crate::common::bin())
        .args(["verify", "--force"])
        .current_dir(repo.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = repo.path().join(".git/specproof/lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("(pid")) {
        assert!(Instant::now() < deadline, "the verify never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = repo.run(&["escalate", "--ack", "T-1", "--by", "Ana", "--note", "go on"]);
    let mut first = first;
    first.wait().unwrap();
    run.code(0);
    assert!(
        run.stderr
            .contains("specproof: waiting for the lock held by `specproof verify --force` (pid"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_task_naming_a_missing_plan_or_a_broken_task_file_is_reported_not_run() {
    let repo = Repo::new();
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", EXISTS).replace("plans/p.md", "plans/gone.md"),
    );
    repo.write(".specproof/tasks/T-2.md", "---\ntask_id: [\n---\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1);
    let rows = doc["results"].as_array().unwrap();
    let t1 = rows.iter().find(|r| r["task"] == "T-1").unwrap();
    assert_eq!(t1["failure_code"], "F8");
    assert!(
        t1["detail"]
            .as_str()
            .unwrap()
            .contains("plan_file plans/gone.md does not exist"),
        "{doc:#}"
    );
    let t2 = rows.iter().find(|r| r["task"] == "T-2").unwrap();
    assert_eq!(t2["failure_code"], "F8");
    assert!(
        t2["detail"]
            .as_str()
            .unwrap()
            .starts_with(".specproof/tasks/T-2.md: cannot verify"),
        "{doc:#}"
    );
}

#[test]
fn a_bad_config_stops_verify_before_anything_runs() {
    let repo = Repo::with_plan(&two());
    repo.write("specproof.yml", "jobz: 2\n");
    let run = repo.run(&["verify"]);
    run.code(2);
    assert!(
        run.stderr.contains("specproof.yml has problems"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("jobs"), "{}", run.stderr);
    assert!(!repo.path().join(".specproof/evidence").exists());
}

#[cfg(unix)]
#[test]
fn a_write_that_fails_like_a_full_disk_is_an_error_and_the_old_evidence_stays_whole() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    let before = repo.read(EVIDENCE_2);
    // No file may grow past 0 blocks: every write fails with EFBIG, as on a full disk.
    let script = format!(
        "trap '' XFSZ; ulimit -f 0; exec '{}' verify --force",
        crate::common::bin().display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Whichever write fails first (the scratch copy of the index, or the evidence), it is
    // an error that says so.
    assert!(
        stderr.starts_with("error: ") && stderr.contains("File too large"),
        "{stderr}"
    );
    assert_eq!(repo.read(EVIDENCE_2), before, "the old evidence is intact");
    let leftovers = std::fs::read_dir(repo.path().join(".specproof/evidence/T-1/iter-1"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 2, "no temporary file is left behind");
}

#[test]
fn digest_exclude_keeps_listed_files_out_of_a_command_proofs_inputs() {
    let repo = Repo::with_plan(&command("P-1", "true", ""));
    repo.write(
        "specproof.yml",
        "digest_exclude: [\".specproof/**\", \"docs/**\"]\n",
    );
    repo.write("docs/notes.md", "one\n")
        .write("src/a.rs", "x\n");
    assert_eq!(repo.verify_json(&[]).0, 0);
    repo.write("docs/notes.md", "two\n");
    let (_, doc) = repo.verify_json(&[]);
    assert_eq!(result_of(&doc, "P-1")["cached"], true, "{doc:#}");
    let ev = repo.evidence(".specproof/evidence/T-1/iter-1/P-1.json");
    repo.write("src/a.rs", "y\n");
    let (_, doc) = repo.verify_json(&[]);
    assert_eq!(result_of(&doc, "P-1")["cached"], false, "{doc:#}");
    assert_ne!(
        repo.evidence(".specproof/evidence/T-1/iter-1/P-1.json")["input_digest"],
        ev["input_digest"]
    );
    // Without the exclusion, the same change to docs/ would make it stale.
    repo.write("specproof.yml", "digest_exclude: [\".specproof/**\"]\n");
    assert_eq!(repo.verify_json(&[]).1["results"][0]["cached"], false);
    assert_eq!(repo.verify_json(&[]).1["results"][0]["cached"], true);
    repo.write("docs/notes.md", "three\n");
    assert_eq!(repo.verify_json(&[]).1["results"][0]["cached"], false);
}

#[test]
fn a_task_lint_rejects_is_not_run_so_a_copy_cannot_dodge_an_escalation() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    let blocked = task_with("T-1", &two())
        .replace("attempts: 0", "attempts: 4")
        .replace("escalation: null", "escalation: human")
        .replace("status: in_progress", "status: blocked");
    repo.write(".specproof/tasks/T-1.md", &blocked);
    // The same task under another file name.
    repo.write(".specproof/tasks/A.md", task_with("T-1", &two()));
    let (code, doc) = repo.verify_json(&["--task", "T-1"]);
    assert_eq!(code, 1, "{doc:#}");
    let rows = doc["results"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["result"] == "error"), "{doc:#}");
    assert!(
        rows.iter().any(|r| r["detail"]
            .as_str()
            .unwrap()
            .contains(".specproof/tasks/A.md: task_id \"T-1\" differs from the file name")),
        "{doc:#}"
    );
    assert!(!repo.path().join(EVIDENCE_1).exists());

    // A plan_file that is not one of the plan files is refused too.
    repo.write(".specproof/tasks/A.md", "");
    std::fs::remove_file(repo.path().join(".specproof/tasks/A.md")).unwrap();
    repo.write("docs/mine.md", plan_with(&two()));
    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", &two()).replace("plans/p.md", "docs/mine.md"),
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        doc["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("plan_file docs/mine.md is not one of the plan files"),
        "{doc:#}"
    );
}

#[test]
fn a_front_matter_whose_escalation_or_status_cannot_be_written_is_refused_before_any_proof_runs() {
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn bye() {}\n");
    let path = ".specproof/tasks/T-1.md";
    for odd in [
        repo.read(path)
            .replace("escalation: null", "\"escalation\": null"),
        repo.read(path)
            .replace("status: in_progress", "status:\n  in_progress"),
    ] {
        repo.write(path, &odd);
        repo.run(&["lint", path]).code(0);
        let (code, doc) = repo.verify_json(&[]);
        assert_eq!(code, 1, "{doc:#}");
        assert_eq!(doc["results"][0]["failure_code"], "F8", "{doc:#}");
        assert!(
            doc["results"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("cannot be edited line by line"),
            "{doc:#}"
        );
        assert!(!repo.path().join(EVIDENCE_2).exists(), "no proof ran");
        assert_eq!(repo.read(path), odd);
    }
}

#[cfg(unix)]
#[test]
fn a_plans_folder_or_plan_linked_from_outside_is_neither_walked_nor_run() {
    let outside = tempfile::tempdir().unwrap();
    let cross = "- id: X-1\n  description: evil\n  proof: command_output_matches\n  args: { command: \"touch pwned; echo ok\", pattern: ok }\n  scope: cross-cutting\n";
    std::fs::write(outside.path().join("x.md"), plan_with(cross)).unwrap();
    let repo = Repo::with_plan(&two());
    repo.write("src/a.rs", "fn hello() {}\n");
    std::os::unix::fs::symlink(
        outside.path().join("x.md"),
        repo.path().join("plans/evil.md"),
    )
    .unwrap();
    let run = repo.run(&["verify", "--plan", "plans/evil.md"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("plans/evil.md: path goes through the symlink"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join("pwned").exists());

    // The plans folder itself a link to the whole machine.
    std::fs::rename(repo.path().join("plans"), repo.path().join("real")).unwrap();
    std::os::unix::fs::symlink("/", repo.path().join("plans")).unwrap();
    let started = Instant::now();
    let run = repo.run(&["lint"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    run.code(1);
    assert!(
        run.stdout
            .contains("plans:1:1: F8: path goes through the symlink plans to"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.lines().count() < 20, "{}", run.stdout);
}

/// plans/p.md with C-1 (T-1) and C-2 (T-2, depending on T-1), T-2 `t2_status`; src/a.rs passes both.
fn dependent_repo(t2_status: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan_with(&two()))
        .write(".specproof/tasks/T-1.md", task_with("T-1", EXISTS))
        .write(
            ".specproof/tasks/T-2.md",
            task_with("T-2", MATCHES)
                .replace("status: in_progress", &format!("status: {t2_status}"))
                .replace("tier: 1\n", "tier: 1\ndepends_on: [T-1]\n"),
        )
        .write("src/a.rs", "fn hello() {}\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plan"]);
    repo
}

#[test]
fn verify_warns_f7_for_a_task_in_progress_whose_dependency_is_not_done() {
    let repo = dependent_repo("in_progress");
    let run = repo.run(&["verify", "--task", "T-2"]);
    run.code(0);
    assert!(
        run.stderr.contains("warning: .specproof/tasks/T-2.md: F7: T-2 depends on T-1, which is in_progress: its proofs run, but it cannot be done until T-1 is done or complete"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("ok: 1 criterion: 1 passed"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_fails_f7_for_a_done_task_whose_dependency_is_not_done_and_still_runs_its_proofs() {
    let repo = dependent_repo("done");
    let (code, doc) = repo.verify_json(&["--task", "T-2"]);
    assert_eq!(code, 1, "{doc:#}");
    let f7 = result_of(&doc, "-");
    assert_eq!(f7["task"], "T-2");
    assert_eq!(f7["result"], "error");
    assert_eq!(f7["failure_code"], "F7");
    assert_eq!(
        f7["detail"],
        "T-2 is done, but depends on T-1, which is in_progress: a task is done only after the tasks it depends on; finish them first, or move T-2 back to in_progress in .specproof/tasks/T-2.md"
    );
    assert_eq!(
        result_of(&doc, "C-2")["result"],
        "pass",
        "the proofs still run"
    );
    assert!(
        repo.path()
            .join(".specproof/evidence/T-2/iter-1/C-2.json")
            .is_file()
    );
    assert_eq!(doc["tasks"], serde_json::json!([]), "not a failed attempt");
    assert!(
        repo.read(".specproof/tasks/T-2.md")
            .contains("attempts: 0\n")
    );

    repo.write(
        ".specproof/tasks/T-1.md",
        task_with("T-1", EXISTS).replace("status: in_progress", "status: done"),
    );
    let (code, doc) = repo.verify_json(&["--task", "T-2"]);
    assert_eq!(code, 0, "T-1 is done now: {doc:#}");
    assert_eq!(doc["summary"]["criteria"], 1);
}

#[test]
fn plan_level_evidence_is_refused_for_a_plan_whose_file_name_another_plan_shares() {
    let repo = Repo::new();
    let cross = |id: &str| {
        plan_with(&format!(
            "- id: {id}\n  description: no secrets anywhere\n  proof: no_pattern_exists\n  args: {{ pattern: \"SECRET\" }}\n  scope: cross-cutting\n"
        ))
    };
    repo.write("plans/a/auth.md", cross("A-1"))
        .write("plans/b/auth.md", cross("B-1"))
        .write("plans/billing.md", cross("C-1"));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "plans"]);

    let run = repo.run(&["verify", "--plan", "plans/a/auth.md"]);
    run.code(1);
    assert!(
        run.stdout.contains("plans/a/auth.md and plans/b/auth.md have the same file name, which keys plan-level evidence (_plan/auth/): rename one of the plans"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let (code, doc) =
        repo.verify_json(&["--plan", "plans/b/auth.md", "--plan", "plans/billing.md"]);
    assert_eq!(code, 1, "{doc:#}");
    let row = &doc["results"][0];
    assert_eq!(row["plan"], "plans/b/auth.md", "{doc:#}");
    assert_eq!(row["result"], "error");
    assert_eq!(row["failure_code"], "F8");
    assert!(
        row["detail"]
            .as_str()
            .is_some_and(|d| d.contains("plans/b/auth.md and plans/a/auth.md")),
        "{doc:#}"
    );
    // The plan of a name of its own is verified; nothing is written for the two others.
    assert_eq!(result_of(&doc, "C-1")["result"], "pass", "{doc:#}");
    assert!(
        repo.path()
            .join(".specproof/evidence/_plan/billing")
            .is_dir()
    );
    assert!(!repo.path().join(".specproof/evidence/_plan/auth").exists());
}
