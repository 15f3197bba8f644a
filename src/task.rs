//! Task files (SPEC §3): YAML front matter, then markdown sections: Source, Acceptance Criteria,
//! File Targets, Context and the Worker Report with its Echo-Back and Assumptions.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_yaml::Value;

use crate::criterion::{self, Criterion, Ctx, valid_id};
use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule, did_you_mean};
use crate::markdown::{self, FrontMatterError, heading_key};
use crate::paths;
use crate::yaml;

/// The lifecycle states of SPEC §6.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Ready,
    InProgress,
    Done,
    Complete,
    Blocked,
    Failed,
}

impl Status {
    pub const ALL: [Self; 7] = [
        Self::Created,
        Self::Ready,
        Self::InProgress,
        Self::Done,
        Self::Complete,
        Self::Blocked,
        Self::Failed,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Ready => "ready",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Complete => "complete",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Escalation levels of SPEC §6.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    Retry,
    Decompose,
    Reassign,
    Human,
}

impl Escalation {
    const NAMES: [&'static str; 4] = ["retry", "decompose", "reassign", "human"];

    /// The name as the front matter writes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The task's front matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskMeta {
    pub task_id: String,
    pub plan_file: String,
    pub plan_section: Option<String>,
    pub status: Status,
    pub assigned_to: Option<String>,
    /// 0: trivial (assumptions optional); 1 or more otherwise. Default 1.
    pub tier: u32,
    /// Convergence iteration, from 1.
    pub iteration: u32,
    /// Failed verification attempts in this iteration.
    pub attempts: u32,
    pub base: Option<String>,
    pub escalation: Option<Escalation>,
    pub depends_on: Vec<String>,
    /// Phase of the plan (SPEC §6.5), default 1.
    pub phase: u32,
    pub reviewed_by: Option<String>,
    /// Decisions recorded by `specproof escalate --ack` (SPEC §6.3), oldest first.
    pub acks: Vec<Ack>,
}

/// A person's decision about an escalated task, written by `specproof escalate --ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub by: String,
    pub at: String,
    pub note: String,
    /// The task's `attempts` when the decision was made: escalation counts the attempts since.
    pub attempts: u32,
    /// `hmac-sha256:<hex>` over the task ID and the fields above, with the key of the machine
    /// that ran `specproof escalate --ack` ([`Ack::signed_doc`]); None in acknowledgements
    /// written before acknowledgements were signed, or by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Ack {
    /// What the signature covers: the task's ID and the acknowledgement, with its `signature`
    /// (which [`crate::evidence::Key::verify_json`] leaves out of what it hashes).
    #[must_use]
    pub fn signed_doc(&self, task_id: &str) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "kind": "ack",
            "task": task_id,
            "by": self.by,
            "at": self.at,
            "note": self.note,
            "attempts": self.attempts,
        });
        if let Some(signature) = &self.signature {
            doc["signature"] = serde_json::Value::String(signature.clone());
        }
        doc
    }
}

impl TaskMeta {
    /// Failed attempts since the last acknowledgement: what the escalation level counts.
    #[must_use]
    pub fn attempts_since_ack(&self) -> u32 {
        let acked = self.acks.last().map_or(0, |a| a.attempts);
        self.attempts.saturating_sub(acked)
    }
}

/// The front matter fields a task may have.
pub const FIELDS: [&str; 14] = [
    "task_id",
    "plan_file",
    "plan_section",
    "status",
    "assigned_to",
    "tier",
    "iteration",
    "attempts",
    "base",
    "escalation",
    "depends_on",
    "phase",
    "reviewed_by",
    "acks",
];

/// A markdown section of the task: its heading and the text under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSection {
    pub title: String,
    pub level: usize,
    pub line: usize,
    /// The lines under the heading up to the next heading of the same or a higher level.
    pub body: String,
}

/// An Echo-Back line `- ID: text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EchoLine {
    pub id: String,
    pub text: String,
    pub pos: Pos,
}

/// One item of the `Assumptions:` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assumption {
    pub text: String,
    pub pos: Pos,
}

