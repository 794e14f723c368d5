//! The outbox: every mail Handoff sends, queued durably before it is sent.
//!
//! A mail is enqueued in the same transaction as the state change that caused
//! it, under an idempotency key that names the decision ("instructions for
//! website/wireframes"), so deciding twice queues once. The sender takes due
//! rows, delivers them, and marks each sent with its Message-ID (which also
//! records it in `sent_message` for reply matching and journals it) or failed
//! with a retry time.

mod delivery;
mod hold;
#[cfg(test)]
mod tests;

use super::{NewEvent, StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct NewOutboxMail {
    pub idempotency_key: String,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub purpose: String,
    pub recipient: String,
    pub subject: String,
    /// The Message-ID inside `message`, fixed when the mail is queued: every
    /// attempt sends the same bytes, so a copy found after a crash is known to
    /// be this mail (see [`crate::outbox`]).
    pub message_id: String,
    /// The complete RFC 5322 message.
    pub message: Vec<u8>,
    /// Not to be sent before this instant (quiet hours, scheduling).
    pub not_before: DateTime<Utc>,
}

/// A mail Handoff sent, as a reply citing it is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRef {
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub purpose: String,
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new row with this id.
    Queued(i64),
    /// The key was already queued (or sent): nothing was added.
    AlreadyQueued,
}

/// A queued mail, as the sender sees it.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: i64,
    pub idempotency_key: String,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub purpose: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub message: Vec<u8>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
}

