//! `specproof review-tasks` (SPEC §3, §6.4, §8, §9): the plan-to-tasks cross-reference. Every
//! criterion of a plan's authoritative definitions (its snapshot, else the plan) is mapped (in
//! exactly one task), missing, duplicated or drifted, or, for cross-cutting and system criteria,
//! verified at plan level or an F16 orphan; every task criterion the plan lacks is fabricated;
//! and the task-scope criteria are shown per owner (`assigned_to`).
//!
//! Files are read from the working tree through [`Workspace`]; drift is
//! [`Criterion::differences`], the comparison lint uses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::criterion::{Criterion, Scope};
use crate::diagnostic::FailureCode;
use crate::paths;
use crate::printer::{Printer, styles};
use crate::task::Task;
use crate::task_new::{self, Definitions};
use crate::workspace::Workspace;

/// What to review.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Repository paths of the plans to review; empty: every plan.
    pub plans: Vec<String>,
    /// Write a task file for the missing criteria of each plan section.
    pub create_gap_tasks: bool,
}

/// Where a plan criterion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A task-scope criterion in exactly one task, copied exactly.
    Mapped,
    /// A task-scope criterion in no task.
    Missing,
    /// A task-scope criterion in more than one task.
    Duplicated,
    /// A task-scope criterion in one task whose copy differs from the definition (F14).
    Drifted,
    /// A cross-cutting or system criterion in no task, with plan-level evidence.
    PlanLevel,
    /// A cross-cutting or system criterion in a task, or never verified at plan level (F16).
    Orphan,
}

impl Status {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Mapped => "mapped",
            Self::Missing => "missing",
            Self::Duplicated => "duplicated",
            Self::Drifted => "drifted",
            Self::PlanLevel => "plan-level",
            Self::Orphan => "orphan",
        }
    }

    /// True for the statuses that fail the review.
    #[must_use]
    pub fn is_problem(self) -> bool {
        !matches!(self, Self::Mapped | Self::PlanLevel)
    }
}

/// A task holding a criterion.
#[derive(Debug, Clone, Serialize)]
pub struct Holder {
    pub task: String,
    pub file: String,
    /// Line of the criterion's `id` in the task file.
    pub line: usize,
    pub assigned_to: Option<String>,
    /// How the task's copy differs from the definition, one phrase per field; empty when exact.
    pub drift: Vec<String>,
}

/// One criterion of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionReview {
    pub id: String,
    /// The heading it sits under.
    pub section: Option<String>,
    pub scope: Scope,
    pub status: Status,
    /// F14 for drifted, F16 for orphan, else null.
    pub failure_code: Option<FailureCode>,
    /// The tasks holding it, in task order.
    pub tasks: Vec<Holder>,
    /// Cross-cutting and system criteria: whether plan-level evidence exists; null for task scope.
    pub verified_at_plan_level: Option<bool>,
    /// What is wrong and what to do, one line each; empty when nothing is.
    pub detail: Vec<String>,
}

/// One plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReview {
    pub plan: String,
    /// The file the definitions were read from: the snapshot, or the plan itself.
    pub definitions: String,
    pub criteria: Vec<CriterionReview>,
}

/// A task criterion its plan does not define (F2).
#[derive(Debug, Clone, Serialize)]
pub struct Fabricated {
    pub task: String,
    pub file: String,
    pub line: usize,
    pub criterion: String,
    /// The task's `plan_file`.
    pub plan: String,
    /// Another plan that defines the ID, if one does.
    pub defined_in: Option<String>,
}

/// What one owner holds.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    /// `assigned_to`; null for tasks without one.
    pub owner: Option<String>,
    pub tasks: Vec<String>,
    /// The task-scope criteria of its tasks, in plan order.
    pub criteria: Vec<String>,
}

/// A task file `--create-gap-tasks` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct GapTask {
    pub task: String,
    pub file: String,
    pub plan: String,
    pub section: Option<String>,
    pub criteria: Vec<String>,
}

