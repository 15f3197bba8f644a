//! The gates replayed on a commit that already exists (pre-push, pre-receive, audit): the commit
//! against its first parent, both read from the object store on demand, with the paths git's
//! tree diff lists as the change.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use crate::content::{Content, Source};
use crate::evidence::Key;

use super::rerun::CommandRunner;
use super::view::View;
use super::{Change, Outcome, Stage};

/// The trailer an overridden commit carries (commit-msg writes it).
pub const OVERRIDE_TRAILER: &str = "Specproof-Override";

/// How the gates judge replayed commits.
pub struct Judge<'a> {
    pub git: &'a Repository,
    pub stage: Stage,
    /// The signing key evidence must verify against (pre-push); None where it cannot be checked.
    pub key: Option<&'a Key>,
    /// Whether command proofs may run (the hook trust of §7.3, or the server's policy).
    pub trusted: &'a dyn Fn(&View<'_, '_>) -> bool,
    /// Makes the runner for one commit's command proofs (a fresh export per commit).
    pub commands: &'a dyn Fn() -> Box<dyn CommandRunner>,
    /// What was fetched (pre-push: the remote-tracking branches' tips), judged where it was
    /// committed: a teammate's signed file a commit keeps unchanged ([`Change::merged`]).
    pub fetched: &'a dyn Fn() -> Vec<Oid>,
    /// Whether a commit is one of those being judged (pre-push: not yet on the remote): a
    /// merge's parent that is was judged by no one else, so it earns no trust.
    pub judging: &'a dyn Fn(Oid) -> bool,
}

/// What the gates found for one commit.
#[derive(Debug)]
pub struct Judged {
    pub oid: Oid,
    /// The first line of the message.
    pub subject: String,
    /// The reason of the commit's `Specproof-Override:` trailer, when it carries one.
    pub override_reason: Option<String>,
    pub outcome: Outcome,
}

impl Judged {
    /// The abbreviated id people read.
    #[must_use]
    pub fn short(&self) -> String {
        self.oid.to_string()[..10].to_owned()
    }
}

impl Judge<'_> {
    /// Replays the gates on `oid` against its first parent.
    ///
    /// # Errors
    /// When the commit or one of the files the gates read cannot be read: nothing can be said
    /// about it, and callers fail closed.
    pub fn commit(&self, oid: Oid) -> Result<Judged> {
        let parent = self
            .git
            .find_commit(oid)
            .with_context(|| format!("cannot read commit {oid}"))?
            .parent_ids()
            .next();
        self.between(parent, oid)
    }

    /// Replays the gates on the change from commit `from` (None: nothing) to commit `oid`, as
    /// if `oid` had been made on top of `from`: what a force push does to the ref it rewrites.
    ///
    /// # Errors
    /// As [`Judge::commit`].
    pub fn between(&self, from: Option<Oid>, oid: Oid) -> Result<Judged> {
        let git = self.git;
        let commit = git
            .find_commit(oid)
            .with_context(|| format!("cannot read commit {oid}"))?;
        let parent = from;
        // A merge judged against its first parent: its other parents are what it merges.
        let other_parents: Vec<Oid> = if from.is_some() && from == commit.parent_ids().next() {
            commit
                .parent_ids()
                .skip(1)
                .filter(|p| !(self.judging)(*p))
                .collect()
        } else {
            Vec::new()
        };
        let (old, new, changed) = contents(git, oid, parent)?;
        let commands = (self.commands)();
        let change = Change {
            git,
            old: old.as_ref(),
            new: &new,
            changed: changed.as_ref(),
            old_commit: parent,
            key: self.key,
            stage: self.stage,
            trusted: self.trusted,
            commands: commands.as_ref(),
            merged: &|| {
                let mut all = other_parents.clone();
                all.extend((self.fetched)());
                all
            },
        };
        let outcome = super::check(&change);
        if let Some(fault) = new
            .fault()
            .or_else(|| old.as_ref().and_then(Content::fault))
        {
            anyhow::bail!("cannot read the files of commit {oid}: {fault}");
        }
        Ok(Judged {
            oid,
            subject: commit
                .summary_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
            override_reason: override_reason(&String::from_utf8_lossy(commit.message_bytes())),
            outcome,
        })
    }
}

