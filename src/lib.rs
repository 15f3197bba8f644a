//! specproof makes "done" mean "proven".
//!
//! The library holds everything; `main.rs` only parses arguments, calls [`app::run`] and maps
//! the result to an exit code.

pub mod app;
pub mod audit;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod content;
pub mod converge;
pub mod criterion;
pub mod demo;
pub mod diagnostic;
pub mod digest;
pub mod echo;
pub mod evidence;
pub mod exit;
pub mod gate;
pub mod hooks;
pub mod init;
pub mod interrupt;
pub mod lint;
pub mod markdown;
pub mod message;
pub mod metrics;
pub mod paths;
pub mod plan;
pub mod printer;
pub mod proof;
pub mod rationalize;
pub mod repo;
pub mod report;
pub mod review;
pub mod snapshot;
pub mod start;
pub mod state;
pub mod task;
pub mod task_edit;
pub mod task_new;
#[cfg(test)]
mod testutil;
pub mod trust;
pub mod verify;
pub mod workspace;
pub mod yaml;
