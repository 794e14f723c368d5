//! The SQLite store: the only place with SQL, and Handoff's whole memory.
//!
//! The database is the truth and memory is a cache: every decision that must
//! survive a restart (a mail queued, a UID seen, a reminder fired, a state
//! change) is a committed row before its side effect counts as done, and
//! idempotency keys make replays harmless.
//!
//! # Shape
//! [`Store`] owns one connection. Reads are plain methods. Every write runs in a
//! transaction through [`Store::transaction`], which hands the closure a [`Tx`]:
//! the same typed operations (apply a transition, enqueue a mail, record an
//! inbound message) can then be combined so that, for example, a state change
//! and the mail it causes commit together or not at all. The single-purpose
//! `Store` methods are one-operation transactions over the same `Tx` methods.
//!
//! Submodules each own a slice of the schema: [`engagements`] (lifecycle state
//! and reconciliation with the config), [`events`] (the journal), [`outbox`],
//! [`inbound`] (messages seen and watcher state) and [`kv`] (scheduler state).
//! Instants are stored as RFC 3339 UTC text with millisecond precision, which
//! sorts in time order.

pub mod engagements;
pub mod events;
pub mod inbound;
pub mod kv;
pub mod outbox;
mod schema;

pub use engagements::{
    EngagementRecord, MilestoneChange, MilestoneRecord, MilestoneRef, PlannedEngagement,
    PlannedMilestone, ReconcileReport,
};
pub use events::{Direction, EventFilter, EventRecord, NewEvent};
pub use inbound::{NewInbound, WatcherState};
pub use outbox::{Enqueued, NewOutboxMail, OutboxMail};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("schema migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what}: {source}")]
    IllegalTransition {
        what: String,
        #[source]
        source: crate::lifecycle::IllegalTransition,
    },
    #[error("the store holds an unreadable value: {what}")]
    Corrupt { what: String },
}

/// The store: one SQLite connection.
pub struct Store {
    conn: Connection,
}

/// A write transaction in progress; see the module doc.
pub struct Tx<'c> {
    pub(crate) conn: &'c Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema to
    /// the latest version.
    ///
    /// The directory is created 0700 and the file 0600: the store holds mail
    /// contents and addresses, which are nobody else's business.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            create_private_dir(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        create_private_file(path).map_err(io)?;
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A store that lives in memory only (unit tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        // WAL lets `handoff status` read while the daemon writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power
        // loss, and a lost "sent" mark means a mail sent twice, a lost "UID
        // seen" a reply recorded twice. Handoff commits a few times per mail, so
        // an fsync per commit costs nothing that matters.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A second process (the CLI beside the daemon) waits rather than fails.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrations().to_latest(&mut conn)?;
        Ok(Store { conn })
    }

    /// Runs `f` in one write transaction: all of it commits, or none of it.
    ///
    /// IMMEDIATE takes the write lock at the start, so two writers queue on
    /// `busy_timeout` instead of failing midway on a lock upgrade.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Tx { conn: &tx })?;
        tx.commit()?;
        Ok(out)
    }

    /// Read access through the same typed queries a transaction has.
    pub(crate) fn read(&self) -> Tx<'_> {
        Tx { conn: &self.conn }
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(usize::try_from(v).unwrap_or(0))
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

/// Creates the database file 0600 if it does not exist yet, so SQLite never
/// creates it with the process umask.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// An instant as stored: RFC 3339, UTC, milliseconds ("2026-11-24T09:00:00.000Z").
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a stored instant back.
pub(crate) fn parse_ts(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt {
            what: format!("{what} time {text:?}"),
        })
}

#[cfg(test)]
pub(crate) mod test_support {
    use chrono::{DateTime, Utc};

    pub fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_reopens_without_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/handoff.db");
        let store = Store::open(&path).unwrap();
        let v = store.schema_version().unwrap();
        assert_eq!(v, 1);
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), v);
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/handoff.db");
        Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let mut store = Store::open_in_memory().unwrap();
        let now = test_support::t("2026-11-24T09:00:00Z");
        let r: Result<(), StoreError> = store.transaction(|tx| {
            tx.record_event(&NewEvent::internal("test_event"), now)?;
            Err(StoreError::NotFound { what: "x".into() })
        });
        assert!(r.is_err());
        assert!(store.events(&EventFilter::default()).unwrap().is_empty());
    }
}
