//! The command line, as clap derive types. Turned into plain values before any work starts.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::printer::ColorChoice;
use crate::verify::Shard;

/// specproof makes "done" mean "proven": it checks plans and tasks, runs the proofs of every
/// acceptance criterion and rejects commits that claim work done without fresh evidence.
#[derive(Debug, Parser)]
#[command(
    name = "specproof",
    version,
    about,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The repository to work on (any folder inside it); default: found from the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// When to colour output: auto (a terminal, and `NO_COLOR` unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write specproof.yml, an example plan and a first task; refuses to overwrite anything.
    Init,
    /// Check plans and tasks (gate 1): parse errors, bad proofs and args, duplicate IDs,
    /// unverifiable, fabricated, drifted and misplaced criteria.
    Lint(LintArgs),
    /// Write task files: `specproof task new` makes one for a plan section.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Move a ready task to `in_progress` through gates 1 and 2, recording the commit it starts
    /// from as `base` (and taking the first snapshot of its plan when there is none).
    Start(StartArgs),
    /// Run the proofs of every criterion of the chosen tasks (default: every task that is not
    /// complete) and write signed evidence; fresh pass evidence is reused.
    Verify(VerifyArgs),
    /// End an iteration of each plan (SPEC §10.2): verify its unfinished tasks' and plan-level
    /// criteria again, judge complete tasks' as the matrix does, compare with the previous
    /// iteration (regressed: F10; stagnant: F17), and decide: converged (every criterion
    /// passes), escalate (F10, F17, or the budget spent: F15) or continue (the next iteration:
    /// unfinished tasks' `iteration` +1, attempts and escalation reset, gap tasks for failing
    /// criteria no open task holds). The results go to
    /// .specproof/convergence/<plan stem>/iter-<N>.json, signed. Exit 0 converged, 1 otherwise.
    Converge(ConvergeArgs),
    /// Record a person's decision about an escalated task, so that it can move again.
    Escalate(EscalateArgs),
    /// The summary to run first: tasks by state, the compliance rate, drifted plans, escalated
    /// tasks, and the command to run next for each problem. Exit 1 when a critical criterion
    /// is RED.
    Status(StatusArgs),
    /// The spec compliance matrix: every plan criterion GREEN (fresh pass evidence), YELLOW
    /// (stale pass evidence), RED (no pass evidence, or in no task), ORANGE (drift) or GREY
    /// (inconclusive), with the compliance rate and the criteria density per plan. Exit 1 when a
    /// critical criterion is RED.
    ///
    /// Judged on the working tree as `specproof verify` sees it, without running any proof or
    /// writing anything.
    Matrix(MatrixArgs),
    /// Copy a plan to its snapshot (.specproof/snapshots/<plan>), the definition proofs run
    /// from, and log which criteria changed in .specproof/plan-changes.log.
    Snapshot(SnapshotArgs),
    /// Show which plans differ from their snapshots, and in which criteria (F14).
    Drift(DriftArgs),
    /// Cross-reference plan criteria with task criteria: mapped, missing, duplicated, drifted
    /// and fabricated criteria, cross-cutting orphans (F16), and who holds what.
    ///
    /// Each plan is read from its snapshot where it has one (proofs run from it). A task-scope
    /// criterion must be in exactly one task, copied exactly; a cross-cutting or system one in
    /// no task, and verified at plan level (evidence under `_plan/`). Exit 1 on any missing,
    /// duplicated, drifted, fabricated or orphaned criterion.
    ReviewTasks(ReviewTasksArgs),
    /// Show every command proof of the repository and approve them for git hooks.
    Trust(TrustArgs),
    /// Install specproof's git hooks (pre-commit, commit-msg, pre-push, pre-merge-commit) into the
    /// hooks folder git uses; a hook already there is kept and runs first.
    Install(InstallArgs),
    /// Remove specproof's git hooks and put back the hooks they kept.
    Uninstall(UninstallArgs),
    /// Run one of specproof's git hooks; the shims `specproof install` writes call this.
    Hook(HookArgs),
    /// Replay every gate over each commit of a range of history (for CI): done claims without
    /// fresh evidence, forged or stale evidence, reopened complete tasks, regressions and
    /// overrides. Exit 1 on any of them.
    ///
    /// Evidence is judged by its recorded facts and by running the proofs again (`--rerun`): a
    /// signature made on another machine cannot be checked here, and a re-run that fails where
    /// the evidence says pass is forged evidence (F12).
    Audit(AuditArgs),
    /// Measure how well "done" meant "proven" (SPEC §10.3): each metric beside its target.
    ///
    /// Computed from HEAD's history (the gates replayed, as `audit` does, with file proofs run
    /// again), task files, evidence, convergence records and the local ledger. A metric that
    /// cannot be computed shows n/a with the reason. Exit 0 (a missed target is not an error);
    /// 2 when the repository cannot be read.
    Metrics(MetricsArgs),
    /// Show the whole story in a temporary git repository, with the real output of every command.
    ///
    /// In a new temporary repository: `specproof init` and `install`, a task claiming done
    /// without evidence rejected by the pre-commit hook, `specproof verify`, the same claim
    /// accepted, and a later commit that breaks a criterion rejected as a regression (F10).
    /// Needs `git`, and no terminal; `--repo` does not apply (the demo never touches another
    /// repository). Exit 1 when a step behaves differently from the story.
    Demo(DemoArgs),
    /// Print shell completions to stdout.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Plan or task files, or folders of them, to check; default: every plan and task.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The subcommands of `specproof task`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Write a task file for one plan section: its text as `## Source`, exact copies of its
    /// task-scope criteria, their paths as File Targets, and an empty Worker Report.
    ///
    /// The section's text and criteria are read from the plan's snapshot
    /// (.specproof/snapshots/<plan>) when it has one, since proofs run from it, else from the
    /// plan. Cross-cutting and system criteria are left out: they belong to no task. The file is
    /// `<tasks_dir>/<T>.md` with `status: created`; an existing file is never overwritten.
    New(TaskNewArgs),
}

