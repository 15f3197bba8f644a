//! `specproof hook pre-receive`: the server's gate. Every commit a push adds to any ref is
//! replayed against its first parent, with the server's own policy (SPEC §7.2): the pushed
//! specproof.yml never loosens it, evidence signed on another machine is checked by its facts
//! and by running the proofs again, and overrides pass only where the server allows them.
//!
//! git runs pre-receive with the pushed objects in a quarantine folder, reachable only through
//! `GIT_OBJECT_DIRECTORY` / `GIT_ALTERNATE_OBJECT_DIRECTORIES`: the repository is opened from
//! the environment, and nothing here writes a ref or an object.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};

use crate::config::Rerun;
use crate::exit::ExitStatus;
use crate::gate::replay::{Judge, OVERRIDE_TRAILER};
use crate::gate::{self, ExportRunner, Stage};
use crate::printer::{Printer, styles};

use super::pre_push::is_zero;
use super::{HookEnv, output};

/// The server's policy, from the repository's git config (never from pushed files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `specproof.rerun`: which proofs run again (default file-proofs).
    pub rerun: Rerun,
    /// `specproof.allowCommands`: command proofs may run (default false).
    pub allow_commands: bool,
    /// `specproof.commandTimeout`: the longest one command proof may run (default 600 s).
    pub command_timeout: Duration,
    /// `specproof.allowOverride`: commits carrying the override trailer may pass (default false).
    pub allow_override: bool,
    /// `specproof.pushTimeout`: the time one push may take to check (default 300 s).
    pub push_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rerun: Rerun::FileProofs,
            allow_commands: false,
            command_timeout: Duration::from_mins(10),
            allow_override: false,
            push_timeout: Duration::from_mins(5),
        }
    }
}

impl Policy {
    /// Reads the `specproof.*` keys of `config`.
    ///
    /// # Errors
    /// A message naming the key whose value cannot be used, and what it may be.
    pub fn read(config: &git2::Config) -> Result<Self> {
        let mut policy = Self::default();
        let text = |key: &str| -> Result<Option<String>> {
            match config.get_string(key) {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
                Err(e) => Err(anyhow!("cannot read git config {key}: {}", e.message())),
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match config.get_bool(key) {
                Ok(v) => Ok(v),
                Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(default),
                Err(_) => Err(anyhow!(
                    "git config {key} is {:?}, which is not a boolean: set it to true or false (`git config {key} false`)",
                    text(key).ok().flatten().unwrap_or_default()
                )),
            }
        };
        let seconds = |key: &str, default: Duration| -> Result<Duration> {
            match text(key)? {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                    _ => Err(anyhow!(
                        "git config {key} is {v:?}: it must be a whole number of seconds above 0 (`git config {key} {}`)",
                        default.as_secs()
                    )),
                },
            }
        };
        if let Some(v) = text("specproof.rerun")? {
            policy.rerun = match v.trim() {
                "none" => Rerun::None,
                "file-proofs" => Rerun::FileProofs,
                "all" => Rerun::All,
                other => bail!(
                    "git config specproof.rerun is {other:?}: it must be none, file-proofs or all (`git config specproof.rerun file-proofs`)"
                ),
            };
        }
        policy.allow_commands = flag("specproof.allowCommands", false)?;
        policy.allow_override = flag("specproof.allowOverride", false)?;
        policy.command_timeout = seconds("specproof.commandTimeout", policy.command_timeout)?;
        policy.push_timeout = seconds("specproof.pushTimeout", policy.push_timeout)?;
        Ok(policy)
    }

    /// Whether command proofs run again here.
    #[must_use]
    pub fn runs_commands(&self) -> bool {
        self.allow_commands && self.rerun == Rerun::All
    }
}

/// One line git gives pre-receive: `<old> <new> <ref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

/// Parses git's stdin lines.
///
/// # Errors
/// A message naming the line that is not `<old> <new> <ref>`.
pub fn parse_lines(text: &str) -> Result<Vec<RefUpdate>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [old, new, name] = fields.as_slice() else {
            return Err(format!(
                "line {} of what git sent is not `<old> <new> <ref>`: {line:?}",
                n + 1
            ));
        };
        out.push(RefUpdate {
            old: (*old).to_owned(),
            new: (*new).to_owned(),
            name: (*name).to_owned(),
        });
    }
    Ok(out)
}