impl Judge<'_> {
    /// Judges a ref's jump from commit `old` to commit `new` that its commits' own first-parent
    /// steps do not cover (a force push, or a merge whose first parent is an older commit) as
    /// one change, on two questions: does it still hold every task that was complete at `old`,
    /// unchanged, and does every done or complete criterion still pass? Its other transitions
    /// are not judged: the new commits were judged one by one, and against an unrelated `old`
    /// they would show transitions no commit made (a rebased branch "entering" done).
    ///
    /// # Errors
    /// As [`Judge::commit`].
    pub fn jump(&self, old: Oid, new: Oid) -> Result<Judged> {
        let complete = complete_tasks(self.git, old)?;
        let mut judged = self.between(Some(old), new)?;
        // A config that cannot be used hides everything else: it stays, so the jump fails
        // closed.
        judged.outcome.problems.retain(|p| {
            p.check == super::Check::Regression
                || p.check == super::Check::Config
                || (p.check == super::Check::Lifecycle
                    && p.task.as_ref().is_some_and(|t| complete.contains(t)))
        });
        judged.outcome.warnings.clear();
        Ok(judged)
    }
}

/// Whether following first parents from `tip` through commits of `new` reaches `old`: then the
/// commits' own steps are the whole change from `old` to `tip`.
#[must_use]
pub fn first_parents_reach<S: std::hash::BuildHasher>(
    git: &Repository,
    tip: Oid,
    old: Oid,
    new: &std::collections::HashSet<Oid, S>,
) -> bool {
    let mut at = tip;
    while new.contains(&at) {
        match git.find_commit(at).ok().and_then(|c| c.parent_ids().next()) {
            Some(p) if p == old => return true,
            Some(p) => at = p,
            None => return false,
        }
    }
    at == old
}

/// The tasks complete in commit `oid`, with the blob id of each one's task file.
///
/// # Errors
/// When the commit or its task files cannot be read.
pub fn complete_task_files(
    git: &Repository,
    oid: Oid,
) -> Result<std::collections::BTreeMap<String, Oid>> {
    let content =
        Content::lazy_commit(git, oid).with_context(|| format!("cannot read commit {oid}"))?;
    let view = View::load(&content);
    let complete = view
        .task_metas()
        .into_iter()
        .filter(|(_, m)| m.status == crate::task::Status::Complete)
        .filter_map(|(id, _)| {
            let blob = content.get(&view.task_path(&id))?.oid;
            Some((id, blob))
        })
        .collect();
    if let Some(fault) = content.fault() {
        anyhow::bail!("cannot read the files of commit {oid}: {fault}");
    }
    Ok(complete)
}

/// The IDs of the tasks complete in commit `oid`.
///
/// # Errors
/// When the commit or its task files cannot be read.
pub fn complete_tasks(git: &Repository, oid: Oid) -> Result<BTreeSet<String>> {
    let content =
        Content::lazy_commit(git, oid).with_context(|| format!("cannot read commit {oid}"))?;
    let view = View::load(&content);
    let complete = view
        .task_metas()
        .into_iter()
        .filter(|(_, m)| m.status == crate::task::Status::Complete)
        .map(|(id, _)| id)
        .collect();
    if let Some(fault) = content.fault() {
        anyhow::bail!("cannot read the files of commit {oid}: {fault}");
    }
    Ok(complete)
}

/// The parent's and the commit's contents, and what changed between them as git's tree diff
/// lists it. A root commit, or a change naming a path that is not UTF-8, reads both trees
/// whole (the gates then compare every file, and report such names).
type Contents<'r> = (Option<Content<'r>>, Content<'r>, Option<BTreeSet<String>>);

