//! `specproof hook commit-msg FILE`: rationalization phrases in the message, and the override
//! trailer.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::config::{Config, Mode};
use crate::exit::ExitStatus;
use crate::printer::{Printer, styles};

use super::git_argv::{self, Setting};
use super::{HookEnv, head_commit, open_repository, record};
use crate::gate::replay::OVERRIDE_TRAILER;

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
    let commit = git_argv::commit_command(&git);
    let comment = commit
        .as_ref()
        .and_then(|c| command_line_prefix(c, &raw))
        .unwrap_or_else(|| crate::message::comment_prefix(&git, &raw));
    // The message as git will commit it. git strips comment lines only from a message written
    // in the editor (`git commit -m` keeps a line starting with `#`), unless told otherwise
    // (`--cleanup`, `commit.cleanup`): its command line says which. Where it cannot be read,
    // the text tells: an editor's message ends with git's block of comment lines, or holds the
    // scissors line of `git commit -v`.
    let message = commit
        .and_then(|commit| as_committed(&git, &commit, &raw, &comment))
        .unwrap_or_else(|| {
            if from_editor(&raw, &comment) {
                crate::message::clean_with_prefix(&raw, &comment)
            } else {
                crate::message::clean_with_prefix(&raw, "")
            }
        });

    let mut blocked = Vec::new();
    if config.rationalization.commit_msg != Mode::Off {
        let hits = crate::rationalize::Scanner::new(&config.rationalization.phrases)
            .find(&message)
            .map_err(|e| anyhow!("specproof.yml `rationalization.phrases`: {e}"))?;
        for hit in hits {
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

/// The rationalization settings the message is judged by: the stricter of specproof.yml as it
/// is being committed (the index) and as it is in HEAD (a commit cannot loosen the rules it is
/// judged by, as in pre-commit); the defaults where there is none.
fn committed_config(git: &git2::Repository, env: &HookEnv) -> Result<Config> {
    let parse = |oid: git2::Oid| -> Result<Config> {
        let blob = git
            .find_blob(oid)
            .with_context(|| format!("cannot read {} ({oid})", crate::config::FILE))?;
        Config::parse(blob.content(), None).map_err(|d| {
            anyhow!(
                "{} has problems; fix them first:\n{}",
                crate::config::FILE,
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    };
    let staged = staged_config(git, env)?;
    let mut config = staged.map(parse).transpose()?.unwrap_or_default();
    let head = head_commit(git)?
        .and_then(|h| git.find_commit(h).ok())
        .and_then(|c| c.tree().ok())
        .and_then(|t| t.get_path(Path::new(crate::config::FILE)).ok())
        .map(|e| e.id());
    // HEAD's settings only tighten: a HEAD whose specproof.yml does not parse adds nothing.
    if let Some(before) = head
        .filter(|h| Some(*h) != staged)
        .and_then(|h| parse(h).ok())
    {
        let r = &mut config.rationalization;
        r.commit_msg = r.commit_msg.max(before.rationalization.commit_msg);
        for p in before.rationalization.phrases {
            if !r.phrases.contains(&p) {
                r.phrases.push(p);
            }
        }
    }
    Ok(config)
}

/// The blob of specproof.yml in the index git is committing, if it has one: as pre-commit
/// noted it for this index ([`super::staged`]), else asked of git
/// (`git ls-files --stage`), which reads a large index much faster than a full read here; the
/// whole index is read when git cannot say.
fn staged_config(git: &git2::Repository, env: &HookEnv) -> Result<Option<git2::Oid>> {
    // pre-commit saw this very index and kept what it holds.
    if let Some(noted) = super::staged::recall(git, env) {
        return Ok(noted.config);
    }
    let listed = super::git_on_index(
        git,
        env,
        &["ls-files", "--stage", "-z", "--", crate::config::FILE],
    );
    if let Some(out) = listed {
        let text = String::from_utf8_lossy(&out);
        let line = text.trim_end_matches('\0');
        if line.is_empty() {
            return Ok(None);
        }
        // `<mode> <blob> <stage>\t<path>`, one line for a file that is not in conflict.
        let fields: Vec<&str> = line
            .split('\t')
            .next()
            .unwrap_or_default()
            .split(' ')
            .collect();
        if let [_, blob, "0"] = fields.as_slice()
            && !line.contains('\0')
            && let Ok(oid) = git2::Oid::from_str(blob)
        {
            return Ok(Some(oid));
        }
    }
    let index = super::index_content(git, env)?;
    Ok(index.get(crate::config::FILE).map(|e| e.oid))
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

/// `raw` cleaned as the `git commit` that runs this hook will clean it: in the mode its
/// `--cleanup` or else `commit.cleanup` names (`git -c` before the repository's config), as
/// resolved for a message from the editor or not, cut at the scissors line when it is verbose
/// (`-v`, else `commit.verbose`). `None` for a cleanup mode git would refuse.
fn as_committed(
    git: &git2::Repository,
    commit: &git_argv::Commit,
    raw: &str,
    comment: &str,
) -> Option<String> {
    let config = git.config().ok();
    let cleanup = match &commit.cleanup {
        Some(mode) => Some(mode.clone()),
        None => match commit.config_value("commit.cleanup") {
            Some(Setting::Value(mode)) => Some(mode.clone()),
            // `-c commit.cleanup` without a value: git refuses it.
            Some(Setting::Bare) => return None,
            None => config
                .as_ref()
                .and_then(|c| c.get_string("commit.cleanup").ok()),
        },
    };
    let mode = crate::message::Cleanup::resolve(cleanup.as_deref(), commit.uses_editor())?;
    let verbose = match commit.verbose {
        Some(n) => n > 0,
        None => match commit.config_value("commit.verbose") {
            Some(Setting::Value(value)) => bool_or_int(Some(value)),
            Some(Setting::Bare) => bool_or_int(None),
            // git reads it as a boolean or a count; a negative count is not verbose.
            None => config.as_ref().is_some_and(|c| {
                c.get_i64("commit.verbose")
                    .map(|n| n > 0)
                    .or_else(|_| c.get_bool("commit.verbose"))
                    .unwrap_or(false)
            }),
        },
    };
    Some(crate::message::clean_as(raw, comment, mode, verbose))
}

/// The comment prefix `git -c core.commentChar=…` or `-c core.commentString=…` sets (the last
/// one given wins), which libgit2 does not see.
fn command_line_prefix(commit: &git_argv::Commit, raw: &str) -> Option<String> {
    commit.config.iter().rev().find_map(|(key, setting)| {
        let comment_key = key.eq_ignore_ascii_case("core.commentChar")
            || key.eq_ignore_ascii_case("core.commentString");
        match setting {
            Setting::Value(value) if comment_key => {
                Some(crate::message::prefix_from_value(value, raw))
            }
            _ => None,
        }
    })
}

/// A `git -c` value read as git's `git_config_bool_or_int` reads it, as more than zero: no
/// value is true; `true`, `yes`, `on` are true; a number counts when above zero.
fn bool_or_int(value: Option<&str>) -> bool {
    let Some(value) = value else {
        return true;
    };
    if let Ok(n) = value.trim().parse::<i64>() {
        return n > 0;
    }
    ["true", "yes", "on"]
        .iter()
        .any(|t| value.eq_ignore_ascii_case(t))
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
    use super::{bool_or_int, from_editor};

    #[test]
    fn a_config_value_is_verbose_as_git_reads_it() {
        for (value, verbose) in [
            (None, true),
            (Some("true"), true),
            (Some("Yes"), true),
            (Some("on"), true),
            (Some("2"), true),
            (Some("false"), false),
            (Some(""), false),
            (Some("0"), false),
            (Some("-1"), false),
        ] {
            assert_eq!(bool_or_int(value), verbose, "{value:?}");
        }
    }

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
