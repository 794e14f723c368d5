//! The outbox: every mail Handoff sends, queued durably before it is sent.
//!
//! A mail is enqueued in the same transaction as the state change that caused
//! it, under an idempotency key that names the decision ("instructions for
//! website/wireframes"), so deciding twice queues once. The sender takes due
//! rows, delivers them, and marks each sent with its Message-ID (which also
//! records it in `sent_message` for reply matching and journals it) or failed
//! with a retry time.

use super::{Direction, NewEvent, StoreError, Tx, parse_ts, ts};
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
            "SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'",
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

    /// Queued mails whose time has come, oldest first.
    pub fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.select_outbox(
            "status = 'queued' AND next_attempt_at <= ?1
             AND NOT EXISTS (SELECT 1 FROM scheduler_state p
                             WHERE p.key = 'paused/' || lower(outbox.recipient))
             ORDER BY next_attempt_at, id LIMIT ?2",
            params![ts(now), limit],
        )
    }

    /// Holds every mail to `address` (after a bounce) until
    /// [`Tx::resume_recipient`]; journals `recipient_paused` the first time.
    pub fn pause_recipient(
        &self,
        address: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = format!("paused/{}", address.to_lowercase());
        if self.scheduler_get(&key)?.is_some() {
            return Ok(());
        }
        self.scheduler_set(&key, why, now)?;
        self.record_event(
            &super::NewEvent::internal("recipient_paused")
                .detail(format!("mail to {address} held after a bounce")),
            now,
        )
    }

    /// Lets mail to `address` go again; journals `recipient_resumed` if it
    /// was paused.
    pub fn resume_recipient(&self, address: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let n = self.cached_exec(
            "DELETE FROM scheduler_state WHERE key = ?1",
            [format!("paused/{}", address.to_lowercase())],
        )?;
        if n > 0 {
            self.record_event(
                &super::NewEvent::internal("recipient_resumed")
                    .detail(format!("mail to {address} goes out again")),
                now,
            )?;
        }
        Ok(())
    }

    /// Addresses whose mail is held, with why.
    pub fn paused_recipients(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT substr(key, 8), value FROM scheduler_state WHERE key LIKE 'paused/%' ORDER BY key",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Mails claimed for sending but never marked: what a crash left behind.
    pub fn sending_outbox(&self) -> Result<Vec<OutboxMail>, StoreError> {
        self.select_outbox("status = 'sending' ORDER BY id", params![])
    }

    fn select_outbox(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, idempotency_key, engagement_id, milestone_id, purpose, recipient, subject,
                    coalesce(message_id, ''), message, attempts, next_attempt_at
             FROM outbox WHERE {condition}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok((
                OutboxMail {
                    id: r.get(0)?,
                    idempotency_key: r.get(1)?,
                    engagement: r.get(2)?,
                    milestone: r.get(3)?,
                    purpose: r.get(4)?,
                    recipient: r.get(5)?,
                    subject: r.get(6)?,
                    message_id: r.get(7)?,
                    message: r.get(8)?,
                    attempts: r.get(9)?,
                    next_attempt_at: DateTime::<Utc>::MIN_UTC,
                },
                r.get::<_, String>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut mail, next) = row?;
            mail.next_attempt_at = parse_ts(&next, "outbox next attempt")?;
            out.push(mail);
        }
        Ok(out)
    }

    /// Claims a queued mail for sending (committed before the first byte goes
    /// out, so a crash mid-send leaves a `sending` row to resolve). `false`
    /// if it was not queued.
    pub fn claim(&self, id: i64) -> Result<bool, StoreError> {
        let n = self.cached_exec(
            "UPDATE outbox SET status = 'sending' WHERE id = ?1 AND status = 'queued'",
            [id],
        )?;
        Ok(n == 1)
    }

    /// Puts a claimed mail back in the queue, untouched (no attempt counted).
    pub fn requeue(&self, id: i64) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE outbox SET status = 'queued' WHERE id = ?1 AND status = 'sending'",
            [id],
        )?;
        Ok(())
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

    /// Marks a mail sent under `message_id`, records it in `sent_message` for
    /// reply matching (replies cite it in In-Reply-To/References, RFC 5322
    /// §3.6.4) and journals an "out" event. These are three statements: the
    /// `Store` shorthand wraps them in a transaction of their own, and inside
    /// [`super::Store::transaction`] they join the caller's.
    ///
    /// Only a mail still waiting (queued or sending) can be marked: marking
    /// one twice is a bug upstream, reported as [`StoreError::NotFound`].
    pub fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        type Row = (
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            String,
        );
        let row: Option<Row> = self
            .cached_row(
                "UPDATE outbox SET status = 'sent', sent_at = ?2,
                                   attempts = attempts + 1, last_error = NULL
                 WHERE id = ?1 AND status IN ('queued', 'sending')
                 RETURNING engagement_id, milestone_id, purpose, recipient, subject,
                           coalesce(message_id, '')",
                params![id, ts(now)],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let (engagement, milestone, purpose, recipient, subject, message_id) =
            row.ok_or_else(|| unsent_not_found(id))?;
        self.cached_exec(
            "INSERT INTO sent_message (message_id, outbox_id, engagement_id, milestone_id, purpose, recipient, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![message_id, id, engagement, milestone, purpose, recipient, ts(now)],
        )?;
        self.record_event(
            &NewEvent {
                kind: format!("sent_{purpose}"),
                direction: Some(Direction::Out),
                engagement,
                milestone,
                message_id: Some(message_id),
                subject: Some(subject),
                detail: Some(format!("to {recipient}")),
            },
            now,
        )
    }

    /// Records a failed attempt: with `retry_at` the mail is queued again for
    /// then (a temporary failure, e.g. SMTP 4xx; journaled `send_deferred`);
    /// without, it is given up (a permanent one, e.g. 5xx; journaled
    /// `send_failed`), so the owner sees every failure in the log.
    /// Puts a claimed mail back in the queue until `at`, without counting an
    /// attempt: the server could not be reached, which says nothing about
    /// the mail. Not journaled per mail (an outage would flood the journal);
    /// the sender journals the outage once.
    pub fn defer(&self, id: i64, error: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE outbox SET status = 'queued', last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1 AND status IN ('queued', 'sending')",
            params![id, error, ts(at)],
        )?;
        Ok(())
    }

    pub fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, next) = match retry_at {
            Some(at) => ("queued", Some(ts(at))),
            None => ("failed", None),
        };
        type Row = (Option<String>, Option<String>, String);
        let row: Option<Row> = self
            .cached_row(
                "UPDATE outbox SET status = ?2, attempts = attempts + 1, last_error = ?3,
                                   next_attempt_at = coalesce(?4, next_attempt_at)
                 WHERE id = ?1 AND status IN ('queued', 'sending')
                 RETURNING engagement_id, milestone_id, subject",
                params![id, status, error, next],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (engagement, milestone, subject) = row.ok_or_else(|| unsent_not_found(id))?;
        // Every failed attempt is journaled; only giving up is `send_failed`.
        let (kind, detail) = match retry_at {
            Some(at) => ("send_deferred", format!("{error}; next attempt {}", ts(at))),
            None => ("send_failed", error.to_string()),
        };
        self.record_event(
            &NewEvent {
                kind: kind.to_string(),
                direction: Some(Direction::Internal),
                engagement,
                milestone,
                message_id: None,
                subject: Some(subject),
                detail: Some(detail),
            },
            now,
        )
    }
}

