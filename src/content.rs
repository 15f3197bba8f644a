//! "The content" of SPEC §5.2: the files a proof looks at, from one of three places: the working
//! tree as `git add -A` would stage it, the index git is committing (`GIT_INDEX_FILE` honoured when
//! the repository was opened from the environment), or a commit's tree.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use git2::{ObjectType, Oid, Repository};
use thiserror::Error;

/// Git's file modes.
pub const MODE_FILE: u32 = 0o100_644;
pub const MODE_EXECUTABLE: u32 = 0o100_755;
pub const MODE_SYMLINK: u32 = 0o120_000;
const MODE_GITLINK: u32 = 0o160_000;
/// The index entry flag of `git add -N`.
const INTENT_TO_ADD: u16 = 1 << 13;

/// Where the content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The working tree as `git add -A` would stage it.
    WorkTree,
    /// The index (the one in `GIT_INDEX_FILE` during a hook).
    Index,
    /// A commit's tree.
    Commit(Oid),
}

/// One file of the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// Git's mode: 100644, 100755 or 120000.
    pub mode: u32,
    /// Git's blob id of the content.
    pub oid: Oid,
}

/// Reading the content failed.
#[derive(Debug, Error)]
pub enum ContentError {
    #[error("cannot read the git {what}: {message}")]
    Git { what: &'static str, message: String },
    #[error("cannot read {}: {cause}", .path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{0} is not a file of this content")]
    NotFound(String),
    #[error("the repository has no working tree")]
    NoWorkTree,
}

fn git(what: &'static str) -> impl Fn(git2::Error) -> ContentError {
    move |e| ContentError::Git {
        what,
        message: e.message().to_owned(),
    }
}

type Map = BTreeMap<Vec<u8>, Entry>;

/// The files of one content, sorted by path bytes, with a way to read each.
pub struct Content<'r> {
    repo: &'r Repository,
    source: Source,
    /// Every file. A lazy content fills it only when something needs the whole list.
    entries: OnceLock<Map>,
    /// Files whose names are not UTF-8 (shown lossily): no proof can name them, so they are
    /// left out and reported.
    skipped: OnceLock<Vec<String>>,
    /// What git said about files it could not add to the working tree's content.
    notes: Vec<String>,
    /// How a lazy content reads what is asked of it before (or instead of) the whole list.
    lazy: Option<Lazy>,
}

/// A content read on demand: a tree with changes on top (what a commit's hook judges: the
/// parent's tree and what the index changes). A file or folder asked for is read from the tree
/// alone, so a commit that touches few files reads few of the tree's objects; the whole list is
/// read only when something asks for every file.
struct Lazy {
    /// The tree under the changes; None: the empty tree.
    base: Option<Oid>,
    /// The files the changes add or edit (Some) and delete (None), by path.
    changes: BTreeMap<Vec<u8>, Option<Entry>>,
    /// What was read: one file (`f:` and its path) or one folder with everything under it
    /// (`d:` and its path) per slot, and where its slot is. Slots are filled once and never
    /// move, so what was read can be lent out for as long as the content lives.
    slots: Box<[OnceLock<Map>]>,
    names: Mutex<HashMap<String, usize>>,
    /// The first error a read on demand met (the content then looks empty there, and the
    /// caller must check [`Content::fault`]).
    fault: Mutex<Option<String>>,
}

/// How many files and folders a lazy content reads on demand before it reads the whole list.
const SLOTS: usize = 512;

impl std::fmt::Debug for Content<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("source", &self.source)
            .field("files", &self.entries.get().map(BTreeMap::len))
            .field("lazy", &self.lazy.is_some())
            .finish()
    }
}

