//! The spec compliance matrix (SPEC §10.1): every plan criterion judged on the working tree as
//! `specproof verify` sees it, and coloured.
//!
//! - GREEN: fresh pass evidence (the evidence verify would reuse as cached).
//! - YELLOW: pass evidence exists but is stale: implemented, not re-proven. The row says what
//!   differs: the iteration, the criterion digest or the input digest. Pass evidence of an
//!   earlier iteration (the current one has none) counts here too.
//! - RED: no pass evidence (none, failed, stale failed, corrupt, suspect), a definition that does
//!   not validate, a checkbox criterion without a proof (F1), or a task-scope criterion that no
//!   task holds.
//! - ORANGE: drift (F14): the plan's definition of the criterion differs from its snapshot (or
//!   the criterion is only in one of them), or the holding task's copy differs from the snapshot.
//! - GREY: inconclusive: needs a person (a judge below `min_confidence`, F4; a judge or proof that
//!   could not run, F9).
//!
//! The snapshot is the definition, as for verify (the plan until it has one). Task-scope
//! criteria are judged through the tasks holding them (their `iteration`, their `base`, evidence
//! under `<evidence_dir>/<task>/iter-<N>/`); cross-cutting and system criteria at plan level,
//! under `<evidence_dir>/_plan/<plan stem>/iter-<N>/`, where N is the highest iteration among
//! the plan's tasks (1 without tasks): the iteration `specproof verify --plan` writes. A
//! criterion several tasks hold is judged through each, and shows the best result.
//!
//! Freshness is verify's: the same digests ([`crate::verify::digests`]) and the same verdict
//! ([`evidence::freshness`]). Signatures are checked with this machine's key; on a machine
//! without one (a fresh clone, CI) only the recorded facts are compared, and the matrix says so.
//!
//! Spec Compliance Rate = GREEN / all criteria, per plan and overall. Criteria density =
//! criteria per plan section, shown beside it: a section is a heading of the plan, except its
//! title (the only heading of the top level, when no criterion sits right under it).

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::content::{Content, ContentError};
use crate::criterion::{Criterion, Scope, Severity};
use crate::diagnostic::{FailureCode, did_you_mean};
use crate::digest::Excluded;
use crate::evidence::{self, Evidence, EvidenceError, Expected, Freshness, Key, Outcome, Stale};
use crate::plan::Plan;
use crate::snapshot::{self, DriftState, PlanDrift, SnapshotError};
use crate::task::{Status, Task};
use crate::verify;
use crate::workspace::{Reader, Workspace};

pub mod render;
pub mod status;

pub use status::{Problem, ProblemKind, StatusReport, status};

/// The colour of one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Green,
    Yellow,
    Red,
    Orange,
    Grey,
}

impl Colour {
    /// Every colour, in the order counts are shown.
    pub const ALL: [Self; 5] = [
        Self::Green,
        Self::Yellow,
        Self::Red,
        Self::Orange,
        Self::Grey,
    ];

    /// 0 for the best: GREEN, YELLOW, GREY, ORANGE, RED. A criterion several tasks hold shows
    /// the best of their judgements.
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            Self::Green => 0,
            Self::Yellow => 1,
            Self::Grey => 2,
            Self::Orange => 3,
            Self::Red => 4,
        }
    }

    /// The lower-case name JSON uses.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Grey => "grey",
            Self::Orange => "orange",
            Self::Red => "red",
        }
    }

    /// The upper-case word the table shows.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Green => "GREEN",
            Self::Yellow => "YELLOW",
            Self::Grey => "GREY",
            Self::Orange => "ORANGE",
            Self::Red => "RED",
        }
    }
}

/// Where a criterion's evidence lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A task-scope criterion, judged through the task holding it.
    Task,
    /// A cross-cutting or system criterion, judged at plan level (`_plan/<plan stem>`).
    Plan,
}

/// One criterion of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub criterion: String,
    /// The plan's repository path.
    pub plan: String,
    /// The heading the criterion sits under; None before the first heading.
    pub section: Option<String>,
    pub scope: Scope,
    pub severity: Severity,
    pub level: Level,
    /// The task it was judged through (task scope); None at plan level and when no task holds it.
    pub task: Option<String>,
    /// That task's status.
    pub task_status: Option<Status>,
    /// Other tasks that hold the criterion too.
    pub also: Vec<String>,
    /// The owner's iteration: the task's, or the plan level's.
    pub iteration: Option<u32>,
    pub colour: Colour,
    /// Why, in one sentence: which evidence file, how stale, which drift.
    pub reason: String,
    /// The evidence file judged (also an earlier iteration's); None when there was none to judge.
    pub evidence: Option<String>,
    pub failure_code: Option<FailureCode>,
    /// YELLOW (and stale failures): every way the evidence differs from fresh evidence.
    pub stale: Vec<Stale>,
    /// ORANGE: what drifted.
    pub drift: Vec<Drift>,
}