/// Counts of the review.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub plans: usize,
    pub tasks: usize,
    pub criteria: usize,
    pub mapped: usize,
    pub missing: usize,
    pub duplicated: usize,
    pub drifted: usize,
    pub orphaned: usize,
    pub plan_level: usize,
    pub fabricated: usize,
    /// Plans whose definition has problems or cannot be read: their criteria cannot all be
    /// reviewed, so the review cannot pass.
    pub broken_plans: usize,
}

impl Summary {
    /// The problems: missing, duplicated, drifted, orphaned and fabricated criteria.
    #[must_use]
    pub fn problems(&self) -> usize {
        self.missing
            + self.duplicated
            + self.drifted
            + self.orphaned
            + self.fabricated
            + self.broken_plans
    }
}

/// The whole review: the JSON document of `review-tasks --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub version: u32,
    pub ok: bool,
    pub summary: Summary,
    pub plans: Vec<PlanReview>,
    pub fabricated: Vec<Fabricated>,
    pub coverage: Vec<Owner>,
    /// Task-scope criteria no owner holds: in no task, or only in tasks without `assigned_to`.
    pub unowned: Vec<String>,
    pub gap_tasks: Vec<GapTask>,
    pub warnings: Vec<String>,
}

/// Reviews the working tree at `root`; with `create_gap_tasks`, writes the gap tasks first and
/// reviews the tree with them.
///
/// # Errors
/// A message for a usage error (a `--plan` that is not a plan), or when a gap task cannot be
/// written (naming those that were).
pub fn review(root: &Path, options: &Options) -> Result<Review, String> {
    let ws = Workspace::load(root);
    let mut plans = Vec::new();
    for plan in &options.plans {
        let found = task_new::find_plan(root, &ws, plan).map_err(|e| e.to_string())?;
        if !plans.contains(&found.path) {
            plans.push(found.path.clone());
        }
    }
    if plans.is_empty() {
        plans = ws.plans.iter().map(|p| p.path.clone()).collect();
    }
    let scoped = !options.plans.is_empty();
    let first = analyse(root, &ws, &plans, scoped);
    if !options.create_gap_tasks || first.summary.missing == 0 {
        return Ok(first);
    }
    let written = write_gaps(root, &ws, &first)?;
    let ws = Workspace::load(root);
    let mut after = analyse(root, &ws, &plans, scoped);
    after.gap_tasks = written;
    Ok(after)
}

/// One gap task per plan section holding missing criteria, with only those.
fn write_gaps(root: &Path, ws: &Workspace, review: &Review) -> Result<Vec<GapTask>, String> {
    let mut written: Vec<GapTask> = Vec::new();
    let mut taken = BTreeSet::new();
    for plan in &review.plans {
        let missing: Vec<&CriterionReview> = plan
            .criteria
            .iter()
            .filter(|c| c.status == Status::Missing)
            .collect();
        if missing.is_empty() {
            continue;
        }
        let defs = Definitions::load(root, &plan.plan)?;
        let mut groups: Vec<(Option<usize>, Vec<String>)> = Vec::new();
        for c in missing {
            let Some(def) = defs.parsed.criterion(&c.id) else {
                continue;
            };
            let heading = defs.heading_at(def.pos.line);
            match groups.iter_mut().find(|(h, _)| *h == heading) {
                Some((_, ids)) => ids.push(c.id.clone()),
                None => groups.push((heading, vec![c.id.clone()])),
            }
        }
        for (heading, ids) in groups {
            match task_new::create_gap(root, ws, &defs, heading, &ids, &mut taken) {
                Ok(created) => written.push(GapTask {
                    task: created.task,
                    file: created.file,
                    plan: created.plan,
                    section: created.section,
                    criteria: created.criteria,
                }),
                Err(e) => {
                    let done: Vec<&str> = written.iter().map(|g| g.file.as_str()).collect();
                    return Err(if done.is_empty() {
                        format!("cannot write a gap task for {}: {e}", ids.join(", "))
                    } else {
                        format!(
                            "cannot write a gap task for {}: {e}; already written: {}",
                            ids.join(", "),
                            done.join(", ")
                        )
                    });
                }
            }
        }
    }
    Ok(written)
}

