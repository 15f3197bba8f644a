//! The file proofs of SPEC §4: `file_exists`, `pattern_matches` and `no_pattern_exists`, judged
//! on a [`Content`] (working tree, index or commit). Globs are gitignore-style: one without a `/`
//! matches at any depth. Each file is read once however many criteria look at it, files over
//! `max_file_size` are skipped with a note, and patterns run on bytes (non-UTF-8 files work).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;

use crate::content::{Content, ContentError, Entry};
use crate::proof::Verdict;

/// File bytes shared between the criteria of one run: each blob is read once, while the bytes
/// held stay under [`CACHE_BUDGET`] (beyond it a file is read again when asked for again, so a
/// check over a huge tree does not hold the whole tree in memory).
#[derive(Default)]
pub struct FileCache {
    blobs: Mutex<HashMap<git2::Oid, Arc<Vec<u8>>>>,
    held: AtomicU64,
    reads: AtomicUsize,
}

/// The most bytes a [`FileCache`] holds.
pub const CACHE_BUDGET: u64 = 256 << 20;

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileCache")
    }
}

impl FileCache {
    /// The bytes of `entry`, read once per blob.
    ///
    /// # Errors
    /// When the content cannot be read.
    pub fn read_entry(
        &self,
        content: &Content<'_>,
        entry: &Entry,
    ) -> Result<Arc<Vec<u8>>, ContentError> {
        if let Some(bytes) = self
            .blobs
            .lock()
            .ok()
            .and_then(|m| m.get(&entry.oid).cloned())
        {
            return Ok(bytes);
        }
        let bytes = Arc::new(content.read(&entry.path)?);
        self.reads.fetch_add(1, Ordering::Relaxed);
        let size = bytes.len() as u64;
        if self.held.load(Ordering::Relaxed) + size <= CACHE_BUDGET
            && let Ok(mut blobs) = self.blobs.lock()
            && blobs.insert(entry.oid, Arc::clone(&bytes)).is_none()
        {
            self.held.fetch_add(size, Ordering::Relaxed);
        }
        Ok(bytes)
    }

    /// How many times a file was read from the content.
    #[must_use]
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

/// A path or glob of a criterion, gitignore-style.
fn matcher(glob: &str) -> Result<GlobSet, String> {
    let glob = glob.trim_start_matches("./");
    let base = glob.trim_end_matches('/');
    let anchored = if base.contains('/') {
        base.to_owned()
    } else {
        format!("**/{base}")
    };
    let build = |g: &str| {
        GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid glob \"{glob}\": {}", e.kind()))
    };
    // As in .gitignore, a pattern that names a folder stands for everything under it.
    let mut set = GlobSetBuilder::new();
    if !glob.ends_with('/') {
        set.add(build(&anchored)?);
    }
    set.add(build(&format!("{anchored}/**"))?);
    set.build()
        .map_err(|e| format!("invalid glob \"{glob}\": {e}"))
}

/// Where the files a glob matches can be ([`matching`] looks only there): what a changed path
/// must be, or be under, for the glob to see the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A literal path with a folder part: that one file, or the files under that folder.
    Path(String),
    /// An anchored glob: files under its leading literal folders.
    Under(String),
    /// A glob that can match at any depth (`*.rs`, `Cargo.toml`).
    Anywhere,
}

impl Reach {
    /// Whether a file at `path` can be matched.
    #[must_use]
    pub fn holds(&self, path: &str) -> bool {
        let under = |dir: &str| path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
        match self {
            Self::Path(base) => path == base || under(base),
            Self::Under(dir) => under(dir),
            Self::Anywhere => true,
        }
    }
}

/// The [`Reach`] of `glob`.
#[must_use]
pub fn reach(glob: &str) -> Reach {
    let plain = glob.trim_start_matches("./");
    let base = plain.trim_end_matches('/');
    if !crate::paths::is_glob(plain) && base.contains('/') && !base.contains('\\') {
        return Reach::Path(base.to_owned());
    }
    // An anchored glob (one with a `/`) can only match under its leading literal folders.
    let parts: Vec<&str> = base.split('/').collect();
    let fixed = parts
        .iter()
        .take_while(|part| !crate::paths::is_glob(part) && !part.contains('\\'))
        .count()
        .min(parts.len().saturating_sub(1));
    if fixed > 0 {
        Reach::Under(parts[..fixed].join("/"))
    } else {
        Reach::Anywhere
    }
}

