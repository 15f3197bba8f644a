//! Plan snapshots and drift (SPEC §8).
//!
//! A plan's snapshot, `.specproof/snapshots/<plan path>`, is the definition proofs run from;
//! until it exists the plan stands in for it. [`take`] copies a plan there and appends one line
//! to `.specproof/plan-changes.log`; [`drift`] compares every plan with its snapshot.
//!
//! The log line is tab-separated, one per snapshot that changed something:
//! `<time RFC 3339 UTC>\t<plan path>\t<old sha256 or ->\t<new sha256>\t<changed IDs, comma-separated, or ->`,
//! hashes written `sha256:<hex>` over the snapshot file's bytes.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::config::Config;
use crate::criterion::{Criterion, Ctx};
use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule};
use crate::digest;
use crate::paths::{self, PathProblem};
use crate::plan::Plan;
use crate::state;
use crate::workspace::{self, Reader};

pub use crate::lint::SNAPSHOT_DIR;

/// The append-only log of snapshot updates (SPEC §1).
pub const CHANGES_LOG: &str = ".specproof/plan-changes.log";

/// Why a snapshot could not be taken or compared.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// The path is not one of the configured plan files.
    #[error(
        "{plan} is not a plan file: plans are the files matching {globs:?} (`plans` in specproof.yml); name one of them, or widen `plans`"
    )]
    NotAPlan { plan: String, globs: Vec<String> },
    /// The plan has problems (parse errors, bad criteria): it is not copied.
    #[error(
        "{plan} has {} problem{}; nothing was snapshotted: fix {} (`specproof lint {plan}`) and run it again",
        .diagnostics.len(),
        if .diagnostics.len() == 1 { "" } else { "s" },
        if .diagnostics.len() == 1 { "it" } else { "them" }
    )]
    Invalid {
        plan: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// The plan path cannot be written on one line of the log.
    #[error(
        "{plan:?}: the path holds a tab, a line break or another control character, which {CHANGES_LOG} cannot record: rename the plan"
    )]
    BadName { plan: String },
    /// A snapshot that is a symlink: it would follow whatever it points at (the plan itself,
    /// and never drift).
    #[error(
        "{path} is a symlink; a snapshot must be a regular file: run `specproof snapshot {plan}` to replace it with a copy of the plan"
    )]
    Symlink { path: String, plan: String },
    /// A path specproof would read or write leads out of the repository.
    #[error("{path}: path {problem}: remove the link")]
    UnsafePath { path: String, problem: PathProblem },
    #[error("cannot read {}: {cause}", .path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {}: {cause}; the snapshot and {CHANGES_LOG} are as they were", .path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// What [`take`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotOutcome {
    /// The plan, repository-relative.
    pub plan: String,
    /// Its snapshot, repository-relative (see [`snapshot_path`]).
    pub snapshot: String,
    /// True when the snapshot was written (and a log line appended); false when it already held
    /// the plan's bytes, and nothing was touched.
    pub written: bool,
    /// `sha256:<hex>` of the previous snapshot; None when there was none.
    pub old: Option<String>,
    /// `sha256:<hex>` of the snapshot now (the plan's bytes).
    pub new: String,
    /// Criterion IDs added, removed or redefined (proof, args, inputs, scope, severity,
    /// description, timeout, serial): every ID of the plan for a first snapshot; empty when
    /// unchanged or when only text outside the criteria changed.
    pub changed: Vec<String>,
}

/// The plan a snapshot at repository path `path` stands for: `path` without
/// `.specproof/snapshots/`; None for any other path.
#[must_use]
pub fn plan_of(path: &str) -> Option<&str> {
    path.strip_prefix(SNAPSHOT_DIR)?.strip_prefix('/')
}

/// Whether the text of [`CHANGES_LOG`] `log` has a line recording snapshot `sha256` of `plan`.
#[must_use]
pub fn records(log: &str, plan: &str, sha256: &str) -> bool {
    log.lines().any(|line| {
        let fields: Vec<&str> = line.split('\t').collect();
        fields.get(1) == Some(&plan) && fields.get(3) == Some(&sha256)
    })
}