/// A parsed task file. Problems are kept in `diagnostics`; parsing never fails.
#[derive(Debug, Clone, Default)]
pub struct Task {
    /// Repository-relative path.
    pub path: String,
    /// The file name without `.md`.
    pub stem: String,
    /// None when the front matter is missing or unusable.
    pub meta: Option<TaskMeta>,
    pub sections: Vec<TaskSection>,
    /// The criteria of the Acceptance Criteria block that validated.
    pub criteria: Vec<Criterion>,
    /// Every well-formed ID in the Acceptance Criteria block.
    pub criteria_ids: Vec<(String, Pos)>,
    /// Where each front matter field is written.
    pub fields: std::collections::BTreeMap<String, Pos>,
    /// How many `criteria` fenced blocks the Acceptance Criteria section holds.
    pub criteria_blocks: usize,
    /// Line of the Acceptance Criteria heading, if there is one.
    pub criteria_section: Option<usize>,
    pub echo: Vec<EchoLine>,
    /// The Assumptions list; None when the task has no `Assumptions:` line or heading.
    pub assumptions: Option<Vec<Assumption>>,
    pub diagnostics: Vec<Diagnostic>,
}

static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[-*+]\s+(.*?)\s*$").expect("list item regex is valid"));
static ECHO_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-*+]\s+(?:\*\*|`)?([A-Za-z][A-Za-z0-9_.-]*)(?:\*\*|`)?\s*:\s*(.*?)\s*$")
        .expect("echo regex is valid")
});

impl Task {
    /// The task ID: from the front matter, else the file stem.
    #[must_use]
    pub fn id(&self) -> &str {
        self.meta.as_ref().map_or(&self.stem, |m| &m.task_id)
    }

    /// The section whose title matches `title`, ignoring case and punctuation.
    #[must_use]
    pub fn section(&self, title: &str) -> Option<&TaskSection> {
        let key = heading_key(title);
        self.sections.iter().find(|s| heading_key(&s.title) == key)
    }

    /// Where front matter field `key` is written (line 1 when it is not).
    #[must_use]
    pub fn field_pos(&self, key: &str) -> Pos {
        self.fields.get(key).copied().unwrap_or(Pos::line(1))
    }

    /// Parses `bytes` as the task at repository path `path`.
    #[must_use]
    pub fn parse(path: &str, bytes: &[u8], ctx: Ctx<'_>) -> Self {
        let stem = path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(".md")
            .to_owned();
        let mut task = Self {
            path: path.to_owned(),
            stem,
            ..Self::default()
        };
        let src = match markdown::decode(path, bytes) {
            Ok(s) => s,
            Err(d) => {
                task.diagnostics.push(*d);
                return task;
            }
        };
        let fm = match markdown::split_front_matter(src) {
            Ok(fm) => fm,
            Err(e) => {
                let message = match e {
                    FrontMatterError::Missing => {
                        "task file must start with YAML front matter: a line ---, the fields (task_id, plan_file, status, …), and a closing ---"
                    }
                    FrontMatterError::Unclosed => {
                        "front matter opened with --- on line 1 is never closed: add a line --- after the fields"
                    }
                };
                task.diagnostics.push(Diagnostic::new(
                    path,
                    Pos::line(1),
                    FailureCode::F8,
                    Rule::ParseError,
                    message,
                ));
                return task;
            }
        };
        let lines: Vec<&str> = fm.yaml.split('\n').collect();
        for key in FIELDS {
            if let Some(pos) = yaml::find_key(&lines, fm.yaml_line, 0, lines.len(), key) {
                task.fields.insert(key.to_owned(), pos);
            }
        }
        task.meta = parse_meta(path, fm.yaml, fm.yaml_line, ctx, &mut task.diagnostics);
        task.read_body(fm.body, fm.body_line, ctx);
        task
    }

    /// Only the front matter of `bytes` (the sections are not read): None when it has problems.
    #[must_use]
    pub fn meta_only(path: &str, bytes: &[u8]) -> Option<TaskMeta> {
        let src = markdown::decode(path, bytes).ok()?;
        let fm = markdown::split_front_matter(src).ok()?;
        let mut diagnostics = Vec::new();
        let meta = parse_meta(
            path,
            fm.yaml,
            fm.yaml_line,
            Ctx::default(),
            &mut diagnostics,
        );
        meta.filter(|_| diagnostics.is_empty())
    }

