//! Local state under `<common git dir>/specproof/` (SPEC §1), never committed and shared by every
//! worktree of the repository: the lock that serialises runs that write evidence, and the ledger
//! (`ledger.jsonl`) where every proof result, refusal and acknowledgement is appended.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use thiserror::Error;

/// A state file could not be used.
#[derive(Debug, Error)]
#[error("cannot use {}: {cause}", .path.display())]
pub struct StateError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

/// The folder of the local state of the repository whose common git dir is `common_dir`.
#[must_use]
pub fn dir(common_dir: &Path) -> PathBuf {
    common_dir.join("specproof")
}

/// The current time as RFC 3339 UTC with seconds, as evidence and the ledger record it.
#[must_use]
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A held lock: released when dropped (also when the process dies: it is an OS file lock).
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Nobody holds it any more: forget who did (best effort; the OS lock is what counts).
        let _ = self.file.set_len(0);
    }
}

/// Takes the lock `<state dir>/lock`. When another process holds it, `waiting` is told who (as
/// that process wrote it: pid, command, start time) and the call waits until it is released.
///
/// # Errors
/// When the lock file cannot be opened or locked.
pub fn lock(common_dir: &Path, what: &str, waiting: impl FnOnce(&str)) -> Result<Lock, StateError> {
    let path = dir(common_dir).join("lock");
    let err = |source| StateError {
        path: path.clone(),
        cause: source,
    };
    std::fs::create_dir_all(dir(common_dir)).map_err(err)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            // Best effort: the holder may be writing it right now.
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            waiting(if holder.is_empty() {
                "another specproof run"
            } else {
                holder
            });
            file.lock().map_err(err)?;
        }
        Err(TryLockError::Error(e)) => return Err(err(e)),
    }
    let me = format!("`{what}` (pid {}, started {})", std::process::id(), now());
    // Who holds the lock is a courtesy to the next run: a disk too full to say it must not
    // stop this one (the lock itself is held either way).
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(me.as_bytes()));
    Ok(Lock { file })
}

/// Appends one JSON line per record to `<state dir>/ledger.jsonl`, each in one write.
///
/// # Errors
/// When the ledger cannot be opened or written.
pub fn append_ledger(common_dir: &Path, records: &[serde_json::Value]) -> Result<(), StateError> {
    if records.is_empty() {
        return Ok(());
    }
    let path = ledger_path(common_dir);
    let err = |source| StateError {
        path: path.clone(),
        cause: source,
    };
    std::fs::create_dir_all(dir(common_dir)).map_err(err)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(err)?;
    for record in records {
        let mut line = record.to_string();
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(err)?;
    }
    Ok(())
}

/// Where the ledger lives.
#[must_use]
pub fn ledger_path(common_dir: &Path) -> PathBuf {
    dir(common_dir).join("ledger.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_and_is_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), "specproof verify", |_| panic!("free lock")).unwrap();
        let common = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let second = std::thread::spawn(move || {
            let _held = lock(&common, "specproof verify --task T-2", |holder| {
                tx.send(holder.to_owned()).unwrap();
            })
            .unwrap();
        });
        let holder = rx.recv().unwrap();
        assert!(holder.contains("`specproof verify`"), "{holder}");
        assert!(
            holder.contains(&format!("pid {}", std::process::id())),
            "{holder}"
        );
        assert!(!second.is_finished(), "the second run waits");
        drop(first);
        second.join().unwrap();
    }

    #[test]
    fn ledger_lines_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        append_ledger(dir.path(), &[serde_json::json!({"a": 1})]).unwrap();
        append_ledger(
            dir.path(),
            &[serde_json::json!({"b": 2}), serde_json::json!({"c": 3})],
        )
        .unwrap();
        let text = std::fs::read_to_string(ledger_path(dir.path())).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    }
}
