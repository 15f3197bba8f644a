//! Ctrl-C during `verify`: the proofs' commands run in their own process groups, so the terminal's
//! SIGINT does not reach them. specproof catches SIGINT, SIGTERM and SIGHUP, kills the running
//! commands' groups, writes no evidence for what was cut short, and exits 130.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on: they set the flag [`interrupted`] reads.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe; signal(2)
        // touches no memory of ours.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(signal, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// True once a caught signal asked specproof to stop.
#[must_use]
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
