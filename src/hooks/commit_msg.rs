//! `specproof hook commit-msg FILE`: rationalization phrases in the message, and the override
//! trailer.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::config::{Config, Mode};
use crate::exit::ExitStatus;
use crate::printer::{Printer, styles};

use super::pre_push::OVERRIDE_TRAILER;
use super::{HookEnv, head_commit, open_repository, record};

pub(super) fn run(args: &[String], env: &HookEnv, printer: &Printer) -> Result<ExitStatus> {
    let file = args
        .first()
        .ok_or_else(|| anyhow!("git passes commit-msg the message file; none was given"))?;
    let path = env.cwd.join(file);
    let git = open_repository(env)?;
    let raw = std::fs::read(&path)
        .with_context(|| format!("cannot read the commit message {}", path.display()))?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let config = committed_config(&git, env)?;
    let comment = crate::message::comment_prefix(&git, &raw);
    // git strips comment lines only from a message written in the editor (`git commit -m`
    // keeps a line starting with `#`): an editor's message ends with git's block of comment
    // lines, or holds the scissors line of `git commit -v`.
    let message = if from_editor(&raw, &comment) {
        crate::message::clean_with_prefix(&raw, &comment)
    } else {
        crate::message::clean_with_prefix(&raw, "")
    };

    let mut blocked = Vec::new();
    if config.rationalization.commit_msg != Mode::Off {
        let corpus = crate::rationalize::Corpus::new(&config.rationalization.phrases)
            .map_err(|e| anyhow!("specproof.yml `rationalization.phrases`: {e}"))?;
        for hit in corpus.find(&message) {
            let line = format!(
                "commit message line {}: \"{}\" (the phrase \"{}\") is assurance, not evidence: {}",
                hit.line,
                hit.matched,
                hit.phrase,
                crate::rationalize::advice(&hit.phrase)
            );
            if config.rationalization.commit_msg == Mode::Block {
                blocked.push(line);
            } else {
                super::say(
                    printer,
                    format!(
                        "{} {line}",
                        printer.paint_err(&styles::warning(), "specproof warning:")
                    ),
                );
            }
        }
    }
    if let Some(reason) = &env.override_reason {
        add_trailer(&path, reason)?;
        super::say(
            printer,
            format!(
                "{} the message records the override: `{OVERRIDE_TRAILER}: {reason}`",
                printer.paint_err(&styles::warning(), "specproof:")
            ),
        );
        // pre-commit recorded what it overrode; this records only what the message check
        // itself overrode.
        if !blocked.is_empty() {
            let head = head_commit(&git)?;
            record(
                &git,
                printer,
                &[serde_json::json!({
                    "event": "override",
                    "hook": "commit-msg",
                    "at": crate::state::now(),
                    "head": head.map(|h| h.to_string()),
                    "reason": reason,
                    "problems": blocked,
                })],
            );
        }
        for line in &blocked {
            super::say(
                printer,
                format!(
                    "{} overridden: {line}",
                    printer.paint_err(&styles::warning(), "specproof:")
                ),
            );
        }
        return Ok(ExitStatus::Success);
    }
    if blocked.is_empty() {
        return Ok(ExitStatus::Success);
    }
    super::say(printer, format!(
        "{} commit rejected: the message rationalizes instead of showing evidence (rationalization.commit_msg is block)\n{}\n  {}",
        printer.paint_err(&styles::error(), "specproof:"),
        blocked
            .iter()
            .map(|l| format!("  ✗ {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        printer.paint_err(
            &styles::hint(),
            &format!(
                "Nothing was committed; your message is kept in {}: `git commit -e -F {}` to edit it.",
                path.display(),
                path.display()
            )
        ),
    ));
    record(
        &git,
        printer,
        &[serde_json::json!({
            "event": "rejected",
            "hook": "commit-msg",
            "at": crate::state::now(),
            "problems": blocked,
        })],
    );
    Ok(ExitStatus::Failure)
}

/// specproof.yml as it is being committed (the index), else the defaults.
fn committed_config(git: &git2::Repository, env: &HookEnv) -> Result<Config> {
    let index = super::index_content(git, env)?;
    match index.read(crate::config::FILE) {
        Err(_) => Ok(Config::default()),
        Ok(bytes) => Config::parse(&bytes, None).map_err(|d| {
            anyhow!(
                "{} has problems; fix them first:\n{}",
                crate::config::FILE,
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }),
    }
}

/// Adds `Specproof-Override: <reason>` to the message file as git adds trailers.
fn add_trailer(path: &Path, reason: &str) -> Result<()> {
    let reason = reason.replace(['\n', '\r'], " ");
    let status = std::process::Command::new("git")
        .args([
            "interpret-trailers",
            "--in-place",
            "--if-exists",
            "addIfDifferent",
            "--trailer",
        ])
        .arg(format!("{OVERRIDE_TRAILER}: {reason}"))
        .arg(path)
        .status()
        .context("cannot run `git interpret-trailers` to record the override")?;
    if !status.success() {
        return Err(anyhow!(
            "`git interpret-trailers` could not add the override trailer to {} ({status})",
            path.display()
        ));
    }
    Ok(())
}

/// Whether `raw` is what git's editor template left: the scissors line, or a message ending in
/// a block of at least two comment lines (git's instructions).
fn from_editor(raw: &str, prefix: &str) -> bool {
    if prefix.is_empty() {
        return false;
    }
    let scissors = format!("{prefix} {}", crate::message::SCISSORS);
    if raw.lines().any(|l| l.trim_end_matches('\r') == scissors) {
        return true;
    }
    let trailing = raw
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take_while(|l| l.starts_with(prefix))
        .count();
    trailing >= 2
}

#[cfg(test)]
mod tests {
    use super::from_editor;

    #[test]
    fn a_message_from_the_editor_is_told_from_one_given_with_dash_m() {
        assert!(from_editor(
            "Fix\n\n# Please enter the commit message\n# Lines starting\n",
            "#"
        ));
        assert!(from_editor(
            "Fix\n# ------------------------ >8 ------------------------\ndiff\n",
            "#"
        ));
        assert!(!from_editor("Fix\n\n# should work, probably\n", "#"));
        assert!(!from_editor("Fix the parser\n", "#"));
    }
}