/// The files of `content` that `glob` matches, sorted by path bytes.
///
/// # Errors
/// A message when the glob is invalid.
pub fn matching<'c>(content: &'c Content<'_>, glob: &str) -> Result<Vec<&'c Entry>, String> {
    match reach(glob) {
        Reach::Path(base) => {
            // A literal path names one file or one folder (one written with a trailing `/`
            // only a folder): look it up instead of matching every file (thousands of criteria
            // over thousands of files stay cheap).
            let folder = glob.trim_start_matches("./").ends_with('/');
            let file = (!folder).then(|| content.get(&base)).flatten();
            Ok(file.into_iter().chain(content.under(&base)).collect())
        }
        Reach::Under(dir) => {
            if content.under(&dir).next().is_none() {
                // Nothing is there: no need to compile it. (The plan's validation already
                // rejected an invalid glob.)
                return Ok(Vec::new());
            }
            let m = matcher(glob)?;
            Ok(content
                .under(&dir)
                .filter(|e| m.is_match(&e.path))
                .collect())
        }
        Reach::Anywhere => {
            let m = matcher(glob)?;
            Ok(content.files().filter(|e| m.is_match(&e.path)).collect())
        }
    }
}

/// The files a proof with an optional `path` looks at: those `path` matches, or by default
/// every file but the `excluded` ones (plan files and `digest_exclude`).
///
/// # Errors
/// A message when the glob is invalid.
pub fn scope<'c>(
    content: &'c Content<'_>,
    path: Option<&str>,
    excluded: &dyn Fn(&str) -> bool,
) -> Result<Vec<&'c Entry>, String> {
    match path {
        Some(glob) => matching(content, glob),
        None => Ok(content.files().filter(|e| !excluded(&e.path)).collect()),
    }
}

/// `file_exists`: at least `min` paths match.
#[must_use]
pub fn file_exists(content: &Content<'_>, path: &str, min: u64) -> Verdict {
    let found = match matching(content, path) {
        Ok(found) => found,
        Err(e) => return Verdict::broken(e),
    };
    let n = found.len() as u64;
    let shown = list(found.iter().map(|e| e.path.clone()));
    let detail = match n {
        0 => format!("no file matches \"{path}\""),
        _ if n < min => format!("{n} of the {min} files needed match \"{path}\": {shown}"),
        _ => format!("{n} {}: {shown}", if n == 1 { "file" } else { "files" }),
    };
    Verdict::judged_on(n >= min, detail, found.into_iter().cloned().collect())
}

/// Where a pattern matched: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub path: String,
    pub line: usize,
}

struct Scan {
    hits: Vec<Hit>,
    skipped: Vec<String>,
    inputs: Vec<Entry>,
}

fn scan(
    content: &Content<'_>,
    files: &[&Entry],
    regex: &Regex,
    cache: &FileCache,
    max_size: u64,
) -> Result<Scan, ContentError> {
    let mut out = Scan {
        hits: Vec::new(),
        skipped: Vec::new(),
        inputs: Vec::new(),
    };
    for entry in files {
        out.inputs.push((*entry).clone());
        // The size is known without reading: a huge file is never loaded.
        if content.size(entry)? > max_size {
            out.skipped.push(entry.path.clone());
            continue;
        }
        let bytes = cache.read_entry(content, entry)?;
        if bytes.len() as u64 > max_size {
            out.skipped.push(entry.path.clone());
            continue;
        }
        let mut line = 1;
        let mut counted_to = 0;
        for m in regex.find_iter(&bytes) {
            line += memchr::memchr_iter(b'\n', &bytes[counted_to..m.start()]).count();
            counted_to = m.start();
            out.hits.push(Hit {
                path: entry.path.clone(),
                line,
            });
        }
    }
    Ok(out)
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
    let more = items.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn hits_text(hits: &[Hit]) -> String {
    list(hits.iter().map(|h| format!("{}:{}", h.path, h.line)))
}

fn skipped_note(skipped: &[String], max_size: u64) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!(
            "; skipped over max_file_size ({max_size} bytes): {}",
            list(skipped.iter().cloned())
        )
    }
}