fn unsent_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: format!("unsent outbox mail {id}"),
    }
}

impl super::Store {
    pub fn paused_recipients(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.autocommit().paused_recipients()
    }

    /// [`Tx::resume_recipient`] in a transaction of its own.
    pub fn resume_recipient(
        &mut self,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.resume_recipient(address, now))
    }

    /// [`Tx::enqueue`] on its own (one statement). To queue a mail together
    /// with the state change that causes it, use [`super::Store::transaction`].
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

    pub fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        self.autocommit().due_outbox(now, limit)
    }

    pub fn mark_sent(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.transaction(|tx| tx.mark_sent(id, now))
    }

    pub fn mark_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.mark_failed(id, error, retry_at, now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EventFilter, Store, test_support::t};
    use super::*;

    fn mail(key: &str) -> NewOutboxMail {
        NewOutboxMail {
            idempotency_key: key.into(),
            engagement: Some("website".into()),
            milestone: None,
            purpose: "instructions".into(),
            recipient: "dana@example.test".into(),
            subject: "Instructions".into(),
            message_id: format!("<{key}@example.test>"),
            message: b"Subject: Instructions\r\n\r\nHi".to_vec(),
            not_before: t("2026-11-24T09:00:00Z"),
        }
    }

    #[test]
    fn mail_to_a_paused_address_waits_until_it_is_resumed() {
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T10:00:00Z");
        s.enqueue(&mail("k"), now).unwrap();
        s.transaction(|tx| tx.pause_recipient("Dana@Example.test", "550 no such user", now))
            .unwrap();
        assert!(s.due_outbox(now, 10).unwrap().is_empty(), "held");
        assert_eq!(
            s.paused_recipients().unwrap(),
            vec![(
                "dana@example.test".to_string(),
                "550 no such user".to_string()
            )]
        );
        s.resume_recipient("dana@example.test", now).unwrap();
        assert_eq!(s.due_outbox(now, 10).unwrap().len(), 1, "goes again");
        let kinds: Vec<String> = s
            .events(&EventFilter::default())
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["recipient_paused", "recipient_resumed"]);
    }

    #[test]
    fn the_same_key_is_queued_once() {
        let s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T08:00:00Z");
        assert!(matches!(
            s.enqueue(&mail("k"), now).unwrap(),
            Enqueued::Queued(_)
        ));
        assert_eq!(s.enqueue(&mail("k"), now).unwrap(), Enqueued::AlreadyQueued);
        assert_eq!(s.outbox_depth().unwrap(), 1);
    }

    #[test]
    fn mails_wait_for_their_time_and_sent_ones_are_recorded() {
        let mut s = Store::open_in_memory().unwrap();
        let Enqueued::Queued(id) = s.enqueue(&mail("k"), t("2026-11-24T08:00:00Z")).unwrap() else {
            panic!("not queued")
        };
        assert!(
            s.due_outbox(t("2026-11-24T08:59:59Z"), 10)
                .unwrap()
                .is_empty()
        );
        let due = s.due_outbox(t("2026-11-24T09:00:00Z"), 10).unwrap();
        assert_eq!(due.len(), 1);
        s.mark_sent(id, t("2026-11-24T09:00:01Z")).unwrap();
        assert_eq!(s.outbox_depth().unwrap(), 0);
        assert!(
            s.due_outbox(t("2026-11-25T00:00:00Z"), 10)
                .unwrap()
                .is_empty()
        );
        let e = s.events(&EventFilter::default()).unwrap().pop().unwrap();
        assert_eq!(e.kind, "sent_instructions");
        assert_eq!(e.direction, Direction::Out);
        assert_eq!(e.message_id.as_deref(), Some("<k@example.test>"));
        let sent: (String, String, String) = s
            .conn
            .query_row(
                "SELECT purpose, recipient, sent_at FROM sent_message WHERE message_id = ?1",
                ["<k@example.test>"],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            sent,
            (
                "instructions".to_string(),
                "dana@example.test".to_string(),
                "2026-11-24T09:00:01.000Z".to_string()
            )
        );
        // Marking it again is a bug upstream, and changes nothing.
        let again = s.mark_sent(id, t("2026-11-24T09:00:02Z"));
        assert!(
            matches!(again, Err(StoreError::NotFound { .. })),
            "{again:?}"
        );
        // Sent once means the key is spent: deciding again queues nothing.
        assert_eq!(
            s.enqueue(&mail("k"), t("2026-11-24T10:00:00Z")).unwrap(),
            Enqueued::AlreadyQueued
        );
    }

    #[test]
    fn the_next_attempt_is_the_earliest_queued_row_and_failures_are_counted() {
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T08:00:00Z");
        assert_eq!(s.next_outbox_attempt().unwrap(), None);
        let mut later = mail("later");
        later.not_before = t("2026-11-24T12:00:00Z");
        s.enqueue(&later, now).unwrap();
        let Enqueued::Queued(id) = s.enqueue(&mail("k"), now).unwrap() else {
            panic!("not queued")
        };
        assert_eq!(
            s.next_outbox_attempt().unwrap(),
            Some(t("2026-11-24T09:00:00Z"))
        );
        s.mark_failed(id, "550 no such user", None, now).unwrap();
        assert_eq!(
            s.next_outbox_attempt().unwrap(),
            Some(t("2026-11-24T12:00:00Z")),
            "a failed row is never due again"
        );
        assert_eq!(s.outbox_failed().unwrap(), 1);
    }

    #[test]
    fn failures_retry_later_or_give_up_loudly() {
        let mut s = Store::open_in_memory().unwrap();
        let Enqueued::Queued(id) = s.enqueue(&mail("k"), t("2026-11-24T08:00:00Z")).unwrap() else {
            panic!("not queued")
        };
        s.mark_failed(
            id,
            "451 try later",
            Some(t("2026-11-24T09:10:00Z")),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        assert!(
            s.due_outbox(t("2026-11-24T09:05:00Z"), 10)
                .unwrap()
                .is_empty()
        );
        let again = s.due_outbox(t("2026-11-24T09:10:00Z"), 10).unwrap();
        assert_eq!(again[0].attempts, 1);
        s.mark_failed(id, "550 no such user", None, t("2026-11-24T09:10:00Z"))
            .unwrap();
        assert_eq!(s.outbox_depth().unwrap(), 0);
        let events = s.events(&EventFilter::default()).unwrap();
        assert_eq!(events.len(), 2, "each failed attempt is journaled");
        assert_eq!(
            (events[0].kind.as_str(), events[0].detail.as_deref()),
            (
                "send_deferred",
                Some("451 try later; next attempt 2026-11-24T09:10:00.000Z")
            )
        );
        assert_eq!(
            (events[1].kind.as_str(), events[1].detail.as_deref()),
            ("send_failed", Some("550 no such user"))
        );
        assert!(matches!(
            s.mark_failed(999, "x", None, t("2026-11-24T09:10:00Z")),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn a_claimed_mail_is_left_alone_until_resolved() {
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        let Enqueued::Queued(id) = s.enqueue(&mail("k"), now).unwrap() else {
            panic!("not queued")
        };
        assert!(s.transaction(|tx| tx.claim(id)).unwrap());
        assert!(!s.transaction(|tx| tx.claim(id)).unwrap(), "claimed once");
        assert!(s.due_outbox(now, 10).unwrap().is_empty());
        let left = s.transaction(|tx| tx.sending_outbox()).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].message_id, "<k@example.test>");
        s.transaction(|tx| tx.requeue(id)).unwrap();
        assert_eq!(s.due_outbox(now, 10).unwrap().len(), 1);
        assert_eq!(s.outbox_depth().unwrap(), 1);
    }

    #[test]
    fn the_thread_root_is_the_first_mail_to_that_recipient() {
        let s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        assert_eq!(s.thread_root("website", "dana@example.test").unwrap(), None);
        s.enqueue(&mail("a"), now).unwrap();
        s.enqueue(&mail("b"), now).unwrap();
        assert_eq!(
            s.thread_root("website", "dana@example.test")
                .unwrap()
                .as_deref(),
            Some("<a@example.test>")
        );
        assert_eq!(s.thread_root("website", "ada@example.test").unwrap(), None);
    }
}
