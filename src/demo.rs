//! `specproof demo` (SPEC §9): a task's whole story in a temporary git repository, told by running
//! the real commands (this binary for specproof's steps, `git` for the commits, through the hooks
//! `specproof install` writes) and showing their output as they print it. Each expectation (this
//! commit is rejected, that one accepted) is checked, so the demo doubles as a smoke test: it
//! stops with exit 1 at the first step that behaves differently.
//!
//! The repository lives in a temporary folder next to an empty HOME, and the commands run without
//! the variables that point git at another repository (`GIT_DIR`, `GIT_INDEX_FILE`…), without the
//! caller's git config (global and system: a shared core.hooksPath must not catch the demo's
//! hooks), and without the variables that change specproof's verdicts (`SPECPROOF_OVERRIDE`,
//! `SPECPROOF_FAIL_OPEN`). Run from inside a hook or another repository, it touches nothing but its
//! own folder.

use std::cell::Cell;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::exit::ExitStatus;
use crate::printer::{Printer, styles};
use crate::proof::command::is_git_local;

/// The starter plan and task `specproof init` writes: the demo tells T-001's story.
const PLAN: &str = "plans/example.md";
const SECTION: &str = "## Greeting";
const TASK: &str = ".specproof/tasks/T-001.md";

/// T-001's Echo-Back as templates/task.md leaves it, and as the demo's worker fills it in: each
/// criterion in its own words, and the assumptions (gate 2).
const ECHO_BLANK: &str = "- EX-1:\n- EX-2:\n- EX-3:\n\nAssumptions:\n";
const ECHO: &str = "\
- EX-1: I add a script named hello.sh at the top of the repository; a file check finds it
- EX-2: the script's one job is an echo of Hello, world, and a regex reads it in the file
- EX-3: I write tests/hello_test.sh, which runs the script and prints a pass/fail count; specproof runs it and wants one test at least

Assumptions:
- a POSIX sh is there to run both scripts
";

/// The work T-001 asks for.
const HELLO: &str = "#!/bin/sh\necho \"Hello, world\"\n";
const HELLO_TEST: &str = "#!/bin/sh\nif [ \"$(sh hello.sh)\" = \"Hello, world\" ]; then\n    echo \"1 passed, 0 failed\"\nelse\n    echo \"0 passed, 1 failed\"\n    exit 1\nfi\n";

/// Runs the demo with `binary` (this specproof) in a new temporary folder, removed at the end
/// unless `keep`.
///
/// # Errors
/// When the demo cannot run at all (no temporary folder, git missing): exit 2. A step that
/// behaves differently from the story is `Ok(ExitStatus::Failure)`.
pub fn run(binary: &Path, keep: bool, printer: &Printer) -> anyhow::Result<ExitStatus> {
    // Ctrl-C reaches the command running too (it is in our process group); the demo then stops
    // after it and removes its folder.
    crate::interrupt::install();
    let dir = tempfile::Builder::new()
        .prefix("specproof-demo.")
        .tempdir()
        .context("cannot create a temporary folder for the demo repository")?;
    let stage = Stage {
        repo: dir.path().join("repo"),
        home: dir.path().join("home"),
        binary,
        printer,
        step: Cell::new(0),
    };
    let result = story(&stage);
    let folder = dir.path().to_path_buf();
    let removal = if keep {
        let _ = dir.keep();
        None
    } else {
        Some(dir.close())
    };
    let whereabouts = match removal {
        None => format!("The demo repository is kept at {}", stage.repo.display()),
        Some(Ok(())) => {
            "The demo repository was removed (`specproof demo --keep` keeps it for a look around)."
                .to_owned()
        }
        Some(Err(e)) => format!(
            "{}: cannot remove the demo folder {}: {e}",
            printer.paint_err(&styles::warning(), "warning"),
            folder.display()
        ),
    };
    match result {
        Ok(()) => {
            printer.out("")?;
            printer.out(whereabouts)?;
            Ok(ExitStatus::Success)
        }
        Err(Stop::Unexpected(what)) => {
            printer.err("")?;
            printer.err(format!(
                "{} {what}",
                printer.paint_err(&styles::error(), "specproof demo: FAILED:")
            ))?;
            printer.err(whereabouts)?;
            Ok(ExitStatus::Failure)
        }
        Err(Stop::Interrupted) => {
            printer.err("")?;
            printer.err("specproof demo: interrupted")?;
            printer.err(whereabouts)?;
            Ok(ExitStatus::Interrupted)
        }
        Err(Stop::Error(e)) => {
            // A reader that went away (`specproof demo | head`) needs no word on the folder.
            let closed = e
                .chain()
                .filter_map(|c| c.downcast_ref::<io::Error>())
                .any(|io| io.kind() == io::ErrorKind::BrokenPipe);
            if !closed {
                printer.err(whereabouts)?;
            }
            Err(e)
        }
    }
}

