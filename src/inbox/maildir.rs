//! The local-mode mailbox: replies dropped into `<maildir>/inbox/new` are run
//! through the pipeline and moved to `cur/`, as a mail reader marks mail seen.
//!
//! Crash safety: a batch of mails is recorded (committed) before any of it is
//! moved. A crash in between leaves them in `new/`; the next scan sees their
//! Message-IDs again and only moves them. A file that cannot be read stays in `new/` for the next scan.

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
    for chunk in names.chunks(BATCH) {
        let mut batch = Vec::with_capacity(chunk.len());
        let mut paths = Vec::with_capacity(chunk.len());
        for name in chunk {
            let path = new.join(name);
            match std::fs::read(&path) {
                Ok(raw) => {
                    paths.push((path, name));
                    batch.push(raw);
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read a mail; leaving it for the next scan");
                }
            }
        }
        // Local UIDs count on from the highest recorded, read in the batch's
        // transaction: a batch that does not commit takes none.
        let done = store.batch(|store| -> Result<_, InboxError> {
            let first = store.transaction(|tx| tx.next_local_uid(ACCOUNT))?;
            let mails: Vec<(Source, Vec<u8>)> = batch
                .into_iter()
                .zip(first..)
                .map(|(raw, uid)| {
                    let source = Source {
                        account: ACCOUNT.to_string(),
                        uid_validity: 0,
                        uid,
                    };
                    (source, raw)
                })
                .collect();
            inbox.ingest_batch(store, &mails, now)
        })?;
        outcomes.extend(done);
        // Only after the commit: Maildir's "seen" flag (":2,S") marks each
        // read, as a mail reader would.
        for (path, name) in paths {
            let seen = cur.join(format!("{}:2,S", name.to_string_lossy()));
            if let Err(e) = std::fs::rename(&path, &seen) {
                tracing::warn!(file = %path.display(), error = %e, "recorded, but cannot move it to cur/");
            }
        }
    }
    Ok(outcomes)
}

/// Mails recorded per transaction.
const BATCH: usize = 500;
