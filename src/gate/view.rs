//! The specproof files of one content (an index or a commit's tree): config, plans, snapshots
//! and tasks, read from git's blobs rather than the working tree.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::config::Config;
use crate::content::Content;
use crate::criterion::{Criterion, Ctx};
use crate::diagnostic::Diagnostic;
use crate::lint::SNAPSHOT_DIR;
use crate::plan::Plan;
use crate::task::{Task, TaskMeta};
use crate::workspace;

/// How files are parsed here: no file system (the content is git's), patterns checked for
/// syntax only (a proof compiles its pattern when it runs).
const CTX: Ctx<'static> = Ctx {
    root: None,
    quick_regex: true,
};

/// The specproof files of one content. Plans and snapshots are parsed on first use.
pub struct View<'c, 'r> {
    pub content: &'c Content<'r>,
    pub config: Config,
    /// Problems of specproof.yml in this content (empty when it is fine or absent).
    pub config_problems: Vec<Diagnostic>,
    globs: workspace::PlanGlobs,
    parsed: OnceCell<Parsed>,
}

/// The plan files of a content, by path, and the snapshots, by the path of the plan they stand
/// for.
#[derive(Default)]
struct Parsed {
    plans: Vec<Plan>,
    snapshots: BTreeMap<String, Plan>,
}

impl std::fmt::Debug for View<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<'c, 'r> View<'c, 'r> {
    /// Reads the config, the plans and their snapshots of `content`.
    #[must_use]
    pub fn load(content: &'c Content<'r>) -> Self {
        let (config, config_problems) = match content.read(crate::config::FILE) {
            Err(crate::content::ContentError::NotFound(_)) => (Config::default(), Vec::new()),
            Err(e) => (
                Config::default(),
                vec![unreadable(crate::config::FILE, &e.to_string())],
            ),
            Ok(bytes) => match Config::parse(&bytes, None) {
                Ok(c) => (c, Vec::new()),
                Err(d) => (Config::default(), d),
            },
        };
        let globs = workspace::PlanGlobs::new(&config);
        Self {
            content,
            config,
            config_problems,
            globs,
            parsed: OnceCell::new(),
        }
    }

    /// [`View::load`] of `content`, taking `other`'s config when both contents hold the same
    /// specproof.yml (it is then not parsed twice).
    #[must_use]
    pub fn load_beside(content: &'c Content<'r>, other: &View<'_, '_>) -> Self {
        let same = content.get(crate::config::FILE).map(|e| e.oid)
            == other.content.get(crate::config::FILE).map(|e| e.oid);
        if !same {
            return Self::load(content);
        }
        Self {
            content,
            config: other.config.clone(),
            config_problems: other.config_problems.clone(),
            globs: other.globs.clone(),
            parsed: OnceCell::new(),
        }
    }