/// The blobs of tree `tree`, under `prefix` (empty, or a folder path ending in `/`).
fn walk(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
) -> Result<(Map, Vec<String>), ContentError> {
    let mut entries = BTreeMap::new();
    let mut skipped = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(ObjectType::Blob) {
            let mut path = prefix.as_bytes().to_vec();
            path.extend_from_slice(dir.as_bytes());
            path.extend_from_slice(e.name_bytes());
            let mode = u32::try_from(e.filemode()).unwrap_or(MODE_FILE);
            let Ok(text) = String::from_utf8(path.clone()) else {
                skipped.push(String::from_utf8_lossy(&path).into_owned());
                return git2::TreeWalkResult::Ok;
            };
            entries.insert(
                path,
                Entry {
                    path: text,
                    mode,
                    oid: e.id(),
                },
            );
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(git("tree"))?;
    let _ = repo;
    Ok((entries, skipped))
}

/// The entries of `map` under folder `dir` (no trailing `/`; empty: all).
fn range<'a, V>(
    map: &'a BTreeMap<Vec<u8>, V>,
    dir: &str,
) -> impl Iterator<Item = (&'a Vec<u8>, &'a V)> + 'a {
    if dir.is_empty() {
        return map.range::<Vec<u8>, _>(..);
    }
    let mut start = dir.as_bytes().to_vec();
    start.push(b'/');
    let mut end = dir.as_bytes().to_vec();
    // `0` sorts right after `/`: every path starting `dir/` lies in [dir/, dir0).
    end.push(b'/' + 1);
    map.range(start..end)
}

