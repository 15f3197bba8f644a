//! `specproof verify` (SPEC §9): runs the proofs of the chosen criteria on the working tree as
//! `git add -A` would stage it, reuses fresh pass evidence (§5.3), writes signed evidence for
//! every proof it runs (§5.1), counts failed attempts and escalates (§6.3), and appends every
//! result to the ledger.
//!
//! File and git proofs run on the calling thread (they read the content through git2, one read
//! per file however many criteria look at it); command proofs and the judge run on `jobs` worker
//! threads, where a `serial` criterion never overlaps another command.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::config::Config;
use crate::content::{Content, ContentError};
use crate::criterion::{CommandSpec, Criterion, Proof, Scope, compile_pattern};
use crate::diagnostic::{FailureCode, did_you_mean};
use crate::digest::{self, Excluded};
use crate::evidence::{self, Evidence, EvidenceError, Expected, Freshness, Key, Outcome};
use crate::lint::SNAPSHOT_DIR;
use crate::plan::Plan;
use crate::proof::command::{self, Finished, Run};
use crate::proof::files::{self, FileCache};
use crate::proof::judge::{self, CriterionRef, FileRef, JudgeConfig, Request};
use crate::proof::{self, Verdict, outcome};
use crate::state::{self, StateError};
use crate::task::{Ack, Escalation, Status, Task, TaskMeta};
use crate::task_edit;
use crate::workspace::{Reader, Workspace};

/// The tool name evidence records.
pub const TOOL: &str = concat!("specproof ", env!("CARGO_PKG_VERSION"));

/// What to verify, already checked against the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Task IDs; empty: every task that is not complete (unless `plans` is given).
    pub tasks: Vec<String>,
    /// Criterion IDs narrowing the selection.
    pub criteria: Vec<String>,
    /// Repository paths of plans whose cross-cutting and system criteria to verify.
    pub plans: Vec<String>,
    /// Re-run even where fresh pass evidence exists.
    pub force: bool,
    /// Parallel proofs; None: the config's `jobs` (0: the number of CPUs).
    pub jobs: Option<usize>,
}

/// Verify could not do its work (as opposed to a proof failing).
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("{0}")]
    Usage(String),
    #[error("specproof.yml has problems; fix them first (`specproof lint` lists them):\n{0}")]
    Config(String),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The result shown for one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowResult {
    Pass,
    Fail,
    Inconclusive,
    /// Not run: the task or criterion cannot be verified as it stands (refused, fabricated…).
    Error,
}

impl RowResult {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
            Self::Error => "error",
        }
    }
}

impl From<Outcome> for RowResult {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => Self::Pass,
            Outcome::Fail => Self::Fail,
            Outcome::Inconclusive => Self::Inconclusive,
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The task, or None for a plan-level criterion.
    pub task: Option<String>,
    /// The plan the criterion comes from.
    pub plan: Option<String>,
    pub criterion: String,
    pub proof: String,
    pub result: RowResult,
    /// Fresh pass evidence was reused: the proof did not run.
    pub cached: bool,
    pub failure_code: Option<FailureCode>,
    pub detail: String,
    pub duration_ms: u64,
    /// The evidence file written or reused.
    pub evidence: Option<String>,
    /// Why the proof ran (or why not).
    pub reason: String,
}

/// What verify changed in a task's front matter (SPEC §6.3).
#[derive(Debug, Clone, Serialize)]
pub struct TaskUpdate {
    pub task: String,
    pub file: String,
    pub attempts: u32,
    pub escalation: Option<Escalation>,
    /// The task reached human escalation and is now blocked (F6).
    pub blocked: bool,
}

/// Everything a verify run found and did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    pub tasks: Vec<TaskUpdate>,
    pub warnings: Vec<String>,
    /// Files verify could not write (the old ones are intact).
    pub errors: Vec<String>,
    /// Ctrl-C: what was cut short has no evidence.
    pub interrupted: bool,
    /// Plan-level criteria left out of a default run, per plan.
    pub plan_level_not_selected: BTreeMap<String, usize>,
}

impl Report {
    /// True when every criterion passed.
    #[must_use]
    pub fn ok(&self) -> bool {
        !self.interrupted && self.rows.iter().all(|r| r.result == RowResult::Pass)
    }
}

/// Hears about progress (a progress bar on a terminal).
pub trait Progress: Sync {
    fn start(&self, _to_run: u64) {}
    fn finished(&self, _row: &Row) {}
    /// verify waits for another run's lock, held by `holder`.
    fn waiting(&self, _holder: &str) {}
}

/// A progress that shows nothing.
#[derive(Debug)]
pub struct Silent;
impl Progress for Silent {}

/// One criterion to verify, with the owner its evidence is stored under.
struct Unit {
    owner: String,
    task: Option<String>,
    plan: String,
    iteration: u32,
    /// The snapshot's definition: proofs never run from a task's copy.
    criterion: Criterion,
    /// The task's `base`.
    task_base: Option<String>,
}