/// The plan-level evidence folder of `plan`: `<evidence_dir>/_plan/<plan stem>`.
fn plan_evidence_dir(evidence_dir: &str, plan: &str) -> String {
    let stem = crate::lint::plan_stem(plan);
    format!("{}/_plan/{stem}", evidence_dir.trim_end_matches('/'))
}

/// Whether any iteration has an evidence file for criterion `id` under `dir` (`iter-*/<id>.json`)
/// that parses as evidence of that criterion.
fn has_plan_evidence(root: &Path, dir: &str, id: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        e.file_name().to_str().is_some_and(|n| {
            n.strip_prefix("iter-")
                .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        }) && {
            // Evidence specproof wrote for this criterion (any result: verified, not proven);
            // a file that does not parse as such is no verification.
            let file = e.path().join(format!("{id}.json"));
            std::fs::read(&file).ok().is_some_and(|bytes| {
                crate::evidence::parse(&file.to_string_lossy(), &bytes)
                    .is_ok_and(|ev| ev.criterion_id == id)
            })
        }
    })
}

fn holder(task: &Task, id: &str, def: &Criterion, compare: bool) -> Holder {
    let line = task
        .criteria_ids
        .iter()
        .find(|(i, _)| i == id)
        .map_or(1, |(_, pos)| pos.line);
    let drift = if compare {
        match task.criteria.iter().find(|c| c.id == id) {
            Some(copy) => def.differences(copy),
            None => vec![format!(
                "the task's copy does not validate (`specproof lint {}`)",
                task.path
            )],
        }
    } else {
        Vec::new()
    };
    Holder {
        task: task.id().to_owned(),
        file: task.path.clone(),
        line,
        assigned_to: task.meta.as_ref().and_then(|m| m.assigned_to.clone()),
        drift,
    }
}

