//! The command line, as clap derive types. Turned into plain values before any work starts.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::printer::ColorChoice;

/// specproof makes "done" mean "proven": it checks plans and tasks, runs the proofs of every
/// acceptance criterion and rejects commits that claim work done without fresh evidence.
#[derive(Debug, Parser)]
#[command(
    name = "specproof",
    version,
    about,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The repository to work on (any folder inside it); default: found from the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// When to colour output: auto (a terminal, and `NO_COLOR` unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write specproof.yml, an example plan and a first task; refuses to overwrite anything.
    Init,
    /// Check plans and tasks (gate 1): parse errors, bad proofs and args, duplicate IDs,
    /// unverifiable, fabricated, drifted and misplaced criteria.
    Lint(LintArgs),
    /// Print shell completions to stdout.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Plan or task files, or folders of them, to check; default: every plan and task.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `--format` of lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One `file:line:col: CODE: message` line per problem, then a summary.
    Table,
    /// The stable JSON document described in the README.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
