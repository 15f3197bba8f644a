//! `specproof metrics` (SPEC §10.3): how well "done" meant "proven" in this repository, computed
//! from its history (HEAD's), task files, evidence, convergence records and the local ledger.
//! Each metric stands beside its target; one that cannot be computed is `n/a` with the reason,
//! never a made-up number. The README's Usage section says exactly how each is computed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::compliance;
use crate::config::Rerun;
use crate::criterion::{ProofKind, Scope};
use crate::evidence::Outcome;
use crate::gate::Check;
use crate::printer::{Printer, styles};
use crate::task::{Escalation, Status, TaskMeta};
use crate::workspace::Workspace;

/// How a value compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    /// `>=` or `<=`.
    pub op: &'static str,
    pub value: f64,
}

impl Target {
    const fn at_least(value: f64) -> Self {
        Self { op: ">=", value }
    }
    const fn at_most(value: f64) -> Self {
        Self { op: "<=", value }
    }
    fn meets(self, value: f64) -> bool {
        if self.op == ">=" {
            value >= self.value
        } else {
            value <= self.value
        }
    }
}

/// One metric.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// Stable `snake_case` name.
    pub name: &'static str,
    /// None: `n/a` (the reason is in `detail`).
    pub value: Option<f64>,
    pub unit: &'static str,
    /// None: the metric is informative, it has no target.
    pub target: Option<Target>,
    /// None when there is no value or no target.
    pub meets: Option<bool>,
    /// How the value was made (counts), or why there is none.
    pub detail: String,
    /// Counts behind the value where there are several (failure codes, plans, sections).
    pub breakdown: BTreeMap<String, f64>,
}

impl Metric {
    fn new(name: &'static str, unit: &'static str, target: Option<Target>) -> Self {
        Self {
            name,
            value: None,
            unit,
            target,
            meets: None,
            detail: String::new(),
            breakdown: BTreeMap::new(),
        }
    }

    fn na(mut self, why: impl Into<String>) -> Self {
        self.detail = format!("n/a: {}", why.into());
        self
    }

    fn value(mut self, value: f64, detail: impl Into<String>) -> Self {
        let value = (value * 100.0).round() / 100.0;
        self.value = Some(value);
        self.meets = self.target.map(|t| t.meets(value));
        self.detail = detail.into();
        self
    }

    /// `n` of `of` as a percentage, or n/a with `why` when `of` is 0.
    fn rate(self, n: usize, of: usize, what: &str, why: &str) -> Self {
        if of == 0 {
            return self.na(why);
        }
        #[allow(clippy::cast_precision_loss)]
        let pct = n as f64 * 100.0 / of as f64;
        self.value(pct, format!("{n} of {of} {what}"))
    }
}

/// Every metric, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub metrics: Vec<Metric>,
}

/// Computes every metric of the repository at `root`.
///
/// # Errors
/// A broken specproof.yml, a working tree or history git cannot read.
pub fn metrics(root: &Path, git: &git2::Repository) -> Result<Report> {
    let ws = Workspace::load_with(root, true);
    let matrix = compliance::matrix_in(root, git, &ws, &compliance::Options::default())?;
    let metas: Vec<&TaskMeta> = ws.tasks.iter().filter_map(|t| t.meta.as_ref()).collect();
    let review = crate::review::review(root, &crate::review::Options::default());
    let metrics = vec![
        spec_compliance(&matrix),
        first_pass(&metas),
        silent_skips(git, &ws.config),
        escalation_depth(&metas),
        proof_coverage(&ws, &matrix),
        overhead(root, git, &ws.config.evidence_dir),
        convergence(root),
        review_gap(review.as_ref()),
        fabrication(&ws, review.as_ref()),
        failure_codes(root, git, &ws.config.evidence_dir),
        density(&matrix),
    ];
    Ok(Report {
        version: 1,
        metrics,
    })
}

fn spec_compliance(matrix: &compliance::Matrix) -> Metric {
    let m = Metric::new("spec_compliance_rate", "%", Some(Target::at_least(90.0)));
    m.rate(
        matrix.overall.counts.green,
        matrix.overall.criteria,
        "criteria GREEN",
        "the plans hold no criteria",
    )
}

fn finished(meta: &TaskMeta) -> bool {
    matches!(meta.status, Status::Done | Status::Complete)
}

