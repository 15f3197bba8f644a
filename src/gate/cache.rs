//! What the hooks keep between runs: the input scope of every criterion of a plan, by the plan
//! file's blob id (content-addressed, so never stale), in `<git common dir>/specproof/cache/`.
//! pre-commit trusts it: a commit that touches no criterion's inputs then parses no plan at all.
//! pre-push, pre-receive and audit parse each plan version themselves ([`parsed`]) and only
//! mend the file: a file on disk is no proof.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::criterion::{Criterion, Proof, Scope};
use crate::proof::{InputSpec, files};

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

/// The cache format; a file of another version is ignored (and replaced).
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    reach: Reach,
    criteria: Vec<Inputs>,
}

/// The start of a [`File`]: read without making the criteria (serde skips them).
#[derive(Deserialize)]
struct Head {
    version: u32,
    reach: Reach,
}

/// Where the task-scope criteria of a plan can see a change: a commit that changes no path
/// they reach touches none of them, and the list of criteria is not read at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// The criteria whose file and git proofs run again (`on_commit.rerun: file-proofs`).
    local: Places,
    /// The command proofs (`rerun: all`).
    command: Places,
}

/// Paths, as [`files::Reach`] says them, sorted for lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Places {
    /// Files or folders: a path that is one of them, or under one.
    paths: Vec<String>,
    /// Folders: a path under one of them.
    under: Vec<String>,
    /// Some criterion reads the whole tree, or a glob that matches at any depth.
    anywhere: bool,
}

impl Places {
    fn add(&mut self, spec: &InputSpec) {
        let globs = match spec {
            InputSpec::Tree => {
                self.anywhere = true;
                return;
            }
            InputSpec::Literal(path) => std::slice::from_ref(path),
            InputSpec::Globs(globs) | InputSpec::FilteredTree(globs) => globs.as_slice(),
        };
        for glob in globs {
            match files::reach(glob) {
                files::Reach::Path(p) => self.paths.push(p),
                files::Reach::Under(d) => self.under.push(d),
                files::Reach::Anywhere => self.anywhere = true,
            }
        }
    }

    fn holds(&self, path: &str) -> bool {
        if self.anywhere {
            return true;
        }
        let found = |list: &[String], p: &str| list.binary_search_by(|x| x.as_str().cmp(p)).is_ok();
        // The path itself, then each folder above it.
        found(&self.paths, path)
            || path
                .match_indices('/')
                .map(|(i, _)| &path[..i])
                .any(|dir| found(&self.paths, dir) || found(&self.under, dir))
    }
}

impl Reach {
    /// Where `criteria` (a plan's) can see a change.
    #[must_use]
    pub fn of(criteria: &[Inputs]) -> Self {
        let mut out = Self::default();
        for c in criteria.iter().filter(|c| c.task_scope) {
            match c.runs {
                Runs::Local => out.local.add(&c.spec),
                Runs::Command => out.command.add(&c.spec),
                Runs::Judge => {}
            }
        }
        for places in [&mut out.local, &mut out.command] {
            for list in [&mut places.paths, &mut places.under] {
                list.sort_unstable();
                list.dedup();
            }
        }
        out
    }

    /// Whether a change to `path` can touch a criterion that runs again: a file or git proof,
    /// or with `commands` a command proof too.
    #[must_use]
    pub fn holds(&self, path: &str, commands: bool) -> bool {
        self.local.holds(path) || (commands && self.command.holds(path))
    }
}

/// The cache file of the plan whose blob is `oid`.
#[must_use]
pub fn file(common_dir: &Path, oid: git2::Oid) -> PathBuf {
    path(common_dir, oid)
}