    fn read_body(&mut self, body: &str, body_line: usize, ctx: Ctx<'_>) {
        let doc = markdown::scan(body, body_line);
        let all_lines: Vec<&str> = body.split('\n').collect();
        let last_line = body_line + all_lines.len().saturating_sub(1);
        for (i, h) in doc.headings.iter().enumerate() {
            let (first, last) = doc.section_range(i, last_line);
            let text = all_lines
                .get(first + 1 - body_line..=last - body_line)
                .map(|l| l.join("\n"))
                .unwrap_or_default();
            self.sections.push(TaskSection {
                title: h.text.clone(),
                level: h.level,
                line: h.line,
                body: text,
            });
        }
        let find = |key: &str| {
            doc.headings
                .iter()
                .position(|h| heading_key(&h.text) == key)
        };

        if let Some(i) = find("acceptancecriteria") {
            let (first, last) = doc.section_range(i, last_line);
            self.criteria_section = Some(first);
            let id = self.meta.as_ref().map(|m| m.task_id.clone());
            for fence in doc.fences.iter().filter(|f| {
                f.lang.eq_ignore_ascii_case("criteria") && (first..=last).contains(&f.open_line)
            }) {
                self.criteria_blocks += 1;
                let block = criterion::parse_block(&self.path, fence, ctx);
                self.diagnostics
                    .extend(block.diagnostics.into_iter().map(|d| d.task(id.as_deref())));
                self.criteria.extend(block.criteria);
                self.criteria_ids.extend(block.ids);
            }
        }

        let mut in_assumptions = false;
        if let Some(i) = find("echoback") {
            let (first, last) = doc.section_range(i, last_line);
            for line in doc.text.iter().filter(|l| l.line > first && l.line <= last) {
                if is_assumptions_label(line.text) {
                    in_assumptions = true;
                    self.assumptions.get_or_insert_with(Vec::new);
                } else if in_assumptions {
                    self.push_assumption(line.text, line.line);
                } else if let Some(caps) = ECHO_ITEM.captures(line.text) {
                    let column = caps.get(1).map_or(1, |m| m.start() + 1);
                    self.echo.push(EchoLine {
                        id: caps[1].to_owned(),
                        text: caps[2].to_owned(),
                        pos: Pos::new(line.line, column),
                    });
                }
            }
        }
        if !in_assumptions && let Some(i) = find("assumptions") {
            let (first, last) = doc.section_range(i, last_line);
            self.assumptions = Some(Vec::new());
            for line in doc.text.iter().filter(|l| l.line > first && l.line <= last) {
                self.push_assumption(line.text, line.line);
            }
        }
    }

    fn push_assumption(&mut self, text: &str, line: usize) {
        if let Some(caps) = LIST_ITEM.captures(text) {
            let item = caps[1].to_owned();
            if !item.is_empty() {
                let column = caps.get(1).map_or(1, |m| m.start() + 1);
                self.assumptions
                    .get_or_insert_with(Vec::new)
                    .push(Assumption {
                        text: item,
                        pos: Pos::new(line, column),
                    });
            }
        }
    }
}

/// `Assumptions:` on a line of its own, possibly in bold.
fn is_assumptions_label(line: &str) -> bool {
    let t = line.trim().trim_matches(['*', '_']).trim();
    t.eq_ignore_ascii_case("assumptions:") || t.eq_ignore_ascii_case("assumptions")
}

struct MetaReader<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    first_line: usize,
    task_id: Option<String>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl MetaReader<'_> {
    fn at(&self, key: &str) -> Pos {
        yaml::find_key(&self.lines, self.first_line, 0, self.lines.len(), key)
            .unwrap_or(Pos::line(self.first_line))
    }

    fn report(&mut self, key: &str, rule: Rule, message: String, hint: Option<&str>) {
        let pos = self.at(key);
        self.diagnostics.push(
            Diagnostic::new(self.file, pos, FailureCode::F8, rule, message)
                .task(self.task_id.as_deref())
                .field(key)
                .suggest(hint),
        );
    }

    fn text(&mut self, key: &str, value: Option<&Value>, required: bool) -> Option<String> {
        match value {
            None | Some(Value::Null) => {
                if required {
                    let pos = Pos::line(self.first_line.saturating_sub(1).max(1));
                    self.diagnostics.push(
                        Diagnostic::new(
                            self.file,
                            pos,
                            FailureCode::F8,
                            Rule::MissingField,
                            format!("front matter has no `{key}`"),
                        )
                        .task(self.task_id.as_deref())
                        .field(key),
                    );
                }
                None
            }
            Some(v) => match yaml::scalar_text(v) {
                Some(s) if !s.trim().is_empty() => Some(s),
                _ => {
                    self.report(
                        key,
                        Rule::InvalidValue,
                        format!("`{key}` must be non-empty text, found {}", yaml::kind(v)),
                        None,
                    );
                    None
                }
            },
        }
    }

    fn number(&mut self, key: &str, value: Option<&Value>, default: u32, min: u32) -> u32 {
        let Some(v) = value else { return default };
        if let Some(n) = v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= min)
        {
            n
        } else {
            let shown = yaml::scalar_text(v).unwrap_or_else(|| yaml::kind(v).to_owned());
            self.report(
                key,
                Rule::InvalidValue,
                format!("`{key}` must be a whole number of {min} or more, found {shown}"),
                None,
            );
            default
        }
    }
}

