//! Running proofs. One file per family: `files.rs` (the file proofs), `git.rs` (the git
//! proofs), `command.rs` and `outcome.rs` (the command proofs), `summary.rs` (the Test Mirage
//! guard), `judge.rs` (`semantic_match`). Every proof ends in one [`Verdict`].

pub mod command;
pub mod files;
pub mod git;
pub mod judge;
pub mod outcome;
pub mod summary;

use crate::content::{Content, Entry};
use crate::criterion::{Criterion, Proof};
use crate::diagnostic::FailureCode;
use crate::evidence::Outcome;

/// A proof's pattern compiled as proofs run it, or the verdict for one that does not compile
/// (lint reports it first; verify only checks its syntax when reading the plan).
pub(crate) fn pattern(pattern: &str) -> Result<regex::bytes::Regex, Verdict> {
    crate::criterion::compile_pattern(pattern)
        .map_err(|e| Verdict::broken(format!("invalid regex {pattern:?}: {e}")))
}

/// Which files a criterion's input scope holds, as globs: what [`input_scope`] matches against
/// a content. Kept apart so that the hooks can cache it by plan (a plan's criteria need not be
/// parsed again to know which of them a change touches).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSpec {
    /// The files these globs match (gitignore-style, a folder standing for what is under it).
    Globs(Vec<String>),
    /// The one file at this path.
    Literal(String),
    /// Every file but the excluded ones.
    Tree,
    /// The files these globs match, but the excluded ones.
    FilteredTree(Vec<String>),
}

/// The [`InputSpec`] of `criterion`.
#[must_use]
pub fn input_spec(criterion: &Criterion) -> InputSpec {
    match &criterion.proof {
        Proof::FileExists { path, .. } | Proof::PatternMatches { path, .. } => {
            InputSpec::Globs(vec![path.clone()])
        }
        Proof::NoPatternExists { path, .. } | Proof::GitDiffContains { path, .. } => path
            .clone()
            .map_or(InputSpec::Tree, |p| InputSpec::Globs(vec![p])),
        Proof::LineCountDelta { path, .. } => InputSpec::Literal(path.clone()),
        Proof::SemanticMatch { paths, .. } => InputSpec::Globs(paths.clone()),
        Proof::BuildsClean { .. }
        | Proof::TestPasses { .. }
        | Proof::CommandOutputMatches { .. } => {
            if criterion.inputs.is_empty() {
                InputSpec::Tree
            } else {
                InputSpec::FilteredTree(criterion.inputs.clone())
            }
        }
    }
}

/// The files of `content` that `spec` names, sorted by path bytes.
///
/// # Errors
/// A message when a glob is invalid.
pub fn spec_scope<'c>(
    spec: &InputSpec,
    content: &'c Content<'_>,
    excluded: &dyn Fn(&str) -> bool,
) -> Result<Vec<&'c Entry>, String> {
    let union = |globs: &[String]| -> Result<Vec<&'c Entry>, String> {
        if let [one] = globs {
            return files::matching(content, one);
        }
        let mut all = Vec::new();
        for glob in globs {
            all.extend(files::matching(content, glob)?);
        }
        all.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        all.dedup_by(|a, b| a.path == b.path);
        Ok(all)
    };
    match spec {
        InputSpec::Globs(globs) => union(globs),
        InputSpec::Literal(path) => Ok(content.get(path).into_iter().collect()),
        InputSpec::Tree => Ok(content.files().filter(|e| !excluded(&e.path)).collect()),
        InputSpec::FilteredTree(globs) => Ok(union(globs)?
            .into_iter()
            .filter(|e| !excluded(&e.path))
            .collect()),
    }
}

