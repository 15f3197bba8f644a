//! `specproof task new` (SPEC §3, §9): a task file for one plan section. The front matter is the
//! layout of SPEC §3; `## Source` is the section's text and `## Acceptance Criteria` holds exact
//! copies of its task-scope criteria, both read from the plan's snapshot when it has one (proofs
//! run from the snapshot), else from the plan. `review-tasks --create-gap-tasks` writes its gap
//! tasks with the same writer.
//!
//! A copy is the criterion's text as its block writes it (dedented); where that text cannot be
//! cut out on its own (a flow-style list), the criterion is written out as equivalent YAML. The
//! file is parsed back before it is written: lint's checks of a task (gate 1) must find nothing,
//! or nothing is written.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde_yaml::Value;
use thiserror::Error;

use crate::criterion::{self, Criterion, Ctx, Proof, Scope, valid_id};
use crate::diagnostic::did_you_mean;
use crate::markdown::{self, heading_key};
use crate::paths;
use crate::plan::Plan;
use crate::snapshot;
use crate::task::{Status, Task, TaskMeta};
use crate::workspace::Workspace;
use crate::yaml;

/// Why no task file was written.
#[derive(Debug, Error)]
pub enum TaskNewError {
    /// An unknown plan, section or dependency, a bad ID or owner (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The task file exists, or the section holds nothing a task can hold (exit 1).
    #[error("{0}")]
    Refused(String),
    /// The file could not be written (exit 2); nothing was.
    #[error("cannot write {path}: {cause}; nothing was written")]
    Write { path: String, cause: std::io::Error },
    /// The file would not read back as intended: a bug in specproof (exit 2).
    #[error("{0}")]
    Internal(String),
}

/// A plan's authoritative definitions as text: its snapshot when it has one, else the plan.
#[derive(Debug, Clone)]
pub struct Definitions {
    /// The plan file, repository-relative.
    pub plan: String,
    /// The file read: `.specproof/snapshots/<plan>`, or the plan itself.
    pub file: String,
    /// That file, parsed (its `path` is `file`).
    pub parsed: Plan,
    /// Its lines without line endings: `lines[0]` is line 1.
    lines: Vec<String>,
    /// The first line after the front matter.
    body_line: usize,
}

impl Definitions {
    /// Reads the definitions of the plan at repository path `plan` from the working tree at
    /// `root`.
    ///
    /// # Errors
    /// A message naming the file when it cannot be read or is not text.
    pub fn load(root: &Path, plan: &str) -> Result<Self, String> {
        let snapshot = snapshot::snapshot_path(plan);
        let file = if root.join(&snapshot).is_file() && paths::check(Some(root), &snapshot).is_ok()
        {
            snapshot
        } else {
            plan.to_owned()
        };
        let bytes =
            std::fs::read(root.join(&file)).map_err(|e| format!("{file}: cannot read: {e}"))?;
        Self::parse(plan, &file, &bytes, Some(root))
    }

    /// The definitions of `plan` read from `file`'s `bytes`.
    ///
    /// # Errors
    /// A message naming the file when it is not text.
    pub fn parse(
        plan: &str,
        file: &str,
        bytes: &[u8],
        root: Option<&Path>,
    ) -> Result<Self, String> {
        let text = markdown::decode(file, bytes).map_err(|d| d.to_string())?;
        let parsed = Plan::parse(
            file,
            bytes,
            Ctx {
                root,
                quick_regex: true,
            },
        );
        let body_line = markdown::split_front_matter(text).map_or(1, |fm| fm.body_line);
        let lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect();
        Ok(Self {
            plan: plan.to_owned(),
            file: file.to_owned(),
            parsed,
            lines,
            body_line,
        })
    }

    /// True when the definitions come from the plan's snapshot.
    #[must_use]
    pub fn from_snapshot(&self) -> bool {
        self.file != self.plan
    }

    /// The index (in `parsed.sections`) of the first heading titled `title`, ignoring case and
    /// punctuation.
    #[must_use]
    pub fn section(&self, title: &str) -> Option<usize> {
        let key = heading_key(title);
        self.parsed
            .sections
            .iter()
            .position(|s| heading_key(&s.title) == key)
    }

    /// The title of heading `h`; None for the text before the first heading.
    #[must_use]
    pub fn title(&self, h: Option<usize>) -> Option<&str> {
        h.and_then(|i| self.parsed.sections.get(i))
            .map(|s| s.title.as_str())
    }

    /// The heading in force at `line`: the nearest one above it (None: before the first).
    #[must_use]
    pub fn heading_at(&self, line: usize) -> Option<usize> {
        self.parsed.sections.iter().rposition(|s| s.line <= line)
    }

    /// The file lines `(first, last)` of the text under heading `h`, up to the next heading of
    /// any level: the span whose criteria belong to it (SPEC §2).
    fn span(&self, h: Option<usize>) -> (usize, usize) {
        let sections = &self.parsed.sections;
        let first = h.map_or(self.body_line, |i| sections[i].line + 1);
        let next = h.map_or(0, |i| i + 1);
        let last = sections
            .get(next)
            .map_or(self.lines.len(), |s| s.line.saturating_sub(1));
        (first, last)
    }

    /// The criteria under heading `h` that validated, in plan order.
    #[must_use]
    pub fn criteria_under(&self, h: Option<usize>) -> Vec<&Criterion> {
        self.parsed
            .criteria
            .iter()
            .filter(|c| self.heading_at(c.pos.line) == h)
            .collect()
    }

