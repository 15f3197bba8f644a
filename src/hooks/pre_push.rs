//! `specproof hook pre-push`: every commit about to leave for the remote, replayed against its
//! first parent, so that commits made with `--no-verify`, by a rebase, a cherry-pick, `git am` or
//! a fast-forward merge (none of which run pre-commit) are caught before they leave the machine.

use std::fmt::Write as _;
use std::io::Read;

use anyhow::{Context, Result, anyhow};
use git2::{Oid, Repository};

use crate::evidence::Key;
use crate::exit::ExitStatus;
use crate::gate::replay::{Judge, OVERRIDE_TRAILER};
use crate::gate::{self, ExportRunner, Stage};
use crate::printer::{Printer, styles};

use super::{HookEnv, output};

/// One line git gives pre-push: `<local ref> <local oid> <remote ref> <remote oid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLine {
    pub local_ref: String,
    pub local_oid: String,
    pub remote_ref: String,
    pub remote_oid: String,
}

/// Parses git's stdin lines, splitting from the right (a local ref may hold spaces).
///
/// # Errors
/// A message naming the line that does not have four fields.
pub fn parse_lines(text: &str) -> Result<Vec<PushLine>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.rsplitn(4, ' ');
        let (Some(remote_oid), Some(remote_ref), Some(local_oid), Some(local_ref)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "line {} of what git sent is not `<local ref> <local oid> <remote ref> <remote oid>`: {line:?}",
                n + 1
            ));
        };
        out.push(PushLine {
            local_ref: local_ref.to_owned(),
            local_oid: local_oid.to_owned(),
            remote_ref: remote_ref.to_owned(),
            remote_oid: remote_oid.to_owned(),
        });
    }
    Ok(out)
}

/// An object id of only zeros (40 hex digits for SHA-1, 64 for SHA-256): "no object".
#[must_use]
pub fn is_zero(oid: &str) -> bool {
    !oid.is_empty() && oid.bytes().all(|b| b == b'0')
}

pub(super) fn run(
    args: &[String],
    stdin: &mut dyn Read,
    env: &HookEnv,
    printer: &Printer,
) -> Result<ExitStatus> {
    let git = super::open_repository(env)?;
    let remote = args
        .first()
        .cloned()
        .or_else(|| env.framework_remote.clone());
    // git's lines always win: the framework's variables are read only when stdin holds none
    // (under pre-commit or prek). A terminal on stdin is not waited on.
    let mut text = String::new();
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        stdin
            .read_to_string(&mut text)
            .context("cannot read the ref lines git sends on stdin")?;
    }
    let lines = parse_lines(&text).map_err(|e| anyhow!(e))?;
    let mut commits: Vec<Oid> = Vec::new();
    if lines.is_empty() {
        // The pre-commit framework (and prek) gives no stdin: its variables name what is pushed
        // instead. TO is the pushed commit; without it (pre-commit, for a push that holds a root
        // commit) the local branch; without either, and without git's arguments (run by hand or
        // by the framework outside a push), HEAD. With git's arguments and no line, git pushes
        // nothing.
        let named = env
            .framework_to
            .as_deref()
            .or(env.framework_local.as_deref());
        let target = match named {
            Some(name) => Some(resolve(&git, name)?),
            None if args.is_empty() => super::head_commit(&git)?,
            None => None,
        };
        if let Some(to) = target {
            let from = env
                .framework_from
                .as_deref()
                .filter(|f| !is_zero(f))
                .and_then(|f| resolve(&git, f).ok());
            commits.extend(new_commits(&git, to, from, remote.as_deref())?);
        }
    }
    for line in &lines {
        if is_zero(&line.local_oid) {
            // A deletion: nothing leaves the machine.
            continue;
        }
        let Ok(local) = resolve(&git, &line.local_oid) else {
            // A tag of a tree or blob: no commit to check.
            continue;
        };
        let known = (!is_zero(&line.remote_oid))
            .then(|| Oid::from_str(&line.remote_oid).ok())
            .flatten()
            .filter(|r| git.find_commit(*r).is_ok())
            .filter(|r| *r == local || git.graph_descendant_of(local, *r).unwrap_or(false));
        commits.extend(new_commits(&git, local, known, remote.as_deref())?);
    }
    let mut seen = std::collections::HashSet::new();
    commits.retain(|c| seen.insert(*c));
    check_commits(&git, &commits, env, printer)
}

/// The commit an oid names, tags peeled.
fn resolve(git: &Repository, oid: &str) -> Result<Oid> {
    let object = git
        .revparse_single(oid)
        .with_context(|| format!("{oid} is not an object of this repository"))?;
    Ok(object
        .peel_to_commit()
        .with_context(|| format!("{oid} does not name a commit"))?
        .id())
}

