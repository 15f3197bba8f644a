//! The transitions of one change: what it does to each task, and the gates that judge it.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use git2::Oid;

use crate::config::Rerun;
use crate::content::Content;
use crate::criterion::{Criterion, Proof, Scope};
use crate::diagnostic::{Diagnostic, FailureCode};
use crate::digest::{self, Excluded};
use crate::evidence::{self, Expected, Freshness, Key};
use crate::task::{Status, Task, TaskMeta};

use super::cache;
use super::rerun::{CommandRunner, Rerunner};
use super::view::{View, stem};
use super::{Check, Outcome, Problem};

/// One change to judge: from `old` (None: the first commit) to `new`.
pub struct Change<'a, 'r> {
    pub git: &'a git2::Repository,
    pub old: Option<&'a Content<'r>>,
    pub new: &'a Content<'r>,
    /// The paths whose file differs between `old` and `new`, when the caller knows them (git
    /// listed them); None: found by comparing both contents' whole lists.
    pub changed: Option<&'a BTreeSet<String>>,
    /// The commit `old` is: what a git proof's default base (HEAD) meant when its evidence was
    /// made.
    pub old_commit: Option<Oid>,
    /// This machine's signing key; None: no evidence can verify here.
    pub key: Option<&'a Key>,
    /// Which hook judges: its config key (`on_commit` or `on_push`) says which proofs run again
    /// for touched criteria of done and complete tasks.
    pub stage: Stage,
    /// Whether the command proofs of the new content are approved for hooks (SPEC §7.3); asked
    /// only when one is to run.
    pub trusted: &'a dyn Fn(&View<'_, '_>) -> bool,
    pub commands: &'a dyn CommandRunner,
    /// Commits whose content was judged where it was committed, asked only when an
    /// acknowledgement does not verify here: a merge's other parents (the change is judged
    /// against the first), and for pre-commit also what was fetched (the remote-tracking
    /// branches, `FETCH_HEAD`, `MERGE_HEAD`; git writes no `MERGE_HEAD` before pre-merge-commit). An
    /// acknowledgement signed on another machine that one of them holds is not this change's.
    pub merged: &'a dyn Fn() -> Vec<Oid>,
}

/// Where a change is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// pre-commit: `on_commit.rerun`.
    Commit,
    /// pre-push (each pushed commit): `on_push.rerun`.
    Push,
    /// pre-receive and audit: evidence made on another machine, whose signature cannot be
    /// checked here. Its recorded facts are compared, and the proofs of criteria claimed by the
    /// change are run again per `rerun` (the server's policy, never the content's config): a
    /// re-run that fails where the evidence says pass is F12. Command proofs run only where
    /// `Change::trusted` allows them; otherwise their evidence is checked for freshness only.
    Replay { rerun: Rerun },
}

impl Stage {
    fn replay(self) -> bool {
        matches!(self, Self::Replay { .. })
    }
}

/// How far along the lifecycle a state is: the gates entering it requires.
fn gates_of(status: Status) -> u8 {
    match status {
        Status::Created | Status::Blocked | Status::Failed => 0,
        Status::Ready => 1,
        Status::InProgress => 2,
        Status::Done => 3,
        Status::Complete => 4,
    }
}

struct Ctx<'v, 'c, 'r> {
    change: &'v Change<'c, 'r>,
    old: Option<View<'c, 'r>>,
    new: View<'c, 'r>,
    new_metas: OnceCell<BTreeMap<String, TaskMeta>>,
    /// The settings the change is judged by: the stricter of the old and the new specproof.yml,
    /// so that a commit cannot loosen the rules it is judged by.
    strict: Strict,
    /// The change moves `tasks_dir` or `evidence_dir`: every task is judged again.
    moved: bool,
    /// What input digests leave out (both configs' exclusions, when the change edits them).
    excluded: std::rc::Rc<Excluded>,
    /// The new specproof.yml and its own plan globs (the view's are widened by the old ones).
    own_plans: (crate::config::Config, crate::workspace::PlanGlobs),
    /// Tasks done or complete before the change and not after it (reopened or deleted), with
    /// what happened to them: done tasks that depend on them are judged again.
    withdrawn: Vec<(String, String)>,
    /// What [`Change::merged`] returned, asked once.
    merged: OnceCell<Vec<Oid>>,
    /// Convergence records already judged, by path: one record advances many tasks.
    records: BTreeMap<String, Result<serde_json::Value, (FailureCode, String)>>,
    out: Outcome,
}

/// The settings of specproof.yml the gates apply, the stricter of two contents' values.
#[derive(Debug, Clone)]
struct Strict {
    worker_report: crate::config::Mode,
    parrot_similarity: f64,
    phrases: Vec<String>,
    rerun: Rerun,
}

impl Strict {
    fn of(new: &crate::config::Config, old: Option<&crate::config::Config>, stage: Stage) -> Self {
        let rerun = |c: &crate::config::Config| match stage {
            Stage::Commit => c.on_commit.rerun,
            Stage::Push => c.on_push.rerun,
            Stage::Replay { rerun } => rerun,
        };
        let mut strict = Self {
            worker_report: new.rationalization.worker_report,
            parrot_similarity: new.echo.parrot_similarity,
            phrases: new.rationalization.phrases.clone(),
            rerun: rerun(new),
        };
        if let Some(old) = old {
            strict.worker_report = strict.worker_report.max(old.rationalization.worker_report);
            strict.parrot_similarity = strict.parrot_similarity.min(old.echo.parrot_similarity);
            for p in &old.rationalization.phrases {
                if !strict.phrases.contains(p) {
                    strict.phrases.push(p.clone());
                }
            }
            strict.rerun = strict.rerun.max(rerun(old));
        }
        strict
    }
}

/// Judges `change`: every problem that rejects it, and the warnings.
#[must_use]
pub fn check(change: &Change<'_, '_>) -> Outcome {
    let new = View::load(change.new);
    let mut out = Outcome::default();
    if !new.config_problems.is_empty() {
        for d in &new.config_problems {
            out.problems.push(Problem {
                task: None,
                file: Some(d.file.clone()),
                line: Some(d.line),
                check: Check::Config,
                criterion: None,
                code: Some(d.code),
                reason: d.message.clone(),
                fix: format!("fix {} (`specproof lint` lists its problems)", d.file),
            });
        }
        return out;
    }
    let changed = match change.changed {
        Some(known) => known.clone(),
        None => changed_paths(change.old, change.new),
    };
    // A content git listed the changes of has no such name (the list would not parse), so
    // only whole contents are asked.
    let unnamed = if change.changed.is_none() {
        unnamed(change.old, change.new)
    } else {
        Vec::new()
    };
    if changed.is_empty() && unnamed.is_empty() {
        return out;
    }
    let mut new = new;
    let old = change.old.map(|o| View::load_beside(o, &new));
    // A commit cannot loosen the rules it is judged by: the plan files of both configs are
    // plans, a file is left out of digests only when both configs leave it out, and pattern
    // proofs read files up to the larger size limit.
    let mut excluded = Excluded::new(&new.config);
    // The new config's own plans, before they are widened: a plan only the old one reads has
    // left the plan set (and its criteria with it).
    let own_plans = (
        new.config.clone(),
        crate::workspace::PlanGlobs::new(&new.config),
    );
    if let Some(old) = &old
        && old.config != new.config
    {
        let before = &old.config;
        new.widen_plans(&before.plans);
        new.config.max_file_size =
            crate::config::ByteSize(new.config.max_file_size.0.max(before.max_file_size.0));
        excluded = Excluded::both(&new.config, before);
    }
    let strict = Strict::of(&new.config, old.as_ref().map(|o| &o.config), change.stage);
    let moved = old.as_ref().is_some_and(|o| {
        let dir = |d: &str| crate::paths::normalize(d);
        dir(&o.config.tasks_dir) != dir(&new.config.tasks_dir)
            || dir(&o.config.evidence_dir) != dir(&new.config.evidence_dir)
    });
    let mut ctx = Ctx {
        change,
        old,
        new,
        new_metas: OnceCell::new(),
        strict,
        moved,
        excluded: std::rc::Rc::new(excluded),
        own_plans,
        withdrawn: Vec::new(),
        records: BTreeMap::new(),
        merged: OnceCell::new(),
        out,
    };
    ctx.unnamed(&unnamed);
    ctx.links(&changed);
    ctx.unreadable(&changed);
    ctx.plan_drift();
    ctx.complete_evidence(&changed);
    ctx.tampering(&changed);
    ctx.changes_log(&changed);
    ctx.convergence_records(&changed);
    ctx.added_records(&changed);
    let gated = ctx.tasks(&changed);
    ctx.regressions(&changed, &gated);
    ctx.out
}

/// Paths whose mode or blob differs between the two contents, or that only one has.
fn changed_paths(old: Option<&Content<'_>>, new: &Content<'_>) -> BTreeSet<String> {
    let Some(old) = old else {
        return new.files().map(|e| e.path.clone()).collect();
    };
    let mut out = BTreeSet::new();
    let mut a = old.files().peekable();
    let mut b = new.files().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(x), None) => {
                out.insert(x.path.clone());
                a.next();
            }
            (None, Some(y)) => {
                out.insert(y.path.clone());
                b.next();
            }
            (Some(x), Some(y)) => match x.path.as_bytes().cmp(y.path.as_bytes()) {
                std::cmp::Ordering::Less => {
                    out.insert(x.path.clone());
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    out.insert(y.path.clone());
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    if x.oid != y.oid || x.mode != y.mode {
                        out.insert(x.path.clone());
                    }
                    a.next();
                    b.next();
                }
            },
        }
    }
    out
}

/// Files whose names are not UTF-8 (shown lossily), new in this change: counted by lossy name,
/// so a second such file whose name reads the same is new too.
fn unnamed(old: Option<&Content<'_>>, new: &Content<'_>) -> Vec<String> {
    let mut before: BTreeMap<&String, usize> = BTreeMap::new();
    for name in old.map(Content::skipped).unwrap_or_default() {
        *before.entry(name).or_default() += 1;
    }
    let mut out = Vec::new();
    for name in new.skipped() {
        match before.get_mut(name) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(name.clone()),
        }
    }
    out
}

fn diagnostic_problem(d: &Diagnostic, check: Check, fix: String) -> Problem {
    Problem {
        task: d.task.clone(),
        file: Some(d.file.clone()),
        line: Some(d.line),
        check,
        criterion: d.criterion.clone(),
        code: Some(d.code),
        reason: match &d.suggestion {
            Some(s) => format!("{} (did you mean {s}?)", d.message),
            None => d.message.clone(),
        },
        fix,
    }
}

