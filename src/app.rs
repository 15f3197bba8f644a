//! The top level: one function per command, each returning an exit status.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::CommandFactory;

use crate::cli::{
    Cli, Command, DemoArgs, EscalateArgs, Format, HookName, LintArgs, MatrixFormat, TaskCommand,
    TaskNewArgs, TrustArgs, VerifyArgs,
};
use crate::compliance;
use crate::config::Config;
use crate::demo;
use crate::exit::ExitStatus;
use crate::hooks;
use crate::hooks::install::{self as hook_install, Action, Hook, Removal};
use crate::init::{self, Outcome};
use crate::lint;
use crate::printer::{Printer, styles};
use crate::repo::{self, Repo};
use crate::report;
use crate::snapshot::{self, DriftState, SnapshotError};
use crate::task_new::{self, TaskNewError};
use crate::trust;
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
        Command::Converge(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_converge(&repo, &env.cwd, &args, &printer)
        }
        Command::Escalate(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_escalate(&repo, &args, &printer)
        }
        Command::Matrix(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_matrix(&repo, &env.cwd, &args, &printer)
        }
        Command::Status(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_status(&repo, args.format, &printer)
        }
        Command::Install(args) if args.server => {
            let git = server_repository(cli.repo.as_deref(), &env.cwd, "install")?;
            run_install(&git, &[Hook::PreReceive], args.force, &printer)
        }
        Command::Install(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_install(&repo.git, &client_hooks(&args.hooks)?, args.force, &printer)
        }
        Command::Uninstall(args) if args.server => {
            let git = server_repository(cli.repo.as_deref(), &env.cwd, "uninstall")?;
            run_uninstall(&git, &[Hook::PreReceive], args.force, &printer)
        }
        Command::Uninstall(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_uninstall(&repo.git, &client_hooks(&args.hooks)?, args.force, &printer)
        }
        Command::Hook(args) => {
            let hook = match args.name {
                HookName::PreCommit => hooks::Hook::PreCommit,
                HookName::CommitMsg => hooks::Hook::CommitMsg,
                HookName::PrePush => hooks::Hook::PrePush,
                HookName::PreMergeCommit => hooks::Hook::PreMergeCommit,
                HookName::PreReceive => hooks::Hook::PreReceive,
            };
            let hook_env = hooks::HookEnv::from_process(&env.cwd);
            Ok(hooks::run(
                hook,
                &args.args,
                &mut io::stdin().lock(),
                &hook_env,
                &printer,
            ))
        }
        Command::Metrics(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_metrics(&repo, args.format, &printer)
        }
        Command::Audit(args) => run_audit(cli.repo.as_deref(), &env.cwd, &args, &printer),
        Command::Demo(DemoArgs { keep }) => {
            let binary = std::env::current_exe()
                .context("cannot tell where the specproof binary is, which the demo runs")?;
            demo::run(&binary, keep, &printer)
        }
        Command::Start(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_start(&repo, &args.task, &printer)
        }
        Command::Task(TaskCommand::New(args)) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_task_new(&repo.root, &env.cwd, args, &printer)
        }
        Command::Lint(LintArgs { paths, format }) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_lint(&repo.root, &env.cwd, &paths, format, &printer)
        }
        Command::Snapshot(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_snapshot(&repo.root, &env.cwd, &args.plan, &printer)
        }
        Command::Drift(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_drift(&repo.root, args.format, &printer)
        }
        Command::ReviewTasks(args) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_review_tasks(&repo.root, &env.cwd, &args, &printer)
        }
        Command::Trust(TrustArgs { yes }) => {
            let repo = Repo::discover(cli.repo.as_deref(), &env.cwd)?;
            run_trust(&repo, yes, &printer)
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
        shard: args.shard,
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

/// A plan path typed by the user (relative to `cwd`) as a repository path. A path that does not
/// exist is still turned into one, so that it can be reported with a did-you-mean.
fn plan_arg(root: &Path, cwd: &Path, typed: &Path) -> Result<String> {
    if let Ok((_, rel)) = repo::user_path(root, cwd, typed) {
        return Ok(rel);
    }
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    crate::paths::relative_to(root, &cwd.join(typed))
        .map(|rel| crate::paths::normalize(&rel))
        .ok_or_else(|| {
            anyhow!(
                "{}: outside the repository at {}{}",
                typed.display(),
                root.display(),
                repo::from_root_hint(root, &cwd, typed)
            )
        })
}

fn run_task_new(
    root: &Path,
    cwd: &Path,
    args: TaskNewArgs,
    printer: &Printer,
) -> Result<ExitStatus> {
    let request = task_new::Request {
        plan: plan_arg(root, cwd, &args.plan)?,
        section: args.section,
        id: args.id,
        assigned_to: args.assign,
        depends_on: args.depends_on,
    };
    let ws = crate::workspace::Workspace::load(root);
    let created = match task_new::create(root, &ws, &request) {
        Ok(created) => created,
        Err(TaskNewError::Refused(message)) => {
            printer.err(format!(
                "{}: {message}",
                printer.paint_err(&styles::error(), "error")
            ))?;
            return Ok(ExitStatus::Failure);
        }
        Err(e) => return Err(e.into()),
    };
    let warning = printer.paint_err(&styles::warning(), "warning");
    if created.plan_differs {
        printer.err(format!(
            "{warning}: {} differs from its snapshot {}: the task copies the snapshot, which proofs run from (`specproof snapshot {}` takes the change)",
            created.plan, created.definitions, created.plan
        ))?;
    }
    for (criterion, task) in &created.held_elsewhere {
        printer.err(format!(
            "{warning}: {criterion} is also in task {task}: a task-scope criterion belongs to exactly one task; remove it from one of them (`specproof review-tasks` shows every duplicate)"
        ))?;
    }
    let read_from = if created.definitions == created.plan {
        "read from the plan: it has no snapshot yet".to_owned()
    } else {
        format!("read from its snapshot {}", created.definitions)
    };
    printer.out(format!(
        "{} {}: task {} for {}, section \"{}\" ({read_from})",
        printer.paint_out(&styles::ok(), "wrote"),
        created.file,
        created.task,
        created.plan,
        created.section.as_deref().unwrap_or_default()
    ))?;
    printer.out(format!("  criteria:     {}", created.criteria.join(", ")))?;
    if !created.file_targets.is_empty() {
        printer.out(format!(
            "  file targets: {}",
            created.file_targets.join(", ")
        ))?;
    }
    if !created.left_out.is_empty() {
        let ids: Vec<String> = created
            .left_out
            .iter()
            .map(|(id, scope)| format!("{id} ({})", scope.name()))
            .collect();
        printer.out(format!(
            "  left out:     {}: they belong to no task and are verified at plan level (`specproof verify --plan {}`)",
            ids.join(", "),
            created.plan
        ))?;
    }
    printer.out(format!(
        "next: write the Echo-Back in your own words, set `status: ready`, then `specproof start {}`",
        created.task
    ))?;
    Ok(ExitStatus::Success)
}

fn run_review_tasks(
    root: &Path,
    cwd: &Path,
    args: &crate::cli::ReviewTasksArgs,
    printer: &Printer,
) -> Result<ExitStatus> {
    let mut plans = Vec::new();
    for typed in &args.plans {
        plans.push(plan_arg(root, cwd, typed)?);
    }
    let options = crate::review::Options {
        plans,
        create_gap_tasks: args.create_gap_tasks,
    };
    let review = crate::review::review(root, &options).map_err(|m| anyhow!(m))?;
    match args.format {
        crate::cli::ReviewFormat::Table => {
            for w in &review.warnings {
                printer.err(format!(
                    "{}: {w}",
                    printer.paint_err(&styles::warning(), "warning")
                ))?;
            }
            printer.out(crate::review::table(&review, printer))?;
        }
        crate::cli::ReviewFormat::Json => {
            printer.out(serde_json::to_string_pretty(&review)?)?;
        }
        crate::cli::ReviewFormat::Markdown => {
            printer.out(crate::review::markdown(&review).trim_end())?;
        }
    }
    Ok(if review.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn run_start(repo: &Repo, id: &str, printer: &Printer) -> Result<ExitStatus> {
    let started = crate::start::start(&repo.root, &repo.git, id, |holder| {
        // Best effort: a closed stderr must not stop the start.
        let _ = printer.err(format!("specproof: waiting for the lock held by {holder}"));
    });
    match started {
        Ok(s) if s.already => {
            printer.out(format!("{}: already in_progress (base {})", s.task, s.base))?;
            Ok(ExitStatus::Success)
        }
        Ok(s) => {
            if let Some(snapshot) = &s.snapshot {
                printer.out(format!("took the first snapshot of the plan: {snapshot}"))?;
            }
            printer.out(format!(
                "{}: ready → in_progress (gates 1 and 2 pass), base {}",
                s.task, s.base
            ))?;
            printer.out(format!("  commit it: git add {} .specproof", s.file))?;
            Ok(ExitStatus::Success)
        }
        Err(crate::start::StartError::Gates { task, problems }) => {
            printer.err(format!(
                "{} {task} cannot start: {} {}\n{}",
                printer.paint_err(&styles::error(), "specproof:"),
                problems.len(),
                plural(problems.len(), "problem", "problems"),
                hooks::render(&problems, printer).trim_end()
            ))?;
            Ok(ExitStatus::Failure)
        }
        Err(e) => Err(anyhow!(e)),
    }
}

fn run_converge(
    repo: &Repo,
    cwd: &Path,
    args: &crate::cli::ConvergeArgs,
    printer: &Printer,
) -> Result<ExitStatus> {
    let plan = match &args.plan {
        Some(typed) => Some(
            repo::user_path(&repo.root, cwd, typed)
                .map_err(|m| anyhow!(m))?
                .1,
        ),
        None => None,
    };
    let options = crate::converge::Options {
        plan,
        dry_run: args.dry_run,
        override_reason: std::env::var("SPECPROOF_OVERRIDE")
            .ok()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
    };
    let report =
        match crate::converge::converge(&repo.root, &repo.git, &options, "specproof converge") {
            Ok(r) => r,
            Err(crate::converge::ConvergeError::Usage(m)) => return Err(anyhow!(m)),
            Err(e) => return Err(e.into()),
        };
    let decision = report.decision();
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "version": 1,
                "decision": decision,
                "dry_run": report.dry_run,
                "plans": report.plans,
            });
            printer.out(serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            for p in &report.plans {
                printer.out(format!(
                    "{} iteration {}: {} ({}/{} criteria pass; budget: iteration {} of {}, {} of {} min){}",
                    p.plan,
                    p.iteration,
                    p.decision,
                    p.passed,
                    p.results.len(),
                    p.budget.iterations_used,
                    p.budget.max_iterations,
                    p.budget.minutes_used,
                    p.budget.max_wall_clock_min,
                    if report.dry_run { " [dry run]" } else { "" }
                ))?;
                for r in &p.results {
                    printer.out(format!(
                        "  {:<12} {:<8} {:<12} {}{}",
                        r.criterion,
                        r.task.as_deref().unwrap_or("-"),
                        r.result,
                        r.failure_code
                            .map(|c| format!("{c:?} "))
                            .unwrap_or_default(),
                        r.judged
                    ))?;
                }
                for e in &p.escalation {
                    printer.out(format!(
                        "  escalate {:?} {}: {}",
                        e.code,
                        e.code.name(),
                        e.reason
                    ))?;
                }
                if p.decision == "escalate" {
                    printer.out(format!(
                        "  complete: {}",
                        if p.complete.is_empty() {
                            "none".to_owned()
                        } else {
                            p.complete.join(", ")
                        }
                    ))?;
                    for m in &p.missing {
                        printer.out(format!(
                            "  missing: {} (task {}, attempts {})",
                            m.criterion,
                            m.task.as_deref().unwrap_or("none"),
                            m.attempts.map_or("-".to_owned(), |a| a.to_string())
                        ))?;
                    }
                }
                if !p.tasks_advanced.is_empty() {
                    printer.out(format!(
                        "  advanced to their next iteration: {}",
                        p.tasks_advanced.join(", ")
                    ))?;
                }
                if !p.tasks_waiting.is_empty() {
                    printer.out(format!(
                        "  left in their iteration for a person's decision (escalation: human; `specproof escalate --ack T --by NAME --note TEXT`): {}",
                        p.tasks_waiting.join(", ")
                    ))?;
                }
                for g in &p.gap_tasks {
                    printer.out(format!(
                        "  gap task {}: {}",
                        g.file.as_deref().unwrap_or("(not written)"),
                        g.criteria.join(", ")
                    ))?;
                }
                if let Some(r) = &p.record {
                    printer.out(format!("  recorded in {r}; commit it with the task files"))?;
                }
            }
            printer.out(format!("decision: {decision}"))?;
            if report.dry_run {
                printer.out(
                    "dry run: no proof ran and nothing was written; criteria were judged on their existing evidence (stale evidence fails), so a real run may decide otherwise",
                )?;
            }
        }
    }
    Ok(if decision == "converged" {
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
    match done.previous {
        Some(previous) => printer.out(format!(
            "{}: acknowledged by {}: escalation {} cleared, status {}",
            done.task,
            args.by,
            previous.name(),
            done.status.name()
        ))?,
        None => printer.out(format!(
            "{}: acknowledged by {}: the escalated convergence of its plan may go on (`specproof converge` once this is committed), status {}",
            done.task,
            args.by,
            done.status.name()
        ))?,
    }
    printer.out(format!(
        "  recorded in {} (acks) and the ledger; commit it: git add {}",
        done.file, done.file
    ))?;
    Ok(ExitStatus::Success)
}

fn run_matrix(
    repo: &Repo,
    cwd: &Path,
    args: &crate::cli::MatrixArgs,
    printer: &Printer,
) -> Result<ExitStatus> {
    let mut plans = Vec::new();
    for typed in &args.plans {
        let (_, rel) = repo::user_path(&repo.root, cwd, typed).map_err(|m| anyhow!(m))?;
        plans.push(rel);
    }
    let matrix = compliance::matrix(&repo.root, &repo.git, &compliance::Options { plans })?;
    for w in &matrix.warnings {
        printer.err(format!(
            "{}: {w}",
            printer.paint_err(&styles::warning(), "warning")
        ))?;
    }
    match args.format {
        MatrixFormat::Table => printer.out(compliance::render::table(&matrix, printer))?,
        MatrixFormat::Json => printer.out(serde_json::to_string_pretty(
            &compliance::render::json(&matrix),
        )?)?,
        MatrixFormat::Markdown => printer.out(compliance::render::markdown(&matrix))?,
    }
    Ok(if matrix.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn run_status(repo: &Repo, format: Format, printer: &Printer) -> Result<ExitStatus> {
    let ws = crate::workspace::Workspace::load_with(&repo.root, true);
    let matrix =
        compliance::matrix_in(&repo.root, &repo.git, &ws, &compliance::Options::default())?;
    for w in &matrix.warnings {
        printer.err(format!(
            "{}: {w}",
            printer.paint_err(&styles::warning(), "warning")
        ))?;
    }
    let review = crate::review::review(&repo.root, &crate::review::Options::default());
    let report = compliance::status(&ws, &matrix, review.as_ref());
    match format {
        Format::Table => printer.out(compliance::status::table(&report, printer))?,
        Format::Json => printer.out(serde_json::to_string_pretty(&compliance::status::json(
            &report,
        ))?)?,
    }
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The config, or what can be kept of it, with a warning when it has problems.
fn load_config(root: &Path, printer: &Printer) -> Result<Config> {
    match Config::load(root) {
        Ok(config) => Ok(config),
        Err(problems) => {
            printer.err(format!(
                "{}: {} has {} {} (`specproof lint` lists them): its `plans` are used where readable, defaults for the rest",
                printer.paint_err(&styles::warning(), "warning"),
                crate::config::FILE,
                problems.len(),
                plural(problems.len(), "problem", "problems"),
            ))?;
            Ok(Config::salvage(root))
        }
    }
}

fn run_snapshot(root: &Path, cwd: &Path, typed: &Path, printer: &Printer) -> Result<ExitStatus> {
    let (_, rel) = repo::user_path(root, cwd, typed).map_err(|m| anyhow!(m))?;
    let done = match snapshot::take(root, &rel) {
        Ok(done) => done,
        Err(SnapshotError::Invalid { plan, diagnostics }) => {
            for d in &diagnostics {
                printer.err(d)?;
            }
            let e = SnapshotError::Invalid { plan, diagnostics };
            printer.err(format!(
                "{}: {e}",
                printer.paint_err(&styles::error(), "error")
            ))?;
            return Ok(ExitStatus::Failure);
        }
        Err(e) => return Err(e.into()),
    };
    if !done.written {
        printer.out(format!(
            "{}: unchanged since its snapshot {} ({}): nothing to do",
            done.plan, done.snapshot, done.new
        ))?;
        return Ok(ExitStatus::Success);
    }
    let what = match (&done.old, done.changed.is_empty()) {
        (None, _) => format!("first snapshot: {}", listed(&done.changed)),
        (Some(_), false) => format!("changed: {}", done.changed.join(", ")),
        (Some(_), true) => "no criterion changed, only text outside the criteria".to_owned(),
    };
    printer.out(format!(
        "{}: {} → {} ({what})",
        printer.paint_out(&styles::ok(), "snapshot"),
        done.plan,
        done.snapshot
    ))?;
    printer.out(format!(
        "  logged in {log}; commit both: git add {} {log}",
        done.snapshot,
        log = snapshot::CHANGES_LOG
    ))?;
    if done.old.is_some() && !done.changed.is_empty() {
        printer.out(
            "  task copies of the changed criteria now drift (`specproof lint` shows them), and their evidence is stale where the proof changed (`specproof verify`)",
        )?;
    }
    Ok(ExitStatus::Success)
}

fn listed(ids: &[String]) -> String {
    if ids.is_empty() {
        "no criteria".to_owned()
    } else {
        ids.join(", ")
    }
}

fn run_drift(root: &Path, format: Format, printer: &Printer) -> Result<ExitStatus> {
    let config = load_config(root, printer)?;
    let plans = snapshot::drift(root, &config)?;
    let drifted = plans.iter().filter(|p| p.drifted()).count();
    if format == Format::Json {
        let doc = serde_json::json!({ "version": 1, "ok": drifted == 0, "plans": plans });
        printer.out(serde_json::to_string_pretty(&doc)?)?;
    } else {
        for p in &plans {
            let line = match p.state {
                DriftState::Same => format!("{}: matches its snapshot", p.plan),
                DriftState::NoSnapshot => {
                    format!("{}: no snapshot yet (the plan stands in for it)", p.plan)
                }
                DriftState::Drifted => {
                    let where_ = if p.changed.is_empty() {
                        "outside its criteria (no criterion changed)".to_owned()
                    } else {
                        format!("in {}", p.changed.join(", "))
                    };
                    format!(
                        "{}: {}: plan differs from its snapshot {where_} — run `specproof snapshot {}` if the change is intended, then `git add {} {}`",
                        p.plan,
                        printer.paint_out(&styles::error(), "F14"),
                        p.plan,
                        snapshot::snapshot_path(&p.plan),
                        snapshot::CHANGES_LOG
                    )
                }
            };
            printer.out(line)?;
        }
        let n = plans.len();
        let summary = if n == 0 {
            format!(
                "{}: no plan files (`plans` in specproof.yml is {:?})",
                printer.paint_out(&styles::ok(), "ok"),
                config.plans
            )
        } else if drifted == 0 {
            let without = plans
                .iter()
                .filter(|p| p.state == DriftState::NoSnapshot)
                .count();
            format!(
                "{}: no drift ({n} {}, {} with a snapshot, {without} without)",
                printer.paint_out(&styles::ok(), "ok"),
                plural(n, "plan", "plans"),
                n - without
            )
        } else {
            format!(
                "{}: {drifted} of {n} {} differ{} from {} snapshot{} (F14)",
                printer.paint_out(&styles::error(), "failed"),
                plural(n, "plan", "plans"),
                if drifted == 1 { "s" } else { "" },
                if drifted == 1 { "its" } else { "their" },
                if drifted == 1 { "" } else { "s" },
            )
        };
        printer.out(summary)?;
    }
    Ok(if drifted == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn run_trust(repo: &Repo, yes: bool, printer: &Printer) -> Result<ExitStatus> {
    let config = load_config(&repo.root, printer)?;
    let definitions = snapshot::definitions(&repo.root, &config);
    for plan in definitions.iter().filter(|p| !p.diagnostics.is_empty()) {
        printer.err(format!(
            "{}: {} has problems (`specproof lint` lists them): criteria that do not parse are not listed, and never run",
            printer.paint_err(&styles::warning(), "warning"),
            plan.path
        ))?;
    }
    let refs: Vec<&crate::plan::Plan> = definitions.iter().collect();
    let proofs = trust::command_proofs(&refs);
    let digest = trust::digest(&proofs);
    let common_dir = repo.git.commondir();
    let file = trust::trust_path(common_dir);

    if proofs.is_empty() {
        printer.out("nothing to trust: no plan has a command proof (builds_clean, test_passes, command_output_matches)")?;
    } else {
        printer.out("Command proofs git hooks would run (each plan's snapshot where it has one, else the plan):")?;
        for p in &proofs {
            printer.out("")?;
            show_command_proof(p, config.command_timeout, printer)?;
        }
        printer.out("")?;
        printer.out(format!(
            "{} command {}, digest {digest}",
            proofs.len(),
            plural(proofs.len(), "proof", "proofs")
        ))?;
    }
    if let Some(approval) = trust::approval(common_dir, &digest) {
        printer.out(format!(
            "already trusted (approved {}): hooks may run {}",
            approval.approved_at,
            if proofs.is_empty() {
                "nothing"
            } else {
                "these commands"
            }
        ))?;
        return Ok(ExitStatus::Success);
    }
    if !proofs.is_empty() && !yes {
        if !io::stdin().is_terminal() {
            return Err(anyhow!(
                "stdin is not a terminal, so specproof trust cannot ask: read the list above, then run `specproof trust --yes` to approve it; nothing was recorded"
            ));
        }
        let question = if proofs.len() == 1 {
            "Let git hooks run this command? [y/N] ".to_owned()
        } else {
            format!("Let git hooks run these {} commands? [y/N] ", proofs.len())
        };
        if !confirm(&question)? {
            printer.err("not trusted: nothing was recorded")?;
            return Ok(ExitStatus::Failure);
        }
    }
    if let Err(e) = trust::approvals(common_dir) {
        printer.err(format!(
            "{}: {e}; it is replaced",
            printer.paint_err(&styles::warning(), "warning")
        ))?;
    }
    trust::record(common_dir, &digest, proofs.len())?;
    if proofs.is_empty() {
        printer.out(format!(
            "recorded the empty set in {}: hooks ask for `specproof trust` again when a command proof is added",
            file.display()
        ))?;
    } else {
        printer.out(format!(
            "{}: recorded in {}; hooks may run these commands until one changes (then run `specproof trust` again)",
            printer.paint_out(&styles::ok(), "trusted"),
            file.display()
        ))?;
    }
    Ok(ExitStatus::Success)
}

fn show_command_proof(
    p: &trust::CommandProof,
    default_timeout: u64,
    printer: &Printer,
) -> io::Result<()> {
    let source = match p
        .plan
        .strip_prefix(snapshot::SNAPSHOT_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(plan) => format!("{plan} (its snapshot)"),
        None => p.plan.clone(),
    };
    printer.out(format!(
        "{} ({}) in {source}",
        printer.paint_out(&styles::location(), &p.id),
        p.proof
    ))?;
    let mut lines = p.command.split('\n');
    printer.out(format!(
        "  command: {}",
        visible(lines.next().unwrap_or(""))
    ))?;
    for line in lines {
        printer.out(format!("           {}", visible(line)))?;
    }
    printer.out(format!(
        "  cwd:     {}",
        p.cwd
            .as_deref()
            .map_or_else(|| ". (the repository root)".to_owned(), visible)
    ))?;
    let env = if p.env.is_empty() {
        "none added".to_owned()
    } else {
        p.env
            .iter()
            .map(|(k, v)| format!("{}={v:?}", visible(k)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    printer.out(format!("  env:     {env}"))?;
    printer.out(match p.timeout {
        Some(secs) => format!("  timeout: {secs} s"),
        None => format!("  timeout: {default_timeout} s (command_timeout)"),
    })
}

/// `text` with control characters escaped, so that a command cannot hide part of itself from
/// the person reading the list (a carriage return, terminal escape sequences).
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Asks `question` on stderr and reads the answer from stdin (a terminal): y or yes is yes.
fn confirm(question: &str) -> Result<bool> {
    let mut err = io::stderr().lock();
    write!(err, "{question}").and_then(|()| err.flush())?;
    drop(err);
    let mut answer = String::new();
    io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer from stdin")?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

fn run_metrics(repo: &Repo, format: Format, printer: &Printer) -> Result<ExitStatus> {
    let report = crate::metrics::metrics(&repo.root, &repo.git)?;
    match format {
        Format::Table => printer.out(crate::metrics::table(&report, printer))?,
        Format::Json => printer.out(crate::metrics::json(&report)?)?,
    }
    Ok(ExitStatus::Success)
}

fn run_audit(
    repo: Option<&Path>,
    cwd: &Path,
    args: &crate::cli::AuditArgs,
    printer: &Printer,
) -> Result<ExitStatus> {
    let dir = repo.map_or_else(|| cwd.to_path_buf(), |r| cwd.join(r));
    let git = git2::Repository::discover(&dir).map_err(|e| {
        anyhow!(
            "{} is not in a git repository ({}): run specproof audit in a clone, or name one with --repo",
            dir.display(),
            e.message()
        )
    })?;
    git2::opts::strict_hash_verification(false);
    let options = crate::audit::Options {
        range: args.range.clone(),
        rerun: match args.rerun {
            crate::cli::RerunArg::None => crate::config::Rerun::None,
            crate::cli::RerunArg::FileProofs => crate::config::Rerun::FileProofs,
            crate::cli::RerunArg::All => crate::config::Rerun::All,
        },
        allow_overrides: args.allow_overrides,
    };
    let range = crate::audit::range(&git, options.range.as_deref())?;
    let report = crate::audit::run(&git, range, &options)?;
    match args.format {
        crate::cli::AuditFormat::Table => {
            let text = crate::audit::table(&report, printer);
            printer.out(text.trim_end())?;
        }
        crate::cli::AuditFormat::Json => {
            printer.out(
                serde_json::to_string_pretty(&report).context("cannot write the report as JSON")?,
            )?;
        }
        crate::cli::AuditFormat::Junit => {
            printer.out(crate::audit::junit(&report).trim_end())?;
        }
    }
    Ok(if report.summary.violations {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The client hooks named on the command line, in git's order, each once; none named means all
/// of them. pre-receive is the server's, installed with `--server`.
fn client_hooks(names: &[HookName]) -> Result<Vec<Hook>> {
    let mut hooks = Vec::new();
    for name in names {
        hooks.push(match name {
            HookName::PreCommit => Hook::PreCommit,
            HookName::CommitMsg => Hook::CommitMsg,
            HookName::PrePush => Hook::PrePush,
            HookName::PreMergeCommit => Hook::PreMergeCommit,
            HookName::PreReceive => {
                bail!(
                    "pre-receive is the server's hook: in the bare repository pushes go to, run `specproof install --server`"
                );
            }
        });
    }
    if hooks.is_empty() {
        hooks = Hook::CLIENT.to_vec();
    }
    hooks.sort_unstable();
    hooks.dedup();
    Ok(hooks)
}

/// The bare repository `--server` works on (`--repo`, else the current folder); a repository
/// with a working tree is refused, saying what to run there instead.
fn server_repository(repo: Option<&Path>, cwd: &Path, verb: &str) -> Result<git2::Repository> {
    let dir = repo.map_or_else(|| cwd.to_path_buf(), |r| cwd.join(r));
    let git = git2::Repository::open_ext(
        &dir,
        git2::RepositoryOpenFlags::empty(),
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .map_err(|e| {
        anyhow!(
            "{} is not a git repository ({}): run `specproof {verb} --server` in the bare repository pushes go to, or name it with --repo",
            dir.display(),
            e.message()
        )
    })?;
    if !git.is_bare() {
        let root = git.workdir().unwrap_or_else(|| git.path());
        bail!(
            "{} has a working tree, so it is not a server's repository: `--server` {verb}s the pre-receive hook of a bare repository (the one pushes go to, e.g. `specproof {verb} --server --repo /srv/git/project.git` on the server). Here, run `specproof {verb}` for the client hooks.",
            root.display()
        );
    }
    Ok(git)
}

fn run_install(
    git: &git2::Repository,
    hooks: &[Hook],
    force: bool,
    printer: &Printer,
) -> Result<ExitStatus> {
    let binary = std::env::current_exe()
        .context("cannot tell where the specproof binary is, which the hooks must run")?;
    let plan = hook_install::plan(git, force, "install")?;
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
    git: &git2::Repository,
    hooks: &[Hook],
    force: bool,
    printer: &Printer,
) -> Result<ExitStatus> {
    let plan = hook_install::plan(git, force, "uninstall")?;
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