#[derive(Debug, clap::Args)]
pub struct TaskNewArgs {
    /// The plan file (a path relative to the current folder).
    #[arg(long, value_name = "P")]
    pub plan: PathBuf,

    /// The plan section: one of its headings, matched ignoring case and punctuation.
    #[arg(long, value_name = "S")]
    pub section: String,

    /// The task ID; default: the next free T-NNN after the existing tasks.
    #[arg(long, value_name = "T")]
    pub id: Option<String>,

    /// The task's owner (`assigned_to`); default: nobody (`assigned_to: null`).
    #[arg(long, value_name = "NAME")]
    pub assign: Option<String>,

    /// A task that must be done before this one (repeatable, or comma-separated); it must exist.
    #[arg(long = "depends-on", value_name = "T", value_delimiter = ',')]
    pub depends_on: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Verify this task (repeatable); default: every task that is not complete.
    #[arg(long = "task", value_name = "T")]
    pub tasks: Vec<String>,

    /// Only these criteria (repeatable).
    #[arg(long = "criterion", value_name = "C")]
    pub criteria: Vec<String>,

    /// Verify the cross-cutting and system criteria of this plan (repeatable); their evidence
    /// goes under `_plan/<plan stem>/`.
    #[arg(long = "plan", value_name = "P")]
    pub plans: Vec<PathBuf>,

    /// Run every proof again, even where fresh pass evidence exists.
    #[arg(long)]
    pub force: bool,

    /// Proofs run at the same time; default: `jobs` in specproof.yml (0: one per CPU).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Run only shard K of N (1 <= K <= N) of the criteria this run would cover, for N parallel
    /// CI jobs; the others are neither run nor reported.
    ///
    /// The split is deterministic: every criterion chosen (task criteria, and plan-level ones of
    /// `--plan`; also the rows of tasks that cannot be verified) has a key, its owner (the task
    /// ID, or `_plan/<plan stem>`) and its criterion ID. The distinct keys are sorted in byte
    /// order and dealt round-robin: the i-th (from 0) goes to shard i mod N + 1. It depends only
    /// on what is selected, so every machine and every run agrees; shards 1 to N together cover
    /// the run without `--shard`, each criterion once, and differ in size by one at most.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ConvergeArgs {
    /// Only this plan (a path relative to the current folder); default: every plan.
    #[arg(long, value_name = "P")]
    pub plan: Option<PathBuf>,