fn first_pass(metas: &[&TaskMeta]) -> Metric {
    let done: Vec<_> = metas.iter().filter(|m| finished(m)).collect();
    let first = done
        .iter()
        .filter(|m| m.iteration == 1 && m.attempts == 0)
        .count();
    Metric::new(
        "first_pass_completion_rate",
        "%",
        Some(Target::at_least(75.0)),
    )
    .rate(
        first,
        done.len(),
        "done/complete tasks finished in iteration 1 with 0 attempts",
        "no task is done or complete",
    )
}

/// The ID and status of every task file (`*.md` directly in `tasks_dir`) in `tree`.
fn statuses(
    git: &git2::Repository,
    tree: &git2::Tree<'_>,
    config: &crate::config::Config,
) -> BTreeMap<String, (String, Status)> {
    let mut out = BTreeMap::new();
    let dir = crate::paths::normalize(&config.tasks_dir);
    let Ok(entry) = tree.get_path(Path::new(&dir)) else {
        return out;
    };
    let Ok(files) = git.find_tree(entry.id()) else {
        return out;
    };
    for e in &files {
        let rel = format!("{dir}/{}", e.name().unwrap_or_default());
        if e.kind() == Some(git2::ObjectType::Blob)
            && crate::workspace::is_task_path(config, &rel)
            && let Ok(blob) = git.find_blob(e.id())
            && let Some(meta) = crate::task::Task::meta_only(&rel, blob.content())
        {
            out.insert(rel, (meta.task_id, meta.status));
        }
    }
    out
}

fn silent_skips(git: &git2::Repository, config: &crate::config::Config) -> Metric {
    let m = Metric::new("silent_skip_rate", "%", Some(Target::at_most(2.0)));
    if git.head().and_then(|h| h.peel_to_commit()).is_err() {
        return m.na("the repository has no commits");
    }
    // A history that cannot be replayed (a shallow clone) has no rate, rather than a wrong one.
    replayed(git, config, m.clone()).unwrap_or_else(|e| m.na(format!("{e:#}")))
}

fn replayed(git: &git2::Repository, config: &crate::config::Config, m: Metric) -> Result<Metric> {
    let range = crate::audit::range(git, Some("HEAD"))?;
    // The commits that moved a task to done or complete, and which tasks.
    let mut claims: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &oid in &range.commits {
        let commit = git.find_commit(oid)?;
        let new = statuses(git, &commit.tree()?, config);
        // A task enters done or complete from any other state (done -> complete is not a new
        // claim). A merge brings a claim made on a branch: it counts only when no parent had
        // the task done or complete (the branch's own commit is counted once, there).
        let mut parents = Vec::new();
        for p in commit.parents() {
            parents.push(statuses(git, &p.tree()?, config));
        }
        let is_finished = |s: Option<Status>| matches!(s, Some(Status::Done | Status::Complete));
        let entering: Vec<String> = new
            .iter()
            .filter(|(path, (_, s))| {
                is_finished(Some(*s))
                    && parents
                        .iter()
                        .all(|old| !is_finished(old.get(*path).map(|o| o.1)))
            })
            .map(|(_, (id, _))| id.clone())
            .collect();
        if !entering.is_empty() {
            claims.insert(oid.to_string(), entering);
        }
    }
    if claims.is_empty() {
        return Ok(m.na("no commit in HEAD's history moved a task to done or complete"));
    }
    let options = crate::audit::Options {
        range: Some("HEAD".to_owned()),
        rerun: Rerun::FileProofs,
        allow_overrides: true,
    };
    let report = crate::audit::run(git, range, &options)?;
    let mut silent = 0;
    for c in &report.commits {
        if c.range_change || c.status == crate::audit::Status::Override {
            continue;
        }
        let Some(ids) = claims.get(&c.commit) else {
            continue;
        };
        let hit = c
            .problems
            .iter()
            .any(|p| p.check == Check::G3 && p.task.as_ref().is_some_and(|t| ids.contains(t)));
        if hit {
            silent += 1;
        }
    }
    let mut m = m.rate(
        silent,
        claims.len(),
        "commits that moved a task to done or complete had no fresh passing evidence (G3)",
        "",
    );
    m.breakdown
        .insert("commits".to_owned(), count(report.summary.commits));
    m.breakdown
        .insert("done_claims".to_owned(), count(claims.len()));
    m.breakdown.insert("silent".to_owned(), count(silent));
    Ok(m)
}

#[allow(clippy::cast_precision_loss)]
fn count(n: usize) -> f64 {
    n as f64
}

