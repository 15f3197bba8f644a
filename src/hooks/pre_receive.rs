//! `specproof hook pre-receive`: the server's gate. Every commit a push adds to any ref is
//! replayed against its first parent, with the server's own policy (SPEC §7.2): the pushed
//! specproof.yml never loosens it, evidence signed on another machine is checked by its facts
//! and by running the proofs again, and overrides pass only where the server allows them.
//!
//! git runs pre-receive with the pushed objects in a quarantine folder, reachable only through
//! `GIT_OBJECT_DIRECTORY` / `GIT_ALTERNATE_OBJECT_DIRECTORIES`: the repository is opened from
//! the environment, and nothing here writes a ref or an object.

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
            command_timeout: Duration::from_secs(600),
            allow_override: false,
            push_timeout: Duration::from_secs(300),
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
    let rewrites = rewrites(&git, &updates);
    check(&git, &commits, &rewrites, &policy, started, printer)
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
    let mut seen = std::collections::HashSet::new();
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

/// The updates that are not fast-forwards (a force push): the ref's old and new commit. Each
/// new commit is judged against its parent, but the rewrite itself is judged too, as one change
/// from the old tip to the new one: history rewritten so that a complete task was never
/// complete still takes the complete task away from the ref.
fn rewrites(git: &Repository, updates: &[RefUpdate]) -> Vec<(String, Oid, Oid)> {
    let commit = |oid: &str| {
        (!is_zero(oid))
            .then(|| Oid::from_str(oid).ok())
            .flatten()
            .and_then(|o| git.find_object(o, None).ok())
            .and_then(|o| o.peel_to_commit().ok())
            .map(|c| c.id())
    };
    updates
        .iter()
        .filter_map(|u| {
            let (old, new) = (commit(&u.old)?, commit(&u.new)?);
            let forward = old == new || git.graph_descendant_of(new, old).unwrap_or(false);
            (!forward).then(|| (u.name.clone(), old, new))
        })
        .collect()
}

/// The IDs of the tasks complete in commit `oid`.
fn complete_tasks(git: &Repository, oid: Oid) -> Result<std::collections::BTreeSet<String>> {
    let content = crate::content::Content::lazy_commit(git, oid)
        .with_context(|| format!("cannot read commit {oid}"))?;
    let view = gate::view::View::load(&content);
    let complete = view
        .task_metas()
        .into_iter()
        .filter(|(_, m)| m.status == crate::task::Status::Complete)
        .map(|(id, _)| id)
        .collect();
    if let Some(fault) = content.fault() {
        bail!("cannot read the files of commit {oid}: {fault}");
    }
    Ok(complete)
}

fn check(
    git: &Repository,
    commits: &[Oid],
    rewrites: &[(String, Oid, Oid)],
    policy: &Policy,
    started: Instant,
    printer: &Printer,
) -> Result<ExitStatus> {
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
    };
    let mut rejected = 0usize;
    let mut records = Vec::new();
    let mut report = String::new();
    let steps = commits.iter().map(|&oid| (None, oid)).chain(
        rewrites
            .iter()
            .map(|(name, old, new)| (Some((name, *old)), *new)),
    );
    for (n, (rewrite, oid)) in steps.enumerate() {
        if Instant::now() > deadline {
            super::say(printer, format!(
                "{} push rejected: checking it takes longer than this server allows (git config specproof.pushTimeout = {} s); {n} of {} checks were done\n  {}",
                printer.paint_err(&styles::error(), "specproof:"),
                policy.push_timeout.as_secs(),
                commits.len() + rewrites.len(),
                printer.paint_err(&styles::hint(), "Push fewer commits at a time, or ask the server's admin to raise specproof.pushTimeout."),
            ));
            return Ok(ExitStatus::Failure);
        }
        let judged = match rewrite {
            None => judge.commit(oid)?,
            Some((_, old)) => {
                // The rewrite as one change answers one question: does the ref still hold every
                // task that was complete on it, unchanged? The new commits' own gates were
                // judged commit by commit; judged again against an unrelated old tip they would
                // see transitions no commit made (a rebased branch "entering" done).
                let complete = complete_tasks(git, old)?;
                let mut judged = judge.between(Some(old), oid)?;
                judged.outcome.problems.retain(|p| {
                    p.check == gate::Check::Lifecycle
                        && p.task.as_ref().is_some_and(|t| complete.contains(t))
                });
                judged.outcome.warnings.clear();
                judged
            }
        };
        let outcome = &judged.outcome;
        let short = judged.short();
        let subject = match rewrite {
            None => judged.subject.clone(),
            Some((name, old)) => format!(
                "{}, which force-pushes {name} from {}",
                judged.subject,
                &old.to_string()[..10]
            ),
        };
        let subject = &subject;
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
                        "{} commit {short} \"{subject}\" carries `{OVERRIDE_TRAILER}: {reason}`, and this server allows overrides: {}, on the record{}",
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
            Some(reason) => {
                rejected += 1;
                let _ = write!(
                    report,
                    "  commit {short} \"{subject}\":\n  {} it carries `{OVERRIDE_TRAILER}: {reason}`, and this server does not accept overrides (git config specproof.allowOverride is not true)\n{problems}",
                    printer.paint_err(&styles::error(), "✗"),
                );
                records.push(record_of("rejected", Some(reason)));
            }
            None if outcome.ok() => {}
            None => {
                rejected += 1;
                let _ = write!(report, "  commit {short} \"{subject}\":\n{problems}");
                records.push(record_of("rejected", None));
            }
        }
    }
    super::record(git, printer, &records);
    if rejected == 0 {
        return Ok(ExitStatus::Success);
    }
    let total = commits.len() + rewrites.len();
    super::say(printer, format!(
        "{} push rejected: {rejected} of {total} {} fail the gates\n{report}\n  {}",
        printer.paint_err(&styles::error(), "specproof:"),
        if total == 1 { "commit" } else { "commits" },
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