/// The snapshot of the plan at repository path `plan_rel`: `.specproof/snapshots/<plan_rel>`.
#[must_use]
pub fn snapshot_path(plan_rel: &str) -> String {
    format!("{SNAPSHOT_DIR}/{}", paths::normalize(plan_rel))
}

/// Copies the plan at repository path `plan_rel` (the working tree's file) byte for byte to its
/// snapshot, atomically, and appends a line to [`CHANGES_LOG`]. A snapshot that already holds the
/// plan's bytes, with its line in the log, is left alone (`written: false`, no log line), unless
/// it is a symlink, which is replaced by a copy. Takes no lock: the caller serialises runs if it needs to.
///
/// # Errors
/// [`SnapshotError::NotAPlan`] when `plan_rel` is not a configured plan file,
/// [`SnapshotError::Invalid`] when it has problems (nothing is written), and read and write
/// errors naming the file (the old snapshot and log are then intact).
pub fn take(root: &Path, plan_rel: &str) -> Result<SnapshotOutcome, SnapshotError> {
    let plan_rel = paths::normalize(plan_rel);
    if plan_rel.chars().any(char::is_control) {
        return Err(SnapshotError::BadName { plan: plan_rel });
    }
    let config = Config::load(root).unwrap_or_else(|_| Config::salvage(root));
    if !workspace::plan_paths(root, &config, &mut Vec::new()).contains(&plan_rel) {
        return Err(SnapshotError::NotAPlan {
            plan: plan_rel,
            globs: config.plans,
        });
    }
    let plan_file = root.join(&plan_rel);
    let bytes = read(&plan_file)?;
    let ctx = Ctx {
        root: Some(root),
        quick_regex: false,
    };
    let new_plan = parse_checked(&plan_rel, &bytes, config.max_file_size.0, ctx)?;

    let snapshot_rel = snapshot_path(&plan_rel);
    for rel in [snapshot_rel.as_str(), CHANGES_LOG] {
        paths::check(Some(root), rel).map_err(|problem| SnapshotError::UnsafePath {
            path: rel.to_owned(),
            problem,
        })?;
    }
    let snapshot_file = root.join(&snapshot_rel);
    let old_bytes = if snapshot_file.is_file() {
        Some(read(&snapshot_file)?)
    } else {
        None
    };
    let new = digest::sha256(&bytes);
    let old = old_bytes.as_deref().map(digest::sha256);
    let mut outcome = SnapshotOutcome {
        plan: plan_rel.clone(),
        snapshot: snapshot_rel,
        written: false,
        old,
        new,
        changed: Vec::new(),
    };
    // A snapshot that is a symlink is replaced by a copy even when it reads the same.
    let is_link = snapshot_file
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    if old_bytes.as_deref() == Some(bytes.as_slice()) && !is_link && logged(root, &outcome) {
        return Ok(outcome);
    }
    outcome.changed = match &old_bytes {
        Some(old_bytes) => changed_ids(&Plan::parse(&outcome.snapshot, old_bytes, ctx), &new_plan),
        None => unique_ids(&new_plan),
    };

    // The new snapshot is made whole first, then logged, then renamed into place: every snapshot
    // that ever stood is in the log.
    let dir = snapshot_file.parent().unwrap_or(root);
    let write_err = |cause| SnapshotError::Write {
        path: snapshot_file.clone(),
        cause,
    };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    if let Ok(meta) = std::fs::metadata(&plan_file) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(write_err)?;
    }
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(write_err)?;
    append_log(root, &log_line(&state::now(), &outcome))?;
    tmp.persist(&snapshot_file)
        .map_err(|e| SnapshotError::Write {
            path: snapshot_file.clone(),
            cause: e.error,
        })?;
    outcome.written = true;
    Ok(outcome)
}

