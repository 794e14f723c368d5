//! One writer per store: an exclusive lock on a file next to it, held by the
//! daemon and by `handoff run --once` (which delivers too).
//!
//! `<state>.lock` (e.g. `var/handoff.db.lock`) is locked with
//! [`std::fs::File::try_lock`] (flock on Linux) for the daemon's whole life
//! and holds its pid, for the message a second daemon prints. The kernel
//! drops the lock when the process ends, however it ends, so a crash never
//! leaves a stale lock behind; the file itself stays and is reused.
//!
//! SQLite would let two daemons share the store, but both would send the
//! same due mail at the same moment (each claims a different row state only
//! after reading it) and both would watch the same inbox: one owner, one
//! daemon. A `run --once` beside the daemon would take the daemon's mails in
//! flight (`sending`) for a crash's leftovers; it refuses instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another `handoff run` (pid {pid}) is already running on the store {}; stop it first (lock file {})",
        store.display(),
        lock.display()
    )]
    Held {
        pid: String,
        store: PathBuf,
        lock: PathBuf,
    },
    #[error("cannot lock {}: {source}", lock.display())]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The lock file of a store.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Held while the daemon runs; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock for `store`, or says who holds it.
    pub fn acquire(store: &Path) -> Result<StoreLock, LockError> {
        let lock = lock_path(store);
        let io = |source| LockError::Io {
            lock: lock.clone(),
            source,
        };
        if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(io)?;
        }
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&lock).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Held {
                    pid: if pid.is_empty() { "unknown" } else { pid }.to_string(),
                    store: store.to_path_buf(),
                    lock,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Ours now: write our pid over whatever a previous run left.
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(StoreLock { _file: file })
    }
}

/// Whether a daemon holds the lock of `store` right now (for `handoff
/// status`). Asks for a shared lock and lets go at once; a daemon starting in
/// that instant retries (see [`StoreLock::acquire_patiently`]).
pub fn is_held(store: &Path) -> bool {
    let Ok(file) = File::open(lock_path(store)) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

impl StoreLock {
    /// [`StoreLock::acquire`], retried for a moment: `handoff status` takes the
    /// lock shared for a few microseconds, and a daemon starting just then must
    /// not mistake it for a second daemon.
    pub fn acquire_patiently(store: &Path) -> Result<StoreLock, LockError> {
        let mut tries = 0;
        loop {
            match StoreLock::acquire(store) {
                Err(LockError::Held { .. }) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("var/handoff.db");
        assert!(!is_held(&store));
        let first = StoreLock::acquire(&store).unwrap();
        assert!(is_held(&store));
        let err = StoreLock::acquire(&store).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("already running"), "{text}");
        drop(first);
        assert!(!is_held(&store));
        StoreLock::acquire(&store).unwrap();
    }
}
