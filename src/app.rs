//! The top level: one function per command, each returning an exit status.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::CommandFactory;

use crate::cli::{Cli, Command, EscalateArgs, Format, HookName, LintArgs, VerifyArgs};
use crate::exit::ExitStatus;
use crate::hooks::install::{self as hook_install, Action, Hook, Removal};
use crate::init::{self, Outcome};
use crate::lint;
use crate::printer::{Printer, styles};
use crate::repo::{self, Repo};
use crate::report;
use crate::verify::{self, VerifyError};

/// What the process reads from its environment, read in one place.
#[derive(Debug, Clone)]
pub struct Env {
    pub cwd: PathBuf,
    /// `NO_COLOR` is set to a non-empty value.
    pub no_color: bool,
}

impl Env {
    /// Reads the real environment.
    ///
    /// # Errors
    /// When the current folder cannot be read.
    pub fn from_process() -> Result<Self> {
        Ok(Self {
            cwd: std::env::current_dir().context("cannot read the current folder")?,
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        })
    }
}

/// Runs the parsed command line.
///
/// # Errors
/// Usage and internal errors (exit 2); failed checks are an `Ok(ExitStatus::Failure)`.
pub fn run(cli: Cli, env: &Env) -> Result<ExitStatus> {
    let printer = Printer::new(cli.color, env.no_color);
    match cli.command {
        Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "specproof", &mut script);
            let mut out = io::stdout().lock();
            out.write_all(&script)
                .and_then(|()| out.flush())
                .context("cannot write the completions to stdout")?;
            Ok(ExitStatus::Success)
        }
        Command::Init => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_init(&repo.root, &printer)
        }
        Command::Verify(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_verify(&repo, &env.cwd, args, &printer)
        }
        Command::Escalate(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_escalate(&repo, &args, &printer)
        }
        Command::Install(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_install(&repo, &hooks_of(&args.hooks), args.force, &printer)
        }
        Command::Uninstall(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_uninstall(&repo, &hooks_of(&args.hooks), args.force, &printer)
        }
        Command::Lint(LintArgs { paths, format }) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_lint(&repo.root, &env.cwd, &paths, format, &printer)
        }
    }
}

fn run_init(root: &Path, printer: &Printer) -> Result<ExitStatus> {
    match init::init(root)? {
        Outcome::Refused { existing, blocked } => {
            let error = printer.paint_err(&styles::error(), "error");
            if !existing.is_empty() {
                printer.err(format!(
                    "{error}: specproof init would overwrite {}; nothing was changed",
                    existing.join(", ")
                ))?;
                printer.err("  move or delete those files first, or edit them by hand")?;
            }
            if !blocked.is_empty() {
                printer.err(format!(
                    "{error}: specproof init needs the folder{} {}, but a file, a broken link or a link out of the repository is in the way; nothing was changed",
                    if blocked.len() == 1 { "" } else { "s" },
                    blocked.join(", ")
                ))?;
                printer.err("  move or delete it first")?;
            }
            Ok(ExitStatus::Failure)
        }
        Outcome::Written { files, folders } => {
            printer.out(format!("Initialised specproof in {}", root.display()))?;
            for file in files {
                printer.out(format!("  wrote   {file}"))?;
            }
            for folder in folders {
                printer.out(format!("  created {folder}/"))?;
            }
            printer.out("")?;
            printer.out("Next:")?;
            printer
                .out("  1. Write your plan in plans/ (plans/example.md shows the format): every")?;
            printer
                .out("     acceptance criterion gets a machine proof in a ```criteria block.")?;
            printer
                .out("  2. Split it into tasks in .specproof/tasks/ (T-001.md is the example).")?;
            printer.out(format!(
                "  3. Check both:  {}",
                printer.paint_out(&styles::hint(), "specproof lint")
            ))?;
            printer
                .out("  4. Commit them: git add specproof.yml plans .specproof && git commit")?;
            Ok(ExitStatus::Success)
        }
    }
}

