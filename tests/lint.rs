//! `specproof lint`: one test per kind of bad input, each asserting exit code 1 and a message
//! naming the file, the place and the criterion or field; and the JSON contract.

use crate::common::{AUTH_1, AUTH_PLAN, Repo, auth_task, criteria_block};

fn plan_repo(plan: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plans/p.md", plan);
    repo
}

fn lint_fails_with(repo: &Repo, expected: &str) {
    let run = repo.run(&["lint"]);
    run.code(1);
    assert!(
        run.problems().contains(&expected),
        "expected {expected:?} among:\n{}",
        run.stdout
    );
}

#[test]
fn good_plans_and_tasks_lint_clean() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write(
            "plans/billing/invoices.md",
            format!(
                "# Billing\n\n## Invoices\n\n{}",
                criteria_block(
                    "- id: BILL-1\n  description: invoices render\n  proof: command_output_matches\n  args: { command: ./render, pattern: \"^Invoice\", stream: both, exit: any, env: { LANG: C }, cwd: tools }\n  timeout: 30\n  serial: true\n  inputs: [\"tools/**\"]\n\
                     - id: BILL-2\n  description: the invoice module grows by at most 200 lines\n  proof: line_count_delta\n  args: { path: src/invoice.rs, max: 200, base: main }\n\
                     - id: BILL-3\n  description: no unwrap in billing\n  proof: no_pattern_exists\n  args: { pattern: \"\\\\.unwrap\\\\(\\\\)\", path: \"src/billing/**/*.rs\" }\n  severity: low\n\
                     - id: BILL-4\n  description: the diff adds a migration\n  proof: git_diff_contains\n  args: { pattern: \"CREATE TABLE invoices\", path: \"migrations/*.sql\" }\n\
                     - id: BILL-5\n  description: invoices read well\n  proof: semantic_match\n  args: { rubric: [\"totals are explained\"], path: [\"docs/invoices.md\"] }\n\
                     - id: BILL-6\n  description: build\n  proof: builds_clean\n  args: { command: cargo build, timeout: 900 }\n  scope: system\n"
                )
            ),
        )
        .write(".specproof/tasks/T-001.md", auth_task("T-001", &format!("{AUTH_1}- id: AUTH-3\n  description: Expired token returns 401 with code token_expired\n  proof: test_passes\n  args: {{ command: \"cargo test expired_token\" }}\n")));
    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (2 plans with 9 criteria, 1 task)");
    let (code, doc) = repo.lint_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["checked"]["plans"], 2);
    assert_eq!(doc["checked"]["tasks"], 1);
    assert_eq!(doc["checked"]["criteria"], 9);
    assert_eq!(doc["problems"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_repository_without_config_or_plans_is_clean() {
    Repo::new()
        .run(&["lint"])
        .code(0)
        .line("ok: no problems (0 plans with 0 criteria, 0 tasks)");
}

#[test]
fn yaml_parse_error_is_placed_in_the_plan() {
    let repo = plan_repo("# P\n\n```criteria\n- id: A-1\n  description: [unclosed\n```\n");
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with("plans/p.md:6:", &["F8", "invalid YAML"]);
}

#[test]
fn unclosed_criteria_block_is_reported() {
    let repo = plan_repo("# P\n\n```criteria\n- id: A-1\n");
    lint_fails_with(
        &repo,
        "plans/p.md:3:1: F8: criteria block is never closed: end it with a line of ```",
    );
}

#[test]
fn missing_required_fields_are_named() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  proof: file_exists\n  args: { path: a }\n- description: no id\n  proof: file_exists\n  args: { path: a }\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:2:1: F1: criterion A-1: criterion has no `description`",
    );
    lint_fails_with(&repo, "plans/p.md:5:1: F1: criterion has no `id`");
}

#[test]
fn unknown_field_suggests_the_nearest() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: file_exists\n  args: { path: a }\n  severty: low\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:6:3: F1: criterion A-1: unknown field \"severty\" (did you mean \"severity\"?)",
    );
}

#[test]
fn duplicate_ids_across_plans_name_both_places() {
    let repo = Repo::new();
    repo.write(
        "plans/a.md",
        criteria_block("- id: X-1\n  description: d\n  proof: file_exists\n  args: { path: a }\n"),
    )
    .write(
        "plans/b.md",
        format!(
            "# B\n\n{}",
            criteria_block(
                "- id: X-1\n  description: e\n  proof: file_exists\n  args: { path: b }\n"
            )
        ),
    );
    lint_fails_with(
        &repo,
        "plans/b.md:4:3: F1: criterion X-1: duplicate ID: also defined at plans/a.md:2; IDs are unique across all plans, rename one",
    );
}

