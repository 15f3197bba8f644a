//! Which criteria a verify run covers: the chosen tasks' criteria, defined by the plan snapshot,
//! and the plan-level criteria of the chosen plans; what cannot be verified becomes an error row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::criterion::Scope;
use crate::diagnostic::{FailureCode, did_you_mean};
use crate::lint::SNAPSHOT_DIR;
use crate::plan::Plan;
use crate::task::{Escalation, Status, Task, TaskMeta};
use crate::workspace::{Reader, Workspace};

use super::{Options, Report, Unit, VerifyError, error_row};

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
                quick_regex: true,
            };
            // Only the snapshot or a plan file of the config, never a file through a link out
            // of the repository.
            let plan = if self.root.join(&snapshot).is_file()
                && crate::paths::check(Some(self.root), &snapshot).is_ok()
            {
                Some(reader.plan(&snapshot))
            } else {
                self.ws.plan(plan_file).cloned()
            };
            self.loaded.insert(plan_file.to_owned(), plan);
        }
        self.loaded.get(plan_file).and_then(Option::as_ref)
    }
}

/// Chooses the criteria to verify. Tasks and criteria that cannot be verified as they stand
/// become error rows in `report`.
pub(super) fn select(
    root: &Path,
    ws: &Workspace,
    options: &Options,
    report: &mut Report,
) -> Result<Vec<Unit>, VerifyError> {
    let plans = &mut Plans {
        root,
        ws,
        loaded: BTreeMap::new(),
    };
    let all_ids: Vec<&str> = ws.tasks.iter().map(Task::id).collect();
    for name in &options.tasks {
        if !all_ids.contains(&name.as_str()) {
            let hint = did_you_mean(name, all_ids.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(VerifyError::Usage(format!(
                "no task {name} in {}{hint}",
                ws.config.tasks_dir
            )));
        }
    }
    let globs = crate::workspace::plan_globs(&ws.config);
    for plan in &options.plans {
        if let Err(problem) = crate::paths::check(Some(root), plan) {
            return Err(VerifyError::Usage(format!("{plan}: path {problem}")));
        }
        let snapshot = root.join(format!("{SNAPSHOT_DIR}/{plan}")).is_file();
        if !snapshot && !crate::workspace::is_plan_path(&ws.config, &globs, plan) {
            return Err(VerifyError::Usage(format!(
                "{plan} is not a plan file: plans are the files matching {:?} (`plans` in specproof.yml)",
                ws.config.plans
            )));
        }
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
        let id = task.id().to_owned();
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
        if let Some((code, why)) = refusal(root, task, meta) {
            report.rows.push(error_row(
                Some(&id),
                Some(&meta.plan_file),
                "-",
                Some(code),
                why,
            ));
            continue;
        }
        dependencies(ws, task, meta, report);
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
        let iteration = super::plan_iteration(ws, plan_file);
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
        // Plan-level evidence is kept by the plan's file stem: another plan of that stem would
        // read and overwrite it.
        let others = crate::lint::same_stem(&ws.plans, plan_file);
        if !others.is_empty() {
            report.rows.push(error_row(
                None,
                Some(plan_file),
                "-",
                Some(FailureCode::F8),
                format!(
                    "{plan_file} and {} have the same file name, which keys plan-level evidence (_plan/{}/): rename one of the plans",
                    others.join(" and "),
                    crate::lint::plan_stem(plan_file)
                ),
            ));
            continue;
        }
        for c in plan
            .criteria
            .iter()
            .filter(|c| c.scope != Scope::Task && wanted(&c.id))
        {
            units.push(Unit {
                owner: super::plan_owner(plan_file),
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

/// Why a task that is not complete cannot be verified as it stands, if it cannot: a task lint
/// rejects (its iteration, base and escalation cannot be trusted), one whose failed attempt could
/// not be recorded, or one escalated to a person.
fn refusal(root: &Path, task: &Task, meta: &TaskMeta) -> Option<(FailureCode, String)> {
    let id = &meta.task_id;
    if *id != task.stem {
        return Some((
            FailureCode::F8,
            format!(
                "{}: task_id {id:?} differs from the file name: rename the file or fix task_id (`specproof lint` lists every problem)",
                task.path
            ),
        ));
    }
    if let Some(problem) = task.diagnostics.iter().find(|d| d.code == FailureCode::F8) {
        return Some((
            FailureCode::F8,
            format!(
                "cannot verify until the task file is fixed: {problem} (`specproof lint {}` lists every problem)",
                task.path
            ),
        ));
    }
    let editable = std::fs::read_to_string(root.join(&task.path))
        .map_err(|e| format!("cannot read it: {e}"))
        .and_then(|src| crate::task_edit::check_editable(&task.path, &src, meta));
    if let Err(why) = editable {
        return Some((
            FailureCode::F8,
            format!(
                "{}: a failed attempt could not be recorded, so verify does not run: {why}",
                task.path
            ),
        ));
    }
    if meta.escalation == Some(Escalation::Human) || meta.attempts_since_ack() >= 4 {
        return Some((
            FailureCode::F6,
            format!(
                "{id} was escalated to a person after {} failed attempts: verify is refused until `specproof escalate --ack {id} --by NAME --note TEXT` records a decision",
                meta.attempts_since_ack()
            ),
        ));
    }
    None
}

/// F7 (SPEC §6.1): the tasks `depends_on` names that are not done or complete in the working
/// tree. A done task whose dependencies are not done cannot hold, so it gets an error row (the
/// run fails); any other task is work in progress: a warning, and its proofs run all the same.
fn dependencies(ws: &Workspace, task: &Task, meta: &TaskMeta, report: &mut Report) {
    let (names, unmet): (Vec<&str>, Vec<String>) = meta
        .depends_on
        .iter()
        .filter_map(|dep| {
            let why = match ws
                .tasks
                .iter()
                .find(|t| t.id() == dep)
                .map(|t| t.meta.as_ref())
            {
                None => format!("{dep}, which does not exist"),
                Some(None) => format!("{dep}, whose front matter does not parse"),
                Some(Some(m)) if matches!(m.status, Status::Done | Status::Complete) => {
                    return None;
                }
                Some(Some(m)) => format!("{dep}, which is {}", m.status.name()),
            };
            Some((dep.as_str(), why))
        })
        .unzip();
    if unmet.is_empty() {
        return;
    }
    let id = &meta.task_id;
    if meta.status == Status::Done {
        report.rows.push(error_row(
            Some(id),
            Some(&meta.plan_file),
            "-",
            Some(FailureCode::F7),
            format!(
                "{id} is done, but depends on {}: a task is done only after the tasks it depends on; finish them first, or move {id} back to in_progress in {}",
                unmet.join("; "),
                task.path
            ),
        ));
    } else {
        report.warnings.push(format!(
            "{}: F7: {id} depends on {}: its proofs run, but it cannot be done until {} {} done or complete",
            task.path,
            unmet.join("; "),
            names.join(", "),
            if names.len() == 1 { "is" } else { "are" }
        ));
    }
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
        let why = if root.join(plan_file).exists() {
            format!(
                "is not one of the plan files (the `plans` globs {:?} of specproof.yml, inside the repository)",
                plans.ws.config.plans
            )
        } else {
            "does not exist".to_owned()
        };
        report.rows.push(error_row(
            Some(id),
            Some(plan_file),
            "-",
            Some(FailureCode::F8),
            format!("{}: plan_file {plan_file} {why}", task.path),
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
        // Nothing proven is not a pass.
        report.rows.push(error_row(
            Some(id),
            Some(plan_file),
            "-",
            Some(FailureCode::F1),
            format!(
                "{}: task {id} has no criteria in its Acceptance Criteria block: copy the plan's criteria for section {:?} into it",
                task.path,
                meta.plan_section.as_deref().unwrap_or("?")
            ),
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