impl Ctx<'_, '_, '_> {
    /// The front matter of every task of the new content, read once when first needed.
    fn metas(&self) -> &BTreeMap<String, TaskMeta> {
        self.new_metas.get_or_init(|| self.new.task_metas())
    }

    fn push(&mut self, problem: Problem) {
        self.out.problems.push(problem);
    }

    /// specproof's files are regular files in git: a link in their place (the tasks or evidence
    /// folder, a snapshot, a plan, or a folder above them) would hide them from the hooks while
    /// `lint` and `verify` follow it.
    fn links(&mut self, changed: &BTreeSet<String>) {
        let dirs = [
            crate::paths::normalize(&self.new.config.tasks_dir),
            crate::paths::normalize(&self.new.config.evidence_dir),
            crate::lint::SNAPSHOT_DIR.to_owned(),
        ];
        let mut found = Vec::new();
        for path in changed {
            let Some(entry) = self.new.content.get(path) else {
                continue;
            };
            if entry.mode != crate::content::MODE_SYMLINK {
                continue;
            }
            let related = |dir: &String| {
                path == dir
                    || path
                        .strip_prefix(dir.as_str())
                        .is_some_and(|r| r.starts_with('/'))
                    || dir
                        .strip_prefix(path.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            };
            if dirs.iter().any(related) || self.new.is_plan(path) || path == crate::config::FILE {
                found.push(Problem {
                    task: None,
                    file: Some(path.clone()),
                    line: None,
                    check: Check::Unreadable,
                    criterion: None,
                    code: Some(FailureCode::F8),
                    reason: format!("{path} is a symbolic link: specproof's files and folders must be real files in git, or the hooks could not see what a link hides"),
                    fix: format!("replace the link with the files themselves (`git rm --cached {path}`, then add the real files)"),
                });
            }
        }
        self.out.problems.extend(found);
    }

    /// New files whose names are not UTF-8, where a task is done or complete: no criterion can
    /// name them and no glob can match them, so a claimed criterion could not see them.
    fn unnamed(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let claimed = self
            .metas()
            .values()
            .any(|m| matches!(m.status, Status::Done | Status::Complete));
        if !claimed {
            return;
        }
        for name in names {
            self.push(Problem {
                task: None,
                file: Some(name.clone()),
                line: None,
                check: Check::Unreadable,
                criterion: None,
                code: Some(FailureCode::F8),
                reason: format!("the file name {name:?} is not UTF-8 (shown lossily): no proof can name it or match it, so the criteria of done and complete tasks could not see it"),
                fix: "rename the file to a UTF-8 name (`git mv`)".to_owned(),
            });
        }
    }

    /// Touched plan, snapshot and task files that do not parse.
    fn unreadable(&mut self, changed: &BTreeSet<String>) {
        let mut found = Vec::new();
        let mut plans: Option<Vec<String>> = None;
        for path in changed {
            let snapshot = crate::snapshot::plan_of(path).is_some();
            if (snapshot || self.new.is_plan(path)) && self.new.content.get(path).is_some() {
                found.extend(self.new.parse_plan(path).diagnostics);
            }
            // A plan added (or moved) beside another of the same file name would share its
            // plan-level evidence and convergence records (SPEC §1).
            if !snapshot && self.new.is_plan(path) && self.new.content.get(path).is_some() {
                let all = plans.get_or_insert_with(|| self.new.plan_paths());
                let stem = crate::lint::plan_stem(path);
                let others: Vec<&str> = all
                    .iter()
                    .filter(|p| *p != path && crate::lint::plan_stem(p) == stem)
                    .map(String::as_str)
                    .collect();
                if !others.is_empty() {
                    found.push(crate::diagnostic::Diagnostic::new(
                        path,
                        crate::diagnostic::Pos::line(1),
                        FailureCode::F8,
                        crate::diagnostic::Rule::DuplicatePlanStem,
                        crate::lint::same_stem_message(path, &others),
                    ));
                }
            }
        }
        for d in found {
            let fix = format!(
                "fix {}:{} (`specproof lint {}` shows every problem), then `git add {}`",
                d.file, d.line, d.file, d.file
            );
            self.push(diagnostic_problem(&d, Check::Unreadable, fix));
        }
    }

    /// Plans that differ from their snapshot (SPEC §8): their blobs differ; only then are
    /// both read, to name the criteria that changed.
    fn plan_drift(&mut self) {
        let mut found = Vec::new();
        // A plan equal to its snapshot needs no telling from other files (which compiles the
        // plan globs).
        for plan_path in self.new.plan_candidates() {
            let snapshot_path = format!("{}/{plan_path}", crate::lint::SNAPSHOT_DIR);
            let (Some(p), Some(s)) = (
                self.new.content.get(&plan_path),
                self.new.content.get(&snapshot_path),
            ) else {
                continue;
            };
            if p.oid == s.oid || !self.new.is_plan(&plan_path) {
                continue;
            }
            let changed = crate::snapshot::changed_ids(
                &self.new.parse_plan(&snapshot_path),
                &self.new.parse_plan(&plan_path),
            );
            let which = if changed.is_empty() {
                "its text differs (no criterion definition changed)".to_owned()
            } else {
                format!("criteria changed: {}", changed.join(", "))
            };
            found.push(Problem {
                task: None,
                file: Some(plan_path.clone()),
                line: None,
                check: Check::PlanDrift,
                criterion: (changed.len() == 1).then(|| changed[0].clone()),
                code: Some(FailureCode::F14),
                reason: format!("{plan_path} differs from its snapshot {snapshot_path}: {which}"),
                fix: format!(
                    "if the change is intended, `specproof snapshot {plan_path}` then `git add {snapshot_path} {}`; if not, `git checkout HEAD -- {plan_path}`",
                    crate::snapshot::CHANGES_LOG
                ),
            });
        }
        self.out.problems.extend(found);
    }

    /// plan-changes.log is append-only, and every snapshot the change writes has its line
    /// there (SPEC §8: `specproof snapshot` writes both), naming the plan and the new
    /// snapshot's sha256.
    fn changes_log(&mut self, changed: &BTreeSet<String>) {
        let log = crate::snapshot::CHANGES_LOG;
        // A snapshot stays while its plan does: without it the plan's edits are not drift.
        let mut kept = Vec::new();
        for path in changed {
            let Some(plan) = crate::snapshot::plan_of(path) else {
                continue;
            };
            let deleted = self.new.content.get(path).is_none()
                && self
                    .old
                    .as_ref()
                    .is_some_and(|o| o.content.get(path).is_some());
            let (config, globs) = &self.own_plans;
            let still_a_plan = self.new.content.get(plan).is_some() && globs.is_plan(config, plan);
            if deleted && still_a_plan {
                kept.push(Problem {
                    task: None,
                    file: Some(path.clone()),
                    line: None,
                    check: Check::PlanDrift,
                    criterion: None,
                    code: Some(FailureCode::F14),
                    reason: format!("this change deletes {path}, the approved definition of {plan}, while the plan stays: without it, edits of the plan would no longer be drift"),
                    fix: format!("restore it (`git checkout HEAD -- {path}`); to change the plan's definition, edit the plan and run `specproof snapshot {plan}`"),
                });
            }
        }
        self.out.problems.extend(kept);
        let written: Vec<(&String, &str)> = changed
            .iter()
            .filter(|p| self.new.content.get(p).is_some())
            .filter_map(|p| Some((p, crate::snapshot::plan_of(p)?)))
            .collect();
        if written.is_empty() && !changed.contains(log) {
            return;
        }
        let read = |content: &Content<'_>| match content.read(log) {
            Ok(bytes) => Ok(bytes),
            Err(crate::content::ContentError::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        };
        let problem = |file: &str, reason: String, fix: String| Problem {
            task: None,
            file: Some(file.to_owned()),
            line: None,
            check: Check::PlanDrift,
            criterion: None,
            code: Some(FailureCode::F14),
            reason,
            fix,
        };
        let before = match self.old.as_ref().map(|o| read(o.content)).transpose() {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => {
                self.push(problem(
                    log,
                    format!("cannot read {log} in the parent commit: {e}"),
                    "see `git show HEAD:.specproof/plan-changes.log`".into(),
                ));
                return;
            }
        };
        let now = match read(self.new.content) {
            Ok(n) => n,
            Err(e) => {
                self.push(problem(
                    log,
                    format!("cannot read {log}: {e}"),
                    format!("restore it: `git checkout HEAD -- {log}`"),
                ));
                return;
            }
        };
        if !now.starts_with(&before) {
            self.push(problem(
                log,
                format!("{log} is append-only, and this change rewrites or removes its earlier lines"),
                format!("restore it (`git checkout HEAD -- {log}`); `specproof snapshot PLAN` appends the line a snapshot needs"),
            ));
            return;
        }
        let added = String::from_utf8_lossy(&now[before.len()..]).into_owned();
        let mut found = Vec::new();
        for (path, plan) in written {
            // A snapshot that cannot be read is reported by `unreadable`.
            let Ok(bytes) = self.new.content.read(path) else {
                continue;
            };
            if !crate::snapshot::records(&added, plan, &digest::sha256(&bytes)) {
                found.push(problem(
                    path,
                    format!("{path} changes without its line in {log} (the plan, the old and new sha256, the changed criteria): a snapshot is written by `specproof snapshot`, which records it"),
                    format!("`specproof snapshot {plan}`, then `git add {path} {log}`"),
                ));
            }
        }
        self.out.problems.extend(found);
    }

    /// Committed evidence of a complete task is never deleted or rewritten.
    fn complete_evidence(&mut self, changed: &BTreeSet<String>) {
        let Some(old) = &self.old else { return };
        let dir = crate::paths::normalize(&old.config.evidence_dir);
        let mut complete: BTreeMap<String, bool> = BTreeMap::new();
        let mut found = Vec::new();
        for path in changed {
            let Some(rest) = path.strip_prefix(&dir).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            let Some(owner) = rest.split('/').next() else {
                continue;
            };
            if old.content.get(path).is_none() {
                continue;
            }
            let is_complete = *complete.entry(owner.to_owned()).or_insert_with(|| {
                old.task(&old.task_path(owner))
                    .and_then(|t| t.meta)
                    .is_some_and(|m| m.status == Status::Complete)
            });
            if !is_complete {
                continue;
            }
            let what = if self.new.content.get(path).is_some() {
                "rewrites"
            } else {
                "deletes"
            };
            found.push(Problem {
                task: Some(owner.to_owned()),
                file: Some(path.clone()),
                line: None,
                check: Check::Lifecycle,
                criterion: rest.rsplit('/').next().map(|n| n.trim_end_matches(".json").to_owned()),
                code: Some(FailureCode::F12),
                reason: format!("this change {what} committed evidence of complete task {owner}: the evidence of a complete task is the record and never changes"),
                fix: format!("restore it: `git checkout HEAD -- {path}`"),
            });
        }
        self.out.problems.extend(found);
    }

    /// Every task file the change adds, edits or deletes, and done tasks whose evidence it
    /// changes: their transitions and gates. Returns the task IDs gated for done (their proofs
    /// were judged already).
    fn tasks(&mut self, changed: &BTreeSet<String>) -> BTreeSet<String> {
        // Tasks are matched by ID (the file stem), each content reading its own tasks_dir.
        let mut ids: BTreeSet<String> = changed
            .iter()
            .filter(|p| self.new.is_task(p) || self.old.as_ref().is_some_and(|o| o.is_task(p)))
            .map(|p| stem(p))
            .collect();
        // Done tasks whose evidence this change edits are judged again.
        let evidence_dir = crate::paths::normalize(&self.new.config.evidence_dir);
        let mut owners = BTreeSet::new();
        for path in changed {
            if let Some(owner) = path
                .strip_prefix(&evidence_dir)
                .and_then(|r| r.strip_prefix('/'))
                .and_then(|r| r.split('/').next())
            {
                owners.insert(owner.to_owned());
            }
        }
        for owner in owners {
            // Only the owner's front matter is read, not every task's.
            let path = self.new.task_path(&owner);
            let done = self
                .new
                .content
                .read(&path)
                .ok()
                .and_then(|bytes| Task::meta_only(&path, &bytes))
                .is_some_and(|m| m.status == Status::Done);
            if done {
                ids.insert(owner);
            }
        }
        // Moving tasks_dir or evidence_dir moves the record: every task is judged again.
        if self.moved {
            ids.extend(self.metas().keys().cloned());
            if let Some(old) = &self.old {
                ids.extend(old.task_metas().into_keys());
            }
        }
        let mut gated = BTreeSet::new();
        for id in ids {
            self.out.tasks_checked += 1;
            let old_path = self.old.as_ref().map(|o| o.task_path(&id));
            let old = self
                .old
                .as_ref()
                .zip(old_path.as_ref())
                .and_then(|(o, p)| o.task(p));
            let new_path = self.new.task_path(&id);
            let new = self.new.task(&new_path);
            let path = if new.is_some() {
                new_path
            } else {
                old_path.unwrap_or(new_path)
            };
            let claimed = |t: Option<&Task>| {
                t.and_then(|t| t.meta.as_ref())
                    .is_some_and(|m| matches!(m.status, Status::Done | Status::Complete))
            };
            if claimed(old.as_ref()) && !claimed(new.as_ref()) {
                let what = match new.as_ref().and_then(|t| t.meta.as_ref()) {
                    Some(m) => format!("moves to {}", m.status.name()),
                    None => "deletes".to_owned(),
                };
                self.withdrawn.push((id.clone(), what));
            }
            if let Some(id) = self.task(&path, old.as_ref(), new.as_ref()) {
                gated.insert(id);
            }
        }
        self.dependents();
        gated
    }

    /// Done and complete tasks that depend on a task this change reopens or deletes: their
    /// claim no longer holds (G3, F7), even with their own files untouched.
    fn dependents(&mut self) {
        if self.withdrawn.is_empty() {
            return;
        }
        let withdrawn: BTreeMap<String, String> = self.withdrawn.iter().cloned().collect();
        let mut found = Vec::new();
        for (id, meta) in self.metas() {
            if !matches!(meta.status, Status::Done | Status::Complete) || withdrawn.contains_key(id)
            {
                continue;
            }
            for dep in &meta.depends_on {
                let Some(what) = withdrawn.get(dep) else {
                    continue;
                };
                found.push(Problem {
                    task: Some(id.clone()),
                    file: Some(self.new.task_path(id)),
                    line: None,
                    check: Check::G3,
                    criterion: None,
                    code: Some(FailureCode::F7),
                    reason: format!(
                        "{id} is {} and depends on {dep}, which this change {what}: a task is done only while the tasks it depends on are",
                        meta.status.name()
                    ),
                    fix: if meta.status == Status::Complete {
                        format!("keep {dep} done: complete task {id} depends on it")
                    } else {
                        format!(
                            "keep {dep} done, or move {id} back to in_progress in the same change"
                        )
                    },
                });
            }
        }
        self.out.problems.extend(found);
    }

    /// One task's transition. Returns its ID when it was judged by G3.
    fn task(&mut self, path: &str, old: Option<&Task>, new: Option<&Task>) -> Option<String> {
        let old_meta = old.and_then(|t| t.meta.as_ref());
        let Some(new) = new else {
            // Deleted.
            if let Some(o) = old_meta
                && o.escalation == Some(crate::task::Escalation::Human)
                && o.status != Status::Complete
            {
                self.push(Problem {
                    task: Some(o.task_id.clone()),
                    file: Some(path.to_owned()),
                    line: None,
                    check: Check::Lifecycle,
                    criterion: None,
                    code: Some(FailureCode::F6),
                    reason: format!("deletes task {}, which waits for a person's decision (escalation: human)", o.task_id),
                    fix: format!("`specproof escalate --ack {} --by NAME --note TEXT` records the decision first (for example: split into new tasks)", o.task_id),
                });
            }
            if let Some(o) = old_meta
                && o.status == Status::Complete
            {
                self.push(lifecycle(
                    &o.task_id,
                    path,
                    None,
                    format!(
                        "deletes complete task {}: a complete task is the record and stays",
                        o.task_id
                    ),
                    format!("restore it: `git checkout HEAD -- {path}`"),
                ));
            }
            return None;
        };
        let id = new.id().to_owned();
        if !new.diagnostics.is_empty() {
            let found: Vec<Problem> = new
                .diagnostics
                .iter()
                .map(|d| {
                    let fix = format!(
                        "fix {}:{} (`specproof lint {}` shows every problem), then `git add {}`",
                        d.file, d.line, d.file, d.file
                    );
                    let mut p = diagnostic_problem(d, Check::Unreadable, fix);
                    p.task.get_or_insert_with(|| id.clone());
                    p
                })
                .collect();
            self.out.problems.extend(found);
        }
        let meta = new.meta.as_ref()?;
        if let Some(o) = old_meta {
            if o.status == Status::Complete {
                self.complete_edit(path, old?, new, o, meta);
                if self.moved && meta.status == Status::Complete {
                    // The record moved: its evidence must still be the committed evidence.
                    self.g4(new, meta);
                }
                return None;
            }
            self.owned_fields(path, o, meta);
        }
        self.new_acks(path, old_meta, meta);
        if old_meta.is_none_or(|o| o.base.is_none())
            && let Some(base) = &meta.base
        {
            self.first_base(path, meta, base);
        }
        let level = gates_of(meta.status);
        if level >= 2 && old_meta.is_none_or(|o| gates_of(o.status) < 2) {
            self.draft_plan(path, new, meta);
        }
        if level >= 1 {
            self.g1(new);
        }
        if level >= 2 {
            self.g2(new, meta);
        }
        if level >= 3 {
            if let (Some(old), Some(o)) = (old, old_meta) {
                self.lowered_bar(new, meta, old, o);
            }
            self.g3(new, meta);
            if level >= 4 {
                self.g4(new, meta);
            }
            return Some(id);
        }
        None
    }

    /// A complete task: no state change, no edit of its front matter or criteria.
    fn complete_edit(&mut self, path: &str, old: &Task, new: &Task, o: &TaskMeta, n: &TaskMeta) {
        let id = &o.task_id;
        let restore = format!("restore it: `git checkout HEAD -- {path}`");
        if n.status != Status::Complete {
            self.push(lifecycle(
                id,
                path,
                Some(new.field_pos("status").line),
                format!(
                    "moves complete task {id} back to {}: complete is final; open a new task for more work",
                    n.status.name()
                ),
                restore,
            ));
            return;
        }
        let criteria = |t: &Task| {
            t.section("acceptance criteria")
                .map(|s| s.body.clone())
                .unwrap_or_default()
        };
        if o != n {
            self.push(lifecycle(
                id,
                path,
                Some(1),
                format!(
                    "edits the front matter of complete task {id}: a complete task never changes"
                ),
                restore,
            ));
        } else if criteria(old) != criteria(new) {
            self.push(lifecycle(
                id,
                path,
                new.criteria_section,
                format!("edits the Acceptance Criteria of complete task {id}: a complete task never changes"),
                restore,
            ));
        }
    }

    /// The fields specproof owns are never edited by hand (SPEC §6.2).
    fn owned_fields(&mut self, path: &str, o: &TaskMeta, n: &TaskMeta) {
        let id = &n.task_id;
        let mut found = Vec::new();
        let restore = |field: &str, value: String| {
            format!("put `{field}: {value}` back in {path} (only specproof writes {field})")
        };
        let kept_acks = n.acks.len() >= o.acks.len() && n.acks[..o.acks.len()] == o.acks[..];
        if !kept_acks {
            found.push(("acks", "recorded acknowledgements were removed or edited".to_owned(), format!("restore `acks` in {path} from HEAD: acknowledgements are only added, by `specproof escalate --ack`")));
        }
        let new_ack = kept_acks && n.acks.len() > o.acks.len();
        if n.iteration < o.iteration {
            found.push((
                "iteration",
                format!(
                    "iteration went down from {} to {}",
                    o.iteration, n.iteration
                ),
                restore("iteration", o.iteration.to_string()),
            ));
        } else if n.iteration > o.iteration + 1 {
            found.push((
                "iteration",
                format!(
                    "iteration rose from {} to {}: it rises one at a time (`specproof converge`)",
                    o.iteration, n.iteration
                ),
                restore("iteration", o.iteration.to_string()),
            ));
        } else if n.iteration == o.iteration + 1 {
            // A new iteration resets attempts and escalation. `specproof converge` starts one,
            // with the signed record of the iteration it ended added in the same change; else
            // only a person's acknowledgement does.
            let human = o.escalation == Some(crate::task::Escalation::Human);
            let record = self.convergence_record(n);
            // A record never lifts `escalation: human`: only a person does.
            if !new_ack && (human || record.is_err()) {
                let why = if human {
                    "while the task waits for a person's decision (escalation: human)".to_owned()
                } else {
                    "without a person's acknowledgement".to_owned()
                };
                // A record whose claims a proof run again contradicts is fabricated (F12).
                let code = match &record {
                    Err((code, _)) if !human => *code,
                    _ => FailureCode::F8,
                };
                self.push(Problem {
                    task: Some(id.clone()),
                    file: Some(path.to_owned()),
                    line: None,
                    check: Check::Lifecycle,
                    criterion: None,
                    code: Some(code),
                    reason: format!(
                        "hand edit of `iteration`: iteration rose from {} to {} {why}: a new iteration resets attempts and escalation",
                        o.iteration, n.iteration
                    ),
                    fix: if human {
                        format!(
                            "put `iteration: {}` back in {path}; `specproof escalate --ack {id} --by NAME --note TEXT` records a person's decision first",
                            o.iteration
                        )
                    } else {
                        format!(
                            "put `iteration: {}` back in {path}: iterations are started by `specproof converge`, which writes a record in {}/{}/ (signed, committed with the task files) when its decision is continue{}; otherwise a person starts one on the record: SPECPROOF_OVERRIDE='<reason>' git commit …",
                            o.iteration,
                            crate::converge::DIR,
                            stem(&n.plan_file),
                            record.err().map(|(_, e)| format!(" (that record: {e})")).unwrap_or_default()
                        )
                    },
                });
            }
        }
        if n.iteration == o.iteration && n.attempts < o.attempts {
            found.push((
                "attempts",
                format!(
                    "attempts went down from {} to {} within iteration {}",
                    o.attempts, n.attempts, n.iteration
                ),
                restore("attempts", o.attempts.to_string()),
            ));
        }
        if n.iteration == o.iteration && n.escalation < o.escalation && !new_ack {
            let name = |e: Option<crate::task::Escalation>| e.map_or("null", |e| e.name());
            found.push(("escalation", format!("escalation went down from {} to {} without an acknowledgement", name(o.escalation), name(n.escalation)), format!("`specproof escalate --ack {id} --by NAME --note TEXT` records a person's decision")));
        }
        if o.base.is_some() && n.base != o.base {
            found.push((
                "base",
                format!(
                    "base changed from {} to {} after the task started",
                    o.base.as_deref().unwrap_or("none"),
                    n.base.as_deref().unwrap_or("none")
                ),
                restore("base", o.base.clone().unwrap_or_default()),
            ));
        }
        if n.escalation == Some(crate::task::Escalation::Human)
            && matches!(
                n.status,
                Status::InProgress | Status::Done | Status::Complete
            )
            && o.status != n.status
        {
            found.push((
                "status",
                format!(
                    "moves {id} to {} while it waits for a person's decision (escalation: human)",
                    n.status.name()
                ),
                format!("`specproof escalate --ack {id} --by NAME --note TEXT` first"),
            ));
        } else if o.status == Status::Blocked
            && o.escalation == Some(crate::task::Escalation::Human)
            && matches!(n.status, Status::InProgress | Status::Done)
            && !new_ack
        {
            found.push(("status", format!("moves {id}, blocked for a person's decision (escalation: human), to {} without an acknowledgement", n.status.name()), format!("`specproof escalate --ack {id} --by NAME --note TEXT` first")));
        }
        for (field, reason, fix) in found {
            let code = if field == "status" || field == "escalation" {
                FailureCode::F6
            } else {
                FailureCode::F8
            };
            self.push(Problem {
                task: Some(id.clone()),
                file: Some(path.to_owned()),
                line: None,
                check: Check::Lifecycle,
                criterion: None,
                code: Some(code),
                reason: format!("hand edit of `{field}`: {reason}"),
                fix,
            });
        }
    }

    /// Whether the change adds the convergence record of the iteration that ends (SPEC §10.2),
    /// one `specproof converge` wrote ([`Self::judge_record`]), deciding continue and naming the
    /// task `n` (as the change leaves it), with attempts and escalation reset.
    fn convergence_record(&mut self, n: &TaskMeta) -> Result<(), (FailureCode, String)> {
        let plan = crate::paths::normalize(&n.plan_file);
        let f8 = |reason: String| (FailureCode::F8, reason);
        // The record of the iteration that ends, added by this very change (a record committed
        // earlier started its iteration then).
        let dir = format!("{}/{}", crate::converge::DIR, stem(&n.plan_file));
        let added: Vec<(String, u32)> = self
            .new
            .content
            .under(&dir)
            .filter(|e| {
                self.old
                    .as_ref()
                    .is_none_or(|old| old.content.get(&e.path).is_none())
            })
            .filter_map(|e| {
                let name = e.path.rsplit('/').next()?;
                Some((e.path.clone(), crate::converge::record_number(name)?))
            })
            .collect();
        let [(path, number)] = added.as_slice() else {
            return Err(f8(if added.is_empty() {
                format!(
                    "this change adds no convergence record to {dir}/ (a record committed earlier does not start another iteration)"
                )
            } else {
                format!(
                    "this change adds {} convergence records to {dir}/, and one run of `specproof converge` writes one",
                    added.len()
                )
            }));
        };
        let (path, number) = (path.clone(), *number);
        // A plan's first record starts its history: it cannot advance a task that is already
        // past its first iteration (a plan renamed or moved keeps its records under the old
        // name, and its tasks' iterations, escalations and budget with them).
        if number == 1 && n.iteration > 2 {
            return Err(f8(format!(
                "{path} is the first record of {plan}, and {} is already in iteration {}: a new history of convergence cannot advance it (was the plan renamed? its records are kept by its old file name)",
                n.task_id,
                n.iteration - 1
            )));
        }
        if n.attempts != 0 || n.escalation.is_some() {
            return Err(f8(
                "a new iteration starts with `attempts: 0` and `escalation: null`".into(),
            ));
        }
        let doc = self
            .judge_record(&path)
            .map_err(|(code, e)| (code, format!("{path}: {e}")))?;
        crate::converge::allows_rise(&doc, &plan, number, &n.task_id, None)
            .map_err(|e| f8(format!("{path}: {e}")))
    }

    /// Every convergence record the change adds (SPEC §10.2) must be one `specproof converge`
    /// wrote ([`Self::judge_record`]), whether or not it starts an iteration: a record is what
    /// the next iteration's regression, stagnation and budget are counted from.
    fn added_records(&mut self, changed: &BTreeSet<String>) {
        let prefix = format!("{}/", crate::converge::DIR);
        let added: Vec<String> = changed
            .iter()
            .filter(|p| p.starts_with(&prefix))
            .filter(|p| self.new.content.get(p).is_some())
            .filter(|p| {
                self.old
                    .as_ref()
                    .is_none_or(|old| old.content.get(p).is_none())
            })
            .cloned()
            .collect();
        for path in added {
            if let Err((code, reason)) = self.judge_record(&path) {
                // After an escalation the record may well be converge's: what it lacks is a
                // person's decision.
                let (reason, fix) = if code == FailureCode::F6 {
                    (
                        reason,
                        "a person resumes the loop: commit a `specproof escalate --ack` of a task of the plan, or commit this record on the record: SPECPROOF_OVERRIDE='<reason>' git commit …".to_owned(),
                    )
                } else {
                    (
                        format!(
                            "a convergence record that `specproof converge` did not write for this content: {reason}"
                        ),
                        format!(
                            "take it out of the commit (`git rm --cached {path}`); records are written by `specproof converge`"
                        ),
                    )
                };
                self.push(Problem {
                    task: None,
                    file: Some(path.clone()),
                    line: None,
                    check: Check::Lifecycle,
                    criterion: None,
                    code: Some(code),
                    reason,
                    fix,
                });
            }
        }
    }

    /// The convergence record at `path`, added by the change, judged once: named
    /// `<DIR>/<plan stem>/iter-<N>.json` for a plan of the content and iteration N; signed with
    /// this machine's key where the change is judged with one; elsewhere (a replay, a machine
    /// without the key) it must hold together and its passes must hold when run again
    /// ([`Self::replayed_record`]).
    fn judge_record(&mut self, path: &str) -> Result<serde_json::Value, (FailureCode, String)> {
        if let Some(judged) = self.records.get(path) {
            return judged.clone();
        }
        let judged = self.judge_record_once(path);
        self.records.insert(path.to_owned(), judged.clone());
        judged
    }

    fn judge_record_once(
        &mut self,
        path: &str,
    ) -> Result<serde_json::Value, (FailureCode, String)> {
        let f8 = |reason: String| (FailureCode::F8, reason);
        let layout = || {
            f8(format!(
                "records are named {}/<plan stem>/iter-<N>.json",
                crate::converge::DIR
            ))
        };
        let rest = path
            .strip_prefix(crate::converge::DIR)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(layout)?;
        let (dir_stem, name) = rest.split_once('/').ok_or_else(layout)?;
        let number = crate::converge::record_number(name)
            .filter(|n| !name.contains('/') && name == format!("iter-{n}.json"))
            .ok_or_else(layout)?;
        // Records are numbered one after another: this one follows the last the parent holds.
        let last = self.old.as_ref().and_then(|old| {
            old.content
                .under(&format!("{}/{dir_stem}", crate::converge::DIR))
                .filter_map(|e| {
                    let name = e.path.rsplit('/').next()?;
                    crate::converge::record_number(name)
                        .filter(|n| e.path == crate::converge::record_path(dir_stem, *n))
                })
                .max()
        });
        let expected = last.map_or(1, |l| l + 1);
        if number != expected {
            return Err(f8(format!(
                "it is the record of iteration {number}, and the next iteration of {dir_stem} is {expected}: records are numbered one after another"
            )));
        }
        let bytes = self
            .new
            .content
            .read(path)
            .map_err(|e| f8(format!("it cannot be read: {e}")))?;
        let doc: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| f8(format!("it is not a valid record ({e})")))?;
        if doc.get("iteration").and_then(serde_json::Value::as_u64) != Some(u64::from(number)) {
            return Err(f8(format!(
                "its file name says iteration {number}, and its `iteration` does not"
            )));
        }
        let plan = doc
            .get("plan")
            .and_then(serde_json::Value::as_str)
            .map(crate::paths::normalize)
            .unwrap_or_default();
        if plan.is_empty()
            || stem(&plan) != dir_stem
            || !self.new.is_plan(&plan)
            || self.new.content.get(&plan).is_none()
        {
            return Err(f8(format!(
                "its `plan` is not a plan file of this content whose file name is {dir_stem}.md"
            )));
        }
        self.after_escalation(&plan, number)?;
        if !self.change.stage.replay()
            && let Some(key) = self.change.key
        {
            if !key.verify_json(&doc) {
                return Err((
                    FailureCode::F12,
                    "its signature does not verify: it was not written by `specproof converge` on this machine, or was edited since".to_owned(),
                ));
            }
            // converge judged the working tree: what it says passes must pass in what is
            // committed.
            self.record_passes(&doc, &plan)?;
            return Ok(doc);
        }
        self.replayed_record(&doc, &plan, number)?;
        Ok(doc)
    }

    /// After an escalated iteration (its record in the parent content says escalate), the loop
    /// goes on only by a person's decision: an acknowledgement of one of the plan's tasks made
    /// since that record, in this content; otherwise the record is rejected (F6), which a person
    /// may override on the record (`SPECPROOF_OVERRIDE`).
    fn after_escalation(&self, plan: &str, n: u32) -> Result<(), (FailureCode, String)> {
        if n < 2 {
            return Ok(());
        }
        let prev_path = crate::converge::record_path(&stem(plan), n - 1);
        let Some(prev) = self.parent_record(plan, n - 1) else {
            return Ok(());
        };
        if prev.get("decision").and_then(serde_json::Value::as_str) != Some("escalate") {
            return Ok(());
        }
        let at = prev
            .get("recorded_at")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        let acked = at.is_some_and(|at| {
            self.metas().values().any(|m| {
                crate::paths::normalize(&m.plan_file) == plan
                    && m.acks
                        .iter()
                        .any(|a| humantime::parse_rfc3339(&a.at).is_ok_and(|ack| ack >= at))
            })
        });
        if acked {
            return Ok(());
        }
        Err((
            FailureCode::F6,
            format!(
                "iteration {} of {plan} escalated ({prev_path}), and no task of the plan has been acknowledged since: only a person resumes the loop (`specproof escalate --ack T --by NAME --note TEXT`, or this commit on the record: SPECPROOF_OVERRIDE='<reason>' git commit …)",
                n - 1
            ),
        ))
    }

    /// The record of iteration `n` of `plan` as the parent content holds it.
    fn parent_record(&self, plan: &str, n: u32) -> Option<serde_json::Value> {
        let path = crate::converge::record_path(&stem(plan), n);
        let bytes = self.old.as_ref()?.content.read(&path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// A replay's judgement of the convergence record at `path` ending iteration `n` of
    /// `plan`: its facts hold together ([`crate::converge::consistent`]) and every criterion it
    /// says passes passes when its proof runs again here (where the policy runs it).
    fn replayed_record(
        &mut self,
        doc: &serde_json::Value,
        plan: &str,
        n: u32,
    ) -> Result<(), (FailureCode, String)> {
        let f8 = |reason: String| (FailureCode::F8, reason);
        let previous = (n > 1).then(|| self.parent_record(plan, n - 1)).flatten();
        let ids: Vec<&str> = self
            .new
            .definitions(plan)
            .map(|p| p.criteria.iter().map(|c| c.id.as_str()).collect())
            .unwrap_or_default();
        // The stricter budget of the two configs.
        let mut budget = self.new.config.convergence.clone();
        if let Some(old) = &self.old {
            budget.max_iterations = budget
                .max_iterations
                .min(old.config.convergence.max_iterations);
            budget.max_wall_clock_min = budget
                .max_wall_clock_min
                .min(old.config.convergence.max_wall_clock_min);
        }
        crate::converge::consistent(
            doc,
            previous.as_ref(),
            &ids,
            budget.max_iterations,
            budget.max_wall_clock_min,
        )
        .map_err(f8)?;
        self.record_passes(doc, plan)
    }

    /// Every criterion the record `doc` of `plan` says passes passes when its proof runs again
    /// on the content (where the policy runs it): a failure is a fabricated record (F12).
    fn record_passes(
        &mut self,
        doc: &serde_json::Value,
        plan: &str,
    ) -> Result<(), (FailureCode, String)> {
        let definitions: Vec<Criterion> = self
            .new
            .definitions(plan)
            .map(|p| p.criteria.clone())
            .unwrap_or_default();
        let path = doc
            .get("iteration")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .map_or_else(String::new, |n| {
                crate::converge::record_path(&stem(plan), n)
            });
        let passes: BTreeMap<String, Option<String>> = doc
            .get("results")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("result").and_then(serde_json::Value::as_str) == Some("pass"))
            .filter_map(|r| {
                let id = r.get("criterion")?.as_str()?.to_owned();
                let task = r
                    .get("task")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
                Some((id, task))
            })
            .collect();
        let bases: BTreeMap<String, Option<String>> = self
            .metas()
            .values()
            .map(|m| (m.task_id.clone(), m.base.clone()))
            .collect();
        for c in definitions.iter().filter(|c| passes.contains_key(&c.id)) {
            let task = passes.get(&c.id).cloned().flatten();
            let task_base = task.as_ref().and_then(|t| bases.get(t)?.clone());
            let base = match self.base_from(c, task_base.as_deref()) {
                Ok(b) => b,
                Err(why) => {
                    self.out.warnings.push(format!(
                        "{path} {}: its git proof is not run again here ({why}): the record's pass is judged by its facts",
                        c.id
                    ));
                    continue;
                }
            };
            let who = task.unwrap_or_else(|| plan.to_owned());
            match self.contradicted(c, base, &who) {
                Freshness::Fresh => {}
                Freshness::Suspect { reason } => {
                    return Err((
                        FailureCode::F12,
                        format!(
                            "it says {} passes, and {}",
                            c.id,
                            reason.replace("the evidence records a pass, and ", "")
                        ),
                    ));
                }
                other => {
                    return Err((
                        other.code().unwrap_or(FailureCode::F9),
                        format!(
                            "it says {} passes, and running its proof again here did not finish",
                            c.id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Convergence records are committed once and never deleted or rewritten (SPEC §10.2).
    fn convergence_records(&mut self, changed: &BTreeSet<String>) {
        let Some(old) = &self.old else { return };
        let prefix = format!("{}/", crate::converge::DIR);
        let mut found = Vec::new();
        for path in changed.iter().filter(|p| p.starts_with(&prefix)) {
            if old.content.get(path).is_none() {
                continue;
            }
            let what = if self.new.content.get(path).is_some() {
                "rewrites"
            } else {
                "deletes"
            };
            found.push(Problem {
                task: None,
                file: Some(path.clone()),
                line: None,
                check: Check::Lifecycle,
                criterion: None,
                code: Some(FailureCode::F8),
                reason: format!("this change {what} {path}, a committed convergence record: records are the history regression and stagnation compare"),
                fix: format!("restore it: `git checkout HEAD -- {path}`"),
            });
        }
        self.out.problems.extend(found);
    }

    /// The acknowledgements this change adds to a task (all of a new task file's) were written
    /// by `specproof escalate --ack` on this machine: their signature verifies with its key. A
    /// replay cannot check another machine's signature: there an acknowledgement is a person's
    /// statement, taken as written (README, threat model).
    fn new_acks(&mut self, path: &str, old: Option<&TaskMeta>, new: &TaskMeta) {
        if self.change.stage.replay() {
            return;
        }
        let key = self.change.key;
        let kept = old.map_or(0, |o| o.acks.len());
        // Edits and removals of recorded acknowledgements are `owned_fields`' to report.
        if old.is_some_and(|o| new.acks.len() < kept || new.acks[..kept] != o.acks[..]) {
            return;
        }
        // Without a key no acknowledgement was written here: `escalate --ack` makes one.
        let unverified: Vec<&crate::task::Ack> = new.acks[kept..]
            .iter()
            .filter(|a| !key.is_some_and(|k| k.verify_json(&a.signed_doc(&new.task_id))))
            .collect();
        if unverified.is_empty() {
            return;
        }
        let merged = self.merged_acks(path);
        let forged: Vec<String> = unverified
            .into_iter()
            .filter(|a| !merged.contains(a))
            .map(|a| format!("{} at {}", a.by, a.at))
            .collect();
        if forged.is_empty() {
            return;
        }
        self.push(Problem {
            task: Some(new.task_id.clone()),
            file: Some(path.to_owned()),
            line: None,
            check: Check::Lifecycle,
            criterion: None,
            code: Some(FailureCode::F12),
            reason: format!(
                "an acknowledgement not written by `specproof escalate --ack` on this machine ({}): its signature does not verify",
                forged.join("; ")
            ),
            fix: format!(
                "remove it from `acks` in {path}; a person records a decision with `specproof escalate --ack {} --by NAME --note TEXT`",
                new.task_id
            ),
        });
    }

    /// Whether a fetched or merged commit ([`Change::merged`]) holds the file at `path` exactly
    /// as the new content does.
    fn fetched_blob(&self, path: &str) -> bool {
        let Some(entry) = self.new.content.get(path) else {
            return false;
        };
        let oid = entry.oid;
        self.merged_commits()
            .iter()
            .any(|commit| self.blob_at(*commit, path) == Some(oid))
    }

    /// The fetched and merged commits ([`Change::merged`]), asked once.
    fn merged_commits(&self) -> &[Oid] {
        self.merged.get_or_init(|| (self.change.merged)())
    }

    /// The blob at `path` in `commit`'s tree, looked up by path alone.
    fn blob_at(&self, commit: Oid, path: &str) -> Option<Oid> {
        let tree = self.change.git.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.get_path(std::path::Path::new(path)).ok()?;
        (entry.kind() == Some(git2::ObjectType::Blob)).then(|| entry.id())
    }

    /// The acknowledgements the task file at `path` holds in the merge's other parents.
    fn merged_acks(&self, path: &str) -> Vec<crate::task::Ack> {
        let mut out = Vec::new();
        for commit in self.merged_commits() {
            let Some(blob) = self
                .blob_at(*commit, path)
                .and_then(|b| self.change.git.find_blob(b).ok())
            else {
                continue;
            };
            if let Some(meta) = Task::meta_only(path, blob.content()) {
                out.extend(meta.acks);
            }
        }
        out
    }

    /// A task's first `base` (written by `specproof start`: HEAD when the work starts) names a
    /// commit of this repository. It need not be an ancestor of the change: a merge brings in a
    /// base set on another branch, and a rebase rewrites the commit it named.
    fn first_base(&mut self, path: &str, meta: &TaskMeta, base: &str) {
        let Err(why) = crate::proof::git::resolve_base(self.change.git, base) else {
            return;
        };
        self.push(Problem {
            task: Some(meta.task_id.clone()),
            file: Some(path.to_owned()),
            line: None,
            check: Check::Lifecycle,
            criterion: None,
            code: Some(FailureCode::F8),
            reason: format!("hand edit of `base`: `base: {base}` names no commit: {why}"),
            fix: format!(
                "remove `base` from {path} and let `specproof start {}` write it",
                meta.task_id
            ),
        });
    }

    /// SPEC §6.5: while a plan is a draft, no task of it enters `in_progress` (or a later state).
    fn draft_plan(&mut self, path: &str, task: &Task, meta: &TaskMeta) {
        let plan_path = crate::paths::normalize(&meta.plan_file);
        if self.new.content.get(&plan_path).is_none() {
            return;
        }
        let plan = self.new.parse_plan(&plan_path);
        if plan.meta.status == Some(crate::plan::PlanStatus::Draft) {
            self.push(lifecycle(
                &meta.task_id,
                path,
                Some(task.field_pos("status").line),
                format!(
                    "moves {} to {} while its plan {plan_path} is a draft: no task of a draft plan starts",
                    meta.task_id,
                    meta.status.name()
                ),
                format!("keep {} ready until {plan_path} is reviewed and says `status: approved` in its front matter", meta.task_id),
            ));
        }
    }

    /// G1: the task's criteria are well-formed and trace to the plan snapshot.
    fn g1(&mut self, task: &Task) {
        let found: Vec<Problem> = self
            .new
            .lint_task(task)
            .iter()
            .map(|d| {
                let fix = match d.code {
                    FailureCode::F14 | FailureCode::F2 => format!(
                        "copy the criterion's definition from the plan snapshot into {} (`specproof lint {}`), then `git add {}`",
                        task.path, task.path, task.path
                    ),
                    FailureCode::F16 => format!(
                        "remove it from {}; verify it at plan level with `specproof verify --plan PLAN`",
                        task.path
                    ),
                    _ => format!("fix {}:{} (`specproof lint {}`)", d.file, d.line, d.file),
                };
                diagnostic_problem(d, Check::G1, fix)
            })
            .collect();
        self.out.problems.extend(found);
    }

    /// G2: the Echo-Back.
    fn g2(&mut self, task: &Task, meta: &TaskMeta) {
        let criteria = self.new.echo_criteria(task);
        let found = crate::echo::check(task, &criteria, self.strict.parrot_similarity);
        for p in found {
            self.push(Problem {
                task: Some(meta.task_id.clone()),
                file: Some(task.path.clone()),
                line: Some(p.line),
                check: Check::G2,
                criterion: p.criterion,
                code: Some(p.code),
                reason: p.message,
                fix: format!(
                    "rewrite the Echo-Back of {} in your own words, then `git add {}`",
                    task.path, task.path
                ),
            });
        }
    }

    /// The definitions a task's criteria run from, with the problems already found by G1 left
    /// out.
    fn definitions(&self, task: &Task, meta: &TaskMeta) -> Vec<Criterion> {
        task.criteria_ids
            .iter()
            .filter_map(|(id, _)| self.new.criterion(&meta.plan_file, id))
            .filter(|c| c.scope == Scope::Task)
            .cloned()
            .collect()
    }

    /// A git proof's base commit as verify resolved it: the criterion's `base`, else the task's,
    /// else HEAD, which for a change is the commit it starts from.
    fn base(&self, criterion: &Criterion, meta: &TaskMeta) -> Result<Option<Oid>, String> {
        self.base_from(criterion, meta.base.as_deref())
    }

    /// [`Self::base`] with the task's `base` (None: no task, or not started).
    fn base_from(
        &self,
        criterion: &Criterion,
        task_base: Option<&str>,
    ) -> Result<Option<Oid>, String> {
        let base = match &criterion.proof {
            Proof::GitDiffContains { base, .. } | Proof::LineCountDelta { base, .. } => {
                base.clone().or_else(|| task_base.map(str::to_owned))
            }
            _ => return Ok(None),
        };
        match base {
            Some(b) if b != "HEAD" => crate::proof::git::resolve_base(self.change.git, &b).map(Some),
            _ => self
                .change
                .old_commit
                .map(Some)
                .ok_or_else(|| "the change has no parent commit, and a git proof compares with one: give the criterion a `base`".to_owned()),
        }
    }

    /// G3: fresh pass evidence in the content for every criterion, dependencies done, no
    /// rationalization in the worker report.
    fn g3(&mut self, task: &Task, meta: &TaskMeta) {
        let id = meta.task_id.clone();
        let excluded = std::rc::Rc::clone(&self.excluded);
        let is_excluded = |p: &str| excluded.contains(p);
        let evidence_dir = self.new.config.evidence_dir.clone();
        let fix = format!(
            "`specproof verify --task {id}`, then `git add {}/{id}`",
            crate::paths::normalize(&evidence_dir)
        );
        let mut found = Vec::new();
        for c in self.definitions(task, meta) {
            let rel = evidence::path(&evidence_dir, &id, meta.iteration, &c.id);
            let problem = |code: FailureCode, reason: String, fix: String| Problem {
                task: Some(id.clone()),
                file: Some(rel.clone()),
                line: None,
                check: Check::G3,
                criterion: Some(c.id.clone()),
                code: Some(code),
                reason,
                fix,
            };
            let scope = self.base(&c, meta).and_then(|base| {
                crate::proof::input_scope(&c, self.new.content, &is_excluded).map(|s| (base, s))
            });
            let (base, scope) = match scope {
                Ok(found) => found,
                Err(e) => {
                    found.push(problem(
                        FailureCode::F9,
                        format!("the proof's inputs cannot be found: {e}"),
                        fix.clone(),
                    ));
                    continue;
                }
            };
            let input_digest = digest::scope_digest(c.kind(), scope.iter().copied(), base);
            let criterion_digest = digest::criterion_digest(&c);
            let existing = match self.new.content.read(&rel) {
                Ok(bytes) => Some(evidence::parse(&rel, &bytes)),
                Err(_) => None,
            };
            let expected = Expected {
                task_id: &id,
                criterion_id: &c.id,
                proof: c.kind().name(),
                iteration: meta.iteration,
                criterion_digest: &criterion_digest,
                input_digest: &input_digest,
            };
            let verdict = match (self.change.key, &existing) {
                // A replay compares the recorded facts and then runs the proof again.
                _ if self.change.stage.replay() => {
                    match evidence::freshness(existing.as_ref(), None, &expected) {
                        Freshness::Fresh => self.contradicted(&c, base, &id),
                        other => other,
                    }
                }
                (None, Some(Ok(_))) => Freshness::Suspect {
                    reason: "this machine has no signing key (.git/specproof/key), so the evidence was not made here".into(),
                },
                (key, _) => evidence::freshness(existing.as_ref(), key, &expected),
            };
            // Evidence made on a teammate's machine arrives by a merge: the very file a fetched
            // or merged commit holds was judged where it was committed; here its facts are.
            let verdict = match verdict {
                Freshness::Suspect { .. }
                    if !self.change.stage.replay() && self.fetched_blob(&rel) =>
                {
                    evidence::freshness(existing.as_ref(), None, &expected)
                }
                other => other,
            };
            let (code, reason, fix) = match verdict {
                Freshness::Fresh => continue,
                Freshness::Missing { .. } => (
                    FailureCode::F11,
                    "no evidence in this commit".to_owned(),
                    fix.clone(),
                ),
                Freshness::Stale { reason } => (
                    FailureCode::F11,
                    format!("stale evidence: {reason}"),
                    fix.clone(),
                ),
                Freshness::Corrupt { reason } => (FailureCode::F8, reason, fix.clone()),
                Freshness::Failed { code, reason } => {
                    (code, reason, format!("make the proof pass, then {fix}"))
                }
                Freshness::Suspect { reason } => (
                    FailureCode::F12,
                    format!("suspect evidence: {reason}"),
                    format!(
                        "`specproof verify --task {id} --force`, then `git add {}/{id}`",
                        crate::paths::normalize(&evidence_dir)
                    ),
                ),
            };
            found.push(problem(code, reason, fix));
        }
        for dep in &meta.depends_on {
            let status = self.metas().get(dep).map(|m| m.status);
            if !matches!(status, Some(Status::Done | Status::Complete)) {
                let state = status.map_or("not in this commit".to_owned(), |s| {
                    format!("is {}", s.name())
                });
                found.push(Problem {
                    task: Some(id.clone()),
                    file: Some(task.path.clone()),
                    line: Some(task.field_pos("depends_on").line),
                    check: Check::G3,
                    criterion: None,
                    code: Some(FailureCode::F7),
                    reason: format!("depends on {dep}, which {state}: a task is done only after the tasks it depends on"),
                    fix: format!("finish {dep} first (`specproof verify --task {dep}`), or keep {id} in_progress"),
                });
            }
        }
        self.out.problems.extend(found);
        self.worker_report(task, meta);
    }

    /// A replay's check of evidence whose recorded facts are fresh: the proof runs again on the
    /// content (file and git proofs when the policy re-runs them, command proofs only when it
    /// re-runs everything and commands are allowed), and a failure contradicts the evidence's
    /// pass (F12). What is not run is judged by its facts alone.
    fn contradicted(&mut self, c: &Criterion, base: Option<Oid>, id: &str) -> Freshness {
        let rerun = self.strict.rerun;
        let command = c.kind().is_command();
        if rerun == Rerun::None {
            return Freshness::Fresh;
        }
        if matches!(c.proof, Proof::SemanticMatch { .. }) {
            self.out.warnings.push(format!(
                "{id} {}: a judge's verdict is not asked again here: its evidence is judged by its recorded facts",
                c.id
            ));
            return Freshness::Fresh;
        }
        if command && !(rerun == Rerun::All && (self.change.trusted)(&self.new)) {
            self.out.warnings.push(format!(
                "{id} {}: a command proof, not run here: its evidence is judged by its recorded facts",
                c.id
            ));
            return Freshness::Fresh;
        }
        let excluded = std::rc::Rc::clone(&self.excluded);
        let is_excluded = |p: &str| excluded.contains(p);
        let verdict = if command {
            match self
                .change
                .commands
                .run(self.new.content, &self.new.config, id, c)
            {
                Ok(v) => v,
                // It was to run and could not: nothing proves the claim here (F9), and a
                // command that cannot start must not let forged evidence through.
                Err(e) => {
                    return Freshness::Failed {
                        code: FailureCode::F9,
                        reason: format!("its command proof could not be run again here: {e}"),
                    };
                }
            }
        } else {
            let runner = Rerunner {
                git: self.change.git,
                content: self.new.content,
                config: &self.new.config,
                excluded: &is_excluded,
                cache: crate::proof::files::FileCache::default(),
            };
            match runner.local(c, base) {
                Some(v) => v,
                None => return Freshness::Fresh,
            }
        };
        self.out.reran += 1;
        match (verdict.outcome, verdict.failure_code) {
            (evidence::Outcome::Pass, _) => Freshness::Fresh,
            // A proof that could not finish here (killed by a timeout, not started) says
            // nothing about the evidence.
            (evidence::Outcome::Fail, Some(code @ (FailureCode::F5 | FailureCode::F9))) => {
                Freshness::Failed {
                    code,
                    reason: format!(
                        "running the proof again on this commit did not finish: {}",
                        verdict.detail
                    ),
                }
            }
            (evidence::Outcome::Fail, _) => Freshness::Suspect {
                reason: format!(
                    "the evidence records a pass, and running the proof again on this commit fails: {}",
                    verdict.detail
                ),
            },
            (evidence::Outcome::Inconclusive, _) => {
                self.out.warnings.push(format!(
                    "{id} {}: the proof ran again and was inconclusive: {}",
                    c.id, verdict.detail
                ));
                Freshness::Fresh
            }
        }
    }

    /// Rationalization phrases in the Self-Review and Status Update of a task entering done.
    fn worker_report(&mut self, task: &Task, meta: &TaskMeta) {
        let mode = self.strict.worker_report;
        if mode == crate::config::Mode::Off {
            return;
        }
        for hit in rationalization_hits(task, &self.strict.phrases) {
            let (line, place, phrase, matched, advice) = hit;
            let reason = format!(
                "{place} says \"{matched}\" (the phrase \"{phrase}\"): that is assurance, not evidence"
            );
            if mode == crate::config::Mode::Block {
                self.push(Problem {
                    task: Some(meta.task_id.clone()),
                    file: Some(task.path.clone()),
                    line: Some(line),
                    check: Check::Rationalization,
                    criterion: None,
                    code: None,
                    reason,
                    fix: format!("{advice} in {}, then `git add {}`", task.path, task.path),
                });
            } else {
                self.out.warnings.push(format!(
                    "{}:{line}: {}: {reason}; {advice}",
                    task.path, meta.task_id
                ));
            }
        }
    }

    /// A task judged for done may not lower its own bar in the same change: drop a criterion,
    /// a dependency, its tier, or switch plans.
    fn lowered_bar(&mut self, task: &Task, meta: &TaskMeta, old: &Task, o: &TaskMeta) {
        let mut found = Vec::new();
        let now: BTreeSet<&str> = task
            .criteria_ids
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        for (cid, _) in &old.criteria_ids {
            if !now.contains(cid.as_str()) {
                found.push((
                    Some(cid.clone()),
                    format!("removes {cid} from its Acceptance Criteria"),
                ));
            }
        }
        for dep in &o.depends_on {
            if !meta.depends_on.contains(dep) {
                found.push((None, format!("drops its dependency on {dep}")));
            }
        }
        if meta.tier < o.tier {
            found.push((
                None,
                format!("lowers its tier from {} to {}", o.tier, meta.tier),
            ));
        }
        if crate::paths::normalize(&meta.plan_file) != crate::paths::normalize(&o.plan_file) {
            found.push((
                None,
                format!("moves from plan {} to {}", o.plan_file, meta.plan_file),
            ));
        }
        for (criterion, what) in found {
            self.push(Problem {
                task: Some(meta.task_id.clone()),
                file: Some(task.path.clone()),
                line: None,
                check: Check::Tampering,
                criterion,
                code: Some(FailureCode::F14),
                reason: format!(
                    "{} {what} in the same commit that has it {}: lowering the bar and claiming it",
                    meta.task_id,
                    meta.status.name()
                ),
                fix: "change the task's criteria, dependencies or tier in a commit of their own (where review sees them), then claim it".into(),
            });
        }
    }

    /// G4: every evidence file was committed before (it is in the old content, unchanged).
    fn g4(&mut self, task: &Task, meta: &TaskMeta) {
        let id = meta.task_id.clone();
        let mut found = Vec::new();
        for c in self.definitions(task, meta) {
            let rel = evidence::path(&self.new.config.evidence_dir, &id, meta.iteration, &c.id);
            let before = self.old.as_ref().and_then(|o| o.content.get(&rel));
            let now = self.new.content.get(&rel);
            if now.is_some() && before.map(|e| e.oid) == now.map(|e| e.oid) {
                continue;
            }
            found.push(Problem {
                task: Some(id.clone()),
                file: Some(rel.clone()),
                line: None,
                check: Check::G4,
                criterion: Some(c.id.clone()),
                code: Some(FailureCode::F11),
                reason: "the evidence is not in an earlier commit: complete needs evidence already persisted".into(),
                fix: format!("commit the task as done with its evidence first, then mark {id} complete in a later commit"),
            });
        }
        self.out.problems.extend(found);
    }

    /// Criteria whose definition (the snapshot, else the plan) the change alters or removes,
    /// by plan path: only plans and snapshots the change touches are read.
    fn redefined_criteria(&self, changed: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        let Some(old) = &self.old else { return out };
        let mut plans = BTreeSet::new();
        // Plans the new specproof.yml no longer reads lose every criterion.
        let unread = self.unread_plans();
        plans.extend(unread.iter().cloned());
        for path in changed {
            if let Some(plan) = crate::snapshot::plan_of(path) {
                plans.insert(plan.to_owned());
            } else if self.new.is_plan(path) || old.is_plan(path) {
                plans.insert(path.clone());
            }
        }
        for plan in plans {
            let definitions = |view: &View<'_, '_>| {
                let path = view.definitions_path(&plan);
                view.content.get(&path).map(|_| view.parse_plan(&path))
            };
            let Some(before) = definitions(old) else {
                continue;
            };
            // A plan file the change deletes (or moves) takes its criteria with it, even when
            // its snapshot stays.
            let deleted = old.content.get(&plan).is_some() && self.new.content.get(&plan).is_none();
            let after = if unread.contains(&plan) || deleted {
                None
            } else {
                definitions(&self.new)
            };
            let ids: BTreeSet<String> = before
                .criteria
                .iter()
                .filter(|c| {
                    after
                        .as_ref()
                        .and_then(|a| a.criterion(&c.id))
                        .is_none_or(|now| digest::criterion_json(c) != digest::criterion_json(now))
                })
                .map(|c| c.id.clone())
                .collect();
            if !ids.is_empty() {
                out.insert(plan, ids);
            }
        }
        out
    }

    /// Criteria whose files a change to `digest_exclude` or `max_file_size` reads differently:
    /// whole-tree scopes (which leave out the excluded files) and pattern proofs (which skip
    /// files over the size limit), by plan. Plans are parsed only when those keys change.
    fn rescoped_criteria(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        let Some(old) = &self.old else { return out };
        let new = &self.own_plans.0;
        let exclude = old.config.digest_exclude != new.digest_exclude;
        let size = old.config.max_file_size != new.max_file_size;
        if !exclude && !size {
            return out;
        }
        for plan in self.new.plan_paths() {
            let defs = self.new.definitions_path(&plan);
            let ids: BTreeSet<String> = self
                .new
                .parse_plan(&defs)
                .criteria
                .iter()
                .filter(|c| {
                    let tree = matches!(
                        crate::proof::input_spec(c),
                        crate::proof::InputSpec::Tree | crate::proof::InputSpec::FilteredTree(_)
                    );
                    let pattern = matches!(
                        c.proof,
                        Proof::PatternMatches { .. } | Proof::NoPatternExists { .. }
                    );
                    (exclude && tree) || (size && pattern)
                })
                .map(|c| c.id.clone())
                .collect();
            if !ids.is_empty() {
                out.insert(plan, ids);
            }
        }
        out
    }

    /// The plans of the old content that the new specproof.yml's own `plans` does not match.
    fn unread_plans(&self) -> BTreeSet<String> {
        let Some(old) = &self.old else {
            return BTreeSet::new();
        };
        if old.config == self.own_plans.0 {
            return BTreeSet::new();
        }
        let (config, globs) = &self.own_plans;
        old.plan_paths()
            .into_iter()
            .filter(|p| !globs.is_plan(config, p))
            .collect()
    }

    /// A change that redefines or removes a criterion (or its plan) held by a task that is done
    /// or complete in the new content: weakening the bar of a claim (F14). Whether or not the
    /// task file is touched: a done task's evidence proves the old definition.
    fn tampering(&mut self, changed: &BTreeSet<String>) {
        let mut redefined = self.redefined_criteria(changed);
        let defined = redefined.clone();
        // Criteria whose files the change's specproof.yml reads differently.
        let by_config = self.rescoped_criteria();
        for (plan, ids) in &by_config {
            redefined
                .entry(plan.clone())
                .or_default()
                .extend(ids.iter().cloned());
        }
        if redefined.is_empty() {
            return;
        }
        let unread = self.unread_plans();
        let held: Vec<(String, String)> = self
            .metas()
            .iter()
            .filter(|(_, m)| matches!(m.status, Status::Done | Status::Complete))
            .filter_map(|(id, m)| {
                let plan = crate::paths::normalize(&m.plan_file);
                redefined.contains_key(&plan).then(|| (id.clone(), plan))
            })
            .collect();
        let mut found = Vec::new();
        for (id, plan) in held {
            let ids = &redefined[&plan];
            let path = self.new.task_path(&id);
            // Only a task file that names a redefined criterion is read in full.
            let names_one = match self.new.content.read(&path) {
                Ok(bytes) => names_any(&bytes, ids.iter()),
                Err(err) => {
                    found.push(unreadable_task(&path, &err));
                    continue;
                }
            };
            if !names_one {
                continue;
            }
            let Some(task) = self.new.task(&path) else {
                continue;
            };
            let Some(meta) = task.meta.as_ref() else {
                continue;
            };
            let before = self
                .old
                .as_ref()
                .and_then(|o| o.task(&o.task_path(&id)))
                .and_then(|t| t.meta)
                .map(|m| m.status);
            let plan_gone = self.new.content.get(&plan).is_none();
            for (cid, _) in task.criteria_ids.iter().filter(|(c, _)| ids.contains(c)) {
                // Only a change of specproof.yml, not of the criterion's own definition.
                let rescoped = by_config.get(&plan).is_some_and(|r| r.contains(cid))
                    && !defined.get(&plan).is_some_and(|d| d.contains(cid));
                if rescoped && meta.status == Status::Complete {
                    // A complete task is the record: a later config change does not reopen it,
                    // and a project must stay able to change its config.
                    self.out.warnings.push(format!(
                        "{id} {cid}: this change's specproof.yml (`digest_exclude` or `max_file_size`) changes which files {cid} of complete task {id} reads"
                    ));
                    continue;
                }
                let what = if rescoped && self.new.criterion(&plan, cid).is_some() {
                    format!(
                        "changes `digest_exclude` or `max_file_size` in specproof.yml, which changes the files {cid} reads"
                    )
                } else if unread.contains(&plan) {
                    format!(
                        "stops reading {plan} (specproof.yml `plans` no longer matches it), which defines {cid}"
                    )
                } else if plan_gone {
                    format!("deletes (or moves) {plan}, which defines {cid}")
                } else if self.new.criterion(&plan, cid).is_none() {
                    format!("removes {cid} from {plan}")
                } else {
                    format!("redefines {cid} (its proof, args or inputs)")
                };
                let (reason, fix) = match (meta.status, before) {
                    (Status::Complete, _) => (
                        format!("this change {what}, a criterion of complete task {id}: a complete task's criteria never change"),
                        format!("keep {cid} as it is in the plan and its snapshot; put the new requirement in a new criterion (a new ID) for a new task"),
                    ),
                    (_, Some(Status::Done)) => (
                        format!("this change {what}, a criterion of done task {id}: its evidence proves the old definition, so the claim would stand on a bar nobody met"),
                        format!("move {id} back to in_progress in this same change (`status: in_progress` in {path}); then verify it against the new definition and claim it done in a later commit"),
                    ),
                    _ => (
                        format!("this change {what} and claims {id} {} in the same commit: lowering the bar and claiming it", meta.status.name()),
                        "commit the plan and snapshot change on its own first; then verify against the new definition and claim the task in a later commit".to_owned(),
                    ),
                };
                found.push(Problem {
                    task: Some(id.clone()),
                    file: Some(path.clone()),
                    line: Some(task.field_pos("status").line),
                    check: Check::Tampering,
                    criterion: Some(cid.clone()),
                    code: Some(FailureCode::F14),
                    reason,
                    fix,
                });
            }
        }
        self.out.problems.extend(found);
    }

    /// Runs again the proofs of done and complete tasks whose inputs the change touches (F10).
    /// A criterion is touched when a path the change adds, edits or deletes is in its input
    /// scope, before or after: the globs are matched against the changed paths only, and only
    /// the task files that hold a touched criterion are read in full.
    fn regressions(&mut self, changed: &BTreeSet<String>, gated: &BTreeSet<String>) {
        let rerun = self.strict.rerun;
        if rerun == Rerun::None {
            return;
        }
        let excluded = std::rc::Rc::clone(&self.excluded);
        let is_excluded = |p: &str| excluded.contains(p);
        let touched_now = self.new.content.subset(changed);
        let touched_before = self.old.as_ref().map(|o| o.content.subset(changed));
        // Every task-scope criterion of the definitions whose inputs the change touches, from
        // each plan version's input scopes (parsed once, and cached for pre-commit).
        let mut touched: BTreeSet<(String, String)> = BTreeSet::new();
        let common_dir = self.change.git.commondir().to_path_buf();
        // pre-commit trusts the cache as it finds it (it runs on every commit). pre-push (the
        // net for what got past pre-commit), pre-receive and audit read each plan version
        // themselves, once per process, and mend a cache that says otherwise: a cache on disk
        // is no proof.
        let trust_cache = matches!(self.change.stage, Stage::Commit);
        // Plans are told from other files only when their criteria may be touched: telling
        // them apart compiles the plan globs.
        for plan_path in self.new.plan_candidates() {
            let defs = self.new.definitions_path(&plan_path);
            let Some(entry) = self.new.content.get(&defs) else {
                continue;
            };
            // A change to no path its criteria reach touches none: they are not even read.
            if trust_cache
                && let Some(reach) = cache::reach(&common_dir, entry.oid)
                && !changed.iter().any(|p| reach.holds(p, rerun == Rerun::All))
            {
                continue;
            }
            if !self.new.is_plan(&plan_path) {
                continue;
            }
            let cached = if trust_cache {
                cache::load(&common_dir, entry.oid)
            } else {
                cache::parsed(entry.oid)
            };
            let inputs = if let Some(inputs) = cached {
                inputs
            } else {
                let parsed = self.new.parse_plan(&defs);
                let inputs: Vec<cache::Inputs> =
                    parsed.criteria.iter().map(cache::Inputs::of).collect();
                let agrees = cache::agrees(&common_dir, entry.oid, &inputs);
                let inputs = std::sync::Arc::new(inputs);
                // Only a plan that parses cleanly is cached; any other file for it is wrong.
                let clean = parsed.diagnostics.is_empty();
                let mended = if agrees == Some(true) {
                    Ok(())
                } else if clean {
                    cache::store(&common_dir, entry.oid, &inputs)
                } else {
                    cache::remove(&common_dir, entry.oid)
                };
                let file = cache::file(&common_dir, entry.oid);
                let mismatch = !trust_cache && agrees == Some(false);
                let what = if clean { "rewritten" } else { "removed" };
                match mended {
                    Ok(()) if mismatch => {
                        self.out.warnings.push(format!(
                            "{}: this cache did not match {defs} (where its criteria read): they were read from the plan itself and the file was {what}",
                            file.display(),
                        ));
                    }
                    Ok(()) => {}
                    Err(e) if mismatch => self.out.warnings.push(format!(
                        "{}: this cache did not match {defs} (where its criteria read) and cannot be {what}: {e}. pre-commit trusts it: delete the file",
                        file.display(),
                    )),
                    Err(e) => self.out.warnings.push(format!(
                        "{}: cannot keep the inputs of {defs} in the cache (the next commit parses it again): {e}",
                        file.display()
                    )),
                }
                cache::remember_parsed(entry.oid, std::sync::Arc::clone(&inputs));
                inputs
            };
            for c in inputs.iter().filter(|c| c.task_scope) {
                let runs = match c.runs {
                    cache::Runs::Local => true,
                    cache::Runs::Command => rerun == Rerun::All,
                    cache::Runs::Judge => false,
                };
                if !runs {
                    continue;
                }
                let hit = |content: &Content<'_>| {
                    crate::proof::spec_scope(&c.spec, content, &is_excluded)
                        .map(|scope| !scope.is_empty())
                };
                match hit(&touched_now) {
                    Err(e) => {
                        self.out.warnings.push(format!(
                            "{defs}: {}: its inputs cannot be matched, so it is not run again: {e}",
                            c.id
                        ));
                    }
                    Ok(now) => {
                        let before = touched_before
                            .as_ref()
                            .is_some_and(|b| hit(b).unwrap_or(false));
                        if now || before {
                            touched.insert((plan_path.clone(), c.id.clone()));
                        }
                    }
                }
            }
        }
        if touched.is_empty() {
            return;
        }
        let runner = Rerunner {
            git: self.change.git,
            content: self.new.content,
            config: &self.new.config,
            excluded: &is_excluded,
            cache: crate::proof::files::FileCache::default(),
        };
        let mut found = Vec::new();
        let mut warnings = Vec::new();
        let mut untrusted = Vec::new();
        let mut trusted: Option<bool> = None;
        // Only the task files that name a touched criterion are parsed: a commit touching one
        // criterion does not read every task's front matter.
        let tasks_dir = crate::paths::normalize(&self.new.config.tasks_dir);
        let mut ids = Vec::new();
        for e in self.new.content.under(&tasks_dir) {
            if !self.new.is_task(&e.path) || gated.contains(&stem(&e.path)) {
                continue;
            }
            match self.new.content.read(&e.path) {
                Ok(bytes) => {
                    if names_any(&bytes, touched.iter().map(|(_, cid)| cid)) {
                        ids.push(stem(&e.path));
                    }
                }
                Err(err) => found.push(unreadable_task(&e.path, &err)),
            }
        }
        for id in ids {
            let path = self.new.task_path(&id);
            let Some(task) = self.new.task(&path) else {
                continue;
            };
            let Some(meta) = task.meta.clone() else {
                continue;
            };
            let claimed = matches!(meta.status, Status::Done | Status::Complete);
            let plan_file = crate::paths::normalize(&meta.plan_file);
            if !claimed || !touched.iter().any(|(plan, _)| *plan == plan_file) {
                continue;
            }
            for c in self.definitions(&task, &meta) {
                if !touched.contains(&(plan_file.clone(), c.id.clone())) {
                    continue;
                }
                let command = c.kind().is_command();
                if command && !*trusted.get_or_insert_with(|| (self.change.trusted)(&self.new)) {
                    if self.change.stage.replay() {
                        warnings.push(format!(
                            "{id} {}: a command proof, not run here (commands are not allowed): its inputs changed and it was not proven again",
                            c.id
                        ));
                    } else {
                        untrusted.push(format!("{id} {}", c.id));
                    }
                    continue;
                }
                let relative = matches!(
                    &c.proof,
                    Proof::GitDiffContains { base: None, .. }
                        | Proof::LineCountDelta { base: None, .. }
                ) && meta.base.is_none();
                if relative {
                    // Its base is "HEAD when verified": a later commit has another HEAD, so
                    // running it again would judge a different diff.
                    warnings.push(format!(
                        "{id} {}: not run again: a git proof without a `base` (criterion or task) compares with HEAD, which moved since it was verified",
                        c.id
                    ));
                    continue;
                }
                let base = match self.base(&c, &meta) {
                    Ok(base) => base,
                    Err(e) => {
                        warnings.push(format!("{id} {}: not run again: {e}", c.id));
                        continue;
                    }
                };
                self.out.reran += 1;
                let verdict = if command {
                    match self
                        .change
                        .commands
                        .run(self.new.content, &self.new.config, &id, &c)
                    {
                        Ok(v) => v,
                        // On a replay the command was to run: one that cannot proves nothing,
                        // and is a problem rather than a pass.
                        Err(e) if self.change.stage.replay() => {
                            found.push(Problem {
                                task: Some(id.clone()),
                                file: Some(path.clone()),
                                line: None,
                                check: Check::Regression,
                                criterion: Some(c.id.clone()),
                                code: Some(FailureCode::F9),
                                reason: format!("{id} is {}, and its proof could not be run again on this commit: {e}", meta.status.name()),
                                fix: "make the proof runnable on the commit's own files, or ask the server's admin about its time limits".into(),
                            });
                            continue;
                        }
                        Err(e) => {
                            warnings
                                .push(format!("{id} {}: could not run the proof again: {e}", c.id));
                            continue;
                        }
                    }
                } else {
                    match runner.local(&c, base) {
                        Some(v) => v,
                        None => continue,
                    }
                };
                match verdict.outcome {
                    evidence::Outcome::Pass => {}
                    evidence::Outcome::Fail => found.push(Problem {
                        task: Some(id.clone()),
                        file: Some(path.clone()),
                        line: None,
                        check: Check::Regression,
                        criterion: Some(c.id.clone()),
                        code: Some(FailureCode::F10),
                        reason: format!("{} is {}, and its proof fails on this commit: {}", id, meta.status.name(), verdict.detail),
                        fix: format!("fix the change so {} passes again (`specproof verify --task {id} --criterion {}` shows it on the working tree)", c.id, c.id),
                    }),
                    evidence::Outcome::Inconclusive => warnings.push(format!(
                        "{id} {}: the proof ran again and was inconclusive: {}",
                        c.id, verdict.detail
                    )),
                }
            }
        }
        if !untrusted.is_empty() {
            found.push(Problem {
                task: None,
                file: None,
                line: None,
                check: Check::Trust,
                criterion: None,
                code: None,
                reason: format!(
                    "the change touches the inputs of command proofs ({}), and hooks run this repository's commands only after you approve them",
                    untrusted.join(", ")
                ),
                fix: "`specproof trust` (it shows the commands first), or set `rerun: file-proofs` in specproof.yml".into(),
            });
        }
        self.out.problems.extend(found);
        self.out.warnings.extend(warnings);
    }
}

/// Whether a task file's `bytes` name any of `ids` (a quick search before it is parsed; a
/// longer ID that starts with one is a false hit the parse sorts out).
fn names_any<'a>(bytes: &[u8], mut ids: impl Iterator<Item = &'a String>) -> bool {
    ids.any(|id| memchr::memmem::find(bytes, id.as_bytes()).is_some())
}

/// A task file the change holds that cannot be read (a missing object, in a partial clone).
fn unreadable_task(path: &str, err: &crate::content::ContentError) -> Problem {
    Problem {
        task: Some(stem(path)),
        file: Some(path.to_owned()),
        line: None,
        check: Check::Unreadable,
        criterion: None,
        code: Some(FailureCode::F8),
        reason: format!("cannot read {path}: {err}"),
        fix: "fetch the missing objects (`git fetch`), then try again".to_owned(),
    }
}

fn lifecycle(id: &str, path: &str, line: Option<usize>, reason: String, fix: String) -> Problem {
    Problem {
        task: Some(id.to_owned()),
        file: Some(path.to_owned()),
        line,
        check: Check::Lifecycle,
        criterion: None,
        code: None,
        reason,
        fix,
    }
}

/// (line, place, phrase, matched text, advice) for each rationalization phrase in the Self-Review
/// and Status Update.
fn rationalization_hits(
    task: &Task,
    phrases: &[String],
) -> Vec<(usize, String, String, String, String)> {
    // The phrases were checked when the config loaded; the defaults alone always compile.
    let scanner = crate::rationalize::Scanner::new(phrases);
    let defaults = crate::rationalize::Scanner::new(&[]);
    let mut out = Vec::new();
    for title in ["self-review", "status update"] {
        let Some(section) = task.section(title) else {
            continue;
        };
        let hits = scanner
            .find(&section.body)
            .or_else(|_| defaults.find(&section.body))
            .unwrap_or_default();
        for hit in hits {
            out.push((
                section.line + hit.line,
                format!("### {}", section.title),
                hit.phrase.clone(),
                hit.matched.clone(),
                crate::rationalize::advice(&hit.phrase),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gates_of_a_state_include_every_earlier_one() {
        assert_eq!(gates_of(Status::Created), 0);
        assert_eq!(gates_of(Status::Ready), 1);
        assert_eq!(gates_of(Status::InProgress), 2);
        assert_eq!(gates_of(Status::Done), 3);
        assert_eq!(gates_of(Status::Complete), 4);
        assert_eq!(gates_of(Status::Blocked), 0);
    }

    #[test]
    fn stem_drops_folder_and_extension() {
        assert_eq!(
            super::super::view::stem(".specproof/tasks/T-001.md"),
            "T-001"
        );
    }
}