fn parse_meta(
    file: &str,
    src: &str,
    first_line: usize,
    ctx: Ctx<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<TaskMeta> {
    let map = match yaml::front_matter(file, src, first_line, " (task_id: …)") {
        Ok(Some(map)) => map,
        Ok(None) => {
            diagnostics.push(yaml::not_a_mapping(
                file,
                first_line,
                " (task_id: …)",
                &Value::Null,
            ));
            return None;
        }
        Err(d) => {
            diagnostics.push(*d);
            return None;
        }
    };
    let (fields, odd) = yaml::entries(&map);
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let mut r = MetaReader {
        file,
        lines: src.split('\n').collect(),
        first_line,
        task_id: None,
        diagnostics,
    };

    let task_id = r.text("task_id", get("task_id"), true);
    if let Some(id) = &task_id {
        if valid_id(id) {
            r.task_id = Some(id.clone());
        } else {
            r.report("task_id", Rule::InvalidId, format!("invalid task_id {id:?}: it starts with a letter and holds only letters, digits, `_`, `.` and `-`"), None);
        }
    }
    if !odd.is_empty() {
        r.report(
            "task_id",
            Rule::UnknownField,
            "front matter field names are text".into(),
            None,
        );
    }
    for (key, _) in &fields {
        if !FIELDS.contains(key) {
            let hint = did_you_mean(key, FIELDS);
            r.report(
                key,
                Rule::UnknownField,
                format!("unknown front matter field \"{key}\""),
                hint,
            );
        }
    }
    let plan_file = r.text("plan_file", get("plan_file"), true);
    let plan_file = plan_file.filter(|p| match paths::check(ctx.root, p) {
        Ok(()) => true,
        Err(problem) => {
            r.report(
                "plan_file",
                Rule::UnsafePath,
                format!("plan_file \"{p}\" {problem}"),
                None,
            );
            false
        }
    });
    let status = match r.text("status", get("status"), true) {
        None => None,
        Some(s) => {
            let status = Status::from_name(&s);
            if status.is_none() {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
                let hint = did_you_mean(&s, names.iter().copied());
                r.report(
                    "status",
                    Rule::InvalidValue,
                    format!("unknown status \"{s}\" (states: {})", names.join(", ")),
                    hint,
                );
            }
            status
        }
    };
    let plan_section = r.text("plan_section", get("plan_section"), false);
    let assigned_to = r.text("assigned_to", get("assigned_to"), false);
    let reviewed_by = r.text("reviewed_by", get("reviewed_by"), false);
    let base = r.text("base", get("base"), false);
    let tier = r.number("tier", get("tier"), 1, 0);
    let iteration = r.number("iteration", get("iteration"), 1, 1);
    let attempts = r.number("attempts", get("attempts"), 0, 0);
    let phase = r.number("phase", get("phase"), 1, 1);
    let escalation = match get("escalation") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let text = yaml::scalar_text(v).unwrap_or_default();
            match Escalation::NAMES.iter().position(|n| *n == text) {
                Some(0) => Some(Escalation::Retry),
                Some(1) => Some(Escalation::Decompose),
                Some(2) => Some(Escalation::Reassign),
                Some(_) => Some(Escalation::Human),
                None => {
                    let hint = did_you_mean(&text, Escalation::NAMES);
                    r.report("escalation", Rule::InvalidValue, format!("`escalation` must be null, retry, decompose, reassign or human, found {text:?}"), hint);
                    None
                }
            }
        }
    };
    let depends_on = match get("depends_on") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(seq)) => {
            let items: Option<Vec<String>> = seq.iter().map(yaml::scalar_text).collect();
            items.unwrap_or_else(|| {
                r.report(
                    "depends_on",
                    Rule::InvalidValue,
                    "`depends_on` must be a list of task IDs".into(),
                    None,
                );
                Vec::new()
            })
        }
        Some(v) => yaml::scalar_text(v).map_or_else(
            || {
                r.report(
                    "depends_on",
                    Rule::InvalidValue,
                    "`depends_on` must be a list of task IDs".into(),
                    None,
                );
                Vec::new()
            },
            |s| vec![s],
        ),
    };
    let acks = match get("acks") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_acks(v).unwrap_or_else(|| {
            r.report(
                "acks",
                Rule::InvalidValue,
                "`acks` is written by `specproof escalate --ack`: a list of { by, at, note, attempts }; restore it from git (git checkout -- the file)".into(),
                None,
            );
            Vec::new()
        }),
    };
    // Problems with optional fields are reported and their defaults used, so that the other
    // checks of the task still run; without the three required fields there is no task.
    Some(TaskMeta {
        task_id: r.task_id?,
        plan_file: plan_file?,
        plan_section,
        status: status?,
        assigned_to,
        tier,
        iteration,
        attempts,
        base,
        escalation,
        depends_on,
        phase,
        reviewed_by,
        acks,
    })
}