/// The story, step by step.
fn story(s: &Stage) -> Result<(), Stop> {
    let p = s.printer;
    std::fs::create_dir_all(&s.home)
        .with_context(|| format!("cannot create {}", s.home.display()))?;
    // The demo's own global config: only the branch name, so that `git init` needs no hint.
    let global = s.home.join(".gitconfig");
    std::fs::write(&global, "[init]\n\tdefaultBranch = main\n")
        .with_context(|| format!("cannot write {}", global.display()))?;
    std::fs::create_dir_all(&s.repo)
        .with_context(|| format!("cannot create {}", s.repo.display()))?;
    p.out(
        "specproof demo: a task's story in a new git repository; every command below is real, and",
    )?;
    p.out("its output is shown as it printed it. The repository is a temporary folder:")?;
    p.out(format!("  {}", s.repo.display()))?;

    s.heading(
        "A new git repository, and specproof's starter files: a plan whose criteria carry proofs, and a task",
    )?;
    succeeded(&s.git(&["init"])?, "git init")?;
    for (key, value) in [
        ("user.name", "specproof demo"),
        ("user.email", "demo@example.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        s.git_quiet(&["config", key, value])?;
    }
    s.say("# git config (this repository only): user.name, user.email, commit.gpgsign false")?;
    succeeded(&s.specproof(&["init"])?, "specproof init")?;

    s.heading("The work: task T-001 must make the criteria of the plan's section Greeting true")?;
    let plan = s.read(PLAN)?;
    let section = section(&plan, SECTION).ok_or_else(|| {
        Stop::Unexpected(format!(
            "{PLAN} has no section `{SECTION}` (did templates/plan.md change?)"
        ))
    })?;
    s.say(format!(
        "# {PLAN}, the section T-001 copies its criteria from:"
    ))?;
    s.output(&section)?;

    s.heading("Install the hooks, and commit the plan: a task that is only `created` has nothing to prove yet")?;
    succeeded(&s.specproof(&["install"])?, "specproof install")?;
    succeeded(&s.git(&["add", "-A"])?, "git add -A")?;
    s.commit(
        &["commit", "-m", "Plan the greeting, task T-001"],
        &Expect::Accepted,
    )?;

    s.heading("Start T-001: the worker says in its own words what each criterion asks (gate 2)")?;
    s.edit(
        TASK,
        &[("status: created\n", "status: ready\n"), (ECHO_BLANK, ECHO)],
    )?;
    s.say(format!(
        "# edit {TASK}: one Echo-Back line per criterion, an assumption, status: ready"
    ))?;
    succeeded(&s.git(&["diff"])?, "git diff")?;
    succeeded(&s.specproof(&["start", "T-001"])?, "specproof start T-001")?;
    succeeded(&s.git(&["add", "-A"])?, "git add -A")?;
    s.commit(&["commit", "-m", "Start T-001"], &Expect::Accepted)?;

    let claim = s.heading(
        "The claim without proof: T-001 says `status: done`, but no proof has run; the hook rejects it",
    )?;
    s.edit(TASK, &[("status: in_progress\n", "status: done\n")])?;
    s.say(format!("# edit {TASK}: status: done"))?;
    succeeded(&s.git(&["diff"])?, "git diff")?;
    succeeded(&s.git(&["add", "-A"])?, "git add -A")?;
    s.commit(
        &["commit", "-m", "T-001 done"],
        &Expect::Rejected(&["T-001", "G3", "F11"]),
    )?;

    s.heading("Do the work: hello.sh, and a test for it")?;
    for (rel, content) in [("hello.sh", HELLO), ("tests/hello_test.sh", HELLO_TEST)] {
        s.write(rel, content)?;
        s.say(format!("# write {rel}:"))?;
        s.output(content)?;
    }

    let verified = s.heading(
        "specproof verify runs every proof itself and writes signed evidence, bound to this content",
    )?;
    succeeded(
        &s.specproof(&["verify", "--task", "T-001"])?,
        "specproof verify --task T-001",
    )?;

    let accepted = s.heading(
        "The same claim, now with fresh evidence for every criterion: the hook accepts it",
    )?;
    succeeded(&s.git(&["add", "-A"])?, "git add -A")?;
    s.commit(
        &["commit", "-m", "T-001 done: hello.sh and its test"],
        &Expect::Accepted,
    )?;

    let regression = s.heading(
        "Later, a change breaks a criterion of the done task: the hook re-runs its proofs (F10)",
    )?;
    s.edit("hello.sh", &[("Hello, world", "Hi")])?;
    s.say("# edit hello.sh: a shorter greeting")?;
    succeeded(&s.git(&["diff"])?, "git diff")?;
    s.commit(
        &["commit", "-a", "-m", "Shorter greeting"],
        &Expect::Rejected(&["T-001", "EX-2", "F10"]),
    )?;

    s.heading("Undo the breaking change: the repository is as the last accepted commit left it")?;
    succeeded(
        &s.git(&["checkout", "HEAD", "--", "hello.sh"])?,
        "git checkout HEAD -- hello.sh",
    )?;
    let status = s.git(&["status", "--porcelain"])?;
    succeeded(&status, "git status --porcelain")?;
    if !status.output.trim().is_empty() {
        return Err(Stop::Unexpected(format!(
            "the working tree is not clean after the undo:\n{}",
            status.output
        )));
    }
    succeeded(&s.git(&["log", "--oneline"])?, "git log --oneline")?;
    s.passed(
        "the working tree is clean, and the history holds only the commits the hooks accepted",
    )?;

    let matrix = s.heading(
        "Where the plan stands: the compliance matrix judges every criterion of the plan (EX-4 is cross-cutting: it belongs to no task and is proven at plan level)",
    )?;
    let ran = s.specproof(&["matrix"])?;
    succeeded(&ran, "specproof matrix")?;
    for expected in ["EX-1", "EX-4", "75.0%"] {
        if !ran.output.contains(expected) {
            return Err(Stop::Unexpected(format!(
                "specproof matrix does not show {expected:?}:\n{}",
                ran.output
            )));
        }
    }

    let metrics = s.heading(
        "The metrics of the process: from the history, the tasks, the evidence and the ledger of rejections (SPEC §10.3)",
    )?;
    let ran = s.specproof(&["metrics"])?;
    succeeded(&ran, "specproof metrics")?;
    for expected in ["spec_compliance_rate", "silent_skip_rate", "F11"] {
        if !ran.output.contains(expected) {
            return Err(Stop::Unexpected(format!(
                "specproof metrics does not show {expected:?}:\n{}",
                ran.output
            )));
        }
    }

    p.out("")?;
    p.out(p.paint_out(&styles::location(), "== What you saw"))?;
    s.passed(format!(
        "step {claim}: a task claiming done without evidence was rejected by the pre-commit hook (G3, F11): nothing was committed"
    ))?;
    s.passed(format!(
        "step {verified}: specproof verify ran the proofs itself and wrote signed evidence"
    ))?;
    s.passed(format!(
        "step {accepted}: the same claim with fresh evidence was accepted"
    ))?;
    s.passed(format!(
        "step {regression}: a later commit breaking EX-2 of the done task was rejected as a regression (F10)"
    ))?;
    s.passed(format!(
        "step {matrix}: the matrix shows T-001's three criteria GREEN and the cross-cutting EX-4 not yet proven (`specproof verify --plan plans/example.md` would)"
    ))?;
    s.passed(format!(
        "step {metrics}: the metrics count the rejected claims from the ledger (F11, F10), and find no silent skip in the history"
    ))?;
    p.out("")?;
    p.out(
        "Next, in a repository of your own: `specproof init`, then `specproof install`. README.md",
    )?;
    p.out("has the rest: \"Installing the hooks\", `specproof verify`, and \"File formats\" for plans and tasks.")?;
    Ok(())
}

/// The lines of `text` from the heading line `heading` up to the next heading of its level,
/// without trailing blank lines.
fn section(text: &str, heading: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| *l != heading);
    let first = lines.next()?;
    let mut kept = vec![first];
    kept.extend(lines.take_while(|l| !l.starts_with("## ")));
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    Some(kept.join("\n"))
}