    /// IDs written under heading `h` whose criterion did not validate, with their line.
    #[must_use]
    pub fn invalid_under(&self, h: Option<usize>) -> Vec<(String, usize)> {
        self.parsed
            .ids
            .iter()
            .filter(|(id, pos)| {
                self.heading_at(pos.line) == h && self.parsed.criterion(id).is_none()
            })
            .map(|(id, pos)| (id.clone(), pos.line))
            .collect()
    }

    /// The text under heading `h`, verbatim, without the blank lines around it.
    #[must_use]
    pub fn source(&self, h: Option<usize>) -> String {
        let (first, last) = self.span(h);
        let end = last.min(self.lines.len());
        let start = first.saturating_sub(1).min(end);
        let mut lines = &self.lines[start..end];
        while lines.first().is_some_and(|l| l.trim().is_empty()) {
            lines = &lines[1..];
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines = &lines[..lines.len() - 1];
        }
        lines.join("\n")
    }

    /// Each criterion of the blocks under heading `h`, by ID: its item as the block writes it
    /// (dedented, trailing blank and comment lines dropped), or, where that cannot be cut out on
    /// its own, as equivalent YAML. With `rewrite`, every item is written out as YAML.
    fn items(&self, h: Option<usize>, rewrite: bool) -> Vec<(String, String)> {
        let (first, last) = self.span(h);
        let body = self.lines[self.body_line.saturating_sub(1).min(self.lines.len())..].join("\n");
        let doc = markdown::scan(&body, self.body_line);
        let mut out: Vec<(String, String)> = Vec::new();
        for fence in doc.fences.iter().filter(|f| {
            f.lang.eq_ignore_ascii_case("criteria")
                && f.closed
                && (first..=last).contains(&f.open_line)
        }) {
            let Ok(Value::Sequence(items)) = yaml::parse(&fence.body, fence.body_line) else {
                continue;
            };
            let lines: Vec<&str> = fence.body.split('\n').collect();
            let starts = criterion::item_starts(&lines, items.len());
            let cut_apart = !rewrite && starts.windows(2).all(|w| w[0] < w[1]);
            for (i, item) in items.iter().enumerate() {
                let Some(id) = item.get("id").and_then(yaml::scalar_text) else {
                    continue;
                };
                let written = if cut_apart {
                    let to = starts.get(i + 1).copied().unwrap_or(lines.len());
                    starts.get(i).and_then(|&from| cut(lines.get(from..to)?))
                } else {
                    None
                };
                if let Some(text) = written.or_else(|| serialized(item))
                    && !out.iter().any(|(known, _)| *known == id)
                {
                    out.push((id, text));
                }
            }
        }
        out
    }
}

/// One list item's lines, dedented to column 0, without trailing blank and comment lines; None
/// when they do not start with `-` or a line is indented less than the first.
fn cut(lines: &[&str]) -> Option<String> {
    let mut lines = lines.to_vec();
    while lines
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        lines.pop();
    }
    let first = lines.first()?;
    let indent = first.len() - first.trim_start_matches(' ').len();
    if !first[indent..].starts_with('-') {
        return None;
    }
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        if line.trim().is_empty() {
            out.push("");
        } else if line.len() - line.trim_start_matches(' ').len() >= indent {
            out.push(&line[indent..]);
        } else {
            return None;
        }
    }
    Some(out.join("\n"))
}

/// A criterion item written out as block YAML: `- id: …` and its fields indented under it.
fn serialized(item: &Value) -> Option<String> {
    let yaml = serde_yaml::to_string(item).ok()?;
    let mut out = String::new();
    for (i, line) in yaml.trim_end_matches('\n').split('\n').enumerate() {
        if i == 0 {
            out.push_str("- ");
        } else {
            out.push('\n');
            if !line.is_empty() {
                out.push_str("  ");
            }
        }
        out.push_str(line);
    }
    Some(out)
}

/// What a new task file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub task_id: String,
    pub plan_file: String,
    /// The heading's title; None for the text before a plan's first heading.
    pub plan_section: Option<String>,
    pub assigned_to: Option<String>,
    pub depends_on: Vec<String>,
    /// The section's text.
    pub source: String,
    /// Each criterion: its ID and its item text (`- id: …`).
    pub criteria: Vec<(String, String)>,
    pub file_targets: Vec<String>,
}

impl Draft {
    /// The front matter this draft writes.
    #[must_use]
    pub fn meta(&self) -> TaskMeta {
        TaskMeta {
            task_id: self.task_id.clone(),
            plan_file: self.plan_file.clone(),
            plan_section: self.plan_section.clone(),
            status: Status::Created,
            assigned_to: self.assigned_to.clone(),
            tier: 1,
            iteration: 1,
            attempts: 0,
            base: None,
            escalation: None,
            depends_on: self.depends_on.clone(),
            phase: 1,
            reviewed_by: None,
            acks: Vec::new(),
        }
    }