    /// Compute and show the decision without running proofs or writing anything: every
    /// criterion is judged on its existing evidence, as `specproof matrix` does.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Only this plan (repeatable; a path relative to the current folder); default: every plan.
    #[arg(long = "plan", value_name = "P")]
    pub plans: Vec<PathBuf>,

    /// Output format: table, json (the document described in the README) or markdown (for a
    /// pull-request comment).
    #[arg(long, value_enum, default_value_t = MatrixFormat::Table)]
    pub format: MatrixFormat,
}

/// `--format` of matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct EscalateArgs {
    /// The escalated task to acknowledge.
    #[arg(long, value_name = "T")]
    pub ack: String,

    /// Who decided.
    #[arg(long, value_name = "NAME")]
    pub by: String,

    /// What was decided (for example: "split into T-7 and T-8", "keep going: the flaky test is fixed").
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// The plan file to snapshot (one of the `plans` of specproof.yml).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ReviewTasksArgs {
    /// Review only this plan (repeatable; a path relative to the current folder); default:
    /// every plan.
    #[arg(long = "plan", value_name = "P")]
    pub plans: Vec<PathBuf>,

    /// Write a task file for the missing criteria of each plan section (as `specproof task new`
    /// would, holding only the missing ones, unassigned), then review again. Never overwrites.
    #[arg(long)]
    pub create_gap_tasks: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Table)]
    pub format: ReviewFormat,
}

/// `--format` of review-tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    /// A table per plan, the fabricated criteria, coverage per owner, then a summary line.
    Table,
    /// The stable JSON document described in the README.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Approve without asking (needed when stdin is not a terminal): read the list first.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Install only this hook (repeatable); default: all four.
    #[arg(long = "hook", value_enum, value_name = "NAME")]
    pub hooks: Vec<HookName>,

    /// Install even into a hooks folder shared with other repositories: a core.hooksPath
    /// outside this repository, or one set in the global or system git config.
    #[arg(long)]
    pub force: bool,

    /// Install the server's pre-receive hook into this bare repository (the one pushes go to),
    /// instead of the client hooks. Its policy is the repository's git config: specproof.rerun,
    /// specproof.allowCommands, specproof.commandTimeout, specproof.allowOverride,
    /// specproof.pushTimeout.
    #[arg(long, conflicts_with = "hooks")]
    pub server: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Remove only this hook (repeatable); default: all four.
    #[arg(long = "hook", value_enum, value_name = "NAME")]
    pub hooks: Vec<HookName>,

    /// Remove them even from a hooks folder shared with other repositories.
    #[arg(long)]
    pub force: bool,

    /// Remove the server's pre-receive hook from this bare repository.
    #[arg(long, conflicts_with = "hooks")]
    pub server: bool,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The commits to audit: `A..B` (those of B that A does not have; either side defaults to
    /// HEAD), or one revision (its whole history). Default: from the merge base of HEAD with
    /// the remote's default branch (origin/HEAD, else origin/main, else origin/master) to HEAD.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,

    /// Which proofs run again on each commit: none (evidence facts only), file-proofs (file
    /// and git proofs) or all (command proofs too, in a temporary export of the commit).
    #[arg(long, value_enum, default_value_t = RerunArg::FileProofs, value_name = "WHICH")]
    pub rerun: RerunArg,

    /// List commits carrying the `Specproof-Override:` trailer as warnings instead of failing.
    #[arg(long)]
    pub allow_overrides: bool,

    /// Output format: table, json (the document described in the README) or junit (XML test
    /// results for CI: one test case per commit).
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
}

