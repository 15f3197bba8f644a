//! Finding the repository the way git does: from `--repo DIR` or the current folder, also from a
//! subfolder, honouring `GIT_DIR` and the other variables git reads when no folder is given.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why no usable repository was found.
#[derive(Debug, Error)]
pub enum RepoError {
    #[error("{} does not exist; pass --repo with a folder inside a git repository", .0.display())]
    NoSuchDir(PathBuf),
    #[error("{} is a file; pass --repo with a folder inside a git repository", .0.display())]
    NotADir(PathBuf),
    #[error("{} is not inside a git repository: run `git init` there first, or pass --repo DIR", .0.display())]
    NotARepo(PathBuf),
    #[error("cannot open the git repository at {}: {}", .dir.display(), .source.message())]
    Open { dir: PathBuf, source: git2::Error },
    #[error("{} is a bare repository; this command needs a working tree (a clone)", .0.display())]
    Bare(PathBuf),
    #[error("cannot resolve the working tree {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An opened repository with a working tree.
pub struct Repo {
    /// The working tree's root, canonical.
    pub root: PathBuf,
    pub git: git2::Repository,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Repo {
    /// Opens the repository containing `dir`, or, without `dir`, the one git would use from the
    /// current folder and environment.
    ///
    /// # Errors
    /// When the folder does not exist, is not in a repository, or the repository is bare.
    pub fn discover(dir: Option<&Path>, cwd: &Path) -> Result<Self, RepoError> {
        let git = match dir {
            Some(dir) => {
                let dir = cwd.join(dir);
                if dir.is_file() {
                    return Err(RepoError::NotADir(dir));
                }
                if !dir.is_dir() {
                    return Err(RepoError::NoSuchDir(dir));
                }
                git2::Repository::discover(&dir).map_err(|source| open_error(dir, source))?
            }
            None => git2::Repository::open_from_env()
                .map_err(|source| open_error(cwd.to_path_buf(), source))?,
        };
        let Some(workdir) = git.workdir() else {
            return Err(RepoError::Bare(git.path().to_path_buf()));
        };
        let root = workdir.canonicalize().map_err(|source| RepoError::Io {
            path: workdir.to_path_buf(),
            source,
        })?;
        Ok(Self { root, git })
    }
}

fn open_error(dir: PathBuf, source: git2::Error) -> RepoError {
    if source.code() == git2::ErrorCode::NotFound {
        RepoError::NotARepo(dir)
    } else {
        RepoError::Open { dir, source }
    }
}

/// Turns a path the user typed (relative to `cwd`) into a repository-relative one.
///
/// # Errors
/// A message when the path does not exist or lies outside the repository.
pub fn user_path(root: &Path, cwd: &Path, typed: &Path) -> Result<(PathBuf, String), String> {
    let full = cwd.join(typed);
    let missing = || {
        format!(
            "{}: no such file or folder{}",
            typed.display(),
            from_root_hint(root, cwd, typed)
        )
    };
    let meta = full.symlink_metadata().map_err(|_| missing())?;
    // A symlinked file keeps its own name (a task file linked from elsewhere is still a task);
    // only the folder it sits in is resolved.
    let canonical = match (
        meta.file_type().is_symlink(),
        full.parent(),
        full.file_name(),
    ) {
        (true, Some(parent), Some(name)) => {
            parent.canonicalize().map_err(|_| missing())?.join(name)
        }
        _ => full.canonicalize().map_err(|_| missing())?,
    };
    let rel = crate::paths::relative_to(root, &canonical).ok_or_else(|| {
        format!(
            "{}: outside the repository at {}{}",
            typed.display(),
            root.display(),
            from_root_hint(root, cwd, typed)
        )
    })?;
    Ok((canonical, rel))
}

/// When `typed` names nothing from `cwd` as it should but names something from the repository
/// root (as with `--repo` from another folder): says how paths are read.
#[must_use]
pub fn from_root_hint(root: &Path, cwd: &Path, typed: &Path) -> String {
    let from_root = root.join(typed);
    if typed.is_relative() && cwd.join(typed) != from_root && from_root.exists() {
        format!(
            " (paths are read from the current folder, {}; the repository has {}: give that path, or run from the repository root)",
            cwd.display(),
            from_root.display()
        )
    } else {
        String::new()
    }
}
