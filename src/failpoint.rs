//! Failpoints: named places where a test can make the process die, to prove
//! that a crash there loses nothing and duplicates nothing.
//!
//! Set `HANDOFF_FAILPOINT=<name>` and the process aborts (no unwinding, no
//! destructors: as close to `kill -9` as a process can do to itself) the first
//! time it reaches that point. Unset, a failpoint costs one environment lookup.
//!
//! A [`stall`] point instead never returns when `HANDOFF_FAILPOINT=<name>:stall`:
//! the task awaiting it is stuck while the rest of the process runs, which is
//! what the watchdog test needs to show that a stuck task stops the pings.
//!
//! It imports no other module of Handoff.

/// Aborts the process if `HANDOFF_FAILPOINT` names this point.
pub fn hit(name: &str) {
    if std::env::var("HANDOFF_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("handoff: failpoint {name} reached: aborting");
        std::process::abort();
    }
}

/// Never returns if `HANDOFF_FAILPOINT` is `<name>:stall`: the awaiting task
/// hangs, the runtime goes on.
pub async fn stall(name: &str) {
    if std::env::var("HANDOFF_FAILPOINT").is_ok_and(|v| v.strip_suffix(":stall") == Some(name)) {
        eprintln!("handoff: failpoint {name} reached: stalling");
        std::future::pending::<()>().await;
    }
}
