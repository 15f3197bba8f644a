//! `specproof converge`: ends an iteration of each plan (SPEC §10.2).
//!
//! Every criterion of the plan is judged: those of its unfinished tasks and its plan-level ones
//! by running verify again (`--force`), those of complete tasks as the compliance matrix judges
//! them (their evidence is never rewritten). The results are compared with the previous
//! iteration's record, and the decision is converged, escalate or continue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::compliance::{self, Colour, Level};
use crate::criterion::Scope;
use crate::diagnostic::FailureCode;
use crate::evidence::Key;
use crate::task::{Status, TaskMeta};
use crate::task_new::{self, Definitions};
use crate::verify::{self, RowResult};
use crate::workspace::Workspace;

/// Where convergence records live: `<DIR>/<plan stem>/iter-<N>.json`.
pub const DIR: &str = ".specproof/convergence";

/// The record of iteration `n` of the plan whose stem is `stem`.
#[must_use]
pub fn record_path(stem: &str, n: u32) -> String {
    format!("{DIR}/{stem}/iter-{n}.json")
}

/// What to converge.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A plan's repository path; None: every plan.
    pub plan: Option<String>,
    /// Compute and show the decision, write nothing (no proof runs either).
    pub dry_run: bool,
    /// `SPECPROOF_OVERRIDE`: a person resumes the loop after an escalation, on the record.
    pub override_reason: Option<String>,
}

/// Converge could not do its work.
#[derive(Debug, Error)]
pub enum ConvergeError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error(transparent)]
    Compliance(#[from] compliance::ComplianceError),
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
}

/// How a criterion stands at the end of the iteration.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionResult {
    pub criterion: String,
    /// The task holding it; None at plan level or when no task holds it.
    pub task: Option<String>,
    /// `pass`, `fail` or `inconclusive`.
    pub result: &'static str,
    pub failure_code: Option<FailureCode>,
    /// `verified` (run again now) or `compliance` (a complete task's evidence, judged as is).
    pub judged: &'static str,
    pub detail: String,
}

/// Why an iteration escalates.
#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub code: FailureCode,
    pub reason: String,
}

/// A failing criterion and what its task tried.
#[derive(Debug, Clone, Serialize)]
pub struct Attempted {
    pub criterion: String,
    pub task: Option<String>,
    pub attempts: Option<u32>,
    pub failure_code: Option<FailureCode>,
}

/// The budget of the plan's convergence.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub iterations_used: u32,
    pub max_iterations: u32,
    pub minutes_used: u64,
    pub max_wall_clock_min: u64,
    pub spent: bool,
}

/// A gap task written (or, in a dry run, to be written).
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub task: Option<String>,
    pub file: Option<String>,
    pub criteria: Vec<String>,
}

/// The end of one plan's iteration.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOutcome {
    pub plan: String,
    pub iteration: u32,
    /// `converged`, `continue` or `escalate`.
    pub decision: &'static str,
    pub escalation: Vec<Escalation>,
    pub results: Vec<CriterionResult>,
    pub passed: usize,
    pub regressions: Vec<String>,
    pub stagnant: Vec<String>,
    pub budget: Budget,
    /// Complete tasks (what is done).
    pub complete: Vec<String>,
    /// Failing criteria with their tasks' attempts (what is missing and what was tried).
    pub missing: Vec<Attempted>,
    pub tasks_advanced: Vec<String>,
    /// Unfinished tasks at `escalation: human`, left in their iteration for a person's decision
    /// (`specproof escalate --ack`): a new iteration never lifts it (SPEC §6.2).
    pub tasks_waiting: Vec<String>,
    pub gap_tasks: Vec<Gap>,
    /// The record written; None in a dry run.
    pub record: Option<String>,
}

/// Every plan's outcome.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub plans: Vec<PlanOutcome>,
}

impl Report {
    /// The overall decision: escalate if any plan escalates, else continue if any continues.
    #[must_use]
    pub fn decision(&self) -> &'static str {
        if self.plans.iter().any(|p| p.decision == "escalate") {
            "escalate"
        } else if self.plans.iter().any(|p| p.decision == "continue") {
            "continue"
        } else {
            "converged"
        }
    }
}

fn stem(plan_file: &str) -> String {
    crate::lint::plan_stem(plan_file).to_owned()
}

/// Ends an iteration of every plan (or `options.plan`) of the repository at `root`.
///
/// # Errors
/// An unknown plan, a broken config, verify or the matrix failing, files that cannot be written.
pub fn converge(
    root: &Path,
    git: &git2::Repository,
    options: &Options,
    command_line: &str,
) -> Result<Report, ConvergeError> {
    let ws = Workspace::load(root);
    let plans: Vec<String> = match &options.plan {
        Some(p) => {
            if ws.plan(p).is_none() {
                return Err(ConvergeError::Usage(format!(
                    "{p}: not a plan file (the `plans` of specproof.yml)"
                )));
            }
            vec![p.clone()]
        }
        None => ws.plans.iter().map(|p| p.path.clone()).collect(),
    };
    let key = if options.dry_run {
        None
    } else {
        Some(Key::load_or_create(git.commondir())?)
    };
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    for plan in plans {
        let outcome = one_plan(root, git, &ws, &plan, options, key.as_ref(), command_line)?;
        report.plans.push(outcome);
    }
    Ok(report)
}