impl<'r> Content<'r> {
    /// The index git is committing: `index_file` when given (the `GIT_INDEX_FILE` of a hook:
    /// `git commit -a` and `git commit <path>` commit a temporary index), else the repository's.
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn index(repo: &'r Repository, index_file: Option<&Path>) -> Result<Self, ContentError> {
        let index = match index_file {
            Some(path) => {
                // libgit2 would open a missing file as an empty index: that is an error here.
                if !path.is_file() {
                    return Err(ContentError::Io {
                        path: path.to_path_buf(),
                        cause: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no index file there",
                        ),
                    });
                }
                git2::Index::open(path).map_err(git("index"))?
            }
            None => repo.index().map_err(git("index"))?,
        };
        let mut entries = BTreeMap::new();
        let mut skipped = Vec::new();
        for e in index.iter() {
            let stage = (e.flags >> 12) & 0x3;
            // Conflict stages, submodules and `git add -N` placeholders are not files git
            // would commit.
            let intent_to_add = e.flags_extended & INTENT_TO_ADD != 0;
            if stage != 0 || e.mode == MODE_GITLINK || intent_to_add {
                continue;
            }
            let Ok(path) = String::from_utf8(e.path.clone()) else {
                skipped.push(String::from_utf8_lossy(&e.path).into_owned());
                continue;
            };
            entries.insert(
                e.path.clone(),
                Entry {
                    path,
                    mode: e.mode,
                    oid: e.id,
                },
            );
        }
        Ok(Self::whole(
            repo,
            Source::Index,
            entries,
            skipped,
            Vec::new(),
        ))
    }

    fn whole(
        repo: &'r Repository,
        source: Source,
        entries: Map,
        skipped: Vec<String>,
        notes: Vec<String>,
    ) -> Self {
        Self {
            repo,
            source,
            entries: OnceLock::from(entries),
            skipped: OnceLock::from(skipped),
            notes,
            lazy: None,
        }
    }

    /// The tree `base` (None: the empty tree) with `changes` on top (a file added or edited:
    /// Some, deleted: None), read on demand: what a hook judges when git has listed what the
    /// index changes against the parent. Check [`Content::fault`] after use.
    #[must_use]
    pub fn lazy(
        repo: &'r Repository,
        source: Source,
        base: Option<Oid>,
        changes: impl IntoIterator<Item = (String, Option<Entry>)>,
    ) -> Self {
        Self {
            repo,
            source,
            entries: OnceLock::new(),
            skipped: OnceLock::new(),
            notes: Vec::new(),
            lazy: Some(Lazy {
                base,
                changes: changes
                    .into_iter()
                    .map(|(p, e)| (p.into_bytes(), e))
                    .collect(),
                slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
                names: Mutex::new(HashMap::new()),
                fault: Mutex::new(None),
            }),
        }
    }

    /// The tree of `commit`, read on demand (see [`Content::lazy`]).
    ///
    /// # Errors
    /// When the commit cannot be read.
    pub fn lazy_commit(repo: &'r Repository, commit: Oid) -> Result<Self, ContentError> {
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git("commit"))?;
        Ok(Self::lazy(
            repo,
            Source::Commit(commit),
            Some(tree.id()),
            std::iter::empty(),
        ))
    }

    /// The first error met reading a lazy content on demand: what was asked then looked
    /// empty, so a caller that read one must not trust its findings.
    #[must_use]
    pub fn fault(&self) -> Option<String> {
        let lazy = self.lazy.as_ref()?;
        lazy.fault.lock().ok().and_then(|f| f.clone())
    }

    fn failed(&self, e: &ContentError) {
        if let Some(lazy) = &self.lazy
            && let Ok(mut f) = lazy.fault.lock()
        {
            f.get_or_insert_with(|| e.to_string());
        }
    }

    /// Every file, read now if this content is lazy.
    fn all(&self) -> &Map {
        self.entries.get_or_init(|| {
            let Some(lazy) = &self.lazy else {
                return Map::new();
            };
            let read = || -> Result<(Map, Vec<String>), ContentError> {
                let (mut map, skipped) = match lazy.base {
                    Some(base) => {
                        let tree = self.repo.find_tree(base).map_err(git("tree"))?;
                        walk(self.repo, &tree, "")?
                    }
                    None => (Map::new(), Vec::new()),
                };
                for (path, change) in &lazy.changes {
                    match change {
                        Some(e) => map.insert(path.clone(), e.clone()),
                        None => map.remove(path),
                    };
                }
                Ok((map, skipped))
            };
            match read() {
                Ok((map, skipped)) => {
                    let _ = self.skipped.set(skipped);
                    map
                }
                Err(e) => {
                    self.failed(&e);
                    Map::new()
                }
            }
        })
    }

    /// A lazy content's slot for `key`, filled by `fill` the first time; None when every slot
    /// is taken (the caller then reads the whole list).
    fn slot<'a>(
        &'a self,
        lazy: &'a Lazy,
        key: String,
        fill: impl FnOnce() -> Result<Map, ContentError>,
    ) -> Option<&'a Map> {
        let index = {
            let mut names = lazy.names.lock().ok()?;
            let next = names.len();
            match names.get(&key) {
                Some(i) => *i,
                None if next < lazy.slots.len() => {
                    names.insert(key, next);
                    next
                }
                None => return None,
            }
        };
        let cell = lazy.slots.get(index)?;
        Some(cell.get_or_init(|| match fill() {
            Ok(map) => map,
            Err(e) => {
                self.failed(&e);
                Map::new()
            }
        }))
    }

    /// The base tree's entry at `path`, if it is a file.
    fn base_file(&self, lazy: &Lazy, path: &str) -> Result<Option<Entry>, ContentError> {
        let Some(base) = lazy.base else {
            return Ok(None);
        };
        let tree = self.repo.find_tree(base).map_err(git("tree"))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(git("tree")(e)),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        Ok(Some(Entry {
            path: path.to_owned(),
            mode: u32::try_from(entry.filemode()).unwrap_or(MODE_FILE),
            oid: entry.id(),
        }))
    }

    /// Every file under folder `dir` of a lazy content, changes applied.
    fn folder(&self, lazy: &Lazy, dir: &str) -> Result<Map, ContentError> {
        let mut map = Map::new();
        if let Some(base) = lazy.base {
            let tree = self.repo.find_tree(base).map_err(git("tree"))?;
            match tree.get_path(Path::new(dir)) {
                Ok(e) if e.kind() == Some(ObjectType::Tree) => {
                    let sub = self.repo.find_tree(e.id()).map_err(git("tree"))?;
                    map = walk(self.repo, &sub, &format!("{dir}/"))?.0;
                }
                Ok(_) => {}
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(git("tree")(e)),
            }
        }
        for (path, change) in range(&lazy.changes, dir) {
            match change {
                Some(e) => map.insert(path.clone(), e.clone()),
                None => map.remove(path),
            };
        }
        Ok(map)
    }

    /// The tree of `commit`.
    ///
    /// # Errors
    /// When the commit or its tree cannot be read.
    pub fn commit(repo: &'r Repository, commit: Oid) -> Result<Self, ContentError> {
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git("commit"))?;
        let mut content = Self::tree(repo, tree.id())?;
        content.source = Source::Commit(commit);
        Ok(content)
    }

    /// The files of tree `tree` (as the index's content: what `git write-tree` made of it).
    ///
    /// # Errors
    /// When the tree cannot be read.
    pub fn tree(repo: &'r Repository, tree: Oid) -> Result<Self, ContentError> {
        let tree = repo.find_tree(tree).map_err(git("tree"))?;
        let (entries, skipped) = walk(repo, &tree, "")?;
        Ok(Self::whole(
            repo,
            Source::Index,
            entries,
            skipped,
            Vec::new(),
        ))
    }

    /// The working tree as `git add -A` would stage it, computed by git itself: `git add -A`
    /// into a temporary copy of the index (the real index is never touched). git applies its
    /// own rules: .gitignore, end-of-line conversion and clean filters, `core.filemode`,
    /// `core.symlinks`, sparse checkouts; files whose stat data shows them unchanged are not
    /// read. The blobs of changed files go to the object store, as `git add` puts them there,
    /// and are read from it.
    ///
    /// # Errors
    /// When git cannot be run or fails (a file it cannot read, for one).
    pub fn worktree(repo: &'r Repository) -> Result<Self, ContentError> {
        let root = repo
            .workdir()
            .ok_or(ContentError::NoWorkTree)?
            .to_path_buf();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |cause| ContentError::Io { path, cause }
        };
        remove_stale_scratch(repo.path());
        // In the git dir: the same file system as the index, never in the working tree.
        let scratch = tempfile::Builder::new()
            .prefix("specproof-index-")
            .tempdir_in(repo.path())
            .map_err(io(repo.path()))?;
        let index = scratch.path().join("index");
        let real = repo.path().join("index");
        if real.is_file() {
            // The copy keeps the index's modification time: git compares it with each file's to
            // spot files changed in the same second the index was written ("racy git"); a newer
            // copy would make git trust stale stat data and keep an old blob.
            let copied = std::fs::copy(&real, &index)
                .and_then(|_| std::fs::metadata(&real)?.modified())
                .and_then(|mtime| {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&index)?
                        .set_modified(mtime)
                });
            copied.map_err(|e| ContentError::Git {
                what: "working tree",
                message: format!("cannot copy the index to {}: {e}", index.display()),
            })?;
        }
        let mut cmd = std::process::Command::new("git");
        cmd.arg("--git-dir")
            .arg(repo.path())
            .arg("--work-tree")
            .arg(&root)
            // A plain index libgit2 reads (no split index), no advice text, and files git
            // cannot add (an embedded repository without a commit, a path outside a sparse
            // checkout, an unreadable file) reported rather than stopping the whole add.
            .args([
                "-c",
                "core.splitIndex=false",
                "-c",
                "advice.addEmbeddedRepo=false",
                "-c",
                "advice.updateSparsePath=false",
                "add",
                "-A",
                "--ignore-errors",
                "--",
                ".",
            ])
            .current_dir(&root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(crate::proof::command::is_git_local)
            {
                cmd.env_remove(&name);
            }
        }
        cmd.env("GIT_INDEX_FILE", &index);
        let out = cmd.output().map_err(|e| ContentError::Git {
            what: "working tree",
            message: format!("cannot run `git add -A` into a copy of the index: {e}"),
        })?;
        let said = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && (said.contains("fatal:") || out.status.code().is_none()) {
            return Err(ContentError::Git {
                what: "working tree",
                message: format!(
                    "`git add -A` into a copy of the index failed: {}",
                    said.trim()
                ),
            });
        }
        // Files git could not add are left out, and said so.
        let notes: Vec<String> = if out.status.success() {
            Vec::new()
        } else {
            said.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
                .map(|l| format!("git add -A: {l}"))
                .collect()
        };
        if !index.is_file() {
            // Nothing tracked and nothing to add: git wrote no index.
            return Ok(Self::whole(
                repo,
                Source::WorkTree,
                BTreeMap::new(),
                Vec::new(),
                notes,
            ));
        }
        let mut content = Self::index(repo, Some(&index))?;
        content.source = Source::WorkTree;
        content.notes = notes;
        Ok(content)
    }

    /// The files of this content among `paths` (a content of its own, read from the same
    /// repository): what a change touched, for matching globs against only those.
    #[must_use]
    pub fn subset<'p>(&self, paths: impl IntoIterator<Item = &'p String>) -> Self {
        let entries = paths
            .into_iter()
            .filter_map(|p| self.get(p).map(|e| (p.as_bytes().to_vec(), e.clone())))
            .collect();
        Self::whole(
            self.repo,
            self.source.clone(),
            entries,
            Vec::new(),
            Vec::new(),
        )
    }

    /// What `git add -A` said about files it could not add (working tree only).
    #[must_use]
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Files left out because their names are not UTF-8.
    #[must_use]
    pub fn skipped(&self) -> &[String] {
        self.all();
        self.skipped.get().map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Every file, sorted by path bytes.
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.all().values()
    }

    /// The file at `path`, if the content has it. A lazy content reads just that entry.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Entry> {
        if let (Some(lazy), None) = (&self.lazy, self.entries.get()) {
            // A folder already read holds it.
            let read = lazy.names.lock().ok().and_then(|names| {
                let mut dir = path;
                while let Some(i) = dir.rfind('/') {
                    dir = &dir[..i];
                    if let Some(slot) = names.get(&format!("d:{dir}")) {
                        return Some(*slot);
                    }
                }
                None
            });
            if let Some(map) = read.and_then(|i| lazy.slots.get(i)?.get()) {
                return map.get(path.as_bytes());
            }
            let one = self.slot(lazy, format!("f:{path}"), || {
                let mut map = Map::new();
                let entry = match lazy.changes.get(path.as_bytes()) {
                    Some(change) => change.clone(),
                    None => self.base_file(lazy, path)?,
                };
                if let Some(e) = entry {
                    map.insert(path.as_bytes().to_vec(), e);
                }
                Ok(map)
            });
            if let Some(map) = one {
                return map.get(path.as_bytes());
            }
        }
        self.all().get(path.as_bytes())
    }

    /// The files under folder `dir` (no trailing `/`), sorted by path bytes: a range of the
    /// sorted list, not a scan. A lazy content reads just that folder.
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a Entry> + 'a {
        let read = match (&self.lazy, self.entries.get(), dir.is_empty()) {
            (Some(lazy), None, false) => {
                self.slot(lazy, format!("d:{dir}"), || self.folder(lazy, dir))
            }
            _ => None,
        };
        range(read.unwrap_or_else(|| self.all()), dir).map(|(_, e)| e)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.all().len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.all().is_empty()
    }

    /// The size in bytes of `entry`, without reading it: from the file system for the working
    /// tree, from the object header otherwise.
    ///
    /// # Errors
    /// When the file or object cannot be looked at.
    pub fn size(&self, entry: &Entry) -> Result<u64, ContentError> {
        let odb = self.repo.odb().map_err(git("object store"))?;
        let (size, _) = odb.read_header(entry.oid).map_err(git("object header"))?;
        Ok(size as u64)
    }

    /// The bytes of `path`: from the object store for the index and commits, from disk for the
    /// working tree (the target's path for a symlink).
    ///
    /// # Errors
    /// When the file is not in the content or cannot be read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ContentError> {
        let entry = self
            .get(path)
            .ok_or_else(|| ContentError::NotFound(path.to_owned()))?;
        let blob = self.repo.find_blob(entry.oid).map_err(git("blob"))?;
        Ok(blob.content().to_vec())
    }
}

