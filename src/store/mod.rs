//! The SQLite store: the only place with SQL, and Handoff's whole memory.
//!
//! The database is the truth and memory is a cache: every decision that must
//! survive a restart (a mail queued, a UID seen, a reminder fired, a state
//! change) is a committed row before its side effect counts as done, and
//! idempotency keys make replays harmless.
//!
//! # Shape
//! [`Store`] owns one connection; every typed operation is a method on [`Tx`],
//! a borrowed view of that connection. [`Store::transaction`] runs a closure
//! over a `Tx` inside one write transaction, so operations compose: a state
//! change and the mail it causes commit together or not at all.
//!
//! ```ignore
//! store.transaction(|tx| {
//!     tx.apply_milestone("website", "wireframes", MilestoneEvent::InstructionsSent, now)?;
//!     tx.enqueue(&instructions_mail, now)?;
//!     Ok(())
//! })?;
//! ```
//!
//! For the common one-operation case `Store` has the same methods as
//! shorthands. Their receivers follow one rule: a write that is several
//! statements takes `&mut self` and opens its own transaction; a write that
//! is a single statement (journal one event, enqueue one mail, record one
//! inbound message, set one state value) takes `&self`, because SQLite makes
//! each statement atomic on its own; reads take `&self`.
//!
//! Submodules each own a slice of the schema: `schema` (versioned
//! migrations), [`engagements`] (lifecycle state and transitions),
//! [`config_changes`] (bringing that state in line with the config), [`events`]
//! (the journal), [`outbox`] (queued and sent mail), [`sent_copy`] (Sent
//! copies still to be filed), [`inbound`] (messages seen and watcher state),
//! [`kv`] (scheduler state), `contact` (the contractor's last genuine mail:
//! the silence clock, written by the inbox) and `redo` (the date work sent
//! back is due again). Instants are stored
//! as RFC 3339 UTC text with millisecond precision, which sorts in time order;
//! the store never reads the clock, every write is stamped with the `now` its
//! caller was given.
//!
//! # Handoff's or nothing
//! A store file carries Handoff's mark: [`APPLICATION_ID`] in the SQLite
//! header (`PRAGMA application_id`, which `file(1)` and `sqlite3` show too).
//! [`Store::open`] looks (`mark`) before it writes anything, and refuses, leaving the
//! file untouched: a file that is not SQLite; another application's
//! database (another mark, or none and not Handoff's tables); a store of a
//! newer Handoff (its schema version is past the last migration this one
//! knows). A store from before the mark (no mark, but Handoff's tables and a
//! schema version this Handoff knows) opens and gets the mark.
//!
//! # Where it stands
//! Low in the flow: it knows the lifecycle's types and plain data, never the
//! config model, the schedule, the outbox's composing or anything above.

pub mod config_changes;
mod contact;
pub mod engagements;
pub mod events;
pub mod inbound;
pub mod kv;
mod mark;
pub mod outbox;
pub mod owner;
mod redo;
pub mod schedule;
mod schema;
pub mod sent_copy;

pub use config_changes::{
    MilestoneChange, MilestoneRef, PlannedEngagement, PlannedMilestone, ReconcileReport,
};
pub use engagements::{EngagementRecord, MilestoneRecord};
pub use events::{Direction, EventFilter, EventRecord, NewEvent};
pub use inbound::{NewInbound, WatcherState};
pub use mark::APPLICATION_ID;
pub use outbox::{Enqueued, NewOutboxMail, OutboxMail, SentRef};
pub use schedule::{JournalFacts, QueuedMail};
pub use sent_copy::QueuedCopy;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};

/// Why a store operation failed. Each variant names the thing concerned, so
/// the CLI can print one clear line without adding guesswork.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused a statement (locked past the busy timeout, disk full,
    /// a constraint the typed API should have prevented).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Bringing the schema to the latest version failed (including a store
    /// written by a newer Handoff than this one).
    #[error("schema migration failed: {}", migration_cause(.0))]
    Migration(#[from] rusqlite_migration::Error),
    /// Creating the store's directory or file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No such engagement, milestone or outbox mail ("milestone website/wf").
    #[error("{what} not found")]
    NotFound { what: String },
    /// The lifecycle refused the transition; `what` names the engagement or
    /// milestone, the source names its state and the event. Nothing was
    /// written.
    #[error("{what}: {source}")]
    IllegalTransition {
        what: String,
        #[source]
        source: crate::lifecycle::IllegalTransition,
    },
    /// A stored value does not parse (an unknown state name, a bad
    /// timestamp): the file was edited by hand or by a newer Handoff.
    #[error("the store holds an unreadable value: {what}")]
    Corrupt { what: String },
    /// The file is not an SQLite database at all.
    #[error(
        "it is not an SQLite database (it starts {start:?}); Handoff keeps its store in a file of its own: point `state` at a new file"
    )]
    NotSqlite { start: String },
    /// The file is another program's SQLite database.
    #[error(
        "it is another application's SQLite database ({what}); Handoff keeps its store in a file of its own: point `state` at a new file"
    )]
    Foreign { what: String },
    /// The store was written by a newer Handoff.
    #[error(
        "it is a store of a newer Handoff (schema version {found}; this Handoff knows up to {known}): run that Handoff, or a backup of the store from before it"
    )]
    Newer { found: usize, known: usize },
}

