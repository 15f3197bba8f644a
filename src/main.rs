use std::process::ExitCode;

use clap::Parser;
use specproof::app::{self, Env};
use specproof::cli::Cli;
use specproof::exit::ExitStatus;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = Cli::hook_command(&args).unwrap_or_else(|| Cli::parse_from(args));
    let result = Env::from_process().and_then(|env| app::run(cli, &env));
    let status = match result {
        Ok(status) => status,
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitStatus::Error
        }
    };
    ExitCode::from(u8::try_from(status.code()).unwrap_or(2))
}

/// A reader that stopped reading (`specproof lint | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
