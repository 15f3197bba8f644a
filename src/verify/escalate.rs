//! Attempts and escalation (SPEC §6.3): a failing verify of a task counts an attempt and climbs
//! the escalation ladder in its front matter; at human the task is blocked until
//! `specproof escalate --ack` records a person's decision.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::diagnostic::{FailureCode, did_you_mean};
use crate::state;
use crate::task::{Ack, Escalation, Status, Task};
use crate::task_edit;
use crate::workspace::Workspace;

use super::{Row, RowResult, TaskUpdate, VerifyError};

/// SPEC §6.3: a task with a failing criterion gets `attempts` + 1 and its escalation level; at
/// human it is blocked.
pub(super) fn escalate(
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
        let Some(task) = ws.tasks.iter().find(|t| t.id() == id) else {
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

/// Reads the task file as it is now and writes `attempts`, `escalation` and, at human, `status`.
fn bump_attempts(root: &Path, rel: &str) -> Result<TaskUpdate, String> {
    let bytes = std::fs::read(root.join(rel)).map_err(|e| e.to_string())?;
    let src = String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_owned())?;
    let task = Task::parse(rel, src.as_bytes(), task_edit::QUICK);
    let mut meta = task.meta.ok_or("its front matter does not parse")?;
    meta.attempts += 1;
    meta.escalation = level(meta.attempts_since_ack());
    let blocked = meta.escalation == Some(Escalation::Human);
    let mut text = task_edit::set_field(&src, "attempts", &meta.attempts.to_string())?;
    text = task_edit::set_field(
        &text,
        "escalation",
        meta.escalation.map_or("null", Escalation::name),
    )?;
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
    waiting: impl FnOnce(&str),
) -> Result<AckOutcome, VerifyError> {
    let common_dir = git.commondir().to_path_buf();
    let _lock = state::lock(&common_dir, "specproof escalate", waiting)?;
    let ws = Workspace::load_with(root, true);
    let ids: Vec<&str> = ws.tasks.iter().map(Task::id).collect();
    let Some(task) = ws.tasks.iter().find(|t| t.id() == id) else {
        let hint = did_you_mean(id, ids.iter().copied())
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
    let parsed = Task::parse(&task.path, src.as_bytes(), task_edit::QUICK);
    let Some(mut meta) = parsed.meta else {
        return Err(usage(
            "its front matter does not parse: run `specproof lint`".into(),
        ));
    };
    // A task that is not escalated itself may still be acknowledged when its plan's last
    // committed convergence record escalated: that is a person resuming the loop (an
    // escalation of cross-cutting criteria, or of done tasks, has no task of its own).
    if meta.status == Status::Complete {
        return Err(usage(format!(
            "{id} is complete, and a complete task never changes: acknowledge another task of its plan, or (when every task of the plan is complete) resume its convergence on the record: SPECPROOF_OVERRIDE='<reason>' specproof converge"
        )));
    }
    let loop_escalated = crate::converge::last_escalated(git, &meta.plan_file);
    if meta.escalation.is_none() && !loop_escalated {
        return Err(usage(format!(
            "{id} is not escalated (no failed attempt since the last acknowledgement), nor is the convergence of its plan: nothing to acknowledge"
        )));
    }
    let previous = meta.escalation;
    let mut ack = Ack {
        by: by.to_owned(),
        at: state::now(),
        note: note.to_owned(),
        attempts: meta.attempts,
        signature: None,
    };
    // Signed like evidence, so that the hooks on this machine can tell it from one written by
    // hand.
    let key = crate::evidence::Key::load_or_create(&common_dir)?;
    ack.signature = Some(key.sign_json(&ack.signed_doc(id)));
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
            serde_json::json!({"at": state::now(), "event": "ack", "task": id, "previous": previous, "convergence_escalated": loop_escalated, "ack": ack}),
        ],
    )?;
    Ok(AckOutcome {
        task: id.to_owned(),
        file: task.path.clone(),
        previous,
        status: meta.status,
    })
}