#[test]
fn unknown_proof_suggests_the_nearest() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: test_pass\n  args: { command: t }\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:4:3: F1: criterion A-1: unknown proof \"test_pass\" (did you mean \"test_passes\"?)",
    );
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: vibes\n",
    ));
    let run = repo.run(&["lint"]);
    run.code(1).line_with(
        "plans/p.md:4:3: F1: criterion A-1: unknown proof \"vibes\" (proofs: file_exists,",
        &["semantic_match"],
    );
}

#[test]
fn unknown_and_missing_args_are_named() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: pattern_matches\n  args:\n    path: src/a.rs\n    patern: x\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:7:5: F1: criterion A-1: pattern_matches takes no arg \"patern\" (args: path, pattern, min) (did you mean \"pattern\"?)",
    );
    lint_fails_with(
        &repo,
        "plans/p.md:5:3: F1: criterion A-1: pattern_matches needs the arg \"pattern\" (args: path, pattern, min)",
    );
}

#[test]
fn bad_arg_values_are_named() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: line_count_delta\n  args: { path: a.rs, min: 10, max: 2 }\n\
         - id: A-2\n  description: d\n  proof: command_output_matches\n  args: { command: x, pattern: y, stream: stdot }\n\
         - id: A-3\n  description: d\n  proof: semantic_match\n  args: { rubric: [a, b, c, d], path: x }\n\
         - id: A-4\n  description: d\n  proof: file_exists\n  args: { path: a, min: 0 }\n\
         - id: A-5\n  description: d\n  proof: file_exists\n  args: { path: a }\n  timeout: 5\n",
    ));
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with(
            "plans/p.md:5:",
            &["criterion A-1:", "\"min\" (10) is greater than \"max\" (2)"],
        )
        .line_with(
            "plans/p.md:9:",
            &[
                "criterion A-2:",
                "\"stream\" must be stdout, stderr or both",
                "did you mean \"stdout\"",
            ],
        )
        .line_with(
            "plans/p.md:13:",
            &["criterion A-3:", "\"rubric\" holds 1 to 3 items, found 4"],
        )
        .line_with(
            "plans/p.md:17:",
            &["criterion A-4:", "\"min\" is 0, which always passes"],
        )
        .line_with(
            "plans/p.md:22:3:",
            &["criterion A-5:", "`timeout` applies to command proofs only"],
        );
}

#[test]
fn invalid_regex_shows_the_regex_error() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: no_pattern_exists\n  args: { pattern: \"fn (a\" }\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:5:11: F1: criterion A-1: invalid regex \"fn (a\": unclosed group",
    );
}

#[test]
fn unsafe_paths_are_rejected() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: file_exists\n  args: { path: /etc/passwd }\n\
         - id: A-2\n  description: d\n  proof: file_exists\n  args: { path: \"src/../../secret\" }\n\
         - id: A-3\n  description: d\n  proof: builds_clean\n  args: { command: make, cwd: ../elsewhere }\n",
    ));
    lint_fails_with(
        &repo,
        "plans/p.md:5:11: F1: criterion A-1: path \"/etc/passwd\" is absolute; write it relative to the repository root",
    );
    lint_fails_with(
        &repo,
        "plans/p.md:9:11: F1: criterion A-2: path \"src/../../secret\" escapes the repository root with \"..\"",
    );
    lint_fails_with(
        &repo,
        "plans/p.md:13:26: F1: criterion A-3: path \"../elsewhere\" escapes the repository root with \"..\"",
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_leading_out_of_the_repository_is_rejected() {
    let outside = tempfile::tempdir().expect("tempdir");
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: pattern_matches\n  args: { path: \"vendor/lib/**/*.rs\", pattern: x }\n",
    ));
    std::os::unix::fs::symlink(outside.path(), repo.path().join("vendor")).expect("symlink");
    let run = repo.run(&["lint"]);
    run.code(1).line_with("plans/p.md:5:11: F1: criterion A-1: path \"vendor/lib/**/*.rs\" goes through the symlink vendor to ", &["outside the repository"]);
}