    /// Adds `plans` (another config's globs) to this view's plan files: a change to
    /// specproof.yml cannot take a plan out of its own judgement.
    pub fn widen_plans(&mut self, plans: &[String]) {
        let mut added = false;
        for glob in plans {
            if !self.config.plans.contains(glob) {
                self.config.plans.push(glob.clone());
                added = true;
            }
        }
        if added {
            self.globs = workspace::PlanGlobs::new(&self.config);
            self.parsed = OnceCell::new();
        }
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            let mut parsed = Parsed::default();
            for path in self.plan_paths() {
                parsed.plans.push(self.parse_plan(&path));
            }
            for e in self.content.under(SNAPSHOT_DIR) {
                let plan_path = e.path[SNAPSHOT_DIR.len() + 1..].to_owned();
                parsed.snapshots.insert(plan_path, self.parse_plan(&e.path));
            }
            parsed
        })
    }

    /// The plan files of this content, sorted by path.
    #[must_use]
    pub fn plans(&self) -> &[Plan] {
        &self.parsed().plans
    }

    /// The snapshots of this content, by the path of the plan each stands for.
    #[must_use]
    pub fn snapshots(&self) -> &BTreeMap<String, Plan> {
        &self.parsed().snapshots
    }

    /// The paths of the plan files of this content, sorted, without reading them.
    #[must_use]
    pub fn plan_paths(&self) -> Vec<String> {
        self.plan_files(|path| self.is_plan(path))
    }

    /// The files that may be plans: every plan, and maybe a few files that start as a plan
    /// glob does but that it does not match (told apart by [`View::is_plan`], which compiles
    /// the globs). Sorted.
    #[must_use]
    pub fn plan_candidates(&self) -> Vec<String> {
        self.plan_files(|path| {
            self.globs.may_match(path) && !workspace::is_specproof_file(&self.config, path)
        })
    }

    fn plan_files(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        for base in workspace::glob_bases(&self.config.plans) {
            let files: Box<dyn Iterator<Item = &crate::content::Entry>> = if base.is_empty() {
                Box::new(self.content.files())
            } else {
                Box::new(self.content.under(&base))
            };
            out.extend(files.filter(|e| keep(&e.path)).map(|e| e.path.clone()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// The file that defines `plan_path`'s criteria: its snapshot when this content has one.
    #[must_use]
    pub fn definitions_path(&self, plan_path: &str) -> String {
        let snapshot = format!("{SNAPSHOT_DIR}/{plan_path}");
        if self.content.get(&snapshot).is_some() {
            snapshot
        } else {
            plan_path.to_owned()
        }
    }

    /// Parses the plan (or snapshot) file at `path` of this content.
    #[must_use]
    pub fn parse_plan(&self, path: &str) -> Plan {
        // A plan is the same blob in most commits a push or an audit replays: parsed once per
        // process, by path and blob id.
        static PARSED: std::sync::LazyLock<
            std::sync::Mutex<std::collections::HashMap<(String, git2::Oid), Plan>>,
        > = std::sync::LazyLock::new(Default::default);
        let key = self.content.get(path).map(|e| (path.to_owned(), e.oid));
        if let Some(key) = &key
            && let Some(plan) = PARSED.lock().ok().and_then(|m| m.get(key).cloned())
        {
            return plan;
        }
        match self.content.read(path) {
            Ok(bytes) => {
                let plan = Plan::parse(path, &bytes, CTX);
                if let Some(key) = key
                    && let Ok(mut memo) = PARSED.lock()
                {
                    memo.insert(key, plan.clone());
                }
                plan
            }
            Err(e) => Plan {
                path: path.to_owned(),
                diagnostics: vec![unreadable(path, &e.to_string())],
                ..Plan::default()
            },
        }
    }

    /// Whether `path` is a plan file of this content's config.
    #[must_use]
    pub fn is_plan(&self, path: &str) -> bool {
        self.globs.is_plan(&self.config, path)
    }

    /// Whether `path` is a task file of this content's config.
    #[must_use]
    pub fn is_task(&self, path: &str) -> bool {
        workspace::is_task_path(&self.config, path)
    }

    /// The path of task `id`'s file.
    #[must_use]
    pub fn task_path(&self, id: &str) -> String {
        format!(
            "{}/{id}.md",
            crate::paths::normalize(&self.config.tasks_dir)
        )
    }

    /// The plan at `path`.
    #[must_use]
    pub fn plan(&self, path: &str) -> Option<&Plan> {
        let path = crate::paths::normalize(path);
        self.plans().iter().find(|p| p.path == path)
    }

    /// The authoritative definitions of `plan_file`: its snapshot, else the plan itself.
    #[must_use]
    pub fn definitions(&self, plan_file: &str) -> Option<&Plan> {
        let path = crate::paths::normalize(plan_file);
        self.snapshots().get(&path).or_else(|| self.plan(&path))
    }

    /// The authoritative definition of criterion `id` of `plan_file`.
    #[must_use]
    pub fn criterion(&self, plan_file: &str, id: &str) -> Option<&Criterion> {
        self.definitions(plan_file).and_then(|p| p.criterion(id))
    }

    /// The task's criteria as gate 2 judges them: each ID with the description of its
    /// authoritative definition (unknown IDs are gate 1's to report).
    #[must_use]
    pub fn echo_criteria(&self, task: &Task) -> Vec<(String, String)> {
        let Some(meta) = &task.meta else {
            return Vec::new();
        };
        task.criteria_ids
            .iter()
            .filter_map(|(id, _)| {
                self.criterion(&meta.plan_file, id)
                    .map(|c| (id.clone(), c.description.clone()))
            })
            .collect()
    }

    /// The task file at `path`, parsed; None when the content has no such file.
    #[must_use]
    pub fn task(&self, path: &str) -> Option<Task> {
        let bytes = match self.content.read(path) {
            Ok(bytes) => bytes,
            Err(crate::content::ContentError::NotFound(_)) => return None,
            Err(e) => {
                return Some(Task {
                    path: path.to_owned(),
                    stem: stem(path),
                    diagnostics: vec![unreadable(path, &e.to_string())],
                    ..Task::default()
                });
            }
        };
        Some(Task::parse(path, &bytes, CTX))
    }

    /// The front matter of every task file of this content that has a readable one, by task ID
    /// (the file stem).
    #[must_use]
    pub fn task_metas(&self) -> BTreeMap<String, TaskMeta> {
        let dir = crate::paths::normalize(&self.config.tasks_dir);
        self.content
            .under(&dir)
            .filter(|e| self.is_task(&e.path))
            .filter_map(|e| {
                let bytes = self.content.read(&e.path).ok()?;
                let meta = Task::meta_only(&e.path, &bytes)?;
                Some((stem(&e.path), meta))
            })
            .collect()
    }

    /// Gate 1 for `task` in this content (lint's checks of one task).
    #[must_use]
    pub fn lint_task(&self, task: &Task) -> Vec<Diagnostic> {
        let plan_exists = |rel: &str| self.content.get(rel).is_some();
        let snapshot_of = |rel: &str| self.snapshots().get(rel);
        crate::lint::check_task(task, self.plans(), &self.config, &plan_exists, &snapshot_of)
    }
}

/// The file name without folder and `.md`.
#[must_use]
pub fn stem(path: &str) -> String {
    crate::lint::plan_stem(path).to_owned()
}

fn unreadable(path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        path,
        crate::diagnostic::Pos::line(1),
        crate::diagnostic::FailureCode::F8,
        crate::diagnostic::Rule::Unreadable,
        format!("cannot read: {why}"),
    )
}