/// How the story stopped early.
#[derive(Debug)]
enum Stop {
    /// A step did not behave as the story tells: exit 1.
    Unexpected(String),
    /// Ctrl-C, SIGTERM or SIGHUP: exit 130.
    Interrupted,
    /// The demo could not run (git missing, a folder that cannot be written): exit 2.
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Self::Error(e)
    }
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Self::Error(e.into())
    }
}

/// What a commit must do.
enum Expect<'a> {
    /// Exit 0, and HEAD moves.
    Accepted,
    /// Non-zero, HEAD stays, and the output names each of these.
    Rejected(&'a [&'a str]),
}

/// What one command printed (stdout and stderr, in the order written) and how it ended.
struct Ran {
    shown: String,
    code: Option<i32>,
    output: String,
}

/// The temporary repository, and how commands run in it.
struct Stage<'a> {
    repo: PathBuf,
    /// An empty HOME (and XDG config folder): the caller's git config stays out.
    home: PathBuf,
    binary: &'a Path,
    printer: &'a Printer,
    step: Cell<usize>,
}

impl Stage<'_> {
    /// Prints the heading of the next step; returns its number.
    fn heading(&self, text: &str) -> io::Result<usize> {
        let n = self.step.get() + 1;
        self.step.set(n);
        self.printer.out("")?;
        self.printer.out(
            self.printer
                .paint_out(&styles::location(), &format!("== {n}. {text}")),
        )?;
        Ok(n)
    }

    /// A line of the demo's own.
    fn say(&self, line: impl AsRef<str>) -> io::Result<()> {
        self.printer.out(line.as_ref())
    }

    /// An expectation that held.
    fn passed(&self, line: impl AsRef<str>) -> io::Result<()> {
        self.printer.out(format!(
            "{} {}",
            self.printer.paint_out(&styles::ok(), "✓"),
            line.as_ref()
        ))
    }

    /// Text shown indented, as a command's output is.
    fn output(&self, text: &str) -> io::Result<()> {
        for line in text.trim_end_matches('\n').lines() {
            if line.is_empty() {
                self.printer.out("")?;
            } else {
                self.printer.out(format!("    {line}"))?;
            }
        }
        Ok(())
    }

    /// `program` in the repository, with stdin from /dev/null and the environment described in
    /// the module's documentation.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.repo).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str()
                && (is_git_local(name) || name.starts_with("SPECPROOF_"))
            {
                cmd.env_remove(name);
            }
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_CONFIG_SYSTEM")
            .env_remove("GIT_CEILING_DIRECTORIES");
        cmd
    }

    /// Shows `$ <command line>`, runs it, and shows its output indented.
    fn show(&self, cmd: Command, shown: String) -> Result<Ran, Stop> {
        self.printer.out(
            self.printer
                .paint_out(&styles::hint(), &format!("$ {shown}")),
        )?;
        let ran = capture(cmd, shown)?;
        self.output(&ran.output)?;
        Ok(ran)
    }

    fn specproof(&self, args: &[&str]) -> Result<Ran, Stop> {
        let mut cmd = self.command(self.binary);
        cmd.args(args);
        self.show(cmd, command_line("specproof", args))
    }

    fn git(&self, args: &[&str]) -> Result<Ran, Stop> {
        let mut cmd = self.command(Path::new("git"));
        cmd.args(args);
        self.show(cmd, command_line("git", args))
    }

    /// Runs git without showing it; its output. A failure fails the demo.
    fn git_quiet(&self, args: &[&str]) -> Result<String, Stop> {
        let mut cmd = self.command(Path::new("git"));
        cmd.args(args);
        let ran = capture(cmd, command_line("git", args))?;
        succeeded(&ran, &ran.shown)?;
        Ok(ran.output)
    }

    /// The commit HEAD names; None before the first commit.
    fn head(&self) -> Result<Option<String>, Stop> {
        let mut cmd = self.command(Path::new("git"));
        cmd.args(["rev-parse", "--verify", "-q", "HEAD"]);
        let ran = capture(cmd, "git rev-parse --verify -q HEAD".to_owned())?;
        let id = ran.output.trim();
        Ok((ran.code == Some(0) && !id.is_empty()).then(|| id.to_owned()))
    }

    /// Runs `git args…` (a commit), shows it, and checks that git accepted or rejected it.
    fn commit(&self, args: &[&str], expect: &Expect) -> Result<(), Stop> {
        let before = self.head()?;
        let ran = self.git(args)?;
        let after = self.head()?;
        let short = |id: &Option<String>| {
            id.as_deref()
                .map_or_else(|| "unborn".to_owned(), |id| id.chars().take(7).collect())
        };
        match expect {
            Expect::Accepted => {
                succeeded(&ran, &ran.shown)?;
                if after.is_none() || after == before {
                    return Err(Stop::Unexpected(format!(
                        "`{}` exited 0 but HEAD did not move",
                        ran.shown
                    )));
                }
                self.passed(format!(
                    "accepted: the hooks passed it, and HEAD moved to {}",
                    short(&after)
                ))?;
            }
            Expect::Rejected(names) => {
                let Some(code) = ran.code.filter(|c| *c != 0) else {
                    return Err(Stop::Unexpected(format!(
                        "`{}` was accepted; the pre-commit hook should have rejected it",
                        ran.shown
                    )));
                };
                if after != before {
                    return Err(Stop::Unexpected(format!(
                        "`{}` exited {code}, but HEAD moved from {} to {}",
                        ran.shown,
                        short(&before),
                        short(&after)
                    )));
                }
                if let Some(missing) = names.iter().find(|n| !ran.output.contains(**n)) {
                    return Err(Stop::Unexpected(format!(
                        "`{}` was rejected, but not for the reason the story tells: the output does not name {missing}",
                        ran.shown
                    )));
                }
                self.passed(format!(
                    "rejected: `git commit` exited {code} and HEAD is still {}: nothing was committed",
                    short(&before)
                ))?;
            }
        }
        Ok(())
    }

    fn read(&self, rel: &str) -> Result<String, Stop> {
        let path = self.repo.join(rel);
        std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(Stop::from)
    }

    fn write(&self, rel: &str, content: &str) -> Result<(), Stop> {
        let path = self.repo.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(Stop::from)
    }

    /// Replaces, in file `rel`, the first occurrence of each `from` with its `to`; fails the demo
    /// when one is not there (the starter files changed under it).
    fn edit(&self, rel: &str, changes: &[(&str, &str)]) -> Result<(), Stop> {
        let mut text = self.read(rel)?;
        for (from, to) in changes {
            if !text.contains(from) {
                return Err(Stop::Unexpected(format!(
                    "{rel} does not hold {from:?}, which the demo edits (did the starter files change?)"
                )));
            }
            text = text.replacen(from, to, 1);
        }
        self.write(rel, &text)
    }
}

