//! The criterion: its fields (SPEC §2), its proof and the proof's args (SPEC §4), and their
//! validation, which is gate 1. Both plan blocks and task copies go through [`parse_block`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule, did_you_mean};
use crate::markdown::Fence;
use crate::paths;
use crate::yaml;

/// What validation may look at besides the text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx<'a> {
    /// The repository root, for the symlink rule. None: only lexical path checks.
    pub root: Option<&'a Path>,
    /// The cheap checks verify needs: regex syntax only, without compiling (a pattern is
    /// compiled when its proof runs, so a cached run compiles none), and the symlink rule only
    /// for `cwd` (file proofs read git's view of the content, which never follows a link). Lint
    /// compiles every pattern with its size limit and checks every path on the file system.
    pub quick_regex: bool,
}

/// The nine proof types of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    FileExists,
    PatternMatches,
    NoPatternExists,
    BuildsClean,
    TestPasses,
    CommandOutputMatches,
    GitDiffContains,
    LineCountDelta,
    SemanticMatch,
}

const COMMAND_ARGS: [&str; 3] = ["timeout", "cwd", "env"];

impl ProofKind {
    pub const ALL: [Self; 9] = [
        Self::FileExists,
        Self::PatternMatches,
        Self::NoPatternExists,
        Self::BuildsClean,
        Self::TestPasses,
        Self::CommandOutputMatches,
        Self::GitDiffContains,
        Self::LineCountDelta,
        Self::SemanticMatch,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::FileExists => "file_exists",
            Self::PatternMatches => "pattern_matches",
            Self::NoPatternExists => "no_pattern_exists",
            Self::BuildsClean => "builds_clean",
            Self::TestPasses => "test_passes",
            Self::CommandOutputMatches => "command_output_matches",
            Self::GitDiffContains => "git_diff_contains",
            Self::LineCountDelta => "line_count_delta",
            Self::SemanticMatch => "semantic_match",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True for the proofs that run a command.
    #[must_use]
    pub fn is_command(self) -> bool {
        matches!(
            self,
            Self::BuildsClean | Self::TestPasses | Self::CommandOutputMatches
        )
    }

    /// Every arg the proof takes.
    #[must_use]
    pub fn args(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            Self::FileExists => &["path", "min"],
            Self::PatternMatches => &["path", "pattern", "min"],
            Self::NoPatternExists => &["pattern", "path"],
            Self::BuildsClean => &["command"],
            Self::TestPasses => &["command", "min_tests", "expect"],
            Self::CommandOutputMatches => &["command", "pattern", "stream", "exit"],
            Self::GitDiffContains => &["pattern", "path", "base"],
            Self::LineCountDelta => &["path", "min", "max", "base"],
            Self::SemanticMatch => &["rubric", "path"],
        };
        let mut all = own.to_vec();
        if self.is_command() {
            all.extend(COMMAND_ARGS);
        }
        all
    }
}

/// Which criteria belong to tasks (SPEC §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    #[default]
    Task,
    CrossCutting,
    System,
}

impl Scope {
    const NAMES: [&'static str; 3] = ["task", "cross-cutting", "system"];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::CrossCutting => "cross-cutting",
            Self::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    #[default]
    Critical,
    Low,
}

/// Which output stream `command_output_matches` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
    Both,
}

/// The exit code `command_output_matches` expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExitExpect {
    Code(i32),
    Any,
}

/// The command a command proof runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    pub command: String,
    /// Seconds; None means the criterion's `timeout` or the config's `command_timeout`.
    pub timeout: Option<u64>,
    /// A folder inside the repository; None is the root.
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
}

/// A proof with its validated args.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Proof {
    FileExists {
        path: String,
        min: u64,
    },
    PatternMatches {
        path: String,
        pattern: String,
        min: u64,
    },
    NoPatternExists {
        pattern: String,
        path: Option<String>,
    },
    BuildsClean {
        run: CommandSpec,
    },
    TestPasses {
        run: CommandSpec,
        min_tests: u64,
        expect: Vec<String>,
    },
    CommandOutputMatches {
        run: CommandSpec,
        pattern: String,
        stream: Stream,
        exit: ExitExpect,
    },
    GitDiffContains {
        pattern: String,
        path: Option<String>,
        base: Option<String>,
    },
    LineCountDelta {
        path: String,
        min: Option<i64>,
        max: Option<i64>,
        base: Option<String>,
    },
    SemanticMatch {
        rubric: Vec<String>,
        paths: Vec<String>,
    },
}

impl Proof {
    #[must_use]
    pub fn kind(&self) -> ProofKind {
        match self {
            Self::FileExists { .. } => ProofKind::FileExists,
            Self::PatternMatches { .. } => ProofKind::PatternMatches,
            Self::NoPatternExists { .. } => ProofKind::NoPatternExists,
            Self::BuildsClean { .. } => ProofKind::BuildsClean,
            Self::TestPasses { .. } => ProofKind::TestPasses,
            Self::CommandOutputMatches { .. } => ProofKind::CommandOutputMatches,
            Self::GitDiffContains { .. } => ProofKind::GitDiffContains,
            Self::LineCountDelta { .. } => ProofKind::LineCountDelta,
            Self::SemanticMatch { .. } => ProofKind::SemanticMatch,
        }
    }
}

/// The fields a criterion may have.
pub const FIELDS: [&str; 9] = [
    "id",
    "description",
    "proof",
    "args",
    "scope",
    "severity",
    "inputs",
    "timeout",
    "serial",
];

