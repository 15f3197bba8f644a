//! The test harness: a temporary git repository with a pinned identity and its own HOME, and
//! a runner for the built `specproof` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: &Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stdout holds a line equal to `line`.
    #[track_caller]
    pub fn line(&self, line: &str) -> &Self {
        assert!(
            self.stdout.lines().any(|l| l == line),
            "no line {line:?} in stdout:\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that stdout has a line starting with `prefix` and containing each of `parts`.
    #[track_caller]
    pub fn line_with(&self, prefix: &str, parts: &[&str]) -> &Self {
        assert!(
            self.stdout
                .lines()
                .any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p))),
            "no line starting {prefix:?} containing {parts:?} in stdout:\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The problem lines of `lint` (everything but the summary).
    pub fn problems(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.starts_with("ok:") && !l.starts_with("failed:"))
            .collect()
    }
}

/// A temporary git repository.
pub struct Repo {
    dir: TempDir,
    home: TempDir,
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_specproof"))
}

impl Repo {
    /// `git init` in a new temporary folder.
    pub fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            home: tempfile::tempdir().expect("home"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A temporary folder that is not a git repository.
    pub fn bare_folder() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            home: tempfile::tempdir().expect("home"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to the repository path `rel`, creating folders.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read")
    }

    /// The repository's own `HOME` (also `XDG_CONFIG_HOME`): its `.gitconfig` is the global config.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `program` in `cwd` with the repository's pinned environment (HOME, identity, no git
    /// variables from outside).
    pub fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_CEILING_DIRECTORIES",
            // What the pre-commit framework and prek set for their hooks, which would leak in
            // when the suite itself runs from such a hook (a pre-push that runs the tests).
            "PRE_COMMIT",
            "PRE_COMMIT_FROM_REF",
            "PRE_COMMIT_TO_REF",
            "PRE_COMMIT_ORIGIN",
            "PRE_COMMIT_SOURCE",
            "PRE_COMMIT_LOCAL_BRANCH",
            "PRE_COMMIT_REMOTE_BRANCH",
            "PRE_COMMIT_REMOTE_NAME",
            "PRE_COMMIT_REMOTE_URL",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs git in the repository; panics when it fails.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = self
            .command(Path::new("git"), self.path())
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs git in folder `sub` of the repository with extra variables, without asserting
    /// success (hooks may reject).
    pub fn git_in(&self, sub: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(Path::new("git"), &self.path().join(sub));
        cmd.args(["-c", "commit.gpgsign=false"]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(&cmd.output().expect("run git"))
    }

    /// Runs git at the root with extra variables, without asserting success.
    pub fn git_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.git_in(".", args, env)
    }

    /// The commit id HEAD names.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Runs `specproof args…` at the repository root.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(".", args, &[])
    }

    /// Runs `specproof args…` in the subfolder `sub`, with extra environment variables.
    pub fn run_in(&self, sub: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let cwd = self.path().join(sub);
        let mut cmd = self.command(&bin(), &cwd);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(&cmd.output().expect("run specproof"))
    }

    /// `specproof lint --format json`, parsed.
    pub fn lint_json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["lint", "--format", "json"];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        let doc = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "lint json does not parse: {e}\n{}\n{}",
                run.stdout, run.stderr
            )
        });
        (run.code, doc)
    }
}

/// A plan section with one criteria block.
pub fn criteria_block(body: &str) -> String {
    format!("```criteria\n{body}```\n")
}

/// A good plan with two task-scope criteria and one cross-cutting one.
pub const AUTH_PLAN: &str = r#"# Auth plan

## Auth middleware

Requests carry a JWT in the Authorization header.

```criteria
- id: AUTH-1
  description: JWT validation function exported from src/auth.rs
  proof: pattern_matches
  args: { path: src/auth.rs, pattern: "pub fn (validate_jwt|verify_token)" }
- id: AUTH-3
  description: Expired token returns 401 with code token_expired
  proof: test_passes
  args: { command: "cargo test expired_token" }
  severity: critical
- id: AUTH-10
  description: All endpoints return the same error body shape
  proof: test_passes
  args: { command: "cargo test error_shape" }
  scope: cross-cutting
```

