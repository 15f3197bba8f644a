//! The specproof files of a repository: config, plans and tasks, read from the working tree.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::config::Config;
use crate::criterion::Ctx;
use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule};
use crate::paths;
use crate::plan::Plan;
use crate::task::Task;

/// Everything specproof reads from a working tree.
#[derive(Debug)]
pub struct Workspace {
    pub config: Config,
    /// Problems of specproof.yml, and of finding the files (unreadable folders).
    pub config_diagnostics: Vec<Diagnostic>,
    /// Plans matched by `plans`, sorted by path.
    pub plans: Vec<Plan>,
    /// Task files in `tasks_dir`, sorted by path.
    pub tasks: Vec<Task>,
}

/// How the files of a workspace are read.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub root: &'a Path,
    /// Larger plan and task files are reported, not read.
    pub max_size: u64,
    /// Check patterns' syntax only (see [`Ctx::quick_regex`]).
    pub quick_regex: bool,
}

impl Workspace {
    /// Reads config, plans and tasks of the working tree at `root`. When specproof.yml has
    /// problems they are kept, and its `plans` and `tasks_dir` are still used where they are
    /// readable (the other keys fall back to their defaults).
    #[must_use]
    pub fn load(root: &Path) -> Self {
        Self::load_with(root, false)
    }

    /// [`Workspace::load`]; with `quick_regex`, patterns are checked for syntax only, not
    /// compiled (verify compiles a pattern when its proof runs).
    #[must_use]
    pub fn load_with(root: &Path, quick_regex: bool) -> Self {
        let (config, mut config_diagnostics) = match Config::load(root) {
            Ok(c) => (c, Vec::new()),
            Err(d) => (Config::salvage(root), d),
        };
        let reader = Reader {
            root,
            max_size: config.max_file_size.0,
            quick_regex,
        };
        let plans = plan_paths(root, &config, &mut config_diagnostics)
            .iter()
            .map(|p| reader.plan(p))
            .collect();
        let tasks = task_paths(root, &config, &mut config_diagnostics)
            .iter()
            .map(|p| reader.task(p))
            .collect();
        Self {
            config,
            config_diagnostics,
            plans,
            tasks,
        }
    }

    /// The loaded plan at repository path `path` (`./` and `a/../` spellings allowed).
    #[must_use]
    pub fn plan(&self, path: &str) -> Option<&Plan> {
        let path = paths::normalize(path);
        self.plans.iter().find(|p| p.path == path)
    }
}

fn unsafe_link(rel: &str, problem: &paths::PathProblem) -> Diagnostic {
    Diagnostic::new(
        rel,
        Pos::line(1),
        FailureCode::F8,
        Rule::UnsafePath,
        format!("path {problem}: not read"),
    )
}

fn unreadable(rel: &str, message: String) -> Diagnostic {
    Diagnostic::new(
        rel,
        Pos::line(1),
        FailureCode::F8,
        Rule::Unreadable,
        message,
    )
}

impl Reader<'_> {
    /// The bytes of `rel`, or why they cannot be had.
    fn bytes(&self, rel: &str) -> Result<Vec<u8>, Box<Diagnostic>> {
        let path = self.root.join(rel);
        let meta = std::fs::metadata(&path)
            .map_err(|e| Box::new(unreadable(rel, format!("cannot read: {e}"))))?;
        if !meta.is_file() {
            return Err(Box::new(unreadable(rel, "is not a regular file".into())));
        }
        if meta.len() > self.max_size {
            return Err(Box::new(unreadable(
                rel,
                format!(
                    "is {} bytes, over max_file_size ({} bytes): split it, or raise max_file_size in specproof.yml",
                    meta.len(),
                    self.max_size
                ),
            )));
        }
        std::fs::read(&path).map_err(|e| Box::new(unreadable(rel, format!("cannot read: {e}"))))
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            root: Some(self.root),
            quick_regex: self.quick_regex,
        }
    }

    /// Reads and parses the plan at repository path `rel`.
    #[must_use]
    pub fn plan(&self, rel: &str) -> Plan {
        match self.bytes(rel) {
            Ok(bytes) => Plan::parse(rel, &bytes, self.ctx()),
            Err(d) => Plan {
                path: rel.to_owned(),
                diagnostics: vec![*d],
                ..Plan::default()
            },
        }
    }

    /// Reads and parses the task at repository path `rel`.
    #[must_use]
    pub fn task(&self, rel: &str) -> Task {
        match self.bytes(rel) {
            Ok(bytes) => Task::parse(rel, &bytes, self.ctx()),
            Err(d) => {
                let stem = rel
                    .rsplit('/')
                    .next()
                    .unwrap_or(rel)
                    .trim_end_matches(".md")
                    .to_owned();
                Task {
                    path: rel.to_owned(),
                    stem,
                    diagnostics: vec![*d],
                    ..Task::default()
                }
            }
        }
    }
}