/// A unit whose proof is to run, with its digests.
struct Pending {
    row: usize,
    unit: usize,
    criterion_digest: String,
    input_digest: String,
    input_files: u64,
}

/// Loads the authoritative plans: the snapshot where one exists, else the plan file.
struct Plans<'a> {
    root: &'a Path,
    ws: &'a Workspace,
    loaded: BTreeMap<String, Option<Plan>>,
}

impl Plans<'_> {
    fn get(&mut self, plan_file: &str) -> Option<&Plan> {
        if !self.loaded.contains_key(plan_file) {
            let snapshot = format!("{SNAPSHOT_DIR}/{plan_file}");
            let reader = Reader {
                root: self.root,
                max_size: u64::MAX,
            };
            let plan = if self.root.join(&snapshot).is_file() {
                Some(reader.plan(&snapshot))
            } else if let Some(p) = self.ws.plan(plan_file) {
                Some(p.clone())
            } else if self.root.join(plan_file).is_file() {
                Some(reader.plan(plan_file))
            } else {
                None
            };
            self.loaded.insert(plan_file.to_owned(), plan);
        }
        self.loaded.get(plan_file).and_then(Option::as_ref)
    }
}

fn stem(plan_file: &str) -> String {
    let name = plan_file.rsplit('/').next().unwrap_or(plan_file);
    name.strip_suffix(".md").unwrap_or(name).to_owned()
}

fn error_row(
    task: Option<&str>,
    plan: Option<&str>,
    criterion: &str,
    code: Option<FailureCode>,
    detail: String,
) -> Row {
    Row {
        task: task.map(str::to_owned),
        plan: plan.map(str::to_owned),
        criterion: criterion.to_owned(),
        proof: "-".into(),
        result: RowResult::Error,
        cached: false,
        failure_code: code,
        detail,
        duration_ms: 0,
        evidence: None,
        reason: "not run".into(),
    }
}

/// The task's ID as the file says it (or its file name when the front matter is broken).
fn task_id(task: &Task) -> String {
    task.meta
        .as_ref()
        .map_or_else(|| task.stem.clone(), |m| m.task_id.clone())
}

