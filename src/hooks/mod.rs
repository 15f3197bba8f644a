//! The git hooks (SPEC §7): `specproof install` writes shims ([`install`]) that run
//! `specproof hook <name>`.
//!
//! Every hook opens the repository the way git hands it over (`GIT_DIR`, `GIT_INDEX_FILE` and
//! the other variables, from the current folder), judges what git is about to record with the
//! gate engine ([`crate::gate`]), prints each problem with the command that fixes it, records
//! rejections and overrides in the local ledger, and fails closed when it cannot do its work
//! (`SPECPROOF_FAIL_OPEN=1` makes it warn and pass instead).

mod commit_msg;
mod git_argv;
mod index_diff;
pub mod install;
mod output;
mod pre_commit;
mod pre_push;
pub mod pre_receive;
mod staged;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::content::Content;

use crate::exit::ExitStatus;
use crate::printer::{Printer, styles};

pub use install::Hook;
pub use output::{render, render_out};

/// What a hook reads from its environment, read in one place.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    pub cwd: PathBuf,
    /// `SPECPROOF_FAIL_OPEN=1`: a hook that cannot run warns and passes.
    pub fail_open: bool,
    /// `SPECPROOF_OVERRIDE`: the reason for overriding the rejections, on the record.
    pub override_reason: Option<String>,
    /// `GIT_INDEX_FILE`, made absolute against `cwd`.
    pub index_file: Option<PathBuf>,
    /// The pre-commit framework's (and prek's) `PRE_COMMIT_FROM_REF`, `PRE_COMMIT_TO_REF`,
    /// `PRE_COMMIT_LOCAL_BRANCH` and `PRE_COMMIT_REMOTE_NAME`: its pre-push stage has no stdin.
    /// pre-commit leaves FROM and TO unset when the push holds a root commit, and then names
    /// only the local branch.
    pub framework_from: Option<String>,
    pub framework_to: Option<String>,
    pub framework_local: Option<String>,
    pub framework_remote: Option<String>,
}

impl HookEnv {
    /// Reads the process environment.
    #[must_use]
    pub fn from_process(cwd: &Path) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            cwd: cwd.to_path_buf(),
            fail_open: std::env::var("SPECPROOF_FAIL_OPEN").is_ok_and(|v| v == "1"),
            override_reason: var("SPECPROOF_OVERRIDE").map(|v| v.trim().to_owned()),
            index_file: std::env::var_os("GIT_INDEX_FILE")
                .filter(|v| !v.is_empty())
                .map(|v| cwd.join(v)),
            framework_from: var("PRE_COMMIT_FROM_REF"),
            framework_to: var("PRE_COMMIT_TO_REF"),
            framework_local: var("PRE_COMMIT_LOCAL_BRANCH"),
            framework_remote: var("PRE_COMMIT_REMOTE_NAME"),
        }
    }
}

/// Runs hook `hook` with git's `args`, reading `stdin` (pre-push's ref lines).
#[must_use]
pub fn run(
    hook: Hook,
    args: &[String],
    stdin: &mut dyn std::io::Read,
    env: &HookEnv,
    printer: &Printer,
) -> ExitStatus {
    // Objects are read as git reads them, without hashing each one again to check its id: a
    // hook reads thousands on every commit.
    git2::opts::strict_hash_verification(false);
    let result = match hook {
        Hook::PreCommit | Hook::PreMergeCommit => pre_commit::run(env, printer),
        Hook::CommitMsg => commit_msg::run(args, env, printer),
        Hook::PrePush => pre_push::run(args, stdin, env, printer),
        Hook::PreReceive => pre_receive::run(stdin, env, printer),
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            let message = format!("{e:#}");
            if env.fail_open {
                let _ = printer.err(format!(
                    "{} specproof {} could not run, and SPECPROOF_FAIL_OPEN=1 lets it pass: {message}",
                    printer.paint_err(&styles::warning(), "warning:"),
                    hook.name()
                ));
                // On the record, as an override is: what passed unchecked, and why.
                match open_repository(env) {
                    Ok(git) => record(
                        &git,
                        printer,
                        &[serde_json::json!({
                            "event": "fail-open",
                            "hook": hook.name(),
                            "at": crate::state::now(),
                            "head": head_commit(&git).ok().flatten().map(|h| h.to_string()),
                            "error": message,
                        })],
                    ),
                    Err(e) => {
                        let _ = printer.err(format!(
                            "{} cannot record this in the ledger: {e:#}",
                            printer.paint_err(&styles::warning(), "warning:")
                        ));
                    }
                }
                ExitStatus::Success
            } else {
                let _ = printer.err(format!(
                    "{} specproof {} could not run, so it fails closed: {message}\n{}",
                    printer.paint_err(&styles::error(), "error:"),
                    hook.name(),
                    printer.paint_err(
                        &styles::hint(),
                        "  fix the cause above; to let this hook pass while it cannot run, set SPECPROOF_FAIL_OPEN=1 for one command"
                    )
                ));
                ExitStatus::Error
            }
        }
    }
}

