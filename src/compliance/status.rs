//! `specproof status`: the one-screen summary a person runs first. Tasks by state, the
//! compliance rate, drifted plans, escalated tasks, and for each problem the command to run next.

use serde::Serialize;

use crate::printer::{Printer, styles};
use crate::review::{Review, Status as ReviewStatus};
use crate::snapshot::{self, DriftState};
use crate::task::{Escalation, Status, Task, TaskMeta};
use crate::workspace::Workspace;

use super::render::{density, percent, rate_line, style};
use super::{Colour, DriftOf, Level, Matrix, PlanSummary, Row, Summary};

/// The tasks in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateTasks {
    pub state: Status,
    /// Task IDs, sorted.
    pub tasks: Vec<String>,
}

/// A task with an escalation level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalated {
    pub task: String,
    pub escalation: Escalation,
    pub status: Status,
    pub attempts: u32,
    pub next: String,
}

/// A plan that differs from its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drifted {
    pub plan: String,
    /// The criteria whose definition differs (empty: only text outside them).
    pub changed: Vec<String>,
    pub next: String,
}

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Task-scope criteria no task holds.
    NoTask,
    /// Criteria without a proof (checkbox only) or whose definition does not validate.
    Unverifiable,
    /// A task file whose front matter does not parse.
    UnreadableTask,
    /// A kind of problem the plan-to-tasks cross-reference (`specproof review-tasks`) finds:
    /// missing, duplicated, drifted, orphaned or fabricated criteria, or plans it cannot review.
    Review,
    /// RED criteria of a task or of a plan level.
    Red,
    /// Task copies that differ from the snapshot.
    TaskDrift,
    /// GREY criteria: a person decides.
    Grey,
    /// YELLOW criteria: proven once, not re-proven.
    Yellow,
}

impl ProblemKind {
    fn colour(self) -> Colour {
        match self {
            Self::NoTask | Self::Unverifiable | Self::UnreadableTask | Self::Review | Self::Red => {
                Colour::Red
            }
            Self::TaskDrift => Colour::Orange,
            Self::Grey => Colour::Grey,
            Self::Yellow => Colour::Yellow,
        }
    }
}

/// One problem and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The task ID, or the plan (with its section for criteria in no task).
    pub subject: String,
    /// The criteria concerned.
    pub criteria: Vec<String>,
    /// What is wrong, in a few words.
    pub what: String,
    /// The command to run next (or the step to take).
    pub next: String,
}

/// Everything `specproof status` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// Every state of the lifecycle, in order, with its tasks.
    pub tasks: Vec<StateTasks>,
    /// Task files whose front matter does not parse.
    pub unreadable_tasks: Vec<String>,
    /// The overall compliance summary.
    pub compliance: Summary,
    pub plans: Vec<PlanSummary>,
    pub drifted_plans: Vec<Drifted>,
    pub escalated: Vec<Escalated>,
    /// Worst first: no task, unverifiable, unreadable, review, RED, task drift, GREY, YELLOW.
    pub problems: Vec<Problem>,
    /// The problems `specproof review-tasks` finds (its summary's total).
    pub review_problems: usize,
    /// No critical criterion is RED or ORANGE, every plan parses, and `review-tasks` finds no
    /// problem.
    pub ok: bool,
    pub signatures_checked: bool,
}

/// `text` as one shell word: single-quoted unless it is plain.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `specproof task new --plan P --section S`.
fn task_new(plan: &str, section: Option<&str>) -> String {
    match section {
        Some(s) => format!(
            "specproof task new --plan {} --section {}",
            quote(plan),
            quote(s)
        ),
        None => format!(
            "specproof task new --plan {} --section SECTION",
            quote(plan)
        ),
    }
}

fn ack(task: &str) -> String {
    format!(
        "specproof escalate --ack {} --by NAME --note TEXT",
        quote(task)
    )
}

/// True when a person must decide before verify runs the task again (SPEC §6.3).
fn needs_ack(meta: &TaskMeta) -> bool {
    meta.status == Status::Failed
        || meta.escalation == Some(Escalation::Human)
        || meta.attempts_since_ack() >= 4
}