/// The glob set of the config's `plans`.
#[must_use]
pub fn plan_globs(config: &Config) -> GlobSet {
    glob_set(&config.plans)
}

fn glob_set(globs: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        if let Ok(g) = GlobBuilder::new(&paths::normalize(glob))
            .literal_separator(true)
            .build()
        {
            builder.add(g);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// True when `rel` is a plan file by the config: matched by `plans`, and not one of the files
/// specproof keeps for itself.
#[must_use]
pub fn is_plan_path(config: &Config, globs: &GlobSet, rel: &str) -> bool {
    globs.is_match(rel) && !is_specproof_file(config, rel)
}

/// The config's `plans`, compiled into a glob set only when a path could match one of them.
/// A hook asks about the few paths a commit changes, and most share no literal start with any
/// glob (`plans/**/*.md` matches only paths under `plans/`): compiling the set would cost more
/// than the rest of its checks.
#[derive(Debug, Clone)]
pub struct PlanGlobs {
    globs: Vec<String>,
    /// Each glob's literal start, up to its first special character: every path the glob
    /// matches starts with it.
    starts: Vec<String>,
    set: std::sync::OnceLock<GlobSet>,
}

impl PlanGlobs {
    #[must_use]
    pub fn new(config: &Config) -> Self {
        let starts = config
            .plans
            .iter()
            .map(|glob| {
                paths::normalize(glob)
                    .chars()
                    .take_while(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\'))
                    .collect()
            })
            .collect();
        Self {
            globs: config.plans.clone(),
            starts,
            set: std::sync::OnceLock::new(),
        }
    }

    /// Whether a glob matches `rel`, as [`plan_globs`]' set would say.
    #[must_use]
    pub fn is_match(&self, rel: &str) -> bool {
        self.may_match(rel) && self.set.get_or_init(|| glob_set(&self.globs)).is_match(rel)
    }

    /// Whether `rel` starts as some glob does: false means no glob matches it; true that one
    /// may (without compiling any).
    #[must_use]
    pub fn may_match(&self, rel: &str) -> bool {
        self.starts
            .iter()
            .any(|start| rel.starts_with(start.as_str()))
    }

    /// True when `rel` is a plan file by `config` (whose `plans` these are): see
    /// [`is_plan_path`].
    #[must_use]
    pub fn is_plan(&self, config: &Config, rel: &str) -> bool {
        self.is_match(rel) && !is_specproof_file(config, rel)
    }
}

/// True when `rel` is a task file by the config: a `*.md` file directly in `tasks_dir`.
#[must_use]
pub fn is_task_path(config: &Config, rel: &str) -> bool {
    let dir = paths::normalize(&config.tasks_dir);
    rel.strip_prefix(&dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| {
            !name.contains('/') && Path::new(name).extension().is_some_and(|x| x == "md")
        })
}

/// True for files specproof keeps for itself (tasks, snapshots, evidence): never plans, however
/// wide the `plans` globs are.
#[must_use]
pub fn is_specproof_file(config: &Config, rel: &str) -> bool {
    [
        paths::normalize(&config.tasks_dir),
        paths::normalize(&config.evidence_dir),
        ".specproof".to_owned(),
    ]
    .iter()
    .any(|dir| {
        rel.strip_prefix(dir.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Repository paths of every plan file: files matching `plans`, not ignored by git, sorted.
#[must_use]
pub fn plan_paths(root: &Path, config: &Config, problems: &mut Vec<Diagnostic>) -> Vec<String> {
    let globs = plan_globs(config);
    let mut out: Vec<String> = Vec::new();
    for base in glob_bases(&config.plans) {
        let dir = root.join(&base);
        // The folder itself may be a link out of the repository: it is not walked.
        if let Err(problem) = paths::check(Some(root), &base).or_else(|e| {
            // The root itself ("") needs no check.
            if base.is_empty() { Ok(()) } else { Err(e) }
        }) {
            problems.push(unsafe_link(&base, &problem));
            continue;
        }
        if base.is_empty() || dir.is_dir() {
            out.extend(
                markdown_files(root, &dir, problems)
                    .into_iter()
                    .filter(|rel| is_plan_path(config, &globs, rel)),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The folders the `globs` can match under: each glob's leading components before the first
/// one with a glob character (a literal path: its folder), without folders inside others. Only
/// these are walked, not the whole repository.
pub(crate) fn glob_bases(globs: &[String]) -> Vec<String> {
    let mut bases: Vec<String> = globs
        .iter()
        .map(|g| {
            let g = paths::normalize(g);
            let parts: Vec<&str> = g.split('/').collect();
            let fixed = parts.iter().take_while(|p| !paths::is_glob(p)).count();
            // A literal path names a file: walk its folder.
            let fixed = fixed.min(parts.len().saturating_sub(1));
            parts[..fixed].join("/")
        })
        .collect();
    bases.sort();
    bases.dedup();
    let all = bases.clone();
    bases.retain(|b| {
        !all.iter()
            .any(|other| other != b && (other.is_empty() || b.starts_with(&format!("{other}/"))))
    });
    bases
}

/// Repository paths of every `*.md` file directly in `tasks_dir`, sorted.
#[must_use]
pub fn task_paths(root: &Path, config: &Config, problems: &mut Vec<Diagnostic>) -> Vec<String> {
    let dir = paths::normalize(&config.tasks_dir);
    let entries = match std::fs::read_dir(root.join(&dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            let message = if root.join(&dir).is_file() {
                format!(
                    "tasks_dir \"{dir}\" is a file, not a folder: fix `tasks_dir` in specproof.yml"
                )
            } else {
                format!("cannot read the tasks folder: {e}")
            };
            problems.push(unreadable(&dir, message).field("tasks_dir"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                    problems.push(unreadable(
                        &dir,
                        format!(
                            "{} is not a UTF-8 file name: rename it",
                            e.file_name().display()
                        ),
                    ));
                    continue;
                };
                let rel = format!("{dir}/{name}");
                // `metadata` follows a symlinked task file; one leading out is reported.
                if !is_task_path(config, &rel) || !e.path().metadata().is_ok_and(|m| m.is_file()) {
                    continue;
                }
                match paths::check(Some(root), &rel) {
                    Ok(()) => out.push(rel),
                    Err(problem) => problems.push(unsafe_link(&rel, &problem)),
                }
            }
            Err(e) => problems.push(unreadable(
                &dir,
                format!("cannot read the tasks folder: {e}"),
            )),
        }
    }
    out.sort();
    out
}

/// Repository paths of the markdown files under `dir` that git does not ignore, skipping
/// `.git`. Folders that cannot be read are reported in `problems`.
#[must_use]
pub fn markdown_files(root: &Path, dir: &Path, problems: &mut Vec<Diagnostic>) -> Vec<String> {
    // Links are followed while they stay inside the repository; a link out of it is reported
    // and not entered (`ln -s / all` must not walk the machine).
    let outside = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let pruned = std::sync::Arc::clone(&outside);
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .follow_links(true)
        .require_git(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            if e.path_is_symlink() {
                let inside = e
                    .path()
                    .canonicalize()
                    .is_ok_and(|t| t.starts_with(&canonical_root));
                if !inside {
                    if let Ok(mut o) = pruned.lock() {
                        o.push(e.path().to_path_buf());
                    }
                    return false;
                }
            }
            true
        })
        .build();
    let mut out = Vec::new();
    for entry in walker {
        match entry {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let Some(rel) = paths::relative_to(root, e.path()) else {
                    continue;
                };
                if !Path::new(&rel)
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("md"))
                {
                    continue;
                }
                // Links are followed, but only while they stay inside the repository.
                match paths::check(Some(root), &rel) {
                    Ok(()) => out.push(rel),
                    Err(problem) => problems.push(unsafe_link(&rel, &problem)),
                }
            }
            Err(e) => {
                let place = e_path(&e)
                    .and_then(|p| paths::relative_to(root, &p))
                    .unwrap_or_else(|| ".".to_owned());
                problems.push(unreadable(&place, format!("cannot read: {e}")));
            }
        }
    }
    // A markdown file or a folder linked from outside is reported (it may hold plans: SPEC §4
    // makes a path through a link out of the repository an error) and not entered.
    let pruned: Vec<std::path::PathBuf> = outside.lock().map(|o| o.clone()).unwrap_or_default();
    for link in pruned {
        let is_md = link
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("md"));
        if let (true, Some(rel)) = (is_md || link.is_dir(), paths::relative_to(root, &link))
            && let Err(problem) = paths::check(Some(root), &rel)
        {
            problems.push(unsafe_link(&rel, &problem));
        }
    }
    out
}

fn e_path(error: &ignore::Error) -> Option<std::path::PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            e_path(err)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_folders_the_plan_globs_can_reach_are_walked() {
        let bases = |globs: &[&str]| {
            super::glob_bases(&globs.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(bases(&["plans/**/*.md"]), ["plans"]);
        assert_eq!(
            bases(&["plans/**/*.md", "plans/x/*.md", "docs/spec.md"]),
            ["docs", "plans"]
        );
        assert_eq!(bases(&["*.md", "plans/*.md"]), [""]);
        assert_eq!(bases(&["./a/b/c.md"]), ["a/b"]);
    }

    proptest::proptest! {
        /// The lazily compiled plan globs say what the compiled set says, for globs and paths
        /// made of look-alike parts (literal starts, `*`, `**`, classes, alternations, escapes).
        #[test]
        fn plan_globs_match_as_the_compiled_set(
            globs in proptest::collection::vec(glob(), 0..4),
            paths in proptest::collection::vec(path(), 1..8),
        ) {
            let config = crate::config::Config {
                plans: globs,
                ..crate::config::Config::default()
            };
            let set = super::plan_globs(&config);
            let lazy = super::PlanGlobs::new(&config);
            for p in &paths {
                proptest::prop_assert_eq!(lazy.is_match(p), set.is_match(p), "{}", p);
                proptest::prop_assert!(lazy.may_match(p) || !set.is_match(p), "{}", p);
            }
        }
    }

    fn glob() -> impl proptest::strategy::Strategy<Value = String> {
        let part = proptest::sample::select(vec![
            "plans",
            "pl*",
            "p?ans",
            "[pq]lans",
            "{plans,specs}",
            "**",
            "*.md",
            "a.md",
            "\\*",
            "./x",
        ]);
        proptest::strategy::Strategy::prop_map(proptest::collection::vec(part, 1..4), |parts| {
            parts.join("/")
        })
    }

    fn path() -> impl proptest::strategy::Strategy<Value = String> {
        let part = proptest::sample::select(vec![
            "plans", "specs", "qlans", "a.md", "b.md", "*", "x", "pl",
        ]);
        proptest::strategy::Strategy::prop_map(proptest::collection::vec(part, 1..4), |parts| {
            parts.join("/")
        })
    }
}