fn metas_of<'w>(ws: &'w Workspace, plan: &str) -> Vec<(&'w str, &'w TaskMeta)> {
    ws.tasks
        .iter()
        .filter_map(|t| Some((t.path.as_str(), t.meta.as_ref()?)))
        .filter(|(_, m)| m.plan_file == plan)
        .collect()
}

fn result_name(r: RowResult) -> &'static str {
    match r {
        RowResult::Pass => "pass",
        RowResult::Inconclusive => "inconclusive",
        RowResult::Fail | RowResult::Error => "fail",
    }
}

fn from_matrix(row: &compliance::Row) -> CriterionResult {
    let (result, code) = match row.colour {
        Colour::Green => ("pass", None),
        Colour::Grey => ("inconclusive", row.failure_code.or(Some(FailureCode::F4))),
        Colour::Yellow => ("fail", row.failure_code.or(Some(FailureCode::F11))),
        Colour::Orange => ("fail", row.failure_code.or(Some(FailureCode::F14))),
        Colour::Red => ("fail", row.failure_code.or(Some(FailureCode::F3))),
    };
    CriterionResult {
        criterion: row.criterion.clone(),
        task: row.task.clone(),
        result,
        failure_code: code,
        judged: "compliance",
        detail: row.reason.clone(),
    }
}

