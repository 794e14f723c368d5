//! What the daemon records about itself, where other processes can read it:
//! the heartbeat keys in the store's scheduler state ([`keys`]), the file
//! beside the store that holds the last pass even when the store cannot be
//! written ([`health_file`]), the lock on the store that says one is running
//! ([`lock`]), and the health report
//! `handoff status` builds from both ([`report`]), and what the sign-in task
//! records about the OAuth 2.0 sign-ins ([`signin`]).
//!
//! # Where it stands
//! Below the views and the daemon: [`crate::status`] (and the owner's page,
//! which shows the status) read the health report, and [`crate::daemon`]
//! writes the keys and holds the lock, so neither has to import the other.
//! It reads the store and asks [`crate::pass::next_wake`] when the daemon
//! will next act; it starts nothing.

pub mod health_file;
pub mod lock;
pub mod report;

pub use report::DaemonHealth;

/// Keys in the store's scheduler state (`src/store/kv.rs`) that
/// `handoff status` reads to show the daemon's health.
pub mod keys {
    /// The running (or last) daemon's pid.
    pub const PID: &str = "daemon/pid";
    /// When it started (RFC 3339, UTC, by its clock).
    pub const STARTED_AT: &str = "daemon/started_at";
    /// When it stopped; empty while it runs.
    pub const STOPPED_AT: &str = "daemon/stopped_at";
    /// When its last pass finished.
    pub const LAST_PASS_AT: &str = "daemon/last_pass_at";
    /// The last pass's error, or empty when it succeeded.
    pub const LAST_ERROR: &str = "daemon/last_error";
}

/// What the sign-in task ([`crate::daemon::signin`]) records about the
/// OAuth 2.0 sign-ins and `handoff status` reads.
pub mod signin {
    use crate::oauth::TokenSource;

    /// The store key holding "since|error" while a sign-in needs the owner.
    pub fn key(source: &TokenSource) -> String {
        format!(
            "oauth/sign_in_needed/{}",
            source.settings().token_file.display()
        )
    }

    /// The command that fixes it, for the notice, the log and `status`.
    pub fn login_command(config: &std::path::Path) -> String {
        format!("handoff login --config {}", config.display())
    }
}
