//! The local-mode mailbox: replies dropped into `<maildir>/inbox/new` are run
//! through the pipeline and moved to `cur/`, as a mail reader marks mail seen.
//!
//! Crash safety: a mail is recorded (committed) before it is moved. A crash in
//! between leaves it in `new/`; the next scan sees its Message-ID again and
//! only moves it. A file that cannot be read stays in `new/` for the next scan.

use super::{Inbox, InboxError, Outcome, Source};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::path::Path;

/// The account name local-mode mail is recorded under.
pub const ACCOUNT: &str = "maildir";

/// Processes every mail in `<root>/new`, oldest name first; returns the
/// outcomes in that order.
pub fn scan(
    inbox: &Inbox<'_>,
    store: &mut Store,
    root: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>, InboxError> {
    let new = root.join("new");
    let cur = root.join("cur");
    for dir in [&new, &cur, &root.join("tmp")] {
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot create the local inbox");
            return Ok(Vec::new());
        }
    }
    let mut names: Vec<_> = match std::fs::read_dir(&new) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name())
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %new.display(), error = %e, "cannot read the local inbox");
            return Ok(Vec::new());
        }
    };
    names.sort();
    let mut outcomes = Vec::new();
    for name in names {
        let path = new.join(&name);
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read a mail; leaving it for the next scan");
                continue;
            }
        };
        let uid = store.transaction(|tx| tx.next_local_uid(ACCOUNT))?;
        let source = Source {
            account: ACCOUNT.to_string(),
            uid_validity: 0,
            uid,
        };
        outcomes.push(inbox.ingest(store, &raw, &source, now, false)?);
        // Maildir's "seen" flag (":2,S") marks it read, as a mail reader would.
        let seen = cur.join(format!("{}:2,S", name.to_string_lossy()));
        if let Err(e) = std::fs::rename(&path, &seen) {
            tracing::warn!(file = %path.display(), error = %e, "recorded, but cannot move it to cur/");
        }
    }
    Ok(outcomes)
}
