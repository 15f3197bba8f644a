//! `specproof.yml` (SPEC §1). Every key has a default, so a repository without the file works.
//! Unknown keys are errors naming the key and the nearest known one.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml::Value;

use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule, did_you_mean, nearest};
use crate::markdown;
use crate::paths;
use crate::rationalize;
use crate::yaml;

/// The config file's name at the repository root.
pub const FILE: &str = "specproof.yml";

/// How a rationalization phrase is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    Warn,
    Block,
}

/// Which proofs a hook re-runs for touched criteria of done and complete tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rerun {
    None,
    FileProofs,
    All,
}

/// A size in bytes, written as a number or with a unit (`8MiB`, `512KB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `8MiB`, `8 MB`, `1024`, `2GiB`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let number: u64 = digits.parse().ok()?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "kib" | "k" => 1 << 10,
            "mb" => 1_000_000,
            "mib" | "m" => 1 << 20,
            "gb" => 1_000_000_000,
            "gib" | "g" => 1 << 30,
            _ => return None,
        };
        number.checked_mul(factor).map(Self)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Number(n) => n.as_u64().map(Self),
            Value::String(s) => Self::parse(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom("expected a size such as 8MiB, 512KB or a number of bytes")
        })
    }
}

/// `rationalization:` settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rationalization {
    /// Phrases in commit messages (commit-msg hook): off, warn or block.
    pub commit_msg: Mode,
    /// Phrases in a task's Self-Review and Status Update when it enters done: off, warn or block.
    pub worker_report: Mode,
    /// More phrases, added to the built-in ones (`specproof::rationalize::DEFAULT_PHRASES`):
    /// literal text, matched as whole words in any case.
    pub phrases: Vec<String>,
}

impl Default for Rationalization {
    fn default() -> Self {
        Self {
            commit_msg: Mode::Warn,
            worker_report: Mode::Block,
            phrases: Vec::new(),
        }
    }
}

/// `echo:` settings (gate G2).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Echo {
    /// An echo line more similar than this (0 to 1) to its criterion's description is parroting (F13).
    pub parrot_similarity: f64,
}

impl Default for Echo {
    fn default() -> Self {
        Self {
            parrot_similarity: 0.9,
        }
    }
}

/// `judge:` settings (`semantic_match`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Judge {
    /// The judge command; null means no judge (`semantic_match` is inconclusive).
    pub command: Option<String>,
    /// Verdicts with a lower confidence (0 to 1) are inconclusive (F4).
    pub min_confidence: f64,
}

impl Default for Judge {
    fn default() -> Self {
        Self {
            command: None,
            min_confidence: 0.7,
        }
    }
}

/// `on_commit:` / `on_push:` settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookRerun {
    /// Proofs re-run for touched criteria of done and complete tasks: none, file-proofs or all.
    pub rerun: Rerun,
}

impl Default for HookRerun {
    fn default() -> Self {
        Self {
            rerun: Rerun::FileProofs,
        }
    }
}

/// `convergence:` settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Convergence {
    /// Iterations before convergence escalates (F15).
    pub max_iterations: u32,
    /// Minutes since the first iteration before convergence escalates (F15).
    pub max_wall_clock_min: u64,
}

impl Default for Convergence {
    fn default() -> Self {
        Self {
            max_iterations: 3,
            max_wall_clock_min: 60,
        }
    }
}

/// The whole of `specproof.yml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Globs of plan files.
    pub plans: Vec<String>,
    /// Folder of task files.
    pub tasks_dir: String,
    /// Folder of evidence files (written by specproof only).
    pub evidence_dir: String,
    /// Globs never part of an input digest (plan files are excluded too).
    pub digest_exclude: Vec<String>,
    /// Larger files are skipped by pattern proofs, with a note.
    pub max_file_size: ByteSize,
    /// Seconds; the default timeout of command proofs.
    pub command_timeout: u64,
    /// Parallel proofs; 0 means the number of CPUs.
    pub jobs: usize,
    pub rationalization: Rationalization,
    pub echo: Echo,
    pub judge: Judge,
    pub on_commit: HookRerun,
    pub on_push: HookRerun,
    pub convergence: Convergence,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            plans: vec!["plans/**/*.md".to_owned()],
            tasks_dir: ".specproof/tasks".to_owned(),
            evidence_dir: ".specproof/evidence".to_owned(),
            digest_exclude: vec![".specproof/**".to_owned()],
            max_file_size: ByteSize(8 << 20),
            command_timeout: 600,
            jobs: 0,
            rationalization: Rationalization::default(),
            echo: Echo::default(),
            judge: Judge::default(),
            on_commit: HookRerun::default(),
            on_push: HookRerun::default(),
            convergence: Convergence::default(),
        }
    }
}

