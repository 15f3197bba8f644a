//! Problems found in user files, with the place they were found and the failure code (SPEC §11).

use std::fmt;

use serde::Serialize;

/// The failure codes of SPEC §11.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub enum FailureCode {
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
    F13,
    F14,
    F15,
    F16,
    F17,
}

impl FailureCode {
    /// The upper-case name the spec gives the code.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::F1 => "DECOMPOSITION_FAILURE",
            Self::F2 => "COMPREHENSION_MISMATCH",
            Self::F3 => "PROOF_FAILURE",
            Self::F4 => "PROOF_INCONCLUSIVE",
            Self::F5 => "TIMEOUT",
            Self::F6 => "ESCALATION_EXHAUSTED",
            Self::F7 => "DEPENDENCY_FAILURE",
            Self::F8 => "CONTEXT_CORRUPTION",
            Self::F9 => "INFRASTRUCTURE_FAILURE",
            Self::F10 => "REGRESSION",
            Self::F11 => "EVIDENCE_STALE",
            Self::F12 => "EVIDENCE_FABRICATED",
            Self::F13 => "ECHO_PARROTING",
            Self::F14 => "PLAN_DRIFT",
            Self::F15 => "BUDGET_EXCEEDED",
            Self::F16 => "CROSS_CUTTING_ORPHAN",
            Self::F17 => "CONVERGENCE_STAGNATION",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What kind of problem a diagnostic reports. Stable names: they appear in `lint --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The file is not UTF-8 text (binary junk, NUL bytes).
    NotText,
    /// The file could not be read.
    Unreadable,
    /// YAML or markdown structure that does not parse.
    ParseError,
    /// A required field is absent.
    MissingField,
    /// A field the format does not know.
    UnknownField,
    /// A field whose value has the wrong type or an unknown value.
    InvalidValue,
    /// A criterion ID that does not have the required shape.
    InvalidId,
    /// The same criterion ID defined twice.
    DuplicateId,
    /// A proof type that does not exist.
    UnknownProof,
    /// An argument the proof does not take.
    UnknownArg,
    /// An argument the proof requires is absent.
    MissingArg,
    /// An argument with a bad value.
    InvalidArg,
    /// A regex that does not compile.
    InvalidRegex,
    /// A path that is absolute, escapes the repository, or leads out of it through a symlink.
    UnsafePath,
    /// A checkbox criterion with no proof (F1).
    Unverifiable,
    /// `task_id` differs from the file name.
    TaskIdMismatch,
    /// A task names a plan file that does not exist.
    MissingPlan,
    /// A task names a plan section that does not exist.
    MissingSection,
    /// A task criterion the plan does not have.
    Fabricated,
    /// A task copy of a criterion that differs from the plan's definition.
    Drift,
    /// A cross-cutting or system criterion inside a task (F16).
    CrossCuttingInTask,
    /// A task's `depends_on` names a task that does not exist (F7).
    MissingDependency,
    /// Tasks whose `depends_on` lead back to themselves (F7).
    DependencyCycle,
    /// Two plan files with the same file name in different folders (`plans/a/auth.md`,
    /// `plans/b/auth.md`). Plan-level evidence (`_plan/<plan stem>/`) and convergence records
    /// (`.specproof/convergence/<plan stem>/`) are kept by the file stem, so the two plans would
    /// read and overwrite each other's files. Reported as F8 (context corruption): the files a plan's
    /// verification depends on could not be told apart, which is corrupt context, not a
    /// problem of any one criterion (F1) or of a task (F2, F7, F16).
    DuplicatePlanStem,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Path relative to the repository root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    pub code: FailureCode,
    pub rule: Rule,
    /// The criterion the problem is about, where there is one.
    pub criterion: Option<String>,
    /// The task the problem is about, where there is one.
    pub task: Option<String>,
    /// The field or argument the problem is about, where there is one.
    pub field: Option<String>,
    pub message: String,
    /// A did-you-mean replacement, where one fits.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    #[must_use]
    pub fn new(
        file: &str,
        pos: Pos,
        code: FailureCode,
        rule: Rule,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            code,
            rule,
            criterion: None,
            task: None,
            field: None,
            message: message.into(),
            suggestion: None,
        }
    }

    #[must_use]
    pub fn criterion(mut self, id: Option<&str>) -> Self {
        self.criterion = id.map(str::to_owned);
        self
    }

    #[must_use]
    pub fn task(mut self, id: Option<&str>) -> Self {
        self.task = id.map(str::to_owned);
        self
    }

    #[must_use]
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// Adds a did-you-mean suggestion; the message gains ` (did you mean "x"?)`.
    #[must_use]
    pub fn suggest(mut self, suggestion: Option<&str>) -> Self {
        if let Some(s) = suggestion {
            self.message = format!("{} (did you mean \"{s}\"?)", self.message);
            self.suggestion = Some(s.to_owned());
        }
        self
    }

    /// The subject of the message: the criterion, else the task, else nothing.
    #[must_use]
    pub fn subject(&self) -> Option<String> {
        match (&self.criterion, &self.task) {
            (Some(c), _) => Some(format!("criterion {c}")),
            (None, Some(t)) => Some(format!("task {t}")),
            (None, None) => None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file, self.line, self.column, self.code
        )?;
        if let Some(subject) = self.subject() {
            write!(f, "{subject}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    #[must_use]
    pub fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }

    /// Column 1 of `line`.
    #[must_use]
    pub fn line(line: usize) -> Self {
        Self { line, column: 1 }
    }
}

/// The candidate closest to `input`, if it is close enough to be what the person meant.
#[must_use]
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let (best, distance) = nearest(input, candidates)?;
    let limit = (input.chars().count() / 3).max(1);
    let close = distance <= limit || strsim::jaro_winkler(input, best) >= 0.88;
    close.then_some(best)
}

/// The candidate with the smallest edit distance to `input` (ties: the first), and that distance.
#[must_use]
pub fn nearest<'a, I>(input: &str, candidates: I) -> Option<(&'a str, usize)>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = input.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (c, strsim::damerau_levenshtein(&lower, &c.to_lowercase())))
        .min_by_key(|&(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let proofs = ["test_passes", "file_exists", "pattern_matches"];
        assert_eq!(did_you_mean("test_pass", proofs), Some("test_passes"));
        assert_eq!(did_you_mean("file_exist", proofs), Some("file_exists"));
        assert_eq!(did_you_mean("zzz", proofs), None);
    }

    #[test]
    fn display_names_file_line_column_code_and_subject() {
        let d = Diagnostic::new(
            "plans/a.md",
            Pos::new(3, 9),
            FailureCode::F1,
            Rule::UnknownProof,
            "unknown proof \"x\"",
        )
        .criterion(Some("A-1"));
        assert_eq!(
            d.to_string(),
            "plans/a.md:3:9: F1: criterion A-1: unknown proof \"x\""
        );
    }
}