/// What drifted from the snapshot's definition of a criterion (F14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// `plan`: the plan file differs from its snapshot; `task`: a task's copy differs.
    pub of: DriftOf,
    /// The task whose copy differs.
    pub task: Option<String>,
    pub detail: String,
}

/// Whose definition drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftOf {
    Plan,
    Task,
}

impl Drift {
    fn plan(detail: String) -> Self {
        Self {
            of: DriftOf::Plan,
            task: None,
            detail,
        }
    }
}

/// Turns `row` ORANGE for `drift`, keeping what its evidence says in the reason.
fn drifted(row: &mut Row, drift: Vec<Drift>) {
    let what: Vec<&str> = drift.iter().map(|d| d.detail.as_str()).collect();
    row.reason = format!("drift (F14): {}; evidence: {}", what.join("; "), row.reason);
    row.drift = drift;
    row.colour = Colour::Orange;
    row.failure_code = Some(FailureCode::F14);
}

/// How many criteria have each colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub green: usize,
    pub yellow: usize,
    pub red: usize,
    pub orange: usize,
    pub grey: usize,
}

impl Counts {
    fn add(&mut self, colour: Colour) {
        *self.get_mut(colour) += 1;
    }

    fn get_mut(&mut self, colour: Colour) -> &mut usize {
        match colour {
            Colour::Green => &mut self.green,
            Colour::Yellow => &mut self.yellow,
            Colour::Red => &mut self.red,
            Colour::Orange => &mut self.orange,
            Colour::Grey => &mut self.grey,
        }
    }

    /// The count of `colour`.
    #[must_use]
    pub fn get(&self, colour: Colour) -> usize {
        match colour {
            Colour::Green => self.green,
            Colour::Yellow => self.yellow,
            Colour::Red => self.red,
            Colour::Orange => self.orange,
            Colour::Grey => self.grey,
        }
    }

    /// Every criterion counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.green + self.yellow + self.red + self.orange + self.grey
    }
}

/// The criteria of one section of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionDensity {
    /// The heading; None for criteria above the first heading.
    pub section: Option<String>,
    pub criteria: usize,
}

/// Rate and density over a set of criteria.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub criteria: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// GREEN / criteria, from 0 to 1; None without criteria.
    pub rate: Option<f64>,
    /// Plan sections (see the module documentation).
    pub sections: usize,
    /// Criteria per section; None without sections.
    pub density: Option<f64>,
    /// Critical criteria that are RED: what makes `matrix` and `status` exit 1.
    pub critical_red: usize,
}

impl Summary {
    fn of<'r>(rows: impl IntoIterator<Item = &'r Row>, sections: usize) -> Self {
        let mut counts = Counts::default();
        let mut critical_red = 0;
        for row in rows {
            counts.add(row.colour);
            critical_red += usize::from(is_critical_red(row));
        }
        let criteria = counts.total();
        Self {
            criteria,
            counts,
            rate: ratio(counts.green, criteria),
            sections,
            density: ratio(criteria, sections),
            critical_red,
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts of criteria are far below 2^52
fn ratio(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// One plan: how it stands against its snapshot, its rate and its density.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSummary {
    pub plan: String,
    /// Its snapshot, when it has one.
    pub snapshot: Option<String>,
    pub drift: DriftState,
    /// Criteria whose definition differs between plan and snapshot.
    pub drift_changed: Vec<String>,
    /// Problems of the definition (snapshot, else plan) that `specproof lint` shows.
    pub problems: usize,
    #[serde(flatten)]
    pub summary: Summary,
    /// Criteria per section, in the plan's order.
    pub section_density: Vec<SectionDensity>,
}

/// The compliance matrix of a working tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Every criterion, by plan (sorted by path), in the order of the plan's definition; rows the
    /// definition lacks (added to the plan, checkbox-only) come after.
    pub rows: Vec<Row>,
    pub plans: Vec<PlanSummary>,
    pub overall: Summary,
    /// False on a machine without a signing key: evidence was judged by its facts only.
    pub signatures_checked: bool,
    /// What the content left out (files git could not add), and similar notes.
    pub warnings: Vec<String>,
}

impl Matrix {
    /// True when no critical criterion is RED or ORANGE, and every plan's definition parses
    /// (a plan with problems would otherwise show fewer criteria, or none, and pass).
    #[must_use]
    pub fn ok(&self) -> bool {
        self.overall.critical_red == 0 && self.broken_plans().next().is_none()
    }

    /// The plans whose definition has problems (`specproof lint` lists them).
    pub fn broken_plans(&self) -> impl Iterator<Item = &PlanSummary> {
        self.plans.iter().filter(|p| p.problems > 0)
    }

    /// The critical criteria that are RED.
    pub fn critical_red(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| is_critical_red(r))
    }

    /// The rows judged through tasks (task scope), then those judged at plan level.
    #[must_use]
    pub fn by_level(&self) -> (Vec<&Row>, Vec<&Row>) {
        self.rows.iter().partition(|r| r.level == Level::Task)
    }

    /// The summary of plan `plan`.
    #[must_use]
    pub fn plan(&self, plan: &str) -> Option<&PlanSummary> {
        self.plans.iter().find(|p| p.plan == plan)
    }
}