/// The command that moves a task's criteria towards GREEN, given its state. `then`: what to do
/// after verify (commit the evidence).
fn next_for_task(task: &Task, meta: &TaskMeta, rows: &[&Row], then: &str) -> String {
    let id = quote(&meta.task_id);
    let verify = format!("specproof verify --task {id}{then}");
    match meta.status {
        _ if needs_ack(meta) => format!("{} (a person decides), then {verify}", ack(&meta.task_id)),
        Status::Blocked => format!(
            "a person unblocks it: set `status: in_progress` in {}, then {verify}",
            task.path
        ),
        Status::Created => format!(
            "set `status: ready` in {} and commit it (gate 1), then specproof start {id}, then {verify}",
            task.path
        ),
        Status::Ready => format!("specproof start {id}, then {verify}"),
        Status::Complete => {
            let section = rows.first().and_then(|r| r.section.as_deref());
            format!(
                "{id} is complete, so verify leaves its evidence alone: prove it again in a new task, {}",
                task_new(&meta.plan_file, section)
            )
        }
        Status::InProgress | Status::Done | Status::Failed => verify,
    }
}

fn evidence_commit(dir: &str, owner: &str) -> String {
    format!(
        ", then commit the evidence: git add {}/{owner}",
        crate::paths::normalize(dir)
    )
}

/// The summary of a workspace, its matrix and its plan-to-tasks review (an `Err` is why the
/// review could not run).
#[must_use]
pub fn status(ws: &Workspace, m: &Matrix, review: Result<&Review, &String>) -> StatusReport {
    let mut tasks: Vec<StateTasks> = Status::ALL
        .iter()
        .map(|s| StateTasks {
            state: *s,
            tasks: Vec::new(),
        })
        .collect();
    let mut unreadable_tasks = Vec::new();
    let mut escalated = Vec::new();
    let mut problems = Vec::new();
    for task in &ws.tasks {
        let Some(meta) = &task.meta else {
            unreadable_tasks.push(task.path.clone());
            problems.push(Problem {
                kind: ProblemKind::UnreadableTask,
                subject: task.path.clone(),
                criteria: task.criteria_ids.iter().map(|(id, _)| id.clone()).collect(),
                what: "its front matter does not parse (F8)".into(),
                next: format!("specproof lint {}", quote(&task.path)),
            });
            continue;
        };
        if let Some(entry) = tasks.iter_mut().find(|s| s.state == meta.status) {
            entry.tasks.push(meta.task_id.clone());
        }
        if let Some(level) = meta.escalation {
            let id = quote(&meta.task_id);
            let next = match level {
                _ if needs_ack(meta) => ack(&meta.task_id),
                Escalation::Retry => format!("fix the failures, then specproof verify --task {id}"),
                Escalation::Decompose => format!(
                    "split it into smaller tasks: {}",
                    task_new(&meta.plan_file, meta.plan_section.as_deref())
                ),
                Escalation::Reassign => format!(
                    "hand it to someone else (`assigned_to` in {}), then specproof verify --task {id}",
                    task.path
                ),
                Escalation::Human => ack(&meta.task_id),
            };
            escalated.push(Escalated {
                task: meta.task_id.clone(),
                escalation: level,
                status: meta.status,
                attempts: meta.attempts,
                next,
            });
        }
    }
    for t in &mut tasks {
        t.tasks.sort();
    }

    let drifted_plans = m
        .plans
        .iter()
        .filter(|p| p.drift == DriftState::Drifted)
        .map(|p| Drifted {
            plan: p.plan.clone(),
            changed: p.drift_changed.clone(),
            next: format!(
                "specproof drift shows it; if the change is meant: specproof snapshot {}, then git add {} {}",
                quote(&p.plan),
                quote(&snapshot::snapshot_path(&p.plan)),
                snapshot::CHANGES_LOG
            ),
        })
        .collect();

    problems.extend(row_problems(ws, m));
    let review_problems = match review {
        Ok(r) => {
            problems.extend(review_summary(r));
            r.summary.problems()
        }
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::Review,
                subject: "review-tasks".into(),
                criteria: Vec::new(),
                what: format!("cannot run: {e}"),
                next: "specproof review-tasks".into(),
            });
            1
        }
    };
    // Stable: the review's kinds keep their order.
    problems.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    StatusReport {
        tasks,
        unreadable_tasks,
        compliance: m.overall.clone(),
        plans: m.plans.clone(),
        drifted_plans,
        escalated,
        problems,
        review_problems,
        ok: m.ok() && review_problems == 0,
        signatures_checked: m.signatures_checked,
    }
}