pub(super) fn run(stdin: &mut dyn Read, env: &HookEnv, printer: &Printer) -> Result<ExitStatus> {
    let started = Instant::now();
    let git = super::open_repository(env)?;
    let policy = Policy::read(
        &git.config()
            .context("cannot read the server's git config")?,
    )?;
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .context("cannot read the ref lines git sends on stdin")?;
    let updates = parse_lines(&text).map_err(|e| anyhow!(e))?;
    let commits = pushed_commits(&git, &updates)?;
    check(&git, &updates, &commits, &policy, started, printer)
}

/// Every commit the push adds, oldest first, each once: for each ref it updates or creates,
/// the commits reachable from the new value and from no ref the repository had before the
/// push. Deletions add nothing; an annotated tag counts as the commit it names, and a ref to
/// a tree or blob adds no commit.
fn pushed_commits(git: &Repository, updates: &[RefUpdate]) -> Result<Vec<Oid>> {
    // Refs are not updated until every pre-receive check passes: these are the values before
    // the push.
    let mut known: Vec<Oid> = Vec::new();
    for reference in git
        .references()
        .context("cannot list the repository's refs")?
    {
        let reference = reference.context("cannot read a ref of the repository")?;
        if let Ok(commit) = reference.peel_to_commit() {
            known.push(commit.id());
        }
    }
    let mut commits = Vec::new();
    let mut seen = HashSet::new();
    for update in updates {
        if is_zero(&update.new) {
            continue;
        }
        let new = Oid::from_str(&update.new)
            .with_context(|| format!("{} is not an object id (ref {})", update.new, update.name))?;
        let object = git
            .find_object(new, None)
            .with_context(|| format!("cannot read {} pushed to {}", update.new, update.name))?;
        let Ok(tip) = object.peel_to_commit() else {
            continue;
        };
        let mut hide = known.clone();
        if !is_zero(&update.old)
            && let Ok(old) = Oid::from_str(&update.old)
        {
            hide.push(old);
        }
        for oid in gate::replay::new_commits(git, tip.id(), &hide)? {
            if seen.insert(oid) {
                commits.push(oid);
            }
        }
    }
    Ok(commits)
}

/// How a ref moves, when its new value is not reached from the old one commit by commit.
#[derive(Debug, Clone)]
struct Jump {
    name: String,
    old: Oid,
    new: Oid,
    /// The new value does not descend from the old one at all: a force push.
    forced: bool,
}

/// The updates whose old value is not on the new value's first-parent chain: a force push, or
/// a merge whose first parent is some older commit (`git merge -s ours` from before the ref's
/// tip). Each new commit is judged against its first parent, and along a first-parent chain
/// those steps are the whole change; across a jump they are not, so the jump itself is judged
/// too, as one change from the old value to the new one.
fn jumps(git: &Repository, updates: &[RefUpdate], new: &HashSet<Oid>) -> Vec<Jump> {
    let mut out = Vec::new();
    for u in updates {
        let (Some(old), Some(tip)) = (commit_of(git, &u.old), commit_of(git, &u.new)) else {
            continue;
        };
        if old == tip {
            continue;
        }
        if !gate::replay::first_parents_reach(git, tip, old, new) {
            out.push(Jump {
                name: u.name.clone(),
                old,
                new: tip,
                forced: !git.graph_descendant_of(tip, old).unwrap_or(false),
            });
        }
    }
    out
}

/// The commit an oid of git's lines names (tags peeled), None for zeros and non-commits.
fn commit_of(git: &Repository, oid: &str) -> Option<Oid> {
    (!is_zero(oid))
        .then(|| Oid::from_str(oid).ok())
        .flatten()
        .and_then(|o| git.find_object(o, None).ok())
        .and_then(|o| o.peel_to_commit().ok())
        .map(|c| c.id())
}

/// Ref deletions that take a complete task away: the deleted ref holds a complete task, and
/// the repository's default branch (where HEAD points), as it stands before this push and
/// untouched by it, does not hold that task complete with the same task file. Deleting the
/// default branch itself while it holds a complete task is refused, and so is any deletion
/// that relies on a ref the same push creates or moves (git may still fail to update it).
fn deletions(git: &Repository, updates: &[RefUpdate]) -> Result<Vec<(String, Oid, Vec<String>)>> {
    let deleted: Vec<(&str, Oid)> = updates
        .iter()
        .filter(|u| is_zero(&u.new))
        .filter_map(|u| commit_of(git, &u.old).map(|o| (u.name.as_str(), o)))
        .collect();
    if deleted.is_empty() {
        return Ok(Vec::new());
    }
    let keeper = git
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned))
        .filter(|name| !updates.iter().any(|u| &u.name == name))
        .and_then(|name| git.find_reference(&name).ok())
        .and_then(|r| r.peel_to_commit().ok())
        .map(|c| c.id());
    let held = match keeper {
        Some(tip) => gate::replay::complete_task_files(git, tip)?,
        None => std::collections::BTreeMap::new(),
    };
    let mut out = Vec::new();
    for (name, old) in deleted {
        let lost: Vec<String> = gate::replay::complete_task_files(git, old)?
            .into_iter()
            .filter(|(id, blob)| held.get(id) != Some(blob))
            .map(|(id, _)| id)
            .collect();
        if !lost.is_empty() {
            out.push((name.to_owned(), old, lost));
        }
    }
    Ok(out)
}

