//! Handoff's mark on its store, and the look at a file before Handoff
//! writes to it (see "Handoff's or nothing" in the store's module doc). Only
//! reads: a file that is refused is left as it was.

use super::{StoreError, schema};
use rusqlite::Connection;

/// Handoff's mark in the SQLite header (`PRAGMA application_id`): "Hoff".
pub const APPLICATION_ID: i32 = 0x486f_6666;

/// The tables every Handoff store has had since the first migration: how a
/// store from before the mark is told from another program's database.
const HANDOFF_TABLES: &[&str] = &[
    "engagement",
    "milestone",
    "outbox",
    "sent_message",
    "inbound_message",
    "event",
    "scheduler_state",
    "watcher_state",
];

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Mark {
    /// Marked as Handoff's.
    Present,
    /// Empty, or Handoff's from before the mark: gets it.
    Missing,
}

/// Whether the database on `conn` is a Handoff store this Handoff can use.
/// Only reads.
pub(super) fn ours(conn: &Connection) -> Result<Mark, StoreError> {
    if let Some(path) = conn.path().filter(|p| !p.is_empty()) {
        let mut start = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| {
                use std::io::Read;
                f.read(&mut start)
            })
            .unwrap_or(0);
        // Empty is a new store; anything else must start with the magic.
        if n > 0 && start[..n] != b"SQLite format 3\0"[..] {
            return Err(StoreError::NotSqlite {
                start: String::from_utf8_lossy(&start[..n]).into_owned(),
            });
        }
    }
    let not_sqlite = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotSqlite {
            start: "bytes SQLite does not read".to_string(),
        },
        _ => StoreError::Sqlite(e),
    };
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(not_sqlite)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let found = usize::try_from(version).unwrap_or(0);
    let known = schema::latest(conn, found)?;
    if id != 0 && id != APPLICATION_ID {
        return Err(StoreError::Foreign {
            what: format!("its application_id is {id:#010x}, Handoff's is {APPLICATION_ID:#010x}"),
        });
    }
    if id == 0 {
        if tables.is_empty() && found == 0 {
            return Ok(Mark::Missing);
        }
        let handoffs = HANDOFF_TABLES.iter().all(|t| tables.iter().any(|n| n == t));
        if !handoffs || found == 0 {
            let mut names = tables;
            names.sort();
            let shown = if names.len() > 4 {
                format!("{}, …", names[..4].join(", "))
            } else {
                names.join(", ")
            };
            return Err(StoreError::Foreign {
                what: format!("no Handoff mark, and tables Handoff does not keep: {shown}"),
            });
        }
    }
    if found > known {
        return Err(StoreError::Newer { found, known });
    }
    Ok(if id == 0 {
        Mark::Missing
    } else {
        Mark::Present
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Store, StoreError};
    use super::APPLICATION_ID;
    use rusqlite::Connection;
    use std::path::Path;

    fn bytes(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    #[test]
    fn a_new_store_is_marked_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        drop(conn);
        Store::open(&path).unwrap();
    }

    #[test]
    fn another_programs_database_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE outbox (x); CREATE TABLE notes (body TEXT); PRAGMA user_version = 7;",
        )
        .unwrap();
        drop(conn);
        let before = bytes(&path);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("another application's"), "{err}");
        assert_eq!(bytes(&path), before, "untouched");

        let other = dir.path().join("other.db");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);")
            .unwrap();
        drop(conn);
        let err = Store::open(&other).err().unwrap();
        assert!(
            err.to_string().contains("application_id is 0x000004d2"),
            "{err}"
        );
    }

    #[test]
    fn a_newer_store_is_refused_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let before = bytes(&path);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Newer { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("schema version 99"), "{err}");
        assert_eq!(bytes(&path), before);
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.db");
        std::fs::write(&path, "state = \"var/handoff.db\"\n").unwrap();
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::NotSqlite { .. }), "{err}");
        assert_eq!(bytes(&path), b"state = \"var/handoff.db\"\n");
    }

    #[test]
    fn a_store_from_before_the_mark_opens_and_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "application_id", 0).unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let id: i32 = store
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
    }
}