fn analyse(root: &Path, ws: &Workspace, plans: &[String], scoped: bool) -> Review {
    let mut warnings = Vec::new();
    let mut reviews = Vec::new();
    let mut fabricated = Vec::new();
    let mut reviewed_tasks: Vec<&Task> = Vec::new();
    // Task-scope criteria in plan order, with their holders: for coverage.
    let mut task_scope: Vec<(String, Vec<Holder>)> = Vec::new();

    warnings.extend(ws.config_diagnostics.iter().map(ToString::to_string));
    for task in &ws.tasks {
        if task.meta.is_none() {
            warnings.push(format!(
                "{}: its front matter does not parse, so its criteria are not counted (`specproof lint {}`)",
                task.path, task.path
            ));
        }
    }
    let mut broken_plans = 0;
    for plan_path in plans {
        let defs = match Definitions::load(root, plan_path) {
            Ok(defs) => defs,
            Err(e) => {
                warnings.push(format!("{e}: the plan is not reviewed"));
                broken_plans += 1;
                continue;
            }
        };
        let invalid: Vec<String> = defs
            .parsed
            .ids
            .iter()
            .filter(|(id, _)| defs.parsed.criterion(id).is_none())
            .map(|(id, _)| id.clone())
            .collect();
        if !defs.parsed.diagnostics.is_empty() {
            broken_plans += 1;
            warnings.push(format!(
                "{} has {} {} (`specproof lint {}`){}",
                defs.file,
                defs.parsed.diagnostics.len(),
                if defs.parsed.diagnostics.len() == 1 {
                    "problem"
                } else {
                    "problems"
                },
                defs.file,
                if invalid.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; criteria that do not validate are not reviewed: {}",
                        invalid.join(", ")
                    )
                }
            ));
        }
        if defs.from_snapshot()
            && std::fs::read(root.join(&defs.plan)).ok()
                != std::fs::read(root.join(&defs.file)).ok()
        {
            warnings.push(format!(
                "{} differs from its snapshot {}: the review is against the snapshot, which proofs run from (`specproof drift` shows how)",
                defs.plan, defs.file
            ));
        }
        let tasks: Vec<&Task> = ws
            .tasks
            .iter()
            .filter(|t| {
                t.meta
                    .as_ref()
                    .is_some_and(|m| paths::normalize(&m.plan_file) == *plan_path)
            })
            .collect();
        reviewed_tasks.extend(tasks.iter().copied());
        let evidence_dir = plan_evidence_dir(&ws.config.evidence_dir, plan_path);
        let mut seen = BTreeSet::new();
        let mut rows = Vec::new();
        for def in &defs.parsed.criteria {
            if !seen.insert(def.id.as_str()) {
                continue;
            }
            let holding: Vec<&&Task> = tasks
                .iter()
                .filter(|t| t.criteria_ids.iter().any(|(i, _)| *i == def.id))
                .collect();
            let task_level = def.scope == Scope::Task;
            let holders: Vec<Holder> = holding
                .iter()
                .map(|t| holder(t, &def.id, def, task_level))
                .collect();
            let row = if task_level {
                task_scope.push((def.id.clone(), holders.clone()));
                judge_task_scope(def, &defs, plan_path, holders)
            } else {
                let verified = has_plan_evidence(root, &evidence_dir, &def.id);
                judge_plan_level(def, plan_path, holders, verified)
            };
            rows.push(row);
        }
        for task in &tasks {
            for (id, pos) in &task.criteria_ids {
                if defs.parsed.defines(id) {
                    continue;
                }
                fabricated.push(Fabricated {
                    task: task.id().to_owned(),
                    file: task.path.clone(),
                    line: pos.line,
                    criterion: id.clone(),
                    plan: plan_path.clone(),
                    defined_in: defined_elsewhere(ws, id),
                });
            }
        }
        reviews.push(PlanReview {
            plan: plan_path.clone(),
            definitions: defs.file.clone(),
            criteria: rows,
        });
    }
    if !scoped {
        // Tasks whose plan_file is no plan: every criterion they hold is fabricated.
        for task in &ws.tasks {
            let Some(meta) = &task.meta else { continue };
            if ws.plan(&meta.plan_file).is_some() {
                continue;
            }
            warnings.push(format!(
                "{}: plan_file {} is not one of the plan files, so every criterion of {} counts as fabricated (`specproof lint {}`)",
                task.path,
                meta.plan_file,
                task.id(),
                task.path
            ));
            reviewed_tasks.push(task);
            for (id, pos) in &task.criteria_ids {
                fabricated.push(Fabricated {
                    task: task.id().to_owned(),
                    file: task.path.clone(),
                    line: pos.line,
                    criterion: id.clone(),
                    plan: meta.plan_file.clone(),
                    defined_in: defined_elsewhere(ws, id),
                });
            }
        }
    }

    let (coverage, unowned) = coverage(&reviewed_tasks, &task_scope);
    let mut summary = Summary {
        plans: reviews.len(),
        tasks: reviewed_tasks.len(),
        fabricated: fabricated.len(),
        broken_plans,
        ..Summary::default()
    };
    for c in reviews.iter().flat_map(|p| &p.criteria) {
        summary.criteria += 1;
        match c.status {
            Status::Mapped => summary.mapped += 1,
            Status::Missing => summary.missing += 1,
            Status::Duplicated => {
                summary.duplicated += 1;
                if c.tasks.iter().any(|h| !h.drift.is_empty()) {
                    summary.drifted += 1;
                }
            }
            Status::Drifted => summary.drifted += 1,
            Status::PlanLevel => summary.plan_level += 1,
            Status::Orphan => summary.orphaned += 1,
        }
    }
    Review {
        version: 1,
        ok: summary.problems() == 0,
        summary,
        plans: reviews,
        fabricated,
        coverage,
        unowned,
        gap_tasks: Vec::new(),
        warnings,
    }
}