fn depth(level: Option<Escalation>) -> u32 {
    match level {
        None => 0,
        Some(Escalation::Retry) => 1,
        Some(Escalation::Decompose) => 2,
        Some(Escalation::Reassign) => 3,
        Some(Escalation::Human) => 4,
    }
}

/// The highest escalation level a task reached: its current `escalation`, or the level it had
/// when a person acknowledged it (`escalate --ack` clears the field, converge resets it). The
/// ladder counts attempts since the previous acknowledgement, as `verify` did.
fn highest_level(task: &TaskMeta) -> u32 {
    let mut before = 0;
    let mut highest = depth(task.escalation);
    for ack in &task.acks {
        highest = highest.max(depth(crate::verify::level(
            ack.attempts.saturating_sub(before),
        )));
        before = ack.attempts;
    }
    highest
}

fn escalation_depth(metas: &[&TaskMeta]) -> Metric {
    let m = Metric::new(
        "mean_escalation_depth",
        "levels",
        Some(Target::at_most(2.0)),
    );
    if metas.is_empty() {
        return m.na("there are no task files");
    }
    let depth: u32 = metas.iter().map(|t| highest_level(t)).sum();
    m.value(
        f64::from(depth) / count(metas.len()),
        format!("{depth} levels over {} tasks", metas.len()),
    )
}

fn proof_coverage(ws: &Workspace, matrix: &compliance::Matrix) -> Metric {
    let machine = matrix
        .rows
        .iter()
        .filter(|r| {
            ws.plan(&r.plan)
                .and_then(|p| p.criterion(&r.criterion))
                .is_some_and(|c| c.kind() != ProofKind::SemanticMatch)
        })
        .count();
    Metric::new("proof_coverage", "%", Some(Target::at_least(80.0))).rate(
        machine,
        matrix.rows.len(),
        "criteria have a machine proof (not semantic_match, not a bare checkbox)",
        "the plans hold no criteria",
    )
}

/// Seconds of HEAD's commit time since the oldest commit of its history.
fn history_span(git: &git2::Repository) -> Option<i64> {
    let head = git.head().ok()?.peel_to_commit().ok()?;
    let mut walk = git.revwalk().ok()?;
    walk.push(head.id()).ok()?;
    let first = walk
        .filter_map(Result::ok)
        .filter_map(|o| git.find_commit(o).ok())
        .map(|c| c.time().seconds())
        .min()?;
    Some(head.time().seconds() - first)
}

/// Every evidence file under `evidence_dir` in the working tree, parsed (unreadable ones
/// skipped: matrix and verify report them).
fn evidence_files(root: &Path, evidence_dir: &str) -> Vec<crate::evidence::Evidence> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(evidence_dir)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::path);
        for e in entries {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|x| x == "json") {
                let rel = path
                    .strip_prefix(root)
                    .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
                if let Ok(bytes) = std::fs::read(&path)
                    && let Ok(ev) = crate::evidence::parse(&rel, &bytes)
                {
                    out.push(ev);
                }
            }
        }
    }
    out
}

fn overhead(root: &Path, git: &git2::Repository, evidence_dir: &str) -> Metric {
    let m = Metric::new("verification_overhead", "%", Some(Target::at_most(15.0)));
    let evidence = evidence_files(root, evidence_dir);
    if evidence.is_empty() {
        return m.na("there is no evidence");
    }
    let proof_ms: u64 = evidence.iter().map(|e| e.duration_ms).sum();
    match history_span(git) {
        Some(span) if span > 0 => {
            #[allow(clippy::cast_precision_loss)]
            let pct = proof_ms as f64 / 10.0 / span as f64;
            m.value(
                pct,
                format!(
                    "{proof_ms} ms of proofs in {} evidence files over {span} s of history",
                    evidence.len()
                ),
            )
        }
        _ => m.na("HEAD's history spans less than a second (or there is none)"),
    }
}