/// Opens the repository as git hands it to a hook: from the environment (`GIT_DIR`,
/// `GIT_OBJECT_DIRECTORY`…) and the current folder. `Repository::open` would ignore them.
fn open_repository(env: &HookEnv) -> Result<git2::Repository> {
    // git runs hooks from the top of the working tree (or the git dir of a bare repository),
    // with GIT_DIR set; open_from_env reads GIT_DIR relative to the current folder, which this
    // process never changes.
    let _ = &env.cwd;
    git2::Repository::open_from_env().context("cannot open the git repository this hook runs for")
}

/// What the index git is committing (`GIT_INDEX_FILE` when set) adds, edits and deletes
/// against commit `base`, as `git diff-index --cached` lists it: each path with its new entry,
/// or None when the commit deletes it. Entries of `git add -N` are not committed and not
/// listed. Read in this process ([`index_diff`]) where it can be, else listed by git. None when
/// neither can list them (the caller then reads the whole index).
fn index_changes(
    git: &git2::Repository,
    env: &HookEnv,
    base: git2::Oid,
) -> Option<Vec<(String, Option<crate::content::Entry>)>> {
    let index = env
        .index_file
        .clone()
        .unwrap_or_else(|| git.path().join("index"));
    if !index.is_file() {
        // git would read a missing index as an empty one: the whole read reports it.
        return None;
    }
    let tree = git.find_commit(base).ok()?.tree_id();
    if let Some(changes) = index_diff::changes(git, &index, tree) {
        return Some(changes);
    }
    let base = base.to_string();
    let mut args = DIFF_INDEX.to_vec();
    args.extend([base.as_str(), "--"]);
    let out = git_on_index(git, env, &args)?;
    parse_raw_diff(&out)
}

/// git's command that lists what an index changes against a tree (given after it), in the form
/// [`parse_raw_diff`] reads: what [`index_diff`] reads in this process.
const DIFF_INDEX: [&str; 7] = [
    "diff-index",
    "--cached",
    "--raw",
    "-z",
    "--no-renames",
    "--no-abbrev",
    "--ita-invisible-in-index",
];