/// One problem per kind of problem `specproof review-tasks` finds, with its count: status
/// stays one screen, review-tasks shows every row.
fn review_summary(r: &Review) -> Vec<Problem> {
    let ids = |status: ReviewStatus| -> Vec<String> {
        r.plans
            .iter()
            .flat_map(|p| &p.criteria)
            .filter(|c| c.status == status)
            .map(|c| c.id.clone())
            .collect()
    };
    let fabricated: Vec<String> = r
        .fabricated
        .iter()
        .map(|f| format!("{} ({})", f.criterion, f.task))
        .collect();
    let s = &r.summary;
    let kinds = [
        (
            s.missing,
            ids(ReviewStatus::Missing),
            "task-scope criterion in no task (missing)",
            "task-scope criteria in no task (missing)",
        ),
        (
            s.duplicated,
            ids(ReviewStatus::Duplicated),
            "criterion in more than one task (duplicated)",
            "criteria in more than one task (duplicated)",
        ),
        (
            s.drifted,
            ids(ReviewStatus::Drifted),
            "task copy differs from the plan's definition (drifted, F14)",
            "task copies differ from the plan's definition (drifted, F14)",
        ),
        (
            s.orphaned,
            ids(ReviewStatus::Orphan),
            "cross-cutting or system criterion in a task or never verified at plan level (orphan, F16)",
            "cross-cutting or system criteria in a task or never verified at plan level (orphan, F16)",
        ),
        (
            s.fabricated,
            fabricated,
            "task criterion its plan does not define (fabricated)",
            "task criteria their plans do not define (fabricated)",
        ),
        (
            s.broken_plans,
            Vec::new(),
            "plan whose criteria cannot all be reviewed (`specproof lint`)",
            "plans whose criteria cannot all be reviewed (`specproof lint`)",
        ),
    ];
    kinds
        .into_iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, criteria, one, many)| Problem {
            kind: ProblemKind::Review,
            subject: "review-tasks".into(),
            criteria,
            what: format!("{n} {}", plural(n, one, many)),
            next: "specproof review-tasks".into(),
        })
        .collect()
}