fn defined_elsewhere(ws: &Workspace, id: &str) -> Option<String> {
    ws.plans
        .iter()
        .find(|p| p.defines(id))
        .map(|p| p.path.clone())
}

fn tasks_named(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| h.task.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn judge_task_scope(
    def: &Criterion,
    defs: &Definitions,
    plan: &str,
    holders: Vec<Holder>,
) -> CriterionReview {
    let mut detail = Vec::new();
    let status = match holders.len() {
        0 => {
            detail.push(format!(
                "in no task: copy it into a task of {plan}, or `specproof review-tasks --create-gap-tasks` writes one for its section's missing criteria"
            ));
            Status::Missing
        }
        1 if holders[0].drift.is_empty() => Status::Mapped,
        1 => Status::Drifted,
        n => {
            detail.push(format!(
                "in {n} tasks ({}): a task-scope criterion belongs to exactly one task; remove it from all but one",
                tasks_named(&holders)
            ));
            Status::Duplicated
        }
    };
    for h in holders.iter().filter(|h| !h.drift.is_empty()) {
        detail.push(format!(
            "{}:{}: {}'s copy differs from {}: {}; copy the definition again",
            h.file,
            h.line,
            h.task,
            defs.file,
            h.drift.join("; ")
        ));
    }
    CriterionReview {
        id: def.id.clone(),
        section: def.section.clone(),
        scope: def.scope,
        status,
        // A duplicated criterion can be drifted too: the drift is not hidden behind it.
        failure_code: (status == Status::Drifted || holders.iter().any(|h| !h.drift.is_empty()))
            .then_some(FailureCode::F14),
        tasks: holders,
        verified_at_plan_level: None,
        detail,
    }
}

fn judge_plan_level(
    def: &Criterion,
    plan: &str,
    holders: Vec<Holder>,
    verified: bool,
) -> CriterionReview {
    let mut detail = Vec::new();
    for h in &holders {
        detail.push(format!(
            "{}:{}: in task {}: a {} criterion belongs to no task; remove it from the task",
            h.file,
            h.line,
            h.task,
            def.scope.name()
        ));
    }
    if !verified {
        detail.push(format!(
            "never verified at plan level (no evidence under _plan/ for it): `specproof verify --plan {plan}`"
        ));
    }
    let orphan = !holders.is_empty() || !verified;
    CriterionReview {
        id: def.id.clone(),
        section: def.section.clone(),
        scope: def.scope,
        status: if orphan {
            Status::Orphan
        } else {
            Status::PlanLevel
        },
        failure_code: orphan.then_some(FailureCode::F16),
        tasks: holders,
        verified_at_plan_level: Some(verified),
        detail,
    }
}

/// Who holds which task-scope criteria: one entry per owner (named owners in byte order, then
/// tasks without one), and the criteria no owner holds.
fn coverage(tasks: &[&Task], task_scope: &[(String, Vec<Holder>)]) -> (Vec<Owner>, Vec<String>) {
    let mut owners: BTreeMap<Option<String>, Owner> = BTreeMap::new();
    for task in tasks {
        let owner = task.meta.as_ref().and_then(|m| m.assigned_to.clone());
        owners
            .entry(owner.clone())
            .or_insert_with(|| Owner {
                owner,
                tasks: Vec::new(),
                criteria: Vec::new(),
            })
            .tasks
            .push(task.id().to_owned());
    }
    let mut unowned = Vec::new();
    for (id, holders) in task_scope {
        for h in holders {
            if let Some(owner) = owners.get_mut(&h.assigned_to)
                && !owner.criteria.contains(id)
            {
                owner.criteria.push(id.clone());
            }
        }
        if !holders.iter().any(|h| h.assigned_to.is_some()) {
            unowned.push(id.clone());
        }
    }
    let mut list: Vec<Owner> = owners.into_values().collect();
    // None sorts first in a BTreeMap: tasks without an owner go last.
    let unassigned_first = list.first().is_some_and(|o| o.owner.is_none());
    list.rotate_left(usize::from(unassigned_first));
    (list, unowned)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `6 criteria in 1 plan, 3 tasks`.
fn counts(s: &Summary) -> String {
    format!(
        "{} {} in {} {}, {} {}",
        s.criteria,
        plural(s.criteria, "criterion", "criteria"),
        s.plans,
        plural(s.plans, "plan", "plans"),
        s.tasks,
        plural(s.tasks, "task", "tasks")
    )
}

/// `1 missing, 2 drifted`: the problem counts that are not zero.
fn problem_counts(s: &Summary) -> String {
    [
        (s.missing, "missing"),
        (s.duplicated, "duplicated"),
        (s.drifted, "drifted"),
        (s.fabricated, "fabricated"),
        (s.orphaned, "orphaned"),
        (s.broken_plans, "plan with problems (`specproof lint`)"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ")
}

fn owner_name(owner: Option<&str>) -> &str {
    owner.unwrap_or("(unassigned)")
}

/// The review as text for people: per plan a table of its criteria with the details under each
/// problem, the fabricated criteria, the coverage per owner, then a summary line.
#[must_use]
pub fn table(review: &Review, printer: &Printer) -> String {
    let mut out = String::new();
    for plan in &review.plans {
        let _ = writeln!(
            out,
            "{} (definitions: {})",
            printer.paint_out(&styles::location(), &plan.plan),
            plan.definitions
        );
        if plan.criteria.is_empty() {
            let _ = writeln!(out, "  no criteria");
            out.push('\n');
            continue;
        }
        let header = ["CRITERION", "SCOPE", "STATUS", "TASKS", "SECTION"];
        let cells: Vec<[String; 5]> = plan
            .criteria
            .iter()
            .map(|c| {
                [
                    c.id.clone(),
                    c.scope.name().to_owned(),
                    match c.failure_code {
                        Some(code) => format!("{} {code}", c.status.name()),
                        None => c.status.name().to_owned(),
                    },
                    if c.tasks.is_empty() {
                        "-".to_owned()
                    } else {
                        tasks_named(&c.tasks)
                    },
                    c.section.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: [&str; 5], status: Option<&console::Style>| {
            let mut text = String::from("  ");
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                match (status, i) {
                    (Some(style), 2) => text.push_str(&printer.paint_out(style, cell)),
                    _ => text.push_str(cell),
                }
                if i + 1 < row.len() {
                    text.push_str(&" ".repeat(pad + 2));
                }
            }
            text.trim_end().to_owned()
        };
        let _ = writeln!(
            out,
            "{}",
            printer.paint_out(&styles::location(), &line(header, None))
        );
        for (row, c) in cells.iter().zip(&plan.criteria) {
            let style = if c.status.is_problem() {
                styles::error()
            } else {
                styles::ok()
            };
            let _ = writeln!(
                out,
                "{}",
                line([&row[0], &row[1], &row[2], &row[3], &row[4]], Some(&style))
            );
            for d in &c.detail {
                let _ = writeln!(out, "      {d}");
            }
        }
        out.push('\n');
    }
    if !review.fabricated.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            printer.paint_out(
                &styles::location(),
                "fabricated: criteria of tasks that their plan does not define (F2)"
            )
        );
        for f in &review.fabricated {
            let _ = writeln!(out, "  {}", fabricated_text(f));
        }
        out.push('\n');
    }
    if !review.coverage.is_empty() || !review.unowned.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            printer.paint_out(&styles::location(), "coverage by owner (assigned_to):")
        );
        let width = review
            .coverage
            .iter()
            .map(|o| owner_name(o.owner.as_deref()).chars().count())
            .max()
            .unwrap_or(0);
        for o in &review.coverage {
            let name = owner_name(o.owner.as_deref());
            let pad = width - name.chars().count();
            let criteria = if o.criteria.is_empty() {
                "no task-scope criteria".to_owned()
            } else {
                o.criteria.join(", ")
            };
            let _ = writeln!(
                out,
                "  {name}{}  {}: {criteria}",
                " ".repeat(pad),
                o.tasks.join(", ")
            );
        }
        if !review.unowned.is_empty() {
            let _ = writeln!(out, "  held by no owner: {}", review.unowned.join(", "));
        }
        out.push('\n');
    }
    for g in &review.gap_tasks {
        let _ = writeln!(
            out,
            "{} {}: gap task {} for {}, {}: {}",
            printer.paint_out(&styles::ok(), "wrote"),
            g.file,
            g.task,
            g.plan,
            section_name(g.section.as_deref()),
            g.criteria.join(", ")
        );
    }
    if !review.gap_tasks.is_empty() {
        let _ = writeln!(
            out,
            "  next: assign them (`assigned_to`), write their Echo-Backs, and commit them"
        );
    }
    let s = &review.summary;
    if review.ok {
        let _ = write!(
            out,
            "{}: every task-scope criterion is in exactly one task as the plan defines it, and every plan-level one is verified at plan level ({})",
            printer.paint_out(&styles::ok(), "ok"),
            counts(s)
        );
    } else {
        let _ = write!(
            out,
            "{}: {} {}: {} ({})",
            printer.paint_out(&styles::error(), "failed"),
            s.problems(),
            plural(s.problems(), "problem", "problems"),
            problem_counts(s),
            counts(s)
        );
    }
    out
}

/// `section "Title"`, or what stands for the text before a plan's first heading.
fn section_name(section: Option<&str>) -> String {
    section.map_or_else(
        || "the text before its first heading".to_owned(),
        |s| format!("section \"{s}\""),
    )
}

fn fabricated_text(f: &Fabricated) -> String {
    let why = match &f.defined_in {
        Some(other) => format!(
            "{} has no such criterion (it is defined in {other}, a different plan)",
            f.plan
        ),
        None => format!(
            "{} has no such criterion; copy criteria from the plan, never invent them",
            f.plan
        ),
    };
    format!("{}:{}: {}: {}: {why}", f.file, f.line, f.task, f.criterion)
}

/// A table cell: `|` escaped, line breaks as `<br>`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// The review as markdown, to post as a pull-request comment.
#[must_use]
pub fn markdown(review: &Review) -> String {
    let s = &review.summary;
    let mut out = String::from("## specproof review-tasks\n\n");
    if review.ok {
        let _ = writeln!(
            out,
            "**ok**: every task-scope criterion is in exactly one task as the plan defines it ({}).\n",
            counts(s)
        );
    } else {
        let _ = writeln!(
            out,
            "**failed**: {} {}: {} ({}).\n",
            s.problems(),
            plural(s.problems(), "problem", "problems"),
            problem_counts(s),
            counts(s)
        );
    }
    for plan in &review.plans {
        let _ = writeln!(
            out,
            "### `{}`\n\nDefinitions: `{}`\n",
            plan.plan, plan.definitions
        );
        if plan.criteria.is_empty() {
            out.push_str("No criteria.\n\n");
            continue;
        }
        out.push_str("| criterion | scope | status | tasks | section | detail |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for c in &plan.criteria {
            let status = match (c.status.is_problem(), c.failure_code) {
                (true, Some(code)) => format!("**{}** {code}", c.status.name()),
                (true, None) => format!("**{}**", c.status.name()),
                (false, _) => c.status.name().to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {status} | {} | {} | {} |",
                c.id,
                c.scope.name(),
                cell(&tasks_named(&c.tasks)),
                cell(c.section.as_deref().unwrap_or_default()),
                cell(&c.detail.join("\n"))
            );
        }
        out.push('\n');
    }
    if !review.fabricated.is_empty() {
        out.push_str("### Fabricated criteria (F2)\n\n| task | criterion | file | detail |\n|---|---|---|---|\n");
        for f in &review.fabricated {
            let detail = match &f.defined_in {
                Some(other) => format!("not in `{}`; defined in `{other}`", f.plan),
                None => format!("not in `{}`", f.plan),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}:{}` | {} |",
                cell(&f.task),
                f.criterion,
                cell(&f.file),
                f.line,
                cell(&detail)
            );
        }
        out.push('\n');
    }
    if !review.coverage.is_empty() || !review.unowned.is_empty() {
        out.push_str("### Coverage by owner\n\n| owner | tasks | criteria |\n|---|---|---|\n");
        for o in &review.coverage {
            let criteria: Vec<String> = o.criteria.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(owner_name(o.owner.as_deref())),
                cell(&o.tasks.join(", ")),
                criteria.join(", ")
            );
        }
        if !review.unowned.is_empty() {
            let ids: Vec<String> = review.unowned.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(out, "| _held by no owner_ | | {} |", ids.join(", "));
        }
        out.push('\n');
    }
    if !review.gap_tasks.is_empty() {
        out.push_str("### Gap tasks written\n\n");
        for g in &review.gap_tasks {
            let ids: Vec<String> = g.criteria.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(
                out,
                "- `{}` ({}, {}): {}",
                g.file,
                g.plan,
                section_name(g.section.as_deref()),
                ids.join(", ")
            );
        }
        out.push('\n');
    }
    if !review.warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in &review.warnings {
            let _ = writeln!(out, "- {}", w.replace('\n', " "));
        }
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(task: &str, owner: Option<&str>) -> Holder {
        Holder {
            task: task.into(),
            file: format!("t/{task}.md"),
            line: 9,
            assigned_to: owner.map(str::to_owned),
            drift: Vec::new(),
        }
    }

    #[test]
    fn the_evidence_folder_is_the_plan_stem_under_plan() {
        assert_eq!(
            plan_evidence_dir(".specproof/evidence/", "plans/auth.md"),
            ".specproof/evidence/_plan/auth"
        );
    }

    #[test]
    fn coverage_lists_owners_then_the_unassigned_and_what_nobody_holds() {
        let mk = |id: &str, owner: Option<&str>| {
            let text = format!(
                "---\ntask_id: {id}\nplan_file: p.md\nstatus: created\nassigned_to: {}\n---\n",
                owner.unwrap_or("null")
            );
            Task::parse(
                &format!("t/{id}.md"),
                text.as_bytes(),
                crate::criterion::Ctx::default(),
            )
        };
        let (t1, t2, t3) = (
            mk("T-1", Some("zoe")),
            mk("T-2", None),
            mk("T-3", Some("ann")),
        );
        let scope = vec![
            ("A".to_owned(), vec![holder("T-1", Some("zoe"))]),
            ("B".to_owned(), vec![holder("T-2", None)]),
            ("C".to_owned(), Vec::new()),
            (
                "D".to_owned(),
                vec![holder("T-2", None), holder("T-1", Some("zoe"))],
            ),
        ];
        let (owners, unowned) = coverage(&[&t1, &t2, &t3], &scope);
        let shown: Vec<(Option<&str>, Vec<&str>, Vec<&str>)> = owners
            .iter()
            .map(|o| {
                (
                    o.owner.as_deref(),
                    o.tasks.iter().map(String::as_str).collect(),
                    o.criteria.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (Some("ann"), vec!["T-3"], vec![]),
                (Some("zoe"), vec!["T-1"], vec!["A", "D"]),
                (None, vec!["T-2"], vec!["B", "D"]),
            ]
        );
        assert_eq!(unowned, ["B", "C"]);
    }

    #[test]
    fn markdown_cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
    }
}