    /// The task file's text.
    #[must_use]
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let or_null = |v: Option<&String>| v.map_or_else(|| "null".to_owned(), |s| scalar(s));
        let depends: Vec<String> = self.depends_on.iter().map(|d| scalar(d)).collect();
        let items: Vec<&str> = self.criteria.iter().map(|(_, t)| t.as_str()).collect();
        let fence = fence_for(&items);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "---\ntask_id: {}\nplan_file: {}\nplan_section: {}\nstatus: created\nassigned_to: {}\n\
             tier: 1\niteration: 1\nattempts: 0\nbase: null\nescalation: null\ndepends_on: [{}]\n---\n",
            scalar(&self.task_id),
            scalar(&self.plan_file),
            or_null(self.plan_section.as_ref()),
            or_null(self.assigned_to.as_ref()),
            depends.join(", ")
        );
        out.push_str("## Source\n\n");
        if !self.source.is_empty() {
            out.push_str(&self.source);
            out.push_str("\n\n");
        }
        let _ = writeln!(out, "## Acceptance Criteria\n\n{fence}criteria");
        for item in &items {
            out.push_str(item);
            out.push('\n');
        }
        let _ = write!(out, "{fence}\n\n## File Targets\n\n");
        for path in &self.file_targets {
            let _ = writeln!(out, "- {path}");
        }
        if !self.file_targets.is_empty() {
            out.push('\n');
        }
        out.push_str("## Context\n\n## Worker Report\n\n### Echo-Back\n\n");
        out.push_str(
            "(In your own words, one line per criterion: what you will build and how it is checked.)\n\n",
        );
        for (id, _) in &self.criteria {
            let _ = writeln!(out, "- {id}:");
        }
        out.push_str("\nAssumptions:\n\n-\n\n");
        for heading in [
            "Implementation Notes",
            "Evidence",
            "Code Changes",
            "Self-Review",
        ] {
            let _ = write!(out, "### {heading}\n\n");
        }
        out.push_str("### Status Update\n");
        out
    }
}

/// A fence of backticks longer than any run of backticks that starts a line of `items`.
fn fence_for(items: &[&str]) -> String {
    let longest = items
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| l.trim_start().bytes().take_while(|&b| b == b'`').count())
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// `text` as a YAML scalar: plain when it reads back as the same text, else double-quoted.
#[must_use]
pub fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text.trim() == text
        && !text.contains(['\n', '\r'])
        && serde_yaml::from_str::<Value>(&format!("k: {text}\n"))
            .ok()
            .and_then(|v| v.get("k").cloned())
            == Some(Value::String(text.to_owned()));
    if plain {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// A YAML double-quoted scalar: `\` and `"` escaped, and every character YAML would read as a
/// line break or refuses (controls, NEL, the Unicode line and paragraph separators, BOM) as an
/// escape sequence.
fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The paths the criteria's args name (`path`, and `semantic_match`'s list of paths), as
/// written, each once, in order. A command proof names its `cwd`, and the words of its
/// `command` that name a file or folder of the repository (`exists` says which do), relative to
/// the root or to `cwd`: `pytest tests/test_auth.py` names `tests/test_auth.py`.
#[must_use]
pub fn file_targets<'a>(
    criteria: impl IntoIterator<Item = &'a Criterion>,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in criteria {
        let named: Vec<String> = match &c.proof {
            Proof::FileExists { path, .. }
            | Proof::PatternMatches { path, .. }
            | Proof::LineCountDelta { path, .. } => vec![path.clone()],
            Proof::NoPatternExists { path, .. } | Proof::GitDiffContains { path, .. } => {
                path.iter().cloned().collect()
            }
            Proof::SemanticMatch { paths, .. } => paths.clone(),
            Proof::BuildsClean { run }
            | Proof::TestPasses { run, .. }
            | Proof::CommandOutputMatches { run, .. } => command_targets(run, exists),
        };
        for path in named {
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// A command proof's `cwd`, then the words of its command that name an existing file or folder
/// (relative to `cwd` when set, else to the root), repository-relative. Options (`-x`),
/// absolute paths and paths escaping with `..` are left alone.
fn command_targets(run: &criterion::CommandSpec, exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let cwd = run.cwd.as_deref().map(paths::normalize);
    let mut out: Vec<String> = cwd.iter().filter(|c| !c.is_empty()).cloned().collect();
    for word in shell_words(&run.command) {
        if word.starts_with(['-', '~']) || paths::check(None, &word).is_err() {
            continue;
        }
        let rel = match &cwd {
            Some(dir) if !dir.is_empty() => paths::normalize(&format!("{dir}/{word}")),
            _ => paths::normalize(&word),
        };
        if !rel.is_empty() && exists(&rel) && !out.contains(&rel) {
            out.push(rel);
        }
    }
    out
}

/// The words of a shell command: split at blanks and at `;`, `&`, `|`, `<`, `>`, `(`, `)`
/// outside quotes, with the quotes taken off (`"a b"` is the one word `a b`).
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            // A backslash escapes the next character, except inside single quotes.
            (None | Some('"'), '\\') => word.extend(chars.next()),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() || ";&|<>()".contains(c) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// True when the repository at `root` has a file or folder at `rel` (not through a link out).
fn in_repository(root: &Path, rel: &str) -> bool {
    paths::check(Some(root), rel).is_ok() && root.join(rel).symlink_metadata().is_ok()
}

/// The next free task ID after the `T-<number>` IDs of `taken`: the highest number plus one,
/// written with as many digits as the widest of them (at least 3): `T-001` when there is none.
#[must_use]
pub fn next_id<'a>(taken: impl IntoIterator<Item = &'a str>) -> String {
    let mut highest: Option<u64> = None;
    let mut width = 3;
    for id in taken {
        let Some(digits) = id.strip_prefix("T-") else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(n) = digits.parse::<u64>() else {
            continue;
        };
        width = width.max(digits.len());
        highest = Some(highest.map_or(n, |h| h.max(n)));
    }
    let next = highest.map_or(1, |h| h.saturating_add(1));
    format!("T-{next:0width$}")
}