/// `pattern_matches`: at least `min` matches of `pattern` in the files `path` matches.
#[must_use]
pub fn pattern_matches(
    content: &Content<'_>,
    path: &str,
    pattern: &str,
    min: u64,
    cache: &FileCache,
    max_size: u64,
) -> Verdict {
    let (files, regex) = match (matching(content, path), super::pattern(pattern)) {
        (Ok(f), Ok(r)) => (f, r),
        (Err(e), _) => return Verdict::broken(e),
        (_, Err(broken)) => return broken,
    };
    if files.is_empty() {
        return Verdict::judged_on(false, format!("no file matches \"{path}\""), Vec::new());
    }
    let scan = match scan(content, &files, &regex, cache, max_size) {
        Ok(s) => s,
        Err(e) => return Verdict::broken(e.to_string()),
    };
    let n = scan.hits.len() as u64;
    let note = skipped_note(&scan.skipped, max_size);
    let detail = if n == 0 {
        format!(
            "no match of {pattern:?} in {} {}{note}",
            files.len(),
            if files.len() == 1 { "file" } else { "files" }
        )
    } else if n < min {
        format!(
            "{n} of the {min} matches needed: {}{note}",
            hits_text(&scan.hits)
        )
    } else {
        format!(
            "{n} {}: {}{note}",
            if n == 1 { "match" } else { "matches" },
            hits_text(&scan.hits)
        )
    };
    Verdict::judged_on(n >= min, detail, scan.inputs)
}

