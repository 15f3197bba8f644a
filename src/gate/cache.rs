//! What the hooks keep between runs: the input scope of every criterion of a plan, by the plan
//! file's blob id (content-addressed, so never stale), in `<git common dir>/specproof/cache/`.
//! A commit that touches no criterion's inputs then parses no plan at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::criterion::{Criterion, Proof, Scope};
use crate::proof::InputSpec;

/// How a criterion's proof runs, for the regression check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runs {
    /// A file or git proof.
    Local,
    Command,
    Judge,
}

/// One criterion, as much as the regression check needs to know whether a change touches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub id: String,
    pub task_scope: bool,
    pub runs: Runs,
    pub spec: InputSpec,
}

impl Inputs {
    #[must_use]
    pub fn of(c: &Criterion) -> Self {
        Self {
            id: c.id.clone(),
            task_scope: c.scope == Scope::Task,
            runs: if c.kind().is_command() {
                Runs::Command
            } else if matches!(c.proof, Proof::SemanticMatch { .. }) {
                Runs::Judge
            } else {
                Runs::Local
            },
            spec: crate::proof::input_spec(c),
        }
    }
}

/// The cache format; a file of another version is ignored.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    criteria: Vec<Inputs>,
}

fn path(common_dir: &Path, oid: git2::Oid) -> PathBuf {
    crate::state::dir(common_dir)
        .join("cache")
        .join("inputs")
        .join(format!("{oid}.json"))
}

/// The cached inputs of the plan whose blob is `oid`, if any.
#[must_use]
pub fn load(common_dir: &Path, oid: git2::Oid) -> Option<Arc<Vec<Inputs>>> {
    // Read once per process: a push or an audit asks for the same plan on every commit.
    static LOADED: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<Vec<Inputs>>>>,
    > = std::sync::LazyLock::new(Default::default);
    let file_path = path(common_dir, oid);
    if let Some(found) = LOADED.lock().ok().and_then(|m| m.get(&file_path).cloned()) {
        return Some(found);
    }
    let bytes = std::fs::read(&file_path).ok()?;
    let file: File = serde_json::from_slice(&bytes).ok()?;
    let criteria = Arc::new((file.version == VERSION).then_some(file.criteria)?);
    if let Ok(mut memo) = LOADED.lock() {
        memo.insert(file_path, Arc::clone(&criteria));
    }
    Some(criteria)
}

/// Stores the inputs of the plan whose blob is `oid`. A cache that cannot be written is only
/// slower next time: the error is returned for the caller to mention.
///
/// # Errors
/// When the file cannot be written.
pub fn store(common_dir: &Path, oid: git2::Oid, criteria: &[Inputs]) -> std::io::Result<()> {
    let target = path(common_dir, oid);
    let dir = target.parent().unwrap_or(common_dir);
    std::fs::create_dir_all(dir)?;
    let bytes = serde_json::to_vec(&File {
        version: VERSION,
        criteria: criteria.to_vec(),
    })
    .map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_kept_by_blob_id_and_other_versions_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let oid = git2::Oid::hash_object(git2::ObjectType::Blob, b"plan").expect("oid");
        assert_eq!(load(dir.path(), oid), None);
        let inputs = vec![
            Inputs {
                id: "A-1".into(),
                task_scope: true,
                runs: Runs::Local,
                spec: InputSpec::Globs(vec!["src/**/*.rs".into()]),
            },
            Inputs {
                id: "A-2".into(),
                task_scope: false,
                runs: Runs::Command,
                spec: InputSpec::Tree,
            },
        ];
        store(dir.path(), oid, &inputs).expect("store");
        assert_eq!(load(dir.path(), oid).as_deref(), Some(&inputs));
        let other = git2::Oid::hash_object(git2::ObjectType::Blob, b"other").expect("oid");
        assert_eq!(load(dir.path(), other), None);
        // A file of another format version, or a corrupt one, is not used (files of blobs this
        // process has not read yet: what it read once it keeps).
        for (n, bytes) in [
            br#"{"version":99,"criteria":[]}"#.as_slice(),
            b"{not json".as_slice(),
        ]
        .into_iter()
        .enumerate()
        {
            let fresh = git2::Oid::hash_object(git2::ObjectType::Blob, format!("p{n}").as_bytes())
                .expect("oid");
            let file = path(dir.path(), fresh);
            std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
            std::fs::write(file, bytes).expect("w");
            assert_eq!(load(dir.path(), fresh), None);
        }
    }
}