/// A failed migration in one line: SQLite's error, not the whole migration's
/// SQL (which rusqlite_migration puts in its message).
fn migration_cause(e: &rusqlite_migration::Error) -> String {
    match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => err.to_string(),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The store: one SQLite connection, opened with the settings below and
/// migrated to the latest schema.
pub struct Store {
    conn: Connection,
    /// Inside [`Store::batch`]: each [`Store::transaction`] is a savepoint of
    /// the batch's one transaction.
    in_batch: bool,
}

/// The typed operations on the store's connection. Inside
/// [`Store::transaction`] they all belong to one transaction; see the module
/// doc.
pub struct Tx<'c> {
    pub(crate) conn: &'c Connection,
}

impl Tx<'_> {
    /// `execute` through the connection's statement cache: the hot paths
    /// (recording a mail, an event) run the same few statements thousands of
    /// times, and preparing each anew was a large part of their cost.
    pub(crate) fn cached_exec(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, rusqlite::Error> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// `query_row` through the statement cache (see [`Tx::cached_exec`]).
    pub(crate) fn cached_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, rusqlite::Error>,
    ) -> Result<T, rusqlite::Error> {
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }
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

    /// A store that lives in memory only (unit tests): same schema and
    /// settings, except that WAL does not apply to memory.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        // First, so that even switching to WAL below waits for a second
        // process (the CLI beside the daemon) instead of failing on its lock.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Before anything writes: a file that is not ours stays untouched.
        let mark = mark::ours(&conn)?;
        // WAL lets `handoff status` read while the daemon writes. SQLite
        // creates the -wal and -shm files with the database file's
        // permissions, so they are 0600 too.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on
        // power loss, and a lost "sent" mark means a mail sent twice, a lost
        // queued row a mail never sent, a lost "UID seen" a reply recorded
        // twice. Handoff promises none of these happen. The price is an fsync
        // per commit, and it commits a few times per mail: nothing that
        // matters at mail volume.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Off by default in SQLite, per connection: a milestone must not
        // outlive the engagement it belongs to.
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        // A no-op when the schema is current, so every open may run it.
        schema::migrations().to_latest(&mut conn)?;
        if mark == mark::Mark::Missing {
            // A new store, or one from before the mark: ours from now on.
            conn.pragma_update(None, "application_id", mark::APPLICATION_ID)?;
        }
        Ok(Store {
            conn,
            in_batch: false,
        })
    }

    /// Runs `f` in one write transaction: all of it commits, or none of it.
    ///
    /// IMMEDIATE takes the write lock at the start, so two writers queue on
    /// `busy_timeout` instead of failing midway on a lock upgrade.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_batch {
            let sp = self.conn.savepoint()?;
            let out = f(&Tx { conn: &sp })?;
            sp.commit()?;
            return Ok(out);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Tx { conn: &tx })?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` as one transaction in which every [`Store::transaction`] is a
    /// savepoint: one commit (one fsync) for many units of work, each of which
    /// still commits or rolls back whole within the batch. If `f` fails,
    /// nothing of the batch is written.
    ///
    /// The inbox records a fetched batch of mails this way: at thousands of
    /// mails a second, a commit per mail would be the bottleneck, and a crash
    /// mid-batch only means the batch is fetched and recorded again.
    pub fn batch<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.in_batch {
            return f(self);
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| E::from(e.into()))?;
        self.in_batch = true;
        let out = f(self);
        self.in_batch = false;
        match out {
            Ok(v) => {
                if let Err(e) = self.conn.execute_batch("COMMIT") {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(E::from(e.into()));
                }
                Ok(v)
            }
            Err(e) => {
                // Ignored: a failed ROLLBACK means SQLite already rolled back.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The typed operations outside any transaction: each statement commits
    /// on its own. Only reads and single-statement writes go through here;
    /// anything longer uses [`Store::transaction`].
    pub(crate) fn autocommit(&self) -> Tx<'_> {
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
    use super::{EventFilter, PlannedEngagement, PlannedMilestone, Store};
    use chrono::{DateTime, Utc};

    pub fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// One engagement, "website" with contractor "dana", and these
    /// (id, title, due) milestones.
    pub fn plan(milestones: &[(&str, &str, &str)], signed: bool) -> Vec<PlannedEngagement> {
        vec![PlannedEngagement {
            id: "website".into(),
            title: "Website".into(),
            contractor: "dana".into(),
            agreement_signed: signed,
            milestones: milestones
                .iter()
                .map(|(id, title, due)| PlannedMilestone {
                    id: id.to_string(),
                    title: title.to_string(),
                    due: t(due),
                })
                .collect(),
        }]
    }

    /// The kinds of all journaled events, oldest first.
    pub fn kinds(s: &Store) -> Vec<String> {
        s.events(&EventFilter::default())
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{kinds, plan, t};
    use super::*;

    #[test]
    fn a_batch_commits_whole_and_a_failed_unit_inside_it_rolls_back_alone() {
        let now = t("2026-11-24T09:00:00Z");
        let mut s = Store::open_in_memory().unwrap();
        let out = s.batch(|s| -> Result<(), StoreError> {
            s.transaction(|tx| tx.scheduler_set("a", "1", now))?;
            let failed = s.transaction(|tx| {
                tx.scheduler_set("b", "1", now)?;
                Err::<(), _>(StoreError::NotFound { what: "x".into() })
            });
            assert!(failed.is_err());
            s.transaction(|tx| tx.scheduler_set("c", "1", now))
        });
        out.unwrap();
        assert_eq!(s.scheduler_get("a").unwrap().as_deref(), Some("1"));
        assert_eq!(
            s.scheduler_get("b").unwrap(),
            None,
            "the failed unit rolled back"
        );
        assert_eq!(s.scheduler_get("c").unwrap().as_deref(), Some("1"));

        let failed = s.batch(|s| {
            s.transaction(|tx| tx.scheduler_set("d", "1", now))?;
            Err::<(), StoreError>(StoreError::NotFound { what: "y".into() })
        });
        assert!(failed.is_err());
        assert_eq!(
            s.scheduler_get("d").unwrap(),
            None,
            "a failed batch writes nothing"
        );
        // The store is usable afterwards, outside a batch.
        s.transaction(|tx| tx.scheduler_set("e", "1", now)).unwrap();
        assert_eq!(s.scheduler_get("e").unwrap().as_deref(), Some("1"));
    }

    #[test]
    fn migrates_from_empty_and_reopens_without_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/handoff.db");
        let mut store = Store::open(&path).unwrap();
        let v = store.schema_version().unwrap();
        assert_eq!(v, 6);
        store
            .reconcile(&plan(&[], true), t("2026-11-24T09:00:00Z"))
            .unwrap();
        let events = kinds(&store);
        drop(store);

        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            v,
            "re-open migrates nothing"
        );
        assert_eq!(kinds(&store), events, "and keeps what was there");
        assert_eq!(store.engagements().unwrap().len(), 1);
    }

    #[test]
    fn open_sets_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("handoff.db")).unwrap();
        let pragma = |name: &str| -> String {
            store
                .conn
                .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
        assert_eq!(pragma("synchronous"), "Integer(2)", "2 is FULL");
        assert_eq!(pragma("foreign_keys"), "Integer(1)");
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/handoff.db");
        let store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // The WAL holds recent writes (mail bodies included) until checkpoint.
        assert_eq!(mode(&dir.path().join("state/handoff.db-wal")), 0o600);
        drop(store);
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let mut store = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        let r: Result<(), StoreError> = store.transaction(|tx| {
            tx.record_event(&NewEvent::internal("test_event"), now)?;
            Err(StoreError::NotFound { what: "x".into() })
        });
        assert!(r.is_err());
        assert!(store.events(&EventFilter::default()).unwrap().is_empty());
    }

    /// The reason `Tx` exists: a transition and the mail it causes commit
    /// together, and if the mail cannot be queued the transition is undone.
    #[test]
    fn a_transition_and_its_mail_commit_together_or_not_at_all() {
        use crate::lifecycle::{MilestoneEvent, MilestoneState};
        let mut store = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        store
            .reconcile(
                &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
                now,
            )
            .unwrap();
        let mail = NewOutboxMail {
            idempotency_key: "instructions:website/wf".into(),
            engagement: Some("website".into()),
            milestone: Some("wf".into()),
            purpose: "instructions".into(),
            recipient: "dana@example.test".into(),
            subject: "Wireframes".into(),
            message_id: "<w1@example.test>".to_string(),
            message: b"Subject: Wireframes\r\n\r\nPlease".to_vec(),
            not_before: now,
        };
        let state = |s: &Store| s.engagements().unwrap()[0].milestones[0].state;

        let failed: Result<(), StoreError> = store.transaction(|tx| {
            tx.apply_milestone("website", "wf", MilestoneEvent::InstructionsSent, now)?;
            tx.enqueue(&mail, now)?;
            Err(StoreError::Corrupt {
                what: "a later step failed".into(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(state(&store), MilestoneState::Planned);
        assert_eq!(store.outbox_depth().unwrap(), 0);

        store
            .transaction(|tx| {
                tx.apply_milestone("website", "wf", MilestoneEvent::InstructionsSent, now)?;
                tx.enqueue(&mail, now)
            })
            .unwrap();
        assert_eq!(state(&store), MilestoneState::Instructed);
        assert_eq!(store.outbox_depth().unwrap(), 1);
    }
}