#[test]
fn a_checkbox_without_a_proof_is_unverifiable() {
    let repo = plan_repo(&format!(
        "# P\n\n## Limits\n\n{}\n- [ ] A-1: defined below, so only a reference\n- [ ] A-11: Rate limit returns 429 after 100 requests\n",
        criteria_block("- id: A-1\n  description: d\n  proof: file_exists\n  args: { path: a }\n")
    ));
    let run = repo.run(&["lint"]);
    run.code(1);
    assert_eq!(
        run.problems(),
        vec![
            "plans/p.md:13:7: F1: criterion A-11: checkbox criterion has no proof: define it in a ```criteria block with a proof (file_exists, pattern_matches, test_passes, …)"
        ]
    );
}

#[test]
fn a_checkbox_may_reference_a_criterion_of_another_plan() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN).write(
        "plans/overview.md",
        "# Overview\n\n- [ ] AUTH-3: expired tokens\n",
    );
    repo.run(&["lint"]).code(0);
}

fn task_repo(task_file: &str, task: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write(task_file, task);
    repo
}

#[test]
fn task_id_must_equal_the_file_name() {
    let repo = task_repo(".specproof/tasks/T-002.md", &auth_task("T-001", AUTH_1));
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-002.md:2:1: F8: task T-001: task_id \"T-001\" differs from the file name \"T-002.md\": rename one so they match",
    );
}

#[test]
fn a_task_naming_a_missing_plan_suggests_the_nearest() {
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", AUTH_1).replace("plans/auth.md", "plans/auht.md"),
    );
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-001.md:3:1: F8: task T-001: plan_file \"plans/auht.md\" does not exist (did you mean \"plans/auth.md\"?)",
    );
}

#[test]
fn a_task_naming_a_missing_section_is_reported() {
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", AUTH_1).replace(
            "plan_section: Auth middleware",
            "plan_section: Auth midleware",
        ),
    );
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-001.md:4:1: F8: task T-001: plan_section \"Auth midleware\" is not a heading of plans/auth.md (did you mean \"Auth middleware\"?)",
    );
}

#[test]
fn a_fabricated_criterion_is_reported() {
    let invented = "- id: AUTH-99\n  description: something the plan never asked for\n  proof: file_exists\n  args: { path: src/auth.rs }\n";
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", &format!("{AUTH_1}{invented}")),
    );
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-001.md:20:3: F2: criterion AUTH-99: fabricated: plans/auth.md has no such criterion; copy criteria from the plan, never invent them",
    );
}

#[test]
fn a_drifted_copy_shows_the_difference() {
    let weakened = AUTH_1.replace("pub fn (validate_jwt|verify_token)", "fn");
    let repo = task_repo(".specproof/tasks/T-001.md", &auth_task("T-001", &weakened));
    let run = repo.run(&["lint"]);
    run.code(1).line_with(
        ".specproof/tasks/T-001.md:16:3: F14: criterion AUTH-1: drift: the task's copy differs from plans/auth.md in args (plan: ",
        &["\"pattern\":\"pub fn (validate_jwt|verify_token)\"", "task: ", "\"pattern\":\"fn\""],
    );
}

#[test]
fn drift_is_judged_against_the_snapshot_when_there_is_one() {
    // The plan was edited after the snapshot; the task copied the edited plan. The snapshot is
    // authoritative, so the copy has drifted.
    let repo = Repo::new();
    let edited = AUTH_PLAN.replace(
        "JWT validation function exported from src/auth.rs",
        "any function in src/auth.rs",
    );
    repo.write(".specproof/snapshots/plans/auth.md", AUTH_PLAN)
        .write("plans/auth.md", &edited)
        .write(
            ".specproof/tasks/T-001.md",
            auth_task(
                "T-001",
                &AUTH_1.replace(
                    "JWT validation function exported from src/auth.rs",
                    "any function in src/auth.rs",
                ),
            ),
        );
    let run = repo.run(&["lint"]);
    run.code(1).line_with(
        ".specproof/tasks/T-001.md:16:3: F14: criterion AUTH-1: drift: the task's copy differs from .specproof/snapshots/plans/auth.md in description",
        &[],
    );
}

