//! The git hooks (SPEC §7): installing the shims that run `specproof hook <name>`.

pub mod install;