/// `--rerun` of audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RerunArg {
    None,
    FileProofs,
    All,
}

/// `--format` of audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The task to start (its ID, the file stem).
    #[arg(value_name = "T")]
    pub task: String,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the temporary repository at the end, and print where it is.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// The hook git runs.
    #[arg(value_enum)]
    pub name: HookName,

    /// What git passes the hook (commit-msg: the message file; pre-push: the remote's name and
    /// address).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// The hooks `specproof hook` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookName {
    /// HEAD against the index being committed: transitions, gates, plan drift, regressions.
    PreCommit,
    /// The commit message: rationalization phrases, and the override trailer.
    CommitMsg,
    /// Every commit not yet on the remote, against its first parent.
    PrePush,
    /// The merge commit `git merge` makes without stopping: the pre-commit checks.
    PreMergeCommit,
    /// The server's gate: every commit a push adds, with the server's policy (`install --server`).
    PreReceive,
}

/// `--format` of lint, verify and drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people (lint: one `file:line:col: CODE: message` per problem; verify: one row
    /// per criterion; drift: one line per plan), then a summary.
    Table,
    /// The stable JSON document described in the README.
    Json,
}

impl Cli {
    /// The command line the hook shims give (`specproof hook NAME [git's args]`), read without
    /// building clap's whole command: git runs a hook on every commit, and clap's parser costs
    /// more than the hook's own work when nothing specproof reads changed. Exactly what
    /// [`Cli::parse`] makes of it, or None for any other command line (which clap then parses):
    /// an option anywhere, an argument that is not UTF-8, a name that is not a hook.
    #[must_use]
    pub fn hook_command(args: &[std::ffi::OsString]) -> Option<Self> {
        let [_, hook, name, rest @ ..] = args else {
            return None;
        };
        if hook.to_str()? != "hook" {
            return None;
        }
        let name = HookName::from_str(name.to_str()?, false).ok()?;
        let rest = rest
            .iter()
            .map(|a| {
                a.to_str()
                    .filter(|a| !a.starts_with('-'))
                    .map(str::to_owned)
            })
            .collect::<Option<Vec<String>>>()?;
        Some(Self {
            repo: None,
            color: ColorChoice::Auto,
            command: Command::Hook(HookArgs { name, args: rest }),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_hook_s_command_line_is_read_as_clap_reads_it() {
        let argv = |words: &[&str]| -> Vec<std::ffi::OsString> {
            std::iter::once("specproof")
                .chain(words.iter().copied())
                .map(Into::into)
                .collect()
        };
        for words in [
            &["hook", "pre-commit"][..],
            &["hook", "commit-msg", ".git/COMMIT_EDITMSG"],
            &["hook", "commit-msg", "/abs/path with space/MSG"],
            &["hook", "pre-push", "origin", "https://example.com/r.git"],
            &["hook", "pre-merge-commit"],
            &["hook", "pre-receive"],
        ] {
            let fast = Cli::hook_command(&argv(words));
            let clap = Cli::try_parse_from(argv(words)).expect("clap parses it");
            assert_eq!(
                format!("{fast:?}"),
                format!("{:?}", Some(clap)),
                "{words:?}"
            );
        }
        // Anything else is left to clap, which knows the options, the errors and the help.
        for words in [
            &["hook"][..],
            &["hook", "post-commit"],
            &["hook", "PRE-COMMIT"],
            &["--color", "never", "hook", "pre-commit"],
            &["hook", "pre-commit", "--color", "never"],
            &["hook", "commit-msg", "--repo=x", "MSG"],
            &["hook", "pre-commit", "-h"],
            &["lint"],
            &["hooks", "pre-commit"],
        ] {
            assert!(Cli::hook_command(&argv(words)).is_none(), "{words:?}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let mut line = argv(&["hook", "commit-msg"]);
            line.push(std::ffi::OsString::from_vec(vec![0xff, b'm']));
            assert!(
                Cli::hook_command(&line).is_none(),
                "not UTF-8: clap's error"
            );
        }
    }
}