#[allow(clippy::too_many_lines)]
fn one_plan(
    root: &Path,
    git: &git2::Repository,
    ws: &Workspace,
    plan: &str,
    options: &Options,
    key: Option<&Key>,
    command_line: &str,
) -> Result<PlanOutcome, ConvergeError> {
    // The budget is the stricter of HEAD's and the working tree's settings, as the server and
    // audit judge the record (the stricter of the commit's and its parent's): a budget raised
    // in the working tree counts once it is committed.
    let head_content = head_content(git);
    let head_view = head_content.as_ref().map(crate::gate::view::View::load);
    let mut budget_config = ws.config.convergence.clone();
    if let Some(view) = &head_view {
        let committed = &view.config.convergence;
        budget_config.max_iterations = budget_config.max_iterations.min(committed.max_iterations);
        budget_config.max_wall_clock_min = budget_config
            .max_wall_clock_min
            .min(committed.max_wall_clock_min);
    }
    let config = &budget_config;
    // Each task's iteration as HEAD holds it: a second run before the first is committed
    // advances a task from there again, not twice.
    let head_iterations: BTreeMap<String, u32> = head_view
        .as_ref()
        .map(|view| {
            view.task_metas()
                .into_values()
                .map(|m| (m.task_id, m.iteration))
                .collect()
        })
        .unwrap_or_default();
    let plan_stem = stem(plan);
    // Records are kept by the plan file's stem (SPEC §10.2): two plans of one stem would share
    // them, and each iteration would overwrite the other's.
    if let Some(other) = ws
        .plans
        .iter()
        .find(|p| p.path != plan && stem(&p.path) == plan_stem)
    {
        return Err(ConvergeError::Failed(format!(
            "{plan} and {} have the same file name, and convergence records are kept by it (.specproof/convergence/{plan_stem}/): rename one of the plans",
            other.path
        )));
    }
    // Iterations of convergence are counted by the records HEAD holds: this run ends the one
    // after the last committed record. (Counting by the tasks' `iteration` would stop when a
    // `continue` had no task to advance: every task done, a plan-level criterion failing.)
    let tasks_iteration = verify::plan_iteration(ws, plan);
    let n = match last_committed(git, &plan_stem) {
        None => 1,
        Some((last, decision, at)) => {
            // After an escalation a person decides: the loop goes on only once they have
            // acknowledged a task of the plan since (`specproof escalate --ack`, committed), or
            // resume it on the record (SPECPROOF_OVERRIDE).
            if decision == "escalate"
                && options.override_reason.is_none()
                && !acked_since(git, plan, at)
            {
                let all_complete = metas_of(ws, plan)
                    .iter()
                    .all(|(_, m)| m.status == Status::Complete);
                let ack = if all_complete {
                    String::new()
                } else {
                    "`specproof escalate --ack T --by NAME --note TEXT` for a task of the plan that is not complete (committed), or ".to_owned()
                };
                return Err(ConvergeError::Usage(format!(
                    "{}: iteration {last} of {plan} escalated (its record is committed): a person decides what happens next: {ack}resume the loop on the record: SPECPROOF_OVERRIDE='<reason>' specproof converge, then commit with the same SPECPROOF_OVERRIDE",
                    record_path(&plan_stem, last)
                )));
            }
            last + 1
        }
    };
    let metas = metas_of(ws, plan);
    let path = record_path(&plan_stem, n);
    // A run whose record is not committed yet changed task files: running again would advance
    // them twice, or leave them advanced under another decision.
    if !options.dry_run && root.join(&path).exists() {
        let previous_run = std::fs::read(root.join(&path))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let listed = |key: &str, field: Option<&str>| -> String {
            previous_run
                .as_ref()
                .and_then(|r| r.get(key)?.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| match field {
                    Some(f) => v.get(f)?.as_str().map(str::to_owned),
                    None => v.as_str().map(str::to_owned),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let advanced = listed("tasks_advanced", None);
        let gaps = listed("gap_tasks", Some("file"));
        // A run that changed no task file (converged, escalated, or a continue with nothing
        // to advance) is simply done again.
        if !advanced.is_empty() || !gaps.is_empty() {
            return Err(ConvergeError::Usage(format!(
                "{path}: an earlier run ended iteration {n} and its record is not committed: commit it with the task files it changed (`git add -A .specproof && git commit`), or undo that run before running converge again: delete the record, put `iteration`, `attempts` and `escalation` back from HEAD in {}, and remove the gap tasks it wrote{}",
                if advanced.is_empty() {
                    "no task".to_owned()
                } else {
                    advanced
                },
                if gaps.is_empty() {
                    String::new()
                } else {
                    format!(" ({gaps}) unless you want them")
                }
            )));
        }
    }
    // A plan's records are kept by its file name: a plan renamed (or moved) after its tasks
    // went past their first iteration would start a history of its own, which the hooks
    // refuse to let advance them.
    if n == 1
        && options.override_reason.is_none()
        && let Some(past) = metas
            .iter()
            .find(|(_, m)| head_iterations.get(&m.task_id).is_some_and(|i| *i > 1))
    {
        return Err(ConvergeError::Usage(format!(
            "{plan} has no convergence record (.specproof/convergence/{plan_stem}/), and its task {} is in iteration {}: records are kept by the plan's file name, so a renamed plan does not start its history again: rename it back, or start over on the record: SPECPROOF_OVERRIDE='<reason>' specproof converge, then commit with the same SPECPROOF_OVERRIDE",
            past.1.task_id,
            head_iterations.get(&past.1.task_id).copied().unwrap_or(1)
        )));
    }
    let matrix = compliance::matrix(
        root,
        git,
        &compliance::Options {
            plans: vec![plan.to_owned()],
        },
    )?;
    // A plan that does not parse would show fewer criteria (or none) and could "converge".
    if matrix.broken_plans().next().is_some() {
        return Err(ConvergeError::Failed(format!(
            "{plan} has problems, so not every criterion can be judged: fix them first (`specproof lint {plan}`)"
        )));
    }
    let open: Vec<String> = metas
        .iter()
        .filter(|(_, m)| m.status != Status::Complete)
        .map(|(_, m)| m.task_id.clone())
        .collect();
    let has_plan_level = matrix.rows.iter().any(|r| r.level == Level::Plan);
    // Unfinished tasks' and plan-level criteria run again; a dry run only reads.
    let mut verified: BTreeMap<String, CriterionResult> = BTreeMap::new();
    if !options.dry_run && (!open.is_empty() || has_plan_level) {
        let vopts = verify::Options {
            tasks: open.clone(),
            plans: if has_plan_level {
                vec![plan.to_owned()]
            } else {
                Vec::new()
            },
            force: true,
            ..verify::Options::default()
        };
        // With no task named, `plans` keeps verify to the plan level.
        let vreport = verify::verify(root, git, &vopts, command_line, &verify::Silent)?;
        if vreport.interrupted {
            return Err(ConvergeError::Failed(
                "interrupted: nothing recorded".into(),
            ));
        }
        for row in vreport.rows {
            if row.plan.as_deref().is_some_and(|p| p != plan) {
                continue;
            }
            let code = match row.result {
                RowResult::Pass => None,
                RowResult::Inconclusive => row.failure_code.or(Some(FailureCode::F4)),
                _ => row.failure_code.or(Some(FailureCode::F3)),
            };
            verified.insert(
                row.criterion.clone(),
                CriterionResult {
                    criterion: row.criterion,
                    task: row.task,
                    result: result_name(row.result),
                    failure_code: code,
                    judged: "verified",
                    detail: row.detail,
                },
            );
        }
    }
    // verify counted failed attempts (and may have escalated tasks): read the tasks again.
    let fresh = Workspace::load(root);
    let metas = metas_of(&fresh, plan);
    let mut results = Vec::new();
    for row in &matrix.rows {
        let complete = row.task_status == Some(Status::Complete);
        let result = match verified.remove(&row.criterion) {
            Some(r) if !complete => r,
            _ => from_matrix(row),
        };
        results.push(result);
    }
    let passed = results.iter().filter(|r| r.result == "pass").count();

    // Compare with the previous iteration.
    // Earlier records are read from HEAD, as committed (a record the gates let in), never from
    // the working tree: a record moved aside there must not turn stagnation into a new
    // iteration, nor reset the clock.
    let previous = if n > 1 {
        let rel = record_path(&plan_stem, n - 1);
        match read_record(git, &rel) {
            Some(prev) => Some(prev),
            None => {
                return Err(ConvergeError::Failed(format!(
                    "{rel}: the record of iteration {} of {plan}, which this iteration is compared with, cannot be read from HEAD: restore it (`git checkout HEAD -- {rel}`), then run converge again",
                    n - 1
                )));
            }
        }
    } else {
        None
    };
    let mut regressions = Vec::new();
    let mut stagnant = Vec::new();
    if let Some(prev) = &previous {
        let before = results_of(prev).unwrap_or_default();
        for r in &results {
            match (before.get(r.criterion.as_str()), r.result) {
                (Some(&"pass"), now) if now != "pass" => regressions.push(r.criterion.clone()),
                (Some(b), now) if *b != "pass" && now != "pass" => {
                    stagnant.push(r.criterion.clone());
                }
                _ => {}
            }
        }
    }

    // The budget counts the iterations of this run of the loop, and the time since its first
    // iteration's record: after a converged iteration, new work starts a new run.
    let now = SystemTime::now();
    let (used, started) = match &previous {
        Some(prev) if !is_converged(prev) => (
            used_of(prev).saturating_add(1),
            prev.get("first_recorded_at")
                .and_then(Value::as_str)
                .and_then(|t| humantime::parse_rfc3339(t).ok())
                .unwrap_or(now),
        ),
        _ => (1, now),
    };
    let minutes = now
        .duration_since(started)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        / 60;
    let budget = Budget {
        iterations_used: used,
        max_iterations: config.max_iterations,
        minutes_used: minutes,
        max_wall_clock_min: config.max_wall_clock_min,
        spent: used >= config.max_iterations || minutes >= config.max_wall_clock_min,
    };

    let all_pass = passed == results.len();
    let mut escalation = Vec::new();
    if !all_pass {
        if !stagnant.is_empty() {
            escalation.push(Escalation {
                code: FailureCode::F17,
                reason: format!(
                    "failed in iterations {} and {n}: {}",
                    n - 1,
                    stagnant.join(", ")
                ),
            });
        }
        if !regressions.is_empty() {
            escalation.push(Escalation {
                code: FailureCode::F10,
                reason: format!(
                    "passed in iteration {} and fail now: {}",
                    n - 1,
                    regressions.join(", ")
                ),
            });
        }
        if budget.spent {
            let why = if used >= config.max_iterations {
                format!(
                    "iteration {used} of at most {} (convergence.max_iterations) in this run of the loop",
                    config.max_iterations
                )
            } else {
                format!(
                    "{minutes} minutes since the first iteration, of at most {} (convergence.max_wall_clock_min)",
                    config.max_wall_clock_min
                )
            };
            escalation.push(Escalation {
                code: FailureCode::F15,
                reason: format!("the convergence budget is spent: {why}"),
            });
        }
    }
    let decision = if all_pass {
        "converged"
    } else if escalation.is_empty() {
        "continue"
    } else {
        "escalate"
    };

    let attempts: BTreeMap<&str, u32> = metas
        .iter()
        .map(|(_, m)| (m.task_id.as_str(), m.attempts))
        .collect();
    let missing: Vec<Attempted> = results
        .iter()
        .filter(|r| r.result != "pass")
        .map(|r| Attempted {
            criterion: r.criterion.clone(),
            task: r.task.clone(),
            attempts: r.task.as_deref().and_then(|t| attempts.get(t).copied()),
            failure_code: r.failure_code,
        })
        .collect();
    let complete: Vec<String> = metas
        .iter()
        .filter(|(_, m)| m.status == Status::Complete)
        .map(|(_, m)| m.task_id.clone())
        .collect();

    // Continue: the next iteration's tasks and gap tasks.
    let mut advanced = Vec::new();
    let mut waiting = Vec::new();
    let mut edits = Vec::new();
    let mut gaps = Vec::new();
    if decision == "continue" {
        for (path, meta) in &metas {
            if matches!(meta.status, Status::Done | Status::Complete) {
                continue;
            }
            if meta.escalation == Some(crate::task::Escalation::Human) {
                waiting.push(meta.task_id.clone());
                continue;
            }
            // A task HEAD does not hold yet is new in this iteration: it starts in it.
            let next = match head_iterations.get(&meta.task_id) {
                Some(i) => i + 1,
                None if head_view.is_none() => meta.iteration + 1,
                None => continue,
            };
            advanced.push(meta.task_id.clone());
            let src = std::fs::read_to_string(root.join(path))
                .map_err(|e| ConvergeError::Failed(format!("{path}: cannot read: {e}")))?;
            let mut want = (*meta).clone();
            want.iteration = next;
            want.attempts = 0;
            want.escalation = None;
            let edited = advance(&src, next)
                .and_then(|t| crate::task_edit::check(path, &t, &want).map(|()| t))
                .map_err(|e| {
                    ConvergeError::Failed(format!(
                        "{path}: the front matter cannot be edited line by line ({e}): {}",
                        crate::task_edit::BLOCK_STYLE
                    ))
                })?;
            edits.push(((*path).to_owned(), edited));
        }
        let held: BTreeSet<&str> = open.iter().map(String::as_str).collect();
        for row in &matrix.rows {
            let failing = results
                .iter()
                .any(|r| r.criterion == row.criterion && r.result != "pass");
            let in_open = row.task.as_deref().is_some_and(|t| held.contains(t))
                || row.also.iter().any(|t| held.contains(t.as_str()));
            if failing && row.scope == Scope::Task && !in_open {
                gaps.push(row.criterion.clone());
            }
        }
    }

    let mut gap_tasks = Vec::new();
    let mut record = None;
    if options.dry_run {
        if !gaps.is_empty() {
            gap_tasks.push(Gap {
                task: None,
                file: None,
                criteria: gaps,
            });
        }
    } else {
        for (path, text) in &edits {
            crate::task_edit::write(root, path, text)
                .map_err(|e| ConvergeError::Failed(format!("{path}: cannot write: {e}")))?;
        }
        if !gaps.is_empty() {
            gap_tasks = write_gaps(root, plan, &gaps, tasks_iteration + 1)?;
        }
    }

    let mut outcome = PlanOutcome {
        plan: plan.to_owned(),
        iteration: n,
        decision,
        escalation,
        results,
        passed,
        regressions,
        stagnant,
        budget,
        complete,
        missing,
        tasks_advanced: advanced,
        tasks_waiting: waiting,
        gap_tasks,
        record: None,
    };
    if let Some(key) = key {
        let started_at = humantime::format_rfc3339_seconds(started).to_string();
        let mut doc = json!({
            "schema": 1,
            "plan": plan,
            "iteration": n,
            "decision": decision,
            "recorded_at": humantime::format_rfc3339_seconds(now).to_string(),
            "first_recorded_at": started_at,
            "escalation": outcome.escalation,
            "results": outcome.results,
            "regressions": outcome.regressions,
            "stagnant": outcome.stagnant,
            "budget": outcome.budget,
            "tasks_advanced": outcome.tasks_advanced,
            "tasks_waiting": outcome.tasks_waiting,
            "gap_tasks": outcome.gap_tasks,
            "tool": verify::TOOL,
        });
        if let Some(reason) = &options.override_reason {
            doc["override"] = Value::String(reason.clone());
        }
        let signature = key.sign_json(&doc);
        doc["signature"] = Value::String(signature);
        write_record(root, &path, &doc)?;
        record = Some(path);
    }
    outcome.record = record;
    Ok(outcome)
}

/// The front matter of `src` at iteration `next`, with attempts and escalation reset.
fn advance(src: &str, next: u32) -> Result<String, String> {
    let text = crate::task_edit::set_field(src, "iteration", &next.to_string())?;
    let text = crate::task_edit::set_field(&text, "attempts", "0")?;
    crate::task_edit::set_field(&text, "escalation", "null")
}

/// One gap task per plan section holding `ids`, at iteration `next`.
fn write_gaps(
    root: &Path,
    plan: &str,
    ids: &[String],
    next: u32,
) -> Result<Vec<Gap>, ConvergeError> {
    let ws = Workspace::load(root);
    let defs = Definitions::load(root, plan).map_err(ConvergeError::Failed)?;
    let mut groups: Vec<(Option<usize>, Vec<String>)> = Vec::new();
    for id in ids {
        let Some(def) = defs.parsed.criterion(id) else {
            continue;
        };
        let heading = defs.heading_at(def.pos.line);
        match groups.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, group)) => group.push(id.clone()),
            None => groups.push((heading, vec![id.clone()])),
        }
    }
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for (heading, group) in groups {
        let created =
            task_new::create_gap(root, &ws, &defs, heading, &group, &mut taken).map_err(|e| {
                ConvergeError::Failed(format!(
                    "cannot write a gap task for {}: {e}",
                    group.join(", ")
                ))
            })?;
        // The gap task belongs to the new iteration.
        if next > 1
            && let Ok(src) = std::fs::read_to_string(root.join(&created.file))
            && let Ok(text) = crate::task_edit::set_field(&src, "iteration", &next.to_string())
        {
            crate::task_edit::write(root, &created.file, &text).map_err(|e| {
                ConvergeError::Failed(format!("{}: cannot write: {e}", created.file))
            })?;
        }
        out.push(Gap {
            task: Some(created.task),
            file: Some(created.file),
            criteria: created.criteria,
        });
    }
    Ok(out)
}

