//! Delivery's side of the outbox: the due rows, claiming one for sending,
//! and what became of it (sent, deferred, failed), each with its journal row.

use super::super::{Direction, NewEvent, StoreError, Tx, parse_ts, ts};
use super::OutboxMail;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl Tx<'_> {
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

    /// Claims a queued mail for sending, with `message` its final bytes (the
    /// same Message-ID, dated as it goes out): committed before the first
    /// byte goes out, so a crash mid-send leaves a `sending` row holding
    /// exactly what was being sent. `false` if it was not queued.
    pub fn claim(&self, id: i64, message: &[u8]) -> Result<bool, StoreError> {
        let n = self.cached_exec(
            "UPDATE outbox SET status = 'sending', message = ?2 WHERE id = ?1 AND status = 'queued'",
            params![id, message],
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

    /// Marks a mail sent under `message_id`, records it in `sent_message` for
    /// reply matching (replies cite it in In-Reply-To/References, RFC 5322
    /// §3.6.4) and journals an "out" event. These are three statements: the
    /// `Store` shorthand wraps them in a transaction of their own, and inside
    /// [`crate::store::Store::transaction`] they join the caller's.
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

    /// Makes every queued mail whose wait began with `why` (e.g. the
    /// outbox's "waiting for a sign-in: ") due at `now`: what it waited for
    /// came. Returns how many.
    pub fn retry_waiting(&self, why: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let n = self.cached_exec(
            "UPDATE outbox SET next_attempt_at = ?2
             WHERE status = 'queued' AND substr(last_error, 1, length(?1)) = ?1
               AND next_attempt_at > ?2",
            params![why, ts(now)],
        )?;
        Ok(n)
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

impl super::super::Store {
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