/// Runs `cmd` to its end, its stdout and stderr read from one pipe, so that they keep the
/// order they were written in.
fn capture(mut cmd: Command, shown: String) -> Result<Ran, Stop> {
    let (mut reader, writer) = io::pipe().context("cannot create a pipe")?;
    cmd.stdout(writer.try_clone().context("cannot create a pipe")?)
        .stderr(writer);
    let spawned = cmd.spawn();
    // The command holds the pipe's writing end until dropped: then the end of the child's
    // output is the end of the pipe.
    drop(cmd);
    let mut child =
        spawned.with_context(|| format!("cannot run `{shown}` (is it installed and on PATH?)"))?;
    let mut bytes = Vec::new();
    let read = reader.read_to_end(&mut bytes);
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for `{shown}`"))?;
    read.with_context(|| format!("cannot read the output of `{shown}`"))?;
    if crate::interrupt::interrupted() {
        return Err(Stop::Interrupted);
    }
    Ok(Ran {
        shown,
        code: status.code(),
        output: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Fails the demo unless `ran` exited 0.
fn succeeded(ran: &Ran, what: &str) -> Result<(), Stop> {
    match ran.code {
        Some(0) => Ok(()),
        Some(code) => Err(Stop::Unexpected(format!(
            "`{what}` exited {code}; the story needs it to succeed{}",
            if ran.output.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", ran.output.trim_end())
            }
        ))),
        None => Err(Stop::Unexpected(format!("`{what}` was killed by a signal"))),
    }
}

/// `program args…` as a person would type it: arguments with spaces or shell characters quoted.
fn command_line(program: &str, args: &[&str]) -> String {
    let mut line = program.to_owned();
    for arg in args {
        line.push(' ');
        if !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
        {
            line.push_str(arg);
        } else {
            line.push('"');
            line.push_str(&arg.replace('\\', "\\\\").replace('"', "\\\""));
            line.push('"');
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo edits the starter files `specproof init` writes: they must still hold what it
    /// replaces.
    #[test]
    fn the_starter_files_hold_what_the_demo_edits() {
        let template = |name: &str| {
            crate::init::TEMPLATES
                .iter()
                .find(|t| t.path == name)
                .map_or_else(|| panic!("no template {name}"), |t| t.content)
        };
        let task = template(TASK);
        assert!(task.contains(ECHO_BLANK), "{task}");
        assert!(task.contains("status: created\n"), "{task}");
        let plan = template(PLAN);
        let section = section(plan, SECTION).expect("the Greeting section");
        assert!(section.contains("- id: EX-3"), "{section}");
        assert!(!section.contains("## Hygiene"), "{section}");
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        assert_eq!(
            command_line("git", &["commit", "-m", "T-001 done: it's \"done\""]),
            r#"git commit -m "T-001 done: it's \"done\"""#
        );
        assert_eq!(
            command_line("specproof", &["verify", "--task", "T-001"]),
            "specproof verify --task T-001"
        );
    }
}