fn convergence(root: &Path) -> Metric {
    let mut m = Metric::new(
        "convergence_iterations",
        "iterations",
        Some(Target::at_most(2.0)),
    );
    let Ok(plans) = std::fs::read_dir(root.join(crate::converge::DIR)) else {
        return m.na("no convergence records (run `specproof converge`)");
    };
    for plan in plans.filter_map(Result::ok) {
        let Ok(files) = std::fs::read_dir(plan.path()) else {
            continue;
        };
        let highest = files
            .filter_map(Result::ok)
            .filter_map(|f| crate::converge::record_number(&f.file_name().into_string().ok()?))
            .max();
        // The iterations of the plan's latest run of the loop (a converged iteration ends a
        // run; new work after it starts another), as its last record counts them.
        if let Some(n) = highest {
            let used = std::fs::read(plan.path().join(format!("iter-{n}.json")))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|r| r.pointer("/budget/iterations_used")?.as_u64())
                .and_then(|u| u32::try_from(u).ok())
                .unwrap_or(n);
            m.breakdown.insert(
                plan.file_name().to_string_lossy().into_owned(),
                f64::from(used),
            );
        }
    }
    let Some(max) = m.breakdown.values().copied().reduce(f64::max) else {
        return m.na("no convergence records (run `specproof converge`)");
    };
    let plans = m.breakdown.len();
    m.value(
        max,
        format!("most iterations of a plan's latest run of the loop, over {plans} plans"),
    )
}

fn review_gap(review: Result<&crate::review::Review, &String>) -> Metric {
    let m = Metric::new("task_review_gap_rate", "%", Some(Target::at_most(5.0)));
    let review = match review {
        Ok(r) => r,
        Err(e) => return m.na(format!("review-tasks cannot run: {e}")),
    };
    let task_scope = review
        .plans
        .iter()
        .flat_map(|p| &p.criteria)
        .filter(|c| c.scope == Scope::Task)
        .count();
    m.rate(
        review.summary.missing,
        task_scope,
        "task-scope criteria are in no task (review-tasks: missing)",
        "the plans hold no task-scope criteria",
    )
}

fn fabrication(ws: &Workspace, review: Result<&crate::review::Review, &String>) -> Metric {
    let m = Metric::new("fabrication_rate", "%", Some(Target::at_most(2.0)));
    let review = match review {
        Ok(r) => r,
        Err(e) => return m.na(format!("review-tasks cannot run: {e}")),
    };
    let all: usize = ws.tasks.iter().map(|t| t.criteria_ids.len()).sum();
    m.rate(
        review.fabricated.len(),
        all,
        "task criteria are defined in no plan (review-tasks: fabricated)",
        "the task files hold no criteria",
    )
}

