//! The digests of SPEC §5.2 that bind evidence to what it proved.
//!
//! - criterion digest: sha256 of the canonical JSON (sorted keys, no spaces) of the criterion's
//!   `proof`, `args` and `inputs`, as written in the plan snapshot;
//! - input digest: sha256 over `<mode> <blob id> <path>\n` for every file in the criterion's
//!   input scope, sorted by path bytes, with `base <commit id>\n` first for git-based proofs.

use sha2::{Digest, Sha256};

use crate::content::Entry;
use crate::criterion::Criterion;

/// `sha256:` and the lower-case hex of the sha256 of `bytes`.
#[must_use]
pub fn sha256(bytes: &[u8]) -> String {
    prefixed(&Sha256::digest(bytes))
}

fn prefixed(hash: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(7 + 2 * hash.len());
    out.push_str("sha256:");
    for b in hash {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The files no input digest includes (SPEC §5.2): `digest_exclude`, the plan files, and the
/// folders specproof writes itself (tasks, evidence, snapshots), which would otherwise make every
/// evidence file stale the moment it is written.
#[derive(Debug)]
pub struct Excluded {
    /// The `digest_exclude` globs, compiled when first matched: most commits a hook judges
    /// never ask.
    globs: std::sync::OnceLock<globset::GlobSet>,
    plans: crate::workspace::PlanGlobs,
    config: crate::config::Config,
    /// A second config's exclusions: a path is then left out only when both leave it out.
    also: Option<Box<Excluded>>,
}

impl Excluded {
    /// The exclusions of `config`. Invalid globs are lint errors; here they exclude nothing.
    #[must_use]
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            globs: std::sync::OnceLock::new(),
            plans: crate::workspace::PlanGlobs::new(config),
            config: config.clone(),
            also: None,
        }
    }

    fn globs(&self) -> &globset::GlobSet {
        self.globs.get_or_init(|| {
            let mut set = globset::GlobSetBuilder::new();
            for glob in &self.config.digest_exclude {
                if let Ok(g) = globset::GlobBuilder::new(&crate::paths::normalize(glob))
                    .literal_separator(true)
                    .build()
                {
                    set.add(g);
                }
            }
            set.build().unwrap_or_else(|_| globset::GlobSet::empty())
        })
    }

    /// The exclusions of the stricter of two configs: a path is left out of a digest only when
    /// both leave it out (a change to specproof.yml cannot hide files from its own judgement).
    #[must_use]
    pub fn both(config: &crate::config::Config, other: &crate::config::Config) -> Self {
        let mut out = Self::new(config);
        if config != other {
            out.also = Some(Box::new(Self::new(other)));
        }
        out
    }

    /// True when `path` is never part of an input digest.
    #[must_use]
    pub fn contains(&self, path: &str) -> bool {
        (crate::workspace::is_specproof_file(&self.config, path)
            || self.plans.is_match(path)
            || self.globs().is_match(path))
            && self.also.as_ref().is_none_or(|a| a.contains(path))
    }
}

/// The canonical JSON the criterion digest hashes: `{"args":…,"inputs":[…],"proof":"…"}` with
/// every object's keys sorted.
#[must_use]
pub fn criterion_json(criterion: &Criterion) -> String {
    let doc = serde_json::json!({
        "proof": criterion.kind().name(),
        "args": criterion.raw_args,
        "inputs": criterion.inputs,
    });
    // serde_json's map is a BTreeMap (no `preserve_order` feature): keys come out sorted.
    doc.to_string()
}

/// The criterion digest.
#[must_use]
pub fn criterion_digest(criterion: &Criterion) -> String {
    sha256(criterion_json(criterion).as_bytes())
}

/// The input digest over `files` (any order: they are sorted by path bytes here), with the
/// `base` line first when the proof is git-based.
#[must_use]
pub fn input_digest<'a>(
    files: impl IntoIterator<Item = &'a Entry>,
    base: Option<git2::Oid>,
) -> String {
    let mut files: Vec<&Entry> = files.into_iter().collect();
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut hasher = Sha256::new();
    if let Some(base) = base {
        hasher.update(format!("base {base}\n").as_bytes());
    }
    for f in files {
        hasher.update(format!("{:06o} {} {}\n", f.mode, f.oid, f.path).as_bytes());
    }
    prefixed(&hasher.finalize())
}

/// The digest over the matched path list of `file_exists` (SPEC §4: its input scope is the
/// list of paths, not their content): `<path>\n` per path, sorted by path bytes. Editing a file
/// does not change whether it exists, so it does not make the evidence stale.
#[must_use]
pub fn path_list_digest<'a>(files: impl IntoIterator<Item = &'a Entry>) -> String {
    let mut paths: Vec<&str> = files.into_iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut hasher = Sha256::new();
    for p in paths {
        hasher.update(p.as_bytes());
        hasher.update(b"\n");
    }
    prefixed(&hasher.finalize())
}

