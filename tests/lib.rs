//! One integration test binary: every module drives the real `specproof` binary in temporary
//! git repositories.

mod common;

mod audit;
mod bar;
mod cli;
mod commit_line;
mod converge;
mod demo;
mod framework;
mod hooks;
mod init;
mod install;
mod lint;
mod matrix;
mod metrics;
mod props;
mod review;
mod server;
mod shard;
mod snapshot;
mod start;
mod task_new;
mod templates;
mod verify;
mod verify_proofs;
