//! The daemon's last pass and last error, kept beside the store in
//! `<state>.health`, so `handoff status` tells the truth when the store
//! itself cannot be written: a full disk, a store locked by another
//! program, a database error. The store's own keys (`daemon/last_error`)
//! are written too, but those writes fail in exactly these cases.
//!
//! The file is a small JSON object padded with spaces to a fixed size. Its
//! space is written out when the daemon starts and every later record
//! overwrites it in place, so recording needs no new disk block: it works on
//! a disk that has since filled up. The daemon also keeps the record in
//! memory and writes it after every pass; a write that fails is logged.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's fixed size: room for a long error message.
const SIZE: usize = 4096;

/// What the file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PassRecord {
    pub pid: u32,
    /// When the last pass (of the work loop or the delivery) ended.
    pub last_pass_at: Option<String>,
    /// The last failure, while it lasts: cleared when that task next
    /// succeeds.
    pub last_error: Option<String>,
    /// When that failure happened.
    pub last_error_at: Option<String>,
    /// Which task failed ("work", "deliver").
    pub failed_task: Option<String>,
}

/// The file of a store.
pub fn path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".health");
    PathBuf::from(name)
}

/// The daemon's writer: the record in memory and its file.
#[derive(Debug)]
pub struct HealthFile {
    file: File,
    path: PathBuf,
    record: PassRecord,
}

impl HealthFile {
    /// Creates (0600) or reuses the file and writes out its whole space.
    pub fn open(store: &Path) -> std::io::Result<HealthFile> {
        let path = path(store);
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path)?;
        let mut me = HealthFile {
            file,
            path,
            record: PassRecord {
                pid: std::process::id(),
                ..PassRecord::default()
            },
        };
        me.write()?;
        // The blocks are allocated and on disk before they are needed.
        me.file.sync_all()?;
        Ok(me)
    }

    /// A pass of `task` ended at `at` (RFC 3339), with `error` if it failed.
    pub fn record(&mut self, task: &str, at: &str, error: Option<&str>) {
        self.record.last_pass_at = Some(at.to_string());
        match error {
            Some(e) => {
                self.record.last_error = Some(e.to_string());
                self.record.last_error_at = Some(at.to_string());
                self.record.failed_task = Some(task.to_string());
            }
            None if self.record.failed_task.as_deref() == Some(task) => {
                self.record.last_error = None;
                self.record.last_error_at = None;
                self.record.failed_task = None;
            }
            None => {}
        }
        if let Err(e) = self.write() {
            tracing::warn!(file = %self.path.display(), error = %e, "cannot record the daemon's health");
        }
    }

    /// Overwrites the file's bytes in place, always all [`SIZE`] of them.
    fn write(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut record = self.record.clone();
        let mut text = serde_json::to_string(&record).unwrap_or_default();
        if text.len() >= SIZE {
            // Only an enormous error message gets here: cut it to fit.
            let room = SIZE.saturating_sub(
                text.len() - record.last_error.as_ref().map_or(0, String::len) + 64,
            );
            if let Some(e) = record.last_error.as_mut() {
                let cut = (0..=room.min(e.len()))
                    .rev()
                    .find(|i| e.is_char_boundary(*i))
                    .unwrap_or(0);
                e.truncate(cut);
                e.push('…');
            }
            text = serde_json::to_string(&record).unwrap_or_default();
        }
        let mut bytes = vec![b' '; SIZE];
        let n = text.len().min(SIZE - 1);
        bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
        bytes[SIZE - 1] = b'\n';
        self.file.write_all_at(&bytes, 0)?;
        self.file.flush()
    }
}

/// The daemon's tasks' shared writer; a no-op when the file could not be
/// opened at start (the reason was logged then).
#[derive(Debug, Clone, Default)]
pub struct PassLog(std::sync::Arc<std::sync::Mutex<Option<HealthFile>>>);

impl PassLog {
    pub fn new(file: Option<HealthFile>) -> PassLog {
        PassLog(std::sync::Arc::new(std::sync::Mutex::new(file)))
    }

    /// See [`HealthFile::record`].
    pub fn record(&self, task: &str, at: chrono::DateTime<chrono::Utc>, error: Option<&str>) {
        // A poisoned lock only means a panic while holding a plain value.
        let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = file.as_mut() {
            f.record(task, &crate::store::ts(at), error);
        }
    }
}

/// The record in the file beside `store`, if there is a readable one.
pub fn read(store: &Path) -> Option<PassRecord> {
    let text = std::fs::read_to_string(path(store)).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_stays_until_its_task_succeeds_and_the_file_keeps_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("handoff.db");
        let mut h = HealthFile::open(&store).unwrap();
        assert_eq!(std::fs::metadata(path(&store)).unwrap().len(), SIZE as u64);
        h.record(
            "work",
            "2026-11-24T09:00:00.000Z",
            Some("database is locked"),
        );
        h.record("deliver", "2026-11-24T09:00:01.000Z", None);
        let r = read(&store).unwrap();
        assert_eq!(r.last_error.as_deref(), Some("database is locked"));
        assert_eq!(r.last_error_at.as_deref(), Some("2026-11-24T09:00:00.000Z"));
        assert_eq!(r.last_pass_at.as_deref(), Some("2026-11-24T09:00:01.000Z"));
        h.record("work", "2026-11-24T09:00:05.000Z", None);
        assert_eq!(read(&store).unwrap().last_error, None);
        h.record(
            "work",
            "2026-11-24T09:00:06.000Z",
            Some(&"x".repeat(10_000)),
        );
        let r = read(&store).unwrap();
        assert!(r.last_error.unwrap().ends_with('…'));
        assert_eq!(std::fs::metadata(path(&store)).unwrap().len(), SIZE as u64);
    }
}