- [x] AUTH-1: the validation function
"#;

/// A good task for the Auth middleware section.
pub fn auth_task(task_id: &str, criteria: &str) -> String {
    format!(
        "---\ntask_id: {task_id}\nplan_file: plans/auth.md\nplan_section: Auth middleware\nstatus: in_progress\nassigned_to: worker-1\ntier: 1\n---\n## Source\n\nRequests carry a JWT.\n\n## Acceptance Criteria\n\n```criteria\n{criteria}```\n\n## Worker Report\n### Echo-Back\n- AUTH-1: add a checker for tokens in the auth module\nAssumptions:\n- tokens are HS256\n"
    )
}

/// The AUTH-1 definition exactly as the plan has it.
pub const AUTH_1: &str = "- id: AUTH-1\n  description: JWT validation function exported from src/auth.rs\n  proof: pattern_matches\n  args: { path: src/auth.rs, pattern: \"pub fn (validate_jwt|verify_token)\" }\n";

impl Repo {
    /// `specproof verify --format json ARGS…`, parsed.
    pub fn verify_json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["verify", "--format", "json"];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        let doc = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "verify json does not parse: {e}\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout, run.stderr
            )
        });
        (run.code, doc)
    }

    /// The evidence file at repository path `rel`, parsed.
    pub fn evidence(&self, rel: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    /// A repository with `plans/p.md` holding one section "Work" with `criteria` (YAML list
    /// items), and task T-1 holding all of them, everything committed.
    pub fn with_plan(criteria: &str) -> Self {
        let repo = Self::new();
        repo.write("plans/p.md", plan_with(criteria));
        repo.write(".specproof/tasks/T-1.md", task_with("T-1", criteria));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "plan"]);
        repo
    }
}

/// A plan `plans/p.md` with one section "Work" holding `criteria`.
pub fn plan_with(criteria: &str) -> String {
    format!("# Plan\n\n## Work\n\nThe work.\n\n```criteria\n{criteria}```\n")
}

/// Task `id` of plans/p.md section "Work", in progress, holding `criteria`.
pub fn task_with(id: &str, criteria: &str) -> String {
    format!(
        "---\ntask_id: {id}\nplan_file: plans/p.md\nplan_section: Work\nstatus: in_progress\nassigned_to: worker-1\ntier: 1\niteration: 1\nattempts: 0\nescalation: null\n---\n## Source\n\nThe work.\n\n## Acceptance Criteria\n\n```criteria\n{criteria}```\n\n## Worker Report\n### Echo-Back\n"
    )
}

/// The result object of criterion `id` in a verify JSON document.
pub fn result_of<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["results"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["criterion"] == id))
        .unwrap_or_else(|| panic!("no result for {id} in {doc:#}"))
}

/// Writes an executable file through a child process: a file this (multi-threaded) process
/// held open for writing could be inherited by a child another test forks at that moment, and
/// running it would then fail with "Text file busy".
pub fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run sh");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes())
        .expect("write hook");
    assert!(
        child.wait().expect("wait").success(),
        "cannot write {}",
        path.display()
    );
}

/// Writes, in specproof's folder `state` (`.git/specproof`, or `specproof` in a bare
/// repository), an input cache file for the plan blob `plan_oid` that says its criteria reach
/// no path and there are none; returns its path.
pub fn tamper_input_cache(state: &Path, plan_oid: &str) -> PathBuf {
    let file = state.join(format!("cache/inputs/{plan_oid}.json"));
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let nowhere = r#"{"paths":[],"under":[],"anywhere":false}"#;
    std::fs::write(
        &file,
        format!(
            r#"{{"version":2,"reach":{{"local":{nowhere},"command":{nowhere}}},"criteria":[]}}"#
        ),
    )
    .expect("write the cache");
    file
}
