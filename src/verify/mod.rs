//! `specproof verify` (SPEC §9): runs the proofs of the chosen criteria on the working tree as
//! `git add -A` would stage it, reuses fresh pass evidence (§5.3), writes signed evidence for
//! every proof it runs (§5.1), counts failed attempts and escalates (§6.3), and appends every
//! result to the ledger.
//!
//! File and git proofs run on the calling thread (they read the content through git2, one read
//! per file however many criteria look at it); command proofs and the judge run on `jobs` worker
//! threads, where a `serial` criterion never overlaps another command.

mod escalate;
mod run;
mod select;
mod shard;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::content::{Content, ContentError};
use crate::criterion::{Criterion, Proof};
use crate::diagnostic::FailureCode;
use crate::digest::{self, Excluded};
use crate::evidence::{self, Evidence, EvidenceError, Expected, Freshness, Key, Outcome};
use crate::proof;
use crate::state::{self, StateError};
use crate::task::Escalation;
use crate::workspace::Workspace;

pub use escalate::{AckOutcome, acknowledge, level};
pub use shard::{Shard, ShardReport, split};

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
    /// Run only this shard of the selected criteria (`--shard K/N`).
    pub shard: Option<Shard>,
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
    /// `--shard K/N`: which shard ran, and how many criteria it held of all the shards'.
    pub shard: Option<ShardReport>,
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

fn stem(plan_file: &str) -> String {
    crate::lint::plan_stem(plan_file).to_owned()
}

/// The owner plan-level evidence of `plan_file` is stored under: `_plan/<plan stem>`.
#[must_use]
pub fn plan_owner(plan_file: &str) -> String {
    format!("_plan/{}", stem(plan_file))
}

/// The iteration of plan-level evidence of `plan_file`: the highest `iteration` among the
/// plan's tasks, 1 when it has none.
#[must_use]
pub fn plan_iteration(ws: &Workspace, plan_file: &str) -> u32 {
    ws.tasks
        .iter()
        .filter_map(|t| t.meta.as_ref())
        .filter(|m| m.plan_file == plan_file)
        .map(|m| m.iteration)
        .max()
        .unwrap_or(1)
}

/// The digests fresh evidence of a criterion must carry for a content (SPEC §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// Of the definition's proof, args and inputs.
    pub criterion: String,
    /// Of the files in the criterion's input scope (and the base commit of a git proof).
    pub input: String,
    /// How many files the input scope holds.
    pub input_files: u64,
}

