//! The process exit codes, documented in the README.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked and every check passed.
    Success,
    /// 1: a check failed (problems found, a refusal such as `init` over existing files).
    Failure,
    /// 2: a usage or internal error.
    Error,
    /// 130: stopped by Ctrl-C (SIGINT, SIGTERM or SIGHUP), as shells report it.
    Interrupted,
}

impl ExitStatus {
    #[must_use]
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Error => 2,
            Self::Interrupted => 130,
        }
    }
}
