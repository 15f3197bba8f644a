//! What pre-commit learned about the index git is committing, kept for commit-msg: the blob of
//! the specproof.yml being committed. commit-msg needs it for the rationalization settings,
//! and asking git for it (`git ls-files`, which reads the whole index) costs more than the rest
//! of that hook. The note is keyed by the index file's path, size, modification time and
//! trailing checksum (the hash git writes over the index's content), so an index that changed
//! in between, another worktree's index, or an index without a checksum (`index.skipHash`) is
//! never taken for it: commit-msg then asks git as before.

use std::fmt::Write as _;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HookEnv;

/// The checksum bytes read from the end of the index: SHA-1's 20 (a SHA-256 index ends with 32,
/// of which these are the last 20, still a hash of its content).
const CHECKSUM: usize = 20;
const CHECKSUM_FROM_END: i64 = -20;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Note {
    stamp: String,
    config: Option<String>,
}

fn note_path(git: &git2::Repository) -> PathBuf {
    crate::state::dir(git.commondir())
        .join("cache")
        .join("staged-config.json")
}

/// The index file git is committing.
fn index_path(git: &git2::Repository, env: &HookEnv) -> PathBuf {
    env.index_file
        .clone()
        .unwrap_or_else(|| git.path().join("index"))
}

/// What identifies the index file's content: None when it cannot be read or has no checksum.
fn stamp(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if meta.len() < CHECKSUM as u64 {
        return None;
    }
    file.seek(SeekFrom::End(CHECKSUM_FROM_END)).ok()?;
    let mut sum = [0u8; CHECKSUM];
    file.read_exact(&mut sum).ok()?;
    if sum.iter().all(|b| *b == 0) {
        return None;
    }
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let hex = sum.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    });
    Some(format!(
        "{}\n{}\n{modified}\n{hex}",
        path.to_str()?,
        meta.len()
    ))
}

/// Keeps `config` (the blob of specproof.yml in the index, None when it has none) for the
/// commit-msg hook of this commit. Nothing is kept for an index without a checksum.
///
/// # Errors
/// The note cannot be written (commit-msg then asks git: only slower).
pub(super) fn remember(
    git: &git2::Repository,
    env: &HookEnv,
    config: Option<git2::Oid>,
) -> std::io::Result<()> {
    let Some(stamp) = stamp(&index_path(git, env)) else {
        return Ok(());
    };
    let note = Note {
        stamp,
        config: config.map(|o| o.to_string()),
    };
    let target = note_path(git);
    let bytes = serde_json::to_vec(&note).map_err(std::io::Error::other)?;
    // Written in place, not through a temporary file: this runs on every commit, and a note
    // cut short (or written by two commits at once) does not parse or does not match, which
    // only sends commit-msg to git.
    match std::fs::write(&target, &bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(target.parent().unwrap_or(git.commondir()))?;
            std::fs::write(&target, &bytes)
        }
        other => other,
    }
}

/// What pre-commit noted about an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Noted {
    /// The blob of specproof.yml in it; None when it has none.
    pub config: Option<git2::Oid>,
}

/// What pre-commit saw in this very index; None when it left no note for it.
pub(super) fn recall(git: &git2::Repository, env: &HookEnv) -> Option<Noted> {
    let bytes = std::fs::read(note_path(git)).ok()?;
    let note: Note = serde_json::from_slice(&bytes).ok()?;
    if note.stamp != stamp(&index_path(git, env))? {
        return None;
    }
    match note.config {
        None => Some(Noted { config: None }),
        Some(hex) => git2::Oid::from_str(&hex)
            .ok()
            .map(|oid| Noted { config: Some(oid) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(cwd: &Path) -> HookEnv {
        HookEnv {
            index_file: None,
            ..HookEnv::from_process(cwd)
        }
    }

    #[test]
    fn a_note_is_recalled_only_for_the_index_it_was_written_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = git2::Repository::init(dir.path()).expect("init");
        let env = env(dir.path());
        let blob = git
            .blob(b"rationalization: { commit_msg: block }\n")
            .expect("blob");
        // No index file yet: nothing is kept.
        remember(&git, &env, Some(blob)).expect("remember");
        assert_eq!(recall(&git, &env), None);
        std::fs::write(dir.path().join("a.txt"), "a\n").expect("write");
        let mut index = git.index().expect("index");
        index.add_path(Path::new("a.txt")).expect("add");
        index.write().expect("write index");
        remember(&git, &env, Some(blob)).expect("remember");
        assert_eq!(recall(&git, &env), Some(Noted { config: Some(blob) }));
        remember(&git, &env, None).expect("remember");
        assert_eq!(recall(&git, &env), Some(Noted { config: None }));
        // The index changes: the note is not for it.
        remember(&git, &env, Some(blob)).expect("remember");
        std::fs::write(dir.path().join("b.txt"), "b\n").expect("write");
        index.add_path(Path::new("b.txt")).expect("add");
        index.write().expect("write index");
        assert_eq!(recall(&git, &env), None);
        // Another index file (git commit -a's temporary one) is not this one.
        let other = HookEnv {
            index_file: Some(dir.path().join(".git/index.lock")),
            ..HookEnv::from_process(dir.path())
        };
        std::fs::copy(
            dir.path().join(".git/index"),
            dir.path().join(".git/index.lock"),
        )
        .expect("copy");
        remember(&git, &env, Some(blob)).expect("remember");
        assert_eq!(recall(&git, &other), None);
        // A corrupt note is no note.
        std::fs::write(note_path(&git), "{").expect("write");
        assert_eq!(recall(&git, &env), None);
    }

    #[test]
    fn an_index_without_a_checksum_gets_no_note() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = git2::Repository::init(dir.path()).expect("init");
        let env = env(dir.path());
        let mut bytes = b"DIRC\0\0\0\x02\0\0\0\0".to_vec();
        bytes.extend([0u8; CHECKSUM]);
        std::fs::write(dir.path().join(".git/index"), bytes).expect("write");
        remember(&git, &env, None).expect("remember");
        assert!(!note_path(&git).exists());
        assert_eq!(recall(&git, &env), None);
    }
}