/// One thing the push is judged on.
enum Step<'a> {
    /// A new commit, against its first parent.
    Commit(Oid),
    /// A ref's jump, from its old value to its new one.
    Jump(&'a Jump),
}

fn check(
    git: &Repository,
    updates: &[RefUpdate],
    commits: &[Oid],
    policy: &Policy,
    started: Instant,
    printer: &Printer,
) -> Result<ExitStatus> {
    let new: HashSet<Oid> = commits.iter().copied().collect();
    let jumps = jumps(git, updates, &new);
    let deadline = started + policy.push_timeout;
    let allow = policy.runs_commands();
    let trusted = move |_: &gate::view::View<'_, '_>| allow;
    let max = policy.command_timeout;
    let commands =
        move || Box::new(ExportRunner::limited(max, deadline)) as Box<dyn gate::CommandRunner>;
    let judge = Judge {
        git,
        stage: Stage::Replay {
            rerun: policy.rerun,
        },
        key: None,
        trusted: &trusted,
        commands: &commands,
        fetched: &Vec::new,
        judging: &|_| false,
    };
    let mut rejected = 0usize;
    let mut records = Vec::new();
    let mut report = String::new();
    let mut out_of_time = None;
    let steps: Vec<Step<'_>> = commits
        .iter()
        .map(|&oid| Step::Commit(oid))
        .chain(jumps.iter().map(Step::Jump))
        .collect();
    for (n, step) in steps.iter().enumerate() {
        if Instant::now() > deadline {
            out_of_time = Some(n);
            break;
        }
        let (judged, subject) = match step {
            Step::Commit(oid) => {
                let judged = judge.commit(*oid)?;
                let subject = format!("commit {} \"{}\"", judged.short(), judged.subject);
                (judged, subject)
            }
            Step::Jump(jump) => {
                let judged = judge.jump(jump.old, jump.new)?;
                let how = if jump.forced {
                    "force-pushes"
                } else {
                    "moves, by a merge whose first parent is not its old value,"
                };
                let subject = format!(
                    "{} {how} {} from {}",
                    judged.short(),
                    jump.name,
                    &jump.old.to_string()[..10]
                );
                (judged, subject)
            }
        };
        let oid = judged.oid;
        let outcome = &judged.outcome;
        let short = judged.short();
        for w in &outcome.warnings {
            super::say(
                printer,
                format!(
                    "{} {short} {w}",
                    printer.paint_err(&styles::warning(), "specproof warning:")
                ),
            );
        }
        let problems = output::render(&outcome.problems, printer);
        let record_of = |event: &str, reason: Option<&str>| {
            serde_json::json!({
                "event": event,
                "hook": "pre-receive",
                "at": crate::state::now(),
                "commit": oid.to_string(),
                "reason": reason,
                "problems": output::to_json(&outcome.problems),
            })
        };
        match &judged.override_reason {
            Some(reason) if policy.allow_override => {
                // Allowed, and on the record whether or not the gates found anything.
                super::say(
                    printer,
                    format!(
                        "{} {subject} carries `{OVERRIDE_TRAILER}: {reason}`, and this server allows overrides: {}, on the record{}",
                        printer.paint_err(&styles::warning(), "specproof:"),
                        if outcome.ok() {
                            "it passes"
                        } else {
                            "its problems pass as warnings"
                        },
                        if outcome.ok() {
                            String::new()
                        } else {
                            format!(":\n{problems}")
                        },
                    ),
                );
                records.push(record_of("override", Some(reason)));
            }
            // A jump is judged on its problems only: the trailer is its tip commit's, which
            // was judged as a commit.
            Some(_) if matches!(step, Step::Jump(_)) && outcome.ok() => {}
            Some(reason) => {
                rejected += 1;
                let _ = write!(
                    report,
                    "  {subject}:\n  {} it carries `{OVERRIDE_TRAILER}: {reason}`, and this server does not accept overrides (git config specproof.allowOverride is not true)\n{problems}",
                    printer.paint_err(&styles::error(), "✗"),
                );
                records.push(record_of("rejected", Some(reason)));
            }
            None if outcome.ok() => {}
            None => {
                rejected += 1;
                let _ = write!(report, "  {subject}:\n{problems}");
                records.push(record_of("rejected", None));
            }
        }
    }
    for (name, old, lost) in deletions(git, updates)? {
        rejected += 1;
        let _ = writeln!(
            report,
            "  deleting {name} (at {}):\n  {} [lifecycle] it holds complete {} {} that the default branch (where HEAD points) does not hold, unchanged, before this push: a complete task is never taken away\n      fix: keep {name}, or first merge it into the default branch and push that, then delete it",
            &old.to_string()[..10],
            printer.paint_err(&styles::error(), "✗"),
            if lost.len() == 1 { "task" } else { "tasks" },
            lost.join(", "),
        );
        records.push(serde_json::json!({
            "event": "rejected",
            "hook": "pre-receive",
            "at": crate::state::now(),
            "ref": name,
            "commit": old.to_string(),
            "reason": format!("deletes complete tasks {}", lost.join(", ")),
        }));
    }
    if let Some(done) = out_of_time {
        rejected += 1;
        let _ = writeln!(
            report,
            "  {} checking the push takes longer than this server allows (git config specproof.pushTimeout = {} s): {done} of {} checks were done when the time ran out\n      fix: push fewer commits at a time, or ask the server's admin to raise specproof.pushTimeout",
            printer.paint_err(&styles::error(), "✗"),
            policy.push_timeout.as_secs(),
            steps.len(),
        );
        records.push(serde_json::json!({
            "event": "rejected",
            "hook": "pre-receive",
            "at": crate::state::now(),
            "reason": "specproof.pushTimeout",
        }));
    }
    super::record(git, printer, &records);
    if rejected == 0 {
        return Ok(ExitStatus::Success);
    }
    let what = if commits.len() == 1 {
        "1 new commit".to_owned()
    } else {
        format!("{} new commits", commits.len())
    };
    super::say(printer, format!(
        "{} push rejected: {rejected} failing {} (the push adds {what})\n{report}\n  {}",
        printer.paint_err(&styles::error(), "specproof:"),
        if rejected == 1 { "check" } else { "checks" },
        printer.paint_err(
            &styles::hint(),
            "No ref was updated. Fix the commits (for example `git commit --amend`, or `git rebase -i` to edit an older one) and push again."
        ),
    ));
    Ok(ExitStatus::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_lines_parse_and_bad_ones_are_named() {
        let z = "0".repeat(40);
        let lines = parse_lines(&format!(
            "{z} abc refs/heads/main\n\nabc {z} refs/tags/v1\n"
        ))
        .expect("parses");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].name, "refs/heads/main");
        assert!(is_zero(&lines[0].old) && is_zero(&lines[1].new));
        let err = parse_lines("a b\n").expect_err("two fields");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn the_policy_is_read_from_git_config_with_safe_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        let mut config = git2::Config::open(&path).expect("config");
        assert_eq!(Policy::read(&config).expect("defaults"), Policy::default());
        assert!(!Policy::default().runs_commands());
        config.set_str("specproof.rerun", "all").expect("set");
        config
            .set_str("specproof.allowCommands", "yes")
            .expect("set");
        config
            .set_str("specproof.commandTimeout", "30")
            .expect("set");
        config
            .set_bool("specproof.allowOverride", true)
            .expect("set");
        let policy = Policy::read(&config).expect("reads");
        assert_eq!(policy.rerun, Rerun::All);
        assert!(policy.allow_commands && policy.allow_override && policy.runs_commands());
        assert_eq!(policy.command_timeout, Duration::from_secs(30));
        config
            .set_str("specproof.rerun", "everything")
            .expect("set");
        let err = Policy::read(&config).expect_err("bad rerun").to_string();
        assert!(
            err.contains("specproof.rerun") && err.contains("file-proofs"),
            "{err}"
        );
        config.set_str("specproof.rerun", "none").expect("set");
        config
            .set_str("specproof.allowCommands", "maybe")
            .expect("set");
        let err = Policy::read(&config).expect_err("bad bool").to_string();
        assert!(err.contains("specproof.allowCommands"), "{err}");
        config
            .set_str("specproof.allowCommands", "false")
            .expect("set");
        config.set_str("specproof.pushTimeout", "-1").expect("set");
        let err = Policy::read(&config).expect_err("bad seconds").to_string();
        assert!(err.contains("specproof.pushTimeout"), "{err}");
    }
}
