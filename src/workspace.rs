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
    /// Problems of specproof.yml (the defaults are used when there are any).
    pub config_diagnostics: Vec<Diagnostic>,
    /// Plans matched by `plans`, sorted by path.
    pub plans: Vec<Plan>,
    /// Task files in `tasks_dir`, sorted by path.
    pub tasks: Vec<Task>,
}

impl Workspace {
    /// Reads config, plans and tasks of the working tree at `root`.
    #[must_use]
    pub fn load(root: &Path) -> Self {
        let (config, config_diagnostics) = match Config::load(root) {
            Ok(c) => (c, Vec::new()),
            Err(d) => (Config::default(), d),
        };
        let ctx = Ctx { root: Some(root) };
        let plans = plan_paths(root, &config)
            .iter()
            .map(|p| read_plan(root, p, ctx))
            .collect();
        let tasks = task_paths(root, &config)
            .iter()
            .map(|p| read_task(root, p, ctx))
            .collect();
        Self {
            config,
            config_diagnostics,
            plans,
            tasks,
        }
    }

    /// The loaded plan at repository path `path`.
    #[must_use]
    pub fn plan(&self, path: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.path == path)
    }
}

fn read_error(rel: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        rel,
        Pos::line(1),
        FailureCode::F8,
        Rule::Unreadable,
        format!("cannot read: {e}"),
    )
}

/// Reads and parses the plan at repository path `rel`.
#[must_use]
pub fn read_plan(root: &Path, rel: &str, ctx: Ctx<'_>) -> Plan {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => Plan::parse(rel, &bytes, ctx),
        Err(e) => Plan {
            path: rel.to_owned(),
            diagnostics: vec![read_error(rel, &e)],
            ..Plan::default()
        },
    }
}

/// Reads and parses the task at repository path `rel`.
#[must_use]
pub fn read_task(root: &Path, rel: &str, ctx: Ctx<'_>) -> Task {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => Task::parse(rel, &bytes, ctx),
        Err(e) => {
            let stem = rel
                .rsplit('/')
                .next()
                .unwrap_or(rel)
                .trim_end_matches(".md")
                .to_owned();
            Task {
                path: rel.to_owned(),
                stem,
                diagnostics: vec![read_error(rel, &e)],
                ..Task::default()
            }
        }
    }
}

/// The glob set of the config's `plans`.
#[must_use]
pub fn plan_globs(config: &Config) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in &config.plans {
        if let Ok(g) = GlobBuilder::new(glob).literal_separator(true).build() {
            builder.add(g);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Repository paths of every plan file: files matching `plans`, not ignored by git, sorted.
#[must_use]
pub fn plan_paths(root: &Path, config: &Config) -> Vec<String> {
    let globs = plan_globs(config);
    let mut out: Vec<String> = markdown_files(root, root)
        .into_iter()
        .filter(|rel| globs.is_match(rel) && !is_specproof_file(config, rel))
        .collect();
    out.sort();
    out
}

/// True for files specproof keeps for itself (tasks, snapshots, evidence): never plans, however
/// wide the `plans` globs are.
#[must_use]
pub fn is_specproof_file(config: &Config, rel: &str) -> bool {
    [
        config.tasks_dir.as_str(),
        config.evidence_dir.as_str(),
        ".specproof",
    ]
    .iter()
    .any(|dir| {
        rel.strip_prefix(dir.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Repository paths of every `*.md` file directly in `tasks_dir`, sorted.
#[must_use]
pub fn task_paths(root: &Path, config: &Config) -> Vec<String> {
    let dir = config.tasks_dir.trim_end_matches('/');
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| Path::new(name).extension().is_some_and(|x| x == "md"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    out.sort();
    out
}

/// Repository paths of the markdown files under `dir` that git does not ignore, skipping `.git`.
#[must_use]
pub fn markdown_files(root: &Path, dir: &Path) -> Vec<String> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| paths::relative_to(root, e.path()))
        .filter(|rel| {
            Path::new(rel)
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("md"))
        })
        .collect()
}