/// A critical criterion that fails the matrix: RED, or ORANGE (drift takes the colour, and
/// would otherwise hide a criterion with no evidence at all: it is not proven as the plan
/// defines it either way).
fn is_critical_red(row: &Row) -> bool {
    matches!(row.colour, Colour::Red | Colour::Orange) && row.severity == Severity::Critical
}

/// What to judge.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Repository paths of the plans to judge; empty: every plan.
    pub plans: Vec<String>,
}

/// The matrix could not be made (as opposed to criteria being RED).
#[derive(Debug, Error)]
pub enum ComplianceError {
    #[error("{0}")]
    Usage(String),
    #[error("specproof.yml has problems; fix them first (`specproof lint` lists them):\n{0}")]
    Config(String),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// Judges every criterion of the repository at `root` (`git`: its opened repository) on its
/// working tree as `git add -A` would stage it. Reads only: no evidence, task or lock is written
/// (git stores the blobs of changed files, as verify's `git add -A` into a scratch index does).
///
/// # Errors
/// A plan of `options` that is not a plan file, a broken specproof.yml, a working tree git
/// cannot read, a signing key that cannot be read, a snapshot that is a symlink.
pub fn matrix(
    root: &Path,
    git: &git2::Repository,
    options: &Options,
) -> Result<Matrix, ComplianceError> {
    // Plans and tasks are read on another thread while git works out the working tree.
    let (ws, content) = std::thread::scope(|s| {
        let loading = s.spawn(|| Workspace::load_with(root, true));
        let content = Content::worktree(git);
        let ws = loading
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (ws, content)
    });
    finish(root, git, &ws, content, options)
}

/// [`matrix`] over a workspace the caller has loaded already (`Workspace::load_with(root,
/// true)`), for commands that also need its tasks.
///
/// # Errors
/// As [`matrix`].
pub fn matrix_in(
    root: &Path,
    git: &git2::Repository,
    ws: &Workspace,
    options: &Options,
) -> Result<Matrix, ComplianceError> {
    finish(root, git, ws, Content::worktree(git), options)
}

fn finish(
    root: &Path,
    git: &git2::Repository,
    ws: &Workspace,
    content: Result<Content<'_>, ContentError>,
    options: &Options,
) -> Result<Matrix, ComplianceError> {
    let fatal: Vec<String> = ws
        .config_diagnostics
        .iter()
        .filter(|d| d.file == crate::config::FILE)
        .map(ToString::to_string)
        .collect();
    if !fatal.is_empty() {
        return Err(ComplianceError::Config(fatal.join("\n")));
    }
    for plan in &options.plans {
        if ws.plan(plan).is_none() {
            let known: Vec<&str> = ws.plans.iter().map(|p| p.path.as_str()).collect();
            let hint = did_you_mean(plan, known.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(ComplianceError::Usage(format!(
                "{plan} is not a plan file{hint}: plans are the files matching {:?} (`plans` in specproof.yml)",
                ws.config.plans
            )));
        }
    }
    let content = content?;
    let key = Key::load(git.commondir())?;
    let drift = snapshot::drift(root, &ws.config)?;
    let mut matrix = judge(
        &Judge {
            root,
            git,
            ws,
            content: &content,
            key: key.as_ref(),
        },
        &drift,
        &options.plans,
    );
    matrix.warnings.extend(content.notes().iter().cloned());
    Ok(matrix)
}

/// What judging reads.
pub struct Judge<'a> {
    pub root: &'a Path,
    pub git: &'a git2::Repository,
    pub ws: &'a Workspace,
    pub content: &'a Content<'a>,
    /// This machine's signing key; None: signatures are not checked.
    pub key: Option<&'a Key>,
}

/// The matrix of the plans named in `only` (empty: every plan), given each plan's drift.
#[must_use]
pub fn judge(j: &Judge<'_>, drift: &[PlanDrift], only: &[String]) -> Matrix {
    let excluded = Excluded::new(&j.ws.config);
    let is_excluded = |p: &str| excluded.contains(p);
    let reader = Reader {
        root: j.root,
        max_size: u64::MAX,
        quick_regex: true,
    };
    let plans: Vec<(&Plan, Option<&PlanDrift>, Option<Plan>)> =
        j.ws.plans
            .iter()
            .map(|plan| {
                let d = drift.iter().find(|d| d.plan == plan.path);
                let snapshot = d
                    .and_then(|d| d.snapshot.as_deref())
                    .map(|s| reader.plan(s));
                (plan, d, snapshot)
            })
            .collect();
    // Where a checkbox's ID is defined, in any plan or snapshot (lint's rule for F1).
    let defined = |id: &str| {
        plans
            .iter()
            .any(|(p, _, s)| p.defines(id) || s.as_ref().is_some_and(|s| s.defines(id)))
    };
    let mut rows = Vec::new();
    let mut summaries = Vec::new();
    for (plan, d, snapshot) in &plans {
        if !only.is_empty() && !only.iter().any(|o| crate::paths::normalize(o) == plan.path) {
            continue;
        }
        let def = snapshot.as_ref().unwrap_or(plan);
        let changed: BTreeSet<&str> = d
            .filter(|d| d.drifted())
            .map(|d| d.changed.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let first = rows.len();
        for c in &def.criteria {
            let mut drift = Vec::new();
            if changed.contains(c.id.as_str()) {
                drift.push(Drift::plan(match plan.criterion(&c.id) {
                    Some(now) => format!(
                        "the plan differs from its snapshot in {}",
                        fields(&c.differences(now))
                    ),
                    None => "removed from the plan, still in its snapshot".to_owned(),
                }));
            }
            rows.push(criterion_row(j, &is_excluded, plan, c, drift));
        }
        for (id, _) in def.ids.iter().filter(|(id, _)| def.criterion(id).is_none()) {
            rows.push(bare_row(
                plan,
                id,
                section_of(def, id),
                Colour::Red,
                Some(FailureCode::F1),
                format!(
                    "its definition in {} has problems, so no proof can run: `specproof lint {}`",
                    def.path, def.path
                ),
            ));
        }
        if snapshot.is_some() {
            // Criteria added to the plan after its snapshot: the snapshot does not define them.
            for c in plan.criteria.iter().filter(|c| !def.defines(&c.id)) {
                let mut row = criterion_row(j, &is_excluded, plan, c, Vec::new());
                drifted(
                    &mut row,
                    vec![Drift::plan(
                        "in the plan but not in its snapshot, the definition proofs run from"
                            .to_owned(),
                    )],
                );
                rows.push(row);
            }
        }
        let mut seen = BTreeSet::new();
        for cb in def
            .checkboxes
            .iter()
            .filter(|cb| !defined(&cb.id) && seen.insert(cb.id.clone()))
        {
            rows.push(bare_row(
                plan,
                &cb.id,
                cb.section.clone(),
                Colour::Red,
                Some(FailureCode::F1),
                format!(
                    "unverifiable (F1): the checkbox in {} has no proof; define it in a ```criteria block",
                    def.path
                ),
            ));
        }
        let section_density = sections(def, &rows[first..]);
        summaries.push(PlanSummary {
            plan: plan.path.clone(),
            snapshot: d.and_then(|d| d.snapshot.clone()),
            drift: d.map_or(DriftState::NoSnapshot, |d| d.state),
            drift_changed: d.map(|d| d.changed.clone()).unwrap_or_default(),
            // Another plan of the same file name shares its plan-level evidence (SPEC §1).
            problems: def.diagnostics.len()
                + usize::from(!crate::lint::same_stem(&j.ws.plans, &plan.path).is_empty()),
            summary: Summary::of(&rows[first..], section_density.len()),
            section_density,
        });
    }
    let overall = Summary::of(&rows, summaries.iter().map(|p| p.summary.sections).sum());
    Matrix {
        rows,
        plans: summaries,
        overall,
        signatures_checked: j.key.is_some(),
        warnings: Vec::new(),
    }
}

/// `args (plan: …, task: …)` phrases to their field names: `args, description`.
fn fields(differences: &[String]) -> String {
    differences
        .iter()
        .map(|d| d.split(" (").next().unwrap_or(d))
        .collect::<Vec<_>>()
        .join(", ")
}

fn section_of(plan: &Plan, id: &str) -> Option<String> {
    let line = plan.ids.iter().find(|(i, _)| i == id)?.1.line;
    plan.sections
        .iter()
        .rev()
        .find(|s| s.line <= line)
        .map(|s| s.title.clone())
}

/// The sections of a plan with their criteria counts: its headings but the title (the only
/// top-level heading, when no criterion sits right under it), then sections only rows name.
fn sections(def: &Plan, rows: &[Row]) -> Vec<SectionDensity> {
    let count = |title: Option<&str>| {
        rows.iter()
            .filter(|r| r.section.as_deref() == title)
            .count()
    };
    let top = def.sections.iter().map(|s| s.level).min().unwrap_or(1);
    let tops = def.sections.iter().filter(|s| s.level == top).count();
    let mut out: Vec<SectionDensity> = Vec::new();
    for (i, s) in def.sections.iter().enumerate() {
        let title = i == 0 && tops == 1 && s.level == top && def.sections.len() > 1;
        if (title && count(Some(&s.title)) == 0)
            || out.iter().any(|o| o.section.as_deref() == Some(&s.title))
        {
            continue;
        }
        out.push(SectionDensity {
            section: Some(s.title.clone()),
            criteria: count(Some(&s.title)),
        });
    }
    for r in rows {
        if !out.iter().any(|o| o.section == r.section) {
            out.push(SectionDensity {
                section: r.section.clone(),
                criteria: count(r.section.as_deref()),
            });
        }
    }
    out
}

/// A row for an ID without a valid definition: nothing to judge.
fn bare_row(
    plan: &Plan,
    id: &str,
    section: Option<String>,
    colour: Colour,
    code: Option<FailureCode>,
    reason: String,
) -> Row {
    Row {
        criterion: id.to_owned(),
        plan: plan.path.clone(),
        section,
        scope: Scope::Task,
        severity: Severity::Critical,
        level: Level::Task,
        task: None,
        task_status: None,
        also: Vec::new(),
        iteration: None,
        colour,
        reason,
        evidence: None,
        failure_code: code,
        stale: Vec::new(),
        drift: Vec::new(),
    }
}

/// The row of a defined criterion: judged at plan level or through the tasks holding it, then
/// turned ORANGE by `drift` (of the plan against its snapshot) when there is any.
fn criterion_row(
    j: &Judge<'_>,
    excluded: &dyn Fn(&str) -> bool,
    plan: &Plan,
    c: &Criterion,
    drift: Vec<Drift>,
) -> Row {
    let mut row = bare_row(
        plan,
        &c.id,
        c.section.clone(),
        Colour::Red,
        None,
        String::new(),
    );
    row.scope = c.scope;
    row.severity = c.severity;
    if c.scope == Scope::Task {
        task_level(j, excluded, plan, c, &mut row);
    } else {
        row.level = Level::Plan;
        let iteration = verify::plan_iteration(j.ws, &plan.path);
        let owner = verify::plan_owner(&plan.path);
        row.iteration = Some(iteration);
        apply(
            &mut row,
            judge_evidence(j, excluded, &owner, iteration, None, c),
        );
    }
    if !drift.is_empty() {
        drifted(&mut row, drift);
    }
    row
}

fn apply(row: &mut Row, judged: Judged) {
    row.colour = judged.colour;
    row.reason = judged.reason;
    row.evidence = judged.evidence;
    row.failure_code = judged.code;
    row.stale = judged.stale;
}

/// Judges a task-scope criterion through every task holding it; the best judgement wins.
fn task_level(
    j: &Judge<'_>,
    excluded: &dyn Fn(&str) -> bool,
    plan: &Plan,
    c: &Criterion,
    row: &mut Row,
) {
    let holds = |t: &Task| t.criteria_ids.iter().any(|(id, _)| id == &c.id);
    let holders: Vec<&Task> =
        j.ws.tasks
            .iter()
            .filter(|t| {
                t.meta
                    .as_ref()
                    .is_some_and(|m| crate::paths::normalize(&m.plan_file) == plan.path)
                    && holds(t)
            })
            .collect();
    if holders.is_empty() {
        let broken: Vec<&str> =
            j.ws.tasks
                .iter()
                .filter(|t| t.meta.is_none() && holds(t))
                .map(|t| t.path.as_str())
                .collect();
        row.colour = Colour::Red;
        row.reason = if broken.is_empty() {
            format!(
                "in no task: no task of {} lists it in its Acceptance Criteria",
                plan.path
            )
        } else {
            format!(
                "only {} list{} it, and {} front matter does not parse (F8): `specproof lint`",
                broken.join(", "),
                if broken.len() == 1 { "s" } else { "" },
                if broken.len() == 1 { "its" } else { "their" },
            )
        };
        row.failure_code = (!broken.is_empty()).then_some(FailureCode::F8);
        return;
    }
    let mut best: Option<(&Task, Row)> = None;
    for task in &holders {
        let Some(meta) = &task.meta else { continue };
        let mut candidate = row.clone();
        candidate.task = Some(meta.task_id.clone());
        candidate.task_status = Some(meta.status);
        candidate.iteration = Some(meta.iteration);
        apply(
            &mut candidate,
            judge_evidence(
                j,
                excluded,
                &meta.task_id,
                meta.iteration,
                meta.base.as_deref(),
                c,
            ),
        );
        let copy = task.criteria.iter().find(|copy| copy.id == c.id);
        let differs = match copy {
            Some(copy) => c.differences(copy),
            None => vec!["its copy does not validate".to_owned()],
        };
        if !differs.is_empty() {
            let detail = format!(
                "task {}'s copy differs from the snapshot: {}",
                meta.task_id,
                differs.join("; ")
            );
            drifted(
                &mut candidate,
                vec![Drift {
                    of: DriftOf::Task,
                    task: Some(meta.task_id.clone()),
                    detail,
                }],
            );
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| candidate.colour.rank() < b.colour.rank())
        {
            best = Some((task, candidate));
        }
    }
    if let Some((chosen, mut judged)) = best {
        judged.also = holders
            .iter()
            .filter(|t| t.path != chosen.path)
            .map(|t| t.id().to_owned())
            .collect();
        *row = judged;
    }
}

/// A judgement of a criterion's evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub colour: Colour,
    pub reason: String,
    pub evidence: Option<String>,
    pub code: Option<FailureCode>,
    pub stale: Vec<Stale>,
}

/// Judges the evidence of `c` for `owner` (a task ID or `_plan/<stem>`) at `iteration`: the
/// current iteration's file, else the newest earlier one (pass evidence there is YELLOW).
fn judge_evidence(
    j: &Judge<'_>,
    excluded: &dyn Fn(&str) -> bool,
    owner: &str,
    iteration: u32,
    task_base: Option<&str>,
    c: &Criterion,
) -> Judged {
    let digests = match verify::digests(j.git, j.content, c, task_base, excluded) {
        Ok(d) => d,
        Err(e) => {
            return Judged {
                colour: Colour::Grey,
                reason: format!("cannot be judged (F9): the proof's inputs cannot be found: {e}"),
                evidence: None,
                code: Some(FailureCode::F9),
                stale: Vec::new(),
            };
        }
    };
    let dir = &j.ws.config.evidence_dir;
    let current = evidence::path(dir, owner, iteration, &c.id);
    let mut found = (current.clone(), verify::read_evidence(j.root, &current));
    if found.1.is_none() {
        for earlier in (1..iteration).rev() {
            let path = evidence::path(dir, owner, earlier, &c.id);
            if let Some(e) = verify::read_evidence(j.root, &path) {
                found = (path, Some(e));
                break;
            }
        }
    }
    let (path, existing) = found;
    let expected = Expected {
        task_id: owner,
        criterion_id: &c.id,
        proof: c.kind().name(),
        iteration,
        criterion_digest: &digests.criterion,
        input_digest: &digests.input,
    };
    let verdict = evidence::freshness(existing.as_ref(), j.key, &expected);
    let read = existing.as_ref().and_then(|e| e.as_ref().ok());
    classify(&verdict, read, &expected, &path)
}

/// The colour of a freshness verdict. `evidence`: the file judged, when it parsed; `path`: its
/// repository path (the current iteration's when there is none).
#[must_use]
pub fn classify(
    verdict: &Freshness,
    evidence: Option<&Evidence>,
    expected: &Expected<'_>,
    path: &str,
) -> Judged {
    let judged = |colour, reason: String, code| Judged {
        colour,
        reason: one_line(&reason),
        evidence: evidence.map(|_| path.to_owned()),
        code,
        stale: Vec::new(),
    };
    match verdict {
        Freshness::Fresh => judged(Colour::Green, format!("fresh pass evidence {path}"), None),
        Freshness::Missing { .. } => Judged {
            evidence: None,
            ..judged(
                Colour::Red,
                format!("no evidence: {path} does not exist"),
                Some(FailureCode::F11),
            )
        },
        Freshness::Corrupt { reason } => judged(
            Colour::Red,
            format!("corrupt evidence (F8): {reason}"),
            Some(FailureCode::F8),
        ),
        Freshness::Suspect { reason } => judged(
            Colour::Red,
            format!("suspect evidence (F12) {path}: {reason}"),
            Some(FailureCode::F12),
        ),
        Freshness::Failed { code, reason } => {
            let inconclusive = evidence.is_some_and(|e| e.result == Outcome::Inconclusive);
            if inconclusive {
                judged(
                    Colour::Grey,
                    format!("inconclusive ({code}), needs a person: {path}: {reason}"),
                    Some(*code),
                )
            } else {
                judged(
                    Colour::Red,
                    format!("failed ({code}): {path}: {reason}"),
                    Some(*code),
                )
            }
        }
        Freshness::Stale { reason } => {
            let Some(e) = evidence else {
                return judged(
                    Colour::Red,
                    format!("stale (F11): {reason}"),
                    Some(FailureCode::F11),
                );
            };
            let stale = evidence::staleness(e, expected);
            let how = stale
                .iter()
                .map(Stale::describe)
                .collect::<Vec<_>>()
                .join("; ");
            let how = if how.is_empty() { reason.clone() } else { how };
            let mut out = if e.result == Outcome::Pass {
                judged(
                    Colour::Yellow,
                    format!("stale pass evidence (F11) {path}: {how}"),
                    Some(FailureCode::F11),
                )
            } else {
                let result = if e.result == Outcome::Fail {
                    "failed"
                } else {
                    "was inconclusive"
                };
                judged(
                    Colour::Red,
                    format!("no pass evidence: the last run {result}, and {path} is stale: {how}"),
                    Some(FailureCode::F11),
                )
            };
            out.stale = stale;
            out
        }
    }
}

/// `text` on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::Ctx;