#[test]
fn a_cross_cutting_criterion_in_a_task_is_an_orphan() {
    let cross = "- id: AUTH-10\n  description: All endpoints return the same error body shape\n  proof: test_passes\n  args: { command: \"cargo test error_shape\" }\n  scope: cross-cutting\n";
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", &format!("{AUTH_1}{cross}")),
    );
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-001.md:20:3: F16: criterion AUTH-10: is a cross-cutting criterion: it belongs to no task and is verified at plan level; remove it from this task",
    );
}

#[test]
fn unknown_task_status_is_an_error_with_a_suggestion() {
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", AUTH_1).replace("status: in_progress", "status: finished"),
    );
    let run = repo.run(&["lint"]);
    run.code(1).line_with(
        ".specproof/tasks/T-001.md:5:1: F8: task T-001: unknown status \"finished\" (states: created, ready, in_progress, done, complete, blocked, failed)",
        &[],
    );
}

#[test]
fn task_front_matter_problems_name_the_field() {
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", AUTH_1)
            .replace("tier: 1\n", "tier: high\nasigned_to: me\n")
            .replace("plan_file: plans/auth.md\n", ""),
    );
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with(".specproof/tasks/T-001.md:1:1: F8: task T-001: front matter has no `plan_file`", &[])
        .line_with(".specproof/tasks/T-001.md:6:1: F8: task T-001: `tier` must be a whole number of 0 or more, found high", &[])
        .line_with(".specproof/tasks/T-001.md:7:1: F8: task T-001: unknown front matter field \"asigned_to\"", &["did you mean \"assigned_to\""]);
}

#[test]
fn a_task_without_front_matter_is_reported() {
    let repo = task_repo(".specproof/tasks/T-001.md", "# T-001\n\nJust notes.\n");
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-001.md:1:1: F8: task file must start with YAML front matter: a line ---, the fields (task_id, plan_file, status, …), and a closing ---",
    );
}

#[test]
fn config_unknown_key_names_the_nearest_known_key() {
    let repo = Repo::new();
    repo.write(
        "specproof.yml",
        "jobs: 2\nplan: [\"docs/*.md\"]\nconvergence:\n  max_iteration: 5\n",
    );
    let run = repo.run(&["lint"]);
    run.code(1)
        .line("specproof.yml:2:1: F8: unknown key \"plan\" (did you mean \"plans\"?)")
        .line("specproof.yml:4:3: F8: unknown key \"convergence.max_iteration\" (did you mean \"convergence.max_iterations\"?)");
}

#[test]
fn config_values_are_checked() {
    let repo = Repo::new();
    repo.write("specproof.yml", "max_file_size: huge\n");
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with("specproof.yml:1:", &["F8", "max_file_size", "8MiB"]);
}

#[test]
fn config_globs_choose_the_plans() {
    let repo = Repo::new();
    repo.write(
        "specproof.yml",
        "plans: [\"specs/*.md\"]\ntasks_dir: work\n",
    )
    .write("specs/auth.md", AUTH_PLAN)
    .write("plans/ignored.md", "```criteria\n- id: [broken\n```\n")
    .write(
        "work/T-001.md",
        auth_task("T-001", AUTH_1).replace("plans/auth.md", "specs/auth.md"),
    );
    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 1 task)");
}

#[test]
fn gitignored_plans_are_not_read() {
    let repo = Repo::new();
    repo.write(".gitignore", "plans/scratch/\n")
        .write("plans/scratch/x.md", "```criteria\n- id: [broken\n```\n");
    repo.run(&["lint"]).code(0);
}