/// The digests of `criterion` (the snapshot's definition) on `content`, for a task whose
/// `base` is `task_base` (None for plan-level criteria): what verify writes into evidence and
/// what evidence must match to be fresh.
///
/// # Errors
/// A message when the proof's inputs cannot be found: an invalid glob, or a base commit that
/// does not resolve.
pub fn digests(
    git: &git2::Repository,
    content: &Content<'_>,
    criterion: &Criterion,
    task_base: Option<&str>,
    excluded: &dyn Fn(&str) -> bool,
) -> Result<Digests, String> {
    let base = base_commit(git, criterion, task_base)?;
    let scope = proof::input_scope(criterion, content, excluded)?;
    Ok(Digests {
        criterion: digest::criterion_digest(criterion),
        input: digest::scope_digest(criterion.kind(), scope.iter().copied(), base),
        input_files: scope.len() as u64,
    })
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
    // From here on Ctrl-C is caught: the scratch index is cleaned up, proofs' commands are
    // stopped, and nothing is half-written.
    crate::interrupt::install();

    // Plans and tasks are read on another thread while git works out the working tree: the two
    // are independent and each takes a good part of a cached run.
    let (ws, content) = std::thread::scope(|s| {
        let loading = s.spawn(|| Workspace::load_with(root, true));
        let content = Content::worktree(git);
        let ws = loading
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (ws, content)
    });
    // A broken specproof.yml stops verify; a folder that cannot be read or a link out of the
    // repository is only a warning here (lint reports it as a problem).
    let (fatal, other): (Vec<_>, Vec<_>) = ws
        .config_diagnostics
        .iter()
        .partition(|d| d.file == crate::config::FILE);
    if !fatal.is_empty() {
        let list: Vec<String> = fatal.iter().map(ToString::to_string).collect();
        return Err(VerifyError::Config(list.join("\n")));
    }
    let config = &ws.config;
    let mut report = Report {
        warnings: other.iter().map(ToString::to_string).collect(),
        ..Report::default()
    };
    let mut units = select::select(root, &ws, options, &mut report)?;
    if let Some(shard) = options.shard {
        // Only this shard's criteria run or are reported; the others belong to other jobs.
        shard::keep(shard, &mut units, &mut report);
    }

    if crate::interrupt::interrupted() {
        // Ctrl-C while git worked out the working tree: nothing was run or written.
        report.interrupted = true;
        return Ok(report);
    }
    let content = content?;
    report.warnings.extend(content.notes().iter().cloned());
    if !content.skipped().is_empty() {
        report.warnings.push(format!(
            "{} {} not UTF-8, so no proof can name or read {}: {}; rename {}",
            content.skipped().len(),
            if content.skipped().len() == 1 {
                "file name is"
            } else {
                "file names are"
            },
            if content.skipped().len() == 1 {
                "it"
            } else {
                "them"
            },
            content.skipped().join(", "),
            if content.skipped().len() == 1 {
                "it"
            } else {
                "them"
            },
        ));
    }
    let key = Key::load_or_create(&common_dir)?;
    let excluded = Excluded::new(config);
    let is_excluded = |p: &str| excluded.contains(p);

    // The evidence files are read and their signatures checked on other threads while this one
    // computes the digests (they need the content, which stays on this thread); then each
    // criterion is cached or to run.
    let paths: Vec<String> = units
        .iter()
        .map(|u| evidence::path(&config.evidence_dir, &u.owner, u.iteration, &u.criterion.id))
        .collect();
    let (candidates, prefetched) = std::thread::scope(|s| {
        let reading = (!options.force).then(|| s.spawn(|| prefetch(root, &key, &paths)));
        let mut candidates = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            let c = &unit.criterion;
            let row = report.rows.len();
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
                evidence: Some(paths[i].clone()),
                reason: String::new(),
            });
            let digests = digests(git, &content, c, unit.task_base.as_deref(), &is_excluded);
            let digests = match digests {
                Ok(found) => found,
                Err(e) => {
                    let r = &mut report.rows[row];
                    r.result = RowResult::Inconclusive;
                    r.failure_code = Some(FailureCode::F9);
                    r.detail = e;
                    r.evidence = None;
                    r.reason = "the proof's inputs cannot be found".into();
                    continue;
                }
            };
            candidates.push(Pending {
                row,
                unit: i,
                criterion_digest: digests.criterion,
                input_digest: digests.input,
                input_files: digests.input_files,
            });
        }
        let prefetched = reading.map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        (candidates, prefetched)
    });
    let verdicts: Vec<(Freshness, Option<Evidence>)> = match prefetched {
        None => Vec::new(),
        Some(mut read) => candidates
            .iter()
            .map(|p| {
                let unit = &units[p.unit];
                let c = &unit.criterion;
                let (existing, signed) = std::mem::take(&mut read[p.unit]);
                let expected = Expected {
                    task_id: &unit.owner,
                    criterion_id: &c.id,
                    proof: c.kind().name(),
                    iteration: unit.iteration,
                    criterion_digest: &p.criterion_digest,
                    input_digest: &p.input_digest,
                };
                // The signature was checked while reading; an unsigned file is judged with the
                // key again, which makes it suspect.
                let key = (!signed).then_some(&key);
                let verdict = evidence::freshness(existing.as_ref(), key, &expected);
                (verdict, existing.and_then(Result::ok))
            })
            .collect(),
    };
    let mut pending = Vec::new();
    let mut bad_evidence = Vec::new();
    for (n, p) in candidates.into_iter().enumerate() {
        let evidence_path = report.rows[p.row].evidence.clone().unwrap_or_default();
        let reason = match verdicts.get(n) {
            None => "--force".to_owned(),
            Some((Freshness::Fresh, Some(e))) => {
                let r = &mut report.rows[p.row];
                r.result = RowResult::Pass;
                r.cached = true;
                r.detail.clone_from(&e.detail);
                r.duration_ms = e.duration_ms;
                r.reason = "fresh pass evidence for this content".into();
                continue;
            }
            Some((Freshness::Missing { .. }, _)) => "no evidence yet".to_owned(),
            Some((Freshness::Corrupt { reason }, _)) => {
                report.warnings.push(format!(
                    "{evidence_path}: F8: {reason}; the proof runs again"
                ));
                bad_evidence.push((FailureCode::F8, evidence_path.clone(), reason.clone()));
                "evidence was corrupt (F8)".to_owned()
            }
            Some((Freshness::Suspect { reason }, _)) => {
                report.warnings.push(format!(
                    "{evidence_path}: F12: {reason}; the proof runs again"
                ));
                bad_evidence.push((FailureCode::F12, evidence_path.clone(), reason.clone()));
                "evidence not signed here (F12)".to_owned()
            }
            Some((Freshness::Stale { reason }, _)) => format!("stale (F11): {reason}"),
            Some((Freshness::Failed { reason, .. }, _)) => {
                format!("the last run did not pass: {reason}")
            }
            Some((Freshness::Fresh, None)) => "evidence unreadable".to_owned(),
        };
        report.rows[p.row].reason = reason;
        pending.push(p);
    }

    progress.start(pending.len() as u64);
    let jobs = match options.jobs.unwrap_or(config.jobs) {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let ran = run::run_all(
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
        // A proof that finished has whole evidence, also when Ctrl-C came after it.
        if let Some(path) = &row.evidence
            && let Err(e) = evidence::write(root, path, &ev)
        {
            report.errors.push(e.to_string());
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
    // What did not run but carries a code (refusals, fabricated criteria, a base that cannot be
    // resolved), and evidence found corrupt or suspect: on the record too.
    let ran_rows: std::collections::BTreeSet<usize> = pending.iter().map(|p| p.row).collect();
    let at = state::now();
    for (i, row) in report.rows.iter().enumerate() {
        if ran_rows.contains(&i) || row.cached || row.failure_code.is_none() {
            continue;
        }
        ledger.push(serde_json::json!({
            "at": at,
            "event": "not_run",
            "task": row.task,
            "criterion": row.criterion,
            "result": row.result,
            "failure_code": row.failure_code,
            "detail": row.detail,
        }));
    }
    for (code, path, reason) in &bad_evidence {
        ledger.push(serde_json::json!({
            "at": at,
            "event": "evidence",
            "evidence": path,
            "failure_code": code,
            "detail": reason,
        }));
    }

    if !report.interrupted {
        escalate::escalate(
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

/// Reads every evidence file of `paths` and checks its signature, on every CPU but one (this
/// runs beside the digest computation): for each, the parsed file (None: no file) and whether
/// its signature verifies.
fn prefetch(
    root: &Path,
    key: &Key,
    paths: &[String],
) -> Vec<(Option<Result<Evidence, EvidenceError>>, bool)> {
    let read = |path: &String| {
        let existing = read_evidence(root, path);
        let signed = matches!(&existing, Some(Ok(e)) if key.verify(e));
        (existing, signed)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .saturating_sub(1)
        .max(1);
    let chunk = paths.len().div_ceil(threads).max(64);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(read).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                // A panic in a reader thread is a bug; carry it on rather than lose results.
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    })
}

/// Reads the evidence file at repository path `rel` of the working tree at `root`: None when
/// there is none, an error when it cannot be read or parsed (corrupt, F8).
#[must_use]
pub fn read_evidence(root: &Path, rel: &str) -> Option<Result<Evidence, EvidenceError>> {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => Some(evidence::parse(rel, &bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(EvidenceError::Corrupt {
            path: rel.to_owned(),
            reason: format!("cannot be read: {e}"),
        })),
    }
}

/// The base commit of a unit's git proof (see [`base_commit`]).
fn base_of(git: &git2::Repository, unit: &Unit) -> Result<Option<git2::Oid>, String> {
    base_commit(git, &unit.criterion, unit.task_base.as_deref())
}

/// The base commit of a git proof: its `base` arg, else the task's `base`, else HEAD; None for
/// other proofs.
///
/// # Errors
/// A message when the base does not resolve to a commit.
pub fn base_commit(
    git: &git2::Repository,
    criterion: &Criterion,
    task_base: Option<&str>,
) -> Result<Option<git2::Oid>, String> {
    let base = match &criterion.proof {
        Proof::GitDiffContains { base, .. } | Proof::LineCountDelta { base, .. } => base.clone(),
        _ => return Ok(None),
    };
    let base = base
        .or_else(|| task_base.map(str::to_owned))
        .unwrap_or_else(|| "HEAD".to_owned());
    proof::git::resolve_base(git, &base).map(Some).map_err(|e| {
        if base == "HEAD" {
            "the repository has no commit yet, and a git proof compares with a base commit: commit first, or give the criterion a `base`".to_owned()
        } else {
            e
        }
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
