//! The git proofs of SPEC §4: `git_diff_contains` (an added line of the diff base → content
//! matches) and `line_count_delta` (lines(content) − lines(base) within bounds). The diff is
//! libgit2's, on the blobs of the base commit and the content.

use git2::{Oid, Repository};

use crate::content::{Content, Entry};
use crate::proof::Verdict;
use crate::proof::files::{FileCache, scope};

/// The commit `base` names (a ref, a commit id, `HEAD~2`…).
///
/// # Errors
/// A message naming the base when git cannot resolve it to a commit.
pub fn resolve_base(repo: &Repository, base: &str) -> Result<Oid, String> {
    repo.revparse_single(base)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|e| {
            format!(
                "cannot resolve the base \"{base}\" to a commit: {}",
                e.message()
            )
        })
}

fn base_blob(repo: &Repository, base: Oid, path: &str) -> Result<Option<Vec<u8>>, String> {
    let tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(|e| e.message().to_owned())?;
    match tree.get_path(std::path::Path::new(path)) {
        Ok(entry) => {
            let blob = repo
                .find_blob(entry.id())
                .map_err(|e| e.message().to_owned())?;
            Ok(Some(blob.content().to_vec()))
        }
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.message().to_owned()),
    }
}

/// `git_diff_contains`: an added line of the diff from `base` to `content`, in the files `path`
/// matches (default: every file but the `excluded` ones, the plan files and `digest_exclude`, so
/// that a worker report or evidence file cannot prove it), matches `pattern`.
#[must_use]
pub fn git_diff_contains(
    repo: &Repository,
    content: &Content<'_>,
    pattern: &str,
    path: Option<&str>,
    base: Oid,
    excluded: &dyn Fn(&str) -> bool,
    cache: &FileCache,
) -> Verdict {
    let regex = match crate::proof::pattern(pattern) {
        Ok(r) => r,
        Err(broken) => return broken,
    };
    let files = match scope(content, path, excluded) {
        Ok(f) => f,
        Err(e) => return Verdict::broken(e),
    };
    let base_tree = match repo.find_commit(base).and_then(|c| c.tree()) {
        Ok(tree) => tree,
        Err(e) => {
            return Verdict::broken(format!("cannot read the base commit: {}", e.message()));
        }
    };
    let mut hits = Vec::new();
    for entry in &files {
        // Unchanged since the base (same blob): nothing added, nothing to read.
        if base_tree
            .get_path(std::path::Path::new(&entry.path))
            .is_ok_and(|e| e.id() == entry.oid)
        {
            continue;
        }
        let old = match base_blob(repo, base, &entry.path) {
            Ok(old) => old,
            Err(e) => {
                return Verdict::broken(format!("cannot read {} at the base: {e}", entry.path));
            }
        };
        let new = match cache_read(cache, content, entry) {
            Ok(new) => new,
            Err(e) => return Verdict::broken(e),
        };
        if old.as_deref() == Some(new.as_slice()) {
            continue;
        }
        let diff = match git2::Patch::from_buffers(
            old.as_deref().unwrap_or(b""),
            None,
            &new,
            None,
            None,
        ) {
            Ok(diff) => diff,
            Err(e) => {
                return Verdict::broken(format!("cannot diff {}: {}", entry.path, e.message()));
            }
        };
        for h in 0..diff.num_hunks() {
            let lines = match diff.num_lines_in_hunk(h) {
                Ok(n) => n,
                Err(e) => {
                    return Verdict::broken(format!("cannot diff {}: {}", entry.path, e.message()));
                }
            };
            for l in 0..lines {
                let line = match diff.line_in_hunk(h, l) {
                    Ok(line) => line,
                    Err(e) => {
                        return Verdict::broken(format!(
                            "cannot diff {}: {}",
                            entry.path,
                            e.message()
                        ));
                    }
                };
                if line.origin() == '+' && regex.is_match(line.content()) {
                    hits.push(format!("{}:{}", entry.path, line.new_lineno().unwrap_or(0)));
                }
            }
        }
    }
    let inputs: Vec<Entry> = files.into_iter().cloned().collect();
    let short = &base.to_string()[..12];
    let detail = if hits.is_empty() {
        format!("no line added since {short} matches {pattern:?}")
    } else {
        format!(
            "{} added {} since {short}: {}",
            hits.len(),
            if hits.len() == 1 {
                "line matches"
            } else {
                "lines match"
            },
            hits.join(", ")
        )
    };
    Verdict::judged_on(!hits.is_empty(), detail, inputs).with_base(base)
}

fn cache_read(
    cache: &FileCache,
    content: &Content<'_>,
    entry: &Entry,
) -> Result<std::sync::Arc<Vec<u8>>, String> {
    cache.read_entry(content, entry).map_err(|e| e.to_string())
}

/// Lines of a file: newlines, plus one for a last line without one.
#[must_use]
pub fn count_lines(bytes: &[u8]) -> i64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count();
    let open = usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
    i64::try_from(newlines + open).unwrap_or(i64::MAX)
}

