//! `specproof lint`: gate 1 over plans and tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::criterion::{Criterion, Scope};
use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule, did_you_mean};
use crate::plan::Plan;
use crate::task::Task;
use crate::workspace::{self, Reader, Workspace};

/// What was checked and what was found.
#[derive(Debug, Serialize)]
pub struct LintReport {
    pub checked: Checked,
    pub problems: Vec<Diagnostic>,
}

/// Counts of what lint looked at.
#[derive(Debug, Default, Serialize)]
pub struct Checked {
    pub plans: usize,
    pub tasks: usize,
    pub criteria: usize,
}

/// The folder where plan snapshots live (SPEC §1).
pub const SNAPSHOT_DIR: &str = ".specproof/snapshots";

/// What `lint PATHS` names: a file, or a folder standing for the plan and task files under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Repository-relative; empty for the root.
    pub path: String,
    pub folder: bool,
}

/// Lints the repository at `root`. `targets` limits the report to those files and folders (a
/// named file is read even when the config's globs do not reach it); empty means every plan and
/// task file.
///
/// # Errors
/// A message when a named folder holds no plan or task file.
pub fn lint(root: &Path, targets: &[Target]) -> Result<LintReport, String> {
    let mut ws = Workspace::load(root);
    let reader = Reader {
        root,
        max_size: ws.config.max_file_size.0,
        quick_regex: false,
    };
    let mut only: Vec<String> = Vec::new();
    for target in targets {
        if target.folder {
            let under = |p: &str| {
                target.path.is_empty()
                    || p.strip_prefix(&target.path)
                        .is_some_and(|rest| rest.starts_with('/'))
            };
            let found: Vec<String> = ws
                .plans
                .iter()
                .map(|p| p.path.clone())
                .chain(ws.tasks.iter().map(|t| t.path.clone()))
                .filter(|p| under(p))
                .collect();
            if found.is_empty() {
                let shown = if target.path.is_empty() {
                    "."
                } else {
                    target.path.as_str()
                };
                return Err(format!(
                    "{shown}: no plan or task files there (plans are {:?} in specproof.yml, tasks are in {})",
                    ws.config.plans, ws.config.tasks_dir
                ));
            }
            only.extend(found);
            continue;
        }
        let rel = &target.path;
        if rel != crate::config::FILE {
            if workspace::is_task_path(&ws.config, rel) {
                if !ws.tasks.iter().any(|t| &t.path == rel) {
                    ws.tasks.push(reader.task(rel));
                }
            } else if ws.plan(rel).is_none() {
                ws.plans.push(reader.plan(rel));
            }
        }
        only.push(rel.clone());
    }
    let only = only;

    let mut problems = ws.config_diagnostics.clone();
    for plan in &ws.plans {
        problems.extend(plan.diagnostics.iter().cloned());
    }
    problems.extend(duplicate_ids(&ws.plans));
    problems.extend(duplicate_stems(&ws.plans));
    problems.extend(unverifiable(&ws.plans));
    let mut snapshots = Snapshots::default();
    for plan in &ws.plans {
        snapshots.get(root, &plan.path);
    }
    let plan_exists = |rel: &str| root.join(rel).is_file();
    let snapshot_of = |rel: &str| snapshots.loaded.get(rel).and_then(Option::as_ref);
    for task in &ws.tasks {
        problems.extend(task.diagnostics.iter().cloned());
        problems.extend(check_task(
            task,
            &ws.plans,
            &ws.config,
            &plan_exists,
            &snapshot_of,
        ));
    }
    problems.extend(snapshots.diagnostics);
    problems.extend(dependencies(&ws.tasks, &ws.config.tasks_dir));

    if !only.is_empty() {
        let wanted: BTreeSet<&str> = only.iter().map(String::as_str).collect();
        problems.retain(|d| wanted.contains(d.file.as_str()) || d.file == crate::config::FILE);
    }
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems.dedup();

    let in_scope = |path: &str| only.is_empty() || only.iter().any(|o| o == path);
    let plans: Vec<&Plan> = ws.plans.iter().filter(|p| in_scope(&p.path)).collect();
    let checked = Checked {
        plans: plans.len(),
        tasks: ws.tasks.iter().filter(|t| in_scope(&t.path)).count(),
        criteria: plans.iter().map(|p| p.ids.len()).sum(),
    };
    Ok(LintReport { checked, problems })
}

