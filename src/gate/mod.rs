//! The task lifecycle and its gates (SPEC §6), judged between two contents: HEAD and the index
//! for pre-commit, a commit's first parent and the commit for pre-push, pre-receive and audit
//! ([`replay`]). Every task file the change adds, edits or deletes gets its transition checked:
//! entering a state runs every gate up to it (G1 criteria well-formed, G2 echo verified, G3
//! proofs pass, G4 evidence persisted), and the rules of §6.2 are always enforced. Plans that
//! differ from their snapshot (F14) and touched plan or task files that do not parse are
//! rejected, and the proofs of done and complete tasks whose inputs the change touches are run
//! again (F10 regression).

pub mod cache;
mod engine;
pub mod replay;
mod rerun;
pub mod view;

use serde::Serialize;

use crate::diagnostic::FailureCode;

pub use engine::{Change, Stage, check};
pub use rerun::{CommandRunner, ExportRunner, Rerunner};

/// Which check found a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// specproof.yml of the content cannot be used.
    Config,
    /// A touched plan, snapshot or task file does not parse.
    Unreadable,
    /// A plan differs from its snapshot (F14).
    PlanDrift,
    /// A rule of §6.2 that no state change may break.
    Lifecycle,
    /// The snapshot definition changed and a task holding it is claimed in the same change.
    Tampering,
    G1,
    G2,
    G3,
    G4,
    /// A rationalization phrase in a worker report (warn mode reports it as a warning).
    Rationalization,
    /// A criterion of a done or complete task that passed fails now (F10).
    Regression,
    /// A command proof a hook may not run: the repository's commands are not trusted.
    Trust,
}

impl Check {
    /// The name people see.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Unreadable => "unreadable file",
            Self::PlanDrift => "plan drift",
            Self::Lifecycle => "lifecycle",
            Self::Tampering => "tampering",
            Self::G1 => "G1 criteria well-formed",
            Self::G2 => "G2 echo verified",
            Self::G3 => "G3 proofs pass",
            Self::G4 => "G4 evidence persisted",
            Self::Rationalization => "rationalization",
            Self::Regression => "regression",
            Self::Trust => "trust",
        }
    }
}

/// One reason to reject a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub task: Option<String>,
    /// The file the problem is in, with its line when known.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub check: Check,
    pub criterion: Option<String>,
    /// The failure code (SPEC §11); None for rules that have none (lifecycle, rationalization).
    pub code: Option<FailureCode>,
    pub reason: String,
    /// What to run or do to fix it.
    pub fix: String,
}

/// What the gates found for one change.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub problems: Vec<Problem>,
    /// Findings that do not reject (rationalization in warn mode, files left unchecked).
    pub warnings: Vec<String>,
    /// Task files whose transition was checked.
    pub tasks_checked: usize,
    /// Proofs run again for the regression check.
    pub reran: usize,
}

impl Outcome {
    #[must_use]
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}