/// One validated criterion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    pub id: String,
    pub description: String,
    pub proof: Proof,
    pub scope: Scope,
    pub severity: Severity,
    /// Globs narrowing the input digest of a command proof.
    pub inputs: Vec<String>,
    /// Seconds, command proofs.
    pub timeout: Option<u64>,
    /// Never run at the same time as another command proof.
    pub serial: bool,
    /// Where the criterion starts in its file.
    pub pos: Pos,
    /// The heading the criterion sits under (plans only).
    pub section: Option<String>,
    /// The args as written, as JSON (for the criterion digest).
    pub raw_args: serde_json::Value,
}

impl Criterion {
    #[must_use]
    pub fn kind(&self) -> ProofKind {
        self.proof.kind()
    }

    /// How `copy` differs from this definition, one phrase per field; empty when they agree.
    /// Defaults count as written (`min: 1` equals no `min`).
    #[must_use]
    pub fn differences(&self, copy: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.description.trim() != copy.description.trim() {
            out.push(format!(
                "description (plan: {:?}, task: {:?})",
                self.description, copy.description
            ));
        }
        if self.kind() != copy.kind() {
            out.push(format!(
                "proof (plan: {}, task: {})",
                self.kind().name(),
                copy.kind().name()
            ));
        } else if self.proof != copy.proof {
            out.push(format!(
                "args (plan: {}, task: {})",
                self.raw_args, copy.raw_args
            ));
        }
        if self.scope != copy.scope {
            out.push(format!(
                "scope (plan: {}, task: {})",
                self.scope.name(),
                copy.scope.name()
            ));
        }
        if self.severity != copy.severity {
            out.push(
                format!(
                    "severity (plan: {:?}, task: {:?})",
                    self.severity, copy.severity
                )
                .to_lowercase(),
            );
        }
        if self.inputs != copy.inputs {
            let shown = |inputs: &[String]| {
                if inputs.is_empty() {
                    "none".to_owned()
                } else {
                    inputs.join(", ")
                }
            };
            out.push(format!(
                "inputs (plan: {}, task: {})",
                shown(&self.inputs),
                shown(&copy.inputs)
            ));
        }
        if self.timeout != copy.timeout {
            let shown = |t: Option<u64>| t.map_or_else(|| "none".to_owned(), |s| format!("{s} s"));
            out.push(format!(
                "timeout (plan: {}, task: {})",
                shown(self.timeout),
                shown(copy.timeout)
            ));
        }
        if self.serial != copy.serial {
            out.push(format!(
                "serial (plan: {}, task: {})",
                self.serial, copy.serial
            ));
        }
        out
    }
}

/// Compiles a proof pattern the way proofs run it: bytes, multi-line, with a size limit.
///
/// # Errors
/// The regex crate's error.
pub fn compile_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .multi_line(true)
        .size_limit(1 << 24)
        .build()
}