/// What `task new` is asked for, with paths already repository-relative.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The plan file.
    pub plan: String,
    /// The section's title as typed.
    pub section: String,
    /// The task ID; None: the next free `T-NNN`.
    pub id: Option<String>,
    pub assigned_to: Option<String>,
    pub depends_on: Vec<String>,
}

/// A task file that was written.
#[derive(Debug, Clone)]
pub struct Created {
    pub task: String,
    /// The task file, repository-relative.
    pub file: String,
    pub plan: String,
    /// The file the source and criteria were read from (the snapshot, or the plan).
    pub definitions: String,
    pub section: Option<String>,
    pub criteria: Vec<String>,
    pub file_targets: Vec<String>,
    /// Criteria of the section that belong to no task (cross-cutting, system).
    pub left_out: Vec<(String, Scope)>,
    /// Criteria another task of the plan already holds: (criterion, task).
    pub held_elsewhere: Vec<(String, String)>,
    /// The plan differs from its snapshot: the task copies the snapshot.
    pub plan_differs: bool,
}

/// The task IDs of the workspace: every task's ID and file stem.
fn taken_ids(ws: &Workspace) -> BTreeSet<String> {
    ws.tasks
        .iter()
        .flat_map(|t| [t.id().to_owned(), t.stem.clone()])
        .collect()
}

/// The repository path of task `id`'s file.
#[must_use]
pub fn task_path(ws: &Workspace, id: &str) -> String {
    let dir = paths::normalize(&ws.config.tasks_dir);
    if dir.is_empty() {
        format!("{id}.md")
    } else {
        format!("{dir}/{id}.md")
    }
}

/// The configured plan at repository path `plan`, or a usage error saying what the plans are.
///
/// # Errors
/// [`TaskNewError::Usage`] with a did-you-mean among the plans.
pub fn find_plan<'w>(root: &Path, ws: &'w Workspace, plan: &str) -> Result<&'w Plan, TaskNewError> {
    if let Some(found) = ws.plan(plan) {
        return Ok(found);
    }
    let known: Vec<&str> = ws.plans.iter().map(|p| p.path.as_str()).collect();
    if root.join(plan).is_file() {
        return Err(TaskNewError::Usage(format!(
            "{plan} is not a plan file: plans are the files matching {:?} (`plans` in specproof.yml); name one of them, or widen `plans`",
            ws.config.plans
        )));
    }
    let hint = did_you_mean(plan, known.iter().copied())
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default();
    let list = if known.is_empty() {
        format!(
            "no plan file matches {:?} (`plans` in specproof.yml)",
            ws.config.plans
        )
    } else {
        format!("the plans are {}", known.join(", "))
    };
    Err(TaskNewError::Usage(format!("no plan {plan}{hint}: {list}")))
}

