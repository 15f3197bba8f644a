//! `specproof verify` runs every proof type of SPEC §4 on the working tree and writes the signed
//! evidence of §5: one pass and one fail per proof type, the command environment and timeouts,
//! the Test Mirage guard on real runner output, the judge protocol, and the evidence fields.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Repo, result_of, task_with};

/// One criterion as a YAML list item; `args` is a YAML flow mapping.
fn item(id: &str, proof: &str, args: &str) -> String {
    format!("- id: {id}\n  description: criterion {id} holds\n  proof: {proof}\n  args: {args}\n")
}

/// A command criterion with its own `timeout`.
fn timed(id: &str, proof: &str, args: &str, timeout: u64) -> String {
    format!("{}  timeout: {timeout}\n", item(id, proof, args))
}

/// Asserts the result and failure code of criterion `id`, and returns its row.
#[track_caller]
fn expect<'a>(doc: &'a Value, id: &str, result: &str, code: Option<&str>) -> &'a Value {
    let row = result_of(doc, id);
    assert_eq!(row["result"], result, "result of {id}: {row:#}");
    match code {
        Some(code) => assert_eq!(row["failure_code"], code, "failure code of {id}: {row:#}"),
        None => assert!(
            row["failure_code"].is_null(),
            "failure code of {id}: {row:#}"
        ),
    }
    row
}

/// The detail of criterion `id`.
fn detail<'a>(doc: &'a Value, id: &str) -> &'a str {
    result_of(doc, id)["detail"].as_str().unwrap_or_default()
}

/// Asserts that `text` contains every one of `parts`.
#[track_caller]
fn contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
}

/// The evidence file of criterion `id` of task T-1, iteration 1.
fn evidence(repo: &Repo, id: &str) -> Value {
    repo.evidence(&format!(".specproof/evidence/T-1/iter-1/{id}.json"))
}

/// A recorded runner output from tests/fixtures/runners.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/runners/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// True while process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Waits up to a second for process `pid` to be gone (the reaper of an orphan may be slow).
fn gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(1);
    while alive(pid) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The pid a command wrote to `rel`.
#[track_caller]
fn pid_in(repo: &Repo, rel: &str) -> u32 {
    let text = repo.read(rel);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{rel} holds no pid ({e}): {text:?}"))
}

// ---------------------------------------------------------------------------------------------
// file_exists

#[test]
fn file_exists_passes_when_a_glob_matches_at_least_min_files() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "file_exists",
        r#"{ path: "src/*.rs", min: 2 }"#,
    ));
    repo.write("src/a.rs", "fn a() {}\n")
        .write("src/b.rs", "fn b() {}\n")
        .write("src/c.txt", "not rust\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["ok"], true);
    expect(&doc, "C-1", "pass", None);
    contains_all(detail(&doc, "C-1"), &["src/a.rs", "src/b.rs"]);
    assert!(!detail(&doc, "C-1").contains("src/c.txt"), "{doc:#}");
}

#[test]
fn file_exists_fails_below_min_and_ignored_files_never_match() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "file_exists",
        r#"{ path: "src/*.rs", min: 3 }"#,
    ));
    repo.write(".gitignore", "src/gen.rs\n")
        .write("src/a.rs", "fn a() {}\n")
        .write("src/b.rs", "fn b() {}\n")
        .write("src/gen.rs", "// generated, ignored\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["ok"], false);
    expect(&doc, "C-1", "fail", Some("F3"));
    assert_eq!(evidence(&repo, "C-1")["result"], "fail");
}

// ---------------------------------------------------------------------------------------------
// pattern_matches

#[test]
fn pattern_matches_passes_with_min_matches_over_a_glob_in_multi_line_mode() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "pattern_matches",
        r#"{ path: "src/**/*.rs", pattern: "^pub fn (validate|verify)_\\w+", min: 2 }"#,
    ));
    repo.write("src/auth.rs", "use x;\npub fn validate_jwt() {}\n")
        .write(
            "src/deep/token.rs",
            "// one\n// two\npub fn verify_token() {}\n",
        );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    contains_all(
        detail(&doc, "C-1"),
        &["2 matches", "src/auth.rs:2", "src/deep/token.rs:3"],
    );
}

#[test]
fn pattern_matches_fails_below_min_and_files_outside_the_glob_do_not_count() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "pattern_matches",
        r#"{ path: "src/*.rs", pattern: "^pub fn validate_jwt", min: 2 }"#,
    ));
    repo.write("src/auth.rs", "pub fn validate_jwt() {}\n")
        .write("lib/auth.rs", "pub fn validate_jwt() {}\n")
        // Not at the start of a line: multi-line `^` does not match here.
        .write("src/other.rs", "// pub fn validate_jwt\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
}