/// Runs verify on the repository at `root` (`git`: its opened repository).
///
/// # Errors
/// Usage errors (unknown task, criterion or plan), a broken config, and failures to read the
/// content or take the lock. Proof failures are in the report.
pub fn verify(
    root: &Path,
    git: &git2::Repository,
    options: &Options,
    command_line: &str,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    let common_dir = git.commondir().to_path_buf();
    let _lock = state::lock(&common_dir, command_line, |holder| progress.waiting(holder))?;
    crate::interrupt::install();

    let ws = Workspace::load(root);
    if !ws.config_diagnostics.is_empty() {
        let list: Vec<String> = ws
            .config_diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(VerifyError::Config(list.join("\n")));
    }
    let config = &ws.config;
    let mut report = Report::default();
    let mut plans = Plans {
        root,
        ws: &ws,
        loaded: BTreeMap::new(),
    };
    let units = select(&ws, &mut plans, options, &mut report)?;

    let content = Content::worktree(git)?;
    let key = Key::load_or_create(&common_dir)?;
    let excluded = Excluded::new(config);
    let is_excluded = |p: &str| excluded.contains(p);

    // Cached or to run.
    let mut pending = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let c = &unit.criterion;
        let row = report.rows.len();
        let evidence_path =
            evidence::path(&config.evidence_dir, &unit.owner, unit.iteration, &c.id);
        report.rows.push(Row {
            task: unit.task.clone(),
            plan: Some(unit.plan.clone()),
            criterion: c.id.clone(),
            proof: c.kind().name().to_owned(),
            result: RowResult::Error,
            cached: false,
            failure_code: None,
            detail: String::new(),
            duration_ms: 0,
            evidence: Some(evidence_path.clone()),
            reason: String::new(),
        });
        let base = match base_of(git, unit) {
            Ok(base) => base,
            Err(e) => {
                report.rows[row].result = RowResult::Inconclusive;
                report.rows[row].failure_code = Some(FailureCode::F9);
                report.rows[row].detail = e;
                report.rows[row].evidence = None;
                report.rows[row].reason = "the base commit cannot be resolved".into();
                continue;
            }
        };
        let scope = match proof::input_scope(c, &content, &is_excluded) {
            Ok(scope) => scope,
            Err(e) => {
                report.rows[row].result = RowResult::Inconclusive;
                report.rows[row].failure_code = Some(FailureCode::F9);
                report.rows[row].detail = e;
                report.rows[row].evidence = None;
                continue;
            }
        };
        let criterion_digest = digest::criterion_digest(c);
        let input_digest = digest::scope_digest(c.kind(), scope.iter().copied(), base);
        let input_files = scope.len() as u64;
        let reason = if options.force {
            "--force".to_owned()
        } else {
            let existing = read_evidence(root, &evidence_path);
            let expected = Expected {
                task_id: &unit.owner,
                criterion_id: &c.id,
                proof: c.kind().name(),
                iteration: unit.iteration,
                criterion_digest: &criterion_digest,
                input_digest: &input_digest,
            };
            match (
                evidence::freshness(existing.as_ref(), Some(&key), &expected),
                existing,
            ) {
                (Freshness::Fresh, Some(Ok(e))) => {
                    let r = &mut report.rows[row];
                    r.result = RowResult::Pass;
                    r.cached = true;
                    r.detail = e.detail;
                    r.duration_ms = e.duration_ms;
                    r.reason = "fresh pass evidence for this content".into();
                    continue;
                }
                (Freshness::Missing { .. }, _) => "no evidence yet".to_owned(),
                (Freshness::Corrupt { reason }, _) => {
                    report.warnings.push(format!(
                        "{evidence_path}: F8: {reason}; the proof runs again"
                    ));
                    "evidence was corrupt (F8)".to_owned()
                }
                (Freshness::Suspect { reason }, _) => {
                    report.warnings.push(format!(
                        "{evidence_path}: F12: {reason}; the proof runs again"
                    ));
                    "evidence not signed here (F12)".to_owned()
                }
                (Freshness::Stale { reason }, _) => format!("stale (F11): {reason}"),
                (Freshness::Failed { reason, .. }, _) => {
                    format!("the last run did not pass: {reason}")
                }
                (Freshness::Fresh, _) => "evidence unreadable".to_owned(),
            }
        };
        report.rows[row].reason = reason;
        pending.push(Pending {
            row,
            unit: i,
            criterion_digest,
            input_digest,
            input_files,
        });
    }

    progress.start(pending.len() as u64);
    let jobs = match options.jobs.unwrap_or(config.jobs) {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let ran = run_all(
        root,
        git,
        &content,
        config,
        &units,
        &pending,
        jobs,
        &is_excluded,
        &report.rows,
        progress,
    );

    // Record what ran: evidence, rows, ledger.
    let mut ledger = Vec::new();
    for (p, result) in pending.iter().zip(ran) {
        let unit = &units[p.unit];
        let row = &mut report.rows[p.row];
        let Some((verdict, started_at, duration)) = result else {
            report.interrupted = true;
            row.result = RowResult::Error;
            row.detail = "interrupted: no evidence written".into();
            row.evidence = None;
            continue;
        };
        let mut ev = Evidence {
            schema: evidence::SCHEMA,
            task_id: unit.owner.clone(),
            criterion_id: unit.criterion.id.clone(),
            iteration: unit.iteration,
            proof: unit.criterion.kind().name().to_owned(),
            result: verdict.outcome,
            detail: verdict.detail.clone(),
            output: verdict.output.clone(),
            exit_code: verdict.exit_code,
            criterion_digest: p.criterion_digest.clone(),
            input_digest: p.input_digest.clone(),
            input_files: p.input_files,
            failure_code: verdict.failure_code,
            started_at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            tool: TOOL.to_owned(),
            signature: String::new(),
        };
        key.sign(&mut ev);
        row.result = verdict.outcome.into();
        row.failure_code = verdict.failure_code;
        row.detail = verdict.detail;
        row.duration_ms = ev.duration_ms;
        if let (Some(path), false) = (&row.evidence, crate::interrupt::interrupted()) {
            if let Err(e) = evidence::write(root, path, &ev) {
                report.errors.push(e.to_string());
                row.evidence = None;
            }
        } else {
            row.evidence = None;
        }
        ledger.push(serde_json::json!({
            "at": ev.started_at,
            "event": "proof",
            "task": unit.task,
            "owner": unit.owner,
            "criterion": unit.criterion.id,
            "iteration": unit.iteration,
            "proof": ev.proof,
            "result": ev.result,
            "failure_code": ev.failure_code,
            "duration_ms": ev.duration_ms,
            "input_digest": ev.input_digest,
            "evidence": row.evidence,
        }));
    }
    for row in report
        .rows
        .iter()
        .filter(|r| r.result == RowResult::Error && r.failure_code.is_some())
    {
        ledger.push(serde_json::json!({
            "at": state::now(),
            "event": "refused",
            "task": row.task,
            "criterion": row.criterion,
            "failure_code": row.failure_code,
            "detail": row.detail,
        }));
    }

    if !report.interrupted {
        escalate(
            root,
            &ws,
            &report.rows,
            &mut report.tasks,
            &mut report.errors,
            &mut ledger,
        );
    }
    if let Err(e) = state::append_ledger(&common_dir, &ledger) {
        report.errors.push(e.to_string());
    }
    Ok(report)
}

fn read_evidence(root: &Path, rel: &str) -> Option<Result<Evidence, EvidenceError>> {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => Some(evidence::parse(rel, &bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(EvidenceError::Corrupt {
            path: rel.to_owned(),
            reason: format!("cannot be read: {e}"),
        })),
    }
}