/// The last line of a regex error, which names the problem ("unclosed group").
#[must_use]
pub fn regex_error_summary(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

/// True when `id` has the shape `[A-Za-z][A-Za-z0-9_.-]*`.
#[must_use]
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// What a criteria block held.
#[derive(Debug, Default)]
pub struct Block {
    /// The criteria that validated.
    pub criteria: Vec<Criterion>,
    /// Every well-formed ID in the block, valid criterion or not, with its position.
    pub ids: Vec<(String, Pos)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses and validates a `criteria` fenced block of `file`.
#[must_use]
pub fn parse_block(file: &str, fence: &Fence, ctx: Ctx<'_>) -> Block {
    let mut block = Block::default();
    let open = Pos::line(fence.open_line);
    if !fence.closed {
        block.diagnostics.push(Diagnostic::new(
            file,
            open,
            FailureCode::F8,
            Rule::ParseError,
            "criteria block is never closed: end it with a line of ```",
        ));
        return block;
    }
    let value = match yaml::parse(&fence.body, fence.body_line) {
        Ok(v) => v,
        Err(e) => {
            block.diagnostics.push(Diagnostic::new(
                file,
                e.pos,
                FailureCode::F8,
                Rule::ParseError,
                e.message,
            ));
            // The IDs written in the block are still known, so that one typo does not make every
            // task copy "fabricated" and every checkbox "unverifiable".
            block.ids = recover_ids(&fence.body, fence.body_line);
            return block;
        }
    };
    let items = match value {
        Value::Sequence(items) => items,
        Value::Null => {
            block.diagnostics.push(Diagnostic::new(
                file,
                open,
                FailureCode::F1,
                Rule::InvalidValue,
                "criteria block is empty: list criteria as `- id: …` with description, proof and args",
            ));
            return block;
        }
        other => {
            block.diagnostics.push(Diagnostic::new(
                file,
                Pos::line(fence.body_line),
                FailureCode::F8,
                Rule::ParseError,
                format!(
                    "a criteria block holds a YAML list (`- id: …`), found {}",
                    yaml::kind(&other)
                ),
            ));
            return block;
        }
    };
    let lines: Vec<&str> = fence.body.split('\n').collect();
    let starts = item_starts(&lines, items.len());
    for (i, item) in items.iter().enumerate() {
        let loc = ItemLoc {
            lines: &lines,
            first_line: fence.body_line,
            from: starts.get(i).copied().unwrap_or(0),
            to: starts.get(i + 1).copied().unwrap_or(lines.len()),
        };
        let mut sink = Sink {
            file,
            diagnostics: &mut block.diagnostics,
            id: None,
            failed: false,
        };
        let criterion = parse_item(item, &loc, ctx, &mut sink);
        if let Some(id) = sink.id.clone() {
            block.ids.push((id, loc.key("id")));
        }
        if let Some(c) = criterion {
            block.criteria.push(c);
        }
    }
    block
}

/// `id: X` lines of a block that does not parse as YAML.
fn recover_ids(body: &str, first_line: usize) -> Vec<(String, Pos)> {
    static ID: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?:^|[\s{,-])(?P<key>id)\s*:\s*["']?(?P<id>[A-Za-z][A-Za-z0-9_.-]*)"#)
            .expect("id regex is valid")
    });
    body.split('\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with('#'))
        .flat_map(|(i, line)| {
            ID.captures_iter(line)
                .filter_map(|c| {
                    let column = c.name("key")?.start() + 1;
                    Some((
                        c.name("id")?.as_str().to_owned(),
                        Pos::new(first_line + i, column),
                    ))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Line indexes where each top-level list item starts; all zeros when they cannot be told apart
/// (flow-style lists).
pub(crate) fn item_starts(lines: &[&str], count: usize) -> Vec<usize> {
    let dash = |l: &str| {
        let t = l.trim_start();
        t == "-" || t.starts_with("- ")
    };
    let indent = lines
        .iter()
        .filter(|l| dash(l))
        .map(|l| l.len() - l.trim_start().len())
        .min();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| dash(l) && Some(l.len() - l.trim_start().len()) == indent)
        .map(|(i, _)| i)
        .collect();
    if starts.len() == count {
        starts
    } else {
        vec![0; count]
    }
}

struct ItemLoc<'a> {
    lines: &'a [&'a str],
    first_line: usize,
    from: usize,
    to: usize,
}

impl ItemLoc<'_> {
    fn start(&self) -> Pos {
        let line = self.lines.get(self.from).copied().unwrap_or("");
        let column = line.len() - line.trim_start().len() + 1;
        Pos::new(self.first_line + self.from, column)
    }

    /// Position of a criterion field: preferably where it is written at the item's own
    /// indentation (not inside `args`).
    fn key(&self, key: &str) -> Pos {
        let field_column = self.start().column + 2;
        (self.from..self.to.min(self.lines.len()))
            .filter_map(|i| yaml::find_key(self.lines, self.first_line, i, i + 1, key))
            .find(|p| p.column == field_column)
            .or_else(|| yaml::find_key(self.lines, self.first_line, self.from, self.to, key))
            .unwrap_or_else(|| self.start())
    }

    /// Position of an arg: searched from the `args:` line on.
    fn arg(&self, key: &str) -> Pos {
        let args_line = yaml::find_key(self.lines, self.first_line, self.from, self.to, "args")
            .map_or(self.from, |p| p.line - self.first_line);
        yaml::find_key(self.lines, self.first_line, args_line, self.to, key)
            .unwrap_or_else(|| self.key("args"))
    }
}

struct Sink<'a> {
    file: &'a str,
    diagnostics: &'a mut Vec<Diagnostic>,
    id: Option<String>,
    failed: bool,
}

impl Sink<'_> {
    fn report(
        &mut self,
        pos: Pos,
        code: FailureCode,
        rule: Rule,
        field: &str,
        message: String,
        hint: Option<&str>,
    ) {
        self.failed = true;
        self.diagnostics.push(
            Diagnostic::new(self.file, pos, code, rule, message)
                .criterion(self.id.as_deref())
                .field(field)
                .suggest(hint),
        );
    }

    fn invalid(&mut self, pos: Pos, field: &str, message: String) {
        self.report(
            pos,
            FailureCode::F1,
            Rule::InvalidValue,
            field,
            message,
            None,
        );
    }
}

fn parse_item(
    item: &Value,
    loc: &ItemLoc<'_>,
    ctx: Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Option<Criterion> {
    let Value::Mapping(map) = item else {
        sink.report(
            loc.start(),
            FailureCode::F8,
            Rule::ParseError,
            "criterion",
            format!(
                "each criterion is a mapping with id, description, proof and args; found {}",
                yaml::kind(item)
            ),
            None,
        );
        return None;
    };
    let (fields, odd_keys) = yaml::entries(map);
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);

    // The ID first, so every later message can name the criterion.
    match get("id") {
        None => sink.report(
            loc.start(),
            FailureCode::F1,
            Rule::MissingField,
            "id",
            "criterion has no `id`".into(),
            None,
        ),
        Some(Value::String(id)) if valid_id(id) => sink.id = Some(id.clone()),
        Some(other) => {
            let shown = yaml::scalar_text(other).unwrap_or_else(|| yaml::kind(other).to_owned());
            sink.report(
                loc.key("id"),
                FailureCode::F1,
                Rule::InvalidId,
                "id",
                format!("invalid id {shown:?}: an id starts with a letter and holds only letters, digits, `_`, `.` and `-`"),
                None,
            );
        }
    }
    for key in odd_keys {
        sink.report(
            loc.start(),
            FailureCode::F1,
            Rule::UnknownField,
            "criterion",
            format!("field names are text, found {}", yaml::kind(key)),
            None,
        );
    }
    for (key, _) in &fields {
        if !FIELDS.contains(key) {
            let hint = did_you_mean(key, FIELDS);
            sink.report(
                loc.key(key),
                FailureCode::F1,
                Rule::UnknownField,
                key,
                format!("unknown field \"{key}\""),
                hint,
            );
        }
    }

    let description = match get("description") {
        None => {
            sink.report(
                loc.start(),
                FailureCode::F1,
                Rule::MissingField,
                "description",
                "criterion has no `description`".into(),
                None,
            );
            None
        }
        Some(v) => match yaml::scalar_text(v) {
            Some(d) if !d.trim().is_empty() => Some(d),
            _ => {
                sink.invalid(
                    loc.key("description"),
                    "description",
                    "`description` must be non-empty text".into(),
                );
                None
            }
        },
    };

    let kind = match get("proof") {
        None => {
            sink.report(
                loc.start(),
                FailureCode::F1,
                Rule::MissingField,
                "proof",
                format!("criterion has no `proof`: add one of {}", proof_names()),
                None,
            );
            None
        }
        Some(Value::String(name)) => {
            let kind = ProofKind::from_name(name);
            if kind.is_none() {
                let hint = did_you_mean(name, ProofKind::ALL.iter().map(|k| k.name()));
                let known = if hint.is_some() {
                    String::new()
                } else {
                    format!(" (proofs: {})", proof_names())
                };
                sink.report(
                    loc.key("proof"),
                    FailureCode::F1,
                    Rule::UnknownProof,
                    "proof",
                    format!("unknown proof \"{name}\"{known}"),
                    hint,
                );
            }
            kind
        }
        Some(other) => {
            sink.invalid(
                loc.key("proof"),
                "proof",
                format!("`proof` must be a proof name, found {}", yaml::kind(other)),
            );
            None
        }
    };

    let scope = enum_field(get("scope"), "scope", &Scope::NAMES, loc, sink).map_or(
        Scope::Task,
        |s| match s {
            "cross-cutting" => Scope::CrossCutting,
            "system" => Scope::System,
            _ => Scope::Task,
        },
    );
    let severity = enum_field(get("severity"), "severity", &["critical", "low"], loc, sink).map_or(
        Severity::Critical,
        |s| {
            if s == "low" {
                Severity::Low
            } else {
                Severity::Critical
            }
        },
    );

    let command_only = |sink: &mut Sink<'_>, field: &str| {
        if let Some(k) = kind.filter(|k| !k.is_command()) {
            sink.invalid(
                loc.key(field),
                field,
                format!(
                    "`{field}` applies to command proofs only, not to {}",
                    k.name()
                ),
            );
        }
    };
    let inputs = match get("inputs") {
        None => Vec::new(),
        Some(v) => {
            command_only(sink, "inputs");
            let mut reader = ArgReader {
                fields: vec![("inputs", v)],
                loc,
                ctx,
                sink,
                field_mode: true,
            };
            reader.path_list("inputs", false).unwrap_or_default()
        }
    };
    let timeout = match get("timeout") {
        None => None,
        Some(v) => {
            command_only(sink, "timeout");
            positive(v).or_else(|| {
                sink.invalid(
                    loc.key("timeout"),
                    "timeout",
                    format!(
                        "`timeout` must be a whole number of seconds above 0, found {}",
                        shown(v)
                    ),
                );
                None
            })
        }
    };
    let serial = match get("serial") {
        None => false,
        Some(Value::Bool(b)) => {
            command_only(sink, "serial");
            *b
        }
        Some(v) => {
            sink.invalid(
                loc.key("serial"),
                "serial",
                format!("`serial` must be true or false, found {}", shown(v)),
            );
            false
        }
    };

    let raw_args = get("args").map_or(serde_json::Value::Null, yaml::to_json);
    let proof = kind.and_then(|kind| parse_args(kind, get("args"), loc, ctx, sink));

    if sink.failed {
        return None;
    }
    Some(Criterion {
        id: sink.id.clone()?,
        description: description?,
        proof: proof?,
        scope,
        severity,
        inputs,
        timeout,
        serial,
        pos: loc.key("id"),
        section: None,
        raw_args,
    })
}