fn duplicate_ids(plans: &[Plan]) -> Vec<Diagnostic> {
    let mut seen: HashMap<&str, (&str, Pos)> = HashMap::new();
    let mut out = Vec::new();
    for plan in plans {
        for (id, pos) in &plan.ids {
            if let Some((file, first)) = seen.get(id.as_str()) {
                out.push(
                    Diagnostic::new(
                        &plan.path,
                        *pos,
                        FailureCode::F1,
                        Rule::DuplicateId,
                        format!("duplicate ID: also defined at {file}:{}; IDs are unique across all plans, rename one", first.line),
                    )
                    .criterion(Some(id))
                    .field("id"),
                );
            } else {
                seen.insert(id, (&plan.path, *pos));
            }
        }
    }
    out
}

/// Plans sharing a file stem (SPEC §1 keys plan-level evidence by it): each such plan is told
/// the others' paths.
fn duplicate_stems(plans: &[Plan]) -> Vec<Diagnostic> {
    plans
        .iter()
        .filter_map(|plan| {
            let others = same_stem(plans, &plan.path);
            (!others.is_empty()).then(|| {
                Diagnostic::new(
                    &plan.path,
                    Pos::line(1),
                    FailureCode::F8,
                    Rule::DuplicatePlanStem,
                    same_stem_message(&plan.path, &others),
                )
            })
        })
        .collect()
}

/// The file stem plan-level evidence and convergence records of `plan_file` are kept by (and a
/// task file's ID): its file name without `.md`. The one place this is worked out.
#[must_use]
pub fn plan_stem(plan_file: &str) -> &str {
    let name = plan_file.rsplit('/').next().unwrap_or(plan_file);
    name.strip_suffix(".md").unwrap_or(name)
}

/// The plan files other than `plan_file` whose stem is the same as its.
#[must_use]
pub fn same_stem<'p>(plans: &'p [Plan], plan_file: &str) -> Vec<&'p str> {
    let stem = plan_stem(plan_file);
    plans
        .iter()
        .filter(|p| p.path != plan_file && plan_stem(&p.path) == stem)
        .map(|p| p.path.as_str())
        .collect()
}

/// Says that `plan_file` and `others` share a file name, and what to do.
#[must_use]
pub fn same_stem_message(plan_file: &str, others: &[&str]) -> String {
    let stem = plan_stem(plan_file);
    format!(
        "{plan_file} and {} have the same file name \"{stem}\", and plan-level evidence (_plan/{stem}/ in the evidence folder) and convergence records (.specproof/convergence/{stem}/) are kept by it: rename one of the plans",
        others.join(" and ")
    )
}

fn unverifiable(plans: &[Plan]) -> Vec<Diagnostic> {
    let defined = |id: &str| plans.iter().any(|p| p.defines(id));
    plans
        .iter()
        .flat_map(|plan| plan.checkboxes.iter().map(move |c| (plan, c)))
        .filter(|(_, c)| !defined(&c.id))
        .map(|(plan, c)| {
            Diagnostic::new(
                &plan.path,
                c.pos,
                FailureCode::F1,
                Rule::Unverifiable,
                "checkbox criterion has no proof: define it in a ```criteria block with a proof (file_exists, pattern_matches, test_passes, …)",
            )
            .criterion(Some(&c.id))
        })
        .collect()
}

/// Plan snapshots, read once each.
#[derive(Default)]
struct Snapshots {
    loaded: BTreeMap<String, Option<Plan>>,
    diagnostics: Vec<Diagnostic>,
}

impl Snapshots {
    /// The snapshot of `plan_file`, if one exists (SPEC §8).
    fn get(&mut self, root: &Path, plan_file: &str) -> Option<&Plan> {
        if !self.loaded.contains_key(plan_file) {
            let rel = format!("{SNAPSHOT_DIR}/{plan_file}");
            let plan = root.join(&rel).is_file().then(|| {
                let snapshot = Reader {
                    root,
                    max_size: u64::MAX,
                    quick_regex: false,
                }
                .plan(&rel);
                self.diagnostics
                    .extend(snapshot.diagnostics.iter().cloned());
                snapshot
            });
            self.loaded.insert(plan_file.to_owned(), plan);
        }
        self.loaded.get(plan_file).and_then(Option::as_ref)
    }
}