/// `no_pattern_exists`: no match of `pattern` in the files `path` matches (default: every file
/// but `excluded` ones, which are the plan files and `digest_exclude`). Every hit is listed.
#[must_use]
pub fn no_pattern_exists(
    content: &Content<'_>,
    pattern: &str,
    path: Option<&str>,
    excluded: &dyn Fn(&str) -> bool,
    cache: &FileCache,
    max_size: u64,
) -> Verdict {
    let regex = match super::pattern(pattern) {
        Ok(r) => r,
        Err(broken) => return broken,
    };
    let files = match scope(content, path, excluded) {
        Ok(f) => f,
        Err(e) => return Verdict::broken(e),
    };
    if let (Some(glob), true) = (path, files.is_empty()) {
        // A check over nothing proves nothing: a misspelt path must not pass.
        return Verdict::judged_on(
            false,
            format!("no file matches \"{glob}\": there is nothing to check"),
            Vec::new(),
        );
    }
    let scan = match scan(content, &files, &regex, cache, max_size) {
        Ok(s) => s,
        Err(e) => return Verdict::broken(e.to_string()),
    };
    let note = skipped_note(&scan.skipped, max_size);
    let detail = if scan.hits.is_empty() {
        format!(
            "no match of {pattern:?} in {} {}{note}",
            files.len(),
            if files.len() == 1 { "file" } else { "files" }
        )
    } else {
        let all: Vec<String> = scan
            .hits
            .iter()
            .map(|h| format!("{}:{}", h.path, h.line))
            .collect();
        format!(
            "{} {}: {}{note}",
            all.len(),
            if all.len() == 1 { "match" } else { "matches" },
            all.join(", ")
        )
    };
    Verdict::judged_on(scan.hits.is_empty(), detail, scan.inputs)
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::FailureCode;
    use crate::evidence::Outcome;
    use std::path::Path;
    use std::process::Command;

    use super::*;

    fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        let ok = Command::new("sh")
            .args(["-c", "git init -q . && git add -A"])
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir.path())
            .status()
            .unwrap();
        assert!(ok.success());
        dir
    }

    fn open(dir: &Path) -> git2::Repository {
        git2::Repository::open(dir).unwrap()
    }

    const FILES: &[(&str, &[u8])] = &[
        (
            "src/auth.rs",
            b"pub fn validate_jwt() {}\n\npub fn verify_token() {}\n",
        ),
        ("src/deep/more.rs", b"// TODO: later\nfn x() {}\n"),
        ("bin.dat", b"\xff\xfe\x00TODO\xff\n"),
        ("plans/p.md", b"TODO in a plan\n"),
        ("README.md", b"# readme\n"),
    ];

    #[test]
    fn a_literal_path_is_looked_up_with_the_same_result_as_the_glob_matcher() {
        let dir = repo(&[
            ("src/a.rs", b"1"),
            ("src/a.rs.bak", b"2"),
            ("src/a/b.rs", b"3"),
            ("src/a0", b"4"),
            ("srcx/a.rs", b"5"),
            ("x/src/a.rs", b"6"),
        ]);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        for path in [
            "src/a.rs",
            "src/a",
            "src/a/",
            "./src/a",
            "src",
            "src/",
            "src/nope",
            "src/*.rs",
            "src/a/**",
            "src/**/b.rs",
            "x/src/*.rs",
            "*/a.rs",
            "**/a.rs",
            "src/a/*",
        ] {
            let fast: Vec<&str> = matching(&content, path)
                .unwrap()
                .iter()
                .map(|e| e.path.as_str())
                .collect();
            let m = matcher(path).unwrap();
            let slow: Vec<&str> = content
                .files()
                .filter(|e| m.is_match(&e.path))
                .map(|e| e.path.as_str())
                .collect();
            assert_eq!(fast, slow, "{path}");
        }
    }

    #[test]
    fn file_exists_counts_matches_of_a_path_or_glob() {
        let dir = repo(FILES);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        let v = file_exists(&content, "src/auth.rs", 1);
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (Outcome::Pass, "1 file: src/auth.rs")
        );
        assert_eq!(v.inputs.len(), 1);
        let v = file_exists(&content, "*.rs", 2);
        assert_eq!(
            v.outcome,
            Outcome::Pass,
            "a glob without / matches at any depth: {}",
            v.detail
        );
        let v = file_exists(&content, "src/*.rs", 2);
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "a glob with / is anchored: {}",
            v.detail
        );
        assert_eq!(v.failure_code, Some(FailureCode::F3));
        assert_eq!(
            v.detail,
            "1 of the 2 files needed match \"src/*.rs\": src/auth.rs"
        );
        assert_eq!(
            file_exists(&content, "nope.rs", 1).detail,
            "no file matches \"nope.rs\""
        );
    }

    #[test]
    fn pattern_matches_counts_matches_with_their_lines() {
        let dir = repo(FILES);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        let cache = FileCache::default();
        let v = pattern_matches(
            &content,
            "src/auth.rs",
            "pub fn (validate_jwt|verify_token)",
            2,
            &cache,
            1 << 20,
        );
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (Outcome::Pass, "2 matches: src/auth.rs:1, src/auth.rs:3")
        );
        let v = pattern_matches(&content, "src/auth.rs", "^pub fn", 3, &cache, 1 << 20);
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "multi-line ^ finds 2, not 3: {}",
            v.detail
        );
        let v = pattern_matches(&content, "bin.dat", "TODO", 1, &cache, 1 << 20);
        assert_eq!(
            v.outcome,
            Outcome::Pass,
            "non-UTF-8 bytes are searched: {}",
            v.detail
        );
        let v = pattern_matches(&content, "missing.rs", "x", 1, &cache, 1 << 20);
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (Outcome::Fail, "no file matches \"missing.rs\"")
        );
    }

    #[test]
    fn no_pattern_exists_lists_every_hit_and_skips_plans_by_default() {
        let dir = repo(FILES);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        let cache = FileCache::default();
        let plans = |p: &str| p.starts_with("plans/");
        let v = no_pattern_exists(&content, "TODO", None, &plans, &cache, 1 << 20);
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(v.detail, "2 matches: bin.dat:1, src/deep/more.rs:1");
        assert_eq!(v.inputs.len(), 4, "every file but the plan is in scope");
        let v = no_pattern_exists(
            &content,
            "TODO",
            Some("src/auth.rs"),
            &plans,
            &cache,
            1 << 20,
        );
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
    }

    #[test]
    fn a_folder_pattern_covers_the_folder_and_a_path_matching_nothing_fails() {
        let dir = repo(FILES);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        let cache = FileCache::default();
        let none = |_: &str| false;
        for folder in ["src", "src/", "deep"] {
            let v = no_pattern_exists(&content, "TODO", Some(folder), &none, &cache, 1 << 20);
            assert_eq!(
                v.outcome,
                Outcome::Fail,
                "{folder} covers src/deep/more.rs: {}",
                v.detail
            );
        }
        assert_eq!(file_exists(&content, "src", 2).outcome, Outcome::Pass);
        let v = no_pattern_exists(
            &content,
            "TODO",
            Some("scr/**/*.rs"),
            &none,
            &cache,
            1 << 20,
        );
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (
                Outcome::Fail,
                "no file matches \"scr/**/*.rs\": there is nothing to check"
            )
        );
    }

    #[test]
    fn each_file_is_read_once_and_large_files_are_skipped_with_a_note() {
        let dir = repo(FILES);
        let repo = open(dir.path());
        let content = Content::index(&repo, None).unwrap();
        let cache = FileCache::default();
        for _ in 0..5 {
            let _ = pattern_matches(&content, "src/auth.rs", "fn", 1, &cache, 1 << 20);
            let _ = pattern_matches(&content, "**/*.rs", "fn", 1, &cache, 1 << 20);
        }
        assert_eq!(cache.reads(), 2, "two distinct files, each read once");
        let fresh = FileCache::default();
        let v = pattern_matches(&content, "src/auth.rs", "fn", 1, &fresh, 10);
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(fresh.reads(), 0, "a file over the limit is never loaded");
        assert!(
            v.detail
                .contains("skipped over max_file_size (10 bytes): src/auth.rs"),
            "{}",
            v.detail
        );
    }

    proptest::proptest! {
        /// A file that a glob matches is always where its reach says: the hooks skip the
        /// criteria of a plan when no changed path is within their reach.
        #[test]
        fn a_glob_matches_only_within_its_reach(glob in glob(), paths in proptest::collection::vec(path(), 1..6)) {
            let dir = tempfile::tempdir().unwrap();
            let repo = git2::Repository::init(dir.path()).unwrap();
            let changes = paths.iter().map(|p| {
                let entry = Entry { path: p.clone(), mode: 0o100_644, oid: git2::Oid::ZERO_SHA1 };
                (p.clone(), Some(entry))
            });
            let content = Content::lazy(&repo, crate::content::Source::Index, None, changes);
            let reach = reach(&glob);
            for found in matching(&content, &glob).unwrap_or_default() {
                proptest::prop_assert!(reach.holds(&found.path), "{glob} matched {} outside {reach:?}", found.path);
            }
        }
    }

    fn glob() -> impl proptest::strategy::Strategy<Value = String> {
        let part = proptest::sample::select(vec![
            "src", "a", "a.rs", "*", "**", "*.rs", "?", "[ab]", "{a,b}", "\\*", "b",
        ]);
        let lead = proptest::sample::select(vec!["", "./"]);
        let tail = proptest::sample::select(vec!["", "/"]);
        (lead, proptest::collection::vec(part, 1..4), tail)
            .prop_map(|(lead, parts, tail)| format!("{lead}{}{tail}", parts.join("/")))
    }

    fn path() -> impl proptest::strategy::Strategy<Value = String> {
        let part = proptest::sample::select(vec!["src", "a", "a.rs", "b", "*", "ab", "x.rs"]);
        proptest::collection::vec(part, 1..4).prop_map(|parts| parts.join("/"))
    }

    use proptest::strategy::Strategy as _;
}