/// The input scope of SPEC §5.2: the files whose content the criterion's evidence is bound to,
/// sorted by path bytes. File proofs and `semantic_match`: the files their paths match;
/// `no_pattern_exists` and `git_diff_contains` without a path, and command proofs: the tree, that
/// is every file but the `excluded` ones (`digest_exclude`, plan files, specproof's own files),
/// narrowed by the criterion's `inputs` globs where it has them. Git proofs add their base commit
/// to the digest, not to this list.
///
/// # Errors
/// A message when a glob is invalid.
pub fn input_scope<'c>(
    criterion: &Criterion,
    content: &'c Content<'_>,
    excluded: &dyn Fn(&str) -> bool,
) -> Result<Vec<&'c Entry>, String> {
    spec_scope(&input_spec(criterion), content, excluded)
}

/// Runs a file or git proof on `content` (`base`: the resolved base commit of a git proof);
/// None for command proofs and the judge, which run elsewhere.
#[must_use]
pub fn run_local(
    git: &git2::Repository,
    content: &Content<'_>,
    criterion: &Criterion,
    base: Option<git2::Oid>,
    excluded: &dyn Fn(&str) -> bool,
    cache: &files::FileCache,
    max_size: u64,
) -> Option<Verdict> {
    let no_base = || Verdict::broken("no base commit".into());
    Some(match &criterion.proof {
        Proof::FileExists { path, min } => files::file_exists(content, path, *min),
        Proof::PatternMatches { path, pattern, min } => {
            files::pattern_matches(content, path, pattern, *min, cache, max_size)
        }
        Proof::NoPatternExists { pattern, path } => {
            files::no_pattern_exists(content, pattern, path.as_deref(), excluded, cache, max_size)
        }
        Proof::GitDiffContains { pattern, path, .. } => match base {
            Some(base) => git::git_diff_contains(
                git,
                content,
                pattern,
                path.as_deref(),
                base,
                excluded,
                cache,
            ),
            None => no_base(),
        },
        Proof::LineCountDelta { path, min, max, .. } => match base {
            Some(base) => git::line_count_delta(git, content, path, *min, *max, base, cache),
            None => no_base(),
        },
        Proof::BuildsClean { .. }
        | Proof::TestPasses { .. }
        | Proof::CommandOutputMatches { .. }
        | Proof::SemanticMatch { .. } => return None,
    })
}

/// What a proof concluded, with what the evidence records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub detail: String,
    pub failure_code: Option<FailureCode>,
    /// The files of the input scope (SPEC §5.2), for the input digest.
    pub inputs: Vec<Entry>,
    /// The base commit of a git proof, which the input digest includes.
    pub base: Option<git2::Oid>,
    /// Capped command or judge output.
    pub output: String,
    pub exit_code: Option<i32>,
}

impl Verdict {
    /// Pass, or fail with F3.
    pub(crate) fn judged(pass: bool, detail: String) -> Self {
        let (outcome, failure_code) = if pass {
            (Outcome::Pass, None)
        } else {
            (Outcome::Fail, Some(FailureCode::F3))
        };
        Self {
            outcome,
            detail,
            failure_code,
            inputs: Vec::new(),
            base: None,
            output: String::new(),
            exit_code: None,
        }
    }

    /// Inconclusive with `code`: never a pass.
    pub(crate) fn inconclusive(code: FailureCode, detail: String) -> Self {
        Self {
            outcome: Outcome::Inconclusive,
            failure_code: Some(code),
            ..Self::judged(false, detail)
        }
    }

    /// The proof could not be carried out (F9).
    pub(crate) fn broken(detail: String) -> Self {
        Self::inconclusive(FailureCode::F9, detail)
    }

    /// [`Verdict::judged`] over the files it looked at.
    pub(crate) fn judged_on(pass: bool, detail: String, inputs: Vec<Entry>) -> Self {
        Self::judged(pass, detail).with_inputs(inputs)
    }

    pub(crate) fn with_inputs(self, inputs: Vec<Entry>) -> Self {
        Self { inputs, ..self }
    }

    pub(crate) fn with_base(self, base: git2::Oid) -> Self {
        Self {
            base: Some(base),
            ..self
        }
    }

    pub(crate) fn with_output(self, output: String, exit_code: Option<i32>) -> Self {
        Self {
            output,
            exit_code,
            ..self
        }
    }
}
