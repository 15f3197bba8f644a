//! What an index changes against a tree, read in this process: the list
//! `git diff-index --cached --no-renames --ita-invisible-in-index TREE` prints, without
//! starting git.
//!
//! The index is read with gix-index (mapped, not hashed again, on one thread) and compared
//! with the tree folder by folder, as git compares them: a folder whose entry in the index's
//! cache of trees (the `TREE` extension git keeps up to date) is valid and names the tree's own
//! folder holds no change and is skipped whole. A commit that touches one file of 10,000 reads
//! the few trees on the way to it.
//!
//! Anything this does not handle the way git does gives None, and the caller asks git: a
//! sparse index (folder entries), a conflict (entries in a stage other than 0), a path that is
//! not UTF-8, an index gix-index cannot read, a split index whose shared index it did not read.

use std::ops::Range;
use std::path::Path;

use gix_index::entry::{Flags, Mode};

use crate::content::Entry;

/// Paths with their new entries (None: deleted), sorted by path.
type Changes = Vec<(String, Option<Entry>)>;

/// git's mode of a submodule's commit.
const GITLINK: u32 = 0o160_000;
/// git's mode of a folder in a tree.
const TREE: i32 = 0o040_000;

/// The changes of the index at `index` against tree `base`: each path with its new entry, or
/// None when the index deletes it; sorted by path. Submodules are not files and are left out
/// (a file that becomes a submodule is deleted, and the other way round); entries of
/// `git add -N` are not committed and not listed. None where git must be asked (module
/// documentation).
pub(super) fn changes(git: &git2::Repository, index: &Path, base: git2::Oid) -> Option<Changes> {
    walk(git, index, base).map(|w| w.0)
}

/// [`changes`], and how many of the tree's folders were read to compare them.
fn walk(git: &git2::Repository, index: &Path, base: git2::Oid) -> Option<(Changes, usize)> {
    let options = gix_index::decode::Options {
        thread_limit: Some(1),
        ..Default::default()
    };
    // The trailing checksum is not checked, as git does not check it when it reads the index.
    let file = gix_index::File::at(index, gix_index::hash::Kind::Sha1, true, options).ok()?;
    let state: &gix_index::State = &file;
    if state.link().is_some() || state.is_sparse() {
        return None;
    }
    if state.entries().iter().any(|e| e.stage_raw() != 0) {
        return None;
    }
    let mut walk = Walk {
        git,
        state,
        out: Vec::new(),
        compared: 0,
    };
    walk.folder(b"", Some(base), state.tree(), 0..state.entries().len())?;
    Some((walk.out, walk.compared))
}

struct Walk<'a, 'r> {
    git: &'r git2::Repository,
    state: &'a gix_index::State,
    out: Changes,
    /// Folders of the tree read to compare them with the index.
    compared: usize,
}

/// One name in a folder: of a tree entry, or of the index entries at or below it.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Kind {
    File,
    Folder,
}