impl Tx<'_> {
    pub fn enqueue(
        &self,
        mail: &NewOutboxMail,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        let n = self.cached_exec(
            "INSERT INTO outbox (idempotency_key, engagement_id, milestone_id, purpose, recipient, subject,
                                 message, next_attempt_at, created_at, message_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (idempotency_key) DO NOTHING",
            params![
                mail.idempotency_key,
                mail.engagement,
                mail.milestone,
                mail.purpose,
                mail.recipient,
                mail.subject,
                mail.message,
                ts(mail.not_before),
                ts(now),
                mail.message_id
            ],
        )?;
        Ok(if n == 0 {
            Enqueued::AlreadyQueued
        } else {
            Enqueued::Queued(self.conn.last_insert_rowid())
        })
    }

    /// Whether a mail under this idempotency key was ever queued (whatever
    /// became of it): lets callers skip composing a mail that would be a no-op.
    pub fn outbox_has(&self, idempotency_key: &str) -> Result<bool, StoreError> {
        // Cached: every pass asks this for every milestone's invitation.
        Ok(self
            .cached_row(
                "SELECT 1 FROM outbox WHERE idempotency_key = ?1",
                [idempotency_key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether any key starting with `prefix` was ever queued ("was any
    /// invitation for this milestone sent?").
    pub fn outbox_has_prefix(&self, prefix: &str) -> Result<bool, StoreError> {
        Ok(self
            .cached_row(
                "SELECT 1 FROM outbox WHERE substr(idempotency_key, 1, length(?1)) = ?1 LIMIT 1",
                [prefix],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// What we sent under this Message-ID (with angle brackets): engagement,
    /// milestone and purpose, for matching replies.
    pub fn sent_ref(&self, message_id: &str) -> Result<Option<SentRef>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT engagement_id, milestone_id, purpose FROM sent_message WHERE message_id = ?1",
                [message_id],
                |r| {
                    Ok(SentRef {
                        engagement: r.get(0)?,
                        milestone: r.get(1)?,
                        purpose: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// The exact bytes of the mail we sent under this Message-ID (with angle
    /// brackets), and its purpose: the inbox subtracts them from a reply
    /// that quotes it.
    pub fn sent_message_bytes(
        &self,
        message_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT s.purpose, o.message FROM sent_message s JOIN outbox o ON o.id = s.outbox_id
                 WHERE s.message_id = ?1",
                [message_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The next free UID for an account that has none of its own (files fed
    /// to `handoff ingest`).
    pub fn next_local_uid(&self, account: &str) -> Result<u32, StoreError> {
        let n: i64 = self.cached_row(
            "SELECT coalesce(max(uid), 0) + 1 FROM inbound_message WHERE account = ?1",
            [account],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The Message-ID that starts the thread of an engagement's mail to one
    /// recipient: the first mail queued to them (failed ones excepted). Later
    /// mails cite it in In-Reply-To and References so clients keep one thread.
    pub fn thread_root(
        &self,
        engagement: &str,
        recipient: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT message_id FROM outbox
                 WHERE engagement_id = ?1 AND recipient = ?2 AND message_id IS NOT NULL
                       AND status != 'failed'
                 ORDER BY id LIMIT 1",
                params![engagement, recipient],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Queued mails of these purposes, whenever due: (id, subject), oldest
    /// first. The digest lists the owner notices it folds in.
    pub fn queued_of_purposes(&self, purposes: &[&str]) -> Result<Vec<(i64, String)>, StoreError> {
        let mut out = Vec::new();
        for p in purposes {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, subject FROM outbox WHERE status = 'queued' AND purpose = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([p], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                out.push(row?);
            }
        }
        out.sort_unstable_by_key(|(id, _)| *id);
        Ok(out)
    }

    /// Takes a queued mail back: it will not be sent (`why` says where it
    /// went instead, starting "folded" or "withdrawn").
    pub fn take_back(&self, id: i64, why: &str) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE outbox SET status = 'failed', last_error = ?2 WHERE id = ?1 AND status = 'queued'",
            params![id, why],
        )?;
        Ok(())
    }

    /// Mails waiting to be sent (queued or mid-send).
    pub fn outbox_depth(&self) -> Result<u64, StoreError> {
        let n: i64 = self.cached_row(
            "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// When the next queued mail may go: the earliest `next_attempt_at`
    /// (first try after quiet hours, or a retry) of any queued row. The
    /// daemon sleeps until then instead of polling.
    pub fn next_outbox_attempt(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self.conn.query_row(
            // Mail held after a bounce waits for the hold to end, not for a
            // time: counting it would put the next wake in the past.
            "SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'
             AND NOT EXISTS (SELECT 1 FROM scheduler_state p
                             WHERE p.key = 'paused/' || lower(outbox.recipient))",
            [],
            |r| r.get(0),
        )?;
        next.map(|t| parse_ts(&t, "outbox next attempt"))
            .transpose()
    }

    /// Mails given up for good (`failed`): what `handoff status` counts as
    /// failures.
    pub fn outbox_failed(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            // Mail taken back on purpose (withdrawn by `end`, folded into
            // the digest) is not a failure.
            "SELECT count(*) FROM outbox WHERE status = 'failed'
               AND coalesce(last_error, '') NOT LIKE 'withdrawn%'
               AND coalesce(last_error, '') NOT LIKE 'folded%'",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl super::Store {
    /// [`Tx::sent_message_bytes`] on its own (a read).
    pub fn sent_message_bytes(
        &self,
        message_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.autocommit().sent_message_bytes(message_id)
    }

    /// [`Tx::enqueue`] on its own (one statement). To queue a mail together
    /// with the state change that causes it, use [`crate::store::Store::transaction`].
    pub fn enqueue(
        &self,
        mail: &NewOutboxMail,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        self.autocommit().enqueue(mail, now)
    }

    pub fn outbox_depth(&self) -> Result<u64, StoreError> {
        self.autocommit().outbox_depth()
    }

    pub fn thread_root(
        &self,
        engagement: &str,
        recipient: &str,
    ) -> Result<Option<String>, StoreError> {
        self.autocommit().thread_root(engagement, recipient)
    }

    pub fn next_outbox_attempt(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.autocommit().next_outbox_attempt()
    }

    pub fn outbox_failed(&self) -> Result<u64, StoreError> {
        self.autocommit().outbox_failed()
    }

    pub fn sent_ref(&self, message_id: &str) -> Result<Option<SentRef>, StoreError> {
        self.autocommit().sent_ref(message_id)
    }
}