/// Whether [`CHANGES_LOG`] records the snapshot `o.new` of `o.plan` (a snapshot copied by hand
/// is not, and the hooks reject it until `take` logs it).
fn logged(root: &Path, o: &SnapshotOutcome) -> bool {
    std::fs::read(root.join(CHANGES_LOG))
        .is_ok_and(|log| records(&String::from_utf8_lossy(&log), &o.plan, &o.new))
}

/// One line of [`CHANGES_LOG`], without the line break.
fn log_line(time: &str, o: &SnapshotOutcome) -> String {
    let changed = if o.changed.is_empty() {
        "-".to_owned()
    } else {
        o.changed.join(",")
    };
    format!(
        "{time}\t{}\t{}\t{}\t{changed}",
        o.plan,
        o.old.as_deref().unwrap_or("-"),
        o.new
    )
}

fn append_log(root: &Path, line: &str) -> Result<(), SnapshotError> {
    let path = root.join(CHANGES_LOG);
    let err = |cause| SnapshotError::Write {
        path: path.clone(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .open(&path)
        .map_err(err)?;
    // A log whose last line was cut short (or edited by hand) keeps its lines apart.
    let len = file.metadata().map_err(err)?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.seek(std::io::SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(err)?;
    }
    let start = if last[0] == b'\n' { "" } else { "\n" };
    // One write per line: concurrent appends do not interleave.
    file.write_all(format!("{start}{line}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(err)
}

fn read(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    std::fs::read(path).map_err(|cause| SnapshotError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

/// Parses a plan that is about to become a snapshot; any problem refuses it.
fn parse_checked(
    rel: &str,
    bytes: &[u8],
    max_size: u64,
    ctx: Ctx<'_>,
) -> Result<Plan, SnapshotError> {
    let too_big = u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_size;
    if too_big {
        return Err(SnapshotError::Invalid {
            plan: rel.to_owned(),
            diagnostics: vec![Diagnostic::new(
                rel,
                Pos::line(1),
                FailureCode::F8,
                Rule::Unreadable,
                format!(
                    "is {} bytes, over max_file_size ({max_size} bytes): split it, or raise max_file_size in specproof.yml",
                    bytes.len()
                ),
            )],
        });
    }
    let plan = Plan::parse(rel, bytes, ctx);
    if plan.diagnostics.is_empty() {
        Ok(plan)
    } else {
        Err(SnapshotError::Invalid {
            plan: rel.to_owned(),
            diagnostics: plan.diagnostics,
        })
    }
}

fn unique_ids(plan: &Plan) -> Vec<String> {
    let mut seen = HashSet::new();
    plan.ids
        .iter()
        .filter(|(id, _)| seen.insert(id.as_str()))
        .map(|(id, _)| id.clone())
        .collect()
}

/// The criterion IDs whose definition differs between `old` and `new`: added, removed, or
/// changed in any field [`Criterion::differences`] compares (description, proof, args, scope,
/// severity, inputs, timeout, serial; args by meaning). An ID that does not validate on either
/// side counts as changed. Order: `new`'s IDs as they appear, then the removed ones.
#[must_use]
pub fn changed_ids(old: &Plan, new: &Plan) -> Vec<String> {
    let index = |plan: &Plan| -> HashMap<String, Criterion> {
        let mut map = HashMap::new();
        for c in &plan.criteria {
            map.entry(c.id.clone()).or_insert_with(|| c.clone());
        }
        map
    };
    let (before, after) = (index(old), index(new));
    let mut seen = HashSet::new();
    new.ids
        .iter()
        .chain(&old.ids)
        .map(|(id, _)| id.as_str())
        .filter(|id| seen.insert(*id))
        .filter(|id| match (before.get(*id), after.get(*id)) {
            (Some(a), Some(b)) => !a.differences(b).is_empty(),
            _ => true,
        })
        .map(str::to_owned)
        .collect()
}

/// How a plan stands against its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    /// The snapshot holds the plan's bytes.
    Same,
    /// The plan differs from its snapshot (F14).
    Drifted,
    /// No snapshot yet: the plan stands in for it, so there is no drift.
    NoSnapshot,
}

/// One plan compared with its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDrift {
    /// The plan, repository-relative.
    pub plan: String,
    /// Its snapshot, repository-relative, when there is one.
    pub snapshot: Option<String>,
    pub state: DriftState,
    /// The criterion IDs that differ ([`changed_ids`] from snapshot to plan); empty unless
    /// drifted, and also empty when only text outside the criteria differs.
    pub changed: Vec<String>,
    /// `sha256:<hex>` of the plan's bytes.
    pub plan_sha256: String,
    /// `sha256:<hex>` of the snapshot's bytes, when there is one.
    pub snapshot_sha256: Option<String>,
}

impl PlanDrift {
    /// True when the plan differs from its snapshot (F14).
    #[must_use]
    pub fn drifted(&self) -> bool {
        self.state == DriftState::Drifted
    }
}

/// Compares the bytes of the plan at `plan_rel` with those of its snapshot (None: there is none).
/// Works on any content: the working tree, the index or a commit's tree.
#[must_use]
pub fn compare(plan_rel: &str, plan: &[u8], snapshot: Option<&[u8]>) -> PlanDrift {
    let snapshot_rel = snapshot_path(plan_rel);
    let mut out = PlanDrift {
        plan: plan_rel.to_owned(),
        snapshot: snapshot.is_some().then(|| snapshot_rel.clone()),
        state: DriftState::NoSnapshot,
        changed: Vec::new(),
        plan_sha256: digest::sha256(plan),
        snapshot_sha256: snapshot.map(digest::sha256),
    };
    let Some(snapshot) = snapshot else {
        return out;
    };
    if snapshot == plan {
        out.state = DriftState::Same;
        return out;
    }
    out.state = DriftState::Drifted;
    let ctx = Ctx {
        root: None,
        quick_regex: true,
    };
    out.changed = changed_ids(
        &Plan::parse(&snapshot_rel, snapshot, ctx),
        &Plan::parse(plan_rel, plan, ctx),
    );
    out
}

/// Every configured plan of the working tree at `root` compared with its snapshot, sorted by
/// plan path. A snapshot is a regular file at [`snapshot_path`].
///
/// # Errors
/// When a plan or snapshot cannot be read, or a snapshot path leads out of the repository.
pub fn drift(root: &Path, config: &Config) -> Result<Vec<PlanDrift>, SnapshotError> {
    let mut out = Vec::new();
    for plan_rel in workspace::plan_paths(root, config, &mut Vec::new()) {
        let plan = read(&root.join(&plan_rel))?;
        let snapshot_rel = snapshot_path(&plan_rel);
        paths::check(Some(root), &snapshot_rel).map_err(|problem| SnapshotError::UnsafePath {
            path: snapshot_rel.clone(),
            problem,
        })?;
        let snapshot_file = root.join(&snapshot_rel);
        if snapshot_file
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(SnapshotError::Symlink {
                path: snapshot_rel,
                plan: plan_rel,
            });
        }
        let snapshot = if snapshot_file.is_file() {
            Some(read(&snapshot_file)?)
        } else {
            None
        };
        out.push(compare(&plan_rel, &plan, snapshot.as_deref()));
    }
    Ok(out)
}

/// The definitions that run, read from the working tree: for every configured plan, its snapshot
/// when it has one (a regular file, not through a link out of the repository), else the plan.
/// The returned plan's `path` is the file it was read from. Problems are in each plan's
/// `diagnostics`; criteria that did not validate are left out of `criteria`, as they never run.
#[must_use]
pub fn definitions(root: &Path, config: &Config) -> Vec<Plan> {
    let plans = Reader {
        root,
        max_size: config.max_file_size.0,
        quick_regex: true,
    };
    let snapshots = Reader {
        max_size: u64::MAX,
        ..plans
    };
    workspace::plan_paths(root, config, &mut Vec::new())
        .iter()
        .map(|plan_rel| {
            let snapshot_rel = snapshot_path(plan_rel);
            if root.join(&snapshot_rel).is_file() && paths::check(Some(root), &snapshot_rel).is_ok()
            {
                snapshots.plan(&snapshot_rel)
            } else {
                plans.plan(plan_rel)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "# P\n\n## A\n\n```criteria\n- id: A-1\n  description: one\n  proof: file_exists\n  args: { path: a }\n- id: A-2\n  description: two\n  proof: test_passes\n  args: { command: \"true\" }\n```\n";

    fn parse(src: &str) -> Plan {
        Plan::parse("plans/p.md", src.as_bytes(), Ctx::default())
    }

    #[test]
    fn changed_ids_are_added_removed_and_redefined_ones() {
        let old = parse(PLAN);
        assert!(changed_ids(&old, &old).is_empty());
        let reworded = PLAN.replace("description: one", "description: first");
        assert_eq!(changed_ids(&old, &parse(&reworded)), ["A-1"]);
        let written_default = PLAN.replace("{ path: a }", "{ path: a, min: 1 }");
        assert!(
            changed_ids(&old, &parse(&written_default)).is_empty(),
            "args compare by meaning"
        );
        let prose = PLAN.replace("## A\n", "## A\n\nMore words.\n");
        assert!(changed_ids(&old, &parse(&prose)).is_empty());
        let added = PLAN.replace(
            "```\n",
            "- id: A-0\n  description: zero\n  proof: file_exists\n  args: { path: z }\n```\n",
        );
        assert_eq!(changed_ids(&old, &parse(&added)), ["A-0"]);
        assert_eq!(changed_ids(&parse(&added), &old), ["A-0"], "removed");
        let severity = PLAN.replace("args: { path: a }", "args: { path: a }\n  severity: low");
        assert_eq!(changed_ids(&old, &parse(&severity)), ["A-1"]);
    }

    #[test]
    fn compare_tells_same_drifted_and_no_snapshot() {
        let same = compare("plans/p.md", PLAN.as_bytes(), Some(PLAN.as_bytes()));
        assert_eq!(same.state, DriftState::Same);
        assert_eq!(
            same.snapshot.as_deref(),
            Some(".specproof/snapshots/plans/p.md")
        );
        let none = compare("plans/p.md", PLAN.as_bytes(), None);
        assert_eq!(none.state, DriftState::NoSnapshot);
        assert!(!none.drifted());
        let changed = PLAN.replace("\"true\"", "\"false\"");
        let drifted = compare("plans/p.md", changed.as_bytes(), Some(PLAN.as_bytes()));
        assert!(drifted.drifted());
        assert_eq!(drifted.changed, ["A-2"]);
        assert_ne!(
            drifted.plan_sha256,
            drifted.snapshot_sha256.unwrap_or_default()
        );
    }

    #[test]
    fn the_log_line_is_tab_separated_with_dashes_for_nothing() {
        let o = SnapshotOutcome {
            plan: "plans/a b.md".into(),
            snapshot: snapshot_path("./plans/a b.md"),
            written: true,
            old: None,
            new: "sha256:00".into(),
            changed: vec!["A-1".into(), "A-2".into()],
        };
        assert_eq!(o.snapshot, ".specproof/snapshots/plans/a b.md");
        assert_eq!(
            log_line("2026-01-02T03:04:05Z", &o),
            "2026-01-02T03:04:05Z\tplans/a b.md\t-\tsha256:00\tA-1,A-2"
        );
        let o = SnapshotOutcome {
            old: Some("sha256:11".into()),
            changed: Vec::new(),
            ..o
        };
        assert_eq!(
            log_line("t", &o),
            "t\tplans/a b.md\tsha256:11\tsha256:00\t-"
        );
    }
}