/// Gate 1 for one task: its front matter names an existing plan and section, it has criteria,
/// and each traces to the plan's authoritative definition (the snapshot, else the plan) with an
/// identical copy. `plans`: every plan file of the content; `plan_exists`: whether a file is
/// there at all (for the message); `snapshot_of`: a plan's snapshot, when it has one.
pub fn check_task<'p>(
    task: &Task,
    plans: &'p [Plan],
    config: &crate::config::Config,
    plan_exists: &dyn Fn(&str) -> bool,
    snapshot_of: &dyn Fn(&str) -> Option<&'p Plan>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(meta) = &task.meta else { return out };
    let id = Some(meta.task_id.as_str());
    let field_pos = |key: &str| task.field_pos(key);
    if meta.task_id != task.stem {
        out.push(
            Diagnostic::new(
                &task.path,
                field_pos("task_id"),
                FailureCode::F8,
                Rule::TaskIdMismatch,
                format!(
                    "task_id \"{}\" differs from the file name \"{}.md\": rename one so they match",
                    meta.task_id, task.stem
                ),
            )
            .task(id)
            .field("task_id"),
        );
    }
    if task.criteria_section.is_none() {
        out.push(
            Diagnostic::new(
                &task.path,
                Pos::line(1),
                FailureCode::F1,
                Rule::MissingSection,
                "task has no `## Acceptance Criteria` section with a ```criteria block: copy its criteria from the plan",
            )
            .task(id),
        );
    } else if task.criteria_blocks == 0 {
        out.push(
            Diagnostic::new(
                &task.path,
                Pos::line(task.criteria_section.unwrap_or(1)),
                FailureCode::F1,
                Rule::MissingSection,
                "Acceptance Criteria holds no ```criteria block: copy the task's criteria from the plan",
            )
            .task(id),
        );
    }
    let mut seen = BTreeSet::new();
    for (cid, pos) in &task.criteria_ids {
        if !seen.insert(cid.as_str()) {
            out.push(
                Diagnostic::new(
                    &task.path,
                    *pos,
                    FailureCode::F1,
                    Rule::DuplicateId,
                    "listed twice in Acceptance Criteria: remove one copy",
                )
                .criterion(Some(cid))
                .task(id),
            );
        }
    }

    // The plan the task names, and the definitions its criteria are checked against.
    let plan_pos = field_pos("plan_file");
    let wanted = crate::paths::normalize(&meta.plan_file);
    let Some(plan) = plans.iter().find(|p| p.path == wanted) else {
        let exists = plan_exists(&meta.plan_file);
        let message = if exists {
            format!(
                "plan_file \"{}\" is not one of the plan files (`plans:` in specproof.yml is {:?}): move it or widen `plans`",
                meta.plan_file, config.plans
            )
        } else {
            format!("plan_file \"{}\" does not exist", meta.plan_file)
        };
        let hint = if exists {
            None
        } else {
            did_you_mean(&meta.plan_file, plans.iter().map(|p| p.path.as_str()))
        };
        out.push(
            Diagnostic::new(
                &task.path,
                plan_pos,
                FailureCode::F8,
                Rule::MissingPlan,
                message,
            )
            .task(id)
            .field("plan_file")
            .suggest(hint),
        );
        return out;
    };
    if let Some(section) = &meta.plan_section
        && plan.section(section).is_none()
    {
        let hint = did_you_mean(section, plan.sections.iter().map(|s| s.title.as_str()));
        out.push(
            Diagnostic::new(
                &task.path,
                field_pos("plan_section"),
                FailureCode::F8,
                Rule::MissingSection,
                format!(
                    "plan_section \"{section}\" is not a heading of {}",
                    plan.path
                ),
            )
            .task(id)
            .field("plan_section")
            .suggest(hint),
        );
    }
    let (definitions, source) = match snapshot_of(&plan.path) {
        Some(snapshot) => (snapshot, snapshot.path.clone()),
        None => (plan, plan.path.clone()),
    };
    for (cid, pos) in &task.criteria_ids {
        if !definitions.defines(cid) {
            let elsewhere = plans
                .iter()
                .find(|p| p.defines(cid))
                .map(|p| p.path.clone());
            let message = match elsewhere {
                Some(other) => format!(
                    "fabricated: {source} has no such criterion (it is defined in {other}, a different plan)"
                ),
                None => format!(
                    "fabricated: {source} has no such criterion; copy criteria from the plan, never invent them"
                ),
            };
            // No did-you-mean here: it would invite reusing another criterion's ID.
            out.push(
                Diagnostic::new(&task.path, *pos, FailureCode::F2, Rule::Fabricated, message)
                    .criterion(Some(cid))
                    .task(id),
            );
        }
    }
    for copy in &task.criteria {
        let Some(def) = definitions.criterion(&copy.id) else {
            continue;
        };
        if def.scope != Scope::Task || copy.scope != Scope::Task {
            out.push(orphan(task, copy, def, id));
            continue;
        }
        let diffs = def.differences(copy);
        if !diffs.is_empty() {
            out.push(
                Diagnostic::new(
                    &task.path,
                    copy.pos,
                    FailureCode::F14,
                    Rule::Drift,
                    format!("drift: the task's copy differs from {source} in {}; copy the definition again", diffs.join("; ")),
                )
                .criterion(Some(&copy.id))
                .task(id),
            );
        }
    }
    out
}