/// The base commit of a git proof: its `base` arg, else the task's `base`, else HEAD.
fn base_of(git: &git2::Repository, unit: &Unit) -> Result<Option<git2::Oid>, String> {
    let base = match &unit.criterion.proof {
        Proof::GitDiffContains { base, .. } | Proof::LineCountDelta { base, .. } => base.clone(),
        _ => return Ok(None),
    };
    let base = base
        .or_else(|| unit.task_base.clone())
        .unwrap_or_else(|| "HEAD".to_owned());
    proof::git::resolve_base(git, &base).map(Some).map_err(|e| {
        if base == "HEAD" {
            "the repository has no commit yet, and a git proof compares with a base commit: commit first, or give the criterion a `base`".to_owned()
        } else {
            e
        }
    })
}

/// Chooses the criteria to verify. Tasks and criteria that cannot be verified as they stand
/// become error rows in `report`.
fn select(
    ws: &Workspace,
    plans: &mut Plans<'_>,
    options: &Options,
    report: &mut Report,
) -> Result<Vec<Unit>, VerifyError> {
    let all_ids: Vec<String> = ws.tasks.iter().map(task_id).collect();
    for name in &options.tasks {
        if !all_ids.contains(name) {
            let hint = did_you_mean(name, all_ids.iter().map(String::as_str))
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(VerifyError::Usage(format!(
                "no task {name} in {}{hint}",
                ws.config.tasks_dir
            )));
        }
    }
    for plan in &options.plans {
        if plans.get(plan).is_none() {
            let known: Vec<&str> = ws.plans.iter().map(|p| p.path.as_str()).collect();
            let hint = did_you_mean(plan, known.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(VerifyError::Usage(format!("no plan {plan}{hint}")));
        }
    }
    let wanted = |id: &str| options.criteria.is_empty() || options.criteria.iter().any(|c| c == id);
    let holds_wanted = |t: &Task| t.criteria_ids.iter().any(|(id, _)| wanted(id));

    let default_run = options.tasks.is_empty() && options.plans.is_empty();
    let mut units = Vec::new();
    for task in &ws.tasks {
        let id = task_id(task);
        let named = options.tasks.contains(&id);
        let chosen = named || (default_run && (options.criteria.is_empty() || holds_wanted(task)));
        if !chosen {
            continue;
        }
        let Some(meta) = &task.meta else {
            let why = task.diagnostics.first().map_or_else(
                || "front matter does not parse".to_owned(),
                ToString::to_string,
            );
            report.rows.push(error_row(
                Some(&id),
                None,
                "-",
                Some(FailureCode::F8),
                format!("{}: cannot verify: {why}", task.path),
            ));
            continue;
        };
        if meta.status == Status::Complete {
            if named {
                report.rows.push(error_row(
                    Some(&id),
                    Some(&meta.plan_file),
                    "-",
                    None,
                    format!("{id} is complete: its committed evidence is final and verify does not rewrite it"),
                ));
            }
            continue;
        }
        if meta.escalation == Some(Escalation::Human) {
            report.rows.push(error_row(
                Some(&id),
                Some(&meta.plan_file),
                "-",
                Some(FailureCode::F6),
                format!(
                    "{id} was escalated to a person after {} failed attempts: verify is refused until `specproof escalate --ack {id} --by NAME --note TEXT` records a decision",
                    meta.attempts_since_ack()
                ),
            ));
            continue;
        }
        units.extend(task_units(task, meta, plans, &wanted, report));
    }

    // Plan-level criteria: named plans, or named criteria that live at plan level.
    let mut plan_files: BTreeSet<String> = options.plans.iter().cloned().collect();
    if options.tasks.is_empty() && !options.criteria.is_empty() {
        for plan in &ws.plans {
            if plan
                .criteria
                .iter()
                .any(|c| c.scope != Scope::Task && wanted(&c.id))
            {
                plan_files.insert(plan.path.clone());
            }
        }
    }
    for plan_file in &plan_files {
        let iteration = ws
            .tasks
            .iter()
            .filter_map(|t| t.meta.as_ref())
            .filter(|m| &m.plan_file == plan_file)
            .map(|m| m.iteration)
            .max()
            .unwrap_or(1);
        let Some(plan) = plans.get(plan_file) else {
            continue;
        };
        if let Some(problem) = plan.diagnostics.first() {
            report.rows.push(error_row(
                None,
                Some(plan_file),
                "-",
                Some(FailureCode::F8),
                format!("cannot verify: {problem}"),
            ));
            continue;
        }
        for c in plan
            .criteria
            .iter()
            .filter(|c| c.scope != Scope::Task && wanted(&c.id))
        {
            units.push(Unit {
                owner: format!("_plan/{}", stem(plan_file)),
                task: None,
                plan: plan_file.clone(),
                iteration,
                criterion: c.clone(),
                task_base: None,
            });
        }
    }
    if default_run && options.criteria.is_empty() {
        for plan in &ws.plans {
            let n = plan
                .criteria
                .iter()
                .filter(|c| c.scope != Scope::Task)
                .count();
            if n > 0 {
                report.plan_level_not_selected.insert(plan.path.clone(), n);
            }
        }
    }

    for name in &options.criteria {
        let found = units.iter().any(|u| &u.criterion.id == name)
            || report.rows.iter().any(|r| &r.criterion == name);
        if !found {
            let known: BTreeSet<&str> = ws
                .plans
                .iter()
                .flat_map(|p| p.criteria.iter().map(|c| c.id.as_str()))
                .collect();
            let hint = did_you_mean(name, known.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(VerifyError::Usage(format!(
                "criterion {name} is in none of the tasks or plans chosen{hint}; complete tasks are left out"
            )));
        }
    }
    Ok(units)
}

/// The units of one task, and error rows for criteria it cannot run.
fn task_units(
    task: &Task,
    meta: &TaskMeta,
    plans: &mut Plans<'_>,
    wanted: &dyn Fn(&str) -> bool,
    report: &mut Report,
) -> Vec<Unit> {
    let id = meta.task_id.as_str();
    let plan_file = meta.plan_file.as_str();
    let root = plans.root;
    let Some(plan) = plans.get(plan_file) else {
        report.rows.push(error_row(
            Some(id),
            Some(plan_file),
            "-",
            Some(FailureCode::F8),
            format!("{}: plan_file {plan_file} does not exist", task.path),
        ));
        return Vec::new();
    };
    if let Some(problem) = plan.diagnostics.first() {
        report.rows.push(error_row(
            Some(id),
            Some(plan_file),
            "-",
            Some(FailureCode::F8),
            format!("cannot verify: {problem}"),
        ));
        return Vec::new();
    }
    if plan.path != plan_file {
        // The snapshot stands for the plan: a plan that differs from it is drift (§8).
        let (a, b) = (
            std::fs::read(root.join(plan_file)),
            std::fs::read(root.join(&plan.path)),
        );
        if let (Ok(a), Ok(b)) = (a, b)
            && a != b
        {
            let warning = format!(
                "{plan_file}: F14: the plan differs from its snapshot {}: proofs run from the snapshot; take a new one with `specproof snapshot {plan_file}` if the change is meant",
                plan.path
            );
            if !report.warnings.contains(&warning) {
                report.warnings.push(warning);
            }
        }
    }
    if task.criteria_ids.is_empty() {
        report.warnings.push(format!(
            "{}: task {id} has no criteria in its Acceptance Criteria block: nothing to verify",
            task.path
        ));
    }
    let mut units = Vec::new();
    for (cid, _) in task.criteria_ids.iter().filter(|(c, _)| wanted(c)) {
        let Some(def) = plan.criterion(cid) else {
            let known: Vec<&str> = plan.criteria.iter().map(|c| c.id.as_str()).collect();
            let hint = did_you_mean(cid, known.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            report.rows.push(error_row(
                Some(id),
                Some(plan_file),
                cid,
                Some(FailureCode::F2),
                format!("fabricated: {} has no criterion {cid}{hint}; copy criteria from the plan, never invent them", plan.path),
            ));
            continue;
        };
        if def.scope != Scope::Task {
            report.rows.push(error_row(
                Some(id),
                Some(plan_file),
                cid,
                Some(FailureCode::F16),
                format!(
                    "{} criterion in a task: remove it from {}; it is verified at plan level with `specproof verify --plan {plan_file}`",
                    def.scope.name(),
                    task.path
                ),
            ));
            continue;
        }
        if let Some(copy) = task.criteria.iter().find(|c| &c.id == cid) {
            let diff = def.differences(copy);
            if !diff.is_empty() {
                report.warnings.push(format!(
                    "{}: F14: task {id} criterion {cid}: the task's copy differs from {} ({}); the proof ran from the plan's definition",
                    task.path,
                    plan.path,
                    diff.join("; ")
                ));
            }
        }
        units.push(Unit {
            owner: id.to_owned(),
            task: Some(id.to_owned()),
            plan: plan_file.to_owned(),
            iteration: meta.iteration,
            criterion: def.clone(),
            task_base: meta.base.clone(),
        });
    }
    units
}

/// How a command proof judges its finished command, given the timeout in seconds.
type Judgement = Box<dyn FnOnce(&Finished, u64) -> Verdict + Send>;

/// Work for a worker thread.
enum Job {
    Command {
        run: Run,
        serial: bool,
        timeout_secs: u64,
        judge: Judgement,
    },
    Judge {
        config: JudgeConfig,
        task: String,
        id: String,
        description: String,
        rubric: Vec<String>,
        files: Vec<FileRef>,
    },
}

type Ran = Option<(Verdict, String, Duration)>;

/// Runs every pending proof; None for one cut short by Ctrl-C.
#[allow(clippy::too_many_arguments)]
fn run_all(
    root: &Path,
    git: &git2::Repository,
    content: &Content<'_>,
    config: &Config,
    units: &[Unit],
    pending: &[Pending],
    jobs: usize,
    excluded: &dyn Fn(&str) -> bool,
    rows: &[Row],
    progress: &dyn Progress,
) -> Vec<Ran> {
    let mut results: Vec<Ran> = (0..pending.len()).map(|_| None).collect();
    let cache = FileCache::default();
    let max_size = config.max_file_size.0;
    let mut queue = VecDeque::new();
    let mut local = Vec::new();
    for (i, p) in pending.iter().enumerate() {
        let unit = &units[p.unit];
        match job(root, content, config, unit, &cache) {
            Some(job) => queue.push_back((i, job)),
            None => local.push(i),
        }
    }
    // Serial commands run alone, after the parallel ones, one at a time.
    let (serial, parallel): (Vec<_>, Vec<_>) = queue
        .into_iter()
        .partition(|(_, job)| matches!(job, Job::Command { serial: true, .. }));
    let queue = Mutex::new(VecDeque::from(parallel));
    let done = |i: usize, ran: &Ran| {
        if let Some((v, _, d)) = ran {
            let mut row = rows[pending[i].row].clone();
            row.result = v.outcome.into();
            row.failure_code = v.failure_code;
            row.detail.clone_from(&v.detail);
            row.duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            progress.finished(&row);
        }
    };
    let (tx, rx) = mpsc::channel::<(usize, Ran)>();
    std::thread::scope(|s| {
        let workers = jobs.max(1).min(queue.lock().map_or(0, |q| q.len()));
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, done) = (&queue, &done);
            s.spawn(move || {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((i, job)) = next else { break };
                    let ran = if crate::interrupt::interrupted() {
                        None
                    } else {
                        run_job(job)
                    };
                    done(i, &ran);
                    if tx.send((i, ran)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for i in local {
            if crate::interrupt::interrupted() {
                break;
            }
            let unit = &units[pending[i].unit];
            let started_at = state::now();
            let t = Instant::now();
            let verdict = run_local(git, content, unit, excluded, &cache, max_size);
            let ran = Some((verdict, started_at, t.elapsed()));
            done(i, &ran);
            results[i] = ran;
        }
        for (i, ran) in rx {
            results[i] = ran;
        }
    });
    for (i, job) in serial {
        if crate::interrupt::interrupted() {
            break;
        }
        let ran = run_job(job);
        done(i, &ran);
        results[i] = ran;
    }
    results
}

fn run_job(job: Job) -> Ran {
    let started_at = state::now();
    let t = Instant::now();
    match job {
        Job::Command {
            run,
            timeout_secs,
            judge,
            ..
        } => {
            let finished = command::run(&run);
            let verdict = match finished {
                Ok(f) if f.interrupted => return None,
                Ok(f) => judge(&f, timeout_secs),
                Err(e) => Verdict::broken(e.to_string()),
            };
            Some((verdict, started_at, t.elapsed()))
        }
        Job::Judge {
            config,
            task,
            id,
            description,
            rubric,
            files,
        } => {
            let request = Request {
                criterion: CriterionRef {
                    id: &id,
                    description: &description,
                },
                rubric: &rubric,
                files,
            };
            let verdict = judge::judge(&config, &task, &request);
            if crate::interrupt::interrupted() {
                return None;
            }
            Some((verdict, started_at, t.elapsed()))
        }
    }
}

/// The job of a command proof or a judge; None for a proof that runs on the calling thread.
fn job(
    root: &Path,
    content: &Content<'_>,
    config: &Config,
    unit: &Unit,
    cache: &FileCache,
) -> Option<Job> {
    let c = &unit.criterion;
    let task = unit.task.clone().unwrap_or_else(|| unit.owner.clone());
    let run = |spec: &CommandSpec| {
        let secs = spec.timeout.or(c.timeout).unwrap_or(config.command_timeout);
        let dir: PathBuf = spec
            .cwd
            .as_deref()
            .map_or_else(|| root.to_path_buf(), |d| root.join(d));
        (
            Run {
                command: spec.command.clone(),
                dir,
                env: spec.env.clone(),
                task: task.clone(),
                criterion: c.id.clone(),
                timeout: Duration::from_secs(secs),
                input: None,
            },
            secs,
        )
    };
    let command = |spec: &CommandSpec, judge: Judgement| {
        let (run, timeout_secs) = run(spec);
        Some(Job::Command {
            run,
            serial: c.serial,
            timeout_secs,
            judge,
        })
    };
    match &c.proof {
        Proof::BuildsClean { run } => command(run, Box::new(outcome::builds_clean)),
        Proof::TestPasses {
            run,
            min_tests,
            expect,
        } => {
            let (min, expect) = (*min_tests, expect.clone());
            command(
                run,
                Box::new(move |f, t| outcome::test_passes(f, t, min, &expect)),
            )
        }
        Proof::CommandOutputMatches {
            run,
            pattern,
            stream,
            exit,
        } => {
            let (stream, exit) = (*stream, *exit);
            match compile_pattern(pattern) {
                Ok(regex) => command(
                    run,
                    Box::new(move |f, t| {
                        outcome::command_output_matches(f, t, &regex, stream, exit)
                    }),
                ),
                Err(e) => {
                    let detail = format!("invalid regex {pattern:?}: {e}");
                    command(run, Box::new(move |_, _| Verdict::broken(detail)))
                }
            }
        }
        Proof::SemanticMatch { rubric, paths } => {
            let mut files = Vec::new();
            let mut seen = BTreeSet::new();
            for glob in paths {
                for entry in files::matching(content, glob).unwrap_or_default() {
                    if !seen.insert(entry.path.clone()) {
                        continue;
                    }
                    if content
                        .size(entry)
                        .is_ok_and(|n| n > config.max_file_size.0)
                    {
                        files.push((
                            entry.path.clone(),
                            b"[over max_file_size: not sent]".to_vec(),
                        ));
                        continue;
                    }
                    let bytes = cache
                        .read_entry(content, entry)
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    files.push((entry.path.clone(), bytes));
                }
            }
            Some(Job::Judge {
                config: JudgeConfig {
                    command: config.judge.command.clone(),
                    min_confidence: config.judge.min_confidence,
                    timeout: Duration::from_secs(c.timeout.unwrap_or(config.command_timeout)),
                    dir: root.to_path_buf(),
                },
                task,
                id: c.id.clone(),
                description: c.description.clone(),
                rubric: rubric.clone(),
                files: judge::cap_files(files),
            })
        }
        _ => None,
    }
}

/// A file or git proof, on the calling thread.
fn run_local(
    git: &git2::Repository,
    content: &Content<'_>,
    unit: &Unit,
    excluded: &dyn Fn(&str) -> bool,
    cache: &FileCache,
    max_size: u64,
) -> Verdict {
    match &unit.criterion.proof {
        Proof::FileExists { path, min } => files::file_exists(content, path, *min),
        Proof::PatternMatches { path, pattern, min } => {
            files::pattern_matches(content, path, pattern, *min, cache, max_size)
        }
        Proof::NoPatternExists { pattern, path } => {
            files::no_pattern_exists(content, pattern, path.as_deref(), excluded, cache, max_size)
        }
        Proof::GitDiffContains { pattern, path, .. } => match base_of(git, unit) {
            Ok(Some(base)) => proof::git::git_diff_contains(
                git,
                content,
                pattern,
                path.as_deref(),
                base,
                excluded,
                cache,
            ),
            Ok(None) | Err(_) => Verdict::broken("no base commit".into()),
        },
        Proof::LineCountDelta { path, min, max, .. } => match base_of(git, unit) {
            Ok(Some(base)) => {
                proof::git::line_count_delta(git, content, path, *min, *max, base, cache)
            }
            Ok(None) | Err(_) => Verdict::broken("no base commit".into()),
        },
        _ => Verdict::broken(format!(
            "{} is not a file or git proof",
            unit.criterion.kind().name()
        )),
    }
}

/// SPEC §6.3: a task with a failing criterion gets `attempts` + 1 and its escalation level; at
/// human it is blocked.
fn escalate(
    root: &Path,
    ws: &Workspace,
    rows: &[Row],
    updates: &mut Vec<TaskUpdate>,
    errors: &mut Vec<String>,
    ledger: &mut Vec<serde_json::Value>,
) {
    let failed: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.cached && matches!(r.result, RowResult::Fail | RowResult::Inconclusive))
        .filter_map(|r| r.task.as_deref())
        .collect();
    for id in failed {
        let Some(task) = ws.tasks.iter().find(|t| task_id(t) == id) else {
            continue;
        };
        match bump_attempts(root, &task.path) {
            Ok(update) => {
                ledger.push(serde_json::json!({
                    "at": state::now(),
                    "event": "attempt",
                    "task": id,
                    "attempts": update.attempts,
                    "escalation": update.escalation,
                    "failure_code": update.blocked.then_some(FailureCode::F6),
                }));
                updates.push(update);
            }
            Err(e) => errors.push(format!(
                "{}: cannot record the failed attempt: {e}; the file was not changed",
                task.path
            )),
        }
    }
}

/// The escalation level after `attempts` failed attempts since the last acknowledgement.
#[must_use]
pub fn level(attempts: u32) -> Option<Escalation> {
    match attempts {
        0 => None,
        1 => Some(Escalation::Retry),
        2 => Some(Escalation::Decompose),
        3 => Some(Escalation::Reassign),
        _ => Some(Escalation::Human),
    }
}

fn escalation_text(e: Option<Escalation>) -> &'static str {
    match e {
        None => "null",
        Some(Escalation::Retry) => "retry",
        Some(Escalation::Decompose) => "decompose",
        Some(Escalation::Reassign) => "reassign",
        Some(Escalation::Human) => "human",
    }
}

/// Reads the task file as it is now and writes `attempts`, `escalation` and, at human, `status`.
fn bump_attempts(root: &Path, rel: &str) -> Result<TaskUpdate, String> {
    let bytes = std::fs::read(root.join(rel)).map_err(|e| e.to_string())?;
    let src = String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_owned())?;
    let task = Task::parse(rel, src.as_bytes(), crate::criterion::Ctx::default());
    let mut meta = task.meta.ok_or("its front matter does not parse")?;
    meta.attempts += 1;
    meta.escalation = level(meta.attempts_since_ack());
    let blocked = meta.escalation == Some(Escalation::Human);
    let mut text = task_edit::set_field(&src, "attempts", &meta.attempts.to_string())?;
    text = task_edit::set_field(&text, "escalation", escalation_text(meta.escalation))?;
    if blocked && meta.status != Status::Blocked {
        meta.status = Status::Blocked;
        text = task_edit::set_field(&text, "status", "blocked")?;
    }
    task_edit::check(rel, &text, &meta)?;
    task_edit::write(root, rel, &text).map_err(|e| e.to_string())?;
    Ok(TaskUpdate {
        task: meta.task_id,
        file: rel.to_owned(),
        attempts: meta.attempts,
        escalation: meta.escalation,
        blocked,
    })
}

/// What `specproof escalate --ack` did.
#[derive(Debug, Clone, Serialize)]
pub struct AckOutcome {
    pub task: String,
    pub file: String,
    pub previous: Option<Escalation>,
    pub status: Status,
}

/// `specproof escalate --ack T --by NAME --note TEXT`: records the decision in the task's
/// `acks`, clears `escalation`, and moves a blocked task back to `in_progress`.
///
/// # Errors
/// Unknown task, a task that is not escalated, or a file that cannot be edited.
pub fn acknowledge(
    root: &Path,
    git: &git2::Repository,
    id: &str,
    by: &str,
    note: &str,
) -> Result<AckOutcome, VerifyError> {
    let common_dir = git.commondir().to_path_buf();
    let _lock = state::lock(&common_dir, "specproof escalate", |_| {})?;
    let ws = Workspace::load(root);
    let ids: Vec<String> = ws.tasks.iter().map(task_id).collect();
    let Some(task) = ws.tasks.iter().find(|t| task_id(t) == id) else {
        let hint = did_you_mean(id, ids.iter().map(String::as_str))
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        return Err(VerifyError::Usage(format!(
            "no task {id} in {}{hint}",
            ws.config.tasks_dir
        )));
    };
    if by.trim().is_empty() || note.trim().is_empty() {
        return Err(VerifyError::Usage(
            "--by and --note must say who decided and what: an acknowledgement is a record".into(),
        ));
    }
    let usage = |m: String| VerifyError::Usage(format!("{}: {m}", task.path));
    let src = std::fs::read_to_string(root.join(&task.path)).map_err(|e| usage(e.to_string()))?;
    let parsed = Task::parse(&task.path, src.as_bytes(), crate::criterion::Ctx::default());
    let Some(mut meta) = parsed.meta else {
        return Err(usage(
            "its front matter does not parse: run `specproof lint`".into(),
        ));
    };
    let Some(previous) = meta.escalation else {
        return Err(usage(format!(
            "{id} is not escalated (no failed attempt since the last acknowledgement): nothing to acknowledge"
        )));
    };
    let ack = Ack {
        by: by.to_owned(),
        at: state::now(),
        note: note.to_owned(),
        attempts: meta.attempts,
    };
    let mut text = task_edit::append_ack(&src, &ack).map_err(&usage)?;
    meta.acks.push(ack.clone());
    meta.escalation = None;
    text = task_edit::set_field(&text, "escalation", "null").map_err(&usage)?;
    if meta.status == Status::Blocked {
        meta.status = Status::InProgress;
        text = task_edit::set_field(&text, "status", "in_progress").map_err(&usage)?;
    }
    task_edit::check(&task.path, &text, &meta).map_err(&usage)?;
    task_edit::write(root, &task.path, &text).map_err(|e| usage(format!("cannot write: {e}")))?;
    state::append_ledger(
        &common_dir,
        &[
            serde_json::json!({"at": state::now(), "event": "ack", "task": id, "previous": previous, "ack": ack}),
        ],
    )?;
    Ok(AckOutcome {
        task: id.to_owned(),
        file: task.path.clone(),
        previous: Some(previous),
        status: meta.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_climbs_one_level_per_failed_attempt() {
        assert_eq!(level(0), None);
        assert_eq!(level(1), Some(Escalation::Retry));
        assert_eq!(level(2), Some(Escalation::Decompose));
        assert_eq!(level(3), Some(Escalation::Reassign));
        assert_eq!(level(4), Some(Escalation::Human));
        assert_eq!(level(9), Some(Escalation::Human));
    }
}