impl Walk<'_, '_> {
    /// Compares folder `prefix` (empty, or ending in `/`) of the tree, the tree object `tree`
    /// (None where the tree has no such folder), with the index entries `range` (all below
    /// `prefix`), whose cache of trees is `cached` (None where the index keeps none for this
    /// folder). The tree object is read only when the cache does not say it is the same.
    fn folder(
        &mut self,
        prefix: &[u8],
        tree: Option<git2::Oid>,
        cached: Option<&gix_index::extension::Tree>,
        range: Range<usize>,
    ) -> Option<()> {
        if let (Some(tree), Some(cached)) = (tree, cached)
            && cached.num_entries.is_some()
            && cached.id.as_slice() == tree.as_bytes()
        {
            return Some(());
        }
        let tree = match tree {
            Some(id) => {
                self.compared += 1;
                Some(self.git.find_tree(id).ok()?)
            }
            None => None,
        };
        let entries = &self.state.entries()[range.clone()];
        // The index's side: its names in this folder, in git's order (a folder sorts as its
        // name followed by `/`, as in a tree), each with its entries.
        let mut ours: Vec<(&[u8], Kind, Range<usize>)> = Vec::new();
        let mut pos = 0;
        while pos < entries.len() {
            let path: &[u8] = entries[pos].path(self.state);
            let rest = path.get(prefix.len()..)?;
            let first = range.start + pos;
            if let Some(slash) = memchr::memchr(b'/', rest) {
                let below = &path[..=prefix.len() + slash];
                let end = pos
                    + entries[pos..].partition_point(|e| {
                        let p: &[u8] = e.path(self.state);
                        p.starts_with(below)
                    });
                ours.push((&rest[..slash], Kind::Folder, first..range.start + end));
                pos = end;
            } else {
                ours.push((rest, Kind::File, first..first + 1));
                pos += 1;
            }
        }
        let theirs: Vec<(Vec<u8>, Kind, i32, git2::Oid)> = tree
            .as_ref()
            .map(|t| {
                t.iter()
                    .map(|e| {
                        let kind = if e.filemode() == TREE {
                            Kind::Folder
                        } else {
                            Kind::File
                        };
                        (e.name_bytes().to_vec(), kind, e.filemode(), e.id())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let key = |name: &[u8], kind: Kind| {
            let mut key = name.to_vec();
            if kind == Kind::Folder {
                key.push(b'/');
            }
            key
        };
        let mut ours = ours.into_iter().peekable();
        let mut theirs = theirs.into_iter().peekable();
        loop {
            let order = match (ours.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(index), Some(tree)) => key(index.0, index.1).cmp(&key(&tree.0, tree.1)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    let (name, kind, entries) = ours.next()?;
                    self.added(prefix, name, kind, entries)?;
                }
                std::cmp::Ordering::Greater => {
                    let (name, kind, mode, id) = theirs.next()?;
                    self.deleted(prefix, &name, kind, mode, id)?;
                }
                std::cmp::Ordering::Equal => {
                    let (name, kind, entries) = ours.next()?;
                    let (_, _, mode, id) = theirs.next()?;
                    if kind == Kind::Folder {
                        let child = cached
                            .and_then(|c| c.children.iter().find(|c| c.name.as_slice() == name));
                        let mut below = prefix.to_vec();
                        below.extend_from_slice(name);
                        below.push(b'/');
                        self.folder(&below, Some(id), child, entries)?;
                    } else {
                        let entry = &self.state.entries()[entries.start];
                        let visible = !entry.flags.contains(Flags::INTENT_TO_ADD);
                        let same = visible
                            && entry.mode.bits() == u32::try_from(mode).ok()?
                            && entry.id.as_slice() == id.as_bytes();
                        if !same {
                            let new = visible.then_some(entries.start);
                            self.file(prefix, name, new, Some(mode))?;
                        }
                    }
                }
            }
        }
        Some(())
    }

    /// Index entries `range` under `name`, which the tree does not have.
    fn added(&mut self, prefix: &[u8], name: &[u8], kind: Kind, range: Range<usize>) -> Option<()> {
        match kind {
            Kind::File => {
                let e = &self.state.entries()[range.start];
                if e.flags.contains(Flags::INTENT_TO_ADD) {
                    return Some(());
                }
                self.file(prefix, name, Some(range.start), None)
            }
            Kind::Folder => {
                for i in range {
                    let e = &self.state.entries()[i];
                    if e.flags.contains(Flags::INTENT_TO_ADD) || e.mode.bits() == GITLINK {
                        continue;
                    }
                    let path = std::str::from_utf8(e.path(self.state)).ok()?.to_owned();
                    self.out.push((path.clone(), Some(entry(path, e)?)));
                }
                Some(())
            }
        }
    }

    /// Tree entry `name`, which the index does not have: deleted, with all it holds.
    fn deleted(
        &mut self,
        prefix: &[u8],
        name: &[u8],
        kind: Kind,
        mode: i32,
        id: git2::Oid,
    ) -> Option<()> {
        let mut path = prefix.to_vec();
        path.extend_from_slice(name);
        match kind {
            Kind::File => {
                if u32::try_from(mode).ok()? != GITLINK {
                    self.out.push((String::from_utf8(path).ok()?, None));
                }
                Some(())
            }
            Kind::Folder => {
                let tree = self.git.find_tree(id).ok()?;
                path.push(b'/');
                for e in &tree {
                    let sub = if e.filemode() == TREE {
                        Kind::Folder
                    } else {
                        Kind::File
                    };
                    self.deleted(&path, e.name_bytes(), sub, e.filemode(), e.id())?;
                }
                Some(())
            }
        }
    }

    /// File `name` differs: `new` is its index entry (None: not committed), `old` the tree's
    /// mode (None: not in the tree). A submodule on both sides is no file of either.
    fn file(
        &mut self,
        prefix: &[u8],
        name: &[u8],
        new: Option<usize>,
        old: Option<i32>,
    ) -> Option<()> {
        let new = new.map(|i| &self.state.entries()[i]);
        let new_gitlink = new.is_none_or(|e| e.mode.bits() == GITLINK);
        let old_gitlink = old.is_none_or(|m| u32::try_from(m).ok() == Some(GITLINK));
        if new_gitlink && old_gitlink {
            return Some(());
        }
        let mut path = prefix.to_vec();
        path.extend_from_slice(name);
        let path = String::from_utf8(path).ok()?;
        let entry = match new {
            Some(e) if e.mode.bits() != GITLINK => Some(entry(path.clone(), e)?),
            _ => None,
        };
        self.out.push((path, entry));
        Some(())
    }
}

fn entry(path: String, e: &gix_index::Entry) -> Option<Entry> {
    debug_assert!(e.mode != Mode::DIR);
    Some(Entry {
        path,
        mode: e.mode.bits(),
        oid: git2::Oid::from_bytes(e.id.as_slice()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::testutil::sh;

    type Listed = Vec<(String, Option<(u32, String)>)>;

    fn plain(changes: Vec<(String, Option<Entry>)>) -> Listed {
        changes
            .into_iter()
            .map(|(p, e)| (p, e.map(|e| (e.mode, e.oid.to_string()))))
            .collect()
    }

    /// What `git diff-index` lists for the index of `dir` against HEAD, and what this module
    /// reads (None where it asks git).
    fn both(dir: &Path) -> (Listed, Option<Listed>) {
        let out = std::process::Command::new("git")
            .args(super::super::DIFF_INDEX)
            .args(["HEAD", "--"])
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .expect("git diff-index");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let git_list = plain(super::super::parse_raw_diff(&out.stdout).expect("git's list"));
        let (repo, head) = open(dir);
        let ours = changes(&repo, &repo.path().join("index"), head).map(plain);
        (git_list, ours)
    }

    /// The repository at `dir`, and the id of its HEAD's tree.
    fn open(dir: &Path) -> (git2::Repository, git2::Oid) {
        let repo = git2::Repository::open(dir).expect("open");
        let tree = repo
            .head()
            .expect("head")
            .peel_to_tree()
            .expect("tree")
            .id();
        (repo, tree)
    }

    fn init(dir: &Path) {
        sh(
            dir,
            "git init -q -b main . && git config user.name t && git config user.email t@t",
            &[],
        );
    }

    #[test]
    fn the_changes_are_git_s_in_every_kind_of_folder_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        init(dir.path());
        sh(
            dir.path(),
            "mkdir -p deep/er/est gone/sub keep/same typed a && \
             for f in deep/er/est/f deep/er/g deep/h gone/sub/x gone/y keep/same/z top a/x a.b a-b a0 typed/t tofolder; do echo $f > $f; done && \
             chmod +x deep/h && git add -A && git commit -qm one && \
             echo edit > deep/er/est/f && rm -r gone && rm -r typed && echo now-a-file > typed && \
             rm tofolder && mkdir tofolder && echo in > tofolder/x && chmod -x deep/h && chmod +x top && \
             mkdir -p new/folder && echo n > new/folder/n && ln -s top link && echo a2 > a/y && \
             echo ita > later && git add -N later && git add -A && \
             git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub",
            &[],
        );
        let (git_list, ours) = both(dir.path());
        assert!(git_list.len() > 10, "{git_list:?}");
        assert_eq!(ours.as_ref(), Some(&git_list));
        // The same index in format 4 (prefix-compressed paths), and rebuilt with no cache of
        // trees at all.
        sh(dir.path(), "git update-index --index-version 4", &[]);
        assert_eq!(both(dir.path()), (git_list.clone(), Some(git_list.clone())));
        sh(
            dir.path(),
            "git update-index --index-version 2 && rm .git/index && git add -A && git add -N later",
            &[],
        );
        assert_eq!(both(dir.path()), (git_list.clone(), Some(git_list)));
        // Nothing staged: no change, and the cache of trees says so without reading any tree.
        sh(dir.path(), "git commit -qm two", &[]);
        let (git_list, ours) = both(dir.path());
        assert_eq!((git_list.len(), ours), (0, Some(Vec::new())));
        assert_eq!(compared(dir.path()), (0, 0));
        // One file edited deep down: only the folders on its way are read (the root, `deep`,
        // `deep/er`, `deep/er/est`), not the six others.
        sh(
            dir.path(),
            "echo again > deep/er/est/f && git add deep/er/est/f",
            &[],
        );
        assert_eq!(compared(dir.path()), (1, 4));
        // Without the cache (an index written afresh), every folder the index holds is read.
        sh(dir.path(), "rm .git/index && git add -A", &[]);
        assert_eq!(compared(dir.path()).0, 1);
        assert!(compared(dir.path()).1 > 4);
    }

    /// How many changes the index of `dir` holds against HEAD, and how many trees were read.
    fn compared(dir: &Path) -> (usize, usize) {
        let (repo, head) = open(dir);
        let (list, read) = walk(&repo, &repo.path().join("index"), head).expect("read");
        (list.len(), read)
    }

    #[test]
    fn a_valid_cache_of_another_tree_is_compared_not_trusted() {
        // `git read-tree` leaves the index's cache of trees valid for the tree it read: every
        // folder is valid, but names other trees than HEAD's.
        let dir = tempfile::tempdir().expect("tempdir");
        init(dir.path());
        sh(
            dir.path(),
            "mkdir -p x/y && echo 1 > x/y/f && echo 1 > g && git add -A && git commit -qm one && \
             echo 2 > x/y/f && rm g && echo 3 > x/h && git add -A && git commit -qm two && \
             git reset -q --soft HEAD~1 && git read-tree HEAD@{1}",
            &[],
        );
        let (git_list, ours) = both(dir.path());
        assert_eq!(git_list.len(), 3, "{git_list:?}");
        assert_eq!(ours, Some(git_list));
    }

    #[test]
    fn a_temporary_index_of_git_commit_a_is_read_where_git_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        init(dir.path());
        sh(
            dir.path(),
            "mkdir d && echo 1 > d/f && git add -A && git commit -qm one && \
             echo 2 > d/f && cp .git/index .git/other-index && \
             GIT_INDEX_FILE=.git/other-index git add d/f",
            &[],
        );
        let (repo, head) = open(dir.path());
        let main = changes(&repo, &repo.path().join("index"), head).expect("read");
        assert!(main.is_empty(), "the index itself is unchanged");
        let other = changes(&repo, &repo.path().join("other-index"), head).expect("read");
        assert_eq!(
            other.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["d/f"]
        );
    }

    #[test]
    fn a_split_index_is_read_whole_and_a_sparse_index_and_a_conflict_are_left_to_git() {
        let dir = tempfile::tempdir().expect("tempdir");
        init(dir.path());
        sh(
            dir.path(),
            "mkdir d e && echo 1 > d/f && echo 1 > e/g && git add -A && git commit -qm one && \
             git update-index --split-index && echo 2 > d/f && git add d/f",
            &[],
        );
        let (git_list, ours) = both(dir.path());
        assert_eq!(git_list.len(), 1);
        // gix-index reads the shared index a split index names, and merges the two.
        assert_eq!(ours.as_ref(), Some(&git_list), "a split index is read here");
        let repo = git2::Repository::open(dir.path()).expect("open");
        let head = repo.head().expect("head").target().expect("oid");
        let listed =
            super::super::index_changes(&repo, &super::super::HookEnv::default(), head).map(plain);
        assert_eq!(listed, Some(git_list), "the split index's changes");

        sh(
            dir.path(),
            "git update-index --no-split-index && git commit -qm two && \
             git sparse-checkout init --cone --sparse-index && git sparse-checkout set d && \
             echo 3 > d/f && git add d/f",
            &[],
        );
        let (git_list, ours) = both(dir.path());
        assert_eq!(git_list.len(), 1);
        assert_eq!(ours, None, "sparse index");

        sh(
            dir.path(),
            "git sparse-checkout disable && git commit -qm three && git checkout -q -b other && \
             echo theirs > d/f && git commit -qam theirs && git checkout -q main && \
             echo ours > d/f && git commit -qam ours && (git merge -q other >/dev/null 2>&1 || true)",
            &[],
        );
        let (repo, head) = open(dir.path());
        assert!(
            changes(&repo, &repo.path().join("index"), head).is_none(),
            "a conflict"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Any two versions of a small tree of look-alike names (`a`, `a.b`, `a-b`, `a0`, and
        /// folders of them) holding files, executables, symbolic links, submodules and (in
        /// the second) entries of `git add -N`, the second staged over the first: the list is
        /// git's.
        #[test]
        fn the_list_is_git_s_for_any_two_trees(
            first in proptest::collection::btree_map(path(), (0u8..3, kind()), 0..12),
            second in proptest::collection::btree_map(path(), (0u8..3, kind()), 0..12),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            init(dir.path());
            let first: std::collections::BTreeMap<_, _> = first
                .into_iter()
                .map(|(p, (c, k))| (p, (c, if k == Kind::Added { Kind::Plain } else { k })))
                .collect();
            write(dir.path(), &first);
            sh(dir.path(), "git add -A", &[]);
            stage(dir.path(), &first);
            sh(dir.path(), "git commit -q --allow-empty -m one", &[]);
            sh(dir.path(), "find . -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +", &[]);
            write(dir.path(), &second);
            // `git add -A` adds nothing at or under a submodule's path: the first's go first.
            sh(
                dir.path(),
                "for p in $(git ls-files -s | awk '$1 == \"160000\" { print $4 }'); do git rm -q --cached -- \"$p\"; done && git add -A",
                &[],
            );
            stage(dir.path(), &second);
            let (git_list, ours) = both(dir.path());
            proptest::prop_assert_eq!(ours, Some(git_list));
        }
    }

    /// What a generated path is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Plain,
        Executable,
        Link,
        /// Staged with `git add -N`.
        Added,
        /// A submodule's commit (`git update-index --cacheinfo 160000,…`).
        Submodule,
    }

    fn kind() -> impl proptest::strategy::Strategy<Value = Kind> {
        proptest::sample::select(vec![
            Kind::Plain,
            Kind::Executable,
            Kind::Link,
            Kind::Added,
            Kind::Submodule,
        ])
    }

    /// After `git add -A` of what [`write`] wrote: entries of `git add -N`, and submodules in
    /// place of their files.
    fn stage(dir: &Path, files: &std::collections::BTreeMap<String, (u8, Kind)>) {
        for (path, (content, kind)) in files {
            if !written(files, path) {
                continue;
            }
            let _ = match kind {
                Kind::Added => sh(
                    dir,
                    "git rm -q --cached -- \"$P\" && git add -N -- \"$P\"",
                    &[("P", Path::new(path))],
                ),
                Kind::Submodule => sh(
                    dir,
                    "git rm -q --cached -- \"$P\" && git update-index --add --cacheinfo \"160000,$C,$P\"",
                    &[
                        ("P", Path::new(path)),
                        ("C", Path::new(&format!("{}", content + 1).repeat(40))),
                    ],
                ),
                Kind::Plain | Kind::Executable | Kind::Link => String::new(),
            };
        }
    }

    /// Whether [`write`] writes `path`: not when it is a folder of another path.
    fn written(files: &std::collections::BTreeMap<String, (u8, Kind)>, path: &str) -> bool {
        !files
            .keys()
            .any(|other| other != path && other.starts_with(&format!("{path}/")))
    }

    fn path() -> impl proptest::strategy::Strategy<Value = String> {
        let name = proptest::sample::select(vec!["a", "a.b", "a-b", "a0", "b"]);
        proptest::collection::vec(name, 1..4).prop_map(|parts| parts.join("/"))
    }

    use proptest::strategy::Strategy as _;

    /// Writes `files` (content number, kind), leaving out a file whose path is a folder of
    /// another.
    fn write(dir: &Path, files: &std::collections::BTreeMap<String, (u8, Kind)>) {
        for (path, (content, kind)) in files {
            if !written(files, path) {
                continue;
            }
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            if *kind == Kind::Link {
                std::os::unix::fs::symlink(format!("target{content}"), &file).expect("symlink");
                continue;
            }
            std::fs::write(&file, format!("{content}\n")).expect("write");
            if *kind == Kind::Executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
        }
    }
}