fn parse_acks(value: &Value) -> Option<Vec<Ack>> {
    value
        .as_sequence()?
        .iter()
        .map(|item| {
            let map = item.as_mapping()?;
            let text = |key: &str| map.get(key).and_then(yaml::scalar_text);
            let signature = match map.get("signature") {
                Some(v) => Some(yaml::scalar_text(v)?),
                None => None,
            };
            if map.len() != 4 + usize::from(signature.is_some()) {
                return None;
            }
            Some(Ack {
                by: text("by")?,
                at: text("at")?,
                note: text("note")?,
                attempts: u32::try_from(map.get("attempts")?.as_u64()?).ok()?,
                signature,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = "---\ntask_id: T-001\nplan_file: plans/auth.md\nplan_section: Auth middleware\nstatus: in_progress\nassigned_to: worker-1\ntier: 1\ndepends_on: [T-000]\n---\n## Source\nsrc text\n\n## ACCEPTANCE criteria\n```criteria\n- id: AUTH-1\n  description: d\n  proof: file_exists\n  args: { path: src/auth.rs }\n```\n\n## Worker Report\n### echo-back\n- AUTH-1: I will add the file and the check looks for it\nAssumptions:\n- the folder exists\n### Self-Review\nall good\n";

    #[test]
    fn parses_front_matter_sections_and_echo() {
        let task = Task::parse(".specproof/tasks/T-001.md", TASK.as_bytes(), Ctx::default());
        assert!(task.diagnostics.is_empty(), "{:?}", task.diagnostics);
        let meta = task.meta.as_ref().expect("meta");
        assert_eq!(meta.status, Status::InProgress);
        assert_eq!(meta.depends_on, vec!["T-000"]);
        assert_eq!(meta.iteration, 1);
        assert_eq!(task.stem, "T-001");
        assert_eq!(task.criteria.len(), 1);
        assert_eq!(task.criteria[0].pos.line, 15);
        assert_eq!(task.echo.len(), 1);
        assert_eq!(task.echo[0].id, "AUTH-1");
        assert_eq!(task.echo[0].pos, Pos::new(23, 3));
        let assumptions = task.assumptions.as_ref().expect("assumptions");
        assert_eq!(assumptions.len(), 1);
        assert_eq!(assumptions[0].text, "the folder exists");
        assert_eq!(
            task.section("self review").map(|s| s.body.trim()),
            Some("all good")
        );
    }

    #[test]
    fn unknown_status_and_fields_are_errors_with_suggestions() {
        let src = "---\ntask_id: T-1\nplan_file: p.md\nstatus: in-progress\nasigned_to: me\n---\n";
        let task = Task::parse("t/T-1.md", src.as_bytes(), Ctx::default());
        assert!(task.meta.is_none());
        let m: Vec<String> = task.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            m.iter().any(|s| s
                .starts_with("t/T-1.md:4:1: F8: task T-1: unknown status \"in-progress\"")
                && s.contains("did you mean \"in_progress\"")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|s| s.starts_with("t/T-1.md:5:1:")
                    && s.contains("did you mean \"assigned_to\"")),
            "{m:?}"
        );
    }

    #[test]
    fn missing_front_matter_is_reported() {
        let task = Task::parse("t/T-1.md", b"# no front matter\n", Ctx::default());
        assert_eq!(task.diagnostics.len(), 1);
        assert!(task.diagnostics[0].message.contains("front matter"));
    }
}
