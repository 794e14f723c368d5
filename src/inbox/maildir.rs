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
        if let Err(e) = create_private_dir(dir) {
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
    let mut rest = &names[..];
    while !rest.is_empty() {
        // A batch ends at BATCH mails or once it holds BATCH_BYTES, so a
        // folder of huge mails is never all in memory at once.
        let mut batch = Vec::new();
        let mut paths = Vec::new();
        let mut bytes = 0;
        while let Some((name, tail)) = rest.split_first() {
            if batch.len() >= BATCH || (bytes >= BATCH_BYTES && !batch.is_empty()) {
                break;
            }
            rest = tail;
            let path = new.join(name);
            match read_mail(&path) {
                Ok(raw) => {
                    bytes += raw.len();
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
                        truncated: false,
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

/// Creates a directory (and its parents) 0700: the inbox holds the
/// contractors' mail, which is no one else's business on the machine.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Mails recorded per transaction.
const BATCH: usize = 500;

/// Bytes of mail read into memory per transaction (more only when a single
/// mail is larger).
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Reads a mail file, but never more than one byte past
/// [`MAX_MAIL_BYTES`](super::parse::MAX_MAIL_BYTES): a larger file comes back
/// just over the limit, which the pipeline records as `too_large` without
/// parsing it, so a 5 GB file costs 25 MB of memory, not 5 GB.
pub fn read_mail(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let limit = super::parse::MAX_MAIL_BYTES as u64 + 1;
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut raw = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    file.take(limit).read_to_end(&mut raw)?;
    Ok(raw)
}