#[test]
fn binary_junk_is_reported_not_a_panic() {
    let repo = Repo::new();
    repo.write("plans/junk.md", [0u8, 159, 146, 150, 0, 1, 2, 255, 10, 0])
        .write("plans/latin1.md", b"# Caf\xe9\n".as_slice())
        .write(".specproof/tasks/T-001.md", [0xffu8, 0xfe, 0x00, 0x41]);
    let run = repo.run(&["lint"]);
    run.code(1)
        .line("plans/junk.md:1:1: F8: is a binary file (it holds NUL bytes), not markdown text: restore it from git or remove it")
        .line("plans/latin1.md:1:1: F8: is not UTF-8 text (invalid byte at offset 5): save it as UTF-8")
        .line_with(".specproof/tasks/T-001.md:1:1: F8: is a binary file", &[]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn paths_limit_the_report_to_those_files() {
    let repo = Repo::new();
    repo.write("plans/good.md", AUTH_PLAN).write(
        "plans/bad.md",
        criteria_block("- id: B-1\n  description: d\n  proof: nope\n"),
    );
    repo.run(&["lint", "plans/good.md"])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 0 tasks)");
    repo.run(&["lint", "plans/bad.md"]).code(1);
    repo.run(&["lint", "plans"]).code(1).line_with(
        "failed: 1 problem in 1 file (2 plans with 4 criteria, 0 tasks)",
        &[],
    );
    let run = repo.run_in("plans", &["lint", "good.md"], &[]);
    run.code(0);
}

#[test]
fn a_path_outside_the_repository_or_missing_is_a_usage_error() {
    let repo = Repo::new();
    let run = repo.run(&["lint", "plans/none.md"]);
    run.code(2);
    assert!(
        run.stderr.contains("plans/none.md: no such file or folder"),
        "{}",
        run.stderr
    );
    let outside = tempfile::NamedTempFile::new().expect("temp file");
    let run = repo.run(&["lint", outside.path().to_str().expect("utf-8")]);
    run.code(2);
    assert!(
        run.stderr.contains("outside the repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_output_is_the_documented_contract() {
    let repo = plan_repo(&criteria_block(
        "- id: A-1\n  description: d\n  proof: test_pass\n  args: { command: t }\n",
    ));
    let (code, doc) = repo.lint_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["checked"]["plans"], 1);
    let problems = doc["problems"].as_array().expect("problems array");
    assert_eq!(problems.len(), 1);
    let p = &problems[0];
    assert_eq!(p["file"], "plans/p.md");
    assert_eq!(p["line"], 4);
    assert_eq!(p["column"], 3);
    assert_eq!(p["code"], "F1");
    assert_eq!(p["rule"], "unknown-proof");
    assert_eq!(p["criterion"], "A-1");
    assert_eq!(p["task"], serde_json::Value::Null);
    assert_eq!(p["field"], "proof");
    assert_eq!(
        p["message"],
        "unknown proof \"test_pass\" (did you mean \"test_passes\"?)"
    );
    assert_eq!(p["suggestion"], "test_passes");
}

#[test]
fn a_bad_format_is_a_usage_error() {
    let run = Repo::new().run(&["lint", "--format", "yaml"]);
    run.code(2);
    assert!(
        run.stderr.contains("invalid value 'yaml'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_wide_plans_glob_never_reads_tasks_or_snapshots_as_plans() {
    let repo = Repo::new();
    repo.write("specproof.yml", "plans: [\"**/*.md\"]\n")
        .write("plans/auth.md", AUTH_PLAN)
        .write(".specproof/snapshots/plans/auth.md", AUTH_PLAN)
        .write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1));
    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 1 task)");
}

#[test]
fn a_front_matter_mistake_does_not_hide_the_other_checks() {
    let repo = task_repo(
        ".specproof/tasks/T-009.md",
        &auth_task(
            "T-001",
            &AUTH_1.replace("pub fn (validate_jwt|verify_token)", "fn"),
        )
        .replace("tier: 1\n", "tier: 1\nowner: me\n"),
    );
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with(".specproof/tasks/T-009.md:8:1: F8: task T-001: unknown front matter field \"owner\"", &[])
        .line_with(".specproof/tasks/T-009.md:2:1: F8: task T-001: task_id \"T-001\" differs from the file name", &[])
        .line_with(".specproof/tasks/T-009.md:17:3: F14: criterion AUTH-1: drift", &[]);
}

#[test]
fn a_task_without_criteria_is_reported_once() {
    let repo = task_repo(".specproof/tasks/T-001.md", &auth_task("T-001", ""));
    let run = repo.run(&["lint"]);
    run.code(1);
    assert_eq!(run.problems().len(), 1, "{}", run.stdout);
    run.line_with(
        ".specproof/tasks/T-001.md:15:1: F1: task T-001: criteria block is empty",
        &[],
    );

    let no_section =
        "---\ntask_id: T-001\nplan_file: plans/auth.md\nstatus: created\n---\n## Source\n\ntext\n";
    let repo = task_repo(".specproof/tasks/T-001.md", no_section);
    let run = repo.run(&["lint"]);
    run.code(1).line(".specproof/tasks/T-001.md:1:1: F1: task T-001: task has no `## Acceptance Criteria` section with a ```criteria block: copy its criteria from the plan");
}

#[test]
fn lint_of_a_folder_checks_the_plans_and_tasks_under_it_only() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write(".specproof/snapshots/plans/auth.md", AUTH_PLAN)
        .write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1))
        .write("README.md", "# Readme\n\n- [ ] TODO: write docs\n");
    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 1 task)");
    repo.run(&["lint", "."])
        .code(0)
        .line("ok: no problems (1 plan with 3 criteria, 1 task)");
    repo.run(&["lint", ".specproof"])
        .code(0)
        .line("ok: no problems (0 plans with 0 criteria, 1 task)");
    let run = repo.run(&["lint", "src"]);
    run.code(2);
    assert!(
        run.stderr.contains("src: no such file or folder"),
        "{}",
        run.stderr
    );
    repo.write("docs/notes.md", "# notes\n");
    let run = repo.run(&["lint", "docs"]);
    run.code(2);
    assert!(
        run.stderr.contains("docs: no plan or task files there"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_yaml_typo_in_a_plan_does_not_make_tasks_fabricated() {
    let repo = Repo::new();
    let broken = AUTH_PLAN.replace(
        "description: JWT validation function exported from src/auth.rs",
        "description: [JWT validation function",
    );
    repo.write("plans/auth.md", broken)
        .write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1));
    let run = repo.run(&["lint"]);
    run.code(1);
    let problems = run.problems();
    assert_eq!(problems.len(), 1, "only the YAML error: {problems:?}");
    assert!(
        problems[0].starts_with("plans/auth.md:") && problems[0].contains("F8: invalid YAML"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_config_value_still_checks_the_configured_files() {
    let repo = Repo::new();
    repo.write(
        "specproof.yml",
        "plans: [\"specs/*.md\"]\ntasks_dir: work\njobs: many\n",
    )
    .write("specs/auth.md", AUTH_PLAN)
    .write("plans/notes.md", "- [ ] OLD-1: not a plan any more\n")
    .write(
        "work/T-001.md",
        auth_task("T-001", AUTH_1).replace("plans/auth.md", "specs/auth.md"),
    );
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with("specproof.yml:3:7: F8: invalid value of `jobs`", &[]);
    assert_eq!(run.problems().len(), 1, "{}", run.stdout);
    run.line("failed: 1 problem in 1 file (1 plan with 3 criteria, 1 task)");
}

#[test]
fn plan_file_may_be_written_with_dot_slash() {
    let repo = task_repo(
        ".specproof/tasks/T-001.md",
        &auth_task("T-001", AUTH_1).replace("plans/auth.md", "./plans/auth.md"),
    );
    repo.run(&["lint"]).code(0);
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_not_read() {
    let repo = Repo::new();
    let fifo = repo.path().join("plans/fifo.md");
    std::fs::create_dir_all(fifo.parent().expect("parent")).expect("mkdir");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let run = repo.run(&["lint", "plans/fifo.md"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("plans/fifo.md: not a regular file or folder"),
        "{}",
        run.stderr
    );
    repo.run(&["lint"]).code(0);
}

#[test]
fn a_plan_over_max_file_size_is_reported_not_read() {
    let repo = Repo::new();
    repo.write("specproof.yml", "max_file_size: 1KiB\n")
        .write("plans/big.md", "x".repeat(2000));
    let run = repo.run(&["lint"]);
    run.code(1).line(
        "plans/big.md:1:1: F8: is 2000 bytes, over max_file_size (1024 bytes): split it, or raise max_file_size in specproof.yml",
    );
}

#[test]
fn a_system_criterion_in_a_task_is_an_orphan() {
    let repo = Repo::new();
    let plan = AUTH_PLAN.replace("scope: cross-cutting", "scope: system");
    let copy = "- id: AUTH-10\n  description: All endpoints return the same error body shape\n  proof: test_passes\n  args: { command: \"cargo test error_shape\" }\n  scope: system\n";
    repo.write("plans/auth.md", plan)
        .write(".specproof/tasks/T-001.md", auth_task("T-001", copy));
    let run = repo.run(&["lint"]);
    run.code(1).line_with(
        ".specproof/tasks/T-001.md:16:3: F16: criterion AUTH-10: is a system criterion",
        &[],
    );
}

#[test]
fn tasks_dir_that_is_a_file_is_reported() {
    let repo = Repo::new();
    repo.write("specproof.yml", "tasks_dir: work\n")
        .write("work", "not a folder\n");
    let run = repo.run(&["lint"]);
    run.code(1).line("work:1:1: F8: tasks_dir \"work\" is a file, not a folder: fix `tasks_dir` in specproof.yml");
}

#[cfg(unix)]
#[test]
fn symlinked_plans_and_tasks_inside_the_repository_are_linted() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    repo.write("docs/auth.md", AUTH_PLAN)
        .write(
            "work/T-001.md",
            auth_task(
                "T-001",
                &AUTH_1.replace("pub fn (validate_jwt|verify_token)", "fn"),
            ),
        )
        .write(
            "docs/more/bad.md",
            criteria_block(
                "- id: B-1\n  description: d\n  proof: file_exist\n  args: { path: a }\n",
            ),
        );
    std::fs::create_dir_all(repo.path().join("plans")).expect("mkdir");
    std::fs::create_dir_all(repo.path().join(".specproof/tasks")).expect("mkdir");
    symlink("../docs/auth.md", repo.path().join("plans/auth.md")).expect("symlink");
    symlink("../docs/more", repo.path().join("plans/more")).expect("symlink");
    symlink(
        "../../work/T-001.md",
        repo.path().join(".specproof/tasks/T-001.md"),
    )
    .expect("symlink");
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with(
            "plans/more/bad.md:4:3: F1: criterion B-1: unknown proof \"file_exist\"",
            &[],
        )
        .line_with(
            ".specproof/tasks/T-001.md:16:3: F14: criterion AUTH-1: drift",
            &[],
        )
        .line_with(
            "failed: 2 problems in 2 files (2 plans with 4 criteria, 1 task)",
            &[],
        );
    // Named directly, the linked task is still a task.
    repo.run(&["lint", ".specproof/tasks/T-001.md"])
        .code(1)
        .line_with(".specproof/tasks/T-001.md:16:3: F14:", &[]);
}

#[cfg(unix)]
#[test]
fn a_plan_or_task_linked_from_outside_the_repository_is_reported_not_read() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("T-001.md"), auth_task("T-001", AUTH_1)).expect("write");
    std::fs::write(outside.path().join("p.md"), AUTH_PLAN).expect("write");
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("plans")).expect("mkdir");
    std::fs::create_dir_all(repo.path().join(".specproof/tasks")).expect("mkdir");
    symlink(outside.path().join("p.md"), repo.path().join("plans/p.md")).expect("symlink");
    symlink(
        outside.path().join("T-001.md"),
        repo.path().join(".specproof/tasks/T-001.md"),
    )
    .expect("symlink");
    let run = repo.run(&["lint"]);
    run.code(1)
        .line_with("plans/p.md:1:1: F8: path goes through the symlink plans/p.md to ", &["outside the repository: not read"])
        .line_with(".specproof/tasks/T-001.md:1:1: F8: path goes through the symlink .specproof/tasks/T-001.md", &[]);
}

#[test]
fn a_criteria_fence_is_recognised_whatever_its_case() {
    let repo = plan_repo(
        "```Criteria\n- id: A-1\n  description: d\n  proof: file_exist\n  args: { path: a }\n```\n",
    );
    repo.run(&["lint"])
        .code(1)
        .line_with("plans/p.md:4:3: F1: criterion A-1: unknown proof", &[]);
}

#[cfg(unix)]
#[test]
fn a_config_that_is_not_a_regular_file_is_reported_not_read() {
    let repo = Repo::new();
    let made = std::process::Command::new("mkfifo")
        .arg(repo.path().join("specproof.yml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    repo.run(&["lint"])
        .code(1)
        .line("specproof.yml:1:1: F8: specproof.yml is not a regular file: replace it with one");
}

/// Task `id` of the Auth middleware section holding AUTH-1, depending on `deps` (line 8).
fn dependent_task(id: &str, deps: &str) -> String {
    auth_task(id, AUTH_1).replace("tier: 1\n", &format!("tier: 1\ndepends_on: {deps}\n"))
}

#[test]
fn a_dependency_on_a_missing_task_is_an_error_at_depends_on() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write(".specproof/tasks/T-001.md", auth_task("T-001", AUTH_1))
        .write(
            ".specproof/tasks/T-002.md",
            dependent_task("T-002", "[T-001, T-009]"),
        );
    lint_fails_with(
        &repo,
        ".specproof/tasks/T-002.md:8:1: F7: task T-002: depends on T-009, which is no task in .specproof/tasks: it can never be done, so neither can this task; fix the ID or remove it from depends_on (did you mean \"T-001\"?)",
    );
    let (_, doc) = repo.lint_json(&[]);
    let problem = &doc["problems"][0];
    assert_eq!(problem["rule"], "missing-dependency");
    assert_eq!(problem["code"], "F7");
    assert_eq!(problem["field"], "depends_on");
}

#[test]
fn a_dependency_cycle_is_named_in_each_task_of_it() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write(
            ".specproof/tasks/T-001.md",
            dependent_task("T-001", "[T-002]"),
        )
        .write(
            ".specproof/tasks/T-002.md",
            dependent_task("T-002", "[T-003]"),
        )
        .write(
            ".specproof/tasks/T-003.md",
            dependent_task("T-003", "[T-001]"),
        )
        .write(
            ".specproof/tasks/T-004.md",
            dependent_task("T-004", "T-004"),
        )
        .write(
            ".specproof/tasks/T-005.md",
            dependent_task("T-005", "[T-001]"),
        );
    let run = repo.run(&["lint"]);
    run.code(1);
    assert_eq!(
        run.problems(),
        [
            ".specproof/tasks/T-001.md:8:1: F7: task T-001: depends_on forms a cycle: T-001 → T-002 → T-003 → T-001: no task of it can be done before the others; remove one of these dependencies",
            ".specproof/tasks/T-002.md:8:1: F7: task T-002: depends_on forms a cycle: T-002 → T-003 → T-001 → T-002: no task of it can be done before the others; remove one of these dependencies",
            ".specproof/tasks/T-003.md:8:1: F7: task T-003: depends_on forms a cycle: T-003 → T-001 → T-002 → T-003: no task of it can be done before the others; remove one of these dependencies",
            ".specproof/tasks/T-004.md:8:1: F7: task T-004: depends_on forms a cycle: T-004 → T-004: no task of it can be done before the others; remove one of these dependencies",
        ],
        "T-005 depends on the cycle without being in it"
    );
    let (_, doc) = repo.lint_json(&[]);
    assert_eq!(doc["problems"][0]["rule"], "dependency-cycle");
}

/// A plan with one cross-cutting criterion `id`: no secrets anywhere.
fn plan_level_plan(id: &str) -> String {
    format!(
        "# P\n\n## Work\n\n{}",
        criteria_block(&format!(
            "- id: {id}\n  description: no secrets anywhere\n  proof: no_pattern_exists\n  args: {{ pattern: \"SECRET\" }}\n  scope: cross-cutting\n"
        ))
    )
}

#[test]
fn two_plans_of_one_file_name_in_different_folders_are_an_error_naming_both() {
    let repo = Repo::new();
    repo.write("plans/a/auth.md", plan_level_plan("A-1"))
        .write("plans/b/auth.md", plan_level_plan("B-1"))
        .write("plans/c/billing.md", plan_level_plan("C-1"));
    let run = repo.run(&["lint"]);
    run.code(1);
    let message = |me: &str, other: &str| {
        format!(
            "{me}:1:1: F8: {me} and {other} have the same file name \"auth\", and plan-level evidence (_plan/auth/ in the evidence folder) and convergence records (.specproof/convergence/auth/) are kept by it: rename one of the plans"
        )
    };
    assert_eq!(
        run.problems(),
        [
            message("plans/a/auth.md", "plans/b/auth.md"),
            message("plans/b/auth.md", "plans/a/auth.md"),
        ],
        "plans/c/billing.md has a name of its own"
    );
    let (_, doc) = repo.lint_json(&["plans/b/auth.md"]);
    assert_eq!(doc["problems"].as_array().map(Vec::len), Some(1), "{doc:#}");
    assert_eq!(doc["problems"][0]["rule"], "duplicate-plan-stem");
    assert_eq!(doc["problems"][0]["code"], "F8");
    assert_eq!(doc["problems"][0]["file"], "plans/b/auth.md");

    // Renaming one of them is the fix.
    std::fs::rename(
        repo.path().join("plans/b/auth.md"),
        repo.path().join("plans/b/auth-admin.md"),
    )
    .expect("rename");
    repo.run(&["lint"]).code(0);
}