/// Writes a new task file for `request`.
///
/// # Errors
/// See [`TaskNewError`].
pub fn create(root: &Path, ws: &Workspace, request: &Request) -> Result<Created, TaskNewError> {
    let usage = TaskNewError::Usage;
    if let Some(problem) = ws
        .config_diagnostics
        .iter()
        .find(|d| d.file == crate::config::FILE)
    {
        return Err(usage(format!(
            "specproof.yml has problems; fix them first (`specproof lint` lists them): {problem}"
        )));
    }
    let plan = find_plan(root, ws, &request.plan)?;
    let defs = Definitions::load(root, &plan.path).map_err(usage)?;
    let Some(heading) = defs.section(&request.section) else {
        return Err(unknown_section(&defs, plan, &request.section));
    };
    let title = defs.title(Some(heading)).unwrap_or_default().to_owned();
    for (file, sections) in [
        (&defs.file, &defs.parsed.sections),
        (&plan.path, &plan.sections),
    ] {
        let lines = same_title(sections, &title);
        if lines.len() > 1 {
            return Err(TaskNewError::Refused(format!(
                "{file}: {} sections are titled \"{title}\" (lines {}), and a task names its section by title alone; nothing was written: rename one of the sections so each title is unique",
                lines.len(),
                lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if defs.from_snapshot() && plan.section(&title).is_none() {
        return Err(usage(format!(
            "\"{title}\" is a heading of the snapshot {} but no longer of {}, which a task's plan_section must name: take a new snapshot (`specproof snapshot {}`) or name a heading of both",
            defs.file, plan.path, plan.path
        )));
    }
    if let Some((id, line)) = defs.invalid_under(Some(heading)).first() {
        return Err(TaskNewError::Refused(format!(
            "{}:{line}: criterion {id} of section \"{title}\" does not validate, so it cannot be copied; nothing was written: fix the plan first (`specproof lint {}`)",
            defs.file, defs.file
        )));
    }
    let all = defs.criteria_under(Some(heading));
    let (held, left): (Vec<&Criterion>, Vec<&Criterion>) =
        all.iter().partition(|c| c.scope == Scope::Task);
    if held.is_empty() {
        return Err(TaskNewError::Refused(if left.is_empty() {
            format!(
                "section \"{title}\" of {} has no criteria, and a task without criteria proves nothing; nothing was written: define its criteria in a ```criteria block under the heading first",
                defs.file
            )
        } else {
            let ids: Vec<String> = left
                .iter()
                .map(|c| format!("{} ({})", c.id, c.scope.name()))
                .collect();
            format!(
                "section \"{title}\" of {} has no task-scope criteria, only {}, which belong to no task and are verified at plan level (`specproof verify --plan {}`); nothing was written",
                defs.file,
                ids.join(", "),
                plan.path
            )
        }));
    }

    let mut taken = taken_ids(ws);
    let id = match &request.id {
        Some(id) if !valid_id(id) => {
            return Err(usage(format!(
                "invalid task ID {id:?}: it starts with a letter and holds only letters, digits, `_`, `.` and `-` (for example T-012)"
            )));
        }
        Some(id) => id.clone(),
        None => free_id(root, ws, &mut taken),
    };
    let file = task_path(ws, &id);
    if root.join(&file).symlink_metadata().is_ok() {
        return Err(TaskNewError::Refused(format!(
            "{file} already exists; nothing was written: choose another --id, or leave --id out for the next free one ({})",
            free_id(root, ws, &mut taken)
        )));
    }
    if let Some(other) = ws.tasks.iter().find(|t| t.id() == id) {
        return Err(TaskNewError::Refused(format!(
            "task {id} already exists in {}; nothing was written: choose another --id",
            other.path
        )));
    }
    let assigned_to = match &request.assigned_to {
        Some(name) if name.trim().is_empty() => {
            return Err(usage(
                "--assign needs a name (leave it out for an unassigned task)".into(),
            ));
        }
        other => other.clone(),
    };
    let mut depends_on: Vec<String> = Vec::new();
    let known: Vec<&str> = ws.tasks.iter().map(Task::id).collect();
    for dep in &request.depends_on {
        let dep = dep.trim();
        if dep.is_empty() {
            return Err(usage(
                "--depends-on: an empty task ID; give task IDs separated by commas, e.g. --depends-on T-001,T-002 (leave it out for no dependency)".into(),
            ));
        }
        if dep == id {
            return Err(usage(format!(
                "--depends-on {dep}: a task cannot depend on itself"
            )));
        }
        if !known.contains(&dep) {
            let hint = did_you_mean(dep, known.iter().copied())
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(usage(format!(
                "--depends-on {dep}: no task {dep} in {}{hint}; a task can depend only on tasks that exist",
                ws.config.tasks_dir
            )));
        }
        if !depends_on.iter().any(|d| d == dep) {
            depends_on.push(dep.to_owned());
        }
    }

    let held_elsewhere = held
        .iter()
        .flat_map(|c| {
            ws.tasks
                .iter()
                .filter(|t| {
                    t.meta
                        .as_ref()
                        .is_some_and(|m| paths::normalize(&m.plan_file) == plan.path)
                        && t.criteria_ids.iter().any(|(i, _)| *i == c.id)
                })
                .map(|t| (c.id.clone(), t.id().to_owned()))
        })
        .collect();
    let plan_differs = defs.from_snapshot()
        && std::fs::read(root.join(&defs.plan)).ok() != std::fs::read(root.join(&defs.file)).ok();
    let written = write_task(
        root,
        ws,
        &Job {
            defs: &defs,
            heading: Some(heading),
            criteria: held,
            id,
            assigned_to,
            depends_on,
        },
    )?;
    Ok(Created {
        left_out: left.iter().map(|c| (c.id.clone(), c.scope)).collect(),
        held_elsewhere,
        plan_differs,
        ..written
    })
}

/// The lines of the headings of `sections` that match `title` (ignoring case and punctuation,
/// as a task's `plan_section` does).
fn same_title(sections: &[crate::plan::Section], title: &str) -> Vec<usize> {
    let key = heading_key(title);
    sections
        .iter()
        .filter(|s| heading_key(&s.title) == key)
        .map(|s| s.line)
        .collect()
}

fn unknown_section(defs: &Definitions, plan: &Plan, typed: &str) -> TaskNewError {
    if defs.from_snapshot() && plan.section(typed).is_some() {
        return TaskNewError::Usage(format!(
            "\"{typed}\" is a heading of {} but not of its snapshot {}, which proofs run from: take a new snapshot first (`specproof snapshot {}`)",
            plan.path, defs.file, plan.path
        ));
    }
    let titles: Vec<&str> = defs
        .parsed
        .sections
        .iter()
        .map(|s| s.title.as_str())
        .collect();
    let hint = did_you_mean(typed, titles.iter().copied())
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default();
    let list = if titles.is_empty() {
        "it has no headings".to_owned()
    } else {
        format!("its headings are {}", quoted_list(&titles))
    };
    TaskNewError::Usage(format!(
        "{} has no section \"{typed}\"{hint}: {list}",
        defs.file
    ))
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The next free `T-NNN`: no task has it and no file is in the way. It is added to `taken`.
pub fn free_id(root: &Path, ws: &Workspace, taken: &mut BTreeSet<String>) -> String {
    loop {
        let id = next_id(taken.iter().map(String::as_str));
        let clash = root.join(task_path(ws, &id)).symlink_metadata().is_ok();
        taken.insert(id.clone());
        if !clash {
            return id;
        }
    }
}

/// Writes a gap task of `defs` for the criteria `ids` under heading `heading`, with the next
/// free ID (added to `taken`), unassigned and without dependencies.
///
/// # Errors
/// See [`TaskNewError`].
pub fn create_gap(
    root: &Path,
    ws: &Workspace,
    defs: &Definitions,
    heading: Option<usize>,
    ids: &[String],
    taken: &mut BTreeSet<String>,
) -> Result<Created, TaskNewError> {
    if taken.is_empty() {
        taken.extend(taken_ids(ws));
    }
    if let (true, Some(title), Some(plan)) = (
        defs.from_snapshot(),
        defs.title(heading),
        ws.plan(&defs.plan),
    ) && plan.section(title).is_none()
    {
        return Err(TaskNewError::Refused(format!(
            "\"{title}\" is a heading of the snapshot {} but no longer of {}, which a task's plan_section must name: take a new snapshot first (`specproof snapshot {}`)",
            defs.file, defs.plan, defs.plan
        )));
    }
    let criteria: Vec<&Criterion> = defs
        .criteria_under(heading)
        .into_iter()
        .filter(|c| ids.contains(&c.id))
        .collect();
    let id = free_id(root, ws, taken);
    write_task(
        root,
        ws,
        &Job {
            defs,
            heading,
            criteria,
            id,
            assigned_to: None,
            depends_on: Vec::new(),
        },
    )
}

/// One task file to write.
struct Job<'a> {
    defs: &'a Definitions,
    heading: Option<usize>,
    /// Definitions under the heading, in plan order.
    criteria: Vec<&'a Criterion>,
    id: String,
    assigned_to: Option<String>,
    depends_on: Vec<String>,
}

fn write_task(root: &Path, ws: &Workspace, job: &Job<'_>) -> Result<Created, TaskNewError> {
    let defs = job.defs;
    let file = task_path(ws, &job.id);
    if let Err(problem) = paths::check(Some(root), &ws.config.tasks_dir) {
        return Err(TaskNewError::Usage(format!(
            "tasks_dir \"{}\" {problem}: fix `tasks_dir` in specproof.yml",
            ws.config.tasks_dir
        )));
    }
    let source = defs.source(job.heading);
    if let Some(open) = markdown::scan(&source, 1).fences.iter().find(|f| !f.closed) {
        // The text is the section's from its first non-blank line on.
        let (first, _) = defs.span(job.heading);
        let skipped = defs.lines[first.saturating_sub(1).min(defs.lines.len())..]
            .iter()
            .take_while(|l| l.trim().is_empty())
            .count();
        return Err(TaskNewError::Refused(format!(
            "{}:{}: a fenced block opened here is never closed, so the section's text would swallow the rest of the task file; nothing was written: close it in the plan",
            defs.file,
            first + skipped + open.open_line - 1
        )));
    }
    let mut draft = Draft {
        task_id: job.id.clone(),
        plan_file: defs.plan.clone(),
        plan_section: defs.title(job.heading).map(str::to_owned),
        assigned_to: job.assigned_to.clone(),
        depends_on: job.depends_on.clone(),
        source,
        criteria: Vec::new(),
        file_targets: file_targets(job.criteria.iter().copied(), &|rel| {
            in_repository(root, rel)
        }),
    };
    let mut text = None;
    let mut problem = String::new();
    // First the criteria as the plan writes them; failing that, written out as YAML.
    for rewrite in [false, true] {
        let items = defs.items(job.heading, rewrite);
        draft.criteria = job
            .criteria
            .iter()
            .filter_map(|c| items.iter().find(|(id, _)| *id == c.id).cloned())
            .collect();
        let rendered = draft.render();
        match read_back(root, ws, defs, &file, &rendered, &draft, &job.criteria) {
            Ok(()) => {
                text = Some(rendered);
                break;
            }
            Err(e) => problem = e,
        }
    }
    let Some(text) = text else {
        return Err(TaskNewError::Internal(format!(
            "{file} would not read back as intended ({problem}); nothing was written. This is a bug in specproof: please report it with the plan section"
        )));
    };
    write_new(root, &file, &text).map_err(|cause| {
        if cause.kind() == std::io::ErrorKind::AlreadyExists {
            TaskNewError::Refused(format!(
                "{file} already exists; nothing was written: choose another --id"
            ))
        } else {
            TaskNewError::Write {
                path: file.clone(),
                cause,
            }
        }
    })?;
    Ok(Created {
        task: job.id.clone(),
        file,
        plan: defs.plan.clone(),
        definitions: defs.file.clone(),
        section: draft.plan_section.clone(),
        criteria: job.criteria.iter().map(|c| c.id.clone()).collect(),
        file_targets: draft.file_targets,
        left_out: Vec::new(),
        held_elsewhere: Vec::new(),
        plan_differs: false,
    })
}

/// Parses `text` as task file `rel` and checks it says what `draft` meant: the front matter, the
/// criteria in order, and nothing lint's checks of a task (gate 1) would report.
fn read_back(
    root: &Path,
    ws: &Workspace,
    defs: &Definitions,
    rel: &str,
    text: &str,
    draft: &Draft,
    criteria: &[&Criterion],
) -> Result<(), String> {
    let ctx = Ctx {
        root: Some(root),
        quick_regex: true,
    };
    let task = Task::parse(rel, text.as_bytes(), ctx);
    if let Some(d) = task.diagnostics.first() {
        return Err(d.to_string());
    }
    if task.meta != Some(draft.meta()) {
        return Err("the front matter reads back differently".into());
    }
    let ids: Vec<&str> = task.criteria_ids.iter().map(|(i, _)| i.as_str()).collect();
    let want: Vec<&str> = criteria.iter().map(|c| c.id.as_str()).collect();
    if ids != want || task.criteria.len() != want.len() {
        return Err(format!("the criteria read back as {ids:?}, not {want:?}"));
    }
    let snapshot = defs.from_snapshot().then_some(&defs.parsed);
    let plan_exists = |p: &str| root.join(p).is_file();
    let snapshot_of = |p: &str| if p == defs.plan { snapshot } else { None };
    let problems =
        crate::lint::check_task(&task, &ws.plans, &ws.config, &plan_exists, &snapshot_of);
    match problems.first() {
        Some(d) => Err(d.to_string()),
        None => Ok(()),
    }
}

/// Writes `text` to the new file `root/rel` atomically (a temporary file in the same folder,
/// synced, then linked into place), never over an existing file.
///
/// # Errors
/// `AlreadyExists` when the file is there; other I/O errors, after which nothing was written.
pub fn write_new(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let target = root.join(rel);
    let dir = target.parent().unwrap_or(root);
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    // Committed like any file: readable as git would check it out (tempfile makes 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "# Auth plan\n\nIntro.\n\n## Auth middleware\n\nRequests carry a JWT.\n\n```criteria\n- id: AUTH-1\n  description: JWT validation function exported from src/auth.rs\n  proof: pattern_matches\n  args: { path: src/auth.rs, pattern: \"pub fn (validate_jwt|verify_token)\" }   # the check\n\n# next one\n- id: AUTH-10\n  description: All endpoints return the same error body shape\n  proof: test_passes\n  args: { command: \"cargo test error_shape\" }\n  scope: cross-cutting\n- id: AUTH-3\n  description: Expired token returns 401\n  proof: file_exists\n  args: { path: \"tests/expired.rs\" }\n```\n\n### Later\n\n  ```criteria\n  - {id: L-1, description: flow style, proof: file_exists, args: {path: a}}\n  - {id: L-2, description: two, proof: semantic_match, args: {rubric: [x], path: [docs/a.md, a]}}\n  ```\n\n### Flow\n\n```criteria\n[{id: F-1, description: one, proof: file_exists, args: {path: f}}, {id: F-2, description: two, proof: file_exists, args: {path: f}}]\n```\n";

    fn defs() -> Definitions {
        Definitions::parse("plans/auth.md", "plans/auth.md", PLAN.as_bytes(), None).unwrap()
    }

    #[test]
    fn the_section_text_runs_to_the_next_heading_of_any_level() {
        let d = defs();
        let h = d.section("auth MIDDLEWARE");
        assert_eq!(h, Some(1));
        assert!(
            d.source(h)
                .starts_with("Requests carry a JWT.\n\n```criteria\n- id: AUTH-1")
        );
        assert!(d.source(h).ends_with("```"));
        assert_eq!(d.source(Some(0)), "Intro.");
        assert_eq!(d.source(None), "");
        let ids: Vec<&str> = d.criteria_under(h).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["AUTH-1", "AUTH-10", "AUTH-3"]);
        assert_eq!(d.heading_at(1), Some(0));
    }

    #[test]
    fn items_are_cut_as_written_and_flow_lists_are_written_out() {
        let d = defs();
        let items = d.items(Some(1), false);
        assert_eq!(
            items[0],
            (
                "AUTH-1".to_owned(),
                "- id: AUTH-1\n  description: JWT validation function exported from src/auth.rs\n  proof: pattern_matches\n  args: { path: src/auth.rs, pattern: \"pub fn (validate_jwt|verify_token)\" }   # the check".to_owned()
            )
        );
        assert_eq!(
            items[2].1,
            "- id: AUTH-3\n  description: Expired token returns 401\n  proof: file_exists\n  args: { path: \"tests/expired.rs\" }"
        );
        let later = d.items(Some(2), false);
        assert_eq!(
            later[0].1,
            "- {id: L-1, description: flow style, proof: file_exists, args: {path: a}}"
        );
        let flow = d.items(Some(3), false);
        assert_eq!(
            flow[1].1,
            "- id: F-2\n  description: two\n  proof: file_exists\n  args:\n    path: f"
        );
        assert_eq!(
            d.items(Some(1), true)[2].1,
            "- id: AUTH-3\n  description: Expired token returns 401\n  proof: file_exists\n  args:\n    path: tests/expired.rs"
        );
    }

    #[test]
    fn file_targets_are_the_path_args_each_once_in_order_whether_or_not_they_exist() {
        let d = defs();
        let all: Vec<&Criterion> = d.parsed.criteria.iter().collect();
        assert_eq!(
            file_targets(all, &|_| false),
            ["src/auth.rs", "tests/expired.rs", "a", "docs/a.md", "f"]
        );
    }

    #[test]
    fn command_proofs_name_their_cwd_and_the_existing_paths_of_their_command() {
        let plan = "# P\n\n```criteria\n\
            - {id: A, description: d, proof: test_passes, args: {command: \"pytest -q tests/test_auth.py tests/missing.py\"}}\n\
            - {id: B, description: d, proof: builds_clean, args: {command: \"sh 'scripts/check.sh' && ./run.sh --out=out /etc/hosts ../up.sh\", cwd: ./tools}}\n\
            - {id: C, description: d, proof: command_output_matches, args: {command: \"cat \\\"docs/a b.md\\\" src/lib.rs|grep x>docs\", pattern: x}}\n\
            - {id: D, description: d, proof: file_exists, args: {path: src/lib.rs}}\n\
            - {id: E, description: d, proof: test_passes, args: {command: \"pytest tests/test_auth.py\"}}\n\
            ```\n";
        let d = Definitions::parse("plans/p.md", "plans/p.md", plan.as_bytes(), None).unwrap();
        assert!(
            d.parsed.diagnostics.is_empty(),
            "{:?}",
            d.parsed.diagnostics
        );
        let all: Vec<&Criterion> = d.parsed.criteria.iter().collect();
        let existing = [
            "tests/test_auth.py",
            "tools/scripts/check.sh",
            "tools/run.sh",
            "docs/a b.md",
            "src/lib.rs",
            "docs",
            // Named only as an absolute path, out of the root or an option: never listed.
            "etc/hosts",
            "up.sh",
            "tools/out",
            "out",
        ];
        assert_eq!(
            file_targets(all, &|rel| existing.contains(&rel)),
            [
                "tests/test_auth.py",
                "tools",
                "tools/scripts/check.sh",
                "tools/run.sh",
                "docs/a b.md",
                "src/lib.rs",
                "docs",
            ]
        );
    }

    #[test]
    fn shell_words_split_at_blanks_and_operators_outside_quotes() {
        assert_eq!(
            shell_words(r#"a  'b c'"d\"e" f\ g;h&&i|j>k<(l) "m;n""#),
            ["a", "b cd\"e", "f g", "h", "i", "j", "k", "l", "m;n"]
        );
        assert_eq!(shell_words("  "), Vec::<String>::new());
    }

    #[test]
    fn the_next_id_follows_the_highest_and_keeps_its_width() {
        assert_eq!(next_id([]), "T-001");
        assert_eq!(next_id(["T-001", "T-007", "X-9", "T-", "T-1a"]), "T-008");
        assert_eq!(next_id(["T-5"]), "T-006");
        assert_eq!(next_id(["T-0999"]), "T-1000");
        assert_eq!(next_id(["T-999"]), "T-1000");
    }

    #[test]
    fn scalars_are_plain_only_when_they_read_back() {
        assert_eq!(scalar("Auth middleware"), "Auth middleware");
        assert_eq!(scalar("T-1"), "T-1");
        assert_eq!(scalar("null"), "\"null\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("x # y"), "\"x # y\"");
        assert_eq!(scalar("[x]"), "\"[x]\"");
        assert_eq!(scalar("'q'"), "\"'q'\"");
        assert_eq!(scalar(" lead"), "\" lead\"");
        assert_eq!(scalar("12"), "\"12\"");
    }

    #[test]
    fn the_rendered_task_reads_back_as_drafted() {
        let d = defs();
        let draft = Draft {
            task_id: "T-002".into(),
            plan_file: "plans/auth.md".into(),
            plan_section: Some("Auth middleware".into()),
            assigned_to: None,
            depends_on: vec!["T-001".into()],
            source: d.source(Some(1)),
            criteria: d.items(Some(1), false),
            file_targets: vec!["src/auth.rs".into()],
        };
        let text = draft.render();
        let task = Task::parse(".specproof/tasks/T-002.md", text.as_bytes(), Ctx::default());
        assert!(task.diagnostics.is_empty(), "{:?}", task.diagnostics);
        assert_eq!(task.meta, Some(draft.meta()));
        let ids: Vec<&str> = task.criteria_ids.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(ids, ["AUTH-1", "AUTH-10", "AUTH-3"]);
        for copy in &task.criteria {
            let def = d.parsed.criterion(&copy.id).unwrap();
            assert!(def.differences(copy).is_empty(), "{}", copy.id);
        }
        assert_eq!(task.echo.len(), 3);
        assert!(task.echo.iter().all(|e| e.text.is_empty()));
        assert_eq!(task.assumptions.as_deref(), Some(&[][..]));
    }

    proptest::proptest! {
        #[test]
        fn front_matter_text_always_reads_back(
            section in "(?s).{1,40}",
            owner in proptest::option::of("(?s).{1,20}"),
        ) {
            proptest::prop_assume!(!section.trim().is_empty());
            proptest::prop_assume!(owner.as_ref().is_none_or(|o| !o.trim().is_empty()));
            let draft = Draft {
                task_id: "T-1".into(),
                plan_file: "plans/p.md".into(),
                plan_section: Some(section),
                assigned_to: owner,
                depends_on: vec!["null".into(), "T-0".into()],
                source: String::new(),
                criteria: vec![("A-1".into(), "- id: A-1\n  description: d\n  proof: file_exists\n  args: { path: a }".into())],
                file_targets: Vec::new(),
            };
            let text = draft.render();
            let meta = Task::meta_only("t/T-1.md", text.as_bytes());
            proptest::prop_assert_eq!(meta, Some(draft.meta()));
        }
    }
}
