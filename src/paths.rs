//! Path rules of SPEC §4: paths and globs are relative to the repository root, use `/`, never
//! escape the root with `..`, and never lead out of it through a symlink.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// Why a path is unsafe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    Empty,
    Absolute,
    Escapes,
    /// `link` (relative to the root) is a symlink that resolves to `target`, outside the root.
    SymlinkOut {
        link: String,
        target: PathBuf,
    },
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::Absolute => f.write_str("is absolute; write it relative to the repository root"),
            Self::Escapes => f.write_str("escapes the repository root with \"..\""),
            Self::SymlinkOut { link, target } => write!(
                f,
                "goes through the symlink {link} to {}, outside the repository",
                target.display()
            ),
        }
    }
}

/// True when `s` holds a glob metacharacter.
#[must_use]
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Checks a repository-relative path or glob. With `root`, the part of the path that names
/// existing files is also checked for symlinks that lead outside the root.
///
/// # Errors
/// The first [`PathProblem`] found.
pub fn check(root: Option<&Path>, path: &str) -> Result<(), PathProblem> {
    if path.trim().is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.starts_with(['/', '\\']) || has_drive_prefix(path) {
        return Err(PathProblem::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split(['/', '\\']) {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathProblem::Escapes);
                }
            }
            other => parts.push(other),
        }
    }
    if let Some(root) = root {
        check_symlinks(root, &parts)?;
    }
    Ok(())
}

fn has_drive_prefix(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// What `symlink_metadata` said about a path: None when it does not exist. Remembered for the
/// run: thousands of criteria share their folders, and each would stat them again.
fn is_symlink(path: &Path) -> Option<bool> {
    static SEEN: LazyLock<Mutex<HashMap<PathBuf, Option<bool>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    if let Some(known) = SEEN.lock().ok().and_then(|m| m.get(path).copied()) {
        return known;
    }
    let found = std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.file_type().is_symlink());
    if let Ok(mut m) = SEEN.lock() {
        m.insert(path.to_path_buf(), found);
    }
    found
}

fn check_symlinks(root: &Path, parts: &[&str]) -> Result<(), PathProblem> {
    let mut current = root.to_path_buf();
    let mut shown = Vec::new();
    for part in parts.iter().take_while(|p| !is_glob(p)) {
        current.push(part);
        shown.push(*part);
        let Some(link) = is_symlink(&current) else {
            return Ok(());
        };
        if link {
            // Resolved only when a link is met: most paths have none.
            let Ok(canonical_root) = root.canonicalize() else {
                return Ok(());
            };
            let target = match current.canonicalize() {
                Ok(t) => t,
                Err(_) => std::fs::read_link(&current).unwrap_or_default(),
            };
            let inside = (target.is_relative() && !target.starts_with(".."))
                || target.starts_with(&canonical_root);
            if !inside {
                return Err(PathProblem::SymlinkOut {
                    link: shown.join("/"),
                    target,
                });
            }
        }
    }
    Ok(())
}

/// A repository path written plainly: no `./`, no `a/../`, no doubled or trailing `/`.
/// `..` that would leave the root is kept (the path rules reject it separately).
#[must_use]
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// `path` relative to `root`, `/`-separated; None when it is not under the root.
#[must_use]
pub fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_absolute_and_escaping_paths() {
        assert_eq!(check(None, "/etc/passwd"), Err(PathProblem::Absolute));
        assert_eq!(check(None, "C:/x"), Err(PathProblem::Absolute));
        assert_eq!(check(None, "../x"), Err(PathProblem::Escapes));
        assert_eq!(check(None, "a/../../x"), Err(PathProblem::Escapes));
        assert_eq!(check(None, ""), Err(PathProblem::Empty));
        assert_eq!(check(None, "a/../b/**/*.rs"), Ok(()));
        assert_eq!(check(None, "./src/lib.rs"), Ok(()));
    }

    #[test]
    fn normalizes_plain_spellings() {
        assert_eq!(normalize("./plans//a.md"), "plans/a.md");
        assert_eq!(normalize("plans/x/../a.md"), "plans/a.md");
        assert_eq!(normalize(".specproof/tasks/"), ".specproof/tasks");
        assert_eq!(normalize("../a"), "../a");
    }

    #[cfg(unix)]
    #[test]
    fn rejects_symlinks_leading_out_of_the_root() {
        let outside = tempfile::tempdir().expect("tempdir");
        let root = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).expect("symlink");
        std::fs::create_dir(root.path().join("inside")).expect("mkdir");
        std::os::unix::fs::symlink("inside", root.path().join("in")).expect("symlink");
        assert!(matches!(
            check(Some(root.path()), "out/secret"),
            Err(PathProblem::SymlinkOut { .. })
        ));
        assert!(matches!(
            check(Some(root.path()), "out/**/*.rs"),
            Err(PathProblem::SymlinkOut { .. })
        ));
        assert_eq!(check(Some(root.path()), "in/file"), Ok(()));
        assert_eq!(check(Some(root.path()), "missing/file"), Ok(()));
    }
}