fn contents(git: &Repository, oid: Oid, parent: Option<Oid>) -> Result<Contents<'_>> {
    let whole = || -> Result<Contents<'_>> {
        let new = Content::commit(git, oid).with_context(|| format!("cannot read commit {oid}"))?;
        let old = parent
            .map(|p| Content::commit(git, p))
            .transpose()
            .with_context(|| format!("cannot read the parent of commit {oid}"))?;
        Ok((old, new, None))
    };
    let Some(parent) = parent else {
        return whole();
    };
    let tree = |c: Oid| git.find_commit(c).and_then(|c| c.tree());
    let (Ok(old_tree), Ok(new_tree)) = (tree(parent), tree(oid)) else {
        return whole();
    };
    let mut changed = BTreeSet::new();
    match diff_trees(git, Some(&old_tree), Some(&new_tree), "", &mut changed) {
        Ok(()) => {}
        Err(Unlisted::NotUtf8) => return whole(),
        Err(Unlisted::Duplicate(name)) => {
            anyhow::bail!(
                "commit {oid} has a tree with two entries named {:?}, which git fsck rejects (duplicateEntries): set `receive.fsckObjects true` on the server so git refuses such objects",
                name.trim_start_matches('/')
            );
        }
        Err(Unlisted::Git(e)) => {
            return Err(anyhow::anyhow!(
                "cannot compare commit {oid} with its parent: {}",
                e.message()
            ));
        }
    }
    let new = Content::lazy(git, Source::Commit(oid), Some(new_tree.id()), Vec::new());
    let old = Content::lazy(git, Source::Commit(parent), Some(old_tree.id()), Vec::new());
    Ok((Some(old), new, Some(changed)))
}

/// Why two trees' changed paths could not be listed.
enum Unlisted {
    NotUtf8,
    Git(git2::Error),
    /// A tree with two entries of one name (git fsck: duplicateEntries).
    Duplicate(String),
}

impl From<git2::Error> for Unlisted {
    fn from(e: git2::Error) -> Self {
        Self::Git(e)
    }
}

/// Adds to `out` every file path (under `prefix`) whose entry differs between `old` and `new`
/// (None: no tree there), as git's tree diff without rename detection lists them. Subtrees with
/// the same id are skipped without being read: a commit that touches one file reads only the
/// trees on its path. Submodules are not files of a content and are left out.
fn diff_trees(
    git: &Repository,
    old: Option<&git2::Tree<'_>>,
    new: Option<&git2::Tree<'_>>,
    prefix: &str,
    out: &mut BTreeSet<String>,
) -> Result<(), Unlisted> {
    type Side = (Oid, Option<git2::ObjectType>, i32);
    const GITLINK: i32 = 0o160_000;
    let mut names: std::collections::BTreeMap<Vec<u8>, (Option<Side>, Option<Side>)> =
        std::collections::BTreeMap::new();
    for (tree, old_side) in [(old, true), (new, false)] {
        let Some(tree) = tree else { continue };
        for e in tree {
            let side = Some((e.id(), e.kind(), e.filemode()));
            let slot = names.entry(e.name_bytes().to_vec()).or_default();
            let held = if old_side { &mut slot.0 } else { &mut slot.1 };
            if held.is_some() {
                // Two entries of one name: tools disagree on which one is the file (git reads
                // the first), so nothing said about it can be trusted.
                return Err(Unlisted::Duplicate(format!(
                    "{prefix}/{}",
                    String::from_utf8_lossy(e.name_bytes())
                )));
            }
            *held = side;
        }
    }
    for (name, (a, b)) in names {
        if a == b {
            continue;
        }
        let name = std::str::from_utf8(&name).map_err(|_| Unlisted::NotUtf8)?;
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let tree_of = |side: Option<Side>| -> Result<Option<git2::Tree<'_>>, Unlisted> {
            match side {
                Some((id, Some(git2::ObjectType::Tree), _)) => Ok(Some(git.find_tree(id)?)),
                _ => Ok(None),
            }
        };
        let (ta, tb) = (tree_of(a)?, tree_of(b)?);
        if ta.is_some() || tb.is_some() {
            diff_trees(git, ta.as_ref(), tb.as_ref(), &path, out)?;
        }
        let file = |side: Option<Side>| {
            side.is_some_and(|(_, kind, mode)| {
                kind != Some(git2::ObjectType::Tree) && mode != GITLINK
            })
        };
        if file(a) || file(b) {
            out.insert(path);
        }
    }
    Ok(())
}

/// The reason of a `Specproof-Override:` line in a commit message, if it has one (the last
/// one). commit-msg writes it as a trailer; where git put it (before a `---` line, say) does
/// not matter: the line declares an override, which is never counted as a pass.
#[must_use]
pub fn override_reason(message: &str) -> Option<String> {
    let prefix = format!("{}:", OVERRIDE_TRAILER.to_ascii_lowercase());
    message
        .lines()
        .rev()
        .filter_map(|l| {
            let lower = l.trim_start().to_ascii_lowercase();
            lower
                .starts_with(&prefix)
                .then(|| l.trim_start()[prefix.len()..].trim().to_owned())
        })
        .find(|reason| !reason.is_empty())
}