/// The record at `rel` as HEAD holds it.
fn read_record(git: &git2::Repository, rel: &str) -> Option<Value> {
    let tree = git.head().ok()?.peel_to_tree().ok()?;
    let blob = tree
        .get_path(Path::new(rel))
        .ok()?
        .to_object(git)
        .ok()?
        .peel_to_blob()
        .ok()?;
    serde_json::from_slice(blob.content()).ok()
}

/// Whether the last convergence record HEAD holds for the plan `plan_file` escalated.
#[must_use]
pub fn last_escalated(git: &git2::Repository, plan_file: &str) -> bool {
    last_committed(git, &stem(&crate::paths::normalize(plan_file)))
        .is_some_and(|(_, decision, _)| decision == "escalate")
}

/// HEAD's tree, when there is one.
fn head_content(git: &git2::Repository) -> Option<crate::content::Content<'_>> {
    let head = git.head().ok()?.target()?;
    crate::content::Content::commit(git, head).ok()
}

/// Whether a task of `plan`, as HEAD holds it, carries an acknowledgement made at or after `at`
/// (the escalate record's time).
fn acked_since(git: &git2::Repository, plan: &str, at: Option<SystemTime>) -> bool {
    let Some(at) = at else { return false };
    let Some(head) = git.head().ok().and_then(|h| h.target()) else {
        return false;
    };
    let Ok(content) = crate::content::Content::commit(git, head) else {
        return false;
    };
    let view = crate::gate::view::View::load(&content);
    view.task_metas().values().any(|m| {
        crate::paths::normalize(&m.plan_file) == plan
            && m.acks
                .iter()
                .any(|a| humantime::parse_rfc3339(&a.at).is_ok_and(|ack| ack >= at))
    })
}