fn failure_codes(root: &Path, git: &git2::Repository, evidence_dir: &str) -> Metric {
    let mut m = Metric::new("failure_code_distribution", "failures", None);
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejections = 0;
    let ledger = crate::state::ledger_path(git.commondir());
    if let Ok(text) = std::fs::read_to_string(&ledger) {
        for line in text.lines() {
            let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if record.get("event").and_then(|e| e.as_str()) != Some("rejected") {
                continue;
            }
            rejections += 1;
            for p in record
                .get("problems")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(code) = p.get("code").and_then(|c| c.as_str()) {
                    *codes.entry(code.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let mut failing = 0;
    for ev in evidence_files(root, evidence_dir) {
        if ev.result != Outcome::Pass {
            failing += 1;
            if let Some(code) = ev.failure_code {
                *codes.entry(code.to_string()).or_default() += 1;
            }
        }
    }
    let total: usize = codes.values().sum();
    let mut sorted: Vec<(&String, &usize)> = codes.iter().collect();
    sorted.sort_by_key(|(c, _)| c.trim_start_matches('F').parse::<u32>().unwrap_or(u32::MAX));
    let mut text = String::new();
    for (code, n) in &sorted {
        let _ = write!(
            text,
            "{}{code} {n}",
            if text.is_empty() { "" } else { ", " }
        );
    }
    if text.is_empty() {
        text.push_str("none");
    }
    m.breakdown = codes.iter().map(|(c, n)| (c.clone(), count(*n))).collect();
    m.value(
        count(total),
        format!(
            "{text} (from {rejections} ledger rejections and {failing} failing evidence files)"
        ),
    )
}

fn density(matrix: &compliance::Matrix) -> Metric {
    let mut m = Metric::new("criteria_density", "criteria/section", None);
    for plan in &matrix.plans {
        for s in &plan.section_density {
            m.breakdown.insert(
                format!(
                    "{} § {}",
                    plan.plan,
                    s.section.as_deref().unwrap_or("(no section)")
                ),
                count(s.criteria),
            );
        }
    }
    match matrix.overall.density {
        Some(d) => m.value(
            d,
            format!(
                "{} criteria in {} sections",
                matrix.overall.criteria, matrix.overall.sections
            ),
        ),
        None => m.na("the plans hold no criteria"),
    }
}

/// The report for people: one line per metric.
#[must_use]
pub fn table(report: &Report, printer: &Printer) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    for m in &report.metrics {
        let value = m
            .value
            .map_or_else(|| "n/a".to_owned(), |v| shown(v, m.unit));
        let target = m.target.map_or_else(
            || "-".to_owned(),
            |t| format!("{} {}", t.op, shown(t.value, m.unit)),
        );
        let verdict = match m.meets {
            Some(true) => printer.paint_out(&styles::ok(), "pass"),
            Some(false) => printer.paint_out(&styles::error(), "miss"),
            None => "-".to_owned(),
        };
        rows.push([m.name.to_owned(), value, target, verdict]);
    }
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(6);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0).max(5);
    let w2 = rows.iter().map(|r| r[2].len()).max().unwrap_or(0).max(6);
    let mut out = format!(
        "{:w0$}  {:w1$}  {:w2$}  result  detail\n",
        "metric", "value", "target"
    );
    for (r, m) in rows.iter().zip(&report.metrics) {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {:6}  {}",
            r[0], r[1], r[2], r[3], m.detail
        );
    }
    out.trim_end().to_owned()
}

fn shown(v: f64, unit: &str) -> String {
    let n = if (v - v.round()).abs() < f64::EPSILON {
        format!("{v:.0}")
    } else {
        format!("{v:.2}").trim_end_matches('0').to_owned()
    };
    match unit {
        "%" => format!("{n}%"),
        "failures" | "criteria/section" | "iterations" | "levels" => n,
        other => format!("{n} {other}"),
    }
}

/// The report as JSON.
///
/// # Errors
/// Never in practice (the report is plain data).
pub fn json(report: &Report) -> Result<String> {
    serde_json::to_string_pretty(report).context("cannot write the metrics as JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(attempts: u32, escalation: &str, acks: &[u32]) -> TaskMeta {
        let mut list = String::new();
        for n in acks {
            let _ = writeln!(
                list,
                "  - {{ by: a, at: \"2026-01-01T00:00:00Z\", note: n, attempts: {n} }}"
            );
        }
        let text = format!(
            "---\ntask_id: T-1\nplan_file: plans/p.md\nstatus: in_progress\ntier: 1\niteration: 1\nattempts: {attempts}\nescalation: {escalation}\nacks:\n{list}---\n"
        );
        crate::task::Task::meta_only("t.md", text.as_bytes()).expect("front matter parses")
    }

    #[test]
    fn the_depth_of_a_task_is_the_highest_level_it_reached_acknowledgements_included() {
        // Now retry, never acknowledged.
        assert_eq!(highest_level(&meta(1, "retry", &[])), 1);
        // Human at 4 attempts, acknowledged: the field is null, the depth stays 4.
        assert_eq!(highest_level(&meta(4, "null", &[4])), 4);
        // Acknowledged at decompose (2), then 2 more attempts, acknowledged again: the ladder
        // counts since the previous acknowledgement, so decompose both times, never human.
        assert_eq!(highest_level(&meta(4, "null", &[2, 4])), 2);
        // The current level counts when it is the highest.
        assert_eq!(highest_level(&meta(5, "reassign", &[2])), 3);
    }

    #[test]
    fn values_are_shown_in_their_unit_without_trailing_zeros() {
        assert_eq!(shown(50.0, "%"), "50%");
        assert_eq!(shown(66.67, "%"), "66.67%");
        assert_eq!(shown(1.5, "criteria/section"), "1.5");
        assert_eq!(shown(2.0, "levels"), "2");
    }

    #[test]
    fn a_rate_of_nothing_is_not_applicable_and_targets_compare_inclusively() {
        let m = Metric::new("x", "%", Some(Target::at_most(2.0)));
        let none = m.clone().rate(0, 0, "things", "there are no things");
        assert_eq!(none.value, None);
        assert_eq!(none.meets, None);
        assert_eq!(none.detail, "n/a: there are no things");
        let one = m.rate(1, 50, "things", "");
        assert_eq!(one.value, Some(2.0));
        assert_eq!(one.meets, Some(true));
        assert_eq!(one.detail, "1 of 50 things");
        let low = Metric::new("y", "%", Some(Target::at_least(75.0))).rate(2, 3, "t", "");
        assert_eq!(low.value, Some(66.67));
        assert_eq!(low.meets, Some(false));
    }
}