    fn sample(result: Outcome) -> Evidence {
        Evidence {
            schema: evidence::SCHEMA,
            task_id: "T-1".into(),
            criterion_id: "C-1".into(),
            iteration: 1,
            proof: "file_exists".into(),
            result,
            detail: "the detail\nsecond line".into(),
            output: String::new(),
            exit_code: None,
            criterion_digest: "sha256:c".into(),
            input_digest: "sha256:i".into(),
            input_files: 1,
            failure_code: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 1,
            tool: "specproof test".into(),
            signature: String::new(),
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        task_id: "T-1",
        criterion_id: "C-1",
        proof: "file_exists",
        iteration: 1,
        criterion_digest: "sha256:c",
        input_digest: "sha256:i",
    };
    const PATH: &str = ".specproof/evidence/T-1/iter-1/C-1.json";

    fn colour_of(e: Option<&Evidence>, expected: &Expected<'_>) -> Judged {
        let parsed = e.map(|e| Ok(e.clone()));
        let verdict = evidence::freshness(parsed.as_ref(), None, expected);
        classify(&verdict, e, expected, PATH)
    }

    #[test]
    fn each_verdict_gets_its_colour_and_a_reason_naming_the_file() {
        let pass = sample(Outcome::Pass);
        let green = colour_of(Some(&pass), &EXPECTED);
        assert_eq!(green.colour, Colour::Green);
        assert_eq!(green.reason, format!("fresh pass evidence {PATH}"));
        assert_eq!(green.evidence.as_deref(), Some(PATH));

        let missing = colour_of(None, &EXPECTED);
        assert_eq!(missing.colour, Colour::Red);
        assert!(missing.reason.contains("does not exist"), "{missing:?}");
        assert_eq!(missing.evidence, None);

        let mut failed = sample(Outcome::Fail);
        failed.failure_code = Some(FailureCode::F5);
        let red = colour_of(Some(&failed), &EXPECTED);
        assert_eq!((red.colour, red.code), (Colour::Red, Some(FailureCode::F5)));
        assert!(
            red.reason.contains("the detail second line"),
            "one line: {red:?}"
        );

        let mut unsure = sample(Outcome::Inconclusive);
        unsure.failure_code = Some(FailureCode::F4);
        let grey = colour_of(Some(&unsure), &EXPECTED);
        assert_eq!(
            (grey.colour, grey.code),
            (Colour::Grey, Some(FailureCode::F4))
        );
        assert!(grey.reason.contains("needs a person"), "{grey:?}");
    }

    #[test]
    fn stale_pass_evidence_is_yellow_and_says_what_differs() {
        let pass = sample(Outcome::Pass);
        let expected = Expected {
            iteration: 2,
            input_digest: "sha256:feedfacefeedface",
            ..EXPECTED
        };
        let yellow = colour_of(Some(&pass), &expected);
        assert_eq!(yellow.colour, Colour::Yellow);
        assert_eq!(yellow.stale.len(), 2, "{yellow:?}");
        assert!(
            yellow
                .reason
                .contains("made in iteration 1, now at iteration 2"),
            "{yellow:?}"
        );
        assert!(yellow.reason.contains("input digest differs"), "{yellow:?}");
        assert!(!yellow.reason.contains("criterion digest"), "{yellow:?}");

        // Stale evidence of a failure is no pass evidence: RED, and still says how stale.
        let failed = sample(Outcome::Fail);
        let red = colour_of(Some(&failed), &expected);
        assert_eq!(red.colour, Colour::Red);
        assert!(red.reason.contains("the last run failed"), "{red:?}");
        assert_eq!(red.stale.len(), 2);
    }

    #[test]
    fn suspect_evidence_is_red_f12() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(dir.path()).unwrap();
        let pass = sample(Outcome::Pass);
        let verdict = evidence::freshness(Some(&Ok(pass.clone())), Some(&key), &EXPECTED);
        let judged = classify(&verdict, Some(&pass), &EXPECTED, PATH);
        assert_eq!(
            (judged.colour, judged.code),
            (Colour::Red, Some(FailureCode::F12))
        );
    }