/// Removes the cache file of the plan whose blob is `oid`, if there is one.
///
/// # Errors
/// When it is there and cannot be removed.
pub fn remove(common_dir: &Path, oid: git2::Oid) -> std::io::Result<()> {
    match std::fs::remove_file(path(common_dir, oid)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn path(common_dir: &Path, oid: git2::Oid) -> PathBuf {
    crate::state::dir(common_dir)
        .join("cache")
        .join("inputs")
        .join(format!("{oid}.json"))
}

/// What this process read from cache files, by path.
type Memo<T> = std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<T>>>>;

/// What `read` makes of the file at `path`, read once per process (a commit may ask for the
/// same plan more than once).
fn read_once<T>(
    memo: &Memo<T>,
    path: PathBuf,
    read: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    if let Some(found) = memo.lock().ok().and_then(|m| m.get(&path).cloned()) {
        return Some(found);
    }
    let value = Arc::new(read(&std::fs::read(&path).ok()?)?);
    if let Ok(mut memo) = memo.lock() {
        memo.insert(path, Arc::clone(&value));
    }
    Some(value)
}

/// The whole cache file at `path`, if it is of this format.
fn read_file(bytes: &[u8]) -> Option<File> {
    let file: File = serde_json::from_slice(bytes).ok()?;
    (file.version == VERSION).then_some(file)
}

/// The cached inputs of the plan whose blob is `oid`, if any.
#[must_use]
pub fn load(common_dir: &Path, oid: git2::Oid) -> Option<Arc<Vec<Inputs>>> {
    static LOADED: Memo<Vec<Inputs>> = std::sync::LazyLock::new(Default::default);
    read_once(&LOADED, path(common_dir, oid), |b| {
        read_file(b).map(|f| f.criteria)
    })
}

/// Whether the cache file of the plan whose blob is `oid` says what `inputs` (parsed from that
/// plan) say, read afresh; None when there is no such file of this format.
#[must_use]
pub fn agrees(common_dir: &Path, oid: git2::Oid, inputs: &[Inputs]) -> Option<bool> {
    let file = read_file(&std::fs::read(path(common_dir, oid)).ok()?)?;
    Some(file.criteria == inputs && file.reach == Reach::of(inputs))
}

/// The inputs of the plan whose blob is `oid` as this process parsed them (not as a cache file
/// says), if it did.
#[must_use]
pub fn parsed(oid: git2::Oid) -> Option<Arc<Vec<Inputs>>> {
    PARSED.lock().ok()?.get(&oid).cloned()
}

/// Keeps the inputs this process parsed from the plan whose blob is `oid` (see [`parsed`]).
pub fn remember_parsed(oid: git2::Oid, inputs: Arc<Vec<Inputs>>) {
    if let Ok(mut memo) = PARSED.lock() {
        memo.insert(oid, inputs);
    }
}

static PARSED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<git2::Oid, Arc<Vec<Inputs>>>>,
> = std::sync::LazyLock::new(Default::default);

/// Where the criteria of the plan whose blob is `oid` can see a change, if it is cached; its
/// criteria are not read.
#[must_use]
pub fn reach(common_dir: &Path, oid: git2::Oid) -> Option<Arc<Reach>> {
    static READ: Memo<Reach> = std::sync::LazyLock::new(Default::default);
    read_once(&READ, path(common_dir, oid), |b| {
        let head: Head = serde_json::from_slice(b).ok()?;
        (head.version == VERSION).then_some(head.reach)
    })
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
        reach: Reach::of(criteria),
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

    proptest::proptest! {
        /// The summary says a path can touch the plan's criteria exactly when the reach of some
        /// criterion that runs again holds it (command proofs only with `commands`).
        #[test]
        fn the_reach_of_a_plan_is_the_reach_of_its_criteria(
            criteria in proptest::collection::vec(inputs(), 0..6),
            path in proptest::sample::select(vec!["src/a.rs", "src", "src/x/y.rs", "a.rs", "docs/a.md", "srcx/a.rs"]),
            commands in proptest::bool::ANY,
        ) {
            let reach = Reach::of(&criteria);
            let expected = criteria.iter().filter(|c| c.task_scope).any(|c| {
                let runs = match c.runs {
                    Runs::Local => true,
                    Runs::Command => commands,
                    Runs::Judge => false,
                };
                runs && match &c.spec {
                    InputSpec::Tree => true,
                    InputSpec::Literal(p) => files::reach(p).holds(path),
                    InputSpec::Globs(globs) | InputSpec::FilteredTree(globs) => {
                        globs.iter().any(|g| files::reach(g).holds(path))
                    }
                }
            });
            proptest::prop_assert_eq!(reach.holds(path, commands), expected);
        }
    }

    fn inputs() -> impl proptest::strategy::Strategy<Value = Inputs> {
        let glob = proptest::sample::select(vec![
            "src/a.rs",
            "src",
            "src/",
            "src/**/*.rs",
            "src/x/*.rs",
            "*.rs",
            "docs/a.md",
            "a.rs",
        ])
        .prop_map(str::to_owned);
        let spec = proptest::prop_oneof![
            proptest::strategy::Just(InputSpec::Tree),
            glob.clone().prop_map(InputSpec::Literal),
            proptest::collection::vec(glob.clone(), 1..3).prop_map(InputSpec::Globs),
            proptest::collection::vec(glob, 1..3).prop_map(InputSpec::FilteredTree),
        ];
        let runs = proptest::sample::select(vec![Runs::Local, Runs::Command, Runs::Judge]);
        (spec, runs, proptest::bool::ANY).prop_map(|(spec, runs, task_scope)| Inputs {
            id: "A-1".to_owned(),
            task_scope,
            runs,
            spec,
        })
    }

    use proptest::strategy::Strategy as _;

    #[test]
    fn the_reach_is_read_without_the_criteria_and_an_older_format_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let oid = git2::Oid::hash_object(git2::ObjectType::Blob, b"reach").expect("oid");
        let inputs = vec![Inputs {
            id: "A-1".into(),
            task_scope: true,
            runs: Runs::Local,
            spec: InputSpec::Globs(vec!["src/m1/**/*.rs".into(), "docs/a.md".into()]),
        }];
        store(dir.path(), oid, &inputs).expect("store");
        let reach = super::reach(dir.path(), oid).expect("cached");
        assert!(reach.holds("src/m1/x/y.rs", false));
        assert!(reach.holds("docs/a.md", false));
        assert!(!reach.holds("src/m10/y.rs", false));
        assert!(!reach.holds("docs/b.md", false));
        // A file of the first format (no reach) is not used: the plan is parsed and stored again.
        let old = git2::Oid::hash_object(git2::ObjectType::Blob, b"v1").expect("oid");
        let file = path(dir.path(), old);
        std::fs::write(&file, br#"{"version":1,"criteria":[]}"#).expect("write");
        assert!(super::reach(dir.path(), old).is_none());
        assert!(load(dir.path(), old).is_none());
    }
}