/// The commits of `local` the remote does not have, oldest first: those not reachable from
/// `remote_has` when git knows what the remote ref held, else not reachable from any
/// remote-tracking ref of `remote` (of every remote when none is named).
fn new_commits(
    git: &Repository,
    local: Oid,
    remote_has: Option<Oid>,
    remote: Option<&str>,
) -> Result<Vec<Oid>> {
    let mut walk = git.revwalk().context("cannot walk the history")?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .context("cannot walk the history")?;
    walk.push(local).context("cannot walk the history")?;
    if let Some(r) = remote_has {
        walk.hide(r).context("cannot walk the history")?;
    } else {
        let glob = match remote {
            Some(name) if git.find_remote(name).is_ok() => format!("refs/remotes/{name}/*"),
            _ => "refs/remotes/*".to_owned(),
        };
        walk.hide_glob(&glob).context("cannot walk the history")?;
    }
    walk.map(|r| r.context("cannot walk the history")).collect()
}

fn check_commits(
    git: &Repository,
    commits: &[Oid],
    env: &HookEnv,
    printer: &Printer,
) -> Result<ExitStatus> {
    let _ = env;
    let key = Key::load(git.commondir())?;
    let common_dir = git.commondir().to_path_buf();
    let trusted = |view: &gate::view::View<'_, '_>| super::trusted(&common_dir, view);
    let commands = || Box::new(ExportRunner::default()) as Box<dyn gate::CommandRunner>;
    // What was fetched, once per push, less what is being pushed: a remote-tracking ref made
    // locally (`git update-ref`, a remote that is this repository) names no one else's work.
    let pushed: std::collections::HashSet<Oid> = commits.iter().copied().collect();
    let fetched_once: std::cell::OnceCell<Vec<Oid>> = std::cell::OnceCell::new();
    let fetched = || {
        fetched_once
            .get_or_init(|| {
                super::fetched(git)
                    .into_iter()
                    .filter(|o| !pushed.contains(o))
                    .collect()
            })
            .clone()
    };
    let judging = |oid: Oid| pushed.contains(&oid);
    let judge = Judge {
        git,
        stage: Stage::Push,
        key: key.as_ref(),
        trusted: &trusted,
        commands: &commands,
        fetched: &fetched,
        judging: &judging,
    };
    let mut rejected = 0usize;
    let mut records = Vec::new();
    let mut report = String::new();
    for &oid in commits {
        // A commit whose specproof.yml does not parse is rejected like any other problem: it
        // is already made, so it is a problem of that commit, not a hook that cannot run.
        let judged = judge.commit(oid)?;
        let outcome = &judged.outcome;
        let short = judged.short();
        let subject = &judged.subject;
        for w in &outcome.warnings {
            super::say(
                printer,
                format!(
                    "{} {short} {w}",
                    printer.paint_err(&styles::warning(), "specproof warning:")
                ),
            );
        }
        if outcome.ok() {
            continue;
        }
        let problems = output::render(&outcome.problems, printer);
        let record_of = |event: &str, reason: Option<&str>| {
            serde_json::json!({
                "event": event,
                "hook": "pre-push",
                "at": crate::state::now(),
                "commit": oid.to_string(),
                "reason": reason,
                "problems": output::to_json(&outcome.problems),
            })
        };
        if let Some(reason) = &judged.override_reason {
            super::say(
                printer,
                format!(
                    "{} commit {short} \"{subject}\" carries `{OVERRIDE_TRAILER}: {reason}`: its problems pass as warnings, on the record:\n{problems}",
                    printer.paint_err(&styles::warning(), "specproof:"),
                ),
            );
            records.push(record_of("override", Some(reason)));
            continue;
        }
        rejected += 1;
        let _ = write!(report, "  commit {short} \"{subject}\":\n{problems}");
        records.push(record_of("rejected", None));
    }
    super::record(git, printer, &records);
    if rejected == 0 {
        return Ok(ExitStatus::Success);
    }
    super::say(printer, format!(
        "{} push rejected: {rejected} of {} {} fail the gates\n{report}\n  {}",
        printer.paint_err(&styles::error(), "specproof:"),
        commits.len(),
        if commits.len() == 1 { "commit" } else { "commits" },
        printer.paint_err(
            &styles::hint(),
            "Nothing was pushed. Fix the commits (for example `git commit --amend`, or `git rebase -i` to edit an older one) and push again."
        ),
    ));
    Ok(ExitStatus::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_from_the_right() {
        let z = "0".repeat(40);
        let lines = parse_lines(&format!(
            "refs/heads/with space abc refs/heads/main {z}\nrefs/tags/v1 def refs/tags/v1 {}\n",
            "0".repeat(64)
        ))
        .expect("parses");
        assert_eq!(lines[0].local_ref, "refs/heads/with space");
        assert_eq!(lines[0].local_oid, "abc");
        assert_eq!(lines[0].remote_ref, "refs/heads/main");
        assert!(is_zero(&lines[0].remote_oid));
        assert!(is_zero(&lines[1].remote_oid));
        assert!(!is_zero("abc0"));
        assert!(!is_zero(""));
        assert!(parse_lines("only two").is_err());
    }
}
