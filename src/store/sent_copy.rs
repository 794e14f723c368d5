//! The queue of Sent copies still to be filed: which mail went (or is
//! going) out without its copy in the IMAP Sent folder, and when to try
//! filing it again. The outbox's sender writes it, the filer
//! (`src/outbox/sent_copy.rs`) works it off; see `src/outbox/mod.rs` for
//! what it means for the crash window.

use super::{StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A copy to file: the sent mail's id, Message-ID and bytes.
#[derive(Debug, Clone)]
pub struct QueuedCopy {
    pub outbox_id: i64,
    pub message_id: String,
    pub message: Vec<u8>,
    pub subject: String,
    pub engagement: Option<String>,
    /// Failed filing attempts so far.
    pub attempts: i64,
}

impl Tx<'_> {
    /// Marks a claimed mail as going out without a copy filed first
    /// (committed before the first byte goes out).
    pub fn sent_copy_unstaged(&self, outbox_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO sent_copy (outbox_id, state, next_attempt_at, created_at)
             VALUES (?1, 'unstaged', ?2, ?2)
             ON CONFLICT (outbox_id) DO UPDATE SET state = 'unstaged'",
            params![outbox_id, ts(now)],
        )?;
        Ok(())
    }

    /// Whether a mail was marked as going out without a filed copy.
    pub fn sent_copy_was_unstaged(&self, outbox_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .cached_row(
                "SELECT 1 FROM sent_copy WHERE outbox_id = ?1 AND state = 'unstaged'",
                [outbox_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Queues the copy of a sent mail for filing (now, or at its next try).
    pub fn sent_copy_queue(&self, outbox_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO sent_copy (outbox_id, state, next_attempt_at, created_at)
             VALUES (?1, 'queued', ?2, ?2)
             ON CONFLICT (outbox_id) DO UPDATE SET state = 'queued', next_attempt_at = ?2",
            params![outbox_id, ts(now)],
        )?;
        Ok(())
    }

    /// Forgets a mail's entry: its copy was filed, given up, or the mail did
    /// not go out after all.
    pub fn sent_copy_done(&self, outbox_id: i64) -> Result<(), StoreError> {
        self.cached_exec("DELETE FROM sent_copy WHERE outbox_id = ?1", [outbox_id])?;
        Ok(())
    }

    /// A failed filing attempt: try again at `at`.
    pub fn sent_copy_retry(
        &self,
        outbox_id: i64,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE sent_copy SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE outbox_id = ?1",
            params![outbox_id, error, ts(at)],
        )?;
        Ok(())
    }

    /// Copies whose time has come, oldest first.
    pub fn due_sent_copies(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedCopy>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.outbox_id, coalesce(o.message_id, ''), o.message, o.subject,
                    o.engagement_id, c.attempts
             FROM sent_copy c JOIN outbox o ON o.id = c.outbox_id
             WHERE c.state = 'queued' AND c.next_attempt_at <= ?1
             ORDER BY c.next_attempt_at, c.outbox_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![ts(now), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(QueuedCopy {
                    outbox_id: r.get(0)?,
                    message_id: r.get(1)?,
                    message: r.get(2)?,
                    subject: r.get(3)?,
                    engagement: r.get(4)?,
                    attempts: r.get(5)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many copies wait to be filed.
    pub fn sent_copies_waiting(&self) -> Result<u64, StoreError> {
        let n: i64 = self.cached_row(
            "SELECT count(*) FROM sent_copy WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// When the next queued copy may be filed.
    pub fn next_sent_copy_attempt(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<String> = self.cached_row(
            "SELECT min(next_attempt_at) FROM sent_copy WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?;
        t.map(|t| parse_ts(&t, "sent copy next attempt"))
            .transpose()
    }
}

impl super::Store {
    pub fn sent_copies_waiting(&self) -> Result<u64, StoreError> {
        self.autocommit().sent_copies_waiting()
    }

    pub fn next_sent_copy_attempt(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.autocommit().next_sent_copy_attempt()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NewOutboxMail, Store, test_support::t};

    #[test]
    fn a_copy_waits_until_its_time_and_leaves_when_filed() {
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        let mail = NewOutboxMail {
            idempotency_key: "k".into(),
            engagement: None,
            milestone: None,
            purpose: "instructions".into(),
            recipient: "dana@example.test".into(),
            subject: "Hi".into(),
            message_id: "<m@example.test>".into(),
            message: b"Subject: Hi\r\n\r\nx".to_vec(),
            not_before: now,
        };
        let id = match s.enqueue(&mail, now).unwrap() {
            super::super::Enqueued::Queued(id) => id,
            other => panic!("{other:?}"),
        };
        s.transaction(|tx| tx.sent_copy_unstaged(id, now)).unwrap();
        assert!(s.transaction(|tx| tx.sent_copy_was_unstaged(id)).unwrap());
        assert_eq!(s.sent_copies_waiting().unwrap(), 0, "not sent yet");
        s.transaction(|tx| tx.sent_copy_queue(id, now)).unwrap();
        assert!(!s.transaction(|tx| tx.sent_copy_was_unstaged(id)).unwrap());
        assert_eq!(s.sent_copies_waiting().unwrap(), 1);
        let later = now + chrono::TimeDelta::minutes(1);
        s.transaction(|tx| tx.sent_copy_retry(id, "no answer", later))
            .unwrap();
        assert!(
            s.transaction(|tx| tx.due_sent_copies(now, 10))
                .unwrap()
                .is_empty()
        );
        let due = s.transaction(|tx| tx.due_sent_copies(later, 10)).unwrap();
        assert_eq!((due.len(), due[0].attempts), (1, 1));
        assert_eq!(due[0].message_id, "<m@example.test>");
        assert_eq!(s.next_sent_copy_attempt().unwrap(), Some(later));
        s.transaction(|tx| tx.sent_copy_done(id)).unwrap();
        assert_eq!(s.sent_copies_waiting().unwrap(), 0);
    }
}