/// The commits reachable from `tip` and from none of `known` (each peeled to a commit where it
/// can be; others are ignored), oldest first: what a push adds.
///
/// # Errors
/// When the history cannot be walked.
pub fn new_commits(git: &Repository, tip: Oid, known: &[Oid]) -> Result<Vec<Oid>> {
    let mut walk = git.revwalk().context("cannot walk the history")?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .context("cannot walk the history")?;
    walk.push(tip).context("cannot walk the history")?;
    for k in known {
        if let Ok(commit) = git.find_object(*k, None).and_then(|o| o.peel_to_commit()) {
            walk.hide(commit.id()).context("cannot walk the history")?;
        }
    }
    walk.map(|r| r.context("cannot walk the history")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::sh;

    #[test]
    fn the_override_trailer_is_found_case_insensitively() {
        assert_eq!(
            override_reason("subject\n\nbody\n\nSpecproof-Override: hotfix for prod\n").as_deref(),
            Some("hotfix for prod")
        );
        assert_eq!(
            override_reason("subject\n\nspecproof-override:  x \n").as_deref(),
            Some("x")
        );
        assert_eq!(override_reason("subject"), None);
        // Wherever git put the trailer (above a `---` line, for one), it declares an override.
        assert_eq!(
            override_reason("subject\n\nnotes:\nSpecproof-Override: x\n---\nrow\n").as_deref(),
            Some("x")
        );
        assert_eq!(override_reason("subject\n\nSpecproof-Override:   \n"), None);
    }

    #[test]
    fn a_tree_with_two_entries_of_one_name_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(dir.path(), "git init -q .", &[]);
        let git = Repository::open(dir.path()).expect("open");
        let one = git.blob(b"one").expect("blob");
        let two = git.blob(b"two").expect("blob");
        let entry = |name: &str, oid: Oid| {
            let mut e = format!("100644 {name}\0").into_bytes();
            e.extend_from_slice(oid.as_bytes());
            e
        };
        let odb = git.odb().expect("odb");
        let normal = odb
            .write(git2::ObjectType::Tree, &entry("T-1.md", one))
            .expect("tree");
        let mut bytes = entry("T-1.md", two);
        bytes.extend(entry("T-1.md", one));
        let doubled = odb.write(git2::ObjectType::Tree, &bytes).expect("tree");
        let (a, b) = (
            git.find_tree(normal).expect("tree"),
            git.find_tree(doubled).expect("tree"),
        );
        let mut out = BTreeSet::new();
        assert!(matches!(
            diff_trees(&git, Some(&a), Some(&b), "", &mut out),
            Err(Unlisted::Duplicate(name)) if name.ends_with("T-1.md")
        ));
    }

    #[test]
    fn a_commit_s_change_is_what_git_s_tree_diff_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(
            dir.path(),
            "git init -q -b main . && git config user.name t && git config user.email t@t && \
             mkdir -p a/b && printf 1 > a/b/one && printf 2 > two && printf 3 > three && \
             git add -A && git commit -qm one && \
             printf 1b > a/b/one && git rm -q two && chmod +x three && ln -s three link && \
             git add -A && \
             git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub && \
             git commit -qm two",
            &[],
        );
        let git = Repository::open(dir.path()).expect("open");
        let head = git.head().expect("head").target().expect("oid");
        let parent = git.find_commit(head).expect("commit").parent_id(0).ok();
        let (old, new, changed) = contents(&git, head, parent).expect("contents");
        let changed: Vec<String> = changed.expect("listed").into_iter().collect();
        assert_eq!(changed, ["a/b/one", "link", "three", "two"]);
        assert_eq!(new.read("a/b/one").expect("read"), b"1b");
        assert!(new.get("two").is_none());
        assert_eq!(old.expect("parent").read("two").expect("read"), b"2");
        let (old, whole, changed) = contents(&git, parent.expect("parent"), None).expect("root");
        assert!(old.is_none() && changed.is_none());
        assert_eq!(whole.len(), 3);
        assert_eq!(
            new_commits(&git, head, &[]).expect("walk"),
            [parent.expect("parent"), head]
        );
        assert_eq!(
            new_commits(&git, head, &[parent.expect("parent")]).expect("walk"),
            [head]
        );
    }
}