#[test]
fn pattern_proofs_read_non_utf8_files_and_skip_files_over_max_file_size_with_a_note() {
    let criteria = [
        item(
            "BYTES",
            "pattern_matches",
            r#"{ path: "data/latin1.txt", pattern: "caf(?-u:\\xE9)", min: 2 }"#,
        ),
        item(
            "TEXT",
            "pattern_matches",
            r#"{ path: "data/latin1.txt", pattern: "^fn \\w+$", min: 2 }"#,
        ),
        item(
            "BIG",
            "pattern_matches",
            r#"{ path: "big/*.txt", pattern: "needle" }"#,
        ),
        item(
            "BIGONLY",
            "no_pattern_exists",
            r#"{ path: "big/large.txt", pattern: "needle" }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("specproof.yml", "max_file_size: 1KiB\n")
        .write(
            "data/latin1.txt",
            b"caf\xe9 caf\xe9\n\xff\xfe\x00\nfn one\nfn two\n",
        )
        .write("big/small.txt", "needle\n");
    let mut large = b"needle\n".to_vec();
    large.extend(std::iter::repeat_n(b'a', 4096));
    repo.write("big/large.txt", large);
    let (_, doc) = repo.verify_json(&[]);
    expect(&doc, "BYTES", "pass", None);
    contains_all(detail(&doc, "BYTES"), &["data/latin1.txt:1"]);
    expect(&doc, "TEXT", "pass", None);
    contains_all(
        detail(&doc, "TEXT"),
        &["data/latin1.txt:3", "data/latin1.txt:4"],
    );
    let big = expect(&doc, "BIG", "pass", None);
    contains_all(
        big["detail"].as_str().unwrap_or_default(),
        &["big/small.txt:1", "max_file_size", "big/large.txt"],
    );
    // The skipped file was never read: its needle is not reported as a hit.
    assert!(!detail(&doc, "BIG").contains("big/large.txt:1"), "{doc:#}");
    let ev = evidence(&repo, "BIG");
    contains_all(
        ev["detail"].as_str().unwrap_or_default(),
        &["big/large.txt"],
    );
    // A no_pattern_exists that could not read its file says so.
    contains_all(detail(&doc, "BIGONLY"), &["max_file_size", "big/large.txt"]);
}

// ---------------------------------------------------------------------------------------------
// no_pattern_exists

#[test]
fn no_pattern_exists_passes_when_the_pattern_is_absent_and_plans_are_not_searched() {
    // No path: every file; the plan and task files naming the pattern are not searched.
    let criteria = [
        item(
            "ALL",
            "no_pattern_exists",
            r#"{ pattern: "FORBIDDEN_CALL\\(" }"#,
        ),
        item(
            "SRC",
            "no_pattern_exists",
            r#"{ pattern: "todo!\\(", path: "src/**" }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "fn a() { 1 }\n")
        .write("docs/notes.md", "we removed todo!() everywhere in src\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "ALL", "pass", None);
    expect(&doc, "SRC", "pass", None);
}

#[test]
fn no_pattern_exists_fails_on_a_hit() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "no_pattern_exists",
        r#"{ pattern: "\\bunwrap\\(\\)", path: "src/**/*.rs" }"#,
    ));
    repo.write("src/a.rs", "fn a() {\n    x.unwrap();\n}\n")
        .write("tests/t.rs", "x.unwrap();\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    contains_all(detail(&doc, "C-1"), &["src/a.rs:2"]);
    assert!(!detail(&doc, "C-1").contains("tests/t.rs"), "{doc:#}");
}

#[test]
fn no_pattern_exists_evidence_lists_every_file_and_line_hit() {
    let repo = Repo::with_plan(&item("C-1", "no_pattern_exists", r#"{ pattern: "XXX" }"#));
    let mut many = String::new();
    for i in 1..=40 {
        many.push_str(if i % 2 == 0 { "clean\n" } else { "XXX here\n" });
    }
    repo.write("src/many.txt", &many)
        .write("src/one.rs", "a\nb\nc XXX\n")
        .write("lib/x/y.py", "XXX\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["result"], "fail");
    assert_eq!(ev["failure_code"], "F3");
    let text = ev["detail"].as_str().unwrap_or_default();
    let mut hits: Vec<String> = (1..=40)
        .step_by(2)
        .map(|l| format!("src/many.txt:{l}"))
        .collect();
    hits.push("src/one.rs:3".into());
    hits.push("lib/x/y.py:1".into());
    for hit in &hits {
        // Whole entries: src/many.txt:1 must not be satisfied by src/many.txt:11.
        assert!(
            text.split([',', ' ', ';', '\n'])
                .any(|part| part == hit.as_str()),
            "{hit} not listed in {text:?}"
        );
    }
    for l in (2..=40).step_by(2) {
        let miss = format!("src/many.txt:{l}");
        assert!(
            !text.split([',', ' ', ';', '\n']).any(|part| part == miss),
            "{miss} is not a hit: {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// builds_clean

#[test]
fn builds_clean_passes_on_exit_zero() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "builds_clean",
        r#"{ command: "sh build.sh" }"#,
    ));
    repo.write(
        "build.sh",
        "echo compiling\necho warning: unused >&2\nexit 0\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["exit_code"], 0, "{ev:#}");
    assert_eq!(ev["proof"], "builds_clean");
}

#[test]
fn builds_clean_fails_on_a_non_zero_exit_and_keeps_the_output() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "builds_clean",
        r#"{ command: "sh build.sh" }"#,
    ));
    repo.write(
        "build.sh",
        "echo compiling-stdout\necho 'error[E0425]: cannot find value' >&2\nexit 3\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["exit_code"], 3, "{ev:#}");
    contains_all(
        ev["output"].as_str().unwrap_or_default(),
        &["compiling-stdout", "error[E0425]: cannot find value"],
    );
}

// ---------------------------------------------------------------------------------------------
// test_passes

#[test]
fn test_passes_passes_with_enough_tests_and_every_expected_name() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "test_passes",
        r#"{ command: "cat fx/cargo-pass.txt", min_tests: 3, expect: [alpha, "tests::gamma"] }"#,
    ));
    repo.write("fx/cargo-pass.txt", fixture("cargo-pass"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    contains_all(detail(&doc, "C-1"), &["3 passed"]);
}

#[test]
fn test_passes_fails_on_a_non_zero_exit() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "test_passes",
        r#"{ command: "cat fx/cargo-fail.txt; exit 101" }"#,
    ));
    repo.write("fx/cargo-fail.txt", fixture("cargo-fail"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["exit_code"], 101, "{ev:#}");
    contains_all(
        ev["output"].as_str().unwrap_or_default(),
        &["test tests::beta ... FAILED"],
    );
}

// ---------------------------------------------------------------------------------------------
// command_output_matches

#[test]
fn command_output_matches_passes_on_the_chosen_stream_and_exit() {
    let criteria = [
        item(
            "OUT",
            "command_output_matches",
            r#"{ command: "echo version 1.2.3; echo noise >&2", pattern: "^version \\d+\\.\\d+\\.\\d+$" }"#,
        ),
        item(
            "ERR",
            "command_output_matches",
            r#"{ command: "echo stdout-text; echo 'warning: deprecated' >&2", pattern: "^warning: deprecated", stream: stderr }"#,
        ),
        item(
            "BOTH",
            "command_output_matches",
            r#"{ command: "echo first; echo 'usage: tool' >&2; exit 2", pattern: "usage: tool", stream: both, exit: any }"#,
        ),
        item(
            "ZERO",
            "command_output_matches",
            r#"{ command: "echo ready", pattern: "ready", exit: 0 }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    for id in ["OUT", "ERR", "BOTH", "ZERO"] {
        expect(&doc, id, "pass", None);
    }
    assert_eq!(evidence(&repo, "BOTH")["exit_code"], 2);
}

#[test]
fn command_output_matches_fails_on_the_wrong_stream_or_exit() {
    let criteria = [
        // The text is on stderr, the default stream is stdout.
        item(
            "NOTOUT",
            "command_output_matches",
            r#"{ command: "echo 'warning: x' >&2", pattern: "warning: x" }"#,
        ),
        // The text is on stdout, stderr is asked for.
        item(
            "NOTERR",
            "command_output_matches",
            r#"{ command: "echo 'warning: x'", pattern: "warning: x", stream: stderr }"#,
        ),
        // The output matches but the command failed (exit defaults to 0).
        item(
            "EXIT",
            "command_output_matches",
            r#"{ command: "echo ready; exit 1", pattern: "ready", stream: both }"#,
        ),
        // exit any, but nothing matches.
        item(
            "NOMATCH",
            "command_output_matches",
            r#"{ command: "echo something else; exit 4", pattern: "^ready$", stream: both, exit: any }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    for id in ["NOTOUT", "NOTERR", "EXIT", "NOMATCH"] {
        expect(&doc, id, "fail", Some("F3"));
    }
    assert_eq!(evidence(&repo, "EXIT")["exit_code"], 1);
    assert_eq!(evidence(&repo, "NOMATCH")["exit_code"], 4);
}

// ---------------------------------------------------------------------------------------------
// git_diff_contains

#[test]
fn git_diff_contains_passes_on_lines_added_since_head_and_since_a_tag() {
    let criteria = [
        item(
            "HEAD",
            "git_diff_contains",
            r#"{ pattern: "^pub fn new_api", path: "src/**" }"#,
        ),
        item(
            "NEWFILE",
            "git_diff_contains",
            r#"{ pattern: "^fn brand_new" }"#,
        ),
        item(
            "TAG",
            "git_diff_contains",
            r#"{ pattern: "^pub fn old_api", base: v0 }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "keep\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a"]);
    repo.git(&["tag", "v0"]);
    repo.write("src/a.rs", "keep\npub fn old_api() {}\n");
    repo.git(&["commit", "-qam", "old api"]);
    repo.write(
        "src/a.rs",
        "keep\npub fn old_api() {}\npub fn new_api() {}\n",
    )
    // Untracked: `git add -A` would stage it, so its lines are added.
    .write("src/fresh.rs", "fn brand_new() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "HEAD", "pass", None);
    contains_all(detail(&doc, "HEAD"), &["src/a.rs:3"]);
    expect(&doc, "NEWFILE", "pass", None);
    contains_all(detail(&doc, "NEWFILE"), &["src/fresh.rs:1"]);
    expect(&doc, "TAG", "pass", None);
    contains_all(detail(&doc, "TAG"), &["src/a.rs:2"]);
}

#[test]
fn git_diff_contains_defaults_to_the_task_base() {
    let crit = item(
        "C-1",
        "git_diff_contains",
        r#"{ pattern: "^pub fn old_api" }"#,
    );
    let repo = Repo::with_plan(&crit);
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.write("src/a.rs", "pub fn old_api() {}\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "api"]);
    // Nothing changed since HEAD, but the task started at `base`.
    let task = task_with("T-1", &crit).replacen(
        "iteration: 1\n",
        &format!("iteration: 1\nbase: {base}\n"),
        1,
    );
    repo.write(".specproof/tasks/T-1.md", task);
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    contains_all(detail(&doc, "C-1"), &["src/a.rs:1"]);
}

#[test]
fn git_diff_contains_fails_on_removed_lines_committed_lines_and_lines_outside_the_path() {
    let criteria = [
        item(
            "REMOVED",
            "git_diff_contains",
            r#"{ pattern: "removed_line" }"#,
        ),
        item(
            "COMMITTED",
            "git_diff_contains",
            r#"{ pattern: "old_line" }"#,
        ),
        item(
            "OUTSIDE",
            "git_diff_contains",
            r#"{ pattern: "^pub fn new_api", path: "src/**" }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "removed_line\nold_line\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a"]);
    repo.write("src/a.rs", "old_line\nsomething\n")
        .write("lib/b.rs", "pub fn new_api() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    for id in ["REMOVED", "COMMITTED", "OUTSIDE"] {
        expect(&doc, id, "fail", Some("F3"));
    }
}

// ---------------------------------------------------------------------------------------------
// line_count_delta

#[test]
fn line_count_delta_passes_within_bounds_from_head_or_a_base() {
    let criteria = [
        item(
            "RANGE",
            "line_count_delta",
            r"{ path: src/a.rs, min: 1, max: 3 }",
        ),
        item(
            "MINONLY",
            "line_count_delta",
            r"{ path: src/a.rs, min: 4, base: v0 }",
        ),
        item("SHRINK", "line_count_delta", r"{ path: src/b.rs, max: -2 }"),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "1\n2\n")
        .write("src/b.rs", "1\n2\n3\n4\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a"]);
    repo.git(&["tag", "v0"]);
    repo.write("src/a.rs", "1\n2\n3\n4\n");
    repo.git(&["commit", "-qam", "more"]);
    // HEAD: 4 lines; working tree: 6 (+2 since HEAD, +4 since v0).
    repo.write("src/a.rs", "1\n2\n3\n4\n5\n6\n")
        .write("src/b.rs", "1\n2\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "RANGE", "pass", None);
    contains_all(detail(&doc, "RANGE"), &["+2"]);
    expect(&doc, "MINONLY", "pass", None);
    expect(&doc, "SHRINK", "pass", None);
}

#[test]
fn line_count_delta_fails_outside_its_bounds() {
    let criteria = [
        item("TOOMANY", "line_count_delta", r"{ path: src/a.rs, max: 1 }"),
        item("TOOFEW", "line_count_delta", r"{ path: src/a.rs, min: 5 }"),
        item(
            "BASE",
            "line_count_delta",
            r"{ path: src/a.rs, min: 0, max: 2, base: v0 }",
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "1\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a"]);
    repo.git(&["tag", "v0"]);
    repo.write("src/a.rs", "1\n2\n");
    repo.git(&["commit", "-qam", "more"]);
    // HEAD: 2 lines; working tree: 5 (+3 since HEAD, +4 since v0).
    repo.write("src/a.rs", "1\n2\n3\n4\n5\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    for id in ["TOOMANY", "TOOFEW", "BASE"] {
        expect(&doc, id, "fail", Some("F3"));
    }
    contains_all(detail(&doc, "TOOMANY"), &["+3"]);
    contains_all(detail(&doc, "BASE"), &["+4"]);
}

// ---------------------------------------------------------------------------------------------
// semantic_match and the judge

const JUDGED: &str = r#"{ rubric: ["greets the reader", "is polite"], path: "src/*.txt" }"#;

/// A repository whose criterion C-1 is judged by `judge.sh` (with `script` as its body).
fn judged_repo(script: &str) -> Repo {
    let repo = Repo::with_plan(&item("C-1", "semantic_match", JUDGED));
    repo.write(
        "specproof.yml",
        "judge: { command: \"sh judge.sh\", min_confidence: 0.7 }\n",
    )
    .write("judge.sh", script)
    .write("src/greeting.txt", "Hello, dear reader.\n");
    repo
}

#[test]
fn semantic_match_passes_when_the_judge_says_pass_confidently() {
    let repo = judged_repo(
        "cat > /dev/null\necho '{\"verdict\":\"pass\",\"confidence\":0.9,\"reason\":\"warm greeting\"}'\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    contains_all(detail(&doc, "C-1"), &["warm greeting"]);
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["proof"], "semantic_match");
    assert_eq!(ev["result"], "pass");
}

#[test]
fn semantic_match_fails_when_the_judge_says_fail() {
    let repo = judged_repo(
        "cat > /dev/null\necho '{\"verdict\":\"fail\",\"confidence\":0.95,\"reason\":\"rude tone\"}'\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    contains_all(detail(&doc, "C-1"), &["rude tone"]);
}

#[test]
fn semantic_match_over_no_file_fails_without_asking_the_judge() {
    let repo = judged_repo(
        "cat > .git/judge-was-asked\necho '{\"verdict\":\"pass\",\"confidence\":0.9,\"reason\":\"ok\"}'\n",
    );
    std::fs::remove_file(repo.path().join("src/greeting.txt")).unwrap();
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    contains_all(detail(&doc, "C-1"), &["nothing to judge"]);
    assert!(!repo.path().join(".git/judge-was-asked").exists());
}

#[test]
fn semantic_match_below_min_confidence_is_inconclusive_f4() {
    let repo = judged_repo(
        "cat > /dev/null\necho '{\"verdict\":\"pass\",\"confidence\":0.5,\"reason\":\"not sure\"}'\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "inconclusive is never a pass: {doc:#}");
    assert_eq!(doc["ok"], false);
    expect(&doc, "C-1", "inconclusive", Some("F4"));
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["result"], "inconclusive");
    assert_eq!(ev["failure_code"], "F4");
}

#[test]
fn semantic_match_with_a_crashing_judge_is_inconclusive_f9() {
    let repo = judged_repo("cat > /dev/null\nexit 1\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "inconclusive", Some("F9"));
    assert_eq!(evidence(&repo, "C-1")["failure_code"], "F9");
}

#[test]
fn semantic_match_with_bad_judge_json_is_inconclusive_f9() {
    let repo = judged_repo("cat > /dev/null\necho 'LGTM, ship it'\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "inconclusive", Some("F9"));
}

#[test]
fn semantic_match_without_a_judge_is_inconclusive_and_says_how_to_configure_one() {
    let repo = Repo::with_plan(&item("C-1", "semantic_match", JUDGED));
    repo.write("src/greeting.txt", "Hello, dear reader.\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "inconclusive", Some("F9"));
    contains_all(detail(&doc, "C-1"), &["judge", "command", "specproof.yml"]);
}

#[test]
fn the_judge_receives_the_criterion_rubric_and_files_but_not_the_worker_report() {
    let crit = item("C-1", "semantic_match", JUDGED);
    let repo = judged_repo(
        "cat > .git/judge-stdin.json\necho '{\"verdict\":\"pass\",\"confidence\":1.0,\"reason\":\"ok\"}'\n",
    );
    repo.write(
        ".specproof/tasks/T-1.md",
        format!(
            "{}- C-1: the greeting file reads as kind, a judge checks it zebraquartz\n### Implementation Notes\nwrote it carefully zebraquartz\n### Self-Review\nall good zebraquartz\n",
            task_with("T-1", &crit)
        ),
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let stdin = repo.read(".git/judge-stdin.json");
    let request: Value = serde_json::from_str(&stdin)
        .unwrap_or_else(|e| panic!("the judge's stdin is not JSON ({e}): {stdin}"));
    assert_eq!(request["criterion"]["id"], "C-1", "{request:#}");
    assert_eq!(
        request["criterion"]["description"], "criterion C-1 holds",
        "{request:#}"
    );
    assert_eq!(
        request["rubric"],
        serde_json::json!(["greets the reader", "is polite"])
    );
    let files = request["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{request:#}");
    assert_eq!(files[0]["path"], "src/greeting.txt");
    assert_eq!(files[0]["content"], "Hello, dear reader.\n");
    assert!(
        !stdin.contains("zebraquartz"),
        "worker report leaked: {stdin}"
    );
    assert!(
        !stdin.contains("Worker Report"),
        "worker report leaked: {stdin}"
    );
}

// ---------------------------------------------------------------------------------------------
// The command environment

#[test]
fn commands_run_with_sh_in_the_root_or_cwd_with_env_and_the_specproof_variables() {
    let criteria = [
        item(
            "ROOT",
            "command_output_matches",
            r#"{ command: "cat marker.txt; echo task=$SPECPROOF_TASK crit=$SPECPROOF_CRITERION", pattern: "^root-marker\\ntask=T-1 crit=ROOT$" }"#,
        ),
        item(
            "SUB",
            "command_output_matches",
            r#"{ command: "cat marker.txt; echo foo=$FOO num=$NUM crit=$SPECPROOF_CRITERION", pattern: "^sub-marker\\nfoo=bar baz num=42 crit=SUB$", cwd: sub/dir, env: { FOO: "bar baz", NUM: "42" } }"#,
        ),
        // `sh -c`: shell syntax works.
        item(
            "SHELL",
            "command_output_matches",
            r#"{ command: "for i in 1 2 3; do printf $i; done; [ -n \"$SPECPROOF_TASK\" ] && echo", pattern: "^123$" }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("marker.txt", "root-marker\n")
        .write("sub/dir/marker.txt", "sub-marker\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    for id in ["ROOT", "SUB", "SHELL"] {
        expect(&doc, id, "pass", None);
    }
    assert_eq!(
        evidence(&repo, "SUB")["output"],
        "sub-marker\nfoo=bar baz num=42 crit=SUB\n"
    );
}

#[test]
fn commands_get_dev_null_as_stdin_not_the_callers() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let repo = Repo::with_plan(&item(
        "C-1",
        "command_output_matches",
        r#"{ command: "cat; echo end-of-stdin; readlink /proc/self/fd/0", pattern: "end-of-stdin" }"#,
    ));
    let home = tempfile::tempdir().expect("home");
    let mut child = Command::new(crate::common::bin())
        .args(["verify", "--format", "json"])
        .current_dir(repo.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn specproof");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"LEAKED-FROM-CALLER\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let output = evidence(&repo, "C-1")["output"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!output.contains("LEAKED"), "{output:?}");
    assert_eq!(output, "end-of-stdin\n/dev/null\n");
}

#[test]
fn git_variables_of_the_caller_never_reach_the_command() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "command_output_matches",
        r#"{ command: "echo idx=${GIT_INDEX_FILE-unset} dir=${GIT_DIR-unset} wt=${GIT_WORK_TREE-unset} obj=${GIT_OBJECT_DIRECTORY-unset} prefix=${GIT_PREFIX-unset} q=${GIT_QUARANTINE_PATH-unset} po=${GIT_PUSH_OPTION_COUNT-unset}/${GIT_PUSH_OPTION_0-unset} keep=${KEEP_ME-unset}", pattern: "keep=" }"#,
    ));
    let root = repo.path().to_string_lossy().into_owned();
    let git_dir = format!("{root}/.git");
    let objects = format!("{root}/.git/objects");
    let run = repo.run_in(
        ".",
        &["verify", "--format", "json"],
        &[
            ("GIT_INDEX_FILE", "/nonexistent"),
            ("GIT_DIR", &git_dir),
            ("GIT_WORK_TREE", &root),
            ("GIT_OBJECT_DIRECTORY", &objects),
            ("GIT_PREFIX", "sub/"),
            ("GIT_QUARANTINE_PATH", "/nonexistent/quarantine"),
            ("GIT_PUSH_OPTION_COUNT", "1"),
            ("GIT_PUSH_OPTION_0", "ci.skip"),
            ("KEEP_ME", "kept"),
        ],
    );
    run.code(0);
    assert_eq!(
        evidence(&repo, "C-1")["output"],
        "idx=unset dir=unset wt=unset obj=unset prefix=unset q=unset po=unset/unset keep=kept\n"
    );
}

#[test]
fn a_timeout_fails_f5_and_kills_the_background_child() {
    let repo = Repo::with_plan(&timed(
        "C-1",
        "builds_clean",
        r#"{ command: "sh slow.sh" }"#,
        1,
    ));
    repo.write(
        "slow.sh",
        "trap 'echo term > .git/got-term; exit 143' TERM\nsleep 30 &\necho $! > .git/child.pid\necho started\nsleep 30\n",
    );
    let started = Instant::now();
    let (code, doc) = repo.verify_json(&[]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F5"));
    assert!(took < Duration::from_secs(8), "verify took {took:?}");
    assert!(alive(std::process::id()), "/proc works");
    let pid = pid_in(&repo, ".git/child.pid");
    assert!(gone(pid), "the background child {pid} survived the timeout");
    // SIGTERM first: the command's own handler ran.
    assert_eq!(repo.read(".git/got-term"), "term\n");
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["failure_code"], "F5");
    assert_eq!(ev["result"], "fail");
    assert!(ev["exit_code"].is_null(), "{ev:#}");
    contains_all(ev["output"].as_str().unwrap_or_default(), &["started"]);
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace_period() {
    let repo = Repo::with_plan(&timed(
        "C-1",
        "test_passes",
        r#"{ command: "trap '' TERM; sleep 30 & echo $! > .git/child.pid; sleep 30" }"#,
        1,
    ));
    let started = Instant::now();
    let (code, doc) = repo.verify_json(&[]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F5"));
    // 1 s timeout + 5 s grace before SIGKILL.
    assert!(took < Duration::from_secs(9), "verify took {took:?}");
    assert!(
        took >= Duration::from_secs(5),
        "SIGKILL came before the 5 s grace: {took:?}"
    );
    assert!(alive(std::process::id()), "/proc works");
    let pid = pid_in(&repo, ".git/child.pid");
    assert!(gone(pid), "the child {pid} ignoring SIGTERM survived");
}

#[test]
fn command_timeout_in_the_config_is_the_default_timeout() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "command_output_matches",
        r#"{ command: "echo waiting; sleep 30", pattern: "waiting" }"#,
    ));
    repo.write("specproof.yml", "command_timeout: 1\n");
    let started = Instant::now();
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    // The output matched, but a timeout is a failure whatever the output.
    expect(&doc, "C-1", "fail", Some("F5"));
    assert!(started.elapsed() < Duration::from_secs(8));
    contains_all(
        evidence(&repo, "C-1")["output"]
            .as_str()
            .unwrap_or_default(),
        &["waiting"],
    );
}

#[test]
fn a_background_child_holding_the_output_open_does_not_hang_verify() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "builds_clean",
        r#"{ command: "sleep 20 & echo built" }"#,
    ));
    let started = Instant::now();
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "verify took {took:?}");
}

#[test]
fn command_output_keeps_only_the_first_and_last_32_kib() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "builds_clean",
        r#"{ command: "echo HEAD-MARK; i=0; while [ $i -lt 4000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done; echo TAIL-MARK" }"#,
    ));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let ev = evidence(&repo, "C-1");
    let output = ev["output"].as_str().unwrap_or_default();
    assert!(output.starts_with("HEAD-MARK\n"), "{}", &output[..100]);
    assert!(
        output.ends_with("TAIL-MARK\n"),
        "{}",
        &output[output.len() - 100..]
    );
    // 4000 × 71 bytes ≈ 277 KiB printed; at most 64 KiB (plus a cut marker) kept.
    assert!(
        output.len() <= 64 * 1024 + 200,
        "{} bytes kept",
        output.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The Test Mirage guard

const CARGO_ZERO: &str =
    "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";

#[test]
fn test_passes_with_a_summary_of_zero_tests_ran_no_test() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "test_passes",
        &format!(r#"{{ command: "echo 'running 0 tests'; echo '{CARGO_ZERO}'" }}"#),
    ));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    contains_all(detail(&doc, "C-1"), &["ran no test"]);
    let ev = evidence(&repo, "C-1");
    assert_eq!(ev["exit_code"], 0, "exit 0 and still a fail: {ev:#}");
    contains_all(ev["detail"].as_str().unwrap_or_default(), &["ran no test"]);
}

#[test]
fn test_passes_fails_below_min_tests() {
    // cargo-skipped: 2 passed, 1 ignored (not run).
    let repo = Repo::with_plan(&item(
        "C-1",
        "test_passes",
        r#"{ command: "cat fx/cargo-skipped.txt", min_tests: 3 }"#,
    ));
    repo.write("fx/cargo-skipped.txt", fixture("cargo-skipped"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "C-1", "fail", Some("F3"));
    contains_all(detail(&doc, "C-1"), &["min_tests", "2"]);
}

#[test]
fn test_passes_expect_needs_each_name_seen_passing() {
    let criteria = [
        // beta was ignored, not passed.
        item(
            "IGNORED",
            "test_passes",
            r#"{ command: "cat fx/cargo-skipped.txt", expect: [beta] }"#,
        ),
        item(
            "ABSENT",
            "test_passes",
            r#"{ command: "cat fx/cargo-pass.txt", expect: [alpha, zeta] }"#,
        ),
        // A fragment of a name is not the name.
        item(
            "FRAGMENT",
            "test_passes",
            r#"{ command: "cat fx/cargo-pass.txt", expect: [pha] }"#,
        ),
        item(
            "SEEN",
            "test_passes",
            r#"{ command: "cat fx/cargo-skipped.txt", expect: [alpha, "tests::gamma"] }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("fx/cargo-skipped.txt", fixture("cargo-skipped"))
        .write("fx/cargo-pass.txt", fixture("cargo-pass"));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "IGNORED", "fail", Some("F3"));
    contains_all(detail(&doc, "IGNORED"), &["beta"]);
    expect(&doc, "ABSENT", "fail", Some("F3"));
    contains_all(detail(&doc, "ABSENT"), &["zeta"]);
    expect(&doc, "FRAGMENT", "fail", Some("F3"));
    expect(&doc, "SEEN", "pass", None);
}

#[test]
fn test_passes_recognises_real_runner_outputs() {
    // (criterion, fixture, passes with exit 0)
    // (criterion, fixture, tests the runner reports as passed: 0 means none ran)
    let cases = [
        ("CARGO-PASS", "cargo-pass", 3),
        ("CARGO-MULTI", "cargo-multi-pass", 5),
        ("CARGO-NONE", "cargo-none", 0),
        ("PYTEST-PASS", "pytest-pass", 3),
        ("PYTEST-NONE", "pytest-none", 0),
        ("JEST-PASS", "jest-pass", 3),
        ("JEST-NONE", "jest-none", 0),
        ("MOCHA-PASS", "mocha-pass", 3),
        ("MOCHA-NONE", "mocha-none", 0),
        ("NODE-PASS", "node-pass", 3),
        ("NODE-NONE", "node-none", 0),
        ("VITEST-NONE", "vitest-none", 0),
        ("NEXTEST-NONE", "nextest-none", 0),
    ];
    // Each passing run must reach exactly its own count: every test binary of cargo counts.
    let mut criteria: String = cases
        .iter()
        .map(|&(id, file, passed)| {
            item(
                id,
                "test_passes",
                &format!(
                    r#"{{ command: "cat fx/{file}.txt", min_tests: {} }}"#,
                    passed.max(1)
                ),
            )
        })
        .collect();
    criteria.push_str(&item(
        "PYTEST-V",
        "test_passes",
        r#"{ command: "cat fx/pytest-v-pass.txt", expect: [test_alpha, test_gamma] }"#,
    ));
    criteria.push_str(&item(
        "PYTEST-V-FAIL",
        "test_passes",
        r#"{ command: "cat fx/pytest-v-fail.txt", expect: [test_beta] }"#,
    ));
    // Go is not installed where the fixtures were recorded: these are go test's documented lines.
    criteria.push_str(&item(
        "GO-NONE",
        "test_passes",
        r#"{ command: "cat fx/go-none.txt" }"#,
    ));
    criteria.push_str(&item(
        "GO-PASS",
        "test_passes",
        r#"{ command: "cat fx/go-pass.txt", expect: [TestAlpha] }"#,
    ));
    let repo = Repo::with_plan(&criteria);
    for file in cases
        .iter()
        .map(|c| c.1)
        .chain(["pytest-v-pass", "pytest-v-fail"])
    {
        repo.write(&format!("fx/{file}.txt"), fixture(file));
    }
    repo.write(
        "fx/go-none.txt",
        "ok  \texample.com/demo\t0.002s [no tests to run]\n",
    )
    .write(
        "fx/go-pass.txt",
        "=== RUN   TestAlpha\n--- PASS: TestAlpha (0.00s)\n=== RUN   TestBeta\n--- PASS: TestBeta (0.00s)\nPASS\nok  \texample.com/demo\t0.002s\n",
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    for (id, _, passed) in cases {
        if passed > 0 {
            expect(&doc, id, "pass", None);
            contains_all(detail(&doc, id), &[&format!("{passed} passed")]);
        } else {
            expect(&doc, id, "fail", Some("F3"));
            contains_all(detail(&doc, id), &["ran no test"]);
        }
    }
    expect(&doc, "GO-NONE", "fail", Some("F3"));
    contains_all(detail(&doc, "GO-NONE"), &["ran no test"]);
    expect(&doc, "GO-PASS", "pass", None);
    expect(&doc, "PYTEST-V", "pass", None);
    // cat exits 0, but test_beta FAILED in the output.
    expect(&doc, "PYTEST-V-FAIL", "fail", Some("F3"));
    contains_all(detail(&doc, "PYTEST-V-FAIL"), &["1 failed"]);
}

#[test]
fn test_passes_without_a_recognised_summary_says_so_in_the_evidence() {
    let repo = Repo::with_plan(&item(
        "C-1",
        "test_passes",
        r#"{ command: "echo all good, trust me" }"#,
    ));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    expect(&doc, "C-1", "pass", None);
    let ev = evidence(&repo, "C-1");
    contains_all(
        ev["detail"].as_str().unwrap_or_default(),
        &["no test runner summary recognised"],
    );
}

// ---------------------------------------------------------------------------------------------
// Evidence

#[test]
fn pass_evidence_is_signed_and_bound_to_its_criterion_and_inputs() {
    let criteria = [
        item("FILE", "file_exists", r"{ path: src/a.rs }"),
        item(
            "CMD",
            "command_output_matches",
            r#"{ command: "echo hello-out; echo hello-err >&2", pattern: "hello-out", stream: both }"#,
        ),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "fn a() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let row = expect(&doc, "FILE", "pass", None);
    assert_eq!(row["evidence"], ".specproof/evidence/T-1/iter-1/FILE.json");
    assert_eq!(row["task"], "T-1");
    assert_eq!(row["proof"], "file_exists");

    let ev = evidence(&repo, "FILE");
    assert_eq!(ev["schema"], 1, "{ev:#}");
    assert_eq!(ev["task_id"], "T-1");
    assert_eq!(ev["criterion_id"], "FILE");
    assert_eq!(ev["iteration"], 1);
    assert_eq!(ev["proof"], "file_exists");
    assert_eq!(ev["result"], "pass");
    assert!(ev["failure_code"].is_null(), "{ev:#}");
    assert!(ev["exit_code"].is_null(), "{ev:#}");
    assert_eq!(ev["input_files"], 1);
    for (field, prefix, hex) in [
        ("criterion_digest", "sha256:", 64),
        ("input_digest", "sha256:", 64),
        ("signature", "hmac-sha256:", 64),
    ] {
        let value = ev[field].as_str().unwrap_or_default();
        let digits = value
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{field} {value:?} does not start with {prefix}"));
        assert!(
            digits.len() == hex && digits.bytes().all(|b| b.is_ascii_hexdigit()),
            "{field}: {value:?}"
        );
    }
    assert_eq!(
        ev["tool"],
        format!("specproof {}", env!("CARGO_PKG_VERSION"))
    );
    let started = ev["started_at"].as_str().unwrap_or_default();
    assert!(
        started.len() == 20 && started.ends_with('Z') && started.as_bytes()[10] == b'T',
        "started_at {started:?}"
    );
    assert!(ev["duration_ms"].is_u64(), "{ev:#}");

    // The criterion digest binds what is proven, so two criteria differ.
    let cmd = evidence(&repo, "CMD");
    assert_ne!(cmd["criterion_digest"], ev["criterion_digest"]);
    assert_eq!(cmd["result"], "pass");
    assert_eq!(cmd["proof"], "command_output_matches");
    assert_eq!(cmd["exit_code"], 0);
    let output = cmd["output"].as_str().unwrap_or_default();
    contains_all(output, &["hello-out", "hello-err"]);

    // The signing key is local state, private to the user.
    let key = repo.path().join(".git/specproof/key");
    let meta = std::fs::metadata(&key).expect(".git/specproof/key exists");
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(repo.git(&["ls-files", ".git"]).is_empty());
}

/// `sha256:` and the hex digest of `text`.
fn sha256(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;
    let hex = Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
    format!("sha256:{hex}")
}

#[test]
fn input_digests_hash_mode_blob_and_path_of_the_scope_and_the_base_of_git_proofs() {
    let criteria = [
        item(
            "PAT",
            "pattern_matches",
            r#"{ path: "src/*", pattern: "a" }"#,
        ),
        item("LINES", "line_count_delta", r"{ path: src/a.rs, min: 1 }"),
        item("EMPTY", "file_exists", r#"{ path: "nothing/*" }"#),
    ]
    .concat();
    let repo = Repo::with_plan(&criteria);
    repo.write("src/a.rs", "a\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a"]);
    repo.write("src/a.rs", "a\nb\n")
        .write("src/run.sh", "#!/bin/sh\necho a\n");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let script = repo.path().join("src/run.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let (_, doc) = repo.verify_json(&[]);
    expect(&doc, "PAT", "pass", None);
    expect(&doc, "LINES", "pass", None);
    expect(&doc, "EMPTY", "fail", Some("F3"));
    let blob = |rel: &str| repo.git(&["hash-object", rel]).trim().to_owned();
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let (a, run) = (blob("src/a.rs"), blob("src/run.sh"));

    let pat = evidence(&repo, "PAT");
    assert_eq!(
        pat["input_digest"],
        sha256(&format!("100644 {a} src/a.rs\n100755 {run} src/run.sh\n")),
        "{pat:#}"
    );
    assert_eq!(pat["input_files"], 2);
    let lines = evidence(&repo, "LINES");
    assert_eq!(
        lines["input_digest"],
        sha256(&format!("base {head}\n100644 {a} src/a.rs\n")),
        "{lines:#}"
    );
    assert_eq!(evidence(&repo, "EMPTY")["input_digest"], sha256(""));
}

#[test]
fn rewording_a_description_keeps_the_evidence_but_changing_args_reruns_the_proof() {
    let crit = |description: &str, min: u32| {
        format!(
            "- id: C-1\n  description: {description}\n  proof: pattern_matches\n  args: {{ path: src/a.rs, pattern: \"fn \", min: {min} }}\n"
        )
    };
    let set = |repo: &Repo, criteria: &str| {
        repo.write("plans/p.md", crate::common::plan_with(criteria))
            .write(".specproof/tasks/T-1.md", task_with("T-1", criteria));
    };
    let repo = Repo::with_plan(&crit("two functions exist", 1));
    repo.write("src/a.rs", "fn a() {}\nfn b() {}\n");
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let first = evidence(&repo, "C-1");

    set(&repo, &crit("the module defines its two functions", 1));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(result_of(&doc, "C-1")["cached"], true, "{doc:#}");
    let (_, doc) = repo.verify_json(&["--force"]);
    assert_eq!(result_of(&doc, "C-1")["cached"], false, "{doc:#}");
    let reworded = evidence(&repo, "C-1");
    assert_eq!(reworded["criterion_digest"], first["criterion_digest"]);
    assert_eq!(reworded["input_digest"], first["input_digest"]);

    set(&repo, &crit("the module defines its two functions", 2));
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let row = expect(&doc, "C-1", "pass", None);
    assert_eq!(row["cached"], false, "changed args must re-run: {doc:#}");
    let changed = evidence(&repo, "C-1");
    assert_ne!(changed["criterion_digest"], first["criterion_digest"]);
    assert_eq!(changed["input_digest"], first["input_digest"]);
}

#[test]
fn judge_answers_out_of_range_or_from_a_failing_judge_are_f9_and_the_threshold_itself_passes() {
    let ids = [
        "EDGE", "HIGH", "NEGATIVE", "WORDY", "NOCONF", "EXIT1", "VERDICT",
    ];
    let criteria: String = ids
        .iter()
        .map(|id| item(id, "semantic_match", JUDGED))
        .collect();
    let repo = Repo::with_plan(&criteria);
    repo.write(
        "specproof.yml",
        "judge: { command: \"sh judge.sh\", min_confidence: 0.7 }\n",
    )
    .write("src/greeting.txt", "Hello, dear reader.\n")
    .write(
        "judge.sh",
        r#"req=$(cat)
answer() { echo "{\"verdict\":\"$1\",\"confidence\":$2,\"reason\":\"r\"}"; }
case "$req" in
*'"id":"EDGE"'*) answer pass 0.7 ;;
*'"id":"HIGH"'*) answer pass 1.5 ;;
*'"id":"NEGATIVE"'*) answer pass -0.2 ;;
*'"id":"WORDY"'*) answer pass '"high"' ;;
*'"id":"NOCONF"'*) echo '{"verdict":"pass","reason":"r"}' ;;
*'"id":"EXIT1"'*) answer pass 0.9; exit 1 ;;
*'"id":"VERDICT"'*) answer maybe 0.9 ;;
esac
"#,
    );
    let (code, doc) = repo.verify_json(&[]);
    assert_eq!(code, 1, "{doc:#}");
    expect(&doc, "EDGE", "pass", None);
    for id in &ids[1..] {
        expect(&doc, id, "inconclusive", Some("F9"));
    }
}
