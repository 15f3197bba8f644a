//! The CI templates in templates/ci: they parse, have their jobs, their `specproof verify` lines
//! run with the real binary (shard by shard, together covering every criterion once), and the
//! audit steps pass the range of the push or the pull/merge request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use tempfile::TempDir;

use crate::common::{Repo, Run, bin};

const ZERO: &str = "0000000000000000000000000000000000000000";

fn template(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/ci")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

fn github() -> Value {
    template("github-actions.yml")
}

fn gitlab() -> Value {
    template("gitlab-ci.yml")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The steps of GitHub job `job`.
fn steps<'a>(workflow: &'a Value, job: &str) -> &'a [Value] {
    workflow["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no steps in job {job}"))
}

/// The one step of GitHub job `job` whose `run` holds `needle`.
fn step_running<'a>(workflow: &'a Value, job: &str, needle: &str) -> &'a Value {
    let found: Vec<&Value> = steps(workflow, job)
        .iter()
        .filter(|s| s["run"].as_str().is_some_and(|r| r.contains(needle)))
        .collect();
    assert_eq!(found.len(), 1, "job {job}: steps running {needle:?}");
    found[0]
}

/// `text` with every `${{ expr }}` replaced from `context`, as GitHub does before a step runs;
/// an expression the test does not know fails it.
fn expand(text: &str, context: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed expression in {text:?}"));
        let expr = rest[start + 3..start + end].trim();
        let value = context
            .get(expr)
            .unwrap_or_else(|| panic!("the test does not know the expression {expr:?}"));
        out.push_str(value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The GitLab job `job`'s `script`, one shell text.
fn gitlab_script(ci: &Value, job: &str) -> String {
    ci[job]["script"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no script in GitLab job {job}"))
        .iter()
        .map(|line| text(line).to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `script` with `shell` (its argv before the script) in `cwd`, with `bin_dir` first on
/// PATH and `env` set.
fn run_script(
    repo: &Repo,
    cwd: &Path,
    shell: &[&str],
    script: &str,
    bin_dir: &Path,
    env: &[(String, String)],
) -> Run {
    let mut cmd = repo.command(Path::new(shell[0]), cwd);
    cmd.args(&shell[1..]).arg(script);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin_dir.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(paths).expect("a PATH"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(&cmd.output().expect("run the shell"))
}

/// GitHub's `shell: bash`.
const GITHUB_BASH: &[&str] = &["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"];
/// GitLab's shells: bash where the image has it, else sh.
const GITLAB_SHELLS: [&[&str]; 2] = [&["bash", "-eo", "pipefail", "-c"], &["sh", "-e", "-c"]];

#[test]
fn both_templates_have_an_audit_job_with_full_history_and_junit_and_a_sharded_verify_job() {
    let gh = github();
    assert!(
        gh["on"]["push"].is_mapping() && gh["on"].get("pull_request").is_some(),
        "runs on pushes and pull requests: {:?}",
        gh["on"]
    );
    assert_eq!(gh["defaults"]["run"]["shell"], "bash");
    for job in ["audit", "verify"] {
        let checkout = steps(&gh, job)
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            })
            .unwrap_or_else(|| panic!("job {job} checks out the repository"));
        assert_eq!(
            checkout["with"]["fetch-depth"], 0,
            "job {job}: full history"
        );
        let install = text(&step_running(&gh, job, "cargo install")["run"]);
        assert!(
            install.contains("specproof") && install.contains("--locked"),
            "{install}"
        );
    }
    let audit = text(&step_running(&gh, "audit", "specproof audit")["run"]);
    assert!(
        audit.contains("--format junit > specproof-audit.xml"),
        "{audit}"
    );
    let upload = steps(&gh, "audit")
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("the audit report is uploaded");
    assert_eq!(upload["with"]["path"], "specproof-audit.xml");
    assert!(
        text(&upload["if"]).contains("!cancelled()"),
        "uploaded when the audit fails too: {:?}",
        upload["if"]
    );
    let matrix = &gh["jobs"]["verify"]["strategy"];
    assert_eq!(matrix["fail-fast"], false);
    let shards: Vec<u64> = matrix["matrix"]["shard"]
        .as_sequence()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_u64().expect("a shard number"))
        .collect();
    assert_eq!(shards, (1..=shards.len() as u64).collect::<Vec<_>>());
    assert!(shards.len() > 1, "{shards:?}");

    let gl = gitlab();
    assert_eq!(gl["variables"]["GIT_DEPTH"], "0", "full history");
    for job in ["audit", "verify"] {
        assert_eq!(gl[job]["extends"], ".specproof", "job {job}");
    }
    let install = gl[".specproof"]["before_script"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        install.starts_with("cargo install") && install.contains("--locked"),
        "{install}"
    );
    let rules = serde_yaml::to_string(&gl[".specproof"]["rules"]).expect("rules");
    assert!(
        rules.contains("merge_request_event") && rules.contains("$CI_DEFAULT_BRANCH"),
        "{rules}"
    );
    assert!(
        gitlab_script(&gl, "audit").contains("--format junit > specproof-audit.xml"),
        "{}",
        gitlab_script(&gl, "audit")
    );
    let artifacts = &gl["audit"]["artifacts"];
    assert_eq!(artifacts["reports"]["junit"], "specproof-audit.xml");
    assert_eq!(artifacts["when"], "always");
    assert!(gl["verify"]["parallel"].as_u64().is_some_and(|n| n > 1));
}

/// Four criteria of task T-1, all passing, committed.
fn verified_repo() -> Repo {
    let criteria = ["C-1", "C-2", "C-3", "C-4"].map(|id| {
        format!(
            "- id: {id}\n  description: {id}\n  proof: pattern_matches\n  args: {{ path: src/a.rs, pattern: \"{id}\" }}\n"
        )
    });
    let repo = Repo::with_plan(&criteria.concat());
    repo.write("src/a.rs", "// C-1 C-2 C-3 C-4\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "work"]);
    repo
}

/// A folder holding `specproof`: the binary under test.
fn real_specproof() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(bin(), dir.path().join("specproof")).expect("symlink");
    dir
}

/// The criteria of a verify table's rows.
fn table_criteria(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("T-1 "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_owned)
        .collect()
}

/// Runs a template's verify script for shard `k` of `n` twice through `shell`: each run must
/// parse, pass, say which shard ran, and run every proof (`--force`: the second run is not
/// cached); returns the shard's criteria.
fn run_verify_shard(
    repo: &Repo,
    shell: &[&str],
    script: &str,
    env: &[(String, String)],
    k: usize,
    n: usize,
) -> Vec<String> {
    let bin_dir = real_specproof();
    let mut first = Vec::new();
    for attempt in 0..2 {
        let run = run_script(repo, repo.path(), shell, script, bin_dir.path(), env);
        run.code(0);
        assert!(
            run.stdout.lines().any(
                |l| l.starts_with(&format!("shard {k}/{n}: ")) && l.ends_with(" of 4 criteria")
            ),
            "{script}\n{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("cached"),
            "attempt {attempt}: --force runs every proof\n{}",
            run.stdout
        );
        let mine = table_criteria(&run.stdout);
        if attempt == 0 {
            first = mine;
        } else {
            assert_eq!(mine, first, "the same shard twice");
        }
    }
    first
}

#[test]
fn every_specproof_verify_line_of_the_templates_runs_with_the_real_binary_and_the_shards_cover_each_criterion_once()
 {
    let repo = verified_repo();

    let gh = github();
    let step = step_running(&gh, "verify", "specproof verify");
    let shards = gh["jobs"]["verify"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("a shard matrix")
        .len();
    let mut all = Vec::new();
    for k in 1..=shards {
        let context = BTreeMap::from([("matrix.shard", k.to_string())]);
        let script = expand(text(&step["run"]), &context);
        all.extend(run_verify_shard(
            &repo,
            GITHUB_BASH,
            &script,
            &[],
            k,
            shards,
        ));
    }
    all.sort();
    assert_eq!(
        all,
        ["C-1", "C-2", "C-3", "C-4"],
        "GitHub: every criterion once"
    );

    let gl = gitlab();
    let shards = usize::try_from(gl["verify"]["parallel"].as_u64().expect("parallel: N"))
        .expect("a small N");
    let script = gitlab_script(&gl, "verify");
    assert!(script.contains("specproof verify"), "{script}");
    for shell in GITLAB_SHELLS {
        let mut all = Vec::new();
        for k in 1..=shards {
            let env = [
                ("CI_NODE_INDEX".to_owned(), k.to_string()),
                ("CI_NODE_TOTAL".to_owned(), shards.to_string()),
            ];
            all.extend(run_verify_shard(&repo, shell, &script, &env, k, shards));
        }
        all.sort();
        assert_eq!(
            all,
            ["C-1", "C-2", "C-3", "C-4"],
            "GitLab with {shell:?}: every criterion once"
        );
    }
}

/// Checks `args` against the interface of `specproof audit`:
/// `audit [--range A..B|REV] [--format table|json|junit] [--rerun none|file-proofs|all] [--allow-overrides]`.
#[track_caller]
fn assert_audit_interface(args: &[String]) {
    assert_eq!(args.first().map(String::as_str), Some("audit"), "{args:?}");
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let mut value = || {
            rest.next()
                .unwrap_or_else(|| panic!("{arg} needs a value: {args:?}"))
                .as_str()
        };
        match arg.as_str() {
            "--range" => {
                let range = value();
                // `A..B`, or one revision (its whole history).
                assert!(
                    range
                        .split_once("..")
                        .map_or(!range.is_empty(), |(a, b)| !a.is_empty()
                            && !b.is_empty()
                            && !b.starts_with('.')),
                    "--range A..B or REV: {args:?}"
                );
            }
            "--format" => assert!(["table", "json", "junit"].contains(&value()), "{args:?}"),
            "--rerun" => assert!(
                ["none", "file-proofs", "all"].contains(&value()),
                "{args:?}"
            ),
            "--allow-overrides" => {}
            other => panic!("specproof audit has no argument {other:?}: {args:?}"),
        }
    }
}

/// A clone of a bare `origin` whose main holds c1; the clone's main then has c2 and c3, as
/// pushed. Returns (origin, clone, c1, c3).
fn pushed_repo() -> (Repo, Repo, String, String) {
    let origin = Repo::bare_folder();
    let work = Repo::new();
    origin.git(&["init", "-q", "--bare", "-b", "main", "origin.git"]);
    let url = origin
        .path()
        .join("origin.git")
        .to_string_lossy()
        .into_owned();
    work.write("a.txt", "1\n");
    work.git(&["add", "-A"]);
    work.git(&["commit", "-qm", "c1"]);
    let c1 = work.head();
    work.git(&["remote", "add", "origin", &url]);
    work.git(&["push", "-q", "origin", "main"]);
    work.git(&["fetch", "-q", "origin"]);
    for n in 2..=3 {
        work.write("a.txt", format!("{n}\n"));
        work.git(&["commit", "-qam", &format!("c{n}")]);
    }
    let c3 = work.head();
    (origin, work, c1, c3)
}

/// A folder holding a `specproof` that records its arguments in `$FAKE_ARGS`, prints a report
/// and exits with `$FAKE_STATUS`: how the script passes audit's exit status on is tested with
/// every status, and the arguments are then given to the real binary.
fn fake_specproof() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::write_executable(
        &dir.path().join("specproof"),
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_ARGS\"\necho '<testsuites name=\"fake\"/>'\nexit \"${FAKE_STATUS:-0}\"\n",
    );
    dir
}

/// Runs an audit script and returns the arguments specproof got; checks that the report went
/// to specproof-audit.xml and that the script exits with specproof's status.
fn audit_args(
    work: &Repo,
    shell: &[&str],
    script: &str,
    env: Vec<(String, String)>,
    status: i32,
) -> Vec<String> {
    let fake = fake_specproof();
    let args_file: PathBuf = fake.path().join("args");
    let mut env = env;
    env.push(("FAKE_ARGS".into(), args_file.to_string_lossy().into_owned()));
    env.push(("FAKE_STATUS".into(), status.to_string()));
    let _ = std::fs::remove_file(work.path().join("specproof-audit.xml"));
    let run = run_script(work, work.path(), shell, script, fake.path(), &env);
    run.code(status);
    assert_eq!(
        work.read("specproof-audit.xml"),
        "<testsuites name=\"fake\"/>\n",
        "the report goes to specproof-audit.xml"
    );
    let args: Vec<String> = std::fs::read_to_string(&args_file)
        .expect("specproof ran")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_audit_interface(&args);
    // The real audit takes the same arguments: this history has no task, so it passes.
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let real = work.run(&words);
    assert_eq!(
        real.code, 0,
        "specproof {args:?}:\n{}{}",
        real.stdout, real.stderr
    );
    args
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_github_audit_step_passes_the_pushed_range_or_the_base_branch_and_keeps_the_exit_status() {
    let (_origin, work, c1, c3) = pushed_repo();
    let gh = github();
    let step = step_running(&gh, "audit", "specproof audit");
    let run_on = |branch: &str, event: &str, base_ref: &str, before: &str, status: i32| {
        let context = BTreeMap::from([
            ("github.event_name", event.to_owned()),
            ("github.base_ref", base_ref.to_owned()),
            ("github.event.before", before.to_owned()),
            ("github.sha", c3.clone()),
            ("github.ref", format!("refs/heads/{branch}")),
            ("github.event.repository.default_branch", "main".to_owned()),
        ]);
        let env: Vec<(String, String)> = step["env"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k).to_owned(), expand(text(v), &context)))
                    .collect()
            })
            .unwrap_or_default();
        let script = expand(text(&step["run"]), &context);
        audit_args(&work, GITHUB_BASH, &script, env, status)
    };
    let run_with = |event: &str, base_ref: &str, before: &str, status: i32| {
        run_on("feature", event, base_ref, before, status)
    };
    assert_eq!(
        run_with("pull_request", "main", "", 0),
        strings(&["audit", "--range", "origin/main..HEAD", "--format", "junit"])
    );
    assert_eq!(
        run_with("push", "", &c1, 0),
        strings(&[
            "audit",
            "--range",
            &format!("{c1}..{c3}"),
            "--format",
            "junit"
        ])
    );
    // A new branch, and a force push whose old tip this clone does not have: the default range;
    // on the default branch itself that range is empty, so its whole history.
    for before in [ZERO, "1234567890123456789012345678901234567890"] {
        assert_eq!(
            run_with("push", "", before, 0),
            strings(&["audit", "--format", "junit"]),
            "before {before}"
        );
        assert_eq!(
            run_on("main", "push", "", before, 0),
            strings(&["audit", "--range", "HEAD", "--format", "junit"]),
            "before {before}"
        );
    }
    // A failed audit fails the step, and the report is still written.
    run_with("push", "", &c1, 1);
}