/// The problems the matrix rows show, one per kind and task (or plan, or plan section).
fn row_problems(ws: &Workspace, m: &Matrix) -> Vec<Problem> {
    // (kind, subject) → rows, in first-seen order.
    let mut groups: Vec<((ProblemKind, String), Vec<&Row>)> = Vec::new();
    for row in &m.rows {
        let kind = match row.colour {
            Colour::Green => continue,
            // Plan drift is one problem of the plan (drifted plans), not one per criterion.
            Colour::Orange if row.drift.iter().all(|d| d.of == DriftOf::Plan) => continue,
            Colour::Orange => ProblemKind::TaskDrift,
            Colour::Yellow => ProblemKind::Yellow,
            Colour::Grey => ProblemKind::Grey,
            Colour::Red => match (&row.task, row.level, row.failure_code) {
                (None, Level::Task, Some(crate::diagnostic::FailureCode::F1)) => {
                    ProblemKind::Unverifiable
                }
                // Held only by unreadable tasks: those are problems of their own.
                (None, Level::Task, Some(crate::diagnostic::FailureCode::F8)) => continue,
                (None, Level::Task, _) => ProblemKind::NoTask,
                _ => ProblemKind::Red,
            },
        };
        let subject = match (kind, &row.task) {
            (ProblemKind::NoTask, _) => format!(
                "{} section {}",
                row.plan,
                quote(row.section.as_deref().unwrap_or("-"))
            ),
            (ProblemKind::TaskDrift, _) => row
                .drift
                .iter()
                .find_map(|d| d.task.clone())
                .unwrap_or_default(),
            (_, Some(task)) => task.clone(),
            (_, None) => row.plan.clone(),
        };
        match groups
            .iter_mut()
            .find(|(k, _)| *k == (kind, subject.clone()))
        {
            Some((_, rows)) => rows.push(row),
            None => groups.push(((kind, subject), vec![row])),
        }
    }
    let dir = &ws.config.evidence_dir;
    groups
        .into_iter()
        .map(|((kind, subject), rows)| {
            let first = rows[0];
            let task = first
                .task
                .as_ref()
                .filter(|_| kind != ProblemKind::TaskDrift)
                .and_then(|id| ws.tasks.iter().find(|t| t.id() == id))
                .and_then(|t| t.meta.as_ref().map(|m| (t, m)));
            let plan_verify = format!("specproof verify --plan {}", quote(&first.plan));
            let owner = crate::verify::plan_owner(&first.plan);
            let (what, next) = match kind {
                ProblemKind::NoTask => (
                    "in no task".to_owned(),
                    task_new(&first.plan, first.section.as_deref()),
                ),
                ProblemKind::Unverifiable => (
                    "no proof that can run (F1)".to_owned(),
                    format!(
                        "give each a proof in a ```criteria block: specproof lint {}",
                        quote(&first.plan)
                    ),
                ),
                ProblemKind::TaskDrift => {
                    let file = ws
                        .tasks
                        .iter()
                        .find(|t| t.id() == subject)
                        .map_or_else(|| subject.clone(), |t| t.path.clone());
                    (
                        "the task's copy differs from the snapshot (F14)".to_owned(),
                        format!(
                            "copy the snapshot's definition into the task's Acceptance Criteria; specproof lint {} shows the difference",
                            quote(&file)
                        ),
                    )
                }
                ProblemKind::Red => (
                    "no pass evidence".to_owned(),
                    match task {
                        Some((t, meta)) => next_for_task(t, meta, &rows, ""),
                        None => plan_verify,
                    },
                ),
                ProblemKind::Grey => (
                    "inconclusive: a person checks it (the evidence says why)".to_owned(),
                    match task {
                        Some((t, meta)) => next_for_task(t, meta, &rows, " again"),
                        None => format!("{plan_verify} again"),
                    },
                ),
                ProblemKind::Yellow => (
                    "stale pass evidence: implemented, not re-proven".to_owned(),
                    match task {
                        Some((t, meta)) => next_for_task(
                            t,
                            meta,
                            &rows,
                            &evidence_commit(dir, &meta.task_id),
                        ),
                        None => format!("{plan_verify}{}", evidence_commit(dir, &owner)),
                    },
                ),
                ProblemKind::UnreadableTask => (
                    "held only by tasks whose front matter does not parse (F8)".to_owned(),
                    "specproof lint".to_owned(),
                ),
                // Rows never make this kind: review_summary does.
                ProblemKind::Review => (String::new(), "specproof review-tasks".to_owned()),
            };
            let subject = match task {
                Some((_, meta)) => format!("{subject} ({})", meta.status.name()),
                None => subject,
            };
            Problem {
                kind,
                subject,
                criteria: rows.iter().map(|r| r.criterion.clone()).collect(),
                what,
                next,
            }
        })
        .collect()
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The status screen as text.
#[must_use]
pub fn table(r: &StatusReport, printer: &Printer) -> String {
    let head = |text: &str| printer.paint_out(&styles::location(), text);
    let mut out = Vec::new();
    let n: usize = r.tasks.iter().map(|t| t.tasks.len()).sum();
    out.push(head(&format!("tasks ({n}):")));
    let width = Status::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    for t in &r.tasks {
        let ids = if t.tasks.is_empty() {
            "-".to_owned()
        } else {
            t.tasks.join(", ")
        };
        out.push(format!("  {:width$}  {ids}", t.state.name()));
    }
    if !r.unreadable_tasks.is_empty() {
        out.push(format!(
            "  {:width$}  {}",
            "unreadable",
            r.unreadable_tasks.join(", ")
        ));
    }
    let s = &r.compliance;
    out.push(format!(
        "{} {}; density {} criteria per section",
        head("compliance:"),
        rate_line(s),
        density(s.density),
    ));
    if r.plans.len() > 1 {
        let width = r.plans.iter().map(|p| p.plan.len()).max().unwrap_or(0);
        for p in &r.plans {
            out.push(format!(
                "  {:width$}  {} ({} of {}), density {}",
                p.plan,
                percent(p.summary.rate),
                p.summary.counts.green,
                p.summary.criteria,
                density(p.summary.density),
            ));
        }
    }
    if r.drifted_plans.is_empty() {
        out.push(format!("{} none", head("drifted plans:")));
    } else {
        out.push(head("drifted plans:"));
        for d in &r.drifted_plans {
            let what = if d.changed.is_empty() {
                "differs from its snapshot outside its criteria".to_owned()
            } else {
                format!("differs from its snapshot in {}", d.changed.join(", "))
            };
            out.push(format!(
                "  {}: {} (F14)",
                d.plan,
                printer.paint_out(&styles::orange(), &what)
            ));
            out.push(format!(
                "    → {}",
                printer.paint_out(&styles::hint(), &d.next)
            ));
        }
    }
    if r.escalated.is_empty() {
        out.push(format!("{} none", head("escalated tasks:")));
    } else {
        out.push(head("escalated tasks:"));
        for e in &r.escalated {
            out.push(format!(
                "  {}: escalation {} after {} failed {} ({})",
                e.task,
                e.escalation.name(),
                e.attempts,
                plural(e.attempts as usize, "attempt", "attempts"),
                e.status.name()
            ));
            out.push(format!(
                "    → {}",
                printer.paint_out(&styles::hint(), &e.next)
            ));
        }
    }
    if r.problems.is_empty() {
        out.push(format!(
            "{} nothing: every criterion is GREEN",
            head("next:")
        ));
    } else {
        out.push(head("next:"));
        let width = r
            .problems
            .iter()
            .map(|p| p.kind.colour().word().len())
            .max()
            .unwrap_or(0);
        for p in &r.problems {
            let word = p.kind.colour().word();
            let pad = " ".repeat(width - word.len());
            let criteria = if p.criteria.is_empty() {
                String::new()
            } else {
                format!(" {}", p.criteria.join(", "))
            };
            let what = if p.what.is_empty() {
                String::new()
            } else {
                format!(": {}", p.what)
            };
            out.push(format!(
                "  {}{pad}  {}{criteria}{what}",
                printer.paint_out(&style(p.kind.colour()), word),
                p.subject
            ));
            out.push(format!(
                "  {}  → {}",
                " ".repeat(width),
                printer.paint_out(&styles::hint(), &p.next)
            ));
        }
    }
    if !r.signatures_checked {
        out.push("note: this machine has no signing key (.git/specproof/key): evidence signatures were not checked, only their facts".to_owned());
    }
    out.push(if r.ok {
        format!(
            "{}: no critical criterion is RED or ORANGE",
            printer.paint_out(&styles::ok(), "ok")
        )
    } else {
        let n = r.compliance.critical_red;
        let mut why = Vec::new();
        if n > 0 {
            why.push(format!(
                "{n} critical {} RED or ORANGE",
                plural(n, "criterion is", "criteria are")
            ));
        }
        let broken: Vec<&str> = r
            .plans
            .iter()
            .filter(|p| p.problems > 0)
            .map(|p| p.plan.as_str())
            .collect();
        if r.review_problems > 0 {
            why.push(format!(
                "`specproof review-tasks` finds {} {}",
                r.review_problems,
                plural(r.review_problems, "problem", "problems")
            ));
        }
        if !broken.is_empty() {
            why.push(format!(
                "{} {} problems, so not every criterion can be judged (`specproof lint {}`)",
                broken.join(", "),
                if broken.len() == 1 { "has" } else { "have" },
                broken.join(" ")
            ));
        }
        format!(
            "{}: {}",
            printer.paint_out(&styles::error(), "failed"),
            why.join("; ")
        )
    });
    out.join("\n")
}

/// The JSON document of status (see the README).
#[must_use]
pub fn json(r: &StatusReport) -> serde_json::Value {
    let mut doc = serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut doc {
        map.insert("version".into(), super::render::JSON_VERSION.into());
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(quote("plans/auth.md"), "plans/auth.md");
        assert_eq!(quote("Auth middleware"), "'Auth middleware'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
