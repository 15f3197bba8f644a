//! Running proofs. One file per family: `command.rs` runs command proofs.

pub mod command;
pub mod files;
pub mod git;
pub mod judge;
pub mod outcome;
pub mod summary;