fn proof_names() -> String {
    ProofKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn shown(v: &Value) -> String {
    yaml::scalar_text(v).map_or_else(|| yaml::kind(v).to_owned(), |s| format!("{s:?}"))
}

fn positive(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n > 0)
}

fn enum_field<'n>(
    value: Option<&Value>,
    field: &str,
    names: &[&'n str],
    loc: &ItemLoc<'_>,
    sink: &mut Sink<'_>,
) -> Option<&'n str> {
    let value = value?;
    let text = yaml::scalar_text(value).unwrap_or_default();
    if let Some(name) = names.iter().find(|n| **n == text) {
        return Some(name);
    }
    let hint = did_you_mean(&text, names.iter().copied());
    sink.report(
        loc.key(field),
        FailureCode::F1,
        Rule::InvalidValue,
        field,
        format!(
            "`{field}` must be one of {}, found {}",
            names.join(", "),
            shown(value)
        ),
        hint,
    );
    None
}

fn parse_args(
    kind: ProofKind,
    args: Option<&Value>,
    loc: &ItemLoc<'_>,
    ctx: Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Option<Proof> {
    let empty = Mapping::new();
    let map = match args {
        None | Some(Value::Null) => &empty,
        Some(Value::Mapping(m)) => m,
        Some(other) => {
            sink.report(
                loc.key("args"),
                FailureCode::F1,
                Rule::InvalidArg,
                "args",
                format!(
                    "`args` must be a mapping such as {{ path: src/lib.rs }}, found {}",
                    yaml::kind(other)
                ),
                None,
            );
            return None;
        }
    };
    let (fields, odd_keys) = yaml::entries(map);
    if !odd_keys.is_empty() {
        sink.report(
            loc.key("args"),
            FailureCode::F1,
            Rule::UnknownArg,
            "args",
            "arg names are text".into(),
            None,
        );
    }
    let allowed = kind.args();
    for (key, _) in &fields {
        if !allowed.contains(key) {
            let hint = did_you_mean(key, allowed.iter().copied());
            sink.report(
                loc.arg(key),
                FailureCode::F1,
                Rule::UnknownArg,
                key,
                format!(
                    "{} takes no arg \"{key}\" (args: {})",
                    kind.name(),
                    allowed.join(", ")
                ),
                hint,
            );
        }
    }
    let mut r = ArgReader {
        fields,
        loc,
        ctx,
        sink,
        field_mode: false,
    };
    let proof = match kind {
        ProofKind::FileExists => {
            let path = r.path("path", true, kind);
            let min = r.min_count("min");
            Proof::FileExists {
                path: path?,
                min: min?,
            }
        }
        ProofKind::PatternMatches => {
            let path = r.path("path", true, kind);
            let pattern = r.pattern("pattern", true, kind);
            let min = r.min_count("min");
            Proof::PatternMatches {
                path: path?,
                pattern: pattern?,
                min: min?,
            }
        }
        ProofKind::NoPatternExists => {
            let pattern = r.pattern("pattern", true, kind);
            let path = r.path("path", false, kind);
            Proof::NoPatternExists {
                pattern: pattern?,
                path,
            }
        }
        ProofKind::BuildsClean => Proof::BuildsClean {
            run: r.command(kind)?,
        },
        ProofKind::TestPasses => {
            let run = r.command(kind);
            let min_tests = r.min_count("min_tests");
            let expect = r.text_list("expect");
            Proof::TestPasses {
                run: run?,
                min_tests: min_tests?,
                expect: expect.unwrap_or_default(),
            }
        }
        ProofKind::CommandOutputMatches => {
            let run = r.command(kind);
            let pattern = r.pattern("pattern", true, kind);
            let stream = r.stream();
            let exit = r.exit();
            Proof::CommandOutputMatches {
                run: run?,
                pattern: pattern?,
                stream: stream?,
                exit: exit?,
            }
        }
        ProofKind::GitDiffContains => {
            let pattern = r.pattern("pattern", true, kind);
            let path = r.path("path", false, kind);
            let base = r.text("base", false, kind);
            Proof::GitDiffContains {
                pattern: pattern?,
                path,
                base,
            }
        }
        ProofKind::LineCountDelta => {
            let path = r.path("path", true, kind).filter(|p| {
                let single = !paths::is_glob(p);
                if !single {
                    r.bad(
                        "path",
                        format!("line_count_delta counts the lines of one file; \"{p}\" is a glob"),
                    );
                }
                single
            });
            let base = r.text("base", false, kind);
            let (min, max) = r.bounds()?;
            Proof::LineCountDelta {
                path: path?,
                min,
                max,
                base,
            }
        }
        ProofKind::SemanticMatch => {
            let rubric = r.rubric(kind);
            let paths = r.path_list("path", true);
            Proof::SemanticMatch {
                rubric: rubric?,
                paths: paths?,
            }
        }
    };
    (!r.sink.failed).then_some(proof)
}

struct ArgReader<'a, 'l, 's, 'c> {
    fields: Vec<(&'a str, &'a Value)>,
    loc: &'l ItemLoc<'l>,
    ctx: Ctx<'l>,
    sink: &'c mut Sink<'s>,
    /// Reading a criterion field (inputs) rather than an arg: positions come from the field.
    field_mode: bool,
}

impl ArgReader<'_, '_, '_, '_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    fn pos(&self, name: &str) -> Pos {
        if self.field_mode {
            self.loc.key(name)
        } else {
            self.loc.arg(name)
        }
    }

    fn bad(&mut self, name: &str, message: String) {
        let pos = self.pos(name);
        self.sink
            .report(pos, FailureCode::F1, Rule::InvalidArg, name, message, None);
    }

    fn text(&mut self, name: &str, required: bool, kind: ProofKind) -> Option<String> {
        match self.get(name) {
            None | Some(Value::Null) if required => {
                let pos = self.loc.key("args");
                self.sink.report(
                    pos,
                    FailureCode::F1,
                    Rule::MissingArg,
                    name,
                    format!(
                        "{} needs the arg \"{name}\" (args: {})",
                        kind.name(),
                        kind.args().join(", ")
                    ),
                    None,
                );
                None
            }
            None | Some(Value::Null) => None,
            Some(v) => match yaml::scalar_text(v) {
                Some(s) if !s.trim().is_empty() => Some(s),
                _ => {
                    self.bad(
                        name,
                        format!("arg \"{name}\" must be non-empty text, found {}", shown(v)),
                    );
                    None
                }
            },
        }
    }

    fn check_path(&mut self, name: &str, path: &str) -> bool {
        // Verify reads files only through git's view of the content, which never follows a
        // symlink: there, only `cwd` (where a command runs) needs the file system checked.
        let root = if self.ctx.quick_regex && name != "cwd" {
            None
        } else {
            self.ctx.root
        };
        if let Err(problem) = paths::check(root, path) {
            let pos = self.pos(name);
            self.sink.report(
                pos,
                FailureCode::F1,
                Rule::UnsafePath,
                name,
                format!("path \"{path}\" {problem}"),
                None,
            );
            return false;
        }
        if paths::is_glob(path)
            && let Err(e) = globset::GlobBuilder::new(path)
                .literal_separator(true)
                .build()
        {
            self.bad(name, format!("invalid glob \"{path}\": {}", e.kind()));
            return false;
        }
        true
    }

    fn path(&mut self, name: &str, required: bool, kind: ProofKind) -> Option<String> {
        let path = self.text(name, required, kind)?;
        self.check_path(name, &path).then_some(path)
    }

    fn path_list(&mut self, name: &str, required: bool) -> Option<Vec<String>> {
        let items = self.text_list(name)?;
        if items.is_empty() && required {
            self.bad(name, format!("\"{name}\" needs at least one path or glob"));
            return None;
        }
        let mut ok = true;
        for item in &items {
            ok &= self.check_path(name, item);
        }
        ok.then_some(items)
    }

    /// A text or a list of texts.
    fn text_list(&mut self, name: &str) -> Option<Vec<String>> {
        let value = self.get(name)?.clone();
        let items = match &value {
            Value::Sequence(seq) => seq
                .iter()
                .map(yaml::scalar_text)
                .collect::<Option<Vec<_>>>(),
            Value::Null => Some(Vec::new()),
            other => yaml::scalar_text(other).map(|s| vec![s]),
        };
        match items {
            Some(items) if items.iter().all(|s| !s.trim().is_empty()) => Some(items),
            _ => {
                self.bad(
                    name,
                    format!(
                        "\"{name}\" must be text or a list of text, found {}",
                        yaml::kind(&value)
                    ),
                );
                None
            }
        }
    }

    fn pattern(&mut self, name: &str, required: bool, kind: ProofKind) -> Option<String> {
        let pattern = self.text(name, required, kind)?;
        let checked = if self.ctx.quick_regex {
            regex_syntax::ast::parse::Parser::new()
                .parse(&pattern)
                .map(drop)
                .map_err(|e| e.kind().to_string())
        } else {
            compile_pattern(&pattern)
                .map(drop)
                .map_err(|e| regex_error_summary(&e))
        };
        match checked {
            Ok(()) => Some(pattern),
            Err(e) => {
                let pos = self.pos(name);
                let message = format!("invalid regex {pattern:?}: {e}");
                self.sink.report(
                    pos,
                    FailureCode::F1,
                    Rule::InvalidRegex,
                    name,
                    message,
                    None,
                );
                None
            }
        }
    }

    /// A count that must be at least 1 (`min`, `min_tests`); absent is 1.
    fn min_count(&mut self, name: &str) -> Option<u64> {
        match self.get(name) {
            None => Some(1),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n),
                Some(_) => {
                    self.bad(
                        name,
                        format!("\"{name}\" is 0, which always passes: use 1 or more"),
                    );
                    None
                }
                None => {
                    self.bad(
                        name,
                        format!(
                            "\"{name}\" must be a whole number of 1 or more, found {}",
                            shown(v)
                        ),
                    );
                    None
                }
            },
        }
    }

    fn int(&mut self, name: &str) -> Result<Option<i64>, ()> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                if let Some(n) = v.as_i64() {
                    Ok(Some(n))
                } else {
                    self.bad(
                        name,
                        format!("\"{name}\" must be a whole number, found {}", shown(v)),
                    );
                    Err(())
                }
            }
        }
    }

    fn bounds(&mut self) -> Option<(Option<i64>, Option<i64>)> {
        let min = self.int("min");
        let max = self.int("max");
        let (Ok(min), Ok(max)) = (min, max) else {
            return None;
        };
        match (min, max) {
            (None, None) => {
                self.bad("min", "line_count_delta needs \"min\", \"max\" or both; without them it always passes".into());
                None
            }
            (Some(lo), Some(hi)) if lo > hi => {
                self.bad(
                    "min",
                    format!("\"min\" ({lo}) is greater than \"max\" ({hi}): nothing can pass"),
                );
                None
            }
            bounds => Some(bounds),
        }
    }

    fn command(&mut self, kind: ProofKind) -> Option<CommandSpec> {
        let command = self.text("command", true, kind);
        let timeout = match self.get("timeout") {
            None => None,
            Some(v) => {
                let t = positive(v);
                if t.is_none() {
                    self.bad(
                        "timeout",
                        format!(
                            "\"timeout\" must be a whole number of seconds above 0, found {}",
                            shown(v)
                        ),
                    );
                }
                t
            }
        };
        let cwd = self.path("cwd", false, kind).filter(|cwd| {
            let not_a_folder = self
                .ctx
                .root
                .map(|root| root.join(cwd))
                .is_some_and(|p| p.exists() && !p.is_dir());
            if not_a_folder {
                self.bad(
                    "cwd",
                    format!("cwd \"{cwd}\" is a file; give the folder the command runs in"),
                );
            }
            !not_a_folder
        });
        let env = self.env();
        Some(CommandSpec {
            command: command?,
            timeout,
            cwd,
            env: env?,
        })
    }

    fn env(&mut self) -> Option<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        match self.get("env").cloned() {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(map)) => {
                for (k, v) in &map {
                    let name = yaml::scalar_text(k).unwrap_or_default();
                    let valid = name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    match (valid, yaml::scalar_text(v)) {
                        (true, Some(value)) => {
                            out.insert(name, value);
                        }
                        (false, _) => {
                            self.bad(
                                "env",
                                format!("\"env\" has an invalid variable name {name:?}"),
                            );
                            return None;
                        }
                        (true, None) => {
                            self.bad(
                                "env",
                                format!(
                                    "\"env\" value of {name} must be text, found {}",
                                    yaml::kind(v)
                                ),
                            );
                            return None;
                        }
                    }
                }
            }
            Some(other) => {
                self.bad(
                    "env",
                    format!(
                        "\"env\" must be a mapping of NAME: value, found {}",
                        yaml::kind(&other)
                    ),
                );
                return None;
            }
        }
        Some(out)
    }

    fn stream(&mut self) -> Option<Stream> {
        let Some(v) = self.get("stream") else {
            return Some(Stream::Stdout);
        };
        match yaml::scalar_text(v).as_deref() {
            Some("stdout") => Some(Stream::Stdout),
            Some("stderr") => Some(Stream::Stderr),
            Some("both") => Some(Stream::Both),
            other => {
                let hint = other.and_then(|o| did_you_mean(o, ["stdout", "stderr", "both"]));
                let pos = self.pos("stream");
                let message = format!(
                    "\"stream\" must be stdout, stderr or both, found {}",
                    shown(v)
                );
                self.sink.report(
                    pos,
                    FailureCode::F1,
                    Rule::InvalidArg,
                    "stream",
                    message,
                    hint,
                );
                None
            }
        }
    }

    fn exit(&mut self) -> Option<ExitExpect> {
        let Some(v) = self.get("exit") else {
            return Some(ExitExpect::Code(0));
        };
        if let Some(code) = v.as_u64().filter(|c| *c <= 255) {
            return i32::try_from(code).ok().map(ExitExpect::Code);
        }
        if v.as_str() == Some("any") {
            return Some(ExitExpect::Any);
        }
        self.bad(
            "exit",
            format!(
                "\"exit\" must be an exit code (0 to 255) or \"any\", found {}",
                shown(v)
            ),
        );
        None
    }

    fn rubric(&mut self, kind: ProofKind) -> Option<Vec<String>> {
        if self.get("rubric").is_none() {
            self.text("rubric", true, kind);
            return None;
        }
        let items = self.text_list("rubric")?;
        if (1..=3).contains(&items.len()) {
            Some(items)
        } else {
            self.bad(
                "rubric",
                format!("\"rubric\" holds 1 to 3 items, found {}", items.len()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::scan;

    fn block(body: &str) -> Block {
        let src = format!("```criteria\n{body}\n```\n");
        let doc = scan(&src, 1);
        parse_block("plans/p.md", &doc.fences[0], Ctx::default())
    }

    fn messages(b: &Block) -> Vec<String> {
        b.diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_pattern_too_large_to_compile_is_refused_not_built() {
        // A few bytes of pattern that would compile to hundreds of megabytes: pushed plans
        // are untrusted, and the server compiles their patterns.
        let err = compile_pattern(r"\w{1000}{1000}").expect_err("over the size limit");
        assert!(regex_error_summary(&err).contains("size limit"), "{err}");
        assert!(compile_pattern(r"\w{10}").is_ok());
    }

    #[test]
    fn parses_a_valid_block_with_lines() {
        let b = block(
            "- id: A-1\n  description: d\n  proof: pattern_matches\n  args: { path: src/a.rs, pattern: \"fn a\" }\n\
             - id: A-2\n  description: e\n  proof: test_passes\n  args: { command: cargo test, expect: [x] }\n  scope: cross-cutting\n  serial: true",
        );
        assert!(b.diagnostics.is_empty(), "{:?}", messages(&b));
        assert_eq!(b.criteria.len(), 2);
        assert_eq!(b.criteria[0].pos, Pos::new(2, 3));
        assert_eq!(b.criteria[1].pos, Pos::new(6, 3));
        assert_eq!(b.criteria[1].scope, Scope::CrossCutting);
        assert!(b.criteria[1].serial);
        assert!(
            matches!(&b.criteria[1].proof, Proof::TestPasses { min_tests: 1, expect, .. } if expect == &["x"])
        );
    }

    #[test]
    fn unknown_proof_suggests_the_nearest() {
        let b = block("- id: A-1\n  description: d\n  proof: test_pass\n  args: { command: x }");
        assert_eq!(
            messages(&b),
            vec![
                "plans/p.md:4:3: F1: criterion A-1: unknown proof \"test_pass\" (did you mean \"test_passes\"?)"
            ]
        );
    }

    #[test]
    fn bad_args_are_each_reported_where_they_are() {
        let b = block(
            "- id: A-1\n  description: d\n  proof: pattern_matches\n  args:\n    path: /etc/passwd\n    pattern: \"(x\"\n    mni: 2",
        );
        let m = messages(&b);
        assert!(
            m.iter().any(|s| s.starts_with(
                "plans/p.md:8:5: F1: criterion A-1: pattern_matches takes no arg \"mni\""
            ) && s.contains("did you mean \"min\"")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|s| s.starts_with("plans/p.md:6:5:") && s.contains("is absolute")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|s| s.starts_with("plans/p.md:7:5:") && s.contains("invalid regex \"(x\"")),
            "{m:?}"
        );
        assert!(b.criteria.is_empty());
        assert_eq!(b.ids.len(), 1, "the ID is still known");
    }

    #[test]
    fn missing_required_args_and_fields_are_named() {
        let b = block("- id: A-1\n  proof: file_exists\n  args: {}");
        let m = messages(&b);
        assert!(m.iter().any(|s| s.contains("no `description`")), "{m:?}");
        assert!(
            m.iter()
                .any(|s| s.contains("file_exists needs the arg \"path\"")),
            "{m:?}"
        );
    }

    #[test]
    fn sane_bounds_are_required() {
        let m = messages(&block(
            "- id: A\n  description: d\n  proof: line_count_delta\n  args: { path: a, min: 5, max: 2 }",
        ));
        assert!(m.iter().any(|s| s.contains("greater than")), "{m:?}");
        let m = messages(&block(
            "- id: A\n  description: d\n  proof: file_exists\n  args: { path: a, min: 0 }",
        ));
        assert!(m.iter().any(|s| s.contains("always passes")), "{m:?}");
        let m = messages(&block(
            "- id: A\n  description: d\n  proof: test_passes\n  args: { command: t, min_tests: 0 }",
        ));
        assert!(m.iter().any(|s| s.contains("always passes")), "{m:?}");
    }

    #[test]
    fn a_block_that_does_not_parse_still_names_its_ids() {
        let b = block(
            "- id: A-1   # first\n  description: [broken\n- { id: A-2, description: d }\n# id: NOT-1\n- task_id: NOT-2",
        );
        assert!(b.criteria.is_empty());
        let ids: Vec<_> = b.ids.iter().map(|(i, p)| (i.as_str(), p.line)).collect();
        assert_eq!(ids, vec![("A-1", 2), ("A-2", 4)]);
    }

    #[test]
    fn a_field_is_placed_at_the_field_not_at_an_arg_of_the_same_name() {
        let m = messages(&block(
            "- id: A\n  description: d\n  proof: builds_clean\n  args: { command: make, timeout: 0 }\n  timeout: -1",
        ));
        assert!(
            m.iter()
                .any(|s| s.starts_with("plans/p.md:5:") && s.contains("\"timeout\" must be")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|s| s.starts_with("plans/p.md:6:3:") && s.contains("`timeout` must be")),
            "{m:?}"
        );
    }

    #[test]
    fn a_quick_check_finds_bad_syntax_without_compiling() {
        let src = "```criteria\n- id: A\n  description: d\n  proof: no_pattern_exists\n  args: { pattern: \"(unclosed\" }\n```\n";
        let doc = scan(src, 1);
        let quick = Ctx {
            root: None,
            quick_regex: true,
        };
        let b = parse_block("plans/p.md", &doc.fences[0], quick);
        assert!(
            messages(&b)
                .iter()
                .any(|m| m.contains("invalid regex \"(unclosed\"")),
            "{:?}",
            messages(&b)
        );
        let fine = src.replace("(unclosed", "(?i)todo|fixme");
        let doc = scan(&fine, 1);
        assert!(
            parse_block("plans/p.md", &doc.fences[0], quick)
                .diagnostics
                .is_empty()
        );
    }

    #[test]
    fn line_count_delta_takes_one_file_and_cwd_must_be_a_folder() {
        let m = messages(&block(
            "- id: A\n  description: d\n  proof: line_count_delta\n  args: { path: \"src/*.rs\", max: 2 }",
        ));
        assert!(
            m.iter().any(|s| s.contains("counts the lines of one file")),
            "{m:?}"
        );
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("build.sh"), "").unwrap();
        let src = "```criteria\n- id: A\n  description: d\n  proof: builds_clean\n  args: { command: make, cwd: build.sh }\n```\n";
        let doc = scan(src, 1);
        let b = parse_block(
            "plans/p.md",
            &doc.fences[0],
            Ctx {
                root: Some(root.path()),
                quick_regex: false,
            },
        );
        assert!(
            messages(&b)
                .iter()
                .any(|s| s.contains("cwd \"build.sh\" is a file")),
            "{:?}",
            messages(&b)
        );
    }

    #[test]
    fn ids_must_have_the_documented_shape() {
        assert!(valid_id("AUTH-1.b_2"));
        assert!(!valid_id("1AUTH"));
        assert!(!valid_id(""));
        assert!(!valid_id("A B"));
    }

    #[test]
    fn differences_ignore_written_defaults() {
        let a =
            block("- id: A\n  description: d\n  proof: file_exists\n  args: { path: a }").criteria;
        let b =
            block("- id: A\n  description: d\n  proof: file_exists\n  args: { path: a, min: 1 }")
                .criteria;
        let c = block("- id: A\n  description: other\n  proof: file_exists\n  args: { path: b }")
            .criteria;
        assert!(a[0].differences(&b[0]).is_empty());
        let d = a[0].differences(&c[0]);
        assert_eq!(d.len(), 2, "{d:?}");
    }

    #[test]
    fn differences_of_optional_and_list_fields_read_as_words_not_rust_debug() {
        let command =
            "- id: A\n  description: d\n  proof: builds_clean\n  args: { command: \"true\" }";
        let plan = block(command).criteria;
        let task = block(&format!(
            "{command}\n  timeout: 5\n  inputs: [\"src/**\", \"tests/**\"]"
        ))
        .criteria;
        assert_eq!(
            plan[0].differences(&task[0]),
            [
                "inputs (plan: none, task: src/**, tests/**)",
                "timeout (plan: none, task: 5 s)",
            ]
        );
    }
}