/// Removes scratch index folders an interrupted run left in `git_dir` over an hour ago.
fn remove_stale_scratch(git_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(git_dir) else {
        return;
    };
    let hour = std::time::Duration::from_hours(1);
    for e in entries.filter_map(Result::ok) {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if old
            && e.file_name()
                .to_string_lossy()
                .starts_with("specproof-index-")
        {
            // Best effort: another run's leftovers, not this run's data.
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::sh;

    /// A repository with a committed tree of ordinary, executable, nested, binary and symlinked
    /// files, then changes in the working tree: one modified, one deleted, one new, one ignored.
    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(
            dir.path(),
            "git init -q -b main . && git config user.name t && git config user.email t@t && \
             mkdir -p src/deep 'with space' && printf 'fn a() {}\\n' > src/lib.rs && printf 'x' > src/deep/x.rs && \
             printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh && printf '\\377\\000bin' > blob.bin && \
             printf 'sp' > 'with space/f.txt' && ln -s src/lib.rs link && printf 'ignored.txt\\n' > .gitignore && \
             git add -A && git -c commit.gpgsign=false commit -qm one && \
             printf 'changed' > src/lib.rs && rm src/deep/x.rs && printf 'new' > new.txt && printf 'i' > ignored.txt",
            &[],
        );
        dir
    }

    /// `git ls-files -s` of an index, as (mode, oid, path) lines.
    fn ls_files(dir: &Path, index: Option<&Path>) -> Vec<String> {
        let env: Vec<(&str, &Path)> = index
            .map(|i| vec![("GIT_INDEX_FILE", i)])
            .unwrap_or_default();
        // NUL-separated: names are given as they are, not quoted.
        let out = sh(
            dir,
            "git ls-files -z --format='%(objectmode) %(objectname) %(path)'",
            &env,
        );
        out.split('\0')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn lines(content: &Content<'_>) -> Vec<String> {
        content
            .files()
            .map(|e| format!("{:06o} {} {}", e.mode, e.oid, e.path))
            .collect()
    }

    #[test]
    fn a_lazy_content_reads_only_what_is_asked_and_agrees_with_the_whole_list() {
        let dir = fixture();
        sh(dir.path(), "git add -A", &[]);
        let repo = Repository::open(dir.path()).expect("open");
        let head = repo.head().expect("head").peel_to_commit().expect("commit");
        let tree = head.tree().expect("tree").id();
        let index = Content::index(&repo, None).expect("index");
        let parent = Content::tree(&repo, tree).expect("tree");
        // What the index changes against the parent, as a hook gets it from git.
        let mut changes: Vec<(String, Option<Entry>)> = index
            .files()
            .filter(|e| parent.get(&e.path) != Some(*e))
            .map(|e| (e.path.clone(), Some(e.clone())))
            .collect();
        changes.extend(
            parent
                .files()
                .filter(|e| index.get(&e.path).is_none())
                .map(|e| (e.path.clone(), None)),
        );
        assert_eq!(changes.len(), 3, "{changes:?}");
        let lazy = Content::lazy(&repo, Source::Index, Some(tree), changes);
        assert_eq!(lazy.get("src/lib.rs"), index.get("src/lib.rs"));
        assert!(lazy.get("src/deep/x.rs").is_none(), "deleted by the change");
        assert_eq!(lazy.get("new.txt"), index.get("new.txt"));
        assert_eq!(lazy.get("with space/f.txt"), index.get("with space/f.txt"));
        assert!(lazy.get("src").is_none(), "a folder is not a file");
        assert!(lazy.get("nothing/here").is_none());
        let under = |c: &Content<'_>, dir: &str| c.under(dir).cloned().collect::<Vec<_>>();
        assert_eq!(under(&lazy, "src"), under(&index, "src"));
        assert_eq!(under(&lazy, "src/deep"), Vec::new());
        assert_eq!(under(&lazy, "with space"), under(&index, "with space"));
        assert_eq!(lazy.read("src/lib.rs").expect("read"), b"changed");
        assert!(
            lazy.entries.get().is_none(),
            "files and folders asked one by one never read the whole tree"
        );
        assert_eq!(lines(&lazy), lines(&index));
        assert!(lazy.fault().is_none());
        // A tree that cannot be read is a fault the caller sees, not an empty content.
        let missing = Oid::from_str("1111111111111111111111111111111111111111").expect("oid");
        let broken = Content::lazy(&repo, Source::Index, Some(missing), Vec::new());
        assert!(broken.get("src/lib.rs").is_none());
        assert!(broken.fault().is_some_and(|f| f.contains("tree")));
    }

    #[test]
    fn the_index_is_what_git_ls_files_lists() {
        let dir = fixture();
        let repo = Repository::open(dir.path()).expect("open");
        let content = Content::index(&repo, None).expect("index");
        assert_eq!(lines(&content), ls_files(dir.path(), None));
        assert!(content.get("link").is_some_and(|e| e.mode == MODE_SYMLINK));
        assert!(
            content
                .get("run.sh")
                .is_some_and(|e| e.mode == MODE_EXECUTABLE)
        );
        assert_eq!(
            content.read("src/lib.rs").expect("read"),
            b"fn a() {}\n",
            "the staged blob, not the disk"
        );
    }

    #[test]
    fn the_working_tree_is_what_git_add_all_would_stage() {
        let dir = fixture();
        // What `git add -A` stages, computed by git itself in a copy of the index.
        let copy = dir.path().join(".git/index.copy");
        std::fs::copy(dir.path().join(".git/index"), &copy).expect("copy index");
        sh(dir.path(), "git add -A", &[("GIT_INDEX_FILE", &copy)]);
        let expected = ls_files(dir.path(), Some(&copy));

        let repo = Repository::open(dir.path()).expect("open");
        let content = Content::worktree(&repo).expect("worktree");
        assert_eq!(lines(&content), expected);
        assert!(content.get("ignored.txt").is_none());
        assert!(content.get("src/deep/x.rs").is_none());
        assert_eq!(content.read("src/lib.rs").expect("read"), b"changed");
        assert_eq!(content.read("link").expect("read link"), b"src/lib.rs");
        // Reading the working tree changed neither the index nor the files.
        assert_eq!(ls_files(dir.path(), None).len(), 7);
    }

    #[test]
    fn end_of_line_conversion_filters_and_odd_names_are_as_git_add_stages_them() {
        let dir = fixture();
        sh(
            dir.path(),
            "printf 'a\\r\\nb\\r\\n' > kept-crlf.txt && git add kept-crlf.txt && \
             git config core.autocrlf true && printf 'a\\r\\nb\\r\\nc\\r\\n' > kept-crlf.txt && \
             printf 'x\\r\\ny\\r\\n' > new-crlf.txt && \
             printf '*.up filter=upper\\n' > .gitattributes && \
             git config filter.upper.clean 'tr a-z A-Z' && printf 'shout\\n' > x.up && \
             printf 'q\\n' > '\"a\"' && printf 'plain\\n' > a && printf 'cr\\n' > \"$(printf 'c\\r')\" && \
             printf 'dash\\n' > ./-n",
            &[],
        );
        let copy = dir.path().join(".git/index.copy");
        std::fs::copy(dir.path().join(".git/index"), &copy).expect("copy index");
        sh(dir.path(), "git add -A", &[("GIT_INDEX_FILE", &copy)]);
        let repo = Repository::open(dir.path()).expect("open");
        let before = std::fs::read(dir.path().join(".git/index")).expect("index");
        let content = Content::worktree(&repo).expect("worktree");
        assert_eq!(lines(&content), ls_files(dir.path(), Some(&copy)));
        // What proofs read is what git stores: converted, filtered.
        assert_eq!(content.read("new-crlf.txt").expect("read"), b"x\ny\n");
        assert_eq!(content.read("x.up").expect("read"), b"SHOUT\n");
        assert_eq!(content.read("\"a\"").expect("read"), b"q\n");
        assert_eq!(
            std::fs::read(dir.path().join(".git/index")).expect("index"),
            before,
            "the real index is untouched"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".git"))
            .expect("git dir")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("specproof-index-")
            })
            .collect();
        assert!(leftovers.is_empty(), "the scratch index is removed");
    }

    #[test]
    fn a_file_changed_in_the_second_the_index_was_written_is_read_as_it_is_now() {
        let dir = fixture();
        // Same size, same second: only the index's own time tells git to look again.
        sh(
            dir.path(),
            "printf 'old\\n' > racy.txt && git add racy.txt && printf 'new\\n' > racy.txt",
            &[],
        );
        // Later, when a copy made now would look newer than the file.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let repo = Repository::open(dir.path()).expect("open");
        let content = Content::worktree(&repo).expect("worktree");
        assert_eq!(content.read("racy.txt").expect("read"), b"new\n");
    }

    #[test]
    fn files_git_cannot_add_are_left_out_with_what_git_said() {
        let dir = fixture();
        sh(
            dir.path(),
            "git init -q emb && printf 'x' > emb/x && printf 'y' > added.txt && \
             git update-index --split-index",
            &[],
        );
        let repo = Repository::open(dir.path()).expect("open");
        let content = Content::worktree(&repo).expect("worktree, also with a split index");
        assert!(content.get("added.txt").is_some());
        assert!(content.get("emb/x").is_none());
        assert!(
            content
                .notes()
                .iter()
                .any(|n| n.contains("'emb/' does not have a commit checked out")),
            "{:?}",
            content.notes()
        );
    }

    #[test]
    fn modes_follow_git_owner_bit_and_core_filemode() {
        let dir = fixture();
        // Group-only exec bit: git stages 100644. With core.filemode=false a chmod is ignored.
        sh(
            dir.path(),
            "printf 'g' > group.sh && chmod 0654 group.sh && git config core.filemode false && chmod -x run.sh && \
             printf 'n' > new.sh && chmod +x new.sh && rm link && printf 'was a link' > link && chmod +x link",
            &[],
        );
        let copy = dir.path().join(".git/index.copy");
        std::fs::copy(dir.path().join(".git/index"), &copy).unwrap();
        sh(dir.path(), "git add -A", &[("GIT_INDEX_FILE", &copy)]);
        let repo = Repository::open(dir.path()).unwrap();
        let content = Content::worktree(&repo).unwrap();
        assert_eq!(lines(&content), ls_files(dir.path(), Some(&copy)));
        assert_eq!(content.get("group.sh").map(|e| e.mode), Some(MODE_FILE));
        assert_eq!(content.get("run.sh").map(|e| e.mode), Some(MODE_EXECUTABLE));
        assert_eq!(content.get("new.sh").map(|e| e.mode), Some(MODE_FILE));
        assert_eq!(content.get("link").map(|e| e.mode), Some(MODE_FILE));
    }

    #[test]
    fn intent_to_add_entries_and_missing_index_files() {
        let dir = fixture();
        sh(dir.path(), "git add -N new.txt", &[]);
        let repo = Repository::open(dir.path()).unwrap();
        assert!(
            Content::index(&repo, None)
                .unwrap()
                .get("new.txt")
                .is_none(),
            "git add -N commits nothing"
        );
        let err = Content::index(&repo, Some(&dir.path().join(".git/no-such-index"))).unwrap_err();
        assert!(err.to_string().contains("no-such-index"), "{err}");
    }

    #[test]
    fn sizes_are_known_without_reading() {
        let dir = fixture();
        let repo = Repository::open(dir.path()).unwrap();
        for content in [
            Content::index(&repo, None).unwrap(),
            Content::worktree(&repo).unwrap(),
        ] {
            for entry in content.files() {
                let size = content.size(entry).unwrap();
                assert_eq!(
                    size,
                    content.read(&entry.path).unwrap().len() as u64,
                    "{} in {:?}",
                    entry.path,
                    content.source()
                );
            }
        }
    }

    #[test]
    fn another_index_file_is_read_when_given() {
        let dir = fixture();
        let other = dir.path().join(".git/index.other");
        std::fs::copy(dir.path().join(".git/index"), &other).expect("copy index");
        sh(dir.path(), "git add new.txt", &[("GIT_INDEX_FILE", &other)]);
        let repo = Repository::open(dir.path()).expect("open");
        let content = Content::index(&repo, Some(&other)).expect("index");
        assert_eq!(lines(&content), ls_files(dir.path(), Some(&other)));
        assert!(content.get("new.txt").is_some());
        assert!(
            Content::index(&repo, None)
                .expect("index")
                .get("new.txt")
                .is_none()
        );
    }

    #[test]
    fn a_commit_is_what_git_ls_tree_lists() {
        let dir = fixture();
        let out = sh(
            dir.path(),
            "git ls-tree -r --format='%(objectmode) %(objectname) %(path)' HEAD",
            &[],
        );
        let head = sh(dir.path(), "git rev-parse HEAD", &[]);
        let repo = Repository::open(dir.path()).expect("open");
        let content =
            Content::commit(&repo, Oid::from_str(head.trim()).expect("oid")).expect("commit");
        assert_eq!(
            lines(&content),
            out.lines().map(str::to_owned).collect::<Vec<_>>()
        );
        assert_eq!(content.read("blob.bin").expect("read"), b"\xff\x00bin");
    }
}
