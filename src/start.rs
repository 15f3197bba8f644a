//! `specproof start T` (SPEC §6.1, §8, §9): ready → `in_progress` through gates 1 and 2. Records
//! the commit the work starts from as `base` and takes the first snapshot of the task's plan
//! when it has none.

use std::path::Path;

use thiserror::Error;

use crate::content::Content;
use crate::diagnostic::did_you_mean;
use crate::gate::view::View;
use crate::gate::{Check, Problem};
use crate::task::{Status, Task};
use crate::{state, task_edit};

/// What `start` did.
#[derive(Debug, Clone)]
pub struct Started {
    pub task: String,
    pub file: String,
    /// The commit recorded as `base`.
    pub base: String,
    /// The snapshot taken, when the plan had none.
    pub snapshot: Option<String>,
    /// The task was `in_progress` already: nothing was written.
    pub already: bool,
}

/// Why the task was not started.
#[derive(Debug, Error)]
pub enum StartError {
    /// Usage: unknown task, wrong state, no commit yet, unreadable file (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The task does not pass G1 or G2 (exit 1).
    #[error("{} cannot start: {} {}", .task, .problems.len(), if .problems.len() == 1 { "problem" } else { "problems" })]
    Gates {
        task: String,
        problems: Vec<Problem>,
    },
    #[error(transparent)]
    State(#[from] state::StateError),
}

/// Starts task `id` of the repository at `root`.
///
/// # Errors
/// See [`StartError`].
pub fn start(
    root: &Path,
    git: &git2::Repository,
    id: &str,
    waiting: impl FnOnce(&str),
) -> Result<Started, StartError> {
    let usage = |m: String| StartError::Usage(m);
    let _lock = state::lock(git.commondir(), "specproof start", waiting)?;
    let content = Content::worktree(git).map_err(|e| usage(e.to_string()))?;
    let view = View::load(&content);
    if !view.config_problems.is_empty() {
        return Err(usage(format!(
            "specproof.yml has problems; fix them first (`specproof lint` lists them):\n{}",
            view.config_problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    let path = view.task_path(id);
    let Some(task) = view.task(&path) else {
        let ids: Vec<String> = view.task_metas().into_keys().collect();
        let hint = did_you_mean(id, ids.iter().map(String::as_str))
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        return Err(usage(format!("no task {id}: {path} does not exist{hint}")));
    };
    let Some(meta) = task.meta.clone() else {
        return Err(usage(format!(
            "{path}: its front matter does not parse: run `specproof lint {path}`"
        )));
    };
    let head = crate::hooks::head_commit(git)
        .map_err(|e| usage(format!("{e:#}")))?
        .ok_or_else(|| {
            usage("the repository has no commit yet, and `base` records the commit the work starts from: commit first".into())
        })?;
    match meta.status {
        Status::Ready => {}
        Status::InProgress => {
            return Ok(Started {
                task: id.to_owned(),
                file: path,
                base: meta.base.unwrap_or_default(),
                snapshot: None,
                already: true,
            });
        }
        other => {
            let why = match other {
                Status::Created => "set `status: ready` first (committing that checks gate 1)",
                Status::Blocked | Status::Failed => {
                    "a person decides first: `specproof escalate --ack` records it"
                }
                _ => "only a ready task starts",
            };
            return Err(usage(format!("{id} is {}, not ready: {why}", other.name())));
        }
    }
    if let Some(plan) = view.plan(&meta.plan_file)
        && plan.meta.status == Some(crate::plan::PlanStatus::Draft)
    {
        return Err(usage(format!(
            "{} is a draft: no task of it starts until it is approved (once it is reviewed, `status: approved` in its front matter)",
            plan.path
        )));
    }
    let problems = gates(&view, &task);
    if !problems.is_empty() {
        return Err(StartError::Gates {
            task: id.to_owned(),
            problems,
        });
    }
    let snapshot = if view
        .snapshots()
        .contains_key(&crate::paths::normalize(&meta.plan_file))
    {
        None
    } else {
        crate::snapshot::take(root, &meta.plan_file).map_err(|e| {
            usage(format!(
                "cannot take the first snapshot of {}: {e}",
                meta.plan_file
            ))
        })?;
        Some(crate::snapshot::snapshot_path(&meta.plan_file))
    };
    let src = std::fs::read_to_string(root.join(&path))
        .map_err(|e| usage(format!("{path}: cannot read: {e}")))?;
    let edit = |e: String| {
        usage(format!(
            "{path}: the front matter cannot be edited line by line ({e}): {}",
            task_edit::BLOCK_STYLE
        ))
    };
    // A task that was started before keeps its base: it never changes once set.
    let base = meta.base.clone().unwrap_or_else(|| head.to_string());
    let mut want = meta.clone();
    want.status = Status::InProgress;
    want.base = Some(base.clone());
    let mut text = task_edit::set_field(&src, "status", "in_progress").map_err(edit)?;
    if meta.base.is_none() {
        text = task_edit::set_field(&text, "base", &base).map_err(edit)?;
    }
    task_edit::check(&path, &text, &want).map_err(edit)?;
    task_edit::write(root, &path, &text)
        .map_err(|e| usage(format!("{path}: cannot write: {e}")))?;
    let _ = state::append_ledger(
        git.commondir(),
        &[serde_json::json!({"at": state::now(), "event": "start", "task": id, "base": base})],
    );
    Ok(Started {
        task: id.to_owned(),
        file: path,
        base,
        snapshot,
        already: false,
    })
}

/// Gates 1 and 2 for `task` in `view`.
fn gates(view: &View<'_, '_>, task: &Task) -> Vec<Problem> {
    let mut out: Vec<Problem> = task
        .diagnostics
        .iter()
        .chain(view.lint_task(task).iter())
        .map(|d| Problem {
            task: Some(task.id().to_owned()),
            file: Some(d.file.clone()),
            line: Some(d.line),
            check: Check::G1,
            criterion: d.criterion.clone(),
            code: Some(d.code),
            reason: d.message.clone(),
            fix: format!("fix it in {} (`specproof lint {}`)", d.file, d.file),
        })
        .collect();
    let Some(meta) = &task.meta else { return out };
    let criteria = view.echo_criteria(task);
    for p in crate::echo::check(task, &criteria, view.config.echo.parrot_similarity) {
        out.push(Problem {
            task: Some(meta.task_id.clone()),
            file: Some(task.path.clone()),
            line: Some(p.line),
            check: Check::G2,
            criterion: p.criterion,
            code: Some(p.code),
            reason: p.message,
            fix: format!("rewrite the Echo-Back of {} in your own words", task.path),
        });
    }
    out
}
