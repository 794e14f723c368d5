//! Inbound messages seen, and the state of each mailbox watcher.
//!
//! A message is identified by (account, UIDVALIDITY, UID) and, across a
//! UIDVALIDITY change, by its Message-ID: recording it and marking it seen is
//! one row, written in the same transaction as whatever it caused.

use super::{StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// An inbound message and what became of it.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub account: String,
    pub uid_validity: u32,
    pub uid: u32,
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// The event kind it was classified as, or why it was skipped.
    pub outcome: String,
    pub detail: Option<String>,
}

/// Where a watcher stands on its mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatcherState {
    pub uid_validity: Option<u32>,
    pub last_uid: Option<u32>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Tx<'_> {
    pub fn inbound_seen(
        &self,
        account: &str,
        uid_validity: u32,
        uid: u32,
    ) -> Result<bool, StoreError> {
        Ok(self
            .cached_row(
                "SELECT 1 FROM inbound_message WHERE account = ?1 AND uid_validity = ?2 AND uid = ?3",
                params![account, uid_validity, uid],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn message_id_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .cached_row(
                "SELECT 1 FROM inbound_message WHERE message_id = ?1 LIMIT 1",
                [message_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Records a message; `false` if it was already recorded (nothing changes).
    pub fn record_inbound(&self, m: &NewInbound, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self.cached_exec(
            "INSERT INTO inbound_message (account, uid_validity, uid, message_id, sender, subject, outcome, detail,
                                          received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (account, uid_validity, uid) DO NOTHING",
            params![
                m.account,
                m.uid_validity,
                m.uid,
                m.message_id,
                m.sender,
                m.subject,
                m.outcome,
                m.detail,
                ts(now)
            ],
        )?;
        Ok(n == 1)
    }

    pub fn watcher_state(&self, account: &str) -> Result<WatcherState, StoreError> {
        type Row = (Option<u32>, Option<u32>, Option<String>, Option<String>);
        let row: Option<Row> = self
            .cached_row(
                "SELECT uid_validity, last_uid, last_contact_at, last_error FROM watcher_state WHERE account = ?1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((uid_validity, last_uid, contact, last_error)) = row else {
            return Ok(WatcherState::default());
        };
        Ok(WatcherState {
            uid_validity,
            last_uid,
            last_contact_at: contact
                .map(|c| parse_ts(&c, "watcher contact"))
                .transpose()?,
            last_error,
        })
    }

    /// Every watched mailbox's state, by account key.
    pub fn watcher_states(&self) -> Result<Vec<(String, WatcherState)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT account, uid_validity, last_uid, last_contact_at, last_error
             FROM watcher_state ORDER BY account",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<u32>>(1)?,
                r.get::<_, Option<u32>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (account, uid_validity, last_uid, contact, last_error) = row?;
            out.push((
                account,
                WatcherState {
                    uid_validity,
                    last_uid,
                    last_contact_at: contact
                        .map(|c| parse_ts(&c, "watcher contact"))
                        .transpose()?,
                    last_error,
                },
            ));
        }
        Ok(out)
    }

    pub fn set_watcher_state(&self, account: &str, w: &WatcherState) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO watcher_state (account, uid_validity, last_uid, last_contact_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account) DO UPDATE SET uid_validity = excluded.uid_validity,
                 last_uid = excluded.last_uid, last_contact_at = excluded.last_contact_at,
                 last_error = excluded.last_error",
            params![account, w.uid_validity, w.last_uid, w.last_contact_at.map(ts), w.last_error],
        )?;
        Ok(())
    }
}

impl super::Store {
    pub fn inbound_seen(
        &self,
        account: &str,
        uid_validity: u32,
        uid: u32,
    ) -> Result<bool, StoreError> {
        self.autocommit().inbound_seen(account, uid_validity, uid)
    }

    /// [`Tx::record_inbound`] on its own (one statement).
    pub fn record_inbound(&self, m: &NewInbound, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.autocommit().record_inbound(m, now)
    }

    /// Whether a message with this Message-ID was recorded under any UID.
    pub fn message_id_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        self.autocommit().message_id_seen(message_id)
    }

    pub fn watcher_state(&self, account: &str) -> Result<WatcherState, StoreError> {
        self.autocommit().watcher_state(account)
    }

    pub fn watcher_states(&self) -> Result<Vec<(String, WatcherState)>, StoreError> {
        self.autocommit().watcher_states()
    }

    /// [`Tx::set_watcher_state`] on its own (one statement).
    pub fn set_watcher_state(&self, account: &str, w: &WatcherState) -> Result<(), StoreError> {
        self.autocommit().set_watcher_state(account, w)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, test_support::t};
    use super::*;

    #[test]
    fn a_uid_is_recorded_once() {
        let s = Store::open_in_memory().unwrap();
        let m = NewInbound {
            account: "owner".into(),
            uid_validity: 7,
            uid: 42,
            message_id: Some("<r1@example.test>".into()),
            sender: Some("dana@example.test".into()),
            subject: Some("Re: Instructions".into()),
            outcome: "acknowledgement".into(),
            detail: None,
        };
        assert!(!s.inbound_seen("owner", 7, 42).unwrap());
        assert!(s.record_inbound(&m, t("2026-11-24T09:00:00Z")).unwrap());
        assert!(
            !s.record_inbound(&m, t("2026-11-24T09:00:01Z")).unwrap(),
            "second record is a no-op"
        );
        assert!(s.inbound_seen("owner", 7, 42).unwrap());
        assert!(
            !s.inbound_seen("owner", 8, 42).unwrap(),
            "a new UIDVALIDITY is a new UID space"
        );
        assert!(s.message_id_seen("<r1@example.test>").unwrap());
    }

    #[test]
    fn watcher_state_round_trips() {
        let s = Store::open_in_memory().unwrap();
        assert_eq!(s.watcher_state("owner").unwrap(), WatcherState::default());
        let w = WatcherState {
            uid_validity: Some(7),
            last_uid: Some(42),
            last_contact_at: Some(t("2026-11-24T09:00:00Z")),
            last_error: None,
        };
        s.set_watcher_state("owner", &w).unwrap();
        assert_eq!(s.watcher_state("owner").unwrap(), w);
    }
}