#[test]
fn the_gitlab_audit_job_passes_the_pushed_range_or_the_fetched_target_branch_and_keeps_the_exit_status()
 {
    let (origin, work, c1, c3) = pushed_repo();
    let script = gitlab_script(&gitlab(), "audit");
    let origin_main = origin
        .git(&["--git-dir", "origin.git", "rev-parse", "main"])
        .trim()
        .to_owned();
    for shell in GITLAB_SHELLS {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        // A merge request: the runner has not fetched the target branch; the job fetches it.
        work.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
        assert_eq!(
            audit_args(
                &work,
                shell,
                &script,
                env(&[
                    ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
                    ("CI_COMMIT_BEFORE_SHA", ZERO),
                    ("CI_COMMIT_SHA", &c3)
                ]),
                0
            ),
            strings(&["audit", "--range", "origin/main..HEAD", "--format", "junit"]),
            "{shell:?}"
        );
        assert_eq!(
            work.git(&["rev-parse", "refs/remotes/origin/main"]).trim(),
            origin_main,
            "the target branch was fetched"
        );
        assert_eq!(
            audit_args(
                &work,
                shell,
                &script,
                env(&[("CI_COMMIT_BEFORE_SHA", &c1), ("CI_COMMIT_SHA", &c3)]),
                0
            ),
            strings(&[
                "audit",
                "--range",
                &format!("{c1}..{c3}"),
                "--format",
                "junit"
            ]),
            "{shell:?}"
        );
        for before in [ZERO, "1234567890123456789012345678901234567890"] {
            assert_eq!(
                audit_args(
                    &work,
                    shell,
                    &script,
                    env(&[
                        ("CI_COMMIT_BEFORE_SHA", before),
                        ("CI_COMMIT_SHA", &c3),
                        ("CI_COMMIT_BRANCH", "feature"),
                        ("CI_DEFAULT_BRANCH", "main")
                    ]),
                    0
                ),
                strings(&["audit", "--format", "junit"]),
                "{shell:?}: before {before}"
            );
            // The default branch (force-pushed, or a pipeline started by hand): all of it.
            assert_eq!(
                audit_args(
                    &work,
                    shell,
                    &script,
                    env(&[
                        ("CI_COMMIT_BEFORE_SHA", before),
                        ("CI_COMMIT_SHA", &c3),
                        ("CI_COMMIT_BRANCH", "main"),
                        ("CI_DEFAULT_BRANCH", "main")
                    ]),
                    0
                ),
                strings(&["audit", "--range", "HEAD", "--format", "junit"]),
                "{shell:?}: before {before}"
            );
        }
        audit_args(
            &work,
            shell,
            &script,
            env(&[("CI_COMMIT_BEFORE_SHA", &c1), ("CI_COMMIT_SHA", &c3)]),
            1,
        );
    }
}
