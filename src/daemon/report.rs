//! The daemon's health as `handoff status` shows it, read from the store,
//! the lock and the health file beside the store (so it works from another
//! process, while the daemon runs or after it stopped, and shows a failing
//! pass even when the store could not be written: see
//! [`super::health_file`]).

use super::keys;
use crate::model::Model;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, Default)]
pub struct DaemonHealth {
    /// Whether a `handoff run` holds the store's lock right now.
    pub running: bool,
    /// The running (or last) daemon's pid.
    pub pid: Option<String>,
    pub started_at: Option<String>,
    /// Set when the last daemon stopped; `None` while one runs.
    pub stopped_at: Option<String>,
    pub last_pass_at: Option<String>,
    /// The last pass's error, if it failed.
    pub last_error: Option<String>,
    /// When that error happened (RFC 3339, UTC).
    pub last_error_at: Option<String>,
    /// Sent copies waiting to be filed (the IMAP Sent folder did not answer).
    pub sent_copies_waiting: u64,
    /// Mails given up for good.
    pub outbox_failed: u64,
    /// When the daemon will next act unless woken sooner (RFC 3339, UTC).
    pub next_wake: Option<String>,
}

/// Gathers the health values. Only reads.
pub fn health(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<DaemonHealth, StoreError> {
    let get = |key: &str| -> Result<Option<String>, StoreError> {
        Ok(store.scheduler_get(key)?.filter(|v| !v.is_empty()))
    };
    let pid = get(keys::PID)?;
    let mut last_pass_at = get(keys::LAST_PASS_AT)?;
    let mut last_error = get(keys::LAST_ERROR)?;
    let mut last_error_at = None;
    // The file knows what the store may not have been able to record; it is
    // the running (or last) daemon's when its pid is the one the store has,
    // or when the store could not even record the pid.
    if let Some(file) = super::health_file::read(&model.mail.state)
        && (pid.is_none() || pid.as_deref() == Some(file.pid.to_string().as_str()))
    {
        if file.last_pass_at > last_pass_at {
            last_pass_at = file.last_pass_at;
        }
        // Kept per task there: an error stays until its own task succeeds.
        last_error = file.last_error;
        last_error_at = file.last_error_at;
    }
    Ok(DaemonHealth {
        running: super::lock::is_held(&model.mail.state),
        pid,
        started_at: get(keys::STARTED_AT)?,
        stopped_at: get(keys::STOPPED_AT)?,
        last_pass_at,
        last_error,
        last_error_at,
        sent_copies_waiting: store.sent_copies_waiting()?,
        outbox_failed: store.outbox_failed()?,
        next_wake: crate::pass::next_wake(model, store, now)?.map(crate::store::ts),
    })
}

/// The lines `handoff status` prints about the daemon.
pub fn render(h: &DaemonHealth) -> String {
    let mut out = String::new();
    let pid = h.pid.as_deref().unwrap_or("?");
    if h.running {
        out += &format!(
            "daemon: running (pid {pid}, since {})\n",
            h.started_at.as_deref().unwrap_or("?")
        );
    } else if let Some(at) = &h.stopped_at {
        out += &format!("daemon: not running (last stopped {at})\n");
    } else if h.started_at.is_some() {
        out += &format!("daemon: not running (pid {pid} ended without a clean stop)\n");
    } else {
        out += "daemon: not running\n";
    }
    if let Some(at) = &h.last_pass_at {
        out += &format!("  last pass: {at}");
        match (&h.last_error, &h.last_error_at) {
            (Some(e), Some(at)) => out += &format!(" (failed at {at}: {e})"),
            (Some(e), None) => out += &format!(" (failed: {e})"),
            _ => {}
        }
        out += "\n";
    }
    if h.sent_copies_waiting > 0 {
        out += &format!(
            "  Sent copies waiting to be filed: {} (the IMAP Sent folder did not answer)\n",
            h.sent_copies_waiting
        );
    }
    out += &format!(
        "  failed mails: {}; next wake: {}\n",
        h.outbox_failed,
        h.next_wake.as_deref().unwrap_or("nothing scheduled")
    );
    out
}