    fn row(id: &str, section: &str, colour: Colour, severity: Severity) -> Row {
        let plan = Plan {
            path: "plans/p.md".into(),
            ..Plan::default()
        };
        let mut row = bare_row(&plan, id, Some(section.into()), colour, None, String::new());
        row.severity = severity;
        row
    }

    #[test]
    fn rate_density_and_the_critical_rule() {
        let rows = [
            row("A", "One", Colour::Green, Severity::Critical),
            row("B", "One", Colour::Yellow, Severity::Critical),
            row("C", "Two", Colour::Red, Severity::Low),
        ];
        let s = Summary::of(&rows, 4);
        assert_eq!(s.criteria, 3);
        assert_eq!(s.counts.green, 1);
        assert_eq!(s.rate, Some(1.0 / 3.0));
        assert_eq!(s.density, Some(0.75));
        assert_eq!(s.critical_red, 0, "a low RED is not critical");
        let s = Summary::of(&[row("D", "Two", Colour::Red, Severity::Critical)], 0);
        assert_eq!((s.critical_red, s.density), (1, None));
        assert_eq!(Summary::of(&[], 0).rate, None, "no criteria, no rate");
    }

    #[test]
    fn sections_leave_out_the_title_but_keep_empty_sections() {
        let src = "# Title\n\n## One\n\n```criteria\n- id: A\n  description: a\n  proof: file_exists\n  args: { path: a }\n```\n\n## Empty\n\ntext\n\n### Deeper\n\n```criteria\n- id: B\n  description: b\n  proof: file_exists\n  args: { path: b }\n```\n";
        let plan = Plan::parse("plans/p.md", src.as_bytes(), Ctx::default());
        let rows = [
            row("A", "One", Colour::Green, Severity::Critical),
            row("B", "Deeper", Colour::Green, Severity::Critical),
        ];
        let found = sections(&plan, &rows);
        let got: Vec<(Option<&str>, usize)> = found
            .iter()
            .map(|s| (s.section.as_deref(), s.criteria))
            .collect();
        assert_eq!(
            got,
            [(Some("One"), 1), (Some("Empty"), 0), (Some("Deeper"), 1)]
        );

        // A plan of one heading with its criteria under it: that heading is its section.
        let single = Plan::parse(
            "plans/q.md",
            b"# Only\n\n```criteria\n- id: A\n  description: a\n  proof: file_exists\n  args: { path: a }\n```\n",
            Ctx::default(),
        );
        let rows = [row("A", "Only", Colour::Green, Severity::Critical)];
        assert_eq!(sections(&single, &rows).len(), 1);

        // Two top-level headings are both sections.
        let two = Plan::parse("plans/r.md", b"# A\n\n# B\n", Ctx::default());
        assert_eq!(sections(&two, &[]).len(), 2);
    }

    #[test]
    fn colours_rank_best_first() {
        let mut ranked = Colour::ALL;
        ranked.sort_by_key(|c| c.rank());
        assert_eq!(
            ranked.map(Colour::name),
            ["green", "yellow", "grey", "orange", "red"]
        );
    }
}