fn orphan(task: &Task, copy: &Criterion, def: &Criterion, id: Option<&str>) -> Diagnostic {
    let scope = if def.scope == Scope::Task {
        copy.scope
    } else {
        def.scope
    };
    Diagnostic::new(
        &task.path,
        copy.pos,
        FailureCode::F16,
        Rule::CrossCuttingInTask,
        format!(
            "is a {} criterion: it belongs to no task and is verified at plan level; remove it from this task",
            scope.name()
        ),
    )
    .criterion(Some(&copy.id))
    .task(id)
}

/// The `depends_on` problems of `tasks` (F7): a dependency on a task that does not exist, and
/// dependencies that lead back to the task (each task of a cycle is told the shortest cycle
/// through it, `T-1 → T-2 → T-1`), placed at the task's `depends_on`.
pub fn dependencies(tasks: &[Task], tasks_dir: &str) -> Vec<Diagnostic> {
    let ids: Vec<&str> = tasks.iter().map(Task::id).collect();
    let graph: BTreeMap<&str, Vec<&str>> = tasks
        .iter()
        .filter_map(|t| {
            let meta = t.meta.as_ref()?;
            let deps = meta
                .depends_on
                .iter()
                .map(String::as_str)
                .filter(|d| ids.contains(d))
                .collect();
            Some((t.id(), deps))
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        let Some(meta) = &task.meta else { continue };
        let id = Some(meta.task_id.as_str());
        let pos = task.field_pos("depends_on");
        for dep in &meta.depends_on {
            if !ids.contains(&dep.as_str()) {
                out.push(
                    Diagnostic::new(
                        &task.path,
                        pos,
                        FailureCode::F7,
                        Rule::MissingDependency,
                        format!(
                            "depends on {dep}, which is no task in {tasks_dir}: it can never be done, so neither can this task; fix the ID or remove it from depends_on"
                        ),
                    )
                    .task(id)
                    .field("depends_on")
                    .suggest(did_you_mean(dep, ids.iter().copied())),
                );
            }
        }
        if let Some(cycle) = cycle_through(&graph, task.id()) {
            out.push(
                Diagnostic::new(
                    &task.path,
                    pos,
                    FailureCode::F7,
                    Rule::DependencyCycle,
                    format!(
                        "depends_on forms a cycle: {}: no task of it can be done before the others; remove one of these dependencies",
                        cycle.join(" → ")
                    ),
                )
                .task(id)
                .field("depends_on"),
            );
        }
    }
    out
}

/// The shortest path of dependencies from `start` back to itself (`[start, …, start]`), if any:
/// a breadth-first search, neighbours in the order `depends_on` lists them.
fn cycle_through(graph: &BTreeMap<&str, Vec<&str>>, start: &str) -> Option<Vec<String>> {
    let mut came_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = std::collections::VecDeque::new();
    for &next in graph.get(start)? {
        if next == start {
            return Some(vec![start.to_owned(), start.to_owned()]);
        }
        if !came_from.contains_key(next) {
            came_from.insert(next, start);
            queue.push_back(next);
        }
    }
    while let Some(node) = queue.pop_front() {
        for &next in graph.get(node).map(Vec::as_slice).unwrap_or_default() {
            if next == start {
                let mut path = vec![start.to_owned(), node.to_owned()];
                let mut at = node;
                while let Some(&prev) = came_from.get(at) {
                    if prev == start {
                        break;
                    }
                    path.push(prev.to_owned());
                    at = prev;
                }
                path.push(start.to_owned());
                // Built backwards from the end: start, node, …, start reversed is the order.
                let last = path.len() - 1;
                path[1..last].reverse();
                return Some(path);
            }
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &[&'a str])]) -> BTreeMap<&'a str, Vec<&'a str>> {
        edges.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn the_shortest_cycle_through_a_task_is_named_in_dependency_order() {
        let g = graph(&[
            ("T-1", &["T-2"]),
            ("T-2", &["T-3", "T-1"]),
            ("T-3", &["T-1"]),
            ("T-4", &["T-1"]),
            ("T-5", &["T-5"]),
        ]);
        assert_eq!(
            cycle_through(&g, "T-1"),
            Some(vec!["T-1".into(), "T-2".into(), "T-1".into()])
        );
        assert_eq!(
            cycle_through(&g, "T-3"),
            Some(vec!["T-3".into(), "T-1".into(), "T-2".into(), "T-3".into()])
        );
        assert_eq!(
            cycle_through(&g, "T-4"),
            None,
            "depends on a cycle, is not in one"
        );
        assert_eq!(
            cycle_through(&g, "T-5"),
            Some(vec!["T-5".into(), "T-5".into()])
        );
        assert_eq!(cycle_through(&g, "T-9"), None);
    }
}