fn run_lint(
    root: &Path,
    cwd: &Path,
    paths: &[PathBuf],
    format: Format,
    printer: &Printer,
) -> Result<ExitStatus> {
    let mut targets = Vec::new();
    for typed in paths {
        let (full, rel) = repo::user_path(root, cwd, typed).map_err(|m| anyhow!(m))?;
        let meta =
            std::fs::metadata(&full).with_context(|| format!("cannot read {}", typed.display()))?;
        if !meta.is_dir() && !meta.is_file() {
            return Err(anyhow!("{}: not a regular file or folder", typed.display()));
        }
        targets.push(lint::Target {
            path: rel,
            folder: meta.is_dir(),
        });
    }
    let report = lint::lint(root, &targets).map_err(|m| anyhow!(m))?;
    let status = if report.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "version": 1,
                "ok": report.problems.is_empty(),
                "checked": report.checked,
                "problems": report.problems,
            });
            printer.out(serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            for d in &report.problems {
                let location = printer.paint_out(
                    &styles::location(),
                    &format!("{}:{}:{}:", d.file, d.line, d.column),
                );
                let code = printer.paint_out(&styles::error(), &d.code.to_string());
                let subject = d.subject().map(|s| format!("{s}: ")).unwrap_or_default();
                printer.out(format!("{location} {code}: {subject}{}", d.message))?;
            }
            let c = &report.checked;
            let what = format!(
                "{} {} with {} {}, {} {}",
                c.plans,
                plural(c.plans, "plan", "plans"),
                c.criteria,
                plural(c.criteria, "criterion", "criteria"),
                c.tasks,
                plural(c.tasks, "task", "tasks")
            );
            if report.problems.is_empty() {
                printer.out(format!(
                    "{}: no problems ({what})",
                    printer.paint_out(&styles::ok(), "ok")
                ))?;
            } else {
                let files: std::collections::BTreeSet<&str> =
                    report.problems.iter().map(|d| d.file.as_str()).collect();
                let n = report.problems.len();
                printer.out(format!(
                    "{}: {n} {} in {} {} ({what})",
                    printer.paint_out(&styles::error(), "failed"),
                    plural(n, "problem", "problems"),
                    files.len(),
                    plural(files.len(), "file", "files"),
                ))?;
            }
        }
    }
    Ok(status)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn run_verify(repo: &Repo, cwd: &Path, args: VerifyArgs, printer: &Printer) -> Result<ExitStatus> {
    let mut plans = Vec::new();
    for typed in &args.plans {
        let (_, rel) = repo::user_path(&repo.root, cwd, typed).map_err(|m| anyhow!(m))?;
        plans.push(rel);
    }
    let options = verify::Options {
        tasks: args.tasks,
        criteria: args.criteria,
        plans,
        force: args.force,
        jobs: args.jobs,
    };
    // Shown to a second run waiting for the lock; `args_os`, as `args` panics on non-UTF-8.
    let command_line = std::iter::once("specproof".to_owned())
        .chain(
            std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let started = std::time::Instant::now();
    let bar = report::Bar::new(printer);
    let result = verify::verify(&repo.root, &repo.git, &options, &command_line, &bar);
    bar.finish();
    let report = match result {
        Ok(report) => report,
        Err(VerifyError::Usage(m)) => return Err(anyhow!(m)),
        Err(e) => return Err(e.into()),
    };
    match args.format {
        Format::Json => report::verify_json(&report, printer)?,
        Format::Table => report::verify_table(&report, printer, started.elapsed())?,
    }
    Ok(if report.interrupted {
        ExitStatus::Interrupted
    } else if !report.errors.is_empty() {
        ExitStatus::Error
    } else if report.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn run_escalate(repo: &Repo, args: &EscalateArgs, printer: &Printer) -> Result<ExitStatus> {
    let done = verify::acknowledge(
        &repo.root,
        &repo.git,
        &args.ack,
        &args.by,
        &args.note,
        |holder| {
            // Best effort: a closed stderr must not stop the acknowledgement.
            let _ = printer.err(format!("specproof: waiting for the lock held by {holder}"));
        },
    )?;
    let previous = done.previous.map_or("none", crate::task::Escalation::name);
    printer.out(format!(
        "{}: acknowledged by {}: escalation {previous} cleared, status {}",
        done.task,
        args.by,
        done.status.name()
    ))?;
    printer.out(format!(
        "  recorded in {} (acks) and the ledger; commit it: git add {}",
        done.file, done.file
    ))?;
    Ok(ExitStatus::Success)
}

/// The hooks named on the command line, in git's order, each once; none named means all three.
fn hooks_of(names: &[HookName]) -> Vec<Hook> {
    let mut hooks: Vec<Hook> = names
        .iter()
        .map(|name| match name {
            HookName::PreCommit => Hook::PreCommit,
            HookName::CommitMsg => Hook::CommitMsg,
            HookName::PrePush => Hook::PrePush,
        })
        .collect();
    if hooks.is_empty() {
        hooks = Hook::CLIENT.to_vec();
    }
    hooks.sort_unstable();
    hooks.dedup();
    hooks
}

fn run_install(repo: &Repo, hooks: &[Hook], force: bool, printer: &Printer) -> Result<ExitStatus> {
    let binary = std::env::current_exe()
        .context("cannot tell where the specproof binary is, which the hooks must run")?;
    let plan = hook_install::plan(&repo.git, force, "install")?;
    let done = hook_install::install(&plan, hooks, &binary)?;
    let dir = &plan.dir.path;
    printer.out(format!(
        "specproof install: {} (the shims run {} hook <name>)",
        dir.display(),
        binary.display()
    ))?;
    let width = done.iter().map(|d| d.hook.name().len()).max().unwrap_or(0);
    let mut refused = 0;
    for d in &done {
        let name = d.hook.name();
        let what = match &d.action {
            Action::Installed => printer.paint_out(&styles::ok(), "installed"),
            Action::Updated => printer.paint_out(&styles::ok(), "updated"),
            Action::AlreadyInstalled => "already installed".to_owned(),
            Action::Refused(reason) => {
                refused += 1;
                format!(
                    "{}: {reason}",
                    printer.paint_out(&styles::error(), "refused")
                )
            }
        };
        let kept = match &d.kept {
            Some(k) if k.now && k.executable => {
                format!("; kept your existing hook as {} (it runs first)", k.file)
            }
            Some(k) if k.now => format!(
                "; kept your existing hook as {} (it is not executable, so git did not run it and neither will the shim)",
                k.file
            ),
            Some(k) if k.executable => format!("; runs your kept hook {} first", k.file),
            Some(k) => format!(
                "; your kept hook {} is not executable, so it does not run",
                k.file
            ),
            None => String::new(),
        };
        printer.out(format!("  {name:width$}  {what}{kept}"))?;
    }
    if plan.dir.in_work_tree {
        printer.out(format!(
            "note: {} is inside the working tree (core.hooksPath); the shims name this machine's specproof binary",
            dir.display()
        ))?;
    }
    if refused > 0 {
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

fn run_uninstall(
    repo: &Repo,
    hooks: &[Hook],
    force: bool,
    printer: &Printer,
) -> Result<ExitStatus> {
    let plan = hook_install::plan(&repo.git, force, "uninstall")?;
    let done = hook_install::uninstall(&plan, hooks)?;
    let dir = &plan.dir.path;
    let changed = done.iter().any(|(_, r)| {
        matches!(
            r,
            Removal::Removed | Removal::Restored | Removal::RestoredOnly
        )
    });
    let stuck = done
        .iter()
        .any(|(_, r)| matches!(r, Removal::Foreign { kept: true }));
    if !changed && !stuck {
        printer.out(format!(
            "No specproof hook is installed in {}: nothing to remove",
            dir.display()
        ))?;
        return Ok(ExitStatus::Success);
    }
    printer.out(format!("specproof uninstall: {}", dir.display()))?;
    let width = done.iter().map(|(h, _)| h.name().len()).max().unwrap_or(0);
    for (hook, removal) in &done {
        let name = hook.name();
        let kept = hook.kept_name();
        let what = match removal {
            Removal::Removed => "removed".to_owned(),
            Removal::Restored => format!("removed; restored your hook from {kept}"),
            Removal::RestoredOnly => format!("not installed; restored your hook from {kept}"),
            Removal::NotInstalled => "not installed".to_owned(),
            Removal::Foreign { kept: false } => "not specproof's hook: left alone".to_owned(),
            Removal::Foreign { kept: true } => format!(
                "not specproof's hook: left alone, and {kept} too (move it back yourself if you want it)"
            ),
        };
        printer.out(format!("  {name:width$}  {what}"))?;
    }
    Ok(ExitStatus::Success)
}