/// The keys of every level of the file.
const TOP: [&str; 13] = [
    "plans",
    "tasks_dir",
    "evidence_dir",
    "digest_exclude",
    "max_file_size",
    "command_timeout",
    "jobs",
    "rationalization",
    "echo",
    "judge",
    "on_commit",
    "on_push",
    "convergence",
];

fn nested(key: &str) -> Option<&'static [&'static str]> {
    Some(match key {
        "rationalization" => &["commit_msg", "worker_report", "phrases"],
        "echo" => &["parrot_similarity"],
        "judge" => &["command", "min_confidence"],
        "on_commit" | "on_push" => &["rerun"],
        "convergence" => &["max_iterations", "max_wall_clock_min"],
        _ => return None,
    })
}

impl Config {
    /// Reads `specproof.yml` at `root`; defaults when there is none.
    ///
    /// # Errors
    /// Every problem found, as diagnostics naming the file, line and key.
    pub fn load(root: &Path) -> Result<Self, Vec<Diagnostic>> {
        let path = root.join(FILE);
        if path.metadata().is_ok_and(|m| !m.is_file()) {
            return Err(vec![Diagnostic::new(
                FILE,
                Pos::line(1),
                FailureCode::F8,
                Rule::Unreadable,
                format!("{FILE} is not a regular file: replace it with one"),
            )]);
        }
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes, Some(root)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(vec![Diagnostic::new(
                FILE,
                Pos::line(1),
                FailureCode::F8,
                Rule::Unreadable,
                format!("cannot read: {e}"),
            )]),
        }
    }

    /// Parses the bytes of a config file.
    ///
    /// # Errors
    /// Every problem found, as diagnostics naming the file, line and key.
    pub fn parse(bytes: &[u8], root: Option<&Path>) -> Result<Self, Vec<Diagnostic>> {
        let src = markdown::decode(FILE, bytes).map_err(|d| vec![*d])?;
        let value = yaml::parse(src, 1).map_err(|e| {
            vec![Diagnostic::new(
                FILE,
                e.pos,
                FailureCode::F8,
                Rule::ParseError,
                e.message,
            )]
        })?;
        if value.is_null() {
            return Ok(Self::default());
        }
        let lines: Vec<&str> = src.split('\n').collect();
        let at = |key: &str| yaml::find_key(&lines, 1, 0, lines.len(), key).unwrap_or(Pos::line(1));
        let mut problems = Vec::new();
        let Value::Mapping(map) = &value else {
            return Err(vec![Diagnostic::new(
                FILE,
                Pos::line(1),
                FailureCode::F8,
                Rule::ParseError,
                format!(
                    "{FILE} must be a mapping of keys (plans: …), found {}",
                    yaml::kind(&value)
                ),
            )]);
        };
        for (key, inner) in map {
            let key = yaml::scalar_text(key).unwrap_or_default();
            if !TOP.contains(&key.as_str()) {
                problems.push(unknown_key(&key, "", &TOP, at(&key)));
            } else if key == "max_file_size" && !matches!(inner, Value::Number(_)) {
                // Checked here, where its place is known: serde's error for it carries none.
                let text = yaml::scalar_text(inner).unwrap_or_default();
                if ByteSize::parse(&text).is_none() {
                    problems.push(
                        Diagnostic::new(
                            FILE,
                            at(&key),
                            FailureCode::F8,
                            Rule::InvalidValue,
                            format!("invalid value of `max_file_size`: {text:?} is not a size such as 8MiB, 512KB or a number of bytes"),
                        )
                        .field("max_file_size"),
                    );
                }
            } else if let (Some(known), Value::Mapping(inner)) = (nested(&key), inner) {
                for sub in inner.keys() {
                    let sub = yaml::scalar_text(sub).unwrap_or_default();
                    if !known.contains(&sub.as_str()) {
                        problems.push(unknown_key(&sub, &format!("{key}."), known, at(&sub)));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let config: Self = serde_yaml::from_str(src).map_err(|e| {
            let pos = e
                .location()
                .map_or(Pos::line(1), |l| Pos::new(l.line(), l.column().max(1)));
            let text = e.to_string();
            let text = yaml::strip_locations(&text);
            // Name the key written on the failing line when serde's message does not; an error
            // without a place names no key rather than a wrong one.
            let key = e
                .location()
                .and_then(|_| lines.get(pos.line.saturating_sub(1)))
                .and_then(|l| l.split(':').next())
                .map(|k| {
                    k.trim()
                        .trim_start_matches("- ")
                        .trim_matches(['"', '\''])
                        .to_owned()
                })
                .filter(|k| !k.is_empty() && !k.contains(' '))
                .unwrap_or_default();
            let text = humanize(&text);
            let message = if key.is_empty() {
                format!("invalid value: {text}")
            } else {
                // serde_yaml starts with the key path ("echo.parrot_similarity: …"): keep the rest.
                let path_prefix = text
                    .split_once(": ")
                    .filter(|(p, _)| p.ends_with(key.as_str()) && !p.contains(' '));
                let rest = path_prefix.map_or(text.as_str(), |(_, rest)| rest);
                format!("invalid value of `{key}`: {rest}")
            };
            let diagnostic =
                Diagnostic::new(FILE, pos, FailureCode::F8, Rule::InvalidValue, message);
            vec![if key.is_empty() {
                diagnostic
            } else {
                diagnostic.field(&key)
            }]
        })?;
        config.validate(root, &at)
    }

    /// What can be kept of a config that has problems: `plans` and `tasks_dir` when they are
    /// readable and safe, so that the right files are still checked; defaults for the rest.
    #[must_use]
    pub fn salvage(root: &Path) -> Self {
        let mut config = Self::default();
        let path = root.join(FILE);
        if !path.is_file() {
            return config;
        }
        let Ok(bytes) = std::fs::read(path) else {
            return config;
        };
        let Ok(Value::Mapping(map)) = serde_yaml::from_slice::<Value>(&bytes) else {
            return config;
        };
        if let Some(Value::Sequence(globs)) = map.get("plans") {
            let globs: Option<Vec<String>> = globs
                .iter()
                .map(|g| g.as_str().map(str::to_owned))
                .collect();
            if let Some(globs) =
                globs.filter(|g| g.iter().all(|g| paths::check(Some(root), g).is_ok()))
            {
                config.plans = globs;
            }
        }
        if let Some(dir) = map.get("tasks_dir").and_then(Value::as_str)
            && paths::check(Some(root), dir).is_ok()
        {
            dir.clone_into(&mut config.tasks_dir);
        }
        config
    }

    fn validate(
        self,
        root: Option<&Path>,
        at: &dyn Fn(&str) -> Pos,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(
                Diagnostic::new(FILE, at(key), FailureCode::F8, Rule::InvalidValue, message)
                    .field(key),
            );
        };
        for (key, value) in [
            ("echo.parrot_similarity", self.echo.parrot_similarity),
            ("judge.min_confidence", self.judge.min_confidence),
        ] {
            if !(0.0..=1.0).contains(&value) {
                bad(
                    key.rsplit('.').next().unwrap_or(key),
                    format!("`{key}` must be between 0 and 1, found {value}"),
                );
            }
        }
        let mut phrases_ok = true;
        for (i, phrase) in self.rationalization.phrases.iter().enumerate() {
            if let Some(problem) = rationalize::phrase_problem(phrase) {
                phrases_ok = false;
                bad(
                    "phrases",
                    format!(
                        "`rationalization.phrases` entry {} {problem}: remove it or write the phrase",
                        i + 1
                    ),
                );
            }
        }
        // The corpus is compiled once here too, so that a hook never meets a corpus that fails.
        if phrases_ok
            && !self.rationalization.phrases.is_empty()
            && let Err(problem) = rationalize::Corpus::new(&self.rationalization.phrases)
        {
            bad("phrases", format!("`rationalization.phrases`: {problem}"));
        }
        if self.command_timeout == 0 {
            bad(
                "command_timeout",
                "`command_timeout` must be at least 1 second".into(),
            );
        }
        if self.convergence.max_iterations == 0 {
            bad(
                "max_iterations",
                "`convergence.max_iterations` must be at least 1".into(),
            );
        }
        if self.convergence.max_wall_clock_min == 0 {
            bad(
                "max_wall_clock_min",
                "`convergence.max_wall_clock_min` must be at least 1".into(),
            );
        }
        for (key, path) in [
            ("tasks_dir", &self.tasks_dir),
            ("evidence_dir", &self.evidence_dir),
        ] {
            if let Err(p) = paths::check(root, path) {
                bad(key, format!("`{key}` \"{path}\" {p}"));
            } else if paths::normalize(path).is_empty() {
                bad(
                    key,
                    format!("`{key}` must be a folder below the repository root, not \"{path}\""),
                );
            }
        }
        for (key, globs) in [
            ("plans", &self.plans),
            ("digest_exclude", &self.digest_exclude),
        ] {
            for glob in globs {
                if let Err(p) = paths::check(root, glob) {
                    bad(key, format!("`{key}` entry \"{glob}\" {p}"));
                } else if let Err(e) = globset::GlobBuilder::new(glob)
                    .literal_separator(true)
                    .build()
                {
                    bad(
                        key,
                        format!("`{key}` entry \"{glob}\" is not a valid glob: {}", e.kind()),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }
}

/// serde's Rust type names in words a user knows.
fn humanize(text: &str) -> String {
    static STRUCT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"struct \w+").expect("struct regex is valid")
    });
    let text = STRUCT.replace_all(text, "a mapping");
    let mut text = text.into_owned();
    for (rust, plain) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("a sequence", "a list"),
        ("expected a string", "expected text"),
    ] {
        text = text.replace(rust, plain);
    }
    text
}

fn unknown_key(key: &str, prefix: &str, known: &[&str], pos: Pos) -> Diagnostic {
    let hint = did_you_mean(key, known.iter().copied());
    let mut message = format!("unknown key \"{prefix}{key}\"");
    if hint.is_none()
        && let Some((closest, _)) = nearest(key, known.iter().copied())
    {
        message = format!(
            "{message} (the nearest known key is \"{prefix}{closest}\"; known keys: {})",
            known.join(", ")
        );
    }
    Diagnostic::new(FILE, pos, FailureCode::F8, Rule::UnknownField, message)
        .field(&format!("{prefix}{key}"))
        .suggest(hint.map(|h| format!("{prefix}{h}")).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_and_empty_file_give_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Config::load(dir.path()), Ok(Config::default()));
        assert_eq!(Config::parse(b"", None), Ok(Config::default()));
        assert_eq!(Config::default().max_file_size, ByteSize(8 * 1024 * 1024));
    }

    #[test]
    fn every_key_is_read() {
        let src = "plans: [\"specs/*.md\"]\ntasks_dir: work\nevidence_dir: ev\ndigest_exclude: []\nmax_file_size: 1MiB\n\
                   command_timeout: 5\njobs: 2\nrationalization: { commit_msg: block, worker_report: off }\necho: { parrot_similarity: 0.8 }\n\
                   judge: { command: ./judge, min_confidence: 0.5 }\non_commit: { rerun: all }\non_push: { rerun: none }\n\
                   convergence: { max_iterations: 4, max_wall_clock_min: 9 }\n";
        let c = Config::parse(src.as_bytes(), None).expect("valid");
        assert_eq!(c.plans, vec!["specs/*.md"]);
        assert_eq!(c.max_file_size, ByteSize(1 << 20));
        assert_eq!(c.rationalization.commit_msg, Mode::Block);
        assert!(c.rationalization.phrases.is_empty());
        assert_eq!(c.judge.command.as_deref(), Some("./judge"));
        assert_eq!(c.on_commit.rerun, Rerun::All);
        assert_eq!(c.on_push.rerun, Rerun::None);
        assert_eq!(c.convergence.max_wall_clock_min, 9);
        let c = Config::parse(
            b"rationalization:\n  phrases:\n    - ship it\n    - LGTM\n",
            None,
        )
        .expect("valid");
        assert_eq!(c.rationalization.phrases, ["ship it", "LGTM"]);
        assert_eq!(c.rationalization.worker_report, Mode::Block);
    }

    #[test]
    fn unknown_keys_name_the_nearest_known_key() {
        let errs = Config::parse(b"jobs: 1\nplan: [x]\n", None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "specproof.yml:2:1: F8: unknown key \"plan\" (did you mean \"plans\"?)"
        );
        let errs = Config::parse(b"echo:\n  parrot_similarty: 0.5\n", None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "specproof.yml:2:3: F8: unknown key \"echo.parrot_similarty\" (did you mean \"echo.parrot_similarity\"?)"
        );
        let errs = Config::parse(b"rationalization: { phrase: [x] }\n", None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "specproof.yml:1:20: F8: unknown key \"rationalization.phrase\" (did you mean \"rationalization.phrases\"?)"
        );
        let errs = Config::parse(b"zzzzzzzzzzzz: 1\n", None).unwrap_err();
        assert!(
            errs[0].message.contains("the nearest known key is"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn messages_name_the_key_in_plain_words() {
        let errs =
            Config::parse(b"plans: [\"specs/*.md\"]\nmax_file_size: 10XB\n", None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "specproof.yml:2:1: F8: invalid value of `max_file_size`: \"10XB\" is not a size such as 8MiB, 512KB or a number of bytes"
        );
        let errs = Config::parse(b"jobs: many\n", None).unwrap_err();
        assert_eq!(
            errs[0].message,
            "invalid value of `jobs`: invalid type: string \"many\", expected a whole number"
        );
        let errs = Config::parse(b"echo: 3\n", None).unwrap_err();
        assert!(
            errs[0].message.contains("expected a mapping"),
            "{}",
            errs[0].message
        );
        assert!(!errs[0].message.contains("struct"), "{}", errs[0].message);
        for huge in [
            "jobs: 99999999999999999999999999\n",
            "jobs: -99999999999999999999999999\n",
            "jobs: 1e99\n",
        ] {
            let errs = Config::parse(huge.as_bytes(), None).unwrap_err();
            assert_eq!(errs[0].line, 1);
            assert!(
                !errs[0].message.contains("128"),
                "no Rust integer types: {}",
                errs[0].message
            );
        }
        let errs = Config::parse(b"tasks_dir: .\n", None).unwrap_err();
        assert!(
            errs[0]
                .message
                .contains("must be a folder below the repository root"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn bad_values_are_placed() {
        let errs = Config::parse(b"jobs: 1\necho: { parrot_similarity: 3 }\n", None).unwrap_err();
        assert_eq!(errs[0].line, 2);
        let errs = Config::parse(b"jobs: many\n", None).unwrap_err();
        assert_eq!(errs[0].line, 1);
        assert!(errs[0].message.contains("jobs"), "{}", errs[0].message);
        let errs = Config::parse(
            b"jobs: 1\nrationalization:\n  commit_msg: block\n  phrases: [\"ship it\", \" \"]\n",
            None,
        )
        .unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "specproof.yml:4:3: F8: `rationalization.phrases` entry 2 is empty: remove it or write the phrase"
        );
        assert_eq!(errs[0].field.as_deref(), Some("phrases"));
        let errs = Config::parse(b"rationalization: { phrases: [\"\"] }\n", None).unwrap_err();
        assert_eq!((errs[0].line, errs[0].column), (1, 20));
        let errs = Config::parse(b"tasks_dir: ../elsewhere\n", None).unwrap_err();
        assert!(errs[0].message.contains("escapes"), "{}", errs[0].message);
        assert!(Config::parse(b"max_file_size: 3 parsecs\n", None).is_err());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(ByteSize::parse("8MiB"), Some(ByteSize(8 << 20)));
        assert_eq!(ByteSize::parse("512 KB"), Some(ByteSize(512_000)));
        assert_eq!(ByteSize::parse("12"), Some(ByteSize(12)));
        assert_eq!(ByteSize::parse("x"), None);
        assert_eq!(ByteSize::parse("99999999999999999999GiB"), None);
    }
}