/// `line_count_delta`: lines(content) − lines(base) of `path` within `[min, max]` (either may be
/// open). A file missing on one side counts 0 lines there.
#[must_use]
pub fn line_count_delta(
    repo: &Repository,
    content: &Content<'_>,
    path: &str,
    min: Option<i64>,
    max: Option<i64>,
    base: Oid,
    cache: &FileCache,
) -> Verdict {
    let old = match base_blob(repo, base, path) {
        Ok(old) => old,
        Err(e) => return Verdict::broken(format!("cannot read {path} at the base: {e}")),
    };
    let (new, inputs) = match content.get(path) {
        Some(entry) => match cache_read(cache, content, entry) {
            Ok(bytes) => (Some(bytes), vec![entry.clone()]),
            Err(e) => return Verdict::broken(e),
        },
        None => (None, Vec::new()),
    };
    let before = old.as_deref().map_or(0, count_lines);
    let after = new.as_deref().map_or(0, |b| count_lines(b));
    let delta = after - before;
    let within = min.is_none_or(|lo| delta >= lo) && max.is_none_or(|hi| delta <= hi);
    let bounds = match (min, max) {
        (Some(lo), Some(hi)) => format!("[{lo}, {hi}]"),
        (Some(lo), None) => format!("at least {lo}"),
        (None, Some(hi)) => format!("at most {hi}"),
        (None, None) => "any".to_owned(),
    };
    if old.is_none() && new.is_none() {
        return Verdict::judged_on(
            false,
            format!("{path} exists neither at the base nor now"),
            inputs,
        )
        .with_base(base);
    }
    let missing = match (old.is_none(), new.is_none()) {
        (true, _) => " (new since the base)",
        (false, true) => " (deleted since the base)",
        (false, false) => "",
    };
    let detail =
        format!("{path}: {before} → {after} lines, delta {delta:+}, wanted {bounds}{missing}");
    Verdict::judged_on(within, detail, inputs).with_base(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FailureCode;
    use crate::evidence::Outcome;

    fn sh(dir: &std::path::Path, script: &str) -> String {
        crate::testutil::sh(dir, script, &[])
    }

    /// A base commit with src/a.rs (3 lines), then in the index: two lines added to it, one
    /// file added, one deleted.
    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        sh(
            dir.path(),
            "git init -q . && git config user.name t && git config user.email t@t && mkdir src && \
             printf 'a\\nb\\nc\\n' > src/a.rs && printf 'gone\\n' > old.rs && git add -A && \
             git -c commit.gpgsign=false commit -qm base && git tag base && \
             printf 'a\\nCREATE TABLE invoices\\nb\\nc\\nd' > src/a.rs && printf 'new\\n' > src/n.rs && rm old.rs && git add -A",
        );
        dir
    }

    #[test]
    fn counts_lines_like_wc_with_a_last_open_line() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\nb"), 2);
    }

    #[test]
    fn git_diff_contains_looks_at_added_lines_only() {
        let dir = fixture();
        let repo = git2::Repository::open(dir.path()).unwrap();
        let content = Content::index(&repo, None).unwrap();
        let base = resolve_base(&repo, "base").unwrap();
        let cache = FileCache::default();
        let v = git_diff_contains(
            &repo,
            &content,
            "CREATE TABLE \\w+",
            Some("src/*.rs"),
            base,
            &|_: &str| false,
            &cache,
        );
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.ends_with("src/a.rs:2"), "{}", v.detail);
        assert_eq!(v.base, Some(base));
        assert_eq!(
            v.inputs.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            vec!["src/a.rs", "src/n.rs"]
        );
        let v = git_diff_contains(&repo, &content, "^b$", None, base, &|_: &str| false, &cache);
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "an unchanged line is not an added one: {}",
            v.detail
        );
        assert_eq!(v.failure_code, Some(FailureCode::F3));
        assert!(
            resolve_base(&repo, "no-such-ref")
                .unwrap_err()
                .contains("no-such-ref")
        );
    }

    #[test]
    fn by_default_specproof_files_cannot_prove_a_diff() {
        let dir = fixture();
        sh(
            dir.path(),
            "mkdir -p .specproof/tasks && printf 'CREATE TABLE notes\\n' > .specproof/tasks/T-1.md && git add -A",
        );
        let repo = git2::Repository::open(dir.path()).unwrap();
        let content = Content::index(&repo, None).unwrap();
        let base = resolve_base(&repo, "base").unwrap();
        let excluded = |p: &str| p.starts_with(".specproof/");
        let v = git_diff_contains(
            &repo,
            &content,
            "CREATE TABLE notes",
            None,
            base,
            &excluded,
            &FileCache::default(),
        );
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.inputs.iter().all(|e| !e.path.starts_with(".specproof/")));
        let v = line_count_delta(
            &repo,
            &content,
            "no/such.rs",
            None,
            Some(50),
            base,
            &FileCache::default(),
        );
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "a file on neither side proves nothing: {}",
            v.detail
        );
    }

    #[test]
    fn line_count_delta_compares_with_the_base() {
        let dir = fixture();
        let repo = git2::Repository::open(dir.path()).unwrap();
        let content = Content::index(&repo, None).unwrap();
        let base = resolve_base(&repo, "base").unwrap();
        let cache = FileCache::default();
        let v = line_count_delta(&repo, &content, "src/a.rs", Some(1), Some(2), base, &cache);
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (
                Outcome::Pass,
                "src/a.rs: 3 → 5 lines, delta +2, wanted [1, 2]"
            )
        );
        let v = line_count_delta(&repo, &content, "src/a.rs", None, Some(1), base, &cache);
        assert_eq!(v.outcome, Outcome::Fail);
        let v = line_count_delta(&repo, &content, "old.rs", None, Some(-1), base, &cache);
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (
                Outcome::Pass,
                "old.rs: 1 → 0 lines, delta -1, wanted at most -1 (deleted since the base)"
            )
        );
        let v = line_count_delta(&repo, &content, "src/n.rs", Some(1), None, base, &cache);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.ends_with("(new since the base)"), "{}", v.detail);
    }
}
