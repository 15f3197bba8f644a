//! `specproof hook pre-commit`: HEAD against the index git is committing.

use anyhow::{Context, Result};

use crate::content::{Content, Source};
use crate::evidence::Key;
use crate::exit::ExitStatus;
use crate::gate::{self, Change, ExportRunner, Stage};
use crate::printer::{Printer, styles};

use super::{HookEnv, git_argv, head_commit, open_repository, output, record};

pub(super) fn run(env: &HookEnv, printer: &Printer) -> Result<ExitStatus> {
    let git = open_repository(env)?;
    // During a merge HEAD is the first parent. `git commit --amend` replaces HEAD: the commit it
    // makes has HEAD's first parent as its parent, so that is what it is judged against (as
    // pre-push will judge it).
    let head = match head_commit(&git)? {
        Some(h) if amending(&git) => git
            .find_commit(h)
            .context("cannot read HEAD")?
            .parent_ids()
            .next(),
        head => head,
    };
    // `git commit -a` and `git commit <path>` commit a temporary index named by GIT_INDEX_FILE.
    // What it changes against the parent is listed from the index and its cache of unchanged
    // folders (read here, or by git where this cannot), and both sides are then read on
    // demand: a commit that touches few files reads few of the parent's objects. Without a
    // parent, or when neither can list the changes, the whole index is read.
    let listed = head.and_then(|h| super::index_changes(&git, env, h).map(|c| (h, c)));
    let (old, new, changed) = if let Some((h, listed)) = listed {
        let tree = git
            .find_commit(h)
            .and_then(|c| c.tree())
            .context("cannot read the parent commit")?
            .id();
        let paths: std::collections::BTreeSet<String> =
            listed.iter().map(|(p, _)| p.clone()).collect();
        let new = Content::lazy(&git, Source::Index, Some(tree), listed);
        let old = Content::lazy_commit(&git, h).context("cannot read the parent commit")?;
        (Some(old), new, Some(paths))
    } else {
        let new = super::index_content(&git, env)?;
        let old = head
            .map(|h| Content::commit(&git, h))
            .transpose()
            .context("cannot read HEAD's tree")?;
        (old, new, None)
    };
    let key = Key::load(git.commondir())?;
    let commands = ExportRunner::default();
    let common_dir = git.commondir().to_path_buf();
    let trusted = |view: &gate::view::View<'_, '_>| super::trusted(&common_dir, view);
    let merged = || super::fetched(&git);
    let change = Change {
        git: &git,
        old: old.as_ref(),
        new: &new,
        changed: changed.as_ref(),
        old_commit: head,
        key: key.as_ref(),
        stage: Stage::Commit,
        trusted: &trusted,
        commands: &commands,
        merged: &merged,
    };
    let outcome = gate::check(&change);
    // The specproof.yml being committed, for the commit-msg hook that runs next.
    if let Err(e) = super::staged::remember(&git, env, new.get(crate::config::FILE).map(|e| e.oid))
    {
        super::say(
            printer,
            format!(
                "{} cannot keep a note for the commit-msg hook (it will ask git instead): {e}",
                printer.paint_err(&styles::warning(), "specproof warning:")
            ),
        );
    }
    if let Some(fault) = new
        .fault()
        .or_else(|| old.as_ref().and_then(Content::fault))
    {
        anyhow::bail!("cannot read the commit's files: {fault}");
    }
    super::config_error(&outcome)?;
    for w in &outcome.warnings {
        super::say(
            printer,
            format!(
                "{} {w}",
                printer.paint_err(&styles::warning(), "specproof warning:")
            ),
        );
    }
    if outcome.ok() {
        return Ok(ExitStatus::Success);
    }
    let n = outcome.problems.len();
    let problems = output::render(&outcome.problems, printer);
    if let Some(reason) = &env.override_reason {
        if !override_recorder(&git) {
            super::say(
                printer,
                format!(
                    "{} commit rejected: {n} {}\n{problems}  SPECPROOF_OVERRIDE is set, but an override must be on the record and the commit-msg hook that writes the `Specproof-Override:` trailer is not installed: run `specproof install` first",
                    printer.paint_err(&styles::error(), "specproof:"),
                    if n == 1 { "problem" } else { "problems" },
                ),
            );
            record(
                &git,
                printer,
                &[ledger("rejected", head, &outcome.problems, None)],
            );
            return Ok(ExitStatus::Failure);
        }
        super::say(
            printer,
            format!(
                "{} {n} {} overridden on the record (SPECPROOF_OVERRIDE: {reason}); the commit message gets the trailer `Specproof-Override: {reason}`, and this is never counted as a pass:\n{problems}",
                printer.paint_err(&styles::warning(), "specproof:"),
                if n == 1 { "problem" } else { "problems" },
            ),
        );
        record(
            &git,
            printer,
            &[ledger("override", head, &outcome.problems, Some(reason))],
        );
        return Ok(ExitStatus::Success);
    }
    super::say(printer, format!(
        "{} commit rejected: {n} {}\n{problems}\n  {}",
        printer.paint_err(&styles::error(), "specproof:"),
        if n == 1 { "problem" } else { "problems" },
        printer.paint_err(
            &styles::hint(),
            "Nothing was committed. Fix the problems above and commit again; to override on the record: SPECPROOF_OVERRIDE='<reason>' git commit …"
        ),
    ));
    record(
        &git,
        printer,
        &[ledger("rejected", head, &outcome.problems, None)],
    );
    Ok(ExitStatus::Failure)
}

fn ledger(
    event: &str,
    head: Option<git2::Oid>,
    problems: &[gate::Problem],
    reason: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "hook": "pre-commit",
        "at": crate::state::now(),
        "head": head.map(|h| h.to_string()),
        "reason": reason,
        "problems": output::to_json(problems),
    })
}

/// Whether the git that runs this hook is `git commit --amend`, read from its command line as
/// git reads it ([`git_argv`]): `--amend` given as an option (not `-m --amend`, not after `--`,
/// not undone by a later `--no-amend`), also when git runs through a symlink with another name.
/// Where the command line cannot be read (no /proc, a hook framework more than four processes
/// below git, an alias), this is false and the change is judged against HEAD; pre-push judges
/// it again either way.
fn amending(git: &git2::Repository) -> bool {
    git_argv::commit_command(git).is_some_and(|c| c.amend)
}

/// Whether a commit-msg hook will write the override trailer: specproof's shim, or the
/// pre-commit framework's (or prek's) hook with the `specproof-commit-msg` hook configured.
fn override_recorder(git: &git2::Repository) -> bool {
    if crate::hooks::install::is_installed(git, "commit-msg").unwrap_or(false) {
        return true;
    }
    let Ok(dir) = crate::hooks::install::hooks_dir(git) else {
        return false;
    };
    let framework_hook = std::fs::read_to_string(dir.path.join("commit-msg"))
        .is_ok_and(|t| t.contains("pre-commit") || t.contains("prek"));
    let configured = git.workdir().is_some_and(|root| {
        std::fs::read_to_string(root.join(".pre-commit-config.yaml"))
            .is_ok_and(|t| t.contains("specproof-commit-msg"))
    });
    framework_hook && configured
}