/// The input digest of a criterion of kind `kind` over its input scope.
#[must_use]
pub fn scope_digest<'a>(
    kind: crate::criterion::ProofKind,
    files: impl IntoIterator<Item = &'a Entry>,
    base: Option<git2::Oid>,
) -> String {
    if kind == crate::criterion::ProofKind::FileExists {
        path_list_digest(files)
    } else {
        input_digest(files, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Content;
    use crate::criterion::Ctx;
    use crate::plan::Plan;

    fn sh(dir: &std::path::Path, script: &str) -> String {
        crate::testutil::sh(dir, script, &[])
    }

    #[test]
    fn sha256_is_what_sha256sum_prints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let expected = sh(dir.path(), "printf 'hello' | sha256sum | cut -d' ' -f1");
        assert_eq!(sha256(b"hello"), format!("sha256:{expected}"));
        let empty = sh(dir.path(), "printf '' | sha256sum | cut -d' ' -f1");
        assert_eq!(
            input_digest([], None),
            format!("sha256:{empty}"),
            "an empty scope hashes the empty string"
        );
    }

    #[test]
    fn the_input_digest_is_computed_as_the_spec_says() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(
            dir.path(),
            "git init -q . && mkdir b && printf 1 > b/x && printf 2 > a && printf 3 > 'c d' && printf 4 > B && git add -A",
        );
        // git lists the index in path byte order ("B" < "a" < "b/x" < "c d"), the order the spec
        // asks for, so the lines go to sha256sum as they come.
        let expected = sh(
            dir.path(),
            "git ls-files --format='%(objectmode) %(objectname) %(path)' | sha256sum | cut -d' ' -f1",
        );
        let repo = git2::Repository::open(dir.path()).expect("open");
        let content = Content::index(&repo, None).expect("index");
        assert_eq!(
            input_digest(content.files(), None),
            format!("sha256:{expected}")
        );

        let base = git2::Oid::from_str("3f2c000000000000000000000000000000000000").expect("oid");
        let with_base = sh(
            dir.path(),
            "{ echo 'base 3f2c000000000000000000000000000000000000'; git ls-files --format='%(objectmode) %(objectname) %(path)'; } | sha256sum | cut -d' ' -f1",
        );
        assert_eq!(
            input_digest(content.files(), Some(base)),
            format!("sha256:{with_base}")
        );
    }

    #[test]
    fn file_exists_hashes_the_path_list_and_tree_scope_leaves_out_plans_and_specproof_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(
            dir.path(),
            "git init -q . && mkdir -p src plans .specproof/tasks && printf 1 > src/b && printf 2 > src/a && \
             printf p > plans/p.md && printf t > .specproof/tasks/T-1.md && printf x > notes.txt && git add -A",
        );
        let repo = git2::Repository::open(dir.path()).expect("open");
        let content = Content::index(&repo, None).expect("index");
        let expected = sh(
            dir.path(),
            "printf 'src/a\\nsrc/b\\n' | sha256sum | cut -d' ' -f1",
        );
        let src: Vec<&Entry> = content
            .files()
            .filter(|e| e.path.starts_with("src/"))
            .collect();
        assert_eq!(
            scope_digest(
                crate::criterion::ProofKind::FileExists,
                src.iter().copied(),
                None
            ),
            format!("sha256:{expected}")
        );
        assert_eq!(
            scope_digest(
                crate::criterion::ProofKind::PatternMatches,
                src.iter().copied(),
                None
            ),
            input_digest(src.iter().copied(), None)
        );
        let excluded = Excluded::new(&crate::config::Config::default());
        let tree: Vec<&str> = content
            .files()
            .filter(|e| !excluded.contains(&e.path))
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(tree, ["notes.txt", "src/a", "src/b"]);
    }

    fn criterion(yaml: &str) -> Criterion {
        let src = format!("```criteria\n{yaml}```\n");
        let plan = Plan::parse("plans/p.md", src.as_bytes(), Ctx::default());
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        plan.criteria[0].clone()
    }

    #[test]
    fn the_criterion_digest_hashes_sorted_json_of_proof_args_and_inputs() {
        let c = criterion(
            "- id: A\n  description: d\n  proof: pattern_matches\n  args: { pattern: x, path: a }\n",
        );
        let json = criterion_json(&c);
        assert_eq!(
            json,
            r#"{"args":{"path":"a","pattern":"x"},"inputs":[],"proof":"pattern_matches"}"#
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let expected = sh(
            dir.path(),
            &format!("printf '%s' '{json}' | sha256sum | cut -d' ' -f1"),
        );
        assert_eq!(criterion_digest(&c), format!("sha256:{expected}"));

        let reworded = criterion(
            "- id: A\n  description: other words\n  proof: pattern_matches\n  args: { path: a, pattern: x }\n",
        );
        assert_eq!(
            criterion_digest(&reworded),
            criterion_digest(&c),
            "rewording does not invalidate evidence"
        );
        let weakened = criterion(
            "- id: A\n  description: d\n  proof: pattern_matches\n  args: { path: a, pattern: y }\n",
        );
        assert_ne!(
            criterion_digest(&weakened),
            criterion_digest(&c),
            "changing what is proven does"
        );
    }
}