/// What was fetched, judged where it was committed (by the server, or by the hooks of the
/// teammate who pushed it): the tips of the remote-tracking branches, and the commits
/// `FETCH_HEAD` and `MERGE_HEAD` name when a remote-tracking branch holds them (a local branch
/// pulled or merged was judged by no one else). A file that cannot be read names none.
pub(super) fn fetched(git: &git2::Repository) -> Vec<git2::Oid> {
    let tips: Vec<git2::Oid> = git
        .references_glob("refs/remotes/*")
        .map(|refs| {
            refs.filter_map(Result::ok)
                .filter_map(|r| r.peel_to_commit().ok().map(|c| c.id()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = tips.clone();
    for file in ["FETCH_HEAD", "MERGE_HEAD"] {
        let Ok(text) = std::fs::read_to_string(git.path().join(file)) else {
            continue;
        };
        out.extend(
            text.lines()
                .filter_map(|l| git2::Oid::from_str(l.split_whitespace().next()?).ok())
                .filter(|oid| {
                    tips.contains(oid)
                        || tips
                            .iter()
                            .any(|tip| git.graph_descendant_of(*tip, *oid).unwrap_or(false))
                }),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The output of `git ARGS` run on the index git is committing (`GIT_INDEX_FILE` when set):
/// git reads a large index much faster than a whole read here. None when git cannot say, and
/// for a missing index file, which git would read as an empty index: the caller then reads the
/// whole index, which reports it.
fn git_on_index(git: &git2::Repository, env: &HookEnv, args: &[&str]) -> Option<Vec<u8>> {
    let mut cmd = std::process::Command::new("git");
    cmd.args(args)
        .env("GIT_DIR", git.path())
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(index) = &env.index_file {
        if !index.is_file() {
            return None;
        }
        cmd.env("GIT_INDEX_FILE", index);
    }
    let out = cmd.output().ok()?;
    out.status.success().then_some(out.stdout)
}

/// `git diff --raw -z` output: `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`
/// per file. None on anything else, on a conflict (status U) and on a path that is not UTF-8
/// (the whole index is then read, which reports it).
fn parse_raw_diff(out: &[u8]) -> Option<Vec<(String, Option<crate::content::Entry>)>> {
    const GITLINK: u32 = 0o160_000;
    let mut fields = out.split(|b| *b == 0);
    let mut changes = Vec::new();
    while let Some(header) = fields.next() {
        if header.is_empty() {
            // The end: the output ends with a NUL.
            continue;
        }
        let header = std::str::from_utf8(header.strip_prefix(b":")?).ok()?;
        let path = String::from_utf8(fields.next()?.to_vec()).ok()?;
        let parts: Vec<&str> = header.split(' ').collect();
        let [old_mode, mode, _, id, status] = parts.as_slice() else {
            return None;
        };
        if status.starts_with('U') {
            return None;
        }
        let old_mode = u32::from_str_radix(old_mode, 8).ok()?;
        let mode = u32::from_str_radix(mode, 8).ok()?;
        if matches!(old_mode, 0 | GITLINK) && matches!(mode, 0 | GITLINK) {
            // A submodule's commit: no file of either content.
            continue;
        }
        let id = git2::Oid::from_str(id).ok()?;
        // A deletion, and a submodule (not a file of the content), leave no entry.
        let entry = (mode != 0 && mode != GITLINK).then(|| crate::content::Entry {
            path: path.clone(),
            mode,
            oid: id,
        });
        changes.push((path, entry));
    }
    Some(changes)
}

/// The index git is committing (`GIT_INDEX_FILE` when set). An index libgit2 cannot read (a
/// split index, a sparse index) is read through git instead: `git write-tree` turns it into a
/// tree object (the index itself is not changed), and that tree is the content.
fn index_content<'r>(git: &'r git2::Repository, env: &HookEnv) -> Result<Content<'r>> {
    let e = match Content::index(git, env.index_file.as_deref()) {
        Ok(content) => return Ok(content),
        // A missing file must stay an error: git would read it as an empty index.
        Err(e @ crate::content::ContentError::Io { .. }) => {
            return Err(e).context("cannot read the index git is committing");
        }
        Err(e) => e,
    };
    let mut cmd = std::process::Command::new("git");
    cmd.arg("write-tree").stdin(std::process::Stdio::null());
    if let Some(index) = &env.index_file {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let written = cmd.output();
    let tree = match &written {
        Ok(out) if out.status.success() => {
            git2::Oid::from_str(String::from_utf8_lossy(&out.stdout).trim()).ok()
        }
        _ => None,
    };
    let Some(tree) = tree else {
        let why = match written {
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(spawn) => spawn.to_string(),
        };
        return Err(anyhow::anyhow!(
            "cannot read the index git is committing: {e}; `git write-tree` could not read it either: {why}"
        ));
    };
    Content::tree(git, tree).context("cannot read the tree of the index git is committing")
}

/// The commit HEAD names, None before the first commit.
pub(crate) fn head_commit(git: &git2::Repository) -> Result<Option<git2::Oid>> {
    match git.head() {
        Ok(head) => Ok(Some(
            head.peel_to_commit()
                .context("cannot read the commit HEAD names")?
                .id(),
        )),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read HEAD: {}", e.message())),
    }
}

/// A config that cannot be used means the hook cannot run: an error (fail closed, or open with
/// `SPECPROOF_FAIL_OPEN=1`), not a rejection to override.
fn config_error(outcome: &crate::gate::Outcome) -> Result<()> {
    let broken: Vec<String> = outcome
        .problems
        .iter()
        .filter(|p| p.check == crate::gate::Check::Config)
        .map(|p| {
            format!(
                "{}:{}: {}",
                p.file.as_deref().unwrap_or(crate::config::FILE),
                p.line.unwrap_or(1),
                p.reason
            )
        })
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "{} being committed has problems (fix them, then `git add {}`):\n  {}",
        crate::config::FILE,
        crate::config::FILE,
        broken.join("\n  ")
    ))
}

/// Whether the command proofs of `view` are approved for hooks (SPEC §7.3).
fn trusted(common_dir: &Path, view: &crate::gate::view::View<'_, '_>) -> bool {
    let plans: Vec<&crate::plan::Plan> = view
        .plans()
        .iter()
        .map(|p| view.definitions(&p.path).unwrap_or(p))
        .collect();
    crate::trust::is_trusted(common_dir, &crate::trust::command_set_digest(&plans))
}

/// Prints to stderr. A hook's verdict never depends on whether its words could be printed: a
/// closed or full stderr must not turn a rejection into an internal error (which
/// `SPECPROOF_FAIL_OPEN=1` would let pass).
fn say(printer: &Printer, text: impl std::fmt::Display) {
    let _ = printer.err(text);
}

/// Appends `records` to the ledger; a ledger that cannot be written is said, never hidden.
fn record(git: &git2::Repository, printer: &Printer, records: &[serde_json::Value]) {
    if let Err(e) = crate::state::append_ledger(git.commondir(), records) {
        let _ = printer.err(format!(
            "{} cannot record this in the ledger: {e}",
            printer.paint_err(&styles::warning(), "warning:")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::sh;

    #[test]
    fn git_s_list_of_index_changes_is_read_as_the_whole_index_compares() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(
            dir.path(),
            "git init -q -b main . && git config user.name t && git config user.email t@t && \
             mkdir -p a/b && printf 1 > a/b/one && printf 2 > two && printf 3 > three && printf 4 > 'sp ace' && \
             git add -A && git commit -qm one && \
             printf 1b > a/b/one && git rm -q two && chmod +x three && ln -s three link && printf n > new && \
             printf ita > later && git add -N later && git add -A a three link new 'sp ace' && \
             git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub",
            &[],
        );
        let repo = git2::Repository::open(dir.path()).expect("open");
        let head = repo.head().expect("head").target().expect("oid");
        let env = HookEnv::default();
        let changes = index_changes(&repo, &env, head).expect("git lists the changes");
        let got: Vec<(String, Option<(u32, String)>)> = changes
            .into_iter()
            .map(|(p, e)| (p, e.map(|e| (e.mode, e.oid.to_string()))))
            .collect();
        let blob = |path: &str| {
            sh(dir.path(), &format!("git rev-parse ':{path}'"), &[])
                .trim()
                .to_owned()
        };
        assert_eq!(
            got,
            vec![
                ("a/b/one".to_owned(), Some((0o100_644, blob("a/b/one")))),
                ("link".to_owned(), Some((0o120_000, blob("link")))),
                ("new".to_owned(), Some((0o100_644, blob("new")))),
                ("three".to_owned(), Some((0o100_755, blob("three")))),
                ("two".to_owned(), None),
            ],
            "`git add -N` entries and submodules are not files of the commit"
        );
        assert_eq!(parse_raw_diff(b""), Some(Vec::new()));
        assert_eq!(parse_raw_diff(b"garbage\0"), None);
        let conflict = format!(":100644 000000 {0} {0} U\0f\0", "0".repeat(40));
        assert_eq!(
            parse_raw_diff(conflict.as_bytes()),
            None,
            "a conflict reads the index"
        );
    }
}