/// The highest `N` of the `iter-N.json` records HEAD holds for the plan whose stem is `stem`,
/// with that record's decision and time.
fn last_committed(git: &git2::Repository, stem: &str) -> Option<(u32, String, Option<SystemTime>)> {
    let tree = git.head().ok()?.peel_to_tree().ok()?;
    let dir = tree
        .get_path(Path::new(&format!("{DIR}/{stem}")))
        .ok()?
        .to_object(git)
        .ok()?
        .peel_to_tree()
        .ok()?;
    let last = dir
        .iter()
        .filter_map(|e| record_number(e.name().ok()?))
        .max()?;
    let record = read_record(git, &record_path(stem, last));
    let field = |key: &str| {
        record
            .as_ref()
            .and_then(|r| Some(r.get(key)?.as_str()?.to_owned()))
    };
    let at = field("recorded_at").and_then(|t| humantime::parse_rfc3339(&t).ok());
    Some((last, field("decision").unwrap_or_default(), at))
}

/// `N` of a file named `iter-N.json`.
#[must_use]
pub fn record_number(name: &str) -> Option<u32> {
    name.strip_prefix("iter-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

fn write_record(root: &Path, rel: &str, doc: &Value) -> Result<(), ConvergeError> {
    use std::io::Write as _;
    let target = root.join(rel);
    let fail = |e: std::io::Error| ConvergeError::Failed(format!("{rel}: cannot write: {e}"));
    let dir = target.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    let mut text = serde_json::to_string_pretty(doc)
        .map_err(|e| ConvergeError::Failed(format!("{rel}: {e}")))?;
    text.push('\n');
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(&target).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The facts a commit raising a task's iteration relies on: the record `doc` ends iteration
/// `n` of `plan` with `continue` and names `task` among the tasks advanced. `key`: when given,
/// the signature must verify with it too.
///
/// # Errors
/// Why the record does not allow the rise.
pub fn allows_rise(
    doc: &Value,
    plan: &str,
    n: u32,
    task: &str,
    key: Option<&Key>,
) -> Result<(), String> {
    if let Some(key) = key
        && !key.verify_json(doc)
    {
        return Err("its signature does not verify: it was not written by `specproof converge` on this machine".into());
    }
    let decision = doc.get("decision").and_then(Value::as_str).unwrap_or("");
    if decision != "continue" {
        return Err(format!(
            "its decision is \"{decision}\", and only `continue` starts a new iteration"
        ));
    }
    if doc.get("plan").and_then(Value::as_str) != Some(plan) {
        return Err(format!("it is not a record of {plan}"));
    }
    if doc.get("iteration").and_then(Value::as_u64) != Some(u64::from(n)) {
        return Err(format!("it does not record iteration {n}"));
    }
    let named = doc
        .get("tasks_advanced")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(task)));
    if !named {
        return Err(format!("it does not name {task} among the tasks advanced"));
    }
    Ok(())
}

/// Where a record's signature cannot be checked (a server, an audit, a machine without the
/// key), its decision must at least follow from its own results, the previous iteration's
/// committed record and the budget, as `specproof converge` decides (SPEC §10.2): a result for
/// every criterion of the plan (`criteria`); `converged` only when all of them pass; `escalate`
/// when one fails and there is a criterion failing in this iteration and the previous one
/// (F17), one that passed then and fails now (F10), or the budget is spent (F15); `continue`
/// otherwise. Its times are the writer's, so they are only checked against each other and the
/// previous record's.
///
/// # Errors
/// Why the record does not hold together.
pub fn consistent(
    doc: &Value,
    previous: Option<&Value>,
    criteria: &[&str],
    max_iterations: u32,
    max_wall_clock_min: u64,
) -> Result<(), String> {
    let n = doc
        .get("iteration")
        .and_then(Value::as_u64)
        .ok_or("it records no iteration")?;
    let decision = doc.get("decision").and_then(Value::as_str).unwrap_or("");
    let results = results_of(doc).ok_or("it has no `results`")?;
    if let Some(id) = criteria.iter().find(|id| !results.contains_key(**id)) {
        return Err(format!(
            "it has no result for {id}: a record judges every criterion of the plan"
        ));
    }
    if n > 1 && previous.is_none() {
        return Err(format!(
            "iteration {} has no committed record to compare it with",
            n - 1
        ));
    }
    // The iterations of this run of the loop: one after a converged record, else one more
    // than the previous record counted.
    let used = match previous {
        Some(prev) if !is_converged(prev) => used_of(prev).saturating_add(1),
        _ => 1,
    };
    if doc
        .pointer("/budget/iterations_used")
        .and_then(Value::as_u64)
        != Some(u64::from(used))
    {
        return Err(format!(
            "its budget does not count {used} iteration{} of this run of the loop",
            if used == 1 { "" } else { "s" }
        ));
    }
    let time = |d: &Value, key: &str| {
        d.get(key)
            .and_then(Value::as_str)
            .and_then(|t| humantime::parse_rfc3339(t).ok())
    };
    let recorded = time(doc, "recorded_at").ok_or("it has no valid `recorded_at`")?;
    let first = time(doc, "first_recorded_at").ok_or("it has no valid `first_recorded_at`")?;
    if used == 1 && first != recorded {
        return Err(
            "it starts a run of the loop, and its `first_recorded_at` is not its `recorded_at`"
                .into(),
        );
    }
    // What escalates, as converge finds it.
    let mut escalates: Vec<String> = Vec::new();
    if let Some(prev) = previous {
        let prev_first = time(prev, "first_recorded_at");
        let prev_recorded = time(prev, "recorded_at");
        if used > 1 && prev_first != Some(first) {
            return Err(format!(
                "its `first_recorded_at` differs from iteration {}'s: the budget's clock starts once",
                n - 1
            ));
        }
        if prev_recorded.is_none_or(|p| recorded < p) {
            return Err(format!(
                "it is recorded before iteration {}'s record",
                n - 1
            ));
        }
        let before = results_of(prev).unwrap_or_default();
        for (id, now) in &results {
            match before.get(id) {
                Some(&"pass") if *now != "pass" => escalates.push(format!(
                    "{id} passed in iteration {} and fails in {n}: a regression escalates (F10)",
                    n - 1
                )),
                Some(b) if *b != "pass" && *now != "pass" => escalates.push(format!(
                    "{id} fails in iterations {} and {n}: stagnation escalates (F17)",
                    n - 1
                )),
                _ => {}
            }
        }
    }
    if used >= max_iterations {
        escalates.push(format!(
            "it ends iteration {used} of at most {max_iterations} (convergence.max_iterations) of this run of the loop: the budget is spent, so the decision is escalate (F15)"
        ));
    }
    let minutes = recorded
        .duration_since(first)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        / 60;
    if minutes >= max_wall_clock_min {
        escalates.push(format!(
            "it is recorded {minutes} minutes after the first iteration, of at most {max_wall_clock_min} (convergence.max_wall_clock_min): the budget is spent, so the decision is escalate (F15)"
        ));
    }
    let failing: Vec<&str> = results
        .iter()
        .filter(|(_, r)| **r != "pass")
        .map(|(id, _)| *id)
        .collect();
    match decision {
        "converged" if failing.is_empty() => Ok(()),
        "converged" => Err(format!(
            "it says converged, and {} fail{} in it",
            failing.join(", "),
            if failing.len() == 1 { "s" } else { "" }
        )),
        _ if failing.is_empty() => Err(format!(
            "all its results pass, which converges: `{decision}` needs a failing criterion"
        )),
        "continue" => match escalates.first() {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        },
        "escalate" if escalates.is_empty() => Err(
            "it escalates, and nothing in it does: no stagnation, regression or spent budget"
                .into(),
        ),
        "escalate" => Ok(()),
        other => Err(format!(
            "its decision \"{other}\" is none of converged, continue, escalate"
        )),
    }
}

/// Whether a record ends its run of the loop: every criterion passed.
fn is_converged(record: &Value) -> bool {
    record.get("decision").and_then(Value::as_str) == Some("converged")
}

/// The iterations of its run of the loop a record counts (`budget.iterations_used`; its
/// `iteration` for a record without one).
fn used_of(record: &Value) -> u32 {
    record
        .pointer("/budget/iterations_used")
        .or_else(|| record.get("iteration"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1)
}

/// A record's results: each criterion with `pass`, `fail` or `inconclusive`.
#[must_use]
pub fn results_of(doc: &Value) -> Option<BTreeMap<&str, &str>> {
    Some(
        doc.get("results")?
            .as_array()?
            .iter()
            .filter_map(|r| Some((r.get("criterion")?.as_str()?, r.get("result")?.as_str()?)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("a record")
    }

    fn record(decision: &str, key: &Key) -> Vec<u8> {
        let mut doc = json!({
            "plan": "plans/p.md", "iteration": 2, "decision": decision,
            "tasks_advanced": ["T-1", "T-2"],
        });
        doc["signature"] = Value::String(key.sign_json(&doc));
        doc.to_string().into_bytes()
    }

    fn facts(n: u64, at: &str, first: &str, results: &[(&str, &str)]) -> Value {
        let results: Vec<Value> = results
            .iter()
            .map(|(c, r)| json!({"criterion": c, "result": r}))
            .collect();
        json!({
            "iteration": n, "decision": "continue", "recorded_at": at,
            "first_recorded_at": first, "results": results,
            "budget": { "iterations_used": n },
        })
    }

    #[test]
    fn a_continue_record_must_follow_from_its_results_the_previous_record_and_the_budget() {
        const T0: &str = "2026-01-01T00:00:00Z";
        const T1: &str = "2026-01-01T00:10:00Z";
        const T2: &str = "2026-01-01T05:00:00Z";
        let one = facts(1, T0, T0, &[("A", "fail"), ("B", "pass")]);
        assert_eq!(consistent(&one, None, &["A", "B"], 3, 60), Ok(()));
        let err = |r: Result<(), String>| r.expect_err("inconsistent");
        assert!(err(consistent(&one, None, &["A", "B", "C"], 3, 60)).contains("no result for C"));
        let all = facts(1, T0, T0, &[("A", "pass"), ("B", "pass")]);
        assert!(err(consistent(&all, None, &["A"], 3, 60)).contains("converges"));
        assert!(err(consistent(&one, None, &["A"], 1, 60)).contains("max_iterations"));
        let late_first = facts(1, T1, T0, &[("A", "fail")]);
        assert!(err(consistent(&late_first, None, &["A"], 3, 60)).contains("first_recorded_at"));
        // Iteration 2 against iteration 1: A fixed, B broken is a regression; A failing again
        // is stagnation; only new failures continue.
        let fixed = facts(2, T1, T0, &[("A", "pass"), ("B", "pass"), ("C", "fail")]);
        assert_eq!(
            consistent(&fixed, Some(&one), &["A", "B", "C"], 3, 60),
            Ok(())
        );
        assert!(err(consistent(&fixed, None, &["A"], 3, 60)).contains("no committed record"));
        let regressed = facts(2, T1, T0, &[("A", "pass"), ("B", "fail")]);
        assert!(
            err(consistent(&regressed, Some(&one), &[], 3, 60))
                .contains("B passed in iteration 1 and fails in 2")
        );
        let stagnant = facts(2, T1, T0, &[("A", "inconclusive"), ("B", "pass")]);
        assert!(
            err(consistent(&stagnant, Some(&one), &[], 3, 60))
                .contains("A fails in iterations 1 and 2")
        );
        // Times: one clock, moving forward, within the budget.
        let other_clock = facts(2, T1, T1, &[("A", "pass"), ("C", "fail")]);
        assert!(
            err(consistent(&other_clock, Some(&one), &[], 3, 60)).contains("clock starts once")
        );
        let earlier = facts(
            2,
            "2025-12-31T00:00:00Z",
            T0,
            &[("A", "pass"), ("C", "fail")],
        );
        assert!(err(consistent(&earlier, Some(&one), &[], 3, 60)).contains("before iteration 1"));
        assert!(err(consistent(&fixed, Some(&one), &[], 3, 10)).contains("max_wall_clock_min"));
        assert_eq!(consistent(&fixed, Some(&one), &[], 3, 11), Ok(()));
        // The budget counts the iterations of this run of the loop.
        let mut miscounted = fixed.clone();
        miscounted["budget"]["iterations_used"] = 1.into();
        assert!(
            err(consistent(&miscounted, Some(&one), &[], 3, 60))
                .contains("does not count 2 iterations")
        );
        assert!(err(consistent(&fixed, Some(&one), &[], 2, 60)).contains("max_iterations"));
        // After a converged iteration a new run starts: one iteration used, a new clock.
        let mut converged = facts(2, T1, T0, &[("A", "pass")]);
        converged["decision"] = "converged".into();
        let mut again = facts(3, T2, T2, &[("A", "pass"), ("D", "fail")]);
        again["budget"]["iterations_used"] = 1.into();
        assert_eq!(
            consistent(&again, Some(&converged), &["A", "D"], 2, 60),
            Ok(())
        );
        let mut old_clock = again.clone();
        old_clock["first_recorded_at"] = T0.into();
        assert!(
            err(consistent(&old_clock, Some(&converged), &[], 2, 60))
                .contains("starts a run of the loop")
        );
    }

    #[test]
    fn a_signed_continue_record_allows_the_rise_of_the_tasks_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(dir.path()).unwrap();
        let bytes = record("continue", &key);
        assert!(allows_rise(&parse(&bytes), "plans/p.md", 2, "T-2", Some(&key)).is_ok());
        assert!(allows_rise(&parse(&bytes), "plans/p.md", 2, "T-3", Some(&key)).is_err());
        assert!(allows_rise(&parse(&bytes), "plans/p.md", 1, "T-1", Some(&key)).is_err());
        assert!(allows_rise(&parse(&bytes), "plans/q.md", 2, "T-1", Some(&key)).is_err());
        let escalate = record("escalate", &key);
        assert!(allows_rise(&parse(&escalate), "plans/p.md", 2, "T-1", None).is_err());
    }

    #[test]
    fn an_edited_or_foreign_record_does_not_verify_but_its_facts_still_hold_on_a_replay() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(dir.path()).unwrap();
        let other_dir = tempfile::tempdir().unwrap();
        let other = Key::load_or_create(other_dir.path()).unwrap();
        let bytes = record("continue", &key);
        let edited = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("T-2", "T-9")
            .into_bytes();
        let err = allows_rise(&parse(&edited), "plans/p.md", 2, "T-9", Some(&key)).unwrap_err();
        assert!(err.contains("signature does not verify"), "{err}");
        assert!(allows_rise(&parse(&bytes), "plans/p.md", 2, "T-1", Some(&other)).is_err());
        assert!(allows_rise(&parse(&edited), "plans/p.md", 2, "T-9", None).is_ok());
    }
}
