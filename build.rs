//! Links the specproof binary as a position-dependent executable on Linux.
//!
//! git starts specproof for every hook of every commit, so its start-up time is paid on each
//! `git commit`. A position-independent executable (the default) holds some 17,000 relocations
//! that the dynamic loader applies at every start, writing to about 80 pages; linked at a fixed
//! address it holds about 150, and a hook starts some 0.3 ms sooner (README, "What the hooks add
//! to a commit"). The code itself is unchanged (still compiled position-independent); what is
//! given up is the address randomisation of the binary's own code, which a local command-line
//! tool that reads no network input can spare. Set `SPECPROOF_PIE=1` to link it as a PIE.
fn main() {
    println!("cargo:rerun-if-env-changed=SPECPROOF_PIE");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu && std::env::var_os("SPECPROOF_PIE").is_none_or(|v| v != "1") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
